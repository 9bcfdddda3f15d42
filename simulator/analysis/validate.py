"""The validation battery of `urbsd validate` (Sterman, Business Dynamics ch. 21; Barlas 1996).

Each test returns a `Check(test, figure, status, detail)`: the figure measured, `pass`,
`fail`, or `n/a` when the test cannot be run here (never a pass by default):

- dimensional consistency: the units check (`simulator.engine.units.check_units`);
- people conserved: the sum of the person stocks against its initial value plus the
  boundary flows integrated the same way (Euler), at every time step;
- non-negative stocks: every stock at every time step;
- extreme conditions: all migration rates 0, every lever at its lower and at its upper
  bound: no NaN, no negative stock, every rate or share in [0, 1];
- integration error: the urbanization rate in 2035 (or the last year) with the model's method
  at its DT, against the same method at DT/2, another fixed-step method (RK4 for an Euler or Heun
  model, Euler for an RK4 model) at a fine DT and a scipy `solve_ivp` reference (DOP853, rtol
  1e-10): the largest difference in percentage points;
- behaviour reproduction: data/history.csv rows that fall inside the run, MAPE and
  Theil's U^M, U^S, U^C (`simulator.analysis.fitstats`);
- the statistical bulletins after the 2020 census (2021, 2022): resident rate, resident
  population, crude birth and death rates (the year's events over its mean population)
  against the tolerances of issue 13 (0.3 pp, 0.5%, 1 per mille);
- Monte Carlo band: the 5-95% band of the resident rate over the scenario's `uncertain:`
  constants (the calibration's posterior and the estimates) contains the bulletins' rates.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from simulator.bundled import data_dir
from simulator.engine.compile import CompiledModel, compile_model
from simulator.engine.integrate import Run, simulate
from simulator.errors import StepTooLong

#: relative error of the people balance that still counts as conserved: float64 round-off
#: accumulated over a few hundred additions of ~1e6 persons stays far below this
BALANCE_RTOL = 1e-9
#: integration error allowed in the urbanization rate (issue 12: the default method and DT agree
#: with DT/2, the other method and solve_ivp within 0.02 percentage point in 2035)
INTEGRATION_PP = 0.02
#: time step of the other fixed-step method in the integration-error test (RK4 or Euler): Euler's own error
#: shrinks in proportion to dt (0.0977 pp at dt 0.25 on the 1-D Pingliang model, 0.003 pp at
#: 1/128, measured), so at this step it is a reference well inside INTEGRATION_PP
FINE_DT = 1 / 128
#: year at which the integration error is read (the plan's end year, seed plan 2(3))
INTEGRATION_YEAR = 2035
#: solve_ivp reference tolerances: far tighter than the differences being judged
IVP_RTOL, IVP_ATOL = 1e-10, 1e-6
#: behaviour reproduction passes when the mean absolute percentage error is below this;
#: the 2020 figures are published rounded to 0.01万 persons or 0.01 pp, so 1% is loose
#: for a run starting in 2020 and a judgement for a longer one (Sterman ch. 21 sets none)
BEHAVIOUR_MAPE = 0.01
#: data/observed.csv in a checkout (not installed with the package)
OBSERVED_CSV = data_dir() / "observed.csv"
#: the calibration data set derived from it (rebased annual estimates; urbsd calibrate)
HISTORY_CSV = data_dir() / "history.csv"
#: kinds of history rows the behaviour test leaves out: other areas' figures (proxies), the
#: previous plan's target, and county shares of the inflated annual estimates
BEHAVIOUR_SKIP_KINDS = ("context", "target", "estimate share")
#: the area of data/observed.csv whose rows a model named pingliang* is compared with
CITY = "pingliang"
#: the fixed output names of DESIGN.md that rates are read from
RATE = "urbanization_rate"
PASS, FAIL, NA = "pass", "fail", "n/a"
#: the bulletin years after the 2020 census (data/observed.csv, city statistical bulletins)
BULLETIN_YEARS = (2021, 2022)
#: bulletin indicator -> (model numerator, model denominator or None, tolerance, kind of
#: tolerance): issue 13's targets: the rate within 0.3 pp, the population within 0.5%,
#: crude birth and death rates within 1 per mille (events of the year over its mean population)
BULLETIN_TOLERANCES = {
    "urbanization_rate": ("urbanization_rate", None, 0.003, "abs"),
    "resident_population": ("resident_population", None, 0.005, "rel"),
    "crude_birth_rate": ("births", "resident_population", 0.001, "abs"),
    "crude_death_rate": ("deaths", "resident_population", 0.001, "abs"),
}


#: runs and seed of the Monte Carlo band (the explorer's band uses the same number of runs)
BAND_RUNS = 1000
BAND_SEED = 0
#: the band's percentiles
BAND_PERCENTILES = (5, 95)


@dataclass(frozen=True)
class Check:
    """One test of the battery: its name, the figure measured, pass/fail/n/a, and how."""

    test: str
    figure: str
    status: str
    detail: str = ""

    @property
    def failed(self) -> bool:
        return self.status == FAIL


# --------------------------------------------------------------------------- helpers


def _consts(model: CompiledModel, params: dict[str, Any]):
    """consts(t) as the integrator builds it: defaults, overrides, time series at t."""
    from simulator.engine.integrate import constants_function

    return constants_function(model, params, 1)


def person_stocks(model: CompiledModel) -> list[str]:
    """Stocks counted in persons (their declared unit is `person`)."""
    try:
        from simulator.engine.units import parse_unit, same

        person = parse_unit("person")
        return [s for s, st in model.spec.stocks.items() if same(parse_unit(st.unit), person)]
    except ImportError:
        return [s for s, st in model.spec.stocks.items() if st.unit.strip() == "person"]


def _total(run: Run, names: list[str]) -> np.ndarray:
    """Sum over names (and counties) per saved step, run 0."""
    out = np.zeros(len(run.times))
    for n in names:
        a = run.data[n][0]
        out += a.reshape(len(a), -1).sum(axis=1)  # over every element, whatever the dims
    return out


def _rate_names(model: CompiledModel) -> list[str]:
    """Variables that are shares and must lie in [0, 1]: dimensionless *_rate or *_share."""
    spec = model.spec
    return [n for n, el in {**spec.auxiliaries}.items()
            if el.unit.strip() in ("dimensionless", "1", "")
            and (n.endswith("_rate") or n.endswith("_share"))]


def _year_index(run: Run, year: float) -> int:
    hits = np.flatnonzero(np.isclose(run.times, year))
    return int(hits[0]) if hits.size else len(run.times) - 1


def _sanity(model: CompiledModel, run: Run) -> list[str]:
    """Problems of one run: NaN/inf, negative stocks, rates outside [0, 1]."""
    problems = []
    for name, arr in run.data.items():
        if not np.all(np.isfinite(arr)):
            problems.append(f"{name} not finite")
    for name in model.stocks:
        low = float(np.nanmin(run.data[name]))
        if low < 0:
            problems.append(f"{name} {low:,.4g} < 0")
    for name in _rate_names(model):
        a = run.data[name]
        lo, hi = float(np.nanmin(a)), float(np.nanmax(a))
        if lo < 0 or hi > 1:
            problems.append(f"{name} in [{lo:.4g}, {hi:.4g}]")
    return problems


# --------------------------------------------------------------------------- the tests


def check_units_test(spec: Any) -> Check:
    """Dimensional consistency: every equation's inferred unit equals its declared one."""
    try:
        from simulator.engine.units import check_units
    except ImportError:
        return Check("dimensional consistency", "units check not available", NA,
                     "simulator/engine/units.py is not in this version")
    from simulator.errors import InputError

    n = len(spec.stocks) + len(spec.flows) + len(spec.auxiliaries)
    try:
        check_units(spec)
    except InputError as exc:
        return Check("dimensional consistency", "1 mismatch", FAIL, " ".join(str(exc).split()))
    return Check("dimensional consistency", f"{n} equations, 0 mismatches", PASS,
                 "units inferred from every stock initial value, flow and auxiliary equation")


