"""Goal seeking: the setting of a policy lever at which a target is reached.

`goal_seek(scenario, lever, target)` answers "how far must this lever go for the
indicator to reach the target value in the target year?", e.g. the hukou openness at
which the resident urbanization rate reaches 70% in 2035.

Method. The lever is searched within its bounds in the model file (or a narrower
`low`/`high` inside them):

1. one vectorized `simulate` call evaluates a grid of `grid` lever values at once
   (n_runs = grid size); this gives the response curve, its direction and whether it is
   monotone;
2. the target is bracketed between two neighbouring grid points and the crossing is
   found with `scipy.optimize.brentq` on `lever value -> indicator - target` (each
   evaluation one simulate call), then nudged to the reaching side so that the reported
   setting does reach the target (value >= target).

Which crossing: if the indicator rises with the lever (value at the upper bound >= value
at the lower bound), the answer is the *smallest* setting that reaches the target
(`direction = "at least"`); if it falls, the *largest* setting that still reaches it
(`direction = "at most"`, e.g. a stricter land rule). A non-monotone response is flagged
(`monotone = False`) and the first crossing in that direction is reported. If no grid
point reaches the target, the best grid point is refined with `scipy.optimize.minimize_scalar`
(bounded) around it; if still short, the answer is `status = "unreachable"` with the best
rate reachable and the setting that gives it. If the lower end (or, for a falling response,
the upper end) already reaches it: `status = "reached at every setting"`.

How the lever is set. Goal seeking replaces the scenario's value of the lever by one
number from the run start: a scalar constant gets that number; a county constant gets
the same number in every county; a lever the scenario sets as a time series is replaced
by that constant (the result notes it). Every other lever keeps the scenario's value;
`uncertain:` ranges are ignored, as in `urbsd run`.

`frontier(scenario, lever_a, lever_b, target)` evaluates a grid over two levers in one
vectorized call and gives, for each value of lever A, the smallest (or largest) value of
lever B that reaches the target (linear interpolation between grid points of B).
"""

from __future__ import annotations

import math
import re
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from simulator.engine.series import TimeSeries
from simulator.errors import InputError, suggest

__all__ = [
    "DEFAULT_GRID",
    "DEFAULT_FRONTIER_GRID",
    "Frontier",
    "GoalSeekResult",
    "GoalTarget",
    "frontier",
    "goal_seek",
    "lever_bounds",
    "parse_target",
    "default_target",
    "variable",
]

#: grid points of the bracketing pass (one vectorized run); 41 gives steps of 2.5% of the range
DEFAULT_GRID = 41
#: grid points per lever of the two-lever frontier (21 x 21 = 441 runs in one call)
DEFAULT_FRONTIER_GRID = 21
#: brentq's tolerance on the lever value, as a fraction of the searched range
XTOL_FRACTION = 1e-10
#: differences smaller than this (relative to the indicator's size) count as flat
FLAT_TOLERANCE = 1e-12
#: a response over the whole range below this (0.05 percentage point of a rate, the accuracy
#: goal seeking promises) is reported as "hardly responds"
WEAK_RESPONSE = 0.0005

CLI = "command line"


@dataclass(frozen=True)
class GoalTarget:
    """`indicator` (a variable, or `name[element]`) reaching `value` in `year`."""

    indicator: str
    value: float
    year: int

    def __str__(self) -> str:
        return f"{self.indicator}={self.value:g}@{self.year}"


