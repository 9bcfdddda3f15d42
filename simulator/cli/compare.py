"""`urbsd compare`: run scenarios side by side; write the comparison table and chart."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from simulator.cli.common import (check_dt, integration_options, load_one, method_text, out_folder, policy_scenarios,
                                  table_options)
from simulator.errors import InputError


def add_parser(sub: Any) -> None:
    """The `compare` subcommand's options."""
    cmp_ = sub.add_parser(
        "compare",
        help="run scenarios side by side; write a comparison chart and table",
        description="Run each SCENARIO and write DIR/compare/{comparison.csv, comparison.json, "
        "charts/urbanization.png}: the resident urbanization rate of all scenarios on one chart "
        "with the targets, and a table of the 2025/2030/2035 rates, the first year each target "
        "is reached and each county's last-year rate.",
    )
    cmp_.add_argument("scenarios", nargs="+", metavar="SCENARIO", help="scenario YAML files")
    cmp_.add_argument("--out", default="results", metavar="DIR",
                      help="output folder; files go to DIR/compare/ (default: ./results)")
    integration_options(cmp_)
    table_options(cmp_)


def handle(args: argparse.Namespace) -> int:
    check_dt(args.dt)
    folder = out_folder(args.out, "compare")
    pairs = policy_scenarios([load_one(p) + (p,) for p in args.scenarios], args.scenarios)
    loaded = [scenario for scenario, _, _ in pairs]
    seen: dict[str, str] = {}
    for scenario, _, p in pairs:
        if scenario.name in seen:
            raise InputError(p, "name", f"scenario name '{scenario.name}' is also the name of "
                             f"{seen[scenario.name]}; compared scenarios need distinct names")
        seen[scenario.name] = p

    from simulator.analysis.compare import compare_scenarios, format_table
    from simulator.outputs.compare_files import write_comparison

    comp = compare_scenarios(loaded, dt=args.dt, method=args.method)
    paths = write_comparison(comp, loaded, folder, method=method_text(args.method, loaded), dt=args.dt,
                             lang=args.lang, fmt=args.format)
    print(format_table(comp))
    files = ", ".join(str(Path(p).relative_to(folder)) for p in paths.values())
    print(f"wrote {folder}/{{{files}}}")
    return 0
