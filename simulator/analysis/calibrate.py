"""Calibration: fit model constants to observed history (`urbsd calibrate`).

Method (docs/calibration.md has the reasoning):

1. `simulator.analysis.history.derive_history` turns data/observed.csv into
   data/history.csv: census counts at face value; pre-2020 annual estimates rebased on the
   census; every row with a `sigma` and a `source`.
2. A calibration specification (`simulator.analysis.calspec`, e.g.
   models/pingliang-calibration.yaml) says which model, which run window, which constants
   are fitted with which prior, how the calibration run's initial values follow from data,
   and how the model computes every observed figure. It becomes a `Problem` (here): generic
   parameters with bounds and priors, observations, and a map from fitted values to the
   engine's constants.
3. Maximum a posteriori (`fit`): a scrambled Sobol search over the bounds, vectorized over
   the engine's run axis, then `scipy.optimize.least_squares` in the bounds from the best
   starts, the priors entering as residuals. The Bayesian posterior
   (`simulator.analysis.posterior`) samples `log_posterior` with emcee around that optimum.
4. `fit_table` gives MAPE, R^2 and Theil's statistics per series (`fitstats`).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from simulator.analysis.calexpr import Expr, Scope, evaluate, parse

PRIOR_DISTS = ("normal", "uniform", "lognormal")
ROLES = ("fit", "check")
BOUNDS = ("lower", "upper")
AT = ("end", "mean")


@dataclass(frozen=True)
class Prior:
    """A prior density: normal (mean, sd; truncated to the parameter's bounds), uniform over
    the bounds, or lognormal (mu, sigma of ln x)."""

    dist: str
    mean: float | None = None
    sd: float | None = None
    mu: float | None = None
    sigma: float | None = None

    def residual(self, x: np.ndarray) -> np.ndarray | None:
        """The prior as a least-squares residual (None: flat). Lognormal: the residual of ln x,
        i.e. the MAP is taken in log space (the posterior sampler uses the exact density)."""
        if self.dist == "normal":
            return (x - self.mean) / self.sd
        if self.dist == "lognormal":
            with np.errstate(divide="ignore", invalid="ignore"):
                return (np.log(x) - self.mu) / self.sigma
        return None

    def logpdf(self, x: np.ndarray) -> np.ndarray:
        """Log density up to a constant, inside the bounds."""
        if self.dist == "normal":
            return -0.5 * ((x - self.mean) / self.sd) ** 2
        if self.dist == "lognormal":
            with np.errstate(divide="ignore", invalid="ignore"):
                lx = np.log(x)
                return np.where(x > 0, -0.5 * ((lx - self.mu) / self.sigma) ** 2 - lx, -np.inf)
        return np.zeros_like(np.asarray(x, dtype=float))

    def describe(self) -> str:
        """One short phrase, e.g. 'normal(0.014, 0.007)'."""
        if self.dist == "normal":
            return f"normal({self.mean:.6g}, {self.sd:.6g})"
        if self.dist == "lognormal":
            return f"lognormal(mu {self.mu:.6g}, sigma {self.sigma:.6g})"
        return "uniform"


@dataclass(frozen=True)
class Parameter:
    """A fitted quantity with its search bounds, starting value, prior and group.

    `constant` is the model constant it sets (None: a free parameter that only the spec's
    `fixed` expressions use, e.g. an unpublished initial share); `element` the element(s)
    of a subscripted constant it sets (None: every element gets the value).
    """

    name: str
    low: float
    high: float
    default: float
    prior: Prior | None = None
    group: str = ""
    constant: str | None = None
    element: tuple[str, ...] | None = None

    @property
    def prior_sd(self) -> float | None:
        """The sd of a normal prior (None otherwise)."""
        return self.prior.sd if self.prior is not None and self.prior.dist == "normal" else None


@dataclass(frozen=True)
class Observation:
    """One observed figure and how the model computes it.

    `expr` is an expression over model variables (`simulator.analysis.calexpr`), evaluated
    at the end of `year` (`at: end`, the saved value at t = year) or as the mean over the
    year (`at: mean`: every variable averaged by the trapezoid rule over the saved values
    from year - 1 to year, then the expression; for annual counts over mean population).
    `bound`: None (equal, residual (sim - obs) / sigma), `lower` (sim >= obs, a one-sided
    penalty min(sim - obs, 0) / sigma) or `upper`. `role`: `fit` or `check` (reported, not
    fitted: out of sample).
    """

    year: int
    expr: str
    value: float
    sigma: float
    at: str = "end"
    bound: str | None = None
    role: str = "fit"
    series: str = ""
    kind: str = ""
    source: str = ""
    row: tuple[Any, ...] = ()


@dataclass
class Problem:
    """What to fit: a compiled model, the run window, parameters, observations, and the map
    `to_params(values) -> simulate params` (values: name -> array (n_runs,))."""

    model: Any
    start: float
    stop: float
    parameters: list[Parameter]
    observations: list[Observation]
    to_params: Callable[[dict[str, np.ndarray]], dict[str, Any]]
    dt: float | None = None
    method: str | None = None
    saveper: float = 1.0
    _parsed: dict[str, Expr] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        if self.method is None:
            self.method = self.model.spec.time.method

    def names(self) -> list[str]:
        """Parameter names, in the column order of theta."""
        return [p.name for p in self.parameters]

    def lows(self) -> np.ndarray:
        """Lower bounds."""
        return np.array([p.low for p in self.parameters], dtype=float)

    def highs(self) -> np.ndarray:
        """Upper bounds."""
        return np.array([p.high for p in self.parameters], dtype=float)

    def fitted(self) -> np.ndarray:
        """Boolean mask of the observations that are fitted (role `fit`)."""
        return np.array([o.role == "fit" for o in self.observations], dtype=bool)

    def expression(self, text: str) -> Expr:
        """The parsed expression of an observation (cached)."""
        if text not in self._parsed:
            self._parsed[text] = parse(text)
        return self._parsed[text]

    def outputs(self) -> list[str]:
        """The model variables the observations read."""
        return list(dict.fromkeys(n for o in self.observations for n in self.expression(o.expr).names))


def shaped(run: Any, name: str, values: np.ndarray) -> tuple[np.ndarray, tuple[str, ...]]:
    """A saved variable (n_runs, width) as (n_runs, *elements per dimension)."""
    dims = tuple(run.dims.get(name, ()))
    if not dims:
        return values, dims
    shape = tuple(len(run.elements[d]) for d in dims)
    return values.reshape((values.shape[0],) + shape), dims


def observation_values(problem: Problem, run: Any, which: np.ndarray | None = None) -> np.ndarray:
    """The model value of every observation (or those `which` selects) in `run`: (n_runs, n_obs)."""
    times = np.asarray(run.times, dtype=float)
    chosen = [o for j, o in enumerate(problem.observations) if which is None or which[j]]
    out = np.empty((run.n_runs, len(chosen)))
    cache: dict[tuple[int, str], dict[str, np.ndarray]] = {}
    for j, o in enumerate(chosen):
        expr = problem.expression(o.expr)
        env = cache.setdefault((o.year, o.at), {})

        def value(name: str, _env=env, _o=o) -> tuple[np.ndarray, tuple[str, ...]]:
            if name not in _env:
                data = run.data[name]
                if _o.at == "end":
                    (k,) = np.nonzero(np.isclose(times, _o.year))[0]
                    v = data[:, k]
                else:
                    idx = np.nonzero((times >= _o.year - 1 - 1e-9) & (times <= _o.year + 1e-9))[0]
                    t = times[idx]
                    w = np.zeros(len(idx))  # trapezoid weights over the saved points of the year
                    w[:-1] += np.diff(t) / 2
                    w[1:] += np.diff(t) / 2
                    v = np.tensordot(data[:, idx], w / (t[-1] - t[0]), axes=([1], [0]))
                _env[name] = v
            return shaped(run, name, _env[name])

        scope = Scope(value=value, elements=lambda d: run.elements[d])
        out[:, j] = np.broadcast_to(evaluate(expr, scope), (run.n_runs,))
    return out


def simulate_observations(problem: Problem, theta: np.ndarray, which: np.ndarray | None = None) -> np.ndarray:
    """Simulated value of every observation (or those `which` selects) for each parameter
    row: (n_runs, n_obs). The run stops at the last year the selection needs."""
    from simulator.engine.integrate import simulate

    theta = np.atleast_2d(np.asarray(theta, dtype=float))
    n = theta.shape[0]
    values = {name: theta[:, i] for i, name in enumerate(problem.names())}
    chosen = [o for j, o in enumerate(problem.observations) if which is None or which[j]]
    stop = max([float(o.year) for o in chosen] + [problem.start + problem.saveper])
    outputs = list(dict.fromkeys(n for o in chosen for n in problem.expression(o.expr).names))
    run = simulate(problem.model, problem.to_params(values), n_runs=n, dt=problem.dt, method=problem.method,
                   start=problem.start, stop=min(stop, problem.stop), saveper=problem.saveper, outputs=outputs)
    return observation_values(problem, run, which)


def observation_residuals(problem: Problem, sim: np.ndarray, which: np.ndarray | None = None) -> np.ndarray:
    """(sim - obs) / sigma per observation (one-sided for bounds): (n_runs, n_obs); `which`
    selects the observations `sim` holds."""
    chosen = [o for j, o in enumerate(problem.observations) if which is None or which[j]]
    obs = np.array([o.value for o in chosen])
    sig = np.array([o.sigma for o in chosen])
    r = (np.atleast_2d(sim) - obs) / sig
    lower = np.array([o.bound == "lower" for o in chosen], dtype=bool)
    upper = np.array([o.bound == "upper" for o in chosen], dtype=bool)
    r = np.where(lower, np.minimum(r, 0.0), r)
    return np.where(upper, np.maximum(r, 0.0), r)


def fitted_residuals(problem: Problem, theta: np.ndarray) -> np.ndarray:
    """Residuals of the fitted observations only (the run stops at the last fitted year)."""
    mask = problem.fitted()
    return observation_residuals(problem, simulate_observations(problem, theta, mask), mask)


def residuals(problem: Problem, theta: np.ndarray, prior_weight: float = 1.0) -> np.ndarray:
    """The fitted observations' residuals, then the priors': (n_runs, m); a run that blew up
    gets 1e6 (a very bad fit)."""
    theta = np.atleast_2d(np.asarray(theta, dtype=float))
    r = fitted_residuals(problem, theta)
    if prior_weight > 0:
        pr = [p.prior.residual(theta[:, i]) for i, p in enumerate(problem.parameters) if p.prior is not None]
        pr = [x for x in pr if x is not None]
        if pr:
            r = np.concatenate([r, math.sqrt(prior_weight) * np.stack(pr, axis=1)], axis=1)
    return np.where(np.isfinite(r), r, 1e6)


def log_prior(problem: Problem, theta: np.ndarray) -> np.ndarray:
    """Log prior density (up to a constant) of each row; -inf outside the bounds."""
    theta = np.atleast_2d(np.asarray(theta, dtype=float))
    inside = np.all((theta >= problem.lows()) & (theta <= problem.highs()), axis=1)
    lp = np.zeros(theta.shape[0])
    for i, p in enumerate(problem.parameters):
        if p.prior is not None:
            lp = lp + p.prior.logpdf(theta[:, i])
    return np.where(inside, lp, -np.inf)


def log_posterior(problem: Problem, theta: np.ndarray) -> np.ndarray:
    """Log posterior (up to a constant) of each row of theta, for emcee (vectorized).

    Gaussian errors with the observations' sigmas (one-sided for bounds) plus the log
    priors. Rows outside the bounds are not simulated (-inf), nor are runs that blow up.
    """
    theta = np.atleast_2d(np.asarray(theta, dtype=float))
    lp = log_prior(problem, theta)
    ok = np.isfinite(lp)
    out = np.full(theta.shape[0], -np.inf)
    if ok.any():
        r = fitted_residuals(problem, theta[ok])
        ll = -0.5 * np.sum(r * r, axis=1)
        out[ok] = np.where(np.isfinite(ll), ll + lp[ok], -np.inf)
    return out


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
    """Maximum a posteriori: coarse Sobol search over the bounds (vectorized), then bounded
    least squares from the `n_starts` best points."""
    from scipy.optimize import least_squares
    from scipy.stats import qmc

    from simulator.analysis.limits import max_runs_per_call

    batch = max(1, min(batch, max_runs_per_call(problem.model)))  # bounded memory per vectorized call
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


def theta_of(problem: Problem, values: dict[str, float]) -> np.ndarray:
    """A (1, k) row of parameter values in the problem's order."""
    return np.array([[values[n] for n in problem.names()]], dtype=float)


def fit_table(problem: Problem, values: dict[str, float], role: str = "fit") -> list[dict[str, Any]]:
    """Per series of the equality observations with `role`: observed vs simulated points and
    MAPE, R2, Theil U^M/U^S/U^C (fitstats)."""
    from simulator.analysis.fitstats import fit_statistics

    sim = simulate_observations(problem, theta_of(problem, values))[0]
    groups: dict[str, list[int]] = {}
    for j, o in enumerate(problem.observations):
        if o.role == role and o.bound is None:
            groups.setdefault(o.series, []).append(j)
    table = []
    for series, idx in groups.items():
        s = sim[idx]
        a = np.array([problem.observations[j].value for j in idx])
        st = fit_statistics(s, a).as_dict()
        table.append({
            "series": series,
            "points": [point_row(problem.observations[j], float(s[i])) for i, j in enumerate(idx)],
            **st,
        })
    return table


def point_row(o: Observation, simulated: float) -> dict[str, Any]:
    """One compared point as plain data: observed, simulated, error, error / sigma, and for an
    inequality whether it holds."""
    err = simulated - float(o.value)
    holds = None if o.bound is None else bool(simulated >= o.value if o.bound == "lower" else simulated <= o.value)
    return {"year": o.year, "series": o.series, "observed": float(o.value), "simulated": simulated,
            "error": err, "relative_error": err / o.value if o.value else float("nan"), "z": err / o.sigma,
            "sigma": float(o.sigma), "kind": o.kind, "source": o.source, "bound": o.bound, "holds": holds,
            "role": o.role, "at": o.at, "row": list(o.row), "element": None}


def compared_rows(problem: Problem, values: dict[str, float], keep: Callable[[Observation], bool]) -> list[dict]:
    """`point_row` of every observation `keep` selects, simulated at `values` (one run)."""
    idx = [j for j, o in enumerate(problem.observations) if keep(o)]
    if not idx:
        return []
    sim = simulate_observations(problem, theta_of(problem, values))[0]
    return [point_row(problem.observations[j], float(sim[j])) for j in idx]


def bound_rows(problem: Problem, values: dict[str, float]) -> list[dict[str, Any]]:
    """The inequality observations at `values`, each with `holds`."""
    return compared_rows(problem, values, lambda o: o.bound is not None)
