"""The baseline's Monte Carlo with the fitted constants drawn jointly from the posterior, beside
the former independent normals (mean the MAP, sd the Gauss-Newton standard error), in one run.

Prints, for each: the number of uncertain constants, P(55% by 2025), P(70% by 2035), the 5-95%
band of the resident rate in 2035 and 2022, and the seconds (1000 runs, seed 0, as `urbsd report`).

    .venv/bin/python benchmarks/mc_posterior_vs_normals.py [RUNS]
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import yaml

#: the former baseline's five normal distributions (MAP value, standard error; scenarios/calibration.yaml)
FORMER = ("rural_urban_migration_base_rate", "out_migration_rate_rural", "return_migration_rate",
          "birth_rate_decline", "reclassification_rate")


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    from simulator.analysis.sweep import run_sweep
    from simulator.bundled import scenarios_dir
    from simulator.scenario.resolve import load_scenario

    base = load_scenario()
    header = yaml.safe_load((scenarios_dir() / "calibration.yaml").read_text(encoding="utf-8"))
    text = (scenarios_dir() / "calibration.yaml").read_text(encoding="utf-8")
    se = {}
    for line in text.splitlines():  # "  name: value   # group; std. error X; ..."
        name = line.strip().split(":")[0]
        if name in FORMER and "std. error" in line:
            se[name] = float(line.split("std. error")[1].split(";")[0])
    raw = yaml.safe_load((scenarios_dir() / "baseline.yaml").read_text(encoding="utf-8"))
    uncertain = {k: v for k, v in raw["uncertain"].items() if k != "posterior"}
    uncertain.update({k: {"dist": "normal", "mean": header["set"][k], "sd": se[k]} for k in FORMER})
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "former.yaml"
        path.write_text(yaml.safe_dump({"name": "former", "extends": str(scenarios_dir() / "baseline.yaml"),
                                        "uncertain": uncertain}), encoding="utf-8")
        former = load_scenario(path)
    # the child's normals replace five posterior columns; the former baseline sampled no others
    former.uncertain = {k: v for k, v in former.uncertain.items() if v.dist != "posterior"}
    for label, scenario in (("independent normals (former)", former), ("joint posterior (now)", base)):
        t0 = time.perf_counter()
        r = run_sweep(scenario, "mc", runs, seed=0, progress=False)
        pc = r.percentiles()
        i22, i35 = r.years.index(2022), r.years.index(2035)
        print(f"{label:29s} {len(scenario.uncertain):2d} constants  P(55% 2025) {r.targets[0]['probability']:5.1%}  "
              f"P(70% 2035) {r.targets[1]['probability']:5.1%}  2035 5-95% {100 * pc['p5'][i35]:.1f}-"
              f"{100 * pc['p95'][i35]:.1f}%  2022 5-95% {100 * pc['p5'][i22]:.1f}-{100 * pc['p95'][i22]:.1f}%  "
              f"({time.perf_counter() - t0:.1f} s)")


if __name__ == "__main__":
    main()
