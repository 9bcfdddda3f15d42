"""Calibration: fit uncertain constants to the 2010-2020 history (`urbsd calibrate`).

Method (docs/calibration.md has the reasoning):

1. `derive_history` turns data/observed.csv into data/history.csv: census counts at face
   value; pre-2020 annual estimates rebased on the census by a bias ratio interpolated
   between 2010 (census, ratio 1) and 2019 (the annual estimate ~280,000 above the census,
   data/README.md); county 2018 estimates used as shares only. Every row keeps a `sigma`
   (its standard error as judged here) and a `source`.
2. The model runs 2010 -> 2020 from 2010 initial conditions (2010 census; the city urban
   share of 2010 is not published and is a fitted initial-condition parameter, tied to a
   derived value by an observation with a wide sigma).
3. A `Problem` (generic: parameters with bounds, observations, a map from fitted values
   to model constants) is solved by a quasi-random coarse search, vectorized over the
   engine's run axis, then `scipy.optimize.least_squares` with bounds from the best starts.
   Residuals are (simulated - observed) / sigma, plus a weak prior pulling each constant
   towards its documented estimate (MAP), since ~15 points cannot identify every rate.
4. The fitted constants are written as a scenario (`scenarios/calibration.yaml`, `set:`),
   which scenarios/baseline.yaml extends. The 2020-start runs keep the exact 2020 totals:
   only rate constants are written, never initial conditions.
"""

from __future__ import annotations

import csv
import datetime as _dt
import io
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from simulator.comparator import HISTORY_CSV

OBSERVED_CSV = HISTORY_CSV.parent / "observed.csv"

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

#: the fitted initial urban share of 2010 is searched between these (data-derived) limits:
#: Kongtong's 2010 census urban residents alone / city residents, and the 2014 published
#: rate (the rate rose every year of the decade by every source)
INITIAL_RATE_PARAMETER = "initial_urbanization_rate_2010"

#: constants fitted, by the issue's groups; those absent from the model are skipped. Why
#: these: the rates that move residents between rural, urban and outside the city, and
#: the fertility/mortality trends; levers (policy) and destination weights are not fitted.
FIT_CONSTANTS: dict[str, str] = {
    "rural_urban_migration_base_rate": "migration",
    "central_city_migration_rate": "migration",
    "out_migration_rate_rural": "migration",
    "return_migration_rate": "migration",
    "reclassification_rate": "reclassification",
    "max_hukou_conversion_rate": "settlement",
    "birth_rate_decline": "fertility",
    "death_rate_increase": "mortality",
}
#: weak prior: sd = this fraction of the documented estimate (the model file's value)
PRIOR_RELATIVE_SD = 0.5

# model output compared with each history indicator: (variable, is county-subscripted)
OUTPUT_OF = {
    "resident_population": "resident_population",
    "urban_population": "urban_population",
    "urbanization_rate": "urbanization_rate",
    "urban_hukou_population": "urban_hukou_population",
    "hukou_population": "hukou_population",
}
COUNTY_OUTPUT_OF = {
    "resident_population": "county_resident_population",
    "urban_population": "county_urban_population",
    "resident_population_share": "county_resident_population",
}
CITY = "pingliang"

HISTORY_COLUMNS = ("year", "area", "indicator", "value", "sigma", "kind", "use", "source", "note")


# --------------------------------------------------------------------------- history


def read_observed(path: str | Path = OBSERVED_CSV) -> list[dict[str, str]]:
    """Rows of data/observed.csv as dicts of text."""
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


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


# --------------------------------------------------------------------------- generic problem


@dataclass(frozen=True)
class Parameter:
    """A fitted quantity with its search bounds, default and (optional) prior sd."""

    name: str
    low: float
    high: float
    default: float
    prior_sd: float | None = None
    group: str = ""


@dataclass(frozen=True)
class Observation:
    """One observed value: `variable[element]` (or its share of the county sum) in `year`."""

    year: int
    variable: str
    value: float
    sigma: float
    element: str | None = None
    share: bool = False
    series: str = ""
    kind: str = ""
    source: str = ""