def people_conserved_test(model: CompiledModel, fine: Run) -> Check:
    """Sum of person stocks = initial + Euler-integrated boundary flows, at every step."""
    step = np.diff(fine.times)
    if fine.method != "euler" or (step.size and not np.allclose(step, fine.dt)):
        raise ValueError("the people balance needs an Euler run saved at every time step (saveper=dt)")
    people = person_stocks(model)
    if not people:
        return Check("people conserved", "no person stocks", NA, "no stock has unit person")
    spec = model.spec
    coef: dict[str, int] = {}
    for s in people:
        for f in spec.stocks[s].inflows:
            coef[f] = coef.get(f, 0) + 1
        for f in spec.stocks[s].outflows:
            coef[f] = coef.get(f, 0) - 1
    boundary = {f: (1 if f in _ins(spec, people) else -1) for f in coef
                if (f in _ins(spec, people)) != (f in _outs(spec, people))}
    total = _total(fine, people)
    net = np.zeros(len(fine.times))
    for f, sign in boundary.items():
        a = fine.data[f][0]
        net += sign * a.reshape(len(a), -1).sum(axis=1)
    expected = total[0] + np.concatenate([[0.0], np.cumsum(fine.dt * net[:-1])])
    err = np.abs(total - expected) / np.maximum(np.abs(expected), 1e-300)
    worst = float(np.max(err)) if err.size else 0.0
    i = int(np.argmax(err))
    internal = sorted(f for f, c in coef.items() if f not in boundary)
    leaks = [f for f in internal if coef[f] != 0]
    detail = (f"{len(people)} person stocks, {len(boundary)} boundary flows, "
              f"{len(internal)} internal flows; largest gap at t={fine.times[i]:g}: "
              f"{total[i] - expected[i]:,.6g} persons")
    if leaks:
        detail += "; internal flows not balanced (entering and leaving a different number of person stocks): " + ", ".join(leaks)
    ok = np.isfinite(worst) and worst <= BALANCE_RTOL
    return Check("people conserved", f"max relative error {worst:.2e} (pass <= {BALANCE_RTOL:g})",
                 PASS if ok else FAIL, detail)


