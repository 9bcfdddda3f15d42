"""The `urbsd` command.

    urbsd run [SCENARIO ...] [--out DIR] [--dt DT] [--method euler|rk4]
    urbsd check SCENARIO

Bad input (an `InputError` from the scenario or model loaders, or a bad option) is
printed as ONE line `urbsd: error: <file>: <field>: <reason>` on stderr, exit status 2,
and nothing is written: every scenario is loaded and compiled, and every run finished,
before the first file is written.

Heavy libraries stay off the `run` path: no pandas, and matplotlib only when the chart
is drawn.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import sys
from pathlib import Path
from typing import Any, NoReturn

from simulator import __version__
from simulator.errors import InputError

PROG = "urbsd"


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line on stderr (exit status 2)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{PROG}: error: {message} (see '{self.prog} --help')\n")


def _integration_options(parser: argparse.ArgumentParser) -> None:
    """--dt and --method, shared by every command that runs the model."""
    parser.add_argument("--dt", type=float, default=None, metavar="DT",
                        help="time step in years; must divide one year into whole steps "
                        "(default: the model's)")
    parser.add_argument("--method", choices=("euler", "rk4"), default="euler",
                        help="integration method (default: euler)")


def _lang_option(parser: argparse.ArgumentParser, what: str) -> None:
    """--lang zh|en, the language of `what` (every command that draws charts)."""
    parser.add_argument("--lang", choices=("zh", "en"), default="zh",
                        help=f"language of {what} (default: zh)")


def _table_options(parser: argparse.ArgumentParser) -> None:
    """--lang and --format, shared by the commands that write tables and charts (run, compare)."""
    _lang_option(parser, "the chart text and of the Excel headers")
    parser.add_argument("--format", choices=("csv", "xlsx"), default="csv",
                        help="xlsx: also write the tables as an Excel workbook, one sheet per table, "
                        "headers in --lang with a units row (default: csv only)")


def _build_parser() -> argparse.ArgumentParser:
    p = _Parser(
        prog=PROG,
        description="System-dynamics scenarios for the urbanization of Pingliang City "
        "(平凉市), 2020-2035.",
    )
    p.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True

    run = sub.add_parser(
        "run",
        help="run scenarios; write timeseries.csv, summary.json and a chart per scenario",
        description="Run each SCENARIO (default: the bundled baseline) and write "
        "DIR/<scenario file stem>/{timeseries.csv, summary.json, charts/urbanization.png}.",
    )
    run.add_argument("scenarios", nargs="*", metavar="SCENARIO",
                     help="scenario YAML file(s); none: the bundled baseline")
    run.add_argument("--out", default="results", metavar="DIR",
                     help="output folder (default: ./results)")
    _integration_options(run)
    _table_options(run)

    check = sub.add_parser(
        "check",
        help="validate a scenario and its model without running",
        description="Load SCENARIO, resolve `extends`, and compile its model; print OK.",
    )
    check.add_argument("scenario", metavar="SCENARIO", help="scenario YAML file")

    # Further subcommands: each adds its parser in its own block below (one block per
    # command, in the order of DESIGN.md's command list) and its handler to HANDLERS.
    # [parsers: compare, goal-seek]
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
    _integration_options(cmp_)
    _table_options(cmp_)

    gs = sub.add_parser(
        "goal-seek",
        help="find the lever setting at which a target is reached",
        description="Find the setting of a lever (within its bounds) at which the target is "
        "reached: a grid of settings in one vectorized run brackets it, scipy's brentq finds "
        "it. With two --lever options, also a contour chart of the target indicator over both "
        "levers. Writes DIR/<scenario file stem>-goal-seek/.",
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
    _lang_option(gs, "the frontier chart")
    _integration_options(gs)
    # [parsers: sweep]
    sweep = sub.add_parser(
        "sweep",
        help="sensitivity sweep over the scenario's uncertain: constants",
        description="Sample the uncertain: constants of SCENARIO, run the model for every sample "
        "(chunked, in parallel, resumable) and write DIR/<stem>-sweep/{samples.parquet, indices.csv, "
        "summary.json, charts/fan.png, charts/indices.png}. N is SALib's base sample size: sobol runs "
        "N(k+2) models, morris N(k+1), mc N (k = number of uncertain constants).",
    )
    sweep.add_argument("scenario", metavar="SCENARIO", help="scenario YAML file")
    sweep.add_argument("--method", choices=("sobol", "morris", "mc"), required=True,
                       help="Sobol' indices (Saltelli sampling), Morris screening, or plain Monte Carlo")
    sweep.add_argument("--samples", type=int, required=True, metavar="N",
                       help="base sample size (sobol: a power of 2 is best)")
    sweep.add_argument("--seed", type=int, default=None, metavar="S", help="random seed (default: 0)")
    sweep.add_argument("--out", default="results", metavar="DIR", help="output folder (default: ./results)")
    _lang_option(sweep, "the fan and indices charts")
    sweep.add_argument("--scheduler", default=None, metavar="ADDRESS",
                       help="dask.distributed scheduler address (e.g. tcp://host:8786); default: local processes")
    sweep.add_argument("--workers", type=int, default=None, metavar="W",
                       help="local worker processes (default: the number of CPUs; 1 runs in this process)")
    sweep.add_argument("--chunk-size", type=int, default=None, metavar="C",
                       help="runs per chunk (default: 2000)")
    # [parsers: calibrate]
    cal = sub.add_parser(
        "calibrate",
        help="fit uncertain constants to the 2010-2020 history; write scenarios/calibration.yaml",
        description="Derive data/history.csv from data/observed.csv (annual estimates rebased on "
        "the censuses), run the model 2010-2020, fit the migration, settlement, fertility, "
        "mortality and reclassification constants (Sobol search, then scipy least squares in "
        "the bounds) and write them as a scenario that scenarios/baseline.yaml extends. "
        "See docs/calibration.md.",
    )
    cal.add_argument("--model", default=None, metavar="FILE",
                     help="model file (default: the bundled pingliang model)")
    cal.add_argument("--out", default=None, metavar="FILE",
                     help="calibration scenario to write (default: the bundled scenarios/calibration.yaml)")
    cal.add_argument("--history", default=None, metavar="FILE",
                     help="derived history to write (default: data/history.csv)")
    cal.add_argument("--report", default=None, metavar="FILE",
                     help="also write the fit report as Markdown to FILE")
    cal.add_argument("--samples", type=int, default=2048, metavar="N",
                     help="runs of the coarse Sobol search (default: 2048)")
    cal.add_argument("--starts", type=int, default=3, metavar="K",
                     help="least-squares starts from the K best search points (default: 3)")
    cal.add_argument("--seed", type=int, default=0, metavar="S", help="search seed (default: 0)")
    # [parsers: validate, export]
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
    # [parsers: report]
    rep = sub.add_parser(
        "report",
        help="write a memo-ready report (Markdown and self-contained HTML) of one or more scenarios",
        description="Run each SCENARIO (default: the bundled baseline) and a Monte Carlo sample of its "
        "uncertain: constants, and write DIR/<scenario file stem>-report-<lang>/ (several scenarios: "
        "DIR/compare-report-<lang>/): report.md and report.html (charts embedded; findings as sentences "
        "built from the numbers, target table, provenance), charts/ (PNG at 200 dpi and SVG) and "
        "summaries/ (the JSON files every figure of the report is taken from).",
    )
    rep.add_argument("scenarios", nargs="*", metavar="SCENARIO",
                     help="scenario YAML file(s); none: the bundled baseline")
    _lang_option(rep, "the text and charts")
    rep.add_argument("--out", default="results", metavar="DIR",
                     help="output folder (default: ./results)")
    rep.add_argument("--samples", type=int, default=1000, metavar="N",
                     help="Monte Carlo runs over each scenario's uncertain: constants, for the "
                     "probability of each target (0: none; default: 1000)")
    rep.add_argument("--seed", type=int, default=0, metavar="S",
                     help="Monte Carlo seed (default: 0)")
    rep.add_argument("--pdf", action="store_true",
                     help="also write report.pdf (A4; needs WeasyPrint, pip install 'urbsd[pdf]', "
                     "and the Pango library)")
    _integration_options(rep)
    # [parsers: docs]
    docs = sub.add_parser(
        "docs",
        help="write the model documentation (docs/model.md) from the model file",
        description="Generate the Markdown documentation of a model file: header with its sha256, "
        "stock-and-flow diagram (Mermaid), feedback loops, and every element with its unit, "
        "equation, source and doc. Written atomically.",
    )
    docs.add_argument("--model", default=None, metavar="FILE",
                      help="model YAML file (default: the bundled Pingliang model)")
    docs.add_argument("-o", "--output", default="docs/model.md", metavar="FILE",
                      help="Markdown file to write (default: docs/model.md)")
    return p


# --------------------------------------------------------------------------- helpers


def _check_dt(dt: float | None) -> None:
    if dt is None:
        return
    if not dt > 0 or dt != dt or dt == float("inf"):
        raise InputError("command line", "--dt", f"must be a positive number of years, not {dt:g}")
    steps = 1.0 / dt
    if abs(steps - round(steps)) > 1e-9 * max(1.0, steps):
        raise InputError(
            "command line", "--dt",
            f"must divide one year into whole steps (e.g. 1, 0.5, 0.25, 0.125), not {dt:g}",
        )


def _load(path: str | None) -> tuple[Any, Any]:
    """Load and compile one scenario (validation only; nothing runs or is written)."""
    from simulator.compile import compile_model
    from simulator.scenario import load_scenario

    if path is not None and not Path(path).is_file():
        reason = "no such file" if not Path(path).exists() else "not a file"
        raise InputError(path, "scenario", reason)
    scenario = load_scenario(path)
    model = compile_model(scenario.spec)
    return scenario, model


def _load_distinct(paths: list[str], clash: str) -> list[tuple[Any, Any]]:
    """Load and compile each scenario (none given: the bundled baseline); two with the same
    file name are refused, since their outputs would share a folder (`clash` says why)."""
    paths = paths or [None]
    loaded = [_load(p) for p in paths]
    seen: dict[str, str] = {}
    for (scenario, _), p in zip(loaded, paths):
        stem = _stem(scenario)
        if stem in seen:
            raise InputError(p or scenario.path, "scenario", f"same file name '{stem}' as {seen[stem]}: {clash}")
        seen[stem] = str(p or scenario.path)
    return loaded


def _stem(scenario: Any) -> str:
    return Path(scenario.path).stem


def _label(scenario: Any, lang: str) -> str:
    label = getattr(scenario, "label", None)
    if isinstance(label, dict):
        return label.get(lang) or label.get("en") or label.get("zh") or ""
    return getattr(label, lang, None) or "" if label is not None else ""


def _pct(x: float) -> str:
    return f"{100 * x:.1f}%"


def _num(x: float) -> str:
    return f"{x:,.0f}" if abs(x) >= 1000 else f"{x:.4g}"


def _target_text(t: dict) -> str:
    """'reached: 56.1% vs 55% target, +1.1 pp' / 'not reached: 52.7% vs 55% target, -2.3 pp'."""
    target = f"{100 * t['target']:g}%"
    gap = 100 * (t["value"] - t["target"])
    if gap != gap:
        return f"not reached: the run gave no number (NaN) vs {target} target"
    if abs(gap) >= 0.05 or gap == 0:
        value, gap_text = _pct(t["value"]), f"{gap:+.1f}"
    else:  # a near miss must not read as '55.0% vs 55%, -0.0 pp'
        value, gap_text = f"{100 * t['value']:.3f}%", f"{gap:+.1g}"
    status = "reached" if t["reached"] else "not reached"
    return f"{status}: {value} vs {target} target, {gap_text} pp"


def _report(scenario: Any, run: Any, frame: Any, targets: list[dict], paths: dict,
            out: Any) -> None:
    from simulator.results import MILESTONES, value_at

    label = _label(scenario, "zh")
    en = _label(scenario, "en")
    head = f"{scenario.name}"
    shown = [x for x in dict.fromkeys((label, en)) if x and x != scenario.name]
    if shown:
        head += f" — {' / '.join(shown)}"
    print(head, file=out)
    print(
        f"  model {scenario.spec.name} sha256 {scenario.spec.sha256[:12]}, "
        f"scenario sha256 {scenario.sha256[:12]}, {run.method} dt={run.dt:g}",
        file=out,
    )
    by_year: dict[int, list[dict]] = {}
    other: list[dict] = []
    for t in targets:
        if t["indicator"] == "urbanization_rate":
            by_year.setdefault(t["year"], []).append(t)
        else:
            other.append(t)
    years = sorted(
        {y for y in MILESTONES if value_at(frame, "urbanization_rate", y) is not None}
        | set(by_year)
    )
    print(f"  {'year':<6}{'resident':>9}{'hukou':>9}   target", file=out)
    for y in years:
        r = value_at(frame, "urbanization_rate", y)
        h = value_at(frame, "hukou_urbanization_rate", y)
        line = f"  {y:<6}{_pct(r):>9}{_pct(h) if h is not None else '-':>9}"
        ts = by_year.get(y, [])
        line += "   " + ("; ".join(_target_text(t) for t in ts) if ts else "-")
        print(line.rstrip(), file=out)
    for t in other:
        if "rate" in t["indicator"]:
            text = _target_text(t)
        else:
            status = "reached" if t["reached"] else "not reached"
            text = (f"{status}: {_num(t['value'])} vs {_num(t['target'])} target, "
                    f"{'+' if t['value'] >= t['target'] else '-'}"
                    f"{_num(abs(t['value'] - t['target']))}")
        print(f"  target {t['indicator']} {t['year']}: {text}", file=out)
    folder = Path(paths["summary"]).parent
    files = ", ".join(str(Path(p).relative_to(folder)) for p in paths.values())
    print(f"  wrote {folder}/{{{files}}}", file=out)


# --------------------------------------------------------------------------- commands


def _cmd_check(args: argparse.Namespace) -> int:
    scenario, _model = _load(args.scenario)
    spec = scenario.spec
    print(
        f"OK {args.scenario}: scenario '{scenario.name}' "
        f"({len(scenario.params)} lever(s) set, {len(scenario.targets)} target(s)); "
        f"model '{spec.name}' {spec.path} sha256 {spec.sha256[:12]}; "
        f"scenario sha256 {scenario.sha256[:12]}"
    )
    return 0


def _cmd_run(args: argparse.Namespace) -> int:
    # 1. Validate everything before running or writing anything.
    _check_dt(args.dt)
    out_root = Path(args.out)
    if out_root.exists() and not out_root.is_dir():
        raise InputError(args.out, "--out", "exists and is not a folder")
    loaded = _load_distinct(args.scenarios, f"both would write {out_root}/<file name>")
    for scenario, _ in loaded:
        stem = _stem(scenario)
        if (out_root / stem).exists() and not (out_root / stem).is_dir():
            raise InputError(out_root / stem, "--out", "exists and is not a folder")

    # 2. Run all scenarios.
    from simulator.integrate import simulate
    from simulator.results import evaluate_targets, timeseries_columns

    finished = []
    for scenario, model in loaded:
        run = simulate(model, scenario.params, dt=args.dt, method=args.method)
        frame = timeseries_columns(run)
        targets = evaluate_targets(frame, scenario.targets)
        finished.append((scenario, run, frame, targets))

    # 3. Write, one scenario folder at a time (each all-or-nothing).
    from simulator.charts import urbanization_chart
    from simulator.comparator import comparator_line
    from simulator.report import CHART_TITLES
    from simulator.results import run_summary, source_line
    from simulator.writers import write_run_outputs

    reports = []
    for scenario, run, frame, targets in finished:
        title = CHART_TITLES[args.lang]["urbanization"].format(
            label=_label(scenario, args.lang) or scenario.name)
        summary = run_summary(scenario, run, frame, targets)

        def chart(path: Path, scenario=scenario, run=run, frame=frame, targets=targets,
                  title=title, un=comparator_line(summary["comparator"])) -> None:
            urbanization_chart(frame, targets, path, title=title, lang=args.lang,
                               source_line=source_line(scenario, run), comparator=un)

        extras = {}
        if args.format == "xlsx":
            from simulator.excel import run_workbook

            extras[f"{_stem(scenario)}.xlsx"] = run_workbook(scenario.spec, frame, summary, args.lang)
        written = write_run_outputs(out_root / _stem(scenario), frame, summary, chart, extras)
        reports.append((scenario, run, frame, targets, written))

    # 4. The screen, once everything is written.
    for i, report in enumerate(reports):
        if i:
            print(file=sys.stdout)
        _report(*report, sys.stdout)
    return 0


# [handlers: compare, goal-seek]
def _out_folder(out: str, sub: str) -> Path:
    """DIR/sub, refused (InputError) if DIR or DIR/sub exists and is not a folder."""
    root = Path(out)
    if root.exists() and not root.is_dir():
        raise InputError(out, "--out", "exists and is not a folder")
    if (root / sub).exists() and not (root / sub).is_dir():
        raise InputError(root / sub, "--out", "exists and is not a folder")
    return root / sub


def _cmd_compare(args: argparse.Namespace) -> int:
    _check_dt(args.dt)
    folder = _out_folder(args.out, "compare")
    loaded = [_load(p)[0] for p in args.scenarios]
    seen: dict[str, str] = {}
    for scenario, p in zip(loaded, args.scenarios):
        if scenario.name in seen:
            raise InputError(p, "name", f"scenario name '{scenario.name}' is also the name of "
                             f"{seen[scenario.name]}; compared scenarios need distinct names")
        seen[scenario.name] = p

    from simulator.compare import compare_scenarios, format_table, write_comparison

    comp = compare_scenarios(loaded, dt=args.dt, method=args.method)
    paths = write_comparison(comp, loaded, folder, method=args.method, dt=args.dt,
                             lang=args.lang, fmt=args.format)
    print(format_table(comp))
    files = ", ".join(str(Path(p).relative_to(folder)) for p in paths.values())
    print(f"wrote {folder}/{{{files}}}")
    return 0


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


def _cmd_goal_seek(args: argparse.Namespace) -> int:
    _check_dt(args.dt)
    from simulator.goalseek import (DEFAULT_FRONTIER_GRID, DEFAULT_GRID, default_target,
                                    frontier, goal_seek, lever_bounds, parse_target,
                                    write_goal_seek)

    if len(args.lever) > 2:
        raise InputError("command line", "--lever", f"give one or two levers, not {len(args.lever)}")
    if len(args.lever) == 2 and args.range is not None:
        raise InputError("command line", "--range", "applies to one lever only")
    if args.grid is not None and args.grid < 3:
        raise InputError("command line", "--grid", f"needs at least 3 points, got {args.grid}")
    low, high = _parse_range(args.range)
    scenario, _model = _load(args.scenario)
    spec = scenario.spec
    for lever in args.lever:
        lever_bounds(spec, lever, low, high)
    target = (parse_target(args.target, spec) if args.target is not None
              else default_target(scenario))
    folder = _out_folder(args.out, f"{_stem(scenario)}-goal-seek")

    single = args.grid or DEFAULT_GRID
    results = [goal_seek(scenario, lever, target, low=low, high=high, grid=single,
                         dt=args.dt, method=args.method) for lever in args.lever]
    front = None
    if len(args.lever) == 2:
        front = frontier(scenario, args.lever[0], args.lever[1], target,
                         grid=args.grid or DEFAULT_FRONTIER_GRID, dt=args.dt, method=args.method)
    paths = write_goal_seek(scenario, results, front, folder, method=args.method, dt=args.dt,
                            lang=args.lang)

    print(f"{scenario.name}: goal {target} ({args.method} dt={args.dt or spec.time.dt:g})")
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


# [handlers: sweep]
def _cmd_sweep(args: argparse.Namespace) -> int:
    import os
    import time

    from simulator import sweep as sw

    for flag, value, least in (("--samples", args.samples, 1), ("--workers", args.workers, 1),
                               ("--chunk-size", args.chunk_size, 1), ("--seed", args.seed, 0)):
        if value is not None and value < least:
            raise InputError("command line", flag, f"must be at least {least}, not {value}")
    out_root = Path(args.out)
    if out_root.exists() and not out_root.is_dir():
        raise InputError(args.out, "--out", "exists and is not a folder")
    scenario, _model = _load(args.scenario)
    out_dir = out_root / f"{_stem(scenario)}-sweep"
    if out_dir.exists() and not out_dir.is_dir():
        raise InputError(out_dir, "--out", "exists and is not a folder")
    if not scenario.uncertain:
        raise InputError(args.scenario, "uncertain", "no uncertain constants: a sweep needs at least one")
    seed = sw.DEFAULT_SEED if args.seed is None else args.seed
    chunk = args.chunk_size or sw.DEFAULT_CHUNK
    workers = args.workers or os.cpu_count() or 1
    k = len(scenario.uncertain)
    runs = sw.samples_rows(args.method, args.samples, k)
    if args.method == "sobol" and args.samples & (args.samples - 1):
        print(f"{PROG}: note: --samples {args.samples} is not a power of 2; Sobol' sequences converge "
              f"best with N = 2^m (e.g. {1 << args.samples.bit_length()})", file=sys.stderr)
    where = f"scheduler {args.scheduler}" if args.scheduler else (
        f"{workers} local process(es)" if workers > 1 else "this process")
    print(f"{scenario.name}: {args.method} sweep of {k} uncertain constant(s), N={args.samples} -> "
          f"{runs:,} runs in chunks of {chunk}, seed {seed}, on {where}", file=sys.stderr)
    t0 = time.perf_counter()
    key = sw.sweep_key(scenario, args.method, args.samples, seed, chunk)
    folder = sw.chunk_folder(out_root, scenario, key)
    resumed = sum(1 for _ in folder.glob("chunk-*.npy")) if folder.is_dir() else 0
    result = sw.run_sweep(scenario, args.method, args.samples, seed=seed, chunk_size=chunk,
                          out_root=out_root, workers=workers, scheduler=args.scheduler)
    elapsed = time.perf_counter() - t0
    paths = sw.write_sweep(result, out_dir, lang=args.lang)
    sw.remove_chunks(folder)

    print(f"{scenario.name} — {args.method} sweep, N={args.samples}, {result.runs:,} runs, seed {seed}"
          f"{f', resumed from {resumed} saved chunk(s)' if resumed else ''}: "
          f"{elapsed:.1f} s ({result.runs / elapsed:,.0f} runs/s)")
    print(f"  model {scenario.spec.name} sha256 {scenario.spec.sha256[:12]}, "
          f"scenario sha256 {scenario.sha256[:12]}")
    for t in result.targets:
        print(f"  P({t['indicator']} >= {100 * t['target']:g}% in {t['year']}) = {t['probability']:.1%} "
              f"({t['reached']:,} of {t['runs']:,} runs; median {100 * t['median']:.1f}%)")
    main_key = {"sobol": "ST", "morris": "mu_star", "mc": "spearman_rho"}[args.method]
    for output in result.analysed:
        rows = sorted((r for r in result.indices if r["output"] == output),
                      key=lambda r: -abs(r[main_key]) if r[main_key] == r[main_key] else 0)
        top = ", ".join(f"{r['parameter']} {r[main_key]:.3g}" for r in rows[:3])
        print(f"  {main_key} {output}: {top}")
    files = ", ".join(str(Path(p).relative_to(out_dir)) for p in paths.values())
    print(f"  wrote {out_dir}/{{{files}}}")
    return 0


# [handlers: calibrate]
def _cmd_calibrate(args: argparse.Namespace) -> int:
    from simulator.calibrate import print_summary, run_calibration

    if args.model is not None and not Path(args.model).is_file():
        raise InputError(args.model, "--model", "no such file")
    outcome = run_calibration(args.model, args.out, args.history, n_search=args.samples,
                              n_starts=args.starts, seed=args.seed, report=args.report)
    print_summary(outcome, sys.stdout)
    return 0


# [handlers: validate, export]


def _cmd_validate(args: argparse.Namespace) -> int:
    from simulator.validate import run_battery, table_text, write_validation

    out_root = Path(args.out)
    if out_root.exists() and not out_root.is_dir():
        raise InputError(args.out, "--out", "exists and is not a folder")
    scenario, model = _load(args.scenario)
    checks = run_battery(scenario, model)
    path = write_validation(out_root, scenario, checks, version=__version__)
    failed = [c.test for c in checks if c.failed]
    print(f"{scenario.name} — validation of model {scenario.spec.name} "
          f"sha256 {scenario.spec.sha256[:12]}, scenario sha256 {scenario.sha256[:12]}")
    print(table_text(checks))
    print(f"  {'FAILED: ' + ', '.join(failed) if failed else 'all tests passed'}; wrote {path}")
    return 1 if failed else 0


def _cmd_export(args: argparse.Namespace) -> int:
    from simulator.export_vensim import write_vensim
    from simulator.export_xmile import write_xmile

    _check_dt(args.dt)
    out = Path(args.output)
    if out.is_dir():
        raise InputError(args.output, "-o", "is a folder; give a file name")
    if args.pysd_sums and args.format != "xmile":
        raise InputError("command line", "--pysd-sums", "applies to --format xmile only")
    scenario, _model = _load(args.scenario)
    if args.format == "vensim":
        path = write_vensim(scenario, out, dt=args.dt)
    else:
        path = write_xmile(scenario, out, dt=args.dt, array_sum="pysd" if args.pysd_sums else "xmile")
    print(f"wrote {path} ({args.format}, scenario {scenario.name}, model {scenario.spec.name} "
          f"sha256 {scenario.spec.sha256[:12]})")
    return 0
# [handlers: report]
def _county_labels(spec: Any) -> dict[str, dict[str, str]]:
    """{element: {zh, en}} of the dimension the county rates are subscripted by ({}: none)."""
    dims = spec.element("county_urbanization_rate").dims if spec.kind("county_urbanization_rate") else None
    if not dims:
        return {}
    dim = spec.dimensions[dims[0]]
    labels = dim.labels or {}
    return {e: ({"zh": labels[e].zh, "en": labels[e].en} if e in labels else {"zh": e, "en": e})
            for e in dim.elements}


def _land_band(spec: Any) -> tuple[float, float] | None:
    """The GB 50137-2011 band of land per person: the bounds of the model's planned_land_per_person."""
    land = spec.constants.get("planned_land_per_person")
    return tuple(land.bounds) if land is not None and land.bounds else None


