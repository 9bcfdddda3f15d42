"""`urbsd validate`: the validation battery; write validation.md."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from simulator.bundled import __version__
from simulator.cli.common import file_stem, load_one
from simulator.errors import InputError


def add_parser(sub: Any) -> None:
    """The `validate` subcommand's options."""
    validate = sub.add_parser(
        "validate",
        help="run the validation battery (units, people conserved, non-negative stocks, "
        "extreme conditions, integration error, behaviour reproduction)",
        description="Run the validation battery on SCENARIO (default: the bundled baseline), "
        "print a table of test, figure and pass/fail, and write "
        "DIR/<scenario file stem>-validate/validation.md. Exit status 1 if a test fails.",
    )
    validate.add_argument("scenario", nargs="?", default=None, metavar="SCENARIO",
                          help="scenario YAML file; none: the bundled baseline")
    validate.add_argument("--out", default="results", metavar="DIR",
                          help="output folder (default: ./results)")


def handle(args: argparse.Namespace) -> int:
    from simulator.analysis.validate import markdown, run_battery, table_text
    from simulator.outputs.writers import atomic_write_text

    out_root = Path(args.out)
    if out_root.exists() and not out_root.is_dir():
        raise InputError(args.out, "--out", "exists and is not a folder")
    scenario, model = load_one(args.scenario)
    checks = run_battery(scenario, model)
    path = atomic_write_text(out_root / f"{file_stem(scenario)}-validate" / "validation.md",
                             markdown(scenario, checks, version=__version__))
    failed = [c.test for c in checks if c.failed]
    print(f"{scenario.name} — validation of model {scenario.spec.name} "
          f"sha256 {scenario.spec.sha256[:12]}, scenario sha256 {scenario.sha256[:12]}")
    print(table_text(checks))
    print(f"  {'FAILED: ' + ', '.join(failed) if failed else 'all tests passed'}; wrote {path}")
    return 1 if failed else 0
