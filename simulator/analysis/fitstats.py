"""Goodness of fit of a simulated series to an observed one (Sterman 1984, 2000 ch. 21).

MAPE, R^2, and Theil's inequality statistics, which split the mean squared error into
bias (U^M), unequal variation (U^S) and unequal covariation (U^C); U^M + U^S + U^C = 1.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np


@dataclass(frozen=True)
class Fit:
    """Fit statistics of one series; `n` is the number of observations compared."""

    n: int
    mape: float
    r2: float
    mse: float
    u_m: float
    u_s: float
    u_c: float

    def as_dict(self) -> dict[str, float]:
        return asdict(self)


def fit_statistics(simulated: np.ndarray, observed: np.ndarray) -> Fit:
    """Fit of `simulated` to `observed` (same shape, paired by position)."""
    s = np.asarray(simulated, dtype=float).ravel()
    a = np.asarray(observed, dtype=float).ravel()
    if s.shape != a.shape or s.size == 0:
        raise ValueError(f"need two series of the same non-zero length, got {s.size} and {a.size}")
    mse = float(np.mean((s - a) ** 2))
    mape = float(np.mean(np.abs((s - a) / a)))
    # r is undefined for a single point or a flat series; then R^2 and U^C are reported as nan
    sd_s, sd_a = float(np.std(s)), float(np.std(a))
    r = float(np.corrcoef(s, a)[0, 1]) if s.size > 1 and sd_s > 0 and sd_a > 0 else float("nan")
    if mse == 0:
        return Fit(s.size, mape, r * r, 0.0, 0.0, 0.0, 0.0)
    u_m = (float(np.mean(s)) - float(np.mean(a))) ** 2 / mse
    u_s = (sd_s - sd_a) ** 2 / mse
    u_c = 2 * (1 - r) * sd_s * sd_a / mse if r == r else float("nan")
    return Fit(s.size, mape, r * r, mse, u_m, u_s, u_c)