def _report_charts(scenario: Any, run: Any, frame: Any, summary: dict, sweep: Any, lang: str,
                   folder: Path, counties: dict[str, dict[str, str]],
                   band: tuple[float, float] | None) -> dict[str, str]:
    """Draw one scenario's report charts under `folder`/charts/<stem>/; return kind -> relative PNG path."""
    from simulator import charts
    from simulator.comparator import comparator_line
    from simulator.report import CHART_TITLES, scenario_label
    from simulator.results import source_line

    spec = scenario.spec
    label = scenario_label(summary, lang)
    titles = {k: v.format(label=label, runs=sweep.runs if sweep else 0) for k, v in CHART_TITLES[lang].items()}
    line = source_line(scenario, run)
    rel = Path("charts") / _stem(scenario)
    drawn: dict[str, str] = {}

    def draw(kind: str, fn: Any, *args: Any, **kw: Any) -> None:
        path = rel / f"{kind}.png"
        fn(*args, folder / path, title=titles[kind], source_line=line, lang=lang, **kw)
        drawn[kind] = path.as_posix()

    draw("urbanization", charts.urbanization_chart, frame, summary["targets"],
         comparator=comparator_line(summary["comparator"]))
    if "hukou_urbanization_rate" in frame:
        draw("gap", charts.gap_chart, frame)
    if counties and f"county_urbanization_rate[{next(iter(counties))}]" in frame:
        draw("counties", charts.county_chart, frame, counties, summary["targets"])
    if counties and band and f"land_per_urban_resident[{next(iter(counties))}]" in frame:
        planned = scenario.params.get("planned_land_per_person", spec.constants["planned_land_per_person"].value)
        draw("land", charts.land_chart, frame, counties, band=band,
             planned=float(planned) if isinstance(planned, (int, float)) else None)
    if counties and any(f"{v}[{next(iter(counties))}]" in frame for v in
                        ("school_adequacy", "hospital_adequacy", "affordable_housing_adequacy", "sewage_adequacy")):
        draw("services", charts.services_chart, frame, counties)
    if sweep is not None:
        from simulator.sweep import source_line as sweep_line

        path = rel / "fan.png"
        charts.fan_chart(sweep.years, sweep.percentiles("urbanization_rate"), sweep.targets, folder / path,
                         title=titles["fan"], source_line=sweep_line(sweep), lang=lang)
        drawn["fan"] = path.as_posix()
    return drawn


