"""`urbsd goal-seek`: the lever setting at which a target is reached; a two-lever frontier."""

from __future__ import annotations

import argparse
import re
from pathlib import Path
from typing import Any

from simulator.cli.common import (check_dt, file_stem, integration_options, lang_option, load_one, method_text,
                                  out_folder)
from simulator.errors import InputError


def add_parser(sub: Any) -> None:
    """The `goal-seek` subcommand's options."""
    gs = sub.add_parser(
        "goal-seek",
        help="find the lever setting at which a target is reached",
        description="Find the setting of a lever (within its bounds) at which the target is "
        "reached: a grid of settings in one vectorized run brackets it, scipy's brentq finds "
        "it. With two --lever options, also a contour chart of the target indicator over both "
        "levers. Writes DIR/<scenario file stem>-goal-seek-<levers>-<indicator>-<value>-<year>/.",
    )
    gs.add_argument("scenario", metavar="SCENARIO", help="scenario YAML file")
    gs.add_argument("--lever", action="append", required=True, metavar="NAME",
                    help="constant to vary (give it twice for a two-lever frontier)")
    gs.add_argument("--target", default=None, metavar="INDICATOR=VALUE@YEAR",
                    help="e.g. urbanization_rate=0.70@2035 (VALUE may be 70%%; default: the "
                    "scenario's urbanization-rate target in its latest year)")
    gs.add_argument("--range", default=None, metavar="LOW,HIGH",
                    help="search only this part of the lever's bounds (one lever only)")
    gs.add_argument("--grid", type=int, default=None, metavar="N",
                    help="grid points per lever of the vectorized pass (default: 41 for one "
                    "lever, 21 per lever for two)")
    gs.add_argument("--out", default="results", metavar="DIR",
                    help="output folder (default: ./results)")
    lang_option(gs, "the frontier chart")
    integration_options(gs)


def _parse_range(text: str | None) -> tuple[float | None, float | None]:
    if text is None:
        return None, None
    parts = text.split(",")
    try:
        if len(parts) != 2:
            raise ValueError
        low, high = float(parts[0]), float(parts[1])
    except ValueError:
        raise InputError("command line", "--range", f"expected LOW,HIGH (two numbers), got {text!r}") from None
    if not low < high:
        raise InputError("command line", "--range", f"LOW must be below HIGH, got {text!r}")
    return low, high


def folder_name(stem: str, levers: list[str], target: Any) -> str:
    """`<stem>-goal-seek-<lever>[-<lever2>]-<indicator>-<value>-<year>`: one folder per question,
    so a second question does not overwrite the first (e.g.
    baseline-goal-seek-hukou_openness-urbanization_rate-0.7-2035)."""
    indicator = re.sub(r"[^\w.+-]+", ".", target.indicator).strip(".")
    return f"{stem}-goal-seek-{'-'.join(levers)}-{indicator}-{target.value:g}-{target.year}"


def handle(args: argparse.Namespace) -> int:
    check_dt(args.dt)
    from simulator.analysis.goalseek import (
        DEFAULT_FRONTIER_GRID,
        DEFAULT_GRID,
        default_target,
        frontier,
        goal_seek,
        lever_bounds,
        parse_target,
    )
    from simulator.outputs.goalseek_files import write_goal_seek

    if len(args.lever) > 2:
        raise InputError("command line", "--lever", f"give one or two levers, not {len(args.lever)}")
    if len(args.lever) == 2 and args.range is not None:
        raise InputError("command line", "--range", "applies to one lever only")
    if args.grid is not None and args.grid < 3:
        raise InputError("command line", "--grid", f"needs at least 3 points, got {args.grid}")
    low, high = _parse_range(args.range)
    scenario, model = load_one(args.scenario)
    spec = scenario.spec
    for lever in args.lever:
        lever_bounds(spec, lever, low, high)
    target = (parse_target(args.target, spec) if args.target is not None
              else default_target(scenario))
    folder = out_folder(args.out, folder_name(file_stem(scenario), args.lever, target))

    single = args.grid or DEFAULT_GRID
    from simulator.analysis.limits import check_call_runs

    check_call_runs(single, model, "--grid", single, "use a smaller --grid (the default 41 brackets the "
                    "answer, brentq then refines it to 1e-10 of the range)")
    if len(args.lever) == 2:
        pairs = (args.grid or DEFAULT_FRONTIER_GRID) ** 2
        check_call_runs(pairs, model, "--grid", args.grid or DEFAULT_FRONTIER_GRID,
                        "two levers run --grid x --grid settings at once; use a smaller --grid")
    results = [goal_seek(scenario, lever, target, low=low, high=high, grid=single,
                         dt=args.dt, method=args.method) for lever in args.lever]
    front = None
    if len(args.lever) == 2:
        front = frontier(scenario, args.lever[0], args.lever[1], target,
                         grid=args.grid or DEFAULT_FRONTIER_GRID, dt=args.dt, method=args.method)
    method = method_text(args.method, [scenario])
    paths = write_goal_seek(scenario, results, front, folder, method=method, dt=args.dt, lang=args.lang)

    print(f"{scenario.name}: goal {target} ({method} dt={args.dt or spec.time.dt:g})")
    for r in results:
        print("  " + r.text().replace("\n", "\n  "))
    if front is not None:
        reach = [(a, b) for a, b in zip(front.grid_a, front.frontier_b) if b is not None]
        if reach:
            a, b = reach[0]
            print(f"  frontier: {len(reach)} of {len(front.grid_a)} settings of {front.lever_a} "
                  f"reach it; from {front.lever_a} = {a:.4g} with {front.lever_b} "
                  f"{front.direction_b} {b:.4g}")
        else:
            print(f"  frontier: no combination on the {len(front.grid_a)}x{len(front.grid_b)} grid "
                  "reaches it")
        for note in front.notes:
            print(f"    note: {note}")
    files = ", ".join(str(Path(p).relative_to(folder)) for p in paths.values())
    print(f"wrote {folder}/{{{files}}}")
    return 0
