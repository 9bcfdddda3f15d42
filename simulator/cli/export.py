"""`urbsd export`: the model with a scenario's levers as Vensim .mdl or XMILE."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from simulator.cli.common import check_dt, load_one
from simulator.errors import InputError


def add_parser(sub: Any) -> None:
    """The `export` subcommand's options."""
    export = sub.add_parser(
        "export",
        help="write the model with a scenario's levers as Vensim .mdl or XMILE",
        description="Write SCENARIO's model (default: the bundled baseline), with the "
        "scenario's constants and levers, as a Vensim .mdl file (PySD and Vensim read it) "
        "or as XMILE (Stella).",
    )
    export.add_argument("scenario", nargs="?", default=None, metavar="SCENARIO",
                        help="scenario YAML file; none: the bundled baseline")
    export.add_argument("--format", required=True, choices=("vensim", "xmile"),
                        help="vensim (.mdl) or xmile")
    export.add_argument("-o", "--output", required=True, metavar="FILE", help="file to write")
    export.add_argument("--dt", type=float, default=None, metavar="DT",
                        help="TIME STEP of the export (default: the model's)")
    export.add_argument("--pysd-sums", action="store_true",
                        help="xmile only: write SUM(x[county!]), which PySD reads, instead of "
                        "the standard SUM(x[*])")


def handle(args: argparse.Namespace) -> int:
    from simulator.interop.vensim import scenario_vensim
    from simulator.interop.xmile import scenario_xmile
    from simulator.outputs.writers import atomic_write_text

    check_dt(args.dt)
    out = Path(args.output)
    if out.is_dir():
        raise InputError(args.output, "-o", "is a folder; give a file name")
    if args.pysd_sums and args.format != "xmile":
        raise InputError("command line", "--pysd-sums", "applies to --format xmile only")
    scenario, _model = load_one(args.scenario)
    if args.format == "vensim":
        text = scenario_vensim(scenario, dt=args.dt)
    else:
        text = scenario_xmile(scenario, dt=args.dt, array_sum="pysd" if args.pysd_sums else "xmile")
    path = atomic_write_text(out, text)
    print(f"wrote {path} ({args.format}, scenario {scenario.name}, model {scenario.spec.name} "
          f"sha256 {scenario.spec.sha256[:12]})")
    return 0
