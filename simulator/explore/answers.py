"""What the page shows, as plain JSON-ready data: one run, the Monte Carlo band, the history points.

Only the documented outputs are read by name: `urbanization_rate`, `hukou_urbanization_rate`,
`county_urbanization_rate[county]` (when the model has it) and the scenario's target
indicators; the time axis is the run's own `times`. So the page keeps working when the
model gains years, levers or dimensions.

- `run_answer(scenario, model)`: the paths, the county paths, and every target with its
  value, gap (percentage points) and first year reached, as `urbsd run`'s summary.json
  computes them (`simulator.analysis.results`). Floats are the run's exact values.
- `band_answer(scenario, runs, seed)`: the scenario's `uncertain:` constants sampled as
  `urbsd sweep --method mc` samples them (same seed, same draws), run in one vectorized
  batch; percentiles per year and the probability of each target.
- `history_points(spec)`: the published rates of data/observed.csv for the city and the
  counties (a rate given directly, or computed from the urban and total counts of the same
  year when no rate is given).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterable
from typing import Any

import numpy as np

from simulator.analysis.results import evaluate_targets, first_year_reached, timeseries_columns

#: the two city-wide paths on the main chart (names fixed by DESIGN.md)
PATHS = ("urbanization_rate", "hukou_urbanization_rate")
#: the per-county path of the county panel (subscripted by one dimension)
COUNTY_PATH = "county_urbanization_rate"
#: percentiles of the band (5-95 and 25-75, median), as `urbsd sweep` reports them
PERCENTILES = (5, 25, 50, 75, 95)
#: rate indicators of data/observed.csv -> (urban count, total count) they can be computed from
RATE_FROM_COUNTS = {
    "urbanization_rate": ("urban_population", "resident_population"),
    "hukou_urbanization_rate": ("urban_hukou_population", "hukou_population"),
}


def _finite(values: Iterable[float]) -> list[float | None]:
    """Floats for JSON: NaN and infinities become null."""
    return [float(v) if math.isfinite(v) else None for v in np.asarray(list(values), dtype=float)]


def needed_outputs(scenario: Any) -> list[str]:
    """The variables a run records for the page: the paths, the county path, the target indicators."""
    spec = scenario.spec
    names = [n for n in PATHS if spec.kind(n)]
    if spec.kind(COUNTY_PATH):
        names.append(COUNTY_PATH)
    names += [t.indicator.partition("[")[0] for t in scenario.targets]
    return list(dict.fromkeys(names))


def county_dimension(spec: Any) -> str | None:
    """The dimension of the county path, if the model has a one-dimensional one."""
    if not spec.kind(COUNTY_PATH):
        return None
    dims = list(getattr(spec.element(COUNTY_PATH), "dims", None) or [])
    return dims[0] if len(dims) == 1 else None


def target_rows(table: dict[str, Any], targets: Iterable[Any]) -> list[dict[str, Any]]:
    """Each target: {indicator, year, target, value, reached, gap_pp, first_year} (exact floats)."""
    rows = evaluate_targets(table, targets)
    years = table["time"]
    for row in rows:
        row["gap_pp"] = (row["value"] - row["target"]) * 100.0
        row["first_year"] = first_year_reached(years, table[row["indicator"]], row["target"])
        for key in ("value", "gap_pp"):
            row[key] = row[key] if math.isfinite(row[key]) else None
    return rows


def run_answer(scenario: Any, model: Any) -> dict[str, Any]:
    """One run of `scenario` as the page draws it (see the module docstring)."""
    from simulator.engine.integrate import simulate

    run = simulate(model, scenario.params, outputs=needed_outputs(scenario))
    table = timeseries_columns(run)
    out: dict[str, Any] = {
        "times": [float(t) for t in run.times],
        "paths": {name: _finite(table[name]) for name in PATHS if name in table},
        "targets": target_rows(table, scenario.targets),
    }
    dim = county_dimension(scenario.spec)
    if dim is not None:
        elements = list(run.elements.get(dim, scenario.spec.elements(dim)))
        out["counties"] = {e: _finite(table[f"{COUNTY_PATH}[{e}]"]) for e in elements}
    return out


def band_answer(scenario: Any, runs: int, seed: int) -> dict[str, Any]:
    """The Monte Carlo band of the scenario's `uncertain:` constants (one vectorized batch of `runs`)."""
    from simulator.analysis.montecarlo import monte_carlo
    from simulator.analysis.sensitivity import target_probabilities

    mc = monte_carlo(scenario, runs, seed)
    if mc is None:
        return {"available": False, "runs": 0, "seed": seed, "names": []}
    bands: dict[str, dict[str, list[float | None]]] = {}
    for var in PATHS:
        paths = mc.series(var)
        if paths is None:
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            qs = np.nanpercentile(paths, PERCENTILES, axis=0)
        bands[var] = {f"p{p}": _finite(q) for p, q in zip(PERCENTILES, qs)}
    probabilities = target_probabilities(mc.outputs, mc.columns, scenario.targets)
    for p in probabilities:
        p["median"] = p["median"] if math.isfinite(p["median"]) else None
    return {"available": True, "runs": int(runs), "seed": int(seed), "names": mc.names,
            "years": mc.years, "bands": bands, "targets": probabilities}


# --------------------------------------------------------------------------- history


def _float(text: str) -> float | None:
    try:
        x = float(text)
    except (TypeError, ValueError):
        return None
    return x if math.isfinite(x) else None


def history_points(spec: Any, rows: list[dict[str, str]] | None = None) -> dict[str, Any]:
    """Published rates for the main chart and the county panel, from data/observed.csv.

    Returns `{"city": {indicator: [{year, value, source, note}]}, "counties": {element:
    [...]}}`: the city is the area named like the model (`pingliang`), the counties the
    areas named like the county elements. A missing file gives no points.
    """
    if rows is None:
        from simulator.analysis.history import OBSERVED_CSV, read_observed

        try:
            rows = read_observed(OBSERVED_CSV)
        except OSError:
            rows = []
    dim = county_dimension(spec)
    counties = list(spec.elements(dim)) if dim else []
    by_key: dict[tuple[str, str, int], dict[str, str]] = {}
    for r in rows:
        year = _float(r.get("year", ""))
        if year is None or _float(r.get("value", "")) is None:
            continue
        by_key.setdefault((r.get("area", ""), r.get("indicator", ""), int(year)), r)

    def points(area: str, indicator: str) -> list[dict[str, Any]]:
        found: dict[int, dict[str, Any]] = {}
        urban_name, total_name = RATE_FROM_COUNTS[indicator]
        for (a, ind, year), r in by_key.items():
            if a != area:
                continue
            if ind == indicator:
                found[year] = {"year": year, "value": float(r["value"]), "source": r.get("source", ""),
                               "note": r.get("note", "")}
            elif ind == urban_name and year not in found:
                total = by_key.get((area, total_name, year))
                if total is not None and float(total["value"]) > 0:
                    sources = dict.fromkeys([r.get("source", ""), total.get("source", "")])
                    found[year] = {"year": year, "value": float(r["value"]) / float(total["value"]),
                                   "source": "; ".join(s for s in sources if s),
                                   "note": f"{urban_name} / {total_name}" + (f"; {r['note']}" if r.get("note") else "")}
        return [found[y] for y in sorted(found)]

    return {"city": {ind: points(spec.name, ind) for ind in PATHS},
            "counties": {e: points(e, "urbanization_rate") for e in counties}}
