"""`urbsd report`: a memo-ready report (Markdown, HTML, PDF) of one or more scenarios."""

from __future__ import annotations

import argparse
import datetime as _dt
from pathlib import Path
from typing import Any

from simulator.cli.common import (
    PROG,
    check_dt,
    file_stem,
    integration_options,
    lang_option,
    load_distinct,
    map_option,
    method_text,
    out_folder,
    policy_scenarios,
)
from simulator.errors import InputError


def add_parser(sub: Any) -> None:
    """The `report` subcommand's options."""
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
    lang_option(rep, "the text and charts")
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
    integration_options(rep)
    map_option(rep)


def _report_charts(scenario: Any, run: Any, frame: Any, summary: dict, sweep: Any, lang: str,
                   folder: Path, counties: dict[str, dict[str, str]],
                   band: tuple[float, float] | None, map_from: int | None = None) -> dict[str, str]:
    """Draw one scenario's report charts under `folder`/charts/<stem>/; return kind -> relative PNG path."""
    from simulator.analysis.comparator import comparator_line
    from simulator.analysis.published import estimated_counties, published_rates
    from simulator.analysis.results import source_line
    from simulator.outputs.charts import scenario as charts
    from simulator.outputs.charts.sweep import fan_chart
    from simulator.outputs.findings import scenario_label
    from simulator.outputs.report import CHART_TITLES

    spec = scenario.spec
    label = scenario_label(summary, lang)
    titles = {k: v.format(label=label, runs=sweep.runs if sweep else 0) for k, v in CHART_TITLES[lang].items()}
    line = source_line(scenario, run, lang=lang)
    rel = Path("charts") / file_stem(scenario)
    drawn: dict[str, str] = {}

    def draw(kind: str, fn: Any, *args: Any, **kw: Any) -> None:
        path = rel / f"{kind}.png"
        fn(*args, folder / path, title=titles[kind], source_line=line, lang=lang, **kw)
        drawn[kind] = path.as_posix()

    draw("urbanization", charts.urbanization_chart, frame, summary["targets"],
         comparator=comparator_line(summary["comparator"]), history=published_rates())
    if "hukou_urbanization_rate" in frame:
        draw("gap", charts.gap_chart, frame)
    if counties and f"county_urbanization_rate[{next(iter(counties))}]" in frame:
        draw("counties", charts.county_chart, frame, counties, summary["targets"],
             estimated=estimated_counties(counties))
    from simulator.outputs.county_map import scenario_map

    draw_map = scenario_map(scenario, run, frame, lang=lang, from_year=map_from)
    if draw_map is not None:  # the county map, beside the county small multiples
        drawn["county_map"] = (rel / "county-map.png").as_posix()
        draw_map(folder / drawn["county_map"])
    if counties and band and f"land_per_urban_resident[{next(iter(counties))}]" in frame:
        planned = scenario.params.get("planned_land_per_person", spec.constants["planned_land_per_person"].value)
        draw("land", charts.land_chart, frame, counties, band=band,
             planned=float(planned) if isinstance(planned, (int, float)) else None)
    if counties and any(f"{v}[{next(iter(counties))}]" in frame for v in
                        ("school_adequacy", "hospital_adequacy", "affordable_housing_adequacy", "sewage_adequacy")):
        draw("services", charts.services_chart, frame, counties)
    if sweep is not None:
        from simulator.outputs.sweep_files import source_line as sweep_line

        path = rel / "fan.png"
        fan_chart(sweep.years, sweep.percentiles("urbanization_rate"), sweep.targets, folder / path,
                         title=titles["fan"], source_line=sweep_line(sweep, lang), lang=lang)
        drawn["fan"] = path.as_posix()
    return drawn


