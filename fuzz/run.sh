#!/usr/bin/env bash
# Runs the decode_import fuzz target for a while, seeded with the fixture models.
#
#   fuzz/run.sh [seconds]        # default 600
#
# Needs cargo-fuzz (`cargo install cargo-fuzz`). cargo-fuzz passes nightly-only flags
# (-Zsanitizer=address, ...); RUSTC_BOOTSTRAP=1 lets the stable toolchain accept them (tested
# with rustc 1.95).
# Crashing inputs land in fuzz/artifacts/decode_import/; copy each to tests/fuzz_regressions/
# (tests/mutated_models.rs runs every file there).
set -euo pipefail
cd "$(dirname "$0")"

seconds=${1:-600}
corpus=corpus/decode_import
mkdir -p "$corpus"
for model in ../tests/fixtures/*/model.onnx ../tests/fixtures/bad/*.onnx ../tests/fuzz_regressions/*.onnx; do
    [[ -f "$model" ]] || continue
    name=$(echo "$model" | sed 's|^\.\./tests/||; s|/|_|g')
    cp -n "$model" "$corpus/seed_$name" 2>/dev/null || true
done

status=0
RUSTC_BOOTSTRAP=1 cargo fuzz run decode_import "$corpus" -- \
    -max_total_time="$seconds" -jobs=1 -rss_limit_mb=2048 -timeout=10 -dict=onnx.dict || status=$?
# With -jobs, libFuzzer logs to ./fuzz-<job>.log; keep it with the artifacts (ignored by git).
mkdir -p artifacts/decode_import
for log in fuzz-*.log; do
    [[ -f "$log" ]] || continue
    grep -E '^#[0-9]+' "$log" | tail -1
    mv "$log" "artifacts/decode_import/$(date +%Y%m%d-%H%M%S)-$log"
done
ls artifacts/decode_import | grep -E '^(crash|oom|timeout|leak)-' || echo "no crashes"
exit "$status"
