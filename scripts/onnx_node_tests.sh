#!/usr/bin/env bash
# Generates the ONNX backend node tests (model.onnx + test_data_set_*/{input,output}_*.pb for
# every case of onnx.backend.test.case.node) into a cache folder that is not committed, for
# tests/onnx_node_tests.rs.
#
#   scripts/onnx_node_tests.sh            # → target/onnx-node-tests/node/<test>/...
#
# Environment:
#   ONNX_VENV            virtualenv to create/use (default target/onnx-venv)
#   ONNX_NODE_TESTS_DIR  output folder; the tests land in $ONNX_NODE_TESTS_DIR/node
#                        (default target/onnx-node-tests)
#   PYTHON               interpreter used to create the virtualenv (default python3)
#
# Idempotent: when the folder holds a complete generation by the pinned onnx version (the
# stamp file `.stamp` lists the versions and the test count, and the count matches), nothing
# is done. Generation goes to a temporary folder that replaces the old one only when
# complete, so an interrupted run never leaves a half-written cache that looks complete.
#
# Why not `python -m onnx.backend.test.cmd_tools generate-data`: since onnx 1.16 that command
# only writes the model cases (`real`, `simple`); node cases exist only in memory
# (onnx.backend.test.case.node.collect_testcases). We hand those to the same writer
# (cmd_tools.generate_data), so the files have exactly the layout the ONNX repository ships.
#
# Measured on the CI machine (2 cores): venv + pip install 9 s, generation of the 1,884 node
# tests 6 s (56 MB); a second run with the cache in place returns at once.
set -euo pipefail
cd "$(dirname "$0")/.."

ONNX_VERSION=1.23.2
NUMPY_VERSION=2.4.6
VENV=${ONNX_VENV:-target/onnx-venv}
OUT=${ONNX_NODE_TESTS_DIR:-target/onnx-node-tests}
PYTHON=${PYTHON:-python3}
STAMP_PREFIX="onnx=$ONNX_VERSION numpy=$NUMPY_VERSION"

count_tests() {
    find "$1/node" -mindepth 2 -maxdepth 2 -name model.onnx 2>/dev/null | wc -l | tr -d ' '
}

if [[ -f "$OUT/.stamp" ]]; then
    stamp=$(cat "$OUT/.stamp")
    if [[ "$stamp" == "$STAMP_PREFIX tests="* && "${stamp##*tests=}" == "$(count_tests "$OUT")" ]]; then
        echo "onnx node tests: up to date in $OUT/node ($stamp)"
        exit 0
    fi
    echo "onnx node tests: stale or incomplete cache in $OUT ($stamp); regenerating"
fi

start=$(date +%s)
if ! "$VENV/bin/python" -c "import onnx, numpy, sys; sys.exit(onnx.__version__ != '$ONNX_VERSION' or numpy.__version__ != '$NUMPY_VERSION')" 2>/dev/null; then
    echo "onnx node tests: setting up $VENV (onnx==$ONNX_VERSION, numpy==$NUMPY_VERSION)"
    "$PYTHON" -m venv "$VENV"
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check \
        "onnx==$ONNX_VERSION" "numpy==$NUMPY_VERSION"
fi
venv_done=$(date +%s)

tmp="$OUT.tmp.$$"
rm -rf "$tmp"
mkdir -p "$tmp"
trap 'rm -rf "$tmp"' EXIT
"$VENV/bin/python" -W ignore - "$tmp" <<'PY'
import argparse
import sys

import onnx.backend.test.cmd_tools as cmd_tools
from onnx.backend.test.case import node

cases = node.collect_testcases(None)
# generate_data writes whatever model_test.collect_testcases returns, in the ONNX layout.
cmd_tools.model_test.collect_testcases = lambda: cases
cmd_tools.generate_data(argparse.Namespace(output=sys.argv[1]))
print(f"onnx node tests: wrote {len(cases)} cases", file=sys.stderr)
PY
n=$(count_tests "$tmp")
echo "$STAMP_PREFIX tests=$n" >"$tmp/.stamp"
rm -rf "$OUT"
mkdir -p "$(dirname "$OUT")"
mv "$tmp" "$OUT"
trap - EXIT
end=$(date +%s)
echo "onnx node tests: $n tests in $OUT/node (venv $((venv_done - start)) s, generation $((end - venv_done)) s)"
