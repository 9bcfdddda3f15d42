"""What the shipped model's method and time step buy: accuracy against solve_ivp, and cost per run.

For RK4 and Heun at dt 1, 0.5 and 0.25 and Euler at dt 0.5 and 1/128, prints the baseline's
urbanization rate in 2035 and its largest difference over 2010-2035 from scipy's solve_ivp
(DOP853, the validation's reference, `analysis.validate.solve_ivp_run`), then the kernel's cost
per run of a batch of N runs (the migration rate `rural_to_town_rate` varied by +-20%) for RK4 at
dt 0.5, Heun at dt 0.5 and RK4 at dt 1, R rounds alternated in this process, best round, one
core, each against RK4 at dt 0.5. Then Heun and RK4 at dt 0.5 against solve_ivp on every bundled
scenario and at three corners of the levers: `central_city_pull` at its upper bound, every lever
at its upper bound, every lever at its lower bound. Why the model runs Heun at dt 0.5: README.md,
*Why Heun at dt 0.5*.

Run: python benchmarks/time_step.py [N] [R]   (defaults 10000 runs, 3 rounds)
"""

from __future__ import annotations

import os
import sys
import time

import numpy as np

RATE = "urbanization_rate"
YEAR = 2035


def main(n: int = 10_000, rounds: int = 3) -> None:
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    from simulator.analysis.validate import solve_ivp_run
    from simulator.engine.compile import compiled
    from simulator.engine.integrate import simulate
    from simulator.scenario.resolve import load_scenario

    print(f"load average at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())}; {os.cpu_count()} cores")
    scenario = load_scenario()
    model, params = compiled(scenario.spec), dict(scenario.params)
    base = simulate(model, params, outputs=[RATE])
    i = int(np.flatnonzero(base.times == YEAR)[0])
    ref = solve_ivp_run(model, params, base.times[: i + 1])[RATE]
    print(f"baseline {RATE} in {YEAR}: solve_ivp {100 * ref[i]:.5f}%")
    print(f"{'method':>6s} {'dt':>9s} {YEAR:>9d} {'- solve_ivp pp':>15s} {'largest over the run pp':>24s}")
    for method, dt in (("rk4", 1.0), ("rk4", 0.5), ("rk4", 0.25), ("heun", 1.0), ("heun", 0.5), ("heun", 0.25),
                       ("euler", 0.5), ("euler", 1 / 128)):
        run = simulate(model, params, dt=dt, method=method, outputs=[RATE]).data[RATE][0, : i + 1]
        print(f"{method:>6s} {dt:9.6g} {100 * run[i]:8.5f}% {100 * (run[i] - ref[i]):+15.5f} "
              f"{100 * np.abs(run - ref).max():24.5f}")

    rate = np.random.default_rng(0).uniform(0.8, 1.2, n) * float(np.mean(params["rural_to_town_rate"]))
    batch = {**params, "rural_to_town_rate": rate}
    best = {("rk4", 0.5): float("inf"), ("heun", 0.5): float("inf"), ("rk4", 1.0): float("inf")}
    for method, dt in best:  # compile or load the kernel outside the timing
        simulate(model, {**params, "rural_to_town_rate": rate[:4]}, n_runs=4, dt=dt, method=method, outputs=[RATE],
                 backend="kernel")
    for _ in range(rounds):
        for method, dt in best:
            t0 = time.perf_counter()
            simulate(model, batch, n_runs=n, dt=dt, method=method, outputs=[RATE], backend="kernel")
            best[method, dt] = min(best[method, dt], (time.perf_counter() - t0) / n)
    ref = best["rk4", 0.5]
    print(f"kernel, batch of {n:,} runs, best of {rounds} rounds alternated: "
          + ", ".join(f"{m} dt {dt:g} {1e6 * s:.1f} us per run ({ref / s:.2f}x RK4 at dt 0.5)"
                      for (m, dt), s in best.items()))

    from simulator.scenario.schema import bundled_scenario_names, bundled_scenario_path

    cases = {}
    for stem in bundled_scenario_names():
        other = load_scenario(bundled_scenario_path(stem))
        if other.kind == "scenario":
            cases[other.name] = (other, dict(other.params))
    levers = {k: c for k, c in scenario.spec.constants.items() if c.lever and c.bounds}
    pull = float(levers["central_city_pull"].bounds[1])
    cases["central_city_pull at its upper bound"] = (scenario, {**params, "central_city_pull": pull})
    for end, j in (("upper", 1), ("lower", 0)):
        cases[f"every lever at its {end} bound"] = (scenario, {**params, **{k: float(c.bounds[j])
                                                                         for k, c in levers.items()}})
    print(f"\n{'case':40s} {'solve_ivp':>9s} {'heun 0.5 pp':>12s} {'(largest)':>9s} {'rk4 0.5 pp':>11s} "
          f"{'(largest)':>9s}")
    for name, (sc, values) in cases.items():
        m = compiled(sc.spec)
        ref = solve_ivp_run(m, values, base.times[: i + 1])[RATE]
        cells = []
        for method in ("heun", "rk4"):
            run = simulate(m, values, dt=0.5, method=method, outputs=[RATE]).data[RATE][0, : i + 1]
            cells.append(f"{100 * (run[i] - ref[i]):+12.4f} {100 * np.abs(run - ref).max():9.4f}")
        print(f"{name:40s} {100 * ref[i]:8.3f}% " + " ".join(cells))
    print(f"load average at end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:3]))