def _ins(spec: Any, stocks: list[str]) -> set[str]:
    return {f for s in stocks for f in spec.stocks[s].inflows}


def _outs(spec: Any, stocks: list[str]) -> set[str]:
    return {f for s in stocks for f in spec.stocks[s].outflows}


def non_negative_test(model: CompiledModel, fine: Run) -> Check:
    """Every stock stays >= 0 at every time step."""
    if not model.stocks:
        return Check("non-negative stocks", "no stocks", NA)
    lowest = {n: float(np.min(fine.data[n])) for n in model.stocks}
    worst_name = min(lowest, key=lambda n: lowest[n] if lowest[n] == lowest[n] else -math.inf)
    worst = lowest[worst_name]
    bad = [n for n, v in lowest.items() if not v >= 0]  # also catches NaN
    if bad:
        where = np.argwhere(~(fine.data[bad[0]][0] >= 0))[0]
        return Check("non-negative stocks", f"{len(bad)} stock(s) negative, lowest {worst_name} {worst:,.6g}",
                     FAIL, f"{', '.join(bad)}; {bad[0]} first negative at t={fine.times[where[0]]:g}")
    return Check("non-negative stocks", f"lowest {worst_name} {worst:,.6g}", PASS,
                 f"{len(model.stocks)} stocks at every step of dt={fine.dt:g}")


