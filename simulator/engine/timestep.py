"""The time step and the run horizon: one check, used by the model loader, the integrator
and the command line (`--dt`), so they never disagree on what they accept.

A time step must divide the save interval into whole steps (the saved years fall on
steps); "whole" allows a relative error of `TOLERANCE` in the step count, so that 0.1 or a
1/3 written to 13 digits is accepted, and the step used is then exactly saveper / n (no
drift over the run). A run may span at most `MAX_YEARS` years, and a step may not be
shorter than `MIN_DT`, so a run has at most `MAX_STEPS` steps whatever its horizon. Model
files save at whole years (the results are yearly tables), so a `--dt` that divides one
year divides every model's save interval: the command line can check it before any model
is loaded, with the same function.
"""

from __future__ import annotations

import math

#: the longest run, in years
MAX_YEARS = 200.0
#: the most steps of one run
MAX_STEPS = 1_000_000
#: the shortest time step: MAX_STEPS steps over the longest run
MIN_DT = MAX_YEARS / MAX_STEPS
#: relative tolerance on the number of steps per save interval
TOLERANCE = 1e-10


def steps_per_save(dt: float, saveper: float = 1.0) -> int:
    """The number of time steps `dt` makes of one save interval; ValueError (the reason, one
    line) if dt is not a positive step that divides it into whole steps, or is too short."""
    if not isinstance(dt, (int, float)) or isinstance(dt, bool) or not math.isfinite(dt) or dt <= 0:
        raise ValueError(f"must be a positive number of years, not {dt!r}")
    if dt < MIN_DT * (1 - TOLERANCE):
        raise ValueError(f"{dt:g} is below {MIN_DT:g} year: a run has at most {MAX_STEPS:,} steps "
                         f"(over the longest run allowed, {MAX_YEARS:g} years)")
    if dt > saveper * (1 + TOLERANCE):
        raise ValueError(f"{dt:g} is longer than the save interval {saveper:g}: it must divide it into whole steps")
    steps = saveper / dt
    n = round(steps)
    if n < 1 or abs(steps - n) > TOLERANCE * n:
        unit = "one year" if saveper == 1 else f"the save interval {saveper:g}"
        near = f" ({saveper:g}/{n} is {saveper / n!r})" if n >= 1 else ""
        raise ValueError(f"{dt!r} does not divide {unit} into whole steps{near}; use e.g. 1, 0.5, 0.25, 0.2, "
                         "0.125, 0.1")
    return n


def time_step(dt: float, saveper: float = 1.0) -> float:
    """The step actually used for `dt`: exactly saveper / n (ValueError as `steps_per_save`)."""
    return saveper / steps_per_save(dt, saveper)


def check_horizon(start: float, stop: float, saveper: float = 1.0) -> int:
    """The number of save intervals from start to stop; ValueError if the run is empty, longer
    than MAX_YEARS, or not a whole number of save intervals."""
    for x in (start, stop, saveper):
        if not math.isfinite(x):
            raise ValueError(f"times must be finite numbers, not {x}")
    span = stop - start
    if span <= 0:
        raise ValueError(f"the run must end after it starts ({start:g} to {stop:g})")
    if span > MAX_YEARS * (1 + TOLERANCE):
        raise ValueError(f"the run from {start:g} to {stop:g} spans {span:g} years; at most {MAX_YEARS:g}")
    saves = span / saveper
    n = round(saves)
    if n < 1 or abs(saves - n) > TOLERANCE * n:
        raise ValueError(f"the run from {start:g} to {stop:g} is not a whole number of save intervals ({saveper:g})")
    return n
