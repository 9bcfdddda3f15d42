"""Whether a time step is stable for the model's delays, and the one-line refusal when it is not.

A smooth is one first-order stage of time `delay`, a delay3 three stages of `delay / 3`. On such
a stage an explicit method multiplies the numerical error by a fixed factor every step, and
that factor passes -1 (Euler) or +1 (Heun, RK4) once dt exceeds a fixed multiple of the stage time,
`LIMITS`: from then on the error grows step after step and the run is wrong however it looks.
The check refuses those steps. It does not judge accuracy (the validation's integration-error
test does), and it covers delay times written as a constant or a number; an expression is not
checked.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

from simulator.engine.ir import DelayTime
from simulator.errors import InputError, StepTooLong


def _rk4_limit() -> float:
    """How many stage times RK4 can step before its growth factor on a first-order decay,
    1 - x + x^2/2 - x^3/6 + x^4/24 at x = dt / stage, reaches 1: the real root of
    x^3 - 4x^2 + 12x - 24 = 0 (the factor never falls below 0)."""
    roots = np.roots([1.0, -4.0, 12.0, -24.0])
    return float(roots[np.argmin(np.abs(roots.imag))].real)


#: the longest stable step on a first-order stage, in stage times (x = dt / stage): Euler's growth
#: factor is 1 - x, which reaches -1 at 2; Heun's 1 - x + x^2/2, which reaches 1 at 2; RK4's is the
#: quartic above, which reaches 1 at 2.785
LIMITS: dict[str, float] = {"euler": 2.0, "heun": 2.0, "rk4": _rk4_limit()}


def longest_step(delay: float, stages: int, method: str) -> float:
    """The step beyond which `method` is unstable on a delay of `delay` years in `stages` stages."""
    return LIMITS[method] * delay / stages


def whole_step(limit: float) -> float:
    """The longest step that divides one year into whole steps and is shorter than `limit`."""
    return 1.0 / (math.floor(1.0 / limit) + 1)


def _reason(d: DelayTime, what: str, delay: float, dt: float, method: str) -> str | None:
    """Why `dt` is unstable for delay `d` at a delay time of `delay` (`what` says where that
    value comes from), or None if it is stable."""
    where = f"{d.fn} in '{d.owner}'"
    if not delay > 0:  # also NaN
        return f"{where}: {what} is not a positive delay time"
    limit = longest_step(delay, d.stages, method)
    if dt < limit:
        return None
    stage = delay / d.stages
    return (f"{where}: {what} makes {d.stages} stage{'s' if d.stages > 1 else ''} of {stage:.3g} year, and "
            f"{method} is stable only for a time step shorter than {LIMITS[method]:.3f} stage times "
            f"({limit:.3g} year), not {dt:g}: use a time step of {whole_step(limit):g} or less")


def check_step(delays: Iterable[DelayTime], values: Mapping[str, Any], dt: float, method: str) -> None:
    """StepTooLong if `dt` under `method` is unstable for a delay at its delay time: a number, or
    the smallest value in `values[constant]` (a number or an array of any shape)."""
    for d in delays:
        if d.constant is None:
            delay, what = float(d.number), f"a delay time of {d.number:g} year"
        elif d.constant in values:
            delay = float(np.min(values[d.constant]))
            what = f"{d.constant} = {delay:g} year"
        else:
            continue
        reason = _reason(d, what, delay, dt, method)
        if reason is not None:
            raise StepTooLong(reason)


def check_model(spec: Any, delays: Iterable[DelayTime], values: Mapping[str, Any]) -> None:
    """InputError if the model's own time step and method are unstable for a delay anywhere in
    the range a run may give its delay time: down to its constant's lower bound, else at the
    constant's value (`values`), or at the number written in the equation."""
    dt, method = float(spec.time.dt), spec.time.method
    for d in delays:
        c = spec.constants.get(d.constant) if d.constant is not None else None
        if d.constant is None:
            table = "flows" if d.owner in spec.flows else "auxiliaries"
            field, delay, what = f"{table}.{d.owner}.equation", float(d.number), f"a delay time of {d.number:g} year"
        elif c is None:
            continue
        elif c.bounds is not None:
            field, delay = f"constants.{d.constant}.bounds", float(c.bounds[0])
            what = f"the lower bound {delay:g} year of {d.constant}"
        else:
            field, delay = f"constants.{d.constant}.value", float(np.min(values[d.constant]))
            what = f"{d.constant} = {delay:g} year"
        reason = _reason(d, what, delay, dt, method)
        if reason is not None:
            raise InputError(spec.path, field, f"{reason} (time.dt is {dt:g}, time.method {method})")