@dataclass
class GoalSeekResult:
    """The answer of `goal_seek` (plain data; `as_dict()` for JSON)."""

    scenario: str
    lever: str
    indicator: str
    target: float
    year: int
    status: str  # "reached" | "reached at every setting" | "unreachable"
    direction: str  # "at least" (rising response) | "at most" (falling) | "none" (flat)
    setting: float | None  # the lever value found (None when unreachable)
    value: float | None  # the indicator at `setting`
    best_setting: float  # the setting with the highest indicator value found
    best_value: float
    scenario_setting: Any  # the scenario's own value of the lever (number, list or series)
    scenario_value: float  # the indicator with the scenario as it is
    bounds: tuple[float, float]
    monotone: bool
    grid: list[float] = field(default_factory=list)
    grid_values: list[float] = field(default_factory=list)
    evaluations: int = 0
    notes: list[str] = field(default_factory=list)

    @property
    def reached(self) -> bool:
        return self.status != "unreachable"

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["bounds"] = list(self.bounds)
        return d

    def text(self) -> str:
        """One or two lines for the screen."""
        pct = "rate" in self.indicator
        fmt = (lambda v: f"{100 * v:.2f}%") if pct else (lambda v: f"{v:.6g}")
        goal = f"{self.indicator} >= {fmt(self.target)} in {self.year}"
        lo, hi = self.bounds
        if self.status == "unreachable":
            line = (f"{self.lever}: unreachable within [{lo:g}, {hi:g}]: {goal} is not reached; "
                    f"best {fmt(self.best_value)} at {self.lever} = {self.best_setting:.6g}")
            if pct:
                line += f" (gap {100 * (self.best_value - self.target):+.2f} pp)"
        elif self.status == "reached at every setting":
            end = lo if self.direction != "at most" else hi
            line = (f"{self.lever}: {goal} is reached at every setting in [{lo:g}, {hi:g}] "
                    f"({fmt(self.value)} at {self.lever} = {end:g})")
        else:
            line = (f"{self.lever} {self.direction} {self.setting:.6g} (bounds [{lo:g}, {hi:g}]): "
                    f"{goal} -> {fmt(self.value)}")
        line += f"; scenario as set: {fmt(self.scenario_value)}"
        for note in self.notes:
            line += f"\n    note: {note}"
        return line


@dataclass
class Frontier:
    """The two-lever grid: `values[i, j]` = indicator at (grid_b[i], grid_a[j])."""

    scenario: str
    lever_a: str
    lever_b: str
    target: GoalTarget
    grid_a: list[float]
    grid_b: list[float]
    values: list[list[float]]
    frontier_b: list[float | None]  # per grid_a: the B setting where the target is crossed
    direction_b: str
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["target"] = {"indicator": self.target.indicator, "value": self.target.value,
                       "year": self.target.year}
        return d


# --------------------------------------------------------------------------- inputs


def variable(spec: Any, name: str) -> Any:
    """The declaration of an auxiliary, stock or flow `name` of the model, or None."""
    for group in (spec.auxiliaries, spec.stocks, spec.flows):
        if name in (group or {}):
            return group[name]
    return None


def is_share(spec: Any, name: str) -> bool:
    """A dimensionless variable named `*_rate` or `*_share`: a share in [0, 1] (the model's
    convention, checked by simulator/analysis/validate.py)."""
    try:
        el = spec.element(name)
    except KeyError:
        return False
    unit = str(getattr(el, "unit", "") or "").strip()
    return el is not None and unit in ("dimensionless", "1", "") and name.endswith(("_rate", "_share"))


