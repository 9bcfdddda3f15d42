"""`urbsd check`: load a scenario and compile its model; print OK."""

from __future__ import annotations

import argparse
from typing import Any

from simulator.cli.common import load_one


def add_parser(sub: Any) -> None:
    """The `check` subcommand's options."""
    check = sub.add_parser(
        "check",
        help="validate a scenario and its model without running",
        description="Load SCENARIO, resolve `extends`, and compile its model; print OK.",
    )
    check.add_argument("scenario", metavar="SCENARIO", help="scenario YAML file")


def handle(args: argparse.Namespace) -> int:
    scenario, _model = load_one(args.scenario)
    spec = scenario.spec
    print(
        f"OK {args.scenario}: scenario '{scenario.name}' "
        f"({len(scenario.params)} lever(s) set, {len(scenario.targets)} target(s)); "
        f"model '{spec.name}' {spec.path} sha256 {spec.sha256[:12]}; "
        f"scenario sha256 {scenario.sha256[:12]}"
    )
    return 0