def handle(args: argparse.Namespace) -> int:
    # 1. Validate everything before running or writing anything.
    check_dt(args.dt)
    if args.samples < 0:
        raise InputError("command line", "--samples", f"must be 0 or more, not {args.samples}")
    if args.pdf:
        from simulator.outputs.report import pdf_available

        missing = pdf_available()
        if missing:
            raise InputError("command line", "--pdf", missing)
    loaded = load_distinct(args.scenarios, "a report needs distinct scenarios")
    if len(loaded) > 1:  # a comparison: support files (kind: support) are not policy scenarios
        loaded = policy_scenarios(loaded, args.scenarios)
    if args.samples:  # bounded work: refuse a Monte Carlo sample that would not fit in memory
        from simulator.analysis.limits import check_sweep
        from simulator.analysis.sweep import ModelEvaluator

        for scenario, _ in loaded:
            if scenario.uncertain:
                m = len(ModelEvaluator(scenario, tuple(scenario.uncertain)).columns)
                check_sweep("mc", args.samples, args.samples, len(scenario.uncertain), m)
    from simulator.outputs.county_map import check_from_year, county_labels, land_band

    for scenario, _ in loaded:
        check_from_year(args.map_from, scenario.spec)
    name = f"{file_stem(loaded[0][0])}-report" if len(loaded) == 1 else "compare-report"
    folder = out_folder(args.out, f"{name}-{args.lang}")

    # 2. Run each scenario and its Monte Carlo sample.
    from simulator.analysis.results import evaluate_targets, run_summary, timeseries_columns
    from simulator.engine.integrate import simulate

    finished = []
    for scenario, model in loaded:
        run = simulate(model, scenario.params, dt=args.dt, method=args.method)
        frame = timeseries_columns(run)
        summary = run_summary(scenario, run, frame, evaluate_targets(frame, scenario.targets))
        sweep = None
        if args.samples and scenario.uncertain:
            from simulator.analysis.sweep import run_sweep

            sweep = run_sweep(scenario, "mc", args.samples, seed=args.seed, dt=args.dt, progress=False)
        finished.append((scenario, run, frame, summary, sweep))

    # 3. Charts and text into a staging folder beside the report's (removed on any exit; a
    #    killed run's is removed by the next), then moved into place all at once.
    import shlex

    from simulator.outputs.findings import ReportItem
    from simulator.outputs.labels import column_label
    from simulator.outputs.report import project_path, report_html, report_markdown
    from simulator.outputs.sweep_files import summary as sweep_summary
    from simulator.outputs.writers import Staging, json_text

    lang = args.lang
    created = _dt.datetime.now(_dt.timezone.utc).date().isoformat()
    command = shlex.join([PROG, *(project_path(a) if Path(a).is_file() else a for a in args.argv)])
    with Staging(folder) as staging:
        scratch = staging.path
        items = []
        for scenario, run, frame, summary, sweep in finished:
            stem = file_stem(scenario)
            spec = scenario.spec
            files = {"summary": f"summaries/{stem}.json"}
            (scratch / "summaries").mkdir(exist_ok=True)
            (scratch / files["summary"]).write_text(json_text(summary), encoding="utf-8")
            mc = None
            if sweep is not None:
                mc = sweep_summary(sweep)
                files["sweep"] = f"summaries/{stem}-montecarlo.json"
                (scratch / files["sweep"]).write_text(json_text(mc), encoding="utf-8")
            counties, band = county_labels(spec), land_band(spec)
            items.append(ReportItem(
                summary=summary,
                charts=_report_charts(scenario, run, frame, summary, sweep, lang, scratch, counties, band,
                                      args.map_from),
                counties=counties,
                land_band=band,
                indicator_labels={t["indicator"]: {lg: column_label(spec, t["indicator"], lg) for lg in ("zh", "en")}
                                  for t in summary["targets"]},
                sweep=mc, files=files))
        comparison = None
        if len(finished) > 1:
            from simulator.outputs.charts.compare import comparison_chart
            from simulator.outputs.compare_files import CHART_LEGEND, CHART_TITLE
            from simulator.outputs.compare_files import source_line as compare_line
            from simulator.outputs.findings import scenario_label

            rates = {s.name: ([int(y) for y in f["time"]], [float(v) for v in f["urbanization_rate"]])
                     for s, _, f, _, _ in finished}
            labels = {s.name: CHART_LEGEND[lang].format(label=scenario_label(summ, lang), year=int(f["time"][-1]),
                                                        value=100 * f["urbanization_rate"][-1])
                      for s, _, f, summ, _ in finished}
            goals = [(t.year, t.value) for t in finished[0][0].targets if t.indicator == "urbanization_rate"]
            comparison = "charts/comparison.png"
            shown = [s for s, *_ in finished]
            comparison_chart(rates, labels, goals, scratch / comparison, title=CHART_TITLE[lang],
                             source_line=compare_line(shown, method_text(args.method, shown), args.dt, lang),
                             lang=lang)
        markdown = report_markdown(items, lang=lang, created=created, command=command,
                                   comparison_chart=comparison)
        (scratch / "report.md").write_text(markdown, encoding="utf-8")
        # only the charts drawn above are embedded (never a file found by name)
        drawn = [c for item in items for c in item.charts.values()] + ([comparison] if comparison else [])
        page = report_html(markdown, {c: (scratch / c).read_bytes() for c in drawn}, lang=lang)
        (scratch / "report.html").write_text(page, encoding="utf-8")
        if args.pdf:
            from simulator.outputs.report import report_pdf

            (scratch / "report.pdf").write_bytes(report_pdf(page))
    written = staging.written

    # 4. The screen: the findings, then what was written.
    from simulator.outputs.findings import comparison_sentences, findings, scenario_label

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
