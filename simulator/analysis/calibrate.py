"""Calibration: fit uncertain constants to the 2010-2020 history (`urbsd calibrate`).

Method (docs/calibration.md has the reasoning):

1. `simulator.analysis.history.derive_history` turns data/observed.csv into
   data/history.csv: census counts at face value; pre-2020 annual estimates rebased on the
   census; every row with a `sigma` and a `source`.
2. The model runs 2010 -> 2020 from 2010 initial conditions (2010 census; the city urban
   share of 2010 is not published and is a fitted initial-condition parameter, tied to a
   derived value by an observation with a wide sigma).
3. A `Problem` (generic: parameters with bounds, observations, a map from fitted values
   to model constants) is solved by a quasi-random coarse search, vectorized over the
   engine's run axis, then `scipy.optimize.least_squares` with bounds from the best starts.
   Residuals are (simulated - observed) / sigma, plus a weak prior pulling each constant
   towards its documented estimate (MAP), since ~15 points cannot identify every rate.
4. The fitted constants are written as a scenario (`scenarios/calibration.yaml`, `set:`;
   the text from `simulator.outputs.calibration`, written by `simulator.cli.calibrate`),
   which scenarios/baseline.yaml extends. The 2020-start runs keep the exact 2020 totals:
   only rate constants are written, never initial conditions.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from simulator.analysis.history import (
    CENSUS_YEARS,
    CITY,
    derive_history,
    history_csv_text,
    read_history_rows,
    read_observed,
)

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
    from simulator.engine.integrate import simulate

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
    from simulator.analysis.fitstats import fit_statistics

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
    from simulator.bundled import bundled_model_path
    from simulator.engine.compile import compile_model
    from simulator.engine.load import load_model

    model = compile_model(load_model(bundled_model_path())) if model is None else model
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


# --------------------------------------------------------------------------- the whole calibration


@dataclass
class Calibration:
    """What `calibrate` found: the fit, its problem, the per-series table and the derived
    history (the text of data/history.csv)."""

    result: FitResult
    problem: Problem
    table: list[dict[str, Any]]
    history_text: str


def calibrate(model: Any, observed: str | Path, n_search: int = 2048, n_starts: int = 3,
              seed: int = 0) -> Calibration:
    """Derive the history from `observed` (data/observed.csv), fit the constants of the
    compiled `model` that FIT_CONSTANTS names, and tabulate the fit. Writes nothing.

    Constants not fitted keep the model file's values. Bad input raises InputError.
    """
    from simulator.errors import InputError

    spec = model.spec
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
    return Calibration(result, problem, fit_table(problem, result.values), history_text)
