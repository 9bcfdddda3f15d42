"""The files of `urbsd goal-seek`: goal_seek.json, and with two levers frontier.csv and its chart.

`write_goal_seek(scenario, results, front, out_dir, ...)` writes the answers of
`simulator.analysis.goalseek` all or nothing.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from simulator.analysis.goalseek import Frontier, GoalSeekResult, variable
from simulator.engine.series import TimeSeries


def write_goal_seek(
    scenario: Any,
    results: list[GoalSeekResult],
    front: Frontier | None,
    out_dir: Any,
    *,
    method: str = "euler",
    dt: float | None = None,
    lang: str = "zh",
) -> dict[str, Any]:
    """Write `goal_seek.json` (and with two levers `frontier.csv`, `charts/frontier.png` + `.svg`).

    `lang` ("zh" or "en") is the language of the chart's title and labels. The files are
    written together (simulator.outputs.writers.write_folder: all or nothing).
    """
    from pathlib import Path

    from simulator.bundled import __version__
    from simulator.outputs.charts.compare import frontier_chart
    from simulator.outputs.compare_files import source_line
    from simulator.outputs.labels import check_lang
    from simulator.outputs.writers import csv_text, json_text, write_folder

    check_lang(lang)
    out_dir = Path(out_dir)
    spec = scenario.spec
    summary = {
        "scenario": {"name": scenario.name, "label": dict(scenario.label),
                     "path": str(scenario.path), "sha256": scenario.sha256},
        "model": {"name": spec.name, "sha256": spec.sha256},
        "package_version": __version__,
        "method": method,
        "dt": float(spec.time.dt if dt is None else dt),
        "results": [r.as_dict() for r in results],
    }
    files: dict[str, Any] = {}  # bytes, or a function drawing the chart (write_folder)
    if front is not None:
        summary["frontier"] = {k: v for k, v in front.as_dict().items() if k != "values"}
        rows = {front.lever_a: [], front.lever_b: [], front.target.indicator: []}
        for i, b in enumerate(front.grid_b):
            for j, a in enumerate(front.grid_a):
                rows[front.lever_a].append(a)
                rows[front.lever_b].append(b)
                rows[front.target.indicator].append(front.values[i][j])
        files["frontier.csv"] = csv_text(rows).encode("utf-8")

        def label(name: str) -> str:
            text = getattr(spec.constants[name].label, lang, None) or name
            unit = spec.constants[name].unit
            if not unit or unit == "dimensionless":
                return f"{text} {name}"
            return f"{text} {name}" + (f"（{unit}）" if lang == "zh" else f" ({unit})")

        def own(name: str) -> float | None:
            """The scenario's value of a scalar lever (a time series: in the target year)."""
            v = scenario.params.get(name, spec.constants[name].value)
            if isinstance(v, TimeSeries):
                v = v.at(front.target.year)
            return float(v) if np.ndim(v) == 0 and not isinstance(v, dict) else None

        a0, b0 = own(front.lever_a), own(front.lever_b)
        marker = (a0, b0) if a0 is not None and b0 is not None else None
        pct = "rate" in front.target.indicator
        indicator = indicator_label(spec, front.target.indicator, lang)
        title = (f"{front.target.year}年{indicator}：两项政策杠杆的组合" if lang == "zh"
                 else f"{indicator} in {front.target.year}: two policy levers combined")
        files["charts/frontier.png"] = lambda path: frontier_chart(
            front.grid_a, front.grid_b, front.values, front.target.value, path,
            label_a=label(front.lever_a), label_b=label(front.lever_b), title=title,
            source_line=source_line([scenario], method, dt, lang), percent=pct, marker=marker, lang=lang)
    written = write_folder(out_dir, {"goal_seek.json": json_text(summary).encode("utf-8"), **files})
    return {rel.as_posix(): path for rel, path in written.items()}


def indicator_label(spec: Any, indicator: str, lang: str = "zh") -> str:
    """The `lang` label of an indicator (`name` or `name[element]`), else its name."""
    name, _, element = indicator.partition("[")
    var = variable(spec, name)
    text = getattr(getattr(var, "label", None), lang, None) or name
    if not element:
        return text
    return f"{text}（{element.rstrip(']')}）" if lang == "zh" else f"{text} ({element.rstrip(']')})"