def extreme_conditions_test(model: CompiledModel, params: dict[str, Any]) -> Check:
    """All migration rates 0; every lever at its lower, then upper bound: a sane run."""
    spec = model.spec
    migration = [n for n, c in spec.constants.items() if "migration" in n and c.unit.strip() == "1/year"]
    levers = [n for n, c in spec.constants.items() if c.lever and c.bounds]
    cases: list[tuple[str, dict[str, Any]]] = []
    if migration:
        cases.append((f"{len(migration)} migration rates = 0", {**params, **{n: 0.0 for n in migration}}))
    for side, i in (("lower", 0), ("upper", 1)):
        if levers:
            cases.append((f"{len(levers)} levers at {side} bound",
                          {**params, **{n: float(spec.constants[n].bounds[i]) for n in levers}}))
    if not cases:
        return Check("extreme conditions", "no migration rates or levers with bounds", NA)
    problems = []
    for label, p in cases:
        run = simulate(model, p, saveper=spec.time.dt)
        problems += [f"{label}: {x}" for x in _sanity(model, run)]
    detail = "; ".join(c for c, _ in cases) + f"; rates checked: {', '.join(_rate_names(model)) or 'none'}"
    if problems:
        return Check("extreme conditions", f"{len(problems)} problem(s) in {len(cases)} runs", FAIL,
                     "; ".join(problems[:6]) + (" ..." if len(problems) > 6 else ""))
    return Check("extreme conditions", f"{len(cases)} runs: finite, stocks >= 0, rates in [0,1]", PASS, detail)


def solve_ivp_run(model: CompiledModel, params: dict[str, Any], times: np.ndarray) -> dict[str, np.ndarray]:
    """A scipy solve_ivp reference (DOP853, tight tolerances) of the compiled rates."""
    from scipy.integrate import solve_ivp

    consts = _consts(model, params)
    spec = model.spec
    start = float(spec.time.start)
    state0 = model.init(start, consts(start))
    names = list(model.states)
    widths = [model.widths[n] for n in names]
    cuts = np.cumsum(widths)[:-1]

    def unflatten(y: np.ndarray) -> dict[str, np.ndarray]:
        return {n: part.reshape((1,) + model.shapes[n]) for n, part in zip(names, np.split(y, cuts))}

    def f(t: float, y: np.ndarray) -> np.ndarray:
        d, _ = model.rates(t, consts(t), unflatten(y))
        return np.concatenate([np.broadcast_to(d[n], (1,) + model.shapes[n]).ravel() for n in names])

    y0 = np.concatenate([np.broadcast_to(state0[n], (1,) + model.shapes[n]).ravel() for n in names])
    sol = solve_ivp(f, (start, float(times[-1])), y0, method="DOP853", t_eval=times,
                    rtol=IVP_RTOL, atol=IVP_ATOL)
    if not sol.success:
        raise RuntimeError(f"solve_ivp failed: {sol.message}")
    out: dict[str, np.ndarray] = {}
    for j, t in enumerate(times):
        _, values = model.rates(float(t), consts(float(t)), unflatten(sol.y[:, j]))
        out.setdefault(RATE, []).append(float(np.asarray(values[RATE]).ravel()[0]))
    return {k: np.asarray(v) for k, v in out.items()}


def integration_error_test(model: CompiledModel, params: dict[str, Any]) -> Check:
    """The urbanization rate in 2035 with the model's method at its DT against the same method
    at DT/2, the other fixed-step method at FINE_DT and solve_ivp: the largest difference in pp."""
    spec = model.spec
    if RATE not in model.widths:
        return Check("integration error", f"no '{RATE}' in the model", NA)
    dt, method = float(spec.time.dt), spec.time.method
    other, fine = ("euler" if method == "rk4" else "rk4"), min(FINE_DT, dt / 2)
    default = f"{method} dt={dt:g}"
    runs = {
        default: simulate(model, params, dt=dt, method=method, outputs=[RATE]),
        f"{method} dt={dt / 2:g}": simulate(model, params, dt=dt / 2, method=method, outputs=[RATE]),
        f"{other} dt={fine:g}": simulate(model, params, dt=fine, method=other, outputs=[RATE]),
    }
    base = runs[default]
    i = _year_index(base, INTEGRATION_YEAR)
    year = base.times[i]
    values = {k: float(r.data[RATE][0, i]) for k, r in runs.items()}
    ref = solve_ivp_run(model, params, base.times[: i + 1])
    values[f"solve_ivp DOP853 rtol {IVP_RTOL:g}"] = float(ref[RATE][i])
    chosen = values[default]
    diffs = {k: 100 * abs(v - chosen) for k, v in values.items() if k != default}
    worst = max(diffs.values())
    ok = np.isfinite(worst) and worst < INTEGRATION_PP
    detail = f"{RATE} {year:g} with {default} (the model's): {100 * chosen:.4f}%; " + "; ".join(
        f"{k}: {100 * values[k]:.4f}% (differs by {d:.4f} pp)" for k, d in diffs.items())
    return Check("integration error", f"max {worst:.4f} pp in {year:g} (pass < {INTEGRATION_PP:g})",
                 PASS if ok else FAIL, detail)


