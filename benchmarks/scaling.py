"""How the cost of a run grows with the model's size: one structure, 7 counties x 1, 6 and 18 age groups.

The model (generated here, made-up numbers) is the cohort structure of the shipped model in
miniature: rural and urban residents by county x age, an ageing chain (`shift` over an ordered
age dimension, the last group open), births from the age groups of childbearing age into the
first, deaths by age, rural-urban migration pulled by a county lookup of the urban share and
perceived through a `smooth` per county x age. Its state is 3 x 7 x ages elements, so the state
grows 18-fold from 1 to 18 age groups.

Prints (nothing here is a test): for each size, the state elements, the kernel's per-run cost
in a batch of N runs (each run its own migration rate; over 2010-2035 by the shipped model's
method and step, read from its time block; best of R; one core), that cost per state element,
and both against the 1-age-group model. Linear growth means the per-element cost stays about
flat. The same table follows for kernels built with one run at a time instead of
`c_code.LANES` side by side: the lanes multiply the values an evaluation of the rates holds
(each value has a last axis of lanes), so the two tables show whether the cost grows with the
values held or with the work.

Run: python benchmarks/scaling.py [N] [R]   (defaults 5000 runs, best of 3)
"""

from __future__ import annotations

import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import yaml

COUNTIES = ["kongtong", "huating", "jingchuan", "lingtai", "chongxin", "zhuanglang", "jingning"]
AGE_GROUPS = (1, 6, 18)
#: years of life the age groups cover together (the last group is open)
SPAN = 90.0


def _el(unit: str, **fields) -> dict:
    return {"unit": unit, "label": {"zh": "测试", "en": "benchmark"}, **fields}


def shipped_time() -> tuple[str, float]:
    """The shipped model's integration method and time step, which the benchmark models take."""
    from simulator.scenario.resolve import load_scenario

    t = load_scenario().spec.time
    return t.method, t.dt


def model_dict(ages: int, method: str, dt: float) -> dict:
    """The benchmark model with `ages` age groups of equal width (estimate: made-up numbers), integrated
    by `method` at `dt`."""
    groups = [f"g{i}" for i in range(ages)]
    last = groups[-1]
    mid = (np.arange(ages) + 0.5) * SPAN / ages  # middle age of each group
    fertile = ((mid >= 15) & (mid < 50)) if ages > 1 else np.array([True])
    fertility = np.where(fertile, 0.06 / max(1, fertile.sum()) * ages / 6, 0.0)
    death = 0.0005 * np.exp(0.08 * mid)
    share = np.full(ages, 1.0 / ages)
    return {
        "name": f"scaling_{ages}",
        "doc": "Benchmark model (benchmarks/scaling.py): made-up numbers.",
        "time": {"start": 2010, "stop": 2035, "dt": dt, "saveper": 1, "method": method},
        "dimensions": {"county": {"elements": COUNTIES}, "age": {"elements": groups, "ordered": True}},
        "constants": {
            "initial_rural": _el("person", dims=["county", "age"], value_dims=["age"],
                                 value=[float(x) for x in 150_000 * share], source="estimate: made-up"),
            "initial_urban": _el("person", dims=["county", "age"], value_dims=["age"],
                                 value=[float(x) for x in 80_000 * share], source="estimate: made-up"),
            "age_group_width": _el("year", dims=["age"], value=[SPAN / ages] * ages, source="estimate: equal groups"),
            "fertility_rate": _el("1/year", dims=["age"], value=[float(x) for x in fertility], bounds=[0, 1],
                                  source="estimate: made-up"),
            "death_rate": _el("1/year", dims=["age"], value=[float(x) for x in np.minimum(death, 0.5)],
                              bounds=[0, 1], source="estimate: made-up, Gompertz-like"),
            "migration_rate": _el("1/year", value=0.02, bounds=[0, 0.2], lever=True, source="estimate: made-up"),
            "county_pull": _el("dimensionless", dims=["county"], value=[0.8, 1.2, 1.0, 0.9, 1.1, 0.7, 0.95],
                               source="estimate: made-up"),
            "perception_delay": _el("year", value=2, source="estimate: made-up"),
        },
        "lookups": {"crowding": _el("dimensionless", x=[0, 0.5, 1], y=[1.2, 1.0, 0.4], source="estimate: made-up")},
        "stocks": {
            "rural": _el("person", dims=["county", "age"], initial="initial_rural",
                         inflows=["rural_births", "rural_ageing_in"],
                         outflows=["rural_deaths", "rural_ageing_out", "migration"]),
            "urban": _el("person", dims=["county", "age"], initial="initial_urban",
                         inflows=["urban_births", "urban_ageing_in", "migration"],
                         outflows=["urban_deaths", "urban_ageing_out"]),
        },
        "flows": {
            **{f"{r}_births": _el("person/year", dims=["county", "age"], equation="0",
                                  elements={groups[0]: f"sum(fertility_rate * {r}, age)"}) for r in ("rural", "urban")},
            **{f"{r}_deaths": _el("person/year", dims=["county", "age"], equation=f"{r} * death_rate")
               for r in ("rural", "urban")},
            **{f"{r}_ageing_out": _el("person/year", dims=["county", "age"], equation=f"{r} / age_group_width",
                                      elements={last: "0"}) for r in ("rural", "urban")},
            **{f"{r}_ageing_in": _el("person/year", dims=["county", "age"], equation=f"shift({r}_ageing_out, age)")
               for r in ("rural", "urban")},
            "migration": _el("person/year", dims=["county", "age"], equation="rural * migration_rate * perceived_pull"),
        },
        "auxiliaries": {
            "urban_share": _el("dimensionless", dims=["county"],
                               equation="sum(urban, age) / (sum(urban, age) + sum(rural, age))"),
            "pull": _el("dimensionless", dims=["county", "age"], equation="county_pull * crowding(urban_share)"),
            "perceived_pull": _el("dimensionless", dims=["county", "age"], equation="smooth(pull, perception_delay)"),
            "urbanization_rate": _el("dimensionless", equation="sum(sum(urban, age)) / sum(sum(urban + rural, age))"),
        },
    }


