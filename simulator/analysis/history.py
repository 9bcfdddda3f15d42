"""The calibration data: data/observed.csv turned into data/history.csv (`urbsd calibrate`, step 1).

`derive_history` keeps census counts at face value; pre-2020 annual estimates are rebased
on the census by a bias ratio interpolated between 2010 (census, ratio 1) and 2019 (the
annual estimate ~280,000 above the census, data/README.md); county 2018 estimates are
used as shares only. The city's 2021 and 2022 statistical bulletins are year-end
estimates on the 2020 census basis: taken at face value (not rebased). Age structure,
fertility and life-expectancy rows are carried through as they are (context for priors
and initial conditions when the area is not the city). Every row keeps a `sigma` (its
standard error as judged here) and a `source` (docs/calibration.md has the reasoning).

Which rows a calibration compares with the model, and how, is the calibration
specification's business (`simulator.analysis.calspec`); the `use` column only says what
a row is suited for: `initial` (an initial condition of a 2010 run), `fit`, `initial+fit`,
`alt` (the same information as another row, e.g. births beside the crude birth rate: fit
one of the two) or `context` (not Pingliang's own figure: a prior or a proxy).
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

from simulator.analysis.comparator import HISTORY_CSV

OBSERVED_CSV = HISTORY_CSV.parent / "observed.csv"
PLANS_CSV = HISTORY_CSV.parent / "plans_and_standards.csv"
#: square metres per square kilometre
M2_PER_KM2 = 1e6

# --------------------------------------------------------------------------- bias treatment

#: years of the two censuses bracketing the history (6th and 7th national census)
CENSUS_YEARS = (2010, 2020)
#: data/README.md ("Caution"): the 2019 annual estimate was about 280,000 above the census
ESTIMATE_EXCESS_2019 = 280_000
ESTIMATE_EXCESS_YEAR = 2019

# Standard errors given to each kind of point (judgement, stated in docs/calibration.md):
#: census counts: 1% (census under-count and the rounding of published figures)
SIGMA_CENSUS_COUNT = 0.01
#: rebased annual-estimate counts: 3% (shape of the bias between the censuses is unknown)
SIGMA_REBASED_COUNT = 0.03
#: county shares of the 2018 estimates: 1 percentage point (county biases differ)
SIGMA_COUNTY_SHARE = 0.01
#: registry hukou counts of 2020 compared with a run from assumed 2010 hukou stocks: 5%
SIGMA_HUKOU_COUNT = 0.05
#: the derived 2010 urban share (Kongtong's share of urban residents held at 2020): 3 pp
SIGMA_DERIVED_RATE_2010 = 0.03
#: census rates: 0.5 percentage point
SIGMA_CENSUS_RATE = 0.005
#: a published one-sided bound ("above 60%"): 0.1 percentage point of slack, so a fit
#: that sits on the wrong side of it pays as for a 5-sigma miss of a census rate
SIGMA_PUBLISHED_BOUND = 0.001
#: year-end resident population of the statistical bulletins (2020 census basis): 0.5%
#: (the 2021 bulletin's implied end-2020 figure is 0.2% below the census count)
SIGMA_BULLETIN_COUNT = 0.005
#: urbanization rate of the bulletins: 0.3 percentage point (published to 0.01 pp; the
#: sampling error of the annual population sample survey at city level is not published)
SIGMA_BULLETIN_RATE = 0.003
#: births and deaths of the bulletins: 3% (published to 0.01万; registration completeness)
SIGMA_VITAL_COUNT = 0.03
#: crude birth and death rates of the bulletins: 0.5 per mille (about 5%; judgement)
SIGMA_VITAL_RATE = 0.0005
#: age shares and other census proportions: 0.5 percentage point
SIGMA_CENSUS_SHARE = 0.005
#: total fertility rate of the census: 0.05 births per woman (under-registration of births)
SIGMA_TFR = 0.05
#: life expectancy at birth: 0.5 year
SIGMA_LIFE_EXPECTANCY = 0.5

#: registered (hukou) population of the registry: 2% (registry counts lag moves; judgement)
SIGMA_REGISTRY_COUNT = 0.02
#: the central city's built-up area as urban construction land: 10% (built-up area and
#: construction land are measured differently; judgement)
SIGMA_BUILT_UP_AREA = 0.10
#: the previous plan's settlement target as a yearly mean: 30% (a target, not a count)
SIGMA_SETTLEMENT_TARGET = 0.30
#: counties whose 2020 urbanization rate the seed plan gives (section 1(2).1)
COUNTY_RATES_2020 = ("zhuanglang", "jingning")
#: the period the previous plan's settlement target covers (2015 plan: 2016-2020)
SETTLEMENT_TARGET_YEARS = (2016, 2020)
#: the years of the city's statistical bulletins used (year-end, 2020 census basis)
BULLETIN_YEARS = (2021, 2022)
#: bulletin indicators: (indicator, relative sigma or None, absolute sigma or None, use)
BULLETIN_INDICATORS = (
    ("resident_population", SIGMA_BULLETIN_COUNT, None, "fit"),
    ("urbanization_rate", None, SIGMA_BULLETIN_RATE, "fit"),
    ("urban_population", SIGMA_BULLETIN_COUNT, None, "alt"),
    ("crude_birth_rate", None, SIGMA_VITAL_RATE, "fit"),
    ("crude_death_rate", None, SIGMA_VITAL_RATE, "fit"),
    ("births", SIGMA_VITAL_COUNT, None, "alt"),
    ("deaths", SIGMA_VITAL_COUNT, None, "alt"),
)
#: indicators carried through from any area and year (age structure, fertility, mortality)
STRUCTURE_INDICATORS = {
    "share_aged_0_14": (None, SIGMA_CENSUS_SHARE),
    "share_aged_15_59": (None, SIGMA_CENSUS_SHARE),
    "share_aged_60_plus": (None, SIGMA_CENSUS_SHARE),
    "share_aged_65_plus": (None, SIGMA_CENSUS_SHARE),
    "total_fertility_rate": (None, SIGMA_TFR),
    "life_expectancy_at_birth": (None, SIGMA_LIFE_EXPECTANCY),
}

CITY = "pingliang"

HISTORY_COLUMNS = ("year", "area", "indicator", "value", "sigma", "kind", "use", "source", "note")


# --------------------------------------------------------------------------- history


def read_observed(path: str | Path = OBSERVED_CSV) -> list[dict[str, str]]:
    """Rows of data/observed.csv as dicts of text."""
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def read_plans(path: str | Path = PLANS_CSV) -> list[dict[str, str]]:
    """The rows of data/plans_and_standards.csv (targets and standards, with sources)."""
    with open(path, encoding="utf-8", newline="") as f:
        return [r for r in csv.DictReader(f) if r["year"]]


def _obs(rows: list[dict[str, str]], year: int, area: str, indicator: str) -> float:
    for r in rows:
        if int(r["year"]) == year and r["area"] == area and r["indicator"] == indicator:
            return float(r["value"])
    raise KeyError(f"data/observed.csv has no row {year},{area},{indicator}")


def bias_ratio(year: float, rows: list[dict[str, str]]) -> float:
    """Annual estimate / census-consistent value in `year`: 1 in 2010, linear to 2019.

    The census-consistent 2019 population is interpolated geometrically between the two
    censuses; the 2019 estimate is it plus ESTIMATE_EXCESS_2019 (data/README.md).
    """
    y0, y1 = CENSUS_YEARS
    p0 = _obs(rows, y0, CITY, "resident_population")
    p1 = _obs(rows, y1, CITY, "resident_population")
    census_2019 = p0 * (p1 / p0) ** ((ESTIMATE_EXCESS_YEAR - y0) / (y1 - y0))
    r2019 = (census_2019 + ESTIMATE_EXCESS_2019) / census_2019
    return 1.0 + (r2019 - 1.0) * (year - y0) / (ESTIMATE_EXCESS_YEAR - y0)


def derive_history(rows: list[dict[str, str]] | None = None) -> list[dict[str, Any]]:
    """The calibration data set (data/history.csv) derived from data/observed.csv rows.

    `use` is `fit` (compared with the run), `initial` (a 2010 initial condition) or
    `initial+fit` (both: the derived 2010 urban share, which ties the fitted initial share).
    """
    rows = read_observed() if rows is None else rows
    y0, y1 = CENSUS_YEARS
    out: list[dict[str, Any]] = []

    def add(year, area, ind, value, sigma, kind, use, source, note=""):
        out.append(dict(year=year, area=area, indicator=ind, value=value, sigma=sigma,
                        kind=kind, use=use, source=source, note=note))

    # 2010 census: initial conditions
    res10 = _obs(rows, y0, CITY, "resident_population")
    add(y0, CITY, "resident_population", res10, SIGMA_CENSUS_COUNT * res10, "census", "initial",
        "data/observed.csv 2010,pingliang,resident_population (6th census)")
    known = ("kongtong", "huating", "jingchuan", "lingtai")
    for c in known:
        v = _obs(rows, y0, c, "resident_population")
        add(y0, c, "resident_population", v, SIGMA_CENSUS_COUNT * v, "census", "initial",
            f"data/observed.csv 2010,{c},resident_population (6th census)")
    k_urban10 = _obs(rows, y0, "kongtong", "urban_population")
    add(y0, "kongtong", "urban_population", k_urban10, SIGMA_CENSUS_COUNT * k_urban10, "census",
        "initial", "data/observed.csv 2010,kongtong,urban_population (6th census)")
    # the three counties without a 2010 row: the rest of the city total, split by 2018 shares
    est18 = {r["area"]: float(r["value"]) for r in rows
             if int(r["year"]) == 2018 and r["indicator"] == "resident_population"}
    rest = res10 - sum(_obs(rows, y0, c, "resident_population") for c in known)
    others = [c for c in est18 if c not in known]
    for c in others:
        v = rest * est18[c] / sum(est18[o] for o in others)
        add(y0, c, "resident_population", round(v), SIGMA_REBASED_COUNT * v, "derived", "initial",
            "data/observed.csv 2010 city and county census rows; 2018 rows for the split",
            f"2010 city total minus the four census counties ({rest:,.0f}), split by the "
            f"end-2018 estimates of {', '.join(others)}")
    # 2010 city urban share: not published; Kongtong's share of the city's urban residents
    # held at its 2020 census value
    k_share20 = (_obs(rows, y1, "kongtong", "urban_population")
                 / _obs(rows, y1, CITY, "urban_population"))
    rate10 = k_urban10 / k_share20 / res10
    add(y0, CITY, "urbanization_rate", round(rate10, 4), SIGMA_DERIVED_RATE_2010, "derived",
        "initial+fit", "data/observed.csv 2010,kongtong,urban_population; 2020 kongtong and city urban_population",
        f"Kongtong's share of city urban residents held at its 2020 value {k_share20:.4f}")

    # annual estimates, rebased
    for year, ind in ((2014, "urbanization_rate"), (2015, "urbanization_rate")):
        ratio = bias_ratio(year, rows)
        if year == 2015:  # the 2015 rate is implied by the two 2015 counts
            face = _obs(rows, year, CITY, "urban_population") / _obs(rows, year, CITY, "resident_population")
            src = "data/observed.csv 2015,pingliang,urban_population / resident_population (annual estimates)"
        else:
            face = _obs(rows, year, CITY, ind)
            src = "data/observed.csv 2014,pingliang,urbanization_rate (seed plan 1(1).1, annual estimate)"
        # excess spread proportionally: rate unchanged; excess all rural: rate * ratio
        lo, hi = face, face * ratio
        add(year, CITY, ind, round((lo + hi) / 2, 4), round((hi - lo) / 2, 4), "rebased", "fit", src,
            f"midpoint of face value {lo:.4f} (excess spread proportionally) and {hi:.4f} "
            f"(excess all rural); bias ratio {ratio:.4f}")
    ratio15 = bias_ratio(2015, rows)
    p15 = _obs(rows, 2015, CITY, "resident_population") / ratio15
    add(2015, CITY, "resident_population", round(p15), round(SIGMA_REBASED_COUNT * p15), "rebased",
        "fit", "data/observed.csv 2015,pingliang,resident_population (annual estimate)",
        f"divided by the bias ratio {ratio15:.4f}")
    total18 = sum(est18.values())
    for c, v in est18.items():
        add(2018, c, "resident_population_share", round(v / total18, 5), SIGMA_COUNTY_SHARE,
            "estimate share", "fit", f"data/observed.csv 2018,{c},resident_population (annual estimate)",
            f"county / sum of the seven end-2018 estimates ({total18:,.0f}); shares only, per data/README.md")

    # 2020 census (and registry hukou counts)
    v = _obs(rows, y1, CITY, "resident_population")
    add(y1, CITY, "resident_population", v, SIGMA_CENSUS_COUNT * v, "census", "fit",
        "data/observed.csv 2020,pingliang,resident_population (7th census basis)")
    # the rate rather than the urban count (equivalent given the resident count; one of the two)
    add(y1, CITY, "urbanization_rate", _obs(rows, y1, CITY, "urbanization_rate"), SIGMA_CENSUS_RATE,
        "census", "fit", "data/observed.csv 2020,pingliang,urbanization_rate (7th census basis)")
    for ind in ("resident_population", "urban_population"):
        v = _obs(rows, y1, "kongtong", ind)
        add(y1, "kongtong", ind, v, SIGMA_CENSUS_COUNT * v, "census", "fit",
            f"data/observed.csv 2020,kongtong,{ind} (7th census)")
    v = _obs(rows, y1, CITY, "urban_hukou_population")
    add(y1, CITY, "urban_hukou_population", v, SIGMA_HUKOU_COUNT * v, "registry", "fit",
        "data/observed.csv 2020,pingliang,urban_hukou_population (seed plan 1(1).1)",
        "wide sigma: the 2010 hukou stocks of the run are assumptions (docs/calibration.md)")

    v = _obs(rows, y1, CITY, "hukou_population")
    add(y1, CITY, "hukou_population", v, SIGMA_REGISTRY_COUNT * v, "registry", "fit",
        "data/observed.csv 2020,pingliang,hukou_population (seed plan 1(1).1)")
    for c in COUNTY_RATES_2020:
        add(y1, c, "urbanization_rate", _obs(rows, y1, c, "urbanization_rate"), SIGMA_CENSUS_RATE,
            "plan", "fit", f"data/observed.csv 2020,{c},urbanization_rate (seed plan 1(2).1)")
    add(y1, "huating", "urbanization_rate_lower_bound", _obs(rows, y1, "huating", "urbanization_rate_lower_bound"),
        SIGMA_PUBLISHED_BOUND, "plan", "fit", "data/observed.csv 2020,huating,urbanization_rate_lower_bound (seed plan 1(2).1)",
        "only a bound is published ('above 60%'): fit as a one-sided constraint")
    km2 = _obs(rows, y1, CITY, "central_city_built_up_area")
    add(y1, "kongtong", "urban_construction_land", km2 * M2_PER_KM2, SIGMA_BUILT_UP_AREA * km2 * M2_PER_KM2,
        "plan", "fit", "data/observed.csv 2020,pingliang,central_city_built_up_area (seed plan 1(1).2, 42 km2)",
        "the central city (Kongtong) built-up area taken as its urban construction land, in m2")
    plans = read_plans()
    target = _obs(plans, y1, CITY, "migrants_settled_target_of_previous_plan")
    first, last = SETTLEMENT_TARGET_YEARS
    per_year = target / (last - first + 1)
    add((first + last) // 2, CITY, "settled_migrants", per_year, SIGMA_SETTLEMENT_TARGET * per_year, "target", "fit",
        "data/plans_and_standards.csv 2020,pingliang,migrants_settled_target_of_previous_plan (2015 plan)",
        f"the previous plan's {target:,.0f} settled in {first}-{last} as a yearly mean, at mid-period; a target, not a count")

    # statistical bulletins after the census: year-end estimates on the 2020 census basis,
    # at face value (the pre-2020 bias came from the 2010 basis drifting; these are re-based)
    have = {(int(r["year"]), r["area"], r["indicator"]): r for r in rows}
    for year in BULLETIN_YEARS:
        for ind, rel, absolute, use in BULLETIN_INDICATORS:
            r = have.get((year, CITY, ind))
            if r is None:
                continue
            v = float(r["value"])
            sigma = rel * v if rel is not None else absolute
            note = "year-end estimate on the 2020 census basis (not rebased)"
            if ind.startswith("crude_"):
                note = "annual events over the mean population of the year"
            elif ind in ("births", "deaths"):
                note = f"annual count; the same information as crude_{ind[:-1]}_rate x mean population"
            add(year, CITY, ind, v, sigma, "bulletin", use,
                f"data/observed.csv {year},{CITY},{ind} ({r['source']})", note)

    # age structure, fertility and mortality: as published; other areas are context only
    for r in rows:
        ind = r["indicator"]
        if ind not in STRUCTURE_INDICATORS:
            continue
        rel, absolute = STRUCTURE_INDICATORS[ind]
        v = float(r["value"])
        own = r["area"] == CITY or r["area"] in est18
        add(int(r["year"]), r["area"], ind, v, rel * v if rel is not None else absolute,
            "census" if own else "context", "fit" if own else "context",
            f"data/observed.csv {r['year']},{r['area']},{ind} ({r['source']})",
            "" if own else "not Pingliang's own figure: a proxy or prior (widen sigma when used for Pingliang)")
    return out


def history_csv_text(history: list[dict[str, Any]]) -> str:
    """data/history.csv text of `derive_history` rows."""
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=HISTORY_COLUMNS, lineterminator="\n")
    w.writeheader()
    for r in history:
        row = dict(r)
        for k in ("value", "sigma"):
            row[k] = f"{row[k]:.6g}" if abs(row[k]) < 1e6 else f"{row[k]:.0f}"
        w.writerow(row)
    return buf.getvalue()


def read_history_rows(path: str | Path = HISTORY_CSV) -> list[dict[str, Any]]:
    """data/history.csv as dicts (year int, value and sigma float)."""
    with open(path, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    for r in rows:
        r["year"], r["value"], r["sigma"] = int(r["year"]), float(r["value"]), float(r["sigma"])
    return rows