@dataclass
class Problem:
    """What to fit: a compiled model, run years, parameters, observations, and the map
    `to_params(values) -> simulate params` (values: name -> array (n_runs,))."""

    model: Any
    start: float
    stop: float
    parameters: list[Parameter]
    observations: list[Observation]
    to_params: Callable[[dict[str, np.ndarray]], dict[str, Any]]
    dt: float | None = None

    def names(self) -> list[str]:
        """Parameter names, in the column order of theta."""
        return [p.name for p in self.parameters]

    def lows(self) -> np.ndarray:
        """Lower search bounds."""
        return np.array([p.low for p in self.parameters])

    def highs(self) -> np.ndarray:
        """Upper search bounds."""
        return np.array([p.high for p in self.parameters])


def simulate_observations(problem: Problem, theta: np.ndarray) -> np.ndarray:
    """Simulated value of every observation for each parameter row: (n_runs, n_obs)."""
    from simulator.integrate import simulate

    theta = np.atleast_2d(np.asarray(theta, dtype=float))
    n = theta.shape[0]
    values = {name: theta[:, i] for i, name in enumerate(problem.names())}
    outputs = sorted({o.variable for o in problem.observations})
    run = simulate(problem.model, problem.to_params(values), n_runs=n, dt=problem.dt,
                   start=problem.start, stop=problem.stop, saveper=1.0, outputs=outputs)
    times = np.rint(run.times).astype(int)
    out = np.empty((n, len(problem.observations)))
    for j, o in enumerate(problem.observations):
        (k,) = np.nonzero(times == o.year)[0]
        series = run.data[o.variable][:, k]
        if o.element is None:
            out[:, j] = series
            continue
        elements = run.elements[run.dims[o.variable][0]]
        col = series[:, elements.index(o.element)]
        out[:, j] = col / series.sum(axis=1) if o.share else col
    return out


def residuals(problem: Problem, theta: np.ndarray, prior_weight: float = 1.0) -> np.ndarray:
    """(simulated - observed) / sigma, then (theta - default) / prior_sd: (n_runs, m)."""
    theta = np.atleast_2d(np.asarray(theta, dtype=float))
    obs = np.array([o.value for o in problem.observations])
    sig = np.array([o.sigma for o in problem.observations])
    r = (simulate_observations(problem, theta) - obs) / sig
    priors = [(i, p) for i, p in enumerate(problem.parameters) if p.prior_sd and prior_weight > 0]
    if priors:
        pr = np.stack([(theta[:, i] - p.default) / p.prior_sd for i, p in priors], axis=1)
        r = np.concatenate([r, math.sqrt(prior_weight) * pr], axis=1)
    return np.where(np.isfinite(r), r, 1e6)  # a run that blew up is a very bad fit


@dataclass
class FitResult:
    """Fitted values, their cost (half the sum of squared residuals) and how it was found."""

    values: dict[str, float]
    cost: float
    search_cost: float
    n_search: int
    n_starts: int
    nfev: int
    success: bool
    message: str
    at_bound: list[str] = field(default_factory=list)
    #: approximate posterior standard errors (Gauss-Newton, (J^T J)^-1 at the optimum)
    std_errors: dict[str, float] = field(default_factory=dict)


