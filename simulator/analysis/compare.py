"""Scenario comparison: run several scenarios and tabulate them side by side.

`compare_scenarios(scenarios)` runs each validated scenario (its `set:` levers; the
`uncertain:` ranges are ignored, as in `urbsd run`) and returns a `Comparison`: the
yearly urbanization rate of every scenario (for the chart) and one table row per
scenario (for the CSV and the screen).

The table's columns, in order:

- `scenario`, `label_zh`, `label_en`;
- for every indicator of `TABLE_INDICATORS` that the model has, its value in 2025, 2030
  and 2035 (`MILESTONE_YEARS`), named `<key>_<year>` (e.g. `urbanization_rate_2035`);
- for every target of the scenarios (their union, by indicator and value), the first
  year the indicator is at or above the target: the first *saved whole year* whose
  value is >= the target, with no interpolation inside a year (a run that reaches 55%
  during 2025 but is at 54.9% at the 2025 save point counts as 2026); `not by 2035`
  (the last run year) if it never is. Column `first_year_<indicator>>=<value>`;
- each county's rate in the last run year, `county_urbanization_rate[<county>]_<year>`;
- against the reference scenario (`baseline` if compared, else the first), the change of the
  resident and hukou rates in the last run year in percentage points
  (`effect_urbanization_rate_<year>_pp`, `effect_hukou_urbanization_rate_<year>_pp`) and
  `inert`: `yes` when neither moves by INERT_PP (0.1 pp, issue 13's threshold), so a lever that
  does not bind shows as such instead of as a silent zero (empty for the reference itself).

`TABLE_INDICATORS` maps a table key to the model variable names that can supply it
(the first one the model has is used): outputs the model does not have (a land or
service sector not yet in the model) are skipped and named in `Comparison.notes`.
A city-level (scalar) variable is used as it is. If the model has only a per-county
one (e.g. `service_adequacy[county]`), the city value is its mean weighted by each
county's urban population (`county_urban_population`): for a ratio per urban resident
(land per person) or of capacity to a need proportional to urban residents (service,
job adequacy) that is the city's own ratio when the need per person is the same everywhere.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from simulator.analysis.results import first_year_reached

__all__ = [
    "MILESTONE_YEARS",
    "TABLE_INDICATORS",
    "Comparison",
    "compare_scenarios",
    "format_table",
]

#: the years of the table (the plan's 2025 milestone, mid-term, and 2035 horizon)
MILESTONE_YEARS = (2025, 2030, 2035)

#: table key -> (Chinese label, English label, unit text, model variables that supply it,
#: in order of preference). The first name the model has as a city-level variable is used.
TABLE_INDICATORS: dict[str, tuple[str, str, str, tuple[str, ...]]] = {
    "urbanization_rate": ("常住人口城镇化率", "Resident urbanization rate", "share",
                          ("urbanization_rate",)),
    "hukou_urbanization_rate": ("户籍人口城镇化率", "Hukou urbanization rate", "share",
                                ("hukou_urbanization_rate",)),
    "land_per_person": ("人均城镇建设用地", "Urban construction land per urban resident",
                        "m2/person",
                        ("city_land_per_urban_resident", "urban_land_per_person",
                         "land_per_urban_resident",
                         "urban_construction_land_per_person", "land_per_person",
                         "city_land_per_person")),
    "service_adequacy": ("公共服务保障度", "Service adequacy", "ratio",
                         ("service_adequacy", "city_service_adequacy",
                          "public_service_adequacy", "service_capacity_adequacy")),
    "job_adequacy": ("就业岗位保障度", "Job adequacy", "ratio",
                     ("job_adequacy", "city_job_adequacy", "jobs_adequacy")),
}

#: the per-county rate shown for the last run year
COUNTY_RATE = "county_urbanization_rate"
#: the weights of a per-county indicator's city value (see the module docstring)
COUNTY_WEIGHT = "county_urban_population"
NOT_REACHED = "not by {year}"
#: the reference scenario of the effect columns, when it is among those compared
REFERENCE = "baseline"
#: the rates whose change in the last year says whether a scenario's levers act
EFFECT_RATES = ("urbanization_rate", "hukou_urbanization_rate")
#: below this change of both rates (as a share: 0.1 percentage point) a scenario is inert
INERT_PP = 0.001


@dataclass
class Comparison:
    """What `compare_scenarios` returns: rows, the rate series for the chart, notes."""

    columns: list[str]
    rows: list[dict[str, Any]]
    years: list[int]  # the saved years of the first scenario
    rates: dict[str, tuple[list[int], list[float]]]  # name -> (years, urbanization_rate)
    labels: dict[str, dict[str, str]]  # scenario name -> {zh, en}
    targets: list[tuple[str, float, int]]  # (indicator, value, target year), chart marks
    indicators: dict[str, str]  # table key -> model variable used
    notes: list[str] = field(default_factory=list)
    frames: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)

    def table(self) -> dict[str, list[Any]]:
        """The table as ordered columns (for `writers.atomic_write_csv` or pandas)."""
        return {c: [row.get(c) for row in self.rows] for c in self.columns}


def _dims(spec: Any, name: str) -> list[str] | None:
    for group in (spec.auxiliaries, spec.stocks):
        var = (group or {}).get(name)
        if var is not None:
            return list(getattr(var, "dims", None) or [])
    return None


def _pick(spec: Any, candidates: tuple[str, ...]) -> str | None:
    """The first city-level candidate; else the first per-county one (if weights exist)."""
    for name in candidates:
        if _dims(spec, name) == []:
            return name
    if _dims(spec, COUNTY_WEIGHT) == ["county"]:
        for name in candidates:
            if _dims(spec, name) == ["county"]:
                return name
    return None


def _series(frame: dict[str, np.ndarray], var: str) -> np.ndarray:
    """A city-level series of `var`: as it is, or the urban-population-weighted county mean."""
    if var in frame:
        return np.asarray(frame[var], dtype=float)
    cols = [c for c in frame if c.startswith(f"{var}[")]
    weights = np.array([frame[f"{COUNTY_WEIGHT}[{c[len(var) + 1:-1]}]"] for c in cols], dtype=float)
    values = np.array([frame[c] for c in cols], dtype=float)
    return (values * weights).sum(axis=0) / weights.sum(axis=0)


def _target_column(indicator: str, value: float) -> str:
    return f"first_year_{indicator}>={value:g}"


def compare_scenarios(
    scenarios: list[Any], *, dt: float | None = None, method: str | None = None
) -> Comparison:
    """Run each scenario and build the comparison table (see the module docstring)."""
    from simulator.analysis.results import timeseries_columns
    from simulator.engine.compile import compiled
    from simulator.engine.integrate import simulate

    if not scenarios:
        raise ValueError("compare_scenarios needs at least one scenario")
    spec0 = scenarios[0].spec
    frames: dict[str, dict[str, np.ndarray]] = {}
    for sc in scenarios:
        run = simulate(compiled(sc.spec), sc.params, dt=dt, method=method)
        frames[sc.name] = timeseries_columns(run)

    notes: list[str] = []
    indicators: dict[str, str] = {}
    for key, (_zh, en, _unit, candidates) in TABLE_INDICATORS.items():
        found = [_pick(sc.spec, candidates) for sc in scenarios]
        if all(f is not None for f in found) and len(set(found)) == 1:
            indicators[key] = found[0]
            if _dims(spec0, found[0]):
                notes.append(f"{key}: {found[0]} per county, city value weighted by "
                             f"{COUNTY_WEIGHT}")
        else:
            notes.append(f"{key} ({en}): skipped, the model has no output named "
                         f"{' or '.join(candidates)}")

    # the union of the scenarios' targets, in first-seen order
    targets: list[tuple[str, float, int]] = []
    seen_t: set[tuple[str, float]] = set()
    for sc in scenarios:
        for t in sc.targets:
            if (t.indicator, t.value) not in seen_t:
                seen_t.add((t.indicator, t.value))
                targets.append((t.indicator, float(t.value), int(t.year)))

    first = frames[scenarios[0].name]
    years = [int(y) for y in first["time"]]
    last = years[-1]
    counties = list(spec0.dimensions["county"].elements) if "county" in spec0.dimensions else []
    county_cols = [f"{COUNTY_RATE}[{c}]" for c in counties if f"{COUNTY_RATE}[{c}]" in first]

    columns = ["scenario", "label_zh", "label_en"]
    for key in indicators:
        columns += [f"{key}_{y}" for y in MILESTONE_YEARS if y in years]
    columns += [_target_column(ind, v) for ind, v, _ in targets]
    columns += [f"{c}_{last}" for c in county_cols]
    reference = next((sc.name for sc in scenarios if sc.name == REFERENCE), scenarios[0].name)
    effect_rates = [r for r in EFFECT_RATES if r in first]
    if len(scenarios) > 1 and effect_rates:
        columns += [f"effect_{r}_{last}_pp" for r in effect_rates] + ["inert"]
        notes.append(f"effect: change from {reference} in {last}, percentage points; inert = "
                     f"neither rate moves by {100 * INERT_PP:.1f} pp")

    rows: list[dict[str, Any]] = []
    rates: dict[str, list[float]] = {}
    for sc in scenarios:
        frame = frames[sc.name]
        f_years = [int(y) for y in frame["time"]]
        row: dict[str, Any] = {
            "scenario": sc.name,
            "label_zh": sc.label.get("zh", sc.name),
            "label_en": sc.label.get("en", sc.name),
        }
        for key, var in indicators.items():
            series = _series(frame, var)
            for y in MILESTONE_YEARS:
                if y in years:
                    row[f"{key}_{y}"] = float(series[f_years.index(y)]) if y in f_years else None
        for ind, value, _ in targets:
            col = _target_column(ind, value)
            if ind not in frame:
                row[col] = None
                continue
            hit = first_year_reached(frame["time"], frame[ind], value)
            row[col] = hit if hit is not None else NOT_REACHED.format(year=f_years[-1])
        for c in county_cols:
            ok = c in frame and last in f_years
            row[f"{c}_{last}"] = float(frame[c][f_years.index(last)]) if ok else None
        if "inert" in columns:
            ref, f_ref = frames[reference], [int(y) for y in frames[reference]["time"]]
            moved = []
            for r in effect_rates:
                d = None
                if sc.name != reference and last in f_years and last in f_ref:
                    d = 100 * float(frame[r][f_years.index(last)] - ref[r][f_ref.index(last)])
                    moved.append(abs(d) >= 100 * INERT_PP)
                row[f"effect_{r}_{last}_pp"] = d
            row["inert"] = ("no" if any(moved) else "yes") if moved else None
        rows.append(row)
        rates[sc.name] = (f_years, [float(v) for v in frame["urbanization_rate"]])
    return Comparison(
        columns=columns, rows=rows, years=years, rates=rates,
        labels={sc.name: dict(sc.label) for sc in scenarios}, targets=targets,
        indicators=indicators, notes=notes, frames=frames,
    )


def _cell(column: str, value: Any) -> str:
    """A table cell for the screen: rates in %, land in m2, adequacy ratios to 2 places."""
    if value is None:
        return "-"
    if isinstance(value, float):
        if column.startswith("effect_"):
            return f"{value:+.2f}"
        if "rate" in column:
            return f"{100 * value:.1f}%"
        if column.startswith("land_per_person"):
            return f"{value:.1f}"
        return f"{value:.2f}"
    return str(value)


def _short(column: str) -> str:
    s = column.replace("first_year_", "")
    s = s.replace("county_urbanization_rate[", "").replace("]_", " ")
    s = s.replace("hukou_urbanization_rate", "hukou").replace("urbanization_rate", "resident")
    s = s.replace("land_per_person", "land m2/p").replace("service_adequacy", "service")
    s = s.replace("job_adequacy", "jobs").replace("effect_", "").replace("_pp", " pp")
    return s.replace("_", " ")


def format_table(comp: Comparison) -> str:
    """The comparison as aligned text blocks for the screen, one row per scenario.

    Blocks: the rates in the milestone years; the other indicators (land, services,
    jobs) in those years; the first year each target is reached; each county's rate in
    the last year. Rates in %.
    """
    rate_keys = [k for k in comp.indicators if "rate" in k]
    other_keys = [k for k in comp.indicators if "rate" not in k]
    groups = [
        [c for c in comp.columns if any(c.startswith(k + "_") for k in rate_keys)],
        [c for c in comp.columns if any(c.startswith(k + "_") for k in other_keys)],
        [c for c in comp.columns if c.startswith("first_year_")],
        [c for c in comp.columns if c.startswith(COUNTY_RATE)],
        [c for c in comp.columns if c.startswith("effect_") or c == "inert"],
    ]
    titles = ["urbanization rates (%)",
              "land (m2 per urban resident), service and job adequacy (1 = enough)",
              "first whole year at or above the target",
              "county resident urbanization rate",
              "effect on the last year's rates (pp) and inert levers"]
    blocks = []
    for title, group in zip(titles, groups):
        if not group:
            continue
        cells = [["scenario"] + [_short(c) for c in group]]
        for row in comp.rows:
            cells.append([str(row["scenario"])] + [_cell(c, row.get(c)) for c in group])
        widths = [max(len(r[i]) for r in cells) for i in range(len(cells[0]))]
        lines = [title]
        for r in cells:
            lines.append("  " + "  ".join(
                v.ljust(w) if i == 0 else v.rjust(w) for i, (v, w) in enumerate(zip(r, widths))
            ).rstrip())
        blocks.append("\n".join(lines))
    blocks += [f"note: {n}" for n in comp.notes]
    return "\n".join(blocks)
