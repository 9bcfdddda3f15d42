"""Demographic comparator: the UN urban-rural growth-difference (URGD) projection.

United Nations, Manual VIII (Methods for Projections of Urban and Rural Population, 1974)
and the World Urbanization Prospects methodology: the logit of the urban share,
logit(p) = ln(p / (1 - p)), changes linearly in time; its slope is the difference between
the urban and the rural growth rates (URGD, per year), since
d/dt ln(U/R) = r_urban - r_rural. Fitted on the same history as the calibration
(data/history.csv, census-consistent and rebased points) and drawn beside the SD baseline.

Numpy only (a least-squares line in logit space): this module is on the `urbsd run` path.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from simulator.bundled import data_dir

#: derived history shipped with the repository (rates with their sources); see data/README.md
HISTORY_CSV = data_dir() / "history.csv"
#: the history rows the comparator is fitted on: the city's resident urbanization rate
HISTORY_AREA = "pingliang"
HISTORY_INDICATOR = "urbanization_rate"
#: the last history year used: the 2010-2020 points (censuses and rebased estimates), as
#: fitted when the comparator was written; data/history.csv also holds the 2021-2022
#: bulletin rates (with them the 2035 projection falls from 67.4% to 64.6%)
HISTORY_UNTIL = 2020
#: years reported in `summary.json` (the plan's milestones after the base year)
REPORT_YEARS = (2025, 2030, 2035)
METHOD = (
    "UN urban-rural growth difference (Manual VIII; World Urbanization Prospects): "
    "logit of the urban share linear in time, least squares on the history points"
)


def logit(p: Any) -> np.ndarray:
    """ln(p / (1 - p)) of shares strictly between 0 and 1."""
    p = np.asarray(p, dtype=float)
    if np.any((p <= 0) | (p >= 1)) or np.any(~np.isfinite(p)):
        raise ValueError("urban shares must lie strictly between 0 and 1")
    return np.log(p / (1.0 - p))


def expit(x: Any) -> np.ndarray:
    """Inverse of `logit`: 1 / (1 + exp(-x)), without overflow, kept strictly inside (0, 1).

    Far from the history, 1 - p can fall below float resolution; the share is then held at
    the largest float below 1 (or the smallest above 0), so a projection is never 0 or 1.
    """
    x = np.asarray(x, dtype=float)
    p = np.exp(-np.logaddexp(0.0, -x))
    return np.clip(p, np.finfo(float).tiny, 1.0 - np.finfo(float).epsneg)


@dataclass(frozen=True)
class URGDFit:
    """A fitted logit-linear trend: logit(p(t)) = intercept + urgd * (t - t0)."""

    urgd: float  # urban-rural growth difference, per year (slope of the logit)
    intercept: float  # logit of the share in year t0
    t0: float
    n: int

    def project(self, years: Any) -> np.ndarray:
        """Urban shares in `years` (always strictly inside (0, 1) for finite years)."""
        t = np.asarray(years, dtype=float)
        return expit(self.intercept + self.urgd * (t - self.t0))


def fit_urgd(years_hist: Any, rates_hist: Any, weights: Any = None) -> URGDFit:
    """Fit the URGD line to history (>= 2 distinct years); `weights` like numpy.polyfit's w."""
    t = np.asarray(years_hist, dtype=float).ravel()
    p = np.asarray(rates_hist, dtype=float).ravel()
    if t.shape != p.shape:
        raise ValueError(f"{t.size} years but {p.size} rates")
    if np.unique(t).size < 2:
        raise ValueError("need history in at least two different years")
    w = None if weights is None else np.asarray(weights, dtype=float).ravel()
    t0 = float(t.max())  # centre on the latest year: the intercept is the last fitted share
    slope, intercept = np.polyfit(t - t0, logit(p), 1, w=w)
    return URGDFit(urgd=float(slope), intercept=float(intercept), t0=t0, n=int(t.size))


def fitted_urgd(years_hist: Any, rates_hist: Any, weights: Any = None) -> float:
    """The fitted urban-rural growth difference (per year) of the history."""
    return fit_urgd(years_hist, rates_hist, weights).urgd


def un_projection(years_hist: Any, rates_hist: Any, years_out: Any, weights: Any = None) -> np.ndarray:
    """Urban shares in `years_out` projected by the URGD method from the history."""
    return fit_urgd(years_hist, rates_hist, weights).project(years_out)


@dataclass(frozen=True)
class HistoryPoint:
    """One row of data/history.csv used by the comparator."""

    year: int
    value: float
    sigma: float
    kind: str
    source: str


def read_history(path: str | Path = HISTORY_CSV, area: str = HISTORY_AREA,
                 indicator: str = HISTORY_INDICATOR, until: int | None = HISTORY_UNTIL) -> list[HistoryPoint]:
    """The history points of one indicator up to `until` (plain csv module: no pandas on the run path)."""
    with open(path, newline="", encoding="utf-8") as fh:
        rows = [r for r in csv.DictReader(fh) if r["area"] == area and r["indicator"] == indicator
                and (until is None or int(r["year"]) <= until)]
    return sorted(
        (HistoryPoint(int(r["year"]), float(r["value"]), float(r["sigma"]), r["kind"], r["source"])
         for r in rows),
        key=lambda h: h.year,
    )


def comparator_summary(years_out: Any = None, path: str | Path = HISTORY_CSV) -> dict[str, Any]:
    """The `comparator` entry of summary.json: method, URGD, projections and points used.

    Points are weighted by 1/sigma in logit space (the delta method: sigma / (p (1 - p))),
    so census counts weigh more than rebased annual estimates. `years_out` adds a
    `series` (year -> share) for the chart. If the history file is missing (an install
    without the repository's data/ folder) the entry says so instead.
    """
    path = Path(path)
    if not path.is_file():
        return {"method": METHOD, "available": False, "reason": f"no history file {path}"}
    try:
        points = read_history(path)
        years = np.array([h.year for h in points], dtype=float)
        rates = np.array([h.value for h in points])
        sig = np.array([h.sigma for h in points])
        if np.any(sig <= 0):
            raise ValueError("every sigma must be positive")
        weights = rates * (1 - rates) / sig  # 1 / (sigma of the logit)
        fit = fit_urgd(years, rates, weights)
    except (KeyError, ValueError, TypeError) as exc:  # a damaged history file: say so, do not fail the run
        return {"method": METHOD, "available": False, "reason": f"{path}: {exc}"}
    out: dict[str, Any] = {
        "method": METHOD,
        "available": True,
        "urgd_per_year": fit.urgd,
        "projected": {str(y): float(fit.project(y)) for y in REPORT_YEARS},
        "fitted_at": {str(h.year): float(fit.project(h.year)) for h in points},
        "points": [
            {"year": h.year, "value": h.value, "sigma": h.sigma, "kind": h.kind, "source": h.source}
            for h in points
        ],
        "history_file": str(path),
    }
    if years_out is not None:
        ys = [int(y) for y in np.asarray(years_out).ravel()]
        out["series"] = {str(y): float(v) for y, v in zip(ys, fit.project(ys))}
    return out


def comparator_line(summary: dict[str, Any]) -> tuple[list[int], list[float]] | None:
    """(years, shares) of a `comparator_summary` with a series, for the chart; else None."""
    if not summary.get("available") or "series" not in summary:
        return None
    series = summary["series"]
    return [int(y) for y in series], [float(v) for v in series.values()]