def parse_target(text: str, spec: Any, file: str = CLI, field_: str = "--target") -> GoalTarget:
    """`INDICATOR=VALUE@YEAR` (e.g. `urbanization_rate=0.70@2035`; VALUE may be `70%`).

    A share (a `*_rate` or `*_share`) takes a value in [0, 1] or a percentage: `70` is refused
    (it would read as 7000%), `70%` is 0.70. A percentage on any other indicator is refused."""
    m = re.fullmatch(
        r"\s*([A-Za-z_]\w*(?:\[\s*[A-Za-z_]\w*\s*\])?)\s*=\s*([^@\s]+)\s*@\s*(\S+)\s*", text or ""
    )
    if m is None:
        raise InputError(file, field_, f"expected INDICATOR=VALUE@YEAR, e.g. "
                         f"urbanization_rate=0.70@2035, got {text!r}")
    indicator, raw_value, raw_year = m.groups()
    try:
        value = float(raw_value[:-1]) / 100 if raw_value.endswith("%") else float(raw_value)
    except ValueError:
        raise InputError(file, field_, f"target value {raw_value!r} is not a number") from None
    if not math.isfinite(value):
        raise InputError(file, field_, f"target value {raw_value!r} is not a finite number")
    try:
        year_f = float(raw_year)
    except ValueError:
        raise InputError(file, field_, f"target year {raw_year!r} is not a number") from None
    if year_f != int(year_f):
        raise InputError(file, field_, f"target year {raw_year!r} is not a whole year")
    year = int(year_f)
    start, stop = int(spec.time.start), int(math.floor(spec.time.stop))
    if not start <= year <= stop:
        raise InputError(file, field_, f"target year {year} is outside the run years {start}-{stop}")
    name, _, element = indicator.replace(" ", "").partition("[")
    element = element.rstrip("]")
    var = variable(spec, name)
    if var is None:
        kind = "a constant" if name in spec.constants else None
        if kind:
            raise InputError(file, field_, f"{name!r} is a constant; a target names an auxiliary or a stock")
        names = list(spec.auxiliaries or {}) + list(spec.stocks or {})
        raise InputError(file, field_, f"unknown indicator {name!r}{suggest(name, names)}")
    dims = list(getattr(var, "dims", None) or [])
    if dims:
        elements = list(spec.dimensions[dims[0]].elements)
        if not element:
            raise InputError(file, field_, f"{name!r} is per {dims[0]}; name one element, "
                             f"e.g. '{name}[{elements[0]}]=...'")
        if element not in elements:
            raise InputError(file, field_, f"unknown {dims[0]} {element!r}{suggest(element, elements)}")
        indicator = f"{name}[{element}]"
    elif element:
        raise InputError(file, field_, f"{name!r} is not subscripted; drop '[{element}]'")
    else:
        indicator = name
    if is_share(spec, name):
        if not 0.0 <= value <= 1.0:
            raise InputError(file, field_, f"{name} is a share between 0 and 1, not {raw_value}: write "
                             f"{value / 100:g} or {value:g}%" if 1.0 < value <= 100.0 else
                             f"{name} is a share between 0 and 1, not {raw_value}")
    elif raw_value.endswith("%"):
        raise InputError(file, field_, f"{name} is not a share; give its value in {getattr(var, 'unit', 'its unit')}, "
                         f"not {raw_value}")
    return GoalTarget(indicator, value, year)


def default_target(scenario: Any) -> GoalTarget:
    """The scenario's urbanization-rate target in its latest year (the plan's 70% in 2035)."""
    ts = [t for t in scenario.targets if t.indicator == "urbanization_rate"] or list(scenario.targets)
    if not ts:
        raise InputError(CLI, "--target", f"scenario {scenario.name!r} has no targets; "
                         "give one, e.g. --target urbanization_rate=0.70@2035")
    t = max(ts, key=lambda t: t.year)
    return GoalTarget(t.indicator, float(t.value), int(t.year))


def _levers(spec: Any) -> list[str]:
    return [n for n, c in spec.constants.items() if getattr(c, "lever", False)]


def lever_bounds(spec: Any, lever: str, low: float | None = None, high: float | None = None,
                 file: str = CLI, field_: str = "--lever") -> tuple[float, float]:
    """The searched range of `lever`: its model bounds, narrowed by `low`/`high`."""
    if lever not in spec.constants:
        if variable(spec, lever) is not None or lever in (spec.lookups or {}):
            raise InputError(file, field_, f"{lever!r} is not a constant; goal seeking sets a "
                             f"constant (levers: {', '.join(_levers(spec)) or 'none'})")
        hint = suggest(lever, _levers(spec)) or suggest(lever, list(spec.constants))
        raise InputError(file, field_, f"unknown lever {lever!r}{hint} "
                         f"(levers: {', '.join(_levers(spec)) or 'none'})")
    const = spec.constants[lever]
    if len(list(const.dims or [])) > 1:
        raise InputError(file, field_, f"{lever!r} has more than one dimension; not supported")
    b = const.bounds
    if b is None or not all(x is not None and math.isfinite(x) for x in b):
        raise InputError(file, field_, f"{lever!r} has no finite bounds in the model file; "
                         "goal seeking searches within a constant's bounds")
    lo, hi = float(b[0]), float(b[1])
    if low is not None:
        if not lo <= low <= hi:
            raise InputError(file, "--range", f"low {low:g} is outside the bounds [{lo:g}, {hi:g}] of {lever}")
        lo = float(low)
    if high is not None:
        if not lo <= high <= float(b[1]):
            raise InputError(file, "--range", f"high {high:g} is outside [{lo:g}, {b[1]:g}] for {lever}")
        hi = float(high)
    if not hi > lo:
        raise InputError(file, field_, f"{lever!r}: the searched range [{lo:g}, {hi:g}] is empty "
                         "(its bounds fix it to one value)")
    return lo, hi


