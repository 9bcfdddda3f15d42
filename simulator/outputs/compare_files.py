"""The files of `urbsd compare`: comparison.csv, comparison.json, the chart (and .xlsx).

`write_comparison(comp, scenarios, out_dir, ...)` writes a `Comparison`
(`simulator.analysis.compare`) all or nothing; the comparison chart's title, legend and
provenance line are here, shared with `urbsd report` and the goal-seek frontier chart.
"""

from __future__ import annotations

from typing import Any

from simulator.analysis.compare import Comparison

#: the comparison chart's title and legend entries ({label}, {year}: the last year, {value}: its rate in %)
CHART_TITLE = {"zh": "平凉市常住人口城镇化率：情景比较",
               "en": "Pingliang resident urbanization rate: scenarios compared"}
CHART_LEGEND = {"zh": "{label}：{year}年 {value:.1f}%", "en": "{label}: {value:.1f}% in {year}"}


def source_line(scenarios: list[Any], method: str, dt: float | None, lang: str = "zh") -> str:
    """Provenance under a chart, in `lang`: scenarios, model sha256, method, urbsd version, date."""
    import datetime as _dt

    from simulator.analysis.results import SOURCE_WORDS
    from simulator.bundled import __version__

    w = SOURCE_WORDS["en" if lang == "en" else "zh"]

    today = _dt.datetime.now(_dt.timezone.utc).date().isoformat()
    spec = scenarios[0].spec
    step = spec.time.dt if dt is None else dt
    names = ", ".join(s.name for s in scenarios)
    if len(names) > 90:
        names = w["n_scenarios"].format(n=len(scenarios))
    return (f"{w['scenarios']}{names} · {w['model']}{spec.name} sha256 {spec.sha256[:12]} · "
            f"{method} dt={step:g} · urbsd {__version__} · {today}")


def write_comparison(comp: Comparison, scenarios: list[Any], out_dir: Any, *,
                     method: str = "euler", dt: float | None = None,
                     lang: str = "zh", fmt: str = "csv") -> dict[str, Any]:
    """Write `comparison.csv`, `comparison.json` and `charts/urbanization.png` (+ `.svg`) into `out_dir`.

    `lang` ("zh" or "en") is the language of the chart's title and legend and of the Excel
    headers; `fmt="xlsx"` adds `comparison.xlsx`. The files are written together
    (simulator.outputs.writers.write_folder: all or nothing).
    """
    from pathlib import Path

    from simulator.bundled import __version__
    from simulator.outputs.charts.compare import comparison_chart
    from simulator.outputs.labels import check_lang
    from simulator.outputs.writers import csv_text, json_text, write_folder

    check_lang(lang)
    out_dir = Path(out_dir)
    goals = [(year, value) for ind, value, year in comp.targets if ind == "urbanization_rate"]
    last = comp.years[-1]
    labels = {name: CHART_LEGEND[lang].format(label=lab.get(lang) or name, year=last,
                                              value=100 * comp.rates[name][1][-1])
              for name, lab in comp.labels.items()}
    line = source_line(scenarios, method, dt, lang)
    summary = {
        "scenarios": [{"name": s.name, "label": dict(s.label), "path": str(s.path),
                       "sha256": s.sha256} for s in scenarios],
        "model": {"name": scenarios[0].spec.name, "sha256": scenarios[0].spec.sha256},
        "package_version": __version__,
        "method": method,
        "dt": float(scenarios[0].spec.time.dt if dt is None else dt),
        "indicators": comp.indicators,
        "first_year_rule": "first saved whole year with value >= target; no interpolation "
                           "within a year; 'not by <last year>' if never",
        "notes": comp.notes,
        "table": comp.rows,
    }
    table = {c: ["" if v is None else v for v in col] for c, col in comp.table().items()}
    files = {"comparison.csv": csv_text(table).encode("utf-8"),
             "comparison.json": json_text(summary).encode("utf-8"),
             "charts/urbanization.png": lambda path: comparison_chart(
                 comp.rates, labels, goals, path, title=CHART_TITLE[lang], source_line=line, lang=lang)}
    if fmt == "xlsx":
        from simulator.outputs.excel import comparison_workbook

        files["comparison.xlsx"] = comparison_workbook(scenarios[0].spec, table, summary, lang)
    elif fmt != "csv":
        raise ValueError(f"fmt must be 'csv' or 'xlsx', not {fmt!r}")
    written = {rel.as_posix(): path for rel, path in write_folder(out_dir, files).items()}
    kinds = {"charts/urbanization.png": "chart", "charts/urbanization.svg": "chart_svg"}
    return {kinds.get(rel, rel): path for rel, path in written.items()}