def observed_rows(spec: Any, years: np.ndarray, path: Path | None = None) -> list[tuple[str, int, float, str]]:
    """data/history.csv rows inside the run that name a model variable: (column, year, value, source).

    The calibration data set (annual estimates rebased on the censuses, data/README.md), not the
    raw data/observed.csv rows: the pre-2020 annual estimates run up to 280,000 persons above the
    census, so comparing a run with them measures their bias. Kept: the city's and counties' own
    figures that are levels at the end of a year (not context rows of other areas, not targets,
    not shares of estimates, not annual counts or crude rates: the bulletin test has those).
    """
    if not spec.name.startswith(CITY):
        return []  # the data describe Pingliang; another model has nothing to compare
    path = HISTORY_CSV if path is None else path
    counties = set(spec.elements("county")) if "county" in spec.dimensions else set()
    names = set(spec.all_names())
    rows = []
    with open(path, encoding="utf-8", newline="") as fh:
        for r in csv.DictReader(fh):
            year = int(r["year"])
            if not np.any(np.isclose(years, year)) or r["kind"] in BEHAVIOUR_SKIP_KINDS or r["use"] == "alt":
                continue
            area, ind = r["area"], r["indicator"]
            if ind.startswith("crude_"):
                continue
            if area == CITY:
                column = ind if ind in names and not spec.element(ind).dims else None
            elif area in counties and f"county_{ind}" in names:
                column = f"county_{ind}[{area}]"
            else:
                column = None
            if column:
                rows.append((column, year, float(r["value"]), r["source"]))
    return rows


def behaviour_test(model: CompiledModel, run: Run) -> Check:
    """Simulated against observed data inside the run: MAPE and Theil's inequality split."""
    from simulator.analysis.fitstats import fit_statistics

    if not HISTORY_CSV.is_file():
        return Check("behaviour reproduction", "data/history.csv not found", NA,
                     "the data folder is part of a checkout, not of the installed package")
    rows = observed_rows(model.spec, run.times)
    if not rows:
        return Check("behaviour reproduction", "no observed rows inside the run", NA,
                     f"data/history.csv holds rows for {CITY} (models named {CITY}*) and its counties")
    elements = run.elements
    sim, obs = [], []
    for column, year, value, _ in rows:
        name, _, el = column.partition("[")
        i = _year_index(run, year)
        a = run.data[name][0]
        sim.append(float(a[i, elements[run.dims[name][0]].index(el[:-1])]) if el else float(a[i]))
        obs.append(value)
    fit = fit_statistics(np.asarray(sim), np.asarray(obs))
    years = sorted({y for _, y, _, _ in rows})
    # Theil's split is per variable (mixing persons and shares would let persons dominate)
    groups: dict[str, list[int]] = {}
    for k, (column, *_rest) in enumerate(rows):
        groups.setdefault(column.partition("[")[0], []).append(k)
    parts = []
    for var, idx in groups.items():
        g = fit_statistics(np.asarray(sim)[idx], np.asarray(obs)[idx])
        theil = (f", U^M {g.u_m:.2f} U^S {g.u_s:.2f} U^C {g.u_c:.2f}" if g.n > 1 and g.mse > 0
                 else ", Theil split needs 2+ points" if g.n == 1 else ", exact")
        parts.append(f"{var} (n={g.n}): MAPE {100 * g.mape:.3f}%{theil}")
    detail = f"{len(rows)} rows of data/history.csv in {', '.join(map(str, years))}: " + "; ".join(parts)
    if years == [int(model.spec.time.start)]:
        detail += ("; these are the initial year's figures, so this checks the initial values, not "
                   "behaviour over time (the 2010-2020 history is fitted by urbsd calibrate)")
    ok = fit.mape <= BEHAVIOUR_MAPE
    return Check("behaviour reproduction", f"MAPE {100 * fit.mape:.3f}% over {fit.n} points (pass <= {100 * BEHAVIOUR_MAPE:g}%)",
                 PASS if ok else FAIL, detail)