# --------------------------------------------------------------------------- evaluation


class _Evaluator:
    """Runs the scenario with levers replaced by given values, many runs per call."""

    def __init__(self, scenario: Any, target: GoalTarget, dt: float | None, method: str | None) -> None:
        from simulator.engine.compile import compile_model

        self.scenario = scenario
        self.spec = scenario.spec
        self.model = compile_model(scenario.spec)
        self.target = target
        self.dt, self.method = dt, method
        name, _, element = target.indicator.partition("[")
        self.var = name
        self.element = element.rstrip("]") or None
        self.calls = 0
        saved = [int(round(t)) for t in np.arange(self.spec.time.start, self.spec.time.stop + 1e-9,
                                                  self.spec.time.saveper)]
        if target.year not in saved:
            raise InputError(CLI, "--target", f"target year {target.year} is not a saved year of the run")
        self.row = saved.index(target.year)

    def _width(self, lever: str) -> int:
        dims = list(self.spec.constants[lever].dims or [])
        return len(self.spec.dimensions[dims[0]].elements) if dims else 0

    def values(self, settings: dict[str, np.ndarray]) -> np.ndarray:
        """The indicator in the target year for each run; `settings[lever]` has shape (n,)."""
        from simulator.engine.integrate import simulate

        n = len(next(iter(settings.values())))
        params = dict(self.scenario.params)
        for lever, xs in settings.items():
            xs = np.asarray(xs, dtype=float).reshape(n)
            width = self._width(lever)
            params[lever] = np.repeat(xs[:, None], width, axis=1) if width else xs
        return self._indicator(simulate(self.model, params, n_runs=n, dt=self.dt,
                                        method=self.method, outputs=[self.var]))

    def one(self, lever: str, x: float) -> float:
        return float(self.values({lever: np.array([x])})[0])

    def as_set(self) -> float:
        """The indicator with the scenario as it is."""
        from simulator.engine.integrate import simulate

        return float(self._indicator(simulate(self.model, self.scenario.params, dt=self.dt,
                                              method=self.method, outputs=[self.var]))[0])

    def _indicator(self, run: Any) -> np.ndarray:
        """The indicator (one county's, if it names one) in the target year, per run."""
        self.calls += 1
        data = run.data[self.var]
        if data.ndim == 3:
            j = list(run.elements[run.dims[self.var][0]]).index(self.element)
            data = data[:, :, j]
        return data[:, self.row]


def _scenario_setting(scenario: Any, lever: str) -> Any:
    value = scenario.params.get(lever)
    if value is None:
        v = scenario.spec.constants[lever].value
        return dict(v) if isinstance(v, dict) else float(v)
    if isinstance(value, TimeSeries):
        return {str(int(y)): (v.tolist() if np.ndim(v) else float(v))
                for y, v in zip(value.years, value.values)}
    arr = np.asarray(value, dtype=float)
    return float(arr) if arr.ndim == 0 else arr.tolist()


def _monotone(values: np.ndarray) -> bool:
    d = np.diff(values)
    tol = FLAT_TOLERANCE * max(1.0, float(np.nanmax(np.abs(values))))
    return bool(np.all(d >= -tol) or np.all(d <= tol))