def fit(problem: Problem, n_search: int = 2048, n_starts: int = 3, seed: int = 0,
        prior_weight: float = 1.0, batch: int = 1024) -> FitResult:
    """Coarse Sobol search over the bounds (vectorized), then bounded least squares."""
    from scipy.optimize import least_squares
    from scipy.stats import qmc

    lo, hi = problem.lows(), problem.highs()
    width = np.where(hi > lo, hi - lo, 1.0)
    k = len(lo)
    m = 2 ** max(1, math.ceil(math.log2(max(n_search, 2))))
    u = qmc.Sobol(k, scramble=True, seed=seed).random(m)
    defaults = np.array([p.default for p in problem.parameters])
    cand = np.vstack([np.clip(defaults, lo, hi), lo + u * (hi - lo)])
    costs = np.concatenate([
        0.5 * np.sum(residuals(problem, cand[i:i + batch], prior_weight) ** 2, axis=1)
        for i in range(0, len(cand), batch)
    ])
    order = np.argsort(costs)[:n_starts]

    def f(x: np.ndarray) -> np.ndarray:
        return residuals(problem, lo + x * width, prior_weight)[0]

    def jac(x: np.ndarray) -> np.ndarray:
        # forward differences, all parameters in one vectorized run (backwards at the top bound)
        h = 1e-6
        steps = np.where(x + h <= 1.0, h, -h)
        pts = np.vstack([x, x + np.diag(steps)])
        r = residuals(problem, lo + pts * width, prior_weight)
        return ((r[1:] - r[0]) / steps[:, None]).T

    best = None
    nfev = 0
    for i in order:
        x0 = np.clip((cand[i] - lo) / width, 0.0, 1.0)
        res = least_squares(f, x0, jac=jac, bounds=(0.0, 1.0), x_scale=1.0, method="trf",
                            xtol=1e-10, ftol=1e-12, gtol=1e-10, max_nfev=200)
        nfev += res.nfev
        if best is None or res.cost < best.cost:
            best = res
    theta = lo + best.x * width
    try:
        cov = np.linalg.pinv(best.jac.T @ best.jac)
        se = np.sqrt(np.clip(np.diag(cov), 0.0, None)) * width
    except np.linalg.LinAlgError:
        se = np.full(k, np.nan)
    at_bound = [p.name for p, x in zip(problem.parameters, best.x) if x < 1e-6 or x > 1 - 1e-6]
    return FitResult(
        values={p.name: float(v) for p, v in zip(problem.parameters, theta)},
        cost=float(best.cost), search_cost=float(costs[order[0]]), n_search=len(cand),
        n_starts=len(order), nfev=nfev, success=bool(best.success), message=str(best.message),
        at_bound=at_bound,
        std_errors={p.name: float(v) for p, v in zip(problem.parameters, se)},
    )


def fit_table(problem: Problem, values: dict[str, float]) -> list[dict[str, Any]]:
    """Per series: observed vs simulated points and MAPE, R2, Theil U^M/U^S/U^C (fitstats)."""
    from simulator.fitstats import fit_statistics

    theta = np.array([[values[n] for n in problem.names()]])
    sim = simulate_observations(problem, theta)[0]
    groups: dict[str, list[int]] = {}
    for j, o in enumerate(problem.observations):
        groups.setdefault(o.series, []).append(j)
    table = []
    for series, idx in groups.items():
        s = sim[idx]
        a = np.array([problem.observations[j].value for j in idx])
        st = fit_statistics(s, a).as_dict()
        table.append({
            "series": series,
            "points": [{"year": problem.observations[j].year, "element": problem.observations[j].element,
                        "observed": float(a[i]), "simulated": float(s[i]),
                        "kind": problem.observations[j].kind} for i, j in enumerate(idx)],
            **st,
        })
    return table


# --------------------------------------------------------------------------- the Pingliang problem


def _role(spec: Any, role: str) -> str:
    """The model constant holding an initial value: `initial_<role>` or `<role>` with `_2020`."""
    def norm(name: str) -> str:
        return name.removeprefix("initial_").replace("_2020", "")

    found = [n for n in spec.constants if norm(n) == role and n != role]
    if len(found) != 1:
        raise ValueError(f"model {spec.name}: expected one initial-value constant for '{role}' "
                         f"(initial_{role} or a name with _2020), found {found or 'none'}")
    return found[0]


def _fit_parameters(spec: Any, fit_names: Sequence[str]) -> list[Parameter]:
    params = []
    for name in fit_names:
        if name not in spec.constants:
            continue
        c = spec.constants[name]
        if c.dims or isinstance(c.value, dict):
            continue
        # a constant without bounds: search from 0 to twice the documented estimate
        lo, hi = c.bounds if c.bounds is not None else (0.0, 2.0 * float(c.value))
        default = float(c.value)
        sd = PRIOR_RELATIVE_SD * default if default > 0 else (hi - lo) / 4
        params.append(Parameter(name, float(lo), float(hi), default, sd, FIT_CONSTANTS.get(name, "")))
    return params


