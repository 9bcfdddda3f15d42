"""What is published about Pingliang's urbanization, for the charts: the city's resident
urbanization rate by year (with the kind of each figure), and which counties have no
published 2020 rate (their initial values are estimates).

Read from the bundled data files (data/history.csv and data/observed.csv, see
data/README.md) with the csv module only: this is on the `urbsd run` path. A missing or
damaged file gives no points rather than a failed run (the chart then shows none).
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from simulator.bundled import data_dir

#: kinds of a published point, in the order the chart's legend lists them
KINDS = ("census", "bulletin", "rebased", "derived")
#: the row kinds of data/history.csv that stand for each kind above
_HISTORY_KINDS = {"census": "census", "rebased": "rebased", "derived": "derived"}


def _rows(path: Path) -> list[dict[str, str]]:
    try:
        with open(path, newline="", encoding="utf-8") as fh:
            return list(csv.DictReader(fh))
    except (OSError, UnicodeDecodeError, csv.Error):
        return []


def _observed_kind(row: dict[str, str]) -> str | None:
    """census / bulletin for a published observed.csv row; None for other figures
    (annual estimates, which history.csv rebases)."""
    text = f"{row.get('source', '')} {row.get('note', '')}".lower()
    if "bulletin" in text or "公报" in text:
        return "bulletin"
    if "census" in text:
        return "census"
    return None


def published_rates(area: str = "pingliang", indicator: str = "urbanization_rate",
                    folder: Path | None = None) -> list[dict[str, Any]]:
    """The published points of `indicator` for `area`: [{year, value, kind, source}] by year.

    data/history.csv gives the census-consistent points (census counts, annual estimates
    rebased onto the census, derived values); data/observed.csv adds the census and
    statistical-bulletin figures of years history.csv does not hold (e.g. 2021-2022).
    """
    folder = data_dir() if folder is None else Path(folder)
    points: dict[int, dict[str, Any]] = {}
    for row in _rows(folder / "history.csv"):
        if row.get("area") != area or row.get("indicator") != indicator:
            continue
        kind = _HISTORY_KINDS.get(row.get("kind", ""))
        try:
            year, value = int(row["year"]), float(row["value"])
        except (KeyError, TypeError, ValueError):
            continue
        if kind is not None and 0.0 <= value <= 1.0:
            points[year] = {"year": year, "value": value, "kind": kind, "source": row.get("source", "")}
    for row in _rows(folder / "observed.csv"):
        if row.get("area") != area or row.get("indicator") != indicator:
            continue
        kind = _observed_kind(row)
        try:
            year, value = int(row["year"]), float(row["value"])
        except (KeyError, TypeError, ValueError):
            continue
        if kind is not None and year not in points and 0.0 <= value <= 1.0:
            points[year] = {"year": year, "value": value, "kind": kind, "source": row.get("source", "")}
    return [points[y] for y in sorted(points)]


def estimated_counties(elements: Iterable[str], year: int = 2020, indicator: str = "urbanization_rate",
                       folder: Path | None = None) -> list[str]:
    """The `elements` (counties) without a published `indicator` in `year` in data/observed.csv:
    their values in the model's base year are estimates. A bound (e.g. "above 60%") is not a figure."""
    folder = data_dir() if folder is None else Path(folder)
    rows = _rows(folder / "observed.csv")
    if not rows:  # no data to tell: mark none rather than all
        return []
    published = {row.get("area") for row in rows
                 if row.get("indicator") == indicator and row.get("year") == str(year)}
    return [e for e in elements if e not in published]
