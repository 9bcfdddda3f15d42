"""`urbsd run`: run scenarios; write timeseries.csv, summary.json and the chart per scenario; the screen table."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from simulator.cli.common import check_dt, file_stem, integration_options, load_distinct, map_option, table_options
from simulator.errors import InputError


def add_parser(sub: Any) -> None:
    """The `run` subcommand's options."""
    run = sub.add_parser(
        "run",
        help="run scenarios; write timeseries.csv, summary.json and a chart per scenario",
        description="Run each SCENARIO (default: the bundled baseline) and write "
        "DIR/<scenario file stem>/{timeseries.csv, summary.json, charts/urbanization.png, "
        "charts/county-map.png}.",
    )
    run.add_argument("scenarios", nargs="*", metavar="SCENARIO",
                     help="scenario YAML file(s); none: the bundled baseline")
    run.add_argument("--out", default="results", metavar="DIR",
                     help="output folder (default: ./results)")
    integration_options(run)
    table_options(run)
    map_option(run)


def _label(scenario: Any, lang: str) -> str:
    label = getattr(scenario, "label", None)
    if isinstance(label, dict):
        return label.get(lang) or label.get("en") or label.get("zh") or ""
    return getattr(label, lang, None) or "" if label is not None else ""


def _pct(x: float) -> str:
    return f"{100 * x:.1f}%"


def _num(x: float) -> str:
    return f"{x:,.0f}" if abs(x) >= 1000 else f"{x:.4g}"


def target_text(t: dict) -> str:
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
    from simulator.analysis.results import MILESTONES, value_at

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
        line += "   " + ("; ".join(target_text(t) for t in ts) if ts else "-")
        print(line.rstrip(), file=out)
    for t in other:
        if "rate" in t["indicator"]:
            text = target_text(t)
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


def handle(args: argparse.Namespace) -> int:
    from simulator.outputs.charts.warm import warm_up
    from simulator.outputs.drawing import early_drawing

    with early_drawing(warm_up):  # a helper process gets ready to draw while the model runs
        return _handle(args)


def _handle(args: argparse.Namespace) -> int:
    # 1. Validate everything before running or writing anything.
    check_dt(args.dt)
    out_root = Path(args.out)
    if out_root.exists() and not out_root.is_dir():
        raise InputError(args.out, "--out", "exists and is not a folder")
    loaded = load_distinct(args.scenarios, f"both would write {out_root}/<file name>")
    from simulator.outputs.county_map import MAP_FILE, check_from_year, scenario_map

    for scenario, _ in loaded:
        check_from_year(args.map_from, scenario.spec)
        stem = file_stem(scenario)
        if (out_root / stem).exists() and not (out_root / stem).is_dir():
            raise InputError(out_root / stem, "--out", "exists and is not a folder")

    # 2. Run all scenarios.
    from simulator.analysis.results import evaluate_targets, timeseries_columns
    from simulator.engine.integrate import simulate

    finished = []
    for scenario, model in loaded:
        run = simulate(model, scenario.params, dt=args.dt, method=args.method)
        frame = timeseries_columns(run)
        targets = evaluate_targets(frame, scenario.targets)
        finished.append((scenario, run, frame, targets))

    # 3. Write, one scenario folder at a time (each all-or-nothing).
    from simulator.analysis.comparator import comparator_line
    from simulator.analysis.published import published_rates
    from simulator.analysis.results import run_summary, source_line
    from simulator.outputs.charts.scenario import urbanization_chart
    from simulator.outputs.drawing import background
    from simulator.outputs.report import CHART_TITLES
    from simulator.outputs.writers import write_run_outputs

    reports = []
    for scenario, run, frame, targets in finished:
        title = CHART_TITLES[args.lang]["urbanization"].format(
            label=_label(scenario, args.lang) or scenario.name)
        summary = run_summary(scenario, run, frame, targets)

        # the chart's inputs are computed here, so that the function holds only plain data (it
        # may be sent to a drawing process: simulator/outputs/drawing.py)
        def chart(path: Path, frame=frame, targets=targets, title=title, lang=args.lang,
                  line=source_line(scenario, run, lang=args.lang), un=comparator_line(summary["comparator"]),
                  history=published_rates()) -> None:
            urbanization_chart(frame, targets, path, title=title, lang=lang, source_line=line, comparator=un,
                               history=history)

        extras = {}
        draw_map = scenario_map(scenario, run, frame, lang=args.lang, from_year=args.map_from)
        if draw_map is not None:
            extras[MAP_FILE] = draw_map
        if args.format == "xlsx":
            from simulator.outputs.excel import run_workbook

            extras[f"{file_stem(scenario)}.xlsx"] = run_workbook(scenario.spec, frame, summary, args.lang)
        # with a map, the map is the slower to draw: the urbanization chart yields its core to it
        drawn_chart = chart if draw_map is None else background(chart)
        written = write_run_outputs(out_root / file_stem(scenario), frame, summary, drawn_chart, extras)
        reports.append((scenario, run, frame, targets, written))

    # 4. The screen, once everything is written.
    for i, report in enumerate(reports):
        if i:
            print(file=sys.stdout)
        _report(*report, sys.stdout)
    return 0