def _cmd_report(args: argparse.Namespace) -> int:
    # 1. Validate everything before running or writing anything.
    _check_dt(args.dt)
    if args.samples < 0:
        raise InputError("command line", "--samples", f"must be 0 or more, not {args.samples}")
    if args.pdf:
        from simulator.report import pdf_available

        missing = pdf_available()
        if missing:
            raise InputError("command line", "--pdf", missing)
    loaded = _load_distinct(args.scenarios, "a report needs distinct scenarios")
    name = f"{_stem(loaded[0][0])}-report" if len(loaded) == 1 else "compare-report"
    folder = _out_folder(args.out, f"{name}-{args.lang}")

    # 2. Run each scenario and its Monte Carlo sample.
    from simulator.integrate import simulate
    from simulator.results import evaluate_targets, run_summary, timeseries_columns

    finished = []
    for scenario, model in loaded:
        run = simulate(model, scenario.params, dt=args.dt, method=args.method)
        frame = timeseries_columns(run)
        summary = run_summary(scenario, run, frame, evaluate_targets(frame, scenario.targets))
        sweep = None
        if args.samples and scenario.uncertain:
            from simulator.sweep import run_sweep

            sweep = run_sweep(scenario, "mc", args.samples, seed=args.seed, dt=args.dt, progress=False)
        finished.append((scenario, run, frame, summary, sweep))

    # 3. Charts and text into a scratch folder, then the whole folder at once.
    import shlex
    import tempfile

    from simulator.labels import column_label
    from simulator.report import ReportItem, report_html, report_markdown
    from simulator.sweep import summary as sweep_summary
    from simulator.writers import json_text, write_folder

    lang = args.lang
    created = _dt.datetime.now(_dt.timezone.utc).date().isoformat()
    command = shlex.join([PROG, *args.argv])
    with tempfile.TemporaryDirectory(prefix="urbsd-report-") as tmp:
        scratch = Path(tmp)
        items = []
        for scenario, run, frame, summary, sweep in finished:
            stem = _stem(scenario)
            spec = scenario.spec
            files = {"summary": f"summaries/{stem}.json"}
            (scratch / "summaries").mkdir(exist_ok=True)
            (scratch / files["summary"]).write_text(json_text(summary), encoding="utf-8")
            mc = None
            if sweep is not None:
                mc = sweep_summary(sweep)
                files["sweep"] = f"summaries/{stem}-montecarlo.json"
                (scratch / files["sweep"]).write_text(json_text(mc), encoding="utf-8")
            counties, band = _county_labels(spec), _land_band(spec)
            items.append(ReportItem(
                summary=summary,
                charts=_report_charts(scenario, run, frame, summary, sweep, lang, scratch, counties, band),
                counties=counties,
                land_band=band,
                indicator_labels={t["indicator"]: {lg: column_label(spec, t["indicator"], lg) for lg in ("zh", "en")}
                                  for t in summary["targets"]},
                sweep=mc, files=files))
        comparison = None
        if len(finished) > 1:
            from simulator.charts import comparison_chart
            from simulator.compare import CHART_LEGEND, CHART_TITLE
            from simulator.compare import source_line as compare_line
            from simulator.report import scenario_label

            rates = {s.name: ([int(y) for y in f["time"]], [float(v) for v in f["urbanization_rate"]])
                     for s, _, f, _, _ in finished}
            labels = {s.name: CHART_LEGEND[lang].format(label=scenario_label(summ, lang), year=int(f["time"][-1]),
                                                        value=100 * f["urbanization_rate"][-1])
                      for s, _, f, summ, _ in finished}
            goals = [(t.year, t.value) for t in finished[0][0].targets if t.indicator == "urbanization_rate"]
            comparison = "charts/comparison.png"
            comparison_chart(rates, labels, goals, scratch / comparison, title=CHART_TITLE[lang],
                             source_line=compare_line([s for s, *_ in finished], args.method, args.dt), lang=lang)
        markdown = report_markdown(items, lang=lang, created=created, command=command,
                                   comparison_chart=comparison)
        (scratch / "report.md").write_text(markdown, encoding="utf-8")
        page = report_html(markdown, scratch, lang=lang)
        (scratch / "report.html").write_text(page, encoding="utf-8")
        if args.pdf:
            from simulator.report import report_pdf

            (scratch / "report.pdf").write_bytes(report_pdf(page))
        written = write_folder(folder, {p.relative_to(scratch): p.read_bytes()
                                        for p in sorted(scratch.rglob("*")) if p.is_file()})

    # 4. The screen: the findings, then what was written.
    from simulator.report import comparison_sentences, findings, scenario_label

    if len(items) > 1:
        for sentence in comparison_sentences(items, lang):
            print(f"- {sentence}")
    for item in items:
        if len(items) > 1:
            print(f"\n{scenario_label(item.summary, lang)}")
        for sentence in findings(item, lang):
            print(f"- {sentence}")
    reports = ["report.md", "report.html"] + (["report.pdf"] if args.pdf else [])
    print(f"wrote {folder}/{{{', '.join(reports)}}} and {len(written) - len(reports)} chart and summary files")
    return 0