def load(ages: int, folder: Path, method: str, dt: float):
    from simulator.engine.compile import compile_model
    from simulator.engine.load import load_model

    path = folder / f"scaling_{ages}.yaml"
    path.write_text(yaml.safe_dump(model_dict(ages, method, dt), allow_unicode=True, sort_keys=False), encoding="utf-8")
    return compile_model(load_model(path))


def per_run_us(model, n: int, repeats: int) -> tuple[float, float]:
    """Best-of-`repeats` microseconds per run of a batch of n runs on the kernel; and the compile seconds."""
    from simulator.engine.integrate import simulate

    rates = np.random.default_rng(0).uniform(0.0, 0.05, n)
    t0 = time.perf_counter()
    simulate(model, {"migration_rate": rates[:2]}, n_runs=2, outputs=["urbanization_rate"], backend="kernel")
    compile_s = time.perf_counter() - t0
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        run = simulate(model, {"migration_rate": rates}, n_runs=n, outputs=["urbanization_rate"], backend="kernel")
        best = min(best, time.perf_counter() - t0)
    assert np.isfinite(run.data["urbanization_rate"]).all()
    return 1e6 * best / n, compile_s


def main(n: int = 5000, repeats: int = 3) -> None:
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    print(f"load average at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())}; {os.cpu_count()} cores; "
          f"{platform.processor() or platform.machine()}; Python {sys.version.split()[0]}")
    l1d = Path("/sys/devices/system/cpu/cpu0/cache/index0/size")  # Linux: the first-level data cache
    if l1d.exists():
        print(f"first-level data cache per core: {l1d.read_text().strip()}B (the workspace is what one kernel "
              f"call reads and writes in each evaluation of the rates, and more)")
    method, dt = shipped_time()
    print(f"7 counties x A age groups, rural + urban + smooth = 21 x A state elements; {method} dt {dt:g} "
          f"(the shipped model's), 2010-2035; batch of {n:,} runs, best of {repeats}, kernel, one core")
    import functools

    import simulator.engine.kernel as K
    from simulator.engine.c_code import LANES, generate

    try:
        for lanes in (LANES, 1):
            K.generate = functools.partial(generate, lanes=lanes)  # the kernels built from here on
            rows = []
            with tempfile.TemporaryDirectory() as tmp:
                for ages in AGE_GROUPS:
                    model = load(ages, Path(tmp), method, dt)
                    us, first_s = per_run_us(model, n, repeats)
                    source = model.kernels[frozenset()].source  # the kernel that ran
                    # the state: stocks and the smooth's levels
                    rows.append((ages, source.n_state, us, first_s, source.workspace * 8 / 1024))
            _, s0, u0, _, _ = rows[0]
            what = "as shipped" if lanes == LANES else "for comparison: what the vector instructions buy at each size"
            print(f"\n{lanes} run{'s' if lanes > 1 else ''} side by side ({what})")
            print(f"{'age groups':>10} {'state':>6} {'us/run':>9} {'ns/run/element':>15} {'state x':>8} "
                  f"{'cost x':>7} {'workspace KiB':>14} {'first call s (compile or cache)':>32}")
            for ages, state, us, first_s, kib in rows:
                print(f"{ages:>10} {state:>6} {us:>9.1f} {1000 * us / state:>15.1f} {state / s0:>8.1f} "
                      f"{us / u0:>7.1f} {kib:>14.1f} {first_s:>32.2f}")
    finally:
        K.generate = generate
    print(f"\nload average at end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:3]))
