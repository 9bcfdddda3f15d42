"""Divisions by run constants as written, against multiplications by reciprocals computed once per run.

`engine/reciprocals.py` rewrites `x / c` as `x * (1 / c)` wherever c is the same all run, so that
the kernel divides once per run and multiplies at every step. This builds both programs of the
shipped model (v2) and of v1 (benchmarks/models/pingliang-v1.yaml), each its own kernel, and
prints per run on one core (batches of N runs, every bounded scalar constant drawn uniformly as
in benchmarks/throughput.py; R rounds, the two programs alternated in this process; best round),
their ratio, and how far the two programs' urbanization rates are apart (the rewrite rounds
twice where the division rounded once: last bits only).

Run: python benchmarks/reciprocals.py [N] [R]   (defaults 5000 runs, 5 rounds)
"""

from __future__ import annotations

import dataclasses
import os
import sys
import time
from pathlib import Path

import numpy as np

from throughput import draws  # this folder (the script's own) is on sys.path

from simulator.bundled import bundled_model_path
from simulator.engine.compile import build_program, compile_model
from simulator.engine.integrate import simulate
from simulator.engine.load import load_model

V1 = Path(__file__).resolve().parent / "models" / "pingliang-v1.yaml"
OUTPUT = "urbanization_rate"


def main(n: int = 5000, rounds: int = 5) -> None:
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    print(f"load average at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())}; {os.cpu_count()} cores; "
          f"batches of {n:,} runs, {rounds} rounds alternated, best round, kernel, one core")
    print(f"{'model':14s} {'as written us':>13s} {'reciprocal us':>13s} {'ratio':>6s} "
          f"{'largest relative difference':>28s}")
    for label, path in (("v2 (shipped)", bundled_model_path()), ("v1", V1)):
        spec = load_model(path)
        rewritten = compile_model(spec)
        written = dataclasses.replace(rewritten, program=build_program(spec, rewrite_divisions=False), kernels={})
        params = draws(spec, n)
        best = {"as written": float("inf"), "reciprocal": float("inf")}
        out = {}
        for model in (written, rewritten):  # compile or load both kernels outside the timing
            simulate(model, {k: v[:4] for k, v in params.items()}, n_runs=4, outputs=[OUTPUT], backend="kernel")
        for _ in range(rounds):
            for key, model in (("as written", written), ("reciprocal", rewritten)):
                t0 = time.perf_counter()
                run = simulate(model, params, n_runs=n, outputs=[OUTPUT], backend="kernel")
                best[key] = min(best[key], (time.perf_counter() - t0) / n)
                out[key] = run.data[OUTPUT]
        a, b = out["as written"], out["reciprocal"]
        diff = float(np.max(np.abs(a - b) / np.maximum(np.abs(a), 1e-300)))
        print(f"{label:14s} {best['as written'] * 1e6:13.1f} "
              f"{best['reciprocal'] * 1e6:13.1f} {best['as written'] / best['reciprocal']:5.2f}x {diff:28.2e}")
    print(f"load average at end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:3]))
