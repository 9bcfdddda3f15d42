"""Calibration speed on the shipped spec (models/pingliang-calibration.yaml), in one run.

Prints: loading the spec; the MAP fit; the log posterior of 16 and 32 walkers as ONE batch of
the engine beside the same walkers run one at a time (the ratio is what vectorizing emcee
over the walkers buys); a short emcee run (walkers x steps given) with its time per step;
and the machine's load average, since other jobs share the 2 cores.

    .venv/bin/python benchmarks/calibration.py [STEPS] [WALKERS] [all]   (default 100 steps, 32 walkers)

`all` fits every observation of the spec, the 2021-2022 checks too, so each run goes to 2022
(as a spec that fits the bulletins would).

Wall and CPU seconds are both printed: on a shared machine the CPU time is what the
work costs. The full posterior (32 walkers x the spec's steps) is timed by `urbsd calibrate`
itself (it prints the sampler's seconds).
"""

from __future__ import annotations

import os
import sys
import time

import numpy as np


def timed(fn, repeat: int = 3) -> float:
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def main() -> None:
    steps = int(sys.argv[1]) if len(sys.argv) > 1 else 100
    walkers = int(sys.argv[2]) if len(sys.argv) > 2 else 32
    fit_all = len(sys.argv) > 3 and sys.argv[3] == "all"
    from simulator.analysis import calibrate as cal
    from simulator.analysis.calrun import default_spec_path
    from simulator.analysis.calspec import load_calibration_spec
    from simulator.analysis.posterior import sample_posterior

    print(f"load average at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())} (2 cores)")
    t0 = time.perf_counter()
    spec = load_calibration_spec(default_spec_path())
    print(f"load and check the spec + compile the model : {time.perf_counter() - t0:7.2f} s")
    problem = spec.problem()
    if fit_all:
        import dataclasses

        problem = dataclasses.replace(problem, observations=[dataclasses.replace(o, role="fit")
                                                             for o in problem.observations])
    print(f"fitted observations: {int(problem.fitted().sum())}, runs to {max(o.year for o in problem.observations)}"
          if fit_all else f"fitted observations: {int(problem.fitted().sum())}, runs to the last fitted year")
    t0, c0 = time.perf_counter(), time.process_time()
    result = cal.fit(problem, n_search=spec.fit.search, n_starts=spec.fit.starts, seed=spec.fit.seed)
    print(f"MAP fit ({result.n_search} search runs, {result.nfev} least-squares evaluations): "
          f"{time.perf_counter() - t0:7.2f} s wall, {time.process_time() - c0:7.2f} s CPU")
    centre = cal.theta_of(problem, result.values)
    rng = np.random.default_rng(0)
    for n in (16, walkers):
        theta = centre * (1 + 0.01 * rng.standard_normal((n, centre.shape[1])))
        batch = timed(lambda: cal.log_posterior(problem, theta))
        single = timed(lambda: [cal.log_posterior(problem, theta[i:i + 1]) for i in range(n)], repeat=1)
        print(f"log posterior of {n:3d} walkers: one batch {batch:6.3f} s, one by one {single:6.3f} s "
              f"({single / batch:4.1f}x)")
    c0 = time.process_time()
    post = sample_posterior(problem, result.values, result.std_errors, walkers=walkers, steps=steps,
                            draws=10, seed=0)
    cpu = time.process_time() - c0
    print(f"emcee {walkers} walkers x {steps} steps: {post.seconds:7.2f} s wall ({1000 * post.seconds / steps:6.1f} ms "
          f"per step), {cpu:7.2f} s CPU ({post.batches} batches of {' / '.join(map(str, post.batch_runs))} runs)")
    print(f"load average at end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