def pingliang_problem(model: Any = None, history: list[dict[str, Any]] | None = None,
                      fit_names: Sequence[str] | None = None, base: dict[str, Any] | None = None) -> Problem:
    """The 2010-2020 calibration problem of the Pingliang model from data/history.csv rows.

    `base` are scenario constants held fixed (e.g. the baseline's levers).
    """
    from simulator.compile import compile_model
    from simulator.modelfile import load_model

    model = compile_model(load_model()) if model is None else model
    spec = model.spec
    history = read_history_rows() if history is None else history
    counties = spec.elements("county")
    y0, y1 = CENSUS_YEARS

    def val(year: int, area: str, ind: str) -> float:
        for r in history:
            if r["year"] == year and r["area"] == area and r["indicator"] == ind:
                return float(r["value"])
        raise KeyError(f"history has no row {year},{area},{ind}")

    res10 = val(y0, CITY, "resident_population")
    county_res10 = np.array([val(y0, c, "resident_population") for c in counties])
    k_urban10 = val(y0, "kongtong", "urban_population")
    central = counties.index("kongtong")
    names = {r: _role(spec, r) for r in (
        "resident_population", "urban_population", "hukou_population", "urban_hukou_population",
        "urban_residents_by_county", "rural_residents_by_county", "urban_nonhukou_share")}
    d = model.default_constants()
    w20 = d[names["urban_residents_by_county"]][0]
    others = np.arange(len(counties)) != central
    nonhukou = float(d[names["urban_nonhukou_share"]][0, 0])
    urban20, uh20 = float(d[names["urban_population"]][0, 0]), float(d[names["urban_hukou_population"]][0, 0])
    hukou20 = float(d[names["hukou_population"]][0, 0])
    uh_pool = uh20 - (1 - nonhukou) * urban20  # urban-hukou holders living outside the city

    lo_rate = k_urban10 / res10
    hi_rate = val(2014, CITY, "urbanization_rate")
    rate_default = val(y0, CITY, "urbanization_rate")
    parameters = _fit_parameters(spec, list(FIT_CONSTANTS) if fit_names is None else fit_names)
    parameters.append(Parameter(INITIAL_RATE_PARAMETER, lo_rate, hi_rate, rate_default, None, "initial condition"))
    fixed = dict(base or {})

    def to_params(values: dict[str, np.ndarray]) -> dict[str, Any]:
        rate = np.asarray(values[INITIAL_RATE_PARAMETER], dtype=float)
        urban = rate * res10
        urban_c = np.empty((rate.size, len(counties)))
        urban_c[:, central] = k_urban10
        urban_c[:, others] = (urban - k_urban10)[:, None] * w20[others] / w20[others].sum()
        p = dict(fixed)
        p.update({n: v for n, v in values.items() if n != INITIAL_RATE_PARAMETER})
        p[names["resident_population"]] = res10
        p[names["urban_population"]] = urban
        p[names["urban_residents_by_county"]] = urban_c
        p[names["rural_residents_by_county"]] = county_res10[None, :] - urban_c
        p[names["hukou_population"]] = hukou20
        p[names["urban_hukou_population"]] = uh_pool + (1 - nonhukou) * urban
        return p

    observations = []
    for r in history:
        if "fit" not in r["use"].split("+"):
            continue
        area, ind = r["area"], r["indicator"]
        if area == CITY:
            var, element = OUTPUT_OF[ind], None
        else:
            var, element = COUNTY_OUTPUT_OF[ind], area
        series = ind if area == CITY else f"{ind}[{'county' if ind.endswith('share') else area}]"
        observations.append(Observation(r["year"], var, r["value"], r["sigma"], element,
                                        ind.endswith("_share"), series, r["kind"], r["source"]))
    return Problem(model, float(y0), float(y1), parameters, observations, to_params)


# --------------------------------------------------------------------------- output