# [handlers: docs]


def _cmd_docs(args: argparse.Namespace) -> int:
    from simulator.modeldoc import model_markdown
    from simulator.modelfile import load_model
    from simulator.writers import atomic_write_text

    out = Path(args.output)
    if out.is_dir():
        raise InputError(args.output, "-o", "is a folder; give a file name")
    if args.model is not None and not Path(args.model).is_file():
        reason = "no such file" if not Path(args.model).exists() else "not a file"
        raise InputError(args.model, "--model", reason)
    spec = load_model(args.model)
    path = atomic_write_text(out, model_markdown(spec))
    print(f"wrote {path} (model {spec.name} sha256 {spec.sha256[:12]}, {len(spec.all_names())} elements, "
          f"{len(spec.loops)} feedback loop(s))")
    return 0


HANDLERS = {
    "run": _cmd_run,
    "check": _cmd_check,
    "compare": _cmd_compare,
    "goal-seek": _cmd_goal_seek,
    "sweep": _cmd_sweep,
    "calibrate": _cmd_calibrate,
    "validate": _cmd_validate,
    "export": _cmd_export,
    "report": _cmd_report,
    "docs": _cmd_docs,
}


def main(argv: list[str] | None = None) -> int:
    parser = _build_parser()
    args = parser.parse_args(argv)
    args.argv = list(sys.argv[1:] if argv is None else argv)
    try:
        return HANDLERS[args.command](args)
    except InputError as exc:
        msg = " ".join(str(exc).split())  # guarantee one line
        print(f"{PROG}: error: {msg}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # e.g. `urbsd run | head`: the files are written already
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except OSError as exc:  # e.g. the output folder is not writable
        where = f"{exc.filename}: " if getattr(exc, "filename", None) else ""
        print(f"{PROG}: error: {where}{exc.strerror or exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