def goal_seek(
    scenario: Any,
    lever: str,
    target: GoalTarget,
    *,
    low: float | None = None,
    high: float | None = None,
    grid: int = DEFAULT_GRID,
    dt: float | None = None,
    method: str | None = None,
) -> GoalSeekResult:
    """The setting of `lever` at which `target` is reached (see the module docstring)."""
    from scipy.optimize import brentq, minimize_scalar

    spec = scenario.spec
    lo, hi = lever_bounds(spec, lever, low, high)
    if grid < 3:
        raise InputError(CLI, "--grid", f"needs at least 3 points, got {grid}")
    ev = _Evaluator(scenario, target, dt, method)
    notes: list[str] = []
    if isinstance(scenario.params.get(lever), TimeSeries):
        notes.append(f"the scenario sets {lever} as a time series; goal seeking replaces it by "
                     "one constant value from the run start")
    if not getattr(spec.constants[lever], "lever", False):
        notes.append(f"{lever} is a model constant not marked as a policy lever")
    if list(spec.constants[lever].dims or []):
        notes.append(f"{lever} is per county; goal seeking sets the same value in every county")

    xs = np.linspace(lo, hi, grid)
    fs = ev.values({lever: xs})
    if not np.all(np.isfinite(fs)):
        bad = xs[~np.isfinite(fs)]
        notes.append(f"the run gives no number (NaN/inf) at {lever} = {bad[0]:g}; those points are skipped")
    ok = np.isfinite(fs)
    mono = _monotone(fs[ok]) if ok.sum() > 1 else True
    if not mono:
        notes.append("the response is not monotone over the lever's range; the first crossing "
                     "in the main direction is reported")
    goal = target.value
    flat_tol = FLAT_TOLERANCE * max(1.0, float(np.nanmax(np.abs(fs))))
    rising = fs[ok][-1] >= fs[ok][0]
    flat = bool(np.nanmax(fs) - np.nanmin(fs) <= flat_tol)
    direction = "none" if flat else ("at least" if rising else "at most")
    span = float(np.nanmax(fs) - np.nanmin(fs))
    if flat:
        notes.append(f"{target.indicator} in {target.year} does not respond to {lever}")
    elif span < WEAK_RESPONSE:
        notes.append(f"{target.indicator} in {target.year} hardly responds to {lever}: it "
                     f"changes by {span:.2g} over the whole range")

    f = lambda x: ev.one(lever, x) - goal  # noqa: E731
    top = float(np.nanmax(fs))
    plateau = np.flatnonzero(ok & (fs >= top - max(flat_tol, 1e-9 * abs(top))))
    if not flat and plateau.size > 1 and (plateau[-1] == grid - 1 or plateau[0] == 0):
        up = plateau[-1] == grid - 1
        where = f"from {xs[plateau[0]]:.4g} up" if up else f"up to {xs[plateau[-1]]:.4g}"
        notes.append(f"{target.indicator} levels off: the best value is reached {where} "
                     f"and {'more' if up else 'less'} of {lever} adds nothing")
    reach = ok & (fs >= goal)
    best_i = int(np.nanargmax(np.where(ok, fs, -np.inf)))
    best_x, best_f = float(xs[best_i]), float(fs[best_i])
    bracket: tuple[float, float] | None = None

    if not reach.any() and not mono:
        # a monotone response peaks at an end (or on a plateau reaching it); a non-monotone
        # one may peak between grid points: refine the best point with a bounded 1-D search
        a, b = xs[max(best_i - 1, 0)], xs[min(best_i + 1, grid - 1)]
        res = minimize_scalar(lambda x: -ev.one(lever, x), bounds=(a, b), method="bounded",
                              options={"xatol": (hi - lo) * 1e-6})
        if -res.fun > best_f:
            best_x, best_f = float(res.x), float(-res.fun)
        if best_f >= goal:  # reachable after all: bracket from the grid side below it
            bracket = (float(xs[best_i - 1]), best_x) if (rising and best_i > 0) else \
                      (best_x, float(xs[min(best_i + 1, grid - 1)]))

    status, setting, value = "unreachable", None, None
    if reach.any():
        idx = np.flatnonzero(reach)
        if rising or flat:
            i = int(idx[0])
            if i == 0:
                status, setting, value = "reached at every setting", float(xs[0]), float(fs[0])
            else:
                bracket = (float(xs[i - 1]), float(xs[i]))
        else:
            i = int(idx[-1])
            if i == grid - 1:
                status, setting, value = "reached at every setting", float(xs[-1]), float(fs[-1])
            else:
                bracket = (float(xs[i]), float(xs[i + 1]))
        if status == "reached at every setting" and not mono:
            notes.append("the end of the range reaches the target, but the response is not monotone")
    if bracket is not None:
        a, b = bracket
        xtol = XTOL_FRACTION * (hi - lo)
        x = float(brentq(f, a, b, xtol=xtol))
        # brentq's x lies within xtol of the crossing, possibly just short of it: step toward
        # the reaching end of the bracket until the target is reached
        reach_end = b if f(b) >= 0 else a
        step = xtol
        v = f(x)
        while v < 0:
            x = min(x + step, reach_end) if reach_end > x else max(x - step, reach_end)
            v = f(x)
            step *= 2
        status, setting, value = "reached", x, v + goal

    return GoalSeekResult(
        scenario=scenario.name, lever=lever, indicator=target.indicator, target=goal,
        year=target.year, status=status, direction=direction, setting=setting, value=value,
        best_setting=best_x, best_value=best_f,
        scenario_setting=_scenario_setting(scenario, lever), scenario_value=ev.as_set(),
        bounds=(lo, hi), monotone=mono, grid=xs.tolist(), grid_values=fs.tolist(),
        evaluations=ev.calls, notes=notes,
    )