def calibration_yaml(result: FitResult, problem: Problem, table: list[dict[str, Any]],
                     data_files: Sequence[str], model_ref: str = "pingliang") -> str:
    """scenarios/calibration.yaml: header comment (provenance, fit) and `set:` the constants."""
    spec = problem.model.spec
    today = _dt.datetime.now(_dt.timezone.utc).date().isoformat()
    lines = [
        "# Calibrated constants (历史校准参数), written by `urbsd calibrate` -- do not edit by hand.",
        f"# Date: {today}. Model: {spec.name} ({Path(spec.path).name}) sha256 {spec.sha256}.",
        f"# Data: {', '.join(data_files)} (2010-2020; annual estimates rebased, docs/calibration.md).",
        f"# Method: run {problem.start:.0f}-{problem.stop:.0f} from 2010 initial conditions; Sobol search "
        f"({result.n_search} runs) then scipy.optimize.least_squares in the bounds from {result.n_starts} starts;",
        f"# cost {result.cost:.4g} (search best {result.search_cost:.4g}); {result.message}",
        f"# Fitted 2010 urban share (initial condition, not written): "
        f"{result.values.get(INITIAL_RATE_PARAMETER, float('nan')):.4f}",
        "# Fit per series (MAPE, R2, Theil U^M/U^S/U^C; n = points):",
    ]
    for row in table:
        lines.append(f"#   {row['series']:<40} n={row['n']:<2} MAPE {100 * row['mape']:6.2f}%  "
                     f"R2 {_f(row['r2'])}  UM {_f(row['u_m'])}  US {_f(row['u_s'])}  UC {_f(row['u_c'])}")
    if result.at_bound:
        lines.append(f"# At a bound: {', '.join(result.at_bound)}")
    lines += [
        "",
        "name: calibration",
        "label: {zh: 历史校准参数（2010—2020）, en: Calibrated constants (2010-2020)}",
        f"model: {model_ref}",
        "set:",
    ]
    for p in problem.parameters:
        if p.name == INITIAL_RATE_PARAMETER:
            continue
        v = result.values[p.name]
        se = result.std_errors.get(p.name, float("nan"))
        lines.append(f"  {p.name}: {_num(v)}   # {p.group}; std. error {_num(se)}; model "
                     f"estimate {_num(p.default)}, bounds [{_num(p.low)}, {_num(p.high)}]")
    return "\n".join(lines) + "\n"


def _f(x: float) -> str:
    return "  nan" if x != x else f"{x:5.2f}"


def _num(x: float) -> str:
    return f"{x:.6g}"


def fit_table_markdown(table: list[dict[str, Any]]) -> str:
    """The fit table as Markdown (for docs/calibration.md)."""
    out = ["| series | n | MAPE | R² | U^M | U^S | U^C |", "| --- | --- | --- | --- | --- | --- | --- |"]
    for r in table:
        out.append(f"| {r['series']} | {r['n']} | {100 * r['mape']:.2f}% | {_f(r['r2']).strip()} | "
                   f"{_f(r['u_m']).strip()} | {_f(r['u_s']).strip()} | {_f(r['u_c']).strip()} |")
    return "\n".join(out) + "\n"


def points_markdown(table: list[dict[str, Any]]) -> str:
    """Every compared point, observed vs simulated, as Markdown."""
    out = ["| series | year | observed | simulated | kind |", "| --- | --- | --- | --- | --- |"]
    for r in table:
        for p in r["points"]:
            name = r["series"] if p["element"] is None or "[county]" not in r["series"] else \
                r["series"].replace("county", p["element"])
            out.append(f"| {name} | {p['year']} | {p['observed']:.6g} | {p['simulated']:.6g} | {p['kind']} |")
    return "\n".join(out) + "\n"


# --------------------------------------------------------------------------- the command


def run_calibration(model_path: str | Path | None = None, out: str | Path | None = None,
                    history_out: str | Path | None = None, observed: str | Path = OBSERVED_CSV,
                    n_search: int = 2048, n_starts: int = 3, seed: int = 0,
                    report: str | Path | None = None) -> dict[str, Any]:
    """`urbsd calibrate`: derive the history, fit, write calibration.yaml (+ history, report).

    Everything is validated and computed before the first file is written. Constants not
    fitted keep the model file's values (baseline.yaml sets no lever). baseline.yaml extends
    calibration.yaml, so a plain run uses every fitted value; a constant the baseline lists
    under `uncertain:` keeps its fitted value in plain runs and is sampled in sweeps.
    """
    from simulator.bundled import scenarios_dir
    from simulator.compile import compile_model
    from simulator.errors import InputError
    from simulator.modelfile import load_model
    from simulator.writers import atomic_write_text

    if n_search < 1:
        raise InputError("command line", "--samples", f"must be a positive number, not {n_search}")
    if n_starts < 1:
        raise InputError("command line", "--starts", f"must be a positive number, not {n_starts}")
    observed = Path(observed)
    if not observed.is_file():
        raise InputError(observed, "observed data", "no such file")
    out = Path(scenarios_dir() / "calibration.yaml" if out is None else out)
    history_out = Path(HISTORY_CSV if history_out is None else history_out)
    for path, what in ((out, "--out"), (history_out, "--history"), (report, "--report")):
        if path is None:
            continue
        if Path(path).is_dir():
            raise InputError(path, what, "is a folder, expected a file name")
        if not Path(path).parent.is_dir():
            raise InputError(path, what, f"no such folder {Path(path).parent}")

    spec = load_model(model_path)
    model = compile_model(spec)
    fit_names = [n for n in FIT_CONSTANTS if n in spec.constants]
    try:
        history = derive_history(read_observed(observed))
    except KeyError as exc:
        raise InputError(observed, "rows", str(exc.args[0])) from None
    history_text = history_csv_text(history)
    rows = list(csv.DictReader(io.StringIO(history_text)))
    for r in rows:
        r["year"], r["value"], r["sigma"] = int(r["year"]), float(r["value"]), float(r["sigma"])
    try:
        problem = pingliang_problem(model, rows, fit_names=fit_names)
    except ValueError as exc:
        raise InputError(spec.path, "constants", str(exc)) from None
    result = fit(problem, n_search=n_search, n_starts=n_starts, seed=seed)
    table = fit_table(problem, result.values)
    model_ref = "pingliang" if model_path is None else str(Path(model_path).resolve())
    text = calibration_yaml(result, problem, table, [_rel(observed), _rel(history_out)], model_ref)

    if not history_out.is_file() or history_out.read_text(encoding="utf-8") != history_text:
        atomic_write_text(history_out, history_text)
    atomic_write_text(out, text)
    if report is not None:
        atomic_write_text(report, report_markdown(result, problem, table))
    return {"result": result, "problem": problem, "table": table, "out": out,
            "history": history_out, "report": report}


