"""The files of a sweep: samples.parquet, indices.csv, summary.json and two charts.

`summary(result)` is the content of a sweep's summary.json (the report reads it too);
`write_sweep(result, out_dir, lang=)` writes the folder all or nothing.
"""

from __future__ import annotations

import io
import math
from pathlib import Path
from typing import Any

import numpy as np

from simulator.analysis.sampling import MORRIS_LEVELS
from simulator.analysis.sweep import SweepResult
from simulator.bundled import __version__


def summary(result: SweepResult) -> dict[str, Any]:
    """summary.json of a sweep: targets with probabilities, percentiles, provenance."""
    p = result.provenance
    return {
        "scenario": p.get("scenario"),
        "model": p.get("model"),
        "scenario_sha256": p.get("scenario_sha256"),
        "package_version": p.get("package_version", __version__),
        "method": result.method,
        "samples": result.samples,
        "runs": result.runs,
        "seed": result.seed,
        "chunk_size": result.chunk_size,
        "sweep_key": result.key,
        "integration": p.get("integration"),
        "sampling": ("unit-cube points (SALib Saltelli/Sobol' for sobol without second order, "
                     f"SALib Morris with {MORRIS_LEVELS} levels, numpy PCG64 for mc) mapped through each "
                     "distribution's inverse CDF; normal truncated to the constant's bounds"),
        "probability_basis": ("none: Morris screening runs lie on a grid of levels, not a probability "
                              "sample, so no probability is given (reached counts the grid runs only)"
                              if result.method == "morris" else
                              "share of all runs with value >= target (NaN counts as not reached)"),
        "uncertain": p.get("uncertain"),
        "targets": result.targets,
        "analysed_outputs": result.analysed,
        "urbanization_rate_percentiles": {"years": result.years, **result.percentiles("urbanization_rate")},
        "files": {"samples": SAMPLES_FILE, "indices": INDICES_FILE, "fan_chart": str(FAN_CHART),
                  "fan_chart_svg": str(FAN_CHART.with_suffix(".svg")), "indices_chart": str(INDICES_CHART),
                  "indices_chart_svg": str(INDICES_CHART.with_suffix(".svg"))},
    }


SAMPLES_FILE = "samples.parquet"
INDICES_FILE = "indices.csv"
SUMMARY_FILE = "summary.json"
#: the charts' PNG paths; each chart writes an SVG beside its PNG
FAN_CHART = Path("charts") / "fan.png"
INDICES_CHART = Path("charts") / "indices.png"
#: the sweep charts' titles by language; {name} is the scenario's label
_TITLES = {
    "zh": {"fan": "平凉市常住人口城镇化率不确定性 — {name}", "indices": "参数敏感性 — {name}"},
    "en": {"fan": "Pingliang resident urbanization rate: uncertainty — {name}",
           "indices": "Parameter sensitivity — {name}"},
}


def _parquet_bytes(result: SweepResult) -> bytes:
    import pandas as pd

    data: dict[str, Any] = {"run": np.arange(result.runs, dtype=np.int64)}
    for j, name in enumerate(result.names):
        data[name] = result.values[:, j]
    for j, name in enumerate(result.columns):
        data[name] = result.outputs[:, j]
    buf = io.BytesIO()
    pd.DataFrame(data).to_parquet(buf, index=False, engine="pyarrow")
    return buf.getvalue()


def _indices_table(rows: list[dict[str, Any]]) -> dict[str, list]:
    keys = list(dict.fromkeys(k for r in rows for k in r))
    return {k: [r.get(k, math.nan) for r in rows] for k in keys}


def source_line(result: SweepResult, lang: str = "zh") -> str:
    """The provenance line under the sweep charts, in `lang` (no date, so reruns are bit-identical)."""
    from simulator.analysis.results import SOURCE_WORDS

    w = SOURCE_WORDS["en" if lang == "en" else "zh"]
    p = result.provenance
    return (f"{w['scenario']}{p['scenario']['name']} · {w['model']}{p['model']['name']} "
            f"sha256 {p['model']['sha256'][:12]} · {w['scenario_sha']} {p['scenario_sha256'][:12]} · "
            f"{result.method} N={result.samples} ({w['runs'].format(runs=result.runs)}) seed={result.seed} · "
            f"urbsd {__version__}")


def write_sweep(result: SweepResult, out_dir: str | Path, *, lang: str = "zh") -> dict[str, Path]:
    """Write samples.parquet, indices.csv, summary.json and two charts (PNG + SVG) into `out_dir`.

    `lang` ("zh" or "en") is the language of the charts' titles and labels. The files are
    written together (simulator.outputs.writers.write_folder), so readers never see a half-written
    folder. Returns the paths by kind: samples, indices,
    fan_chart, fan_chart_svg, indices_chart, indices_chart_svg, summary.
    """
    from simulator.outputs.charts.sweep import fan_chart, indices_chart
    from simulator.outputs.labels import check_lang
    from simulator.outputs.writers import csv_text, json_text, write_folder

    check_lang(lang)
    rels = {"samples": Path(SAMPLES_FILE), "indices": Path(INDICES_FILE),
            "fan_chart": FAN_CHART, "fan_chart_svg": FAN_CHART.with_suffix(".svg"),
            "indices_chart": INDICES_CHART, "indices_chart_svg": INDICES_CHART.with_suffix(".svg"),
            "summary": Path(SUMMARY_FILE)}
    scenario = result.provenance.get("scenario", {})
    name = (scenario.get("label", {}) or {}).get(lang) or scenario.get("name", "")
    line = source_line(result, lang)
    written = write_folder(out_dir, {
        SAMPLES_FILE: _parquet_bytes(result),
        INDICES_FILE: csv_text(_indices_table(result.indices)).encode("utf-8"),
        FAN_CHART: lambda path: fan_chart(
            result.years, result.percentiles("urbanization_rate"), result.targets, path,
            title=_TITLES[lang]["fan"].format(name=name), source_line=line, lang=lang),
        INDICES_CHART: lambda path: indices_chart(
            result.indices, result.method, path, title=_TITLES[lang]["indices"].format(name=name),
            source_line=line, labels=result.provenance.get("labels"), lang=lang),
        SUMMARY_FILE: json_text(summary(result)).encode("utf-8"),
    })
    return {kind: written[rel] for kind, rel in rels.items()}