def frontier(
    scenario: Any,
    lever_a: str,
    lever_b: str,
    target: GoalTarget,
    *,
    grid: int = DEFAULT_FRONTIER_GRID,
    dt: float | None = None,
    method: str | None = None,
) -> Frontier:
    """The indicator over a grid of two levers (one vectorized run) and the target frontier."""
    if lever_a == lever_b:
        raise InputError(CLI, "--lever", f"the two levers are the same ({lever_a})")
    if grid < 3:
        raise InputError(CLI, "--grid", f"needs at least 3 points, got {grid}")
    spec = scenario.spec
    lo_a, hi_a = lever_bounds(spec, lever_a)
    lo_b, hi_b = lever_bounds(spec, lever_b)
    ga, gb = np.linspace(lo_a, hi_a, grid), np.linspace(lo_b, hi_b, grid)
    A, B = np.meshgrid(ga, gb)  # rows: lever B, columns: lever A
    ev = _Evaluator(scenario, target, dt, method)
    vals = ev.values({lever_a: A.ravel(), lever_b: B.ravel()}).reshape(A.shape)
    goal = target.value
    rising = bool(np.nanmean(vals[-1, :]) >= np.nanmean(vals[0, :]))
    front: list[float | None] = []
    for j in range(len(ga)):
        col = vals[:, j]
        hit = np.flatnonzero(col >= goal)
        if not hit.size:
            front.append(None)
            continue
        i = int(hit[0]) if rising else int(hit[-1])
        k = i - 1 if rising else i + 1  # the neighbour on the short side
        if (rising and i == 0) or (not rising and i == len(gb) - 1):
            front.append(float(gb[i]))
            continue
        y0, y1 = col[k], col[i]
        w = (goal - y0) / (y1 - y0) if y1 != y0 else 1.0
        front.append(float(gb[k] + w * (gb[i] - gb[k])))
    notes = []
    if all(v is None for v in front):
        notes.append(f"no point of the grid reaches {target}; best {float(np.nanmax(vals)):.6g}")
    for name in (lever_a, lever_b):
        if isinstance(scenario.params.get(name), TimeSeries):
            notes.append(f"the scenario sets {name} as a time series; the grid replaces it by constants")
    return Frontier(
        scenario=scenario.name, lever_a=lever_a, lever_b=lever_b, target=target,
        grid_a=ga.tolist(), grid_b=gb.tolist(), values=vals.tolist(), frontier_b=front,
        direction_b="at least" if rising else "at most", notes=notes,
    )