def _bulletin_value(run: Run, numerator: str, denominator: str | None, year: int) -> float:
    """The run's figure for a bulletin row: a year-end value, or for a crude rate the
    year's mean events over its mean population (trapezoid over the saved year ends)."""
    i = _year_index(run, year)
    if denominator is None:
        return float(run.data[numerator][0, i])
    j = _year_index(run, year - 1)
    mean = lambda name: 0.5 * float(run.data[name][0, i] + run.data[name][0, j])  # noqa: E731
    return mean(numerator) / mean(denominator)


def bulletin_test(model: CompiledModel, run: Run) -> Check:
    """The 2021 and 2022 bulletins (published after the 2020 census) against the run."""
    name = "2021-2022 bulletins"
    if not OBSERVED_CSV.is_file():
        return Check(name, "data/observed.csv not found", NA, "the data folder is part of a checkout")
    names = set(model.spec.all_names())
    wanted = {k: v for k, v in BULLETIN_TOLERANCES.items() if all(n is None or n in names for n in v[:2])}
    years = [y for y in BULLETIN_YEARS if np.any(np.isclose(run.times, y)) and np.any(np.isclose(run.times, y - 1))]
    if not model.spec.name.startswith(CITY) or not wanted or not years:
        return Check(name, "no bulletin year inside the run", NA, f"the run must cover {BULLETIN_YEARS}")
    parts, worst, ok = [], 0.0, True
    with open(OBSERVED_CSV, encoding="utf-8", newline="") as fh:
        rows = [r for r in csv.DictReader(fh) if r["area"] == CITY and r["indicator"] in wanted
                and int(r["year"]) in years]
    for r in rows:
        num, den, tol, kind = wanted[r["indicator"]]
        year, obs = int(r["year"]), float(r["value"])
        sim = _bulletin_value(run, num, den, year)
        err = (sim - obs) / obs if kind == "rel" else sim - obs
        ok &= abs(err) <= tol
        worst = max(worst, abs(err) / tol)
        shown = f"{100 * err:+.2f}%" if kind == "rel" else (
            f"{100 * err:+.2f} pp" if r["indicator"] == "urbanization_rate" else f"{1000 * err:+.2f} per mille")
        limit = f"{100 * tol:g}%" if kind == "rel" else (
            f"{100 * tol:g} pp" if r["indicator"] == "urbanization_rate" else f"{1000 * tol:g} per mille")
        parts.append(f"{r['indicator']} {year}: {shown} (within {limit})")
    return Check(name, f"{len(rows)} figures, largest error {worst:.2f} of its tolerance",
                 PASS if ok and rows else NA if not rows else FAIL, "; ".join(parts))


