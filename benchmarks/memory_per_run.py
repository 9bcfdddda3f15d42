"""Memory per run, measured beside the estimates that bound the work (simulator/analysis/limits.py).

Prints, for the bundled baseline: the peak memory (tracemalloc, numpy allocations included)
of one sweep chunk of N runs through the model evaluator, and of one vectorized simulate call
recording one output (a goal-seek grid), per run, next to `run_bytes` (the estimate the
commands refuse by); then the peak of a whole Monte Carlo sweep of M runs next to `sweep_bytes`.
Run: python benchmarks/memory_per_run.py [N] [M]
"""

from __future__ import annotations

import sys
import tracemalloc

import numpy as np

from simulator.analysis.limits import run_bytes, sweep_bytes
from simulator.analysis.sweep import ModelEvaluator, run_sweep
from simulator.engine.compile import compiled
from simulator.engine.integrate import simulate
from simulator.scenario.resolve import load_scenario


def peak(fn) -> int:
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    m = int(sys.argv[2]) if len(sys.argv) > 2 else 20000
    scenario = load_scenario()
    model = compiled(scenario.spec)
    names = tuple(scenario.uncertain)
    evaluator = ModelEvaluator(scenario, names)
    X = np.array([[scenario.uncertain[k].ppf(0.5) for k in names]] * n)
    evaluator(X[:2])  # warm up (first-call allocations)
    chunk = peak(lambda: evaluator(X))
    grid = peak(lambda: simulate(model, scenario.params, n_runs=n, outputs=["urbanization_rate"]))
    estimate = run_bytes(model)
    slots = sum(model.widths.values())
    print(f"model slots (values per run): {slots}")
    print(f"{'':34}{'measured':>14}{'estimate':>14}{'ratio':>8}")
    print(f"{'sweep chunk, bytes per run':34}{chunk / n:>14,.0f}{estimate:>14,}{estimate / (chunk / n):>8.2f}")
    print(f"{'one-output call, bytes per run':34}{grid / n:>14,.0f}{estimate:>14,}{estimate / (grid / n):>8.2f}")
    whole = peak(lambda: run_sweep(scenario, "mc", m, chunk_size=2000, progress=False))
    k, cols = len(names), len(evaluator.columns)
    est = sweep_bytes(m, k, cols)
    print(f"{f'mc sweep of {m:,} runs, bytes':34}{whole:>14,}{est:>14,}{est / whole:>8.2f}")


if __name__ == "__main__":
    main()
