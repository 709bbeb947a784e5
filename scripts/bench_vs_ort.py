#!/usr/bin/env python3
"""Single-thread latency of int8xc (JIT and interpreter) vs ONNX Runtime, measured in one run.

Usage (after `cargo build --release`):
    python scripts/bench_vs_ort.py [--iterations 200] [--models digits_cnn resnet_mini ...]

For each fixture model it times ONNX Runtime (CPUExecutionProvider, 1 intra-op thread,
default graph optimizations) in this process, then `int8xc bench --json` (the release
binary) on the same input, alternating the two a few rounds so machine noise hits both, and
prints median latencies and the ratio int8xc / ORT (below 1.0 means int8xc is faster).
Needs numpy and onnxruntime (tests/fixtures/requirements.txt).
"""
import argparse
import json
import pathlib
import statistics
import subprocess
import time

import numpy as np
import onnxruntime as ort

ROOT = pathlib.Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures"
BINARY = ROOT / "target" / "release" / "int8xc"


def ort_median_ms(model_dir, iterations):
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    opts.inter_op_num_threads = 1
    t0 = time.perf_counter()
    sess = ort.InferenceSession(str(model_dir / "model.onnx"), opts, providers=["CPUExecutionProvider"])
    session_ms = (time.perf_counter() - t0) * 1e3
    feeds = {
        inp.name: np.load(model_dir / f"input_{i}.npy") for i, inp in enumerate(sess.get_inputs())
    }
    for _ in range(5):
        sess.run(None, feeds)
    times = []
    for _ in range(iterations):
        t = time.perf_counter()
        sess.run(None, feeds)
        times.append((time.perf_counter() - t) * 1e3)
    return statistics.median(times), session_ms


def int8xc_bench(model_dir, backend, iterations):
    n_inputs = len(list(model_dir.glob("input_*.npy")))
    cmd = [str(BINARY), "bench", str(model_dir / "model.onnx"), "--backend", backend,
           "--iterations", str(iterations), "--json", "--threads", "1"]
    for i in range(n_inputs):
        cmd += ["--input", str(model_dir / f"input_{i}.npy")]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return json.loads(out)


def integer_mac_share(model_dir):
    """Share of MACs the compiled model runs in integer arithmetic (`int8xc compile --json`)."""
    out = subprocess.run([str(BINARY), "compile", str(model_dir / "model.onnx"), "--json"],
                         check=True, capture_output=True, text=True).stdout
    report = json.loads(out)
    total = report["integer_macs"] + report["float_macs"]
    return report["integer_macs"] / total if total else 0.0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--iterations", type=int, default=200)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--models", nargs="*", default=["digits_mlp", "digits_cnn", "resnet_mini", "mobilenet_mini"],
                    help="fixture folders under tests/fixtures (e.g. quant/resnet_mini_qop_u8)")
    ap.add_argument("--interp", action="store_true", help="also time the interpreter")
    args = ap.parse_args()
    if not BINARY.exists():
        raise SystemExit(f"{BINARY} not found: run `cargo build --release` first")
    print(f"{'model':<34} {'ORT ms':>9} {'JIT ms':>9} {'JIT/ORT':>8} {'int MACs':>9} {'compile ms':>11} {'ORT session ms':>15}"
          + (f" {'interp ms':>10}" if args.interp else ""))
    for name in args.models:
        d = FIXTURES / name
        ort_ms, jit_ms, compile_ms, session_ms, interp_ms = [], [], [], [], []
        for _ in range(args.rounds):
            o, s = ort_median_ms(d, args.iterations)
            ort_ms.append(o)
            session_ms.append(s)
            j = int8xc_bench(d, "jit", args.iterations)
            jit_ms.append(j["median_ms"])
            compile_ms.append(j["compile_ms"])
            if args.interp:
                interp_ms.append(int8xc_bench(d, "interp", max(3, args.iterations // 20))["median_ms"])
        o, j = statistics.median(ort_ms), statistics.median(jit_ms)
        line = (f"{name:<34} {o:>9.3f} {j:>9.3f} {j / o:>8.2f} {integer_mac_share(d):>8.0%}"
                f" {statistics.median(compile_ms):>11.2f}"
                f" {statistics.median(session_ms):>15.2f}")
        if args.interp:
            line += f" {statistics.median(interp_ms):>10.3f}"
        print(line, flush=True)


if __name__ == "__main__":
    main()