def band_test(scenario: Any) -> Check:
    """The 5-95% Monte Carlo band of the resident rate contains each bulletin's rate."""
    from simulator.analysis.montecarlo import monte_carlo

    name = "Monte Carlo band"
    if not OBSERVED_CSV.is_file():
        return Check(name, "data/observed.csv not found", NA, "the data folder is part of a checkout")
    mc = monte_carlo(scenario, BAND_RUNS, BAND_SEED)
    paths = None if mc is None else mc.series(RATE)
    if paths is None:
        return Check(name, "nothing uncertain", NA, "the scenario has no `uncertain:` constants")
    with open(OBSERVED_CSV, encoding="utf-8", newline="") as fh:
        rows = [r for r in csv.DictReader(fh) if r["area"] == CITY and r["indicator"] == RATE
                and int(r["year"]) in BULLETIN_YEARS and int(r["year"]) in mc.years]
    if not scenario.spec.name.startswith(CITY) or not rows:
        return Check(name, "no bulletin year inside the run", NA, f"the run must cover {BULLETIN_YEARS}")
    lo_p, hi_p = BAND_PERCENTILES
    parts, inside = [], 0
    for r in rows:
        year, obs = int(r["year"]), float(r["value"])
        lo, hi = np.nanpercentile(paths[:, mc.years.index(year)], [lo_p, hi_p])
        inside += bool(lo <= obs <= hi)
        parts.append(f"{year}: published {100 * obs:.2f}%, band {100 * lo:.2f}-{100 * hi:.2f}%")
    detail = (f"{BAND_RUNS} runs (seed {BAND_SEED}) over {len(mc.names)} uncertain constants; "
              + "; ".join(parts))
    return Check(name, f"{inside} of {len(rows)} published rates inside the {lo_p}-{hi_p}% band",
                 PASS if inside == len(rows) else FAIL, detail)


# --------------------------------------------------------------------------- battery


def _euler_every_step(model: CompiledModel, params: dict[str, Any]) -> Run:
    """An Euler run saved at every step, at the model's dt or, if a delay is unstable there for
    Euler, at half of it: the model's own method is stable at its dt (checked when it was
    compiled), and Euler's limit is more than half of any method's (engine.stability.LIMITS)."""
    dt = float(model.spec.time.dt)
    try:
        return simulate(model, params, dt=dt, saveper=dt, method="euler")
    except StepTooLong:
        return simulate(model, params, dt=dt / 2, saveper=dt / 2, method="euler")


def run_battery(scenario: Any, model: CompiledModel | None = None) -> list[Check]:
    """All tests of the battery on one scenario (its levers set), in a fixed order."""
    spec = scenario.spec
    model = model or compile_model(spec)
    params = dict(scenario.params)
    fine = simulate(model, params, saveper=spec.time.dt)
    # the people balance is an accounting identity of the Euler step: checked on an Euler run
    balance = fine if fine.method == "euler" else _euler_every_step(model, params)
    saved = simulate(model, params)
    return [
        check_units_test(spec),
        people_conserved_test(model, balance),
        non_negative_test(model, fine),
        extreme_conditions_test(model, params),
        integration_error_test(model, params),
        behaviour_test(model, saved),
        bulletin_test(model, saved),
        band_test(scenario),
    ]


def table_text(checks: list[Check]) -> str:
    """The battery as a plain-text table for the terminal."""
    w1 = max(len("test"), *(len(c.test) for c in checks))
    w2 = max(len("figure"), *(len(c.figure) for c in checks))
    lines = [f"  {'test':<{w1}}  {'figure':<{w2}}  result"]
    lines += [f"  {c.test:<{w1}}  {c.figure:<{w2}}  {c.status.upper() if c.failed else c.status}" for c in checks]
    return "\n".join(lines)


def markdown(scenario: Any, checks: list[Check], *, version: str = "") -> str:
    """validation.md: what was run, the table, and the detail of each test."""
    spec = scenario.spec
    failed = [c.test for c in checks if c.failed]
    out = [
        f"# Validation — {scenario.name}",
        "",
        f"Model `{spec.name}` sha256 `{spec.sha256[:12]}`, scenario sha256 `{scenario.sha256[:12]}`, "
        f"dt {spec.time.dt:g}, {spec.time.start:g}–{spec.time.stop:g}{', urbsd ' + version if version else ''}. "
        "Tests after Sterman, *Business Dynamics* ch. 21, and Barlas (1996).",
        "",
        f"**Result: {'FAIL (' + ', '.join(failed) + ')' if failed else 'pass'}.**",
        "",
        "| test | figure | result |",
        "| --- | --- | --- |",
    ]
    out += [f"| {c.test} | {c.figure} | {'**FAIL**' if c.failed else c.status} |" for c in checks]
    out += ["", "## Details", ""]
    out += [f"- **{c.test}**: {c.detail or c.figure}" for c in checks]
    return "\n".join(out).replace("\r", "") + "\n"