def _rel(path: Path) -> str:
    try:
        return str(Path(path).resolve().relative_to(HISTORY_CSV.parent.parent))
    except ValueError:
        return str(path)


def parameters_markdown(result: FitResult, problem: Problem) -> str:
    """Fitted values beside the model's estimates, bounds, prior sd and standard errors."""
    out = ["| constant | group | model estimate | fitted | std. error | prior sd | bounds |",
           "| --- | --- | --- | --- | --- | --- | --- |"]
    for p in problem.parameters:
        se = result.std_errors.get(p.name, float("nan"))
        prior = "-" if p.prior_sd is None else _num(p.prior_sd)
        out.append(f"| {p.name} | {p.group} | {_num(p.default)} | {_num(result.values[p.name])} | "
                   f"{_num(se)} | {prior} | [{_num(p.low)}, {_num(p.high)}] |")
    return "\n".join(out) + "\n"


def report_markdown(result: FitResult, problem: Problem, table: list[dict[str, Any]]) -> str:
    """The fit report (Markdown): parameters, per-series statistics, every point."""
    spec = problem.model.spec
    return (
        f"Model {spec.name} sha256 `{spec.sha256[:12]}`; cost {result.cost:.4g} "
        f"(best of the search {result.search_cost:.4g}, {result.n_search} runs; "
        f"{result.n_starts} least-squares starts, {result.nfev} evaluations).\n\n"
        + parameters_markdown(result, problem) + "\n" + fit_table_markdown(table) + "\n"
        + points_markdown(table)
    )


def print_summary(outcome: dict[str, Any], file: Any) -> None:
    """The screen report of `urbsd calibrate`."""
    result, problem, table = outcome["result"], outcome["problem"], outcome["table"]
    print(f"calibrated {len(problem.parameters)} parameter(s) on {len(problem.observations)} "
          f"point(s), {problem.start:.0f}-{problem.stop:.0f}: cost {result.cost:.4g} "
          f"(search best {result.search_cost:.4g})", file=file)
    for p in problem.parameters:
        se = result.std_errors.get(p.name, float("nan"))
        print(f"  {p.name:<36} {_num(result.values[p.name]):>11} +/- {_num(se):<10} "
              f"(estimate {_num(p.default)})", file=file)
    print(f"  {'series':<40}{'n':>3}{'MAPE':>8}{'R2':>7}{'UM':>7}{'US':>7}{'UC':>7}", file=file)
    for r in table:
        print(f"  {r['series']:<40}{r['n']:>3}{100 * r['mape']:>7.2f}%{_f(r['r2']):>7}"
              f"{_f(r['u_m']):>7}{_f(r['u_s']):>7}{_f(r['u_c']):>7}", file=file)
    if result.at_bound:
        print(f"  at a bound: {', '.join(result.at_bound)}", file=file)
    wrote = [outcome["out"], outcome["history"]] + ([outcome["report"]] if outcome["report"] else [])
    print(f"  wrote {', '.join(str(w) for w in wrote)}", file=file)
