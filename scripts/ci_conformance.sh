#!/usr/bin/env bash
# CI block for .ci/run: the ONNX backend node tests against docs/onnx-conformance.md.
# Generates (or reuses) the node-test data in target/onnx-node-tests (needs PyPI for the
# pinned onnx/numpy, ~15 s the first time, nothing when cached), then runs every node test on
# the interpreter and the JIT (~1 s); a test listed as passing that no longer passes fails.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/onnx_node_tests.sh
cargo test --release --test onnx_node_tests
