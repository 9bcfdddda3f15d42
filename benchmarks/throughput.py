"""Throughput of the vectorized engine: one batch of N runs against N single runs, side by side.

Prints runs per second of both and their ratio, and the batch's peak memory (tracemalloc,
numpy allocations included). Run: python benchmarks/throughput.py [N_BATCH] [N_LOOP]
"""

from __future__ import annotations

import sys
import time
import tracemalloc

import numpy as np

from simulator.bundled import bundled_model_path
from simulator.engine.compile import compile_model
from simulator.engine.integrate import simulate
from simulator.engine.load import load_model

OUTPUTS = ["urbanization_rate", "hukou_urbanization_rate"]


def draws(spec, n: int, seed: int = 1) -> dict[str, np.ndarray]:
    """Every bounded scalar constant drawn uniformly inside its bounds, one value per run."""
    rng = np.random.default_rng(seed)
    return {name: rng.uniform(*c.bounds, size=n) for name, c in spec.constants.items()
            if c.bounds is not None and not c.dims}


def main() -> None:
    n_batch = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
    n_loop = int(sys.argv[2]) if len(sys.argv) > 2 else 200
    spec = load_model(bundled_model_path())
    model = compile_model(spec)
    params = draws(spec, n_batch)

    tracemalloc.start()
    t0 = time.perf_counter()
    batch = simulate(model, params, n_runs=n_batch, outputs=OUTPUTS)
    t_batch = time.perf_counter() - t0
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()

    t0 = time.perf_counter()
    for i in range(n_loop):
        one = simulate(model, {k: float(v[i]) for k, v in params.items()}, outputs=OUTPUTS)
    t_loop = time.perf_counter() - t0
    assert np.allclose(one.data["urbanization_rate"][0], batch.data["urbanization_rate"][n_loop - 1])

    batch_rps, loop_rps = n_batch / t_batch, n_loop / t_loop
    print(f"model {spec.name} ({spec.sha256[:12]}), {len(params)} constants varied, "
          f"{len(model.states)} state arrays, dt {spec.time.dt}")
    print(f"batch : {n_batch:>7} runs in {t_batch:8.3f} s = {batch_rps:12,.0f} runs/s, peak memory {peak / 2**20:,.0f} MiB")
    print(f"loop  : {n_loop:>7} runs in {t_loop:8.3f} s = {loop_rps:12,.0f} runs/s")
    print(f"ratio : batch / loop = {batch_rps / loop_rps:,.0f}x")


if __name__ == "__main__":
    main()
