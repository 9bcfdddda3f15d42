"""A time-series lever: values at given years, linear between them, flat outside."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class TimeSeries:
    """Knots `years` (ascending) and `values` of shape (k,) for a scalar constant, or
    (k, *sizes) for a subscripted one (its dims in declared order)."""

    years: np.ndarray
    values: np.ndarray

    def at(self, t: float) -> np.ndarray | float:
        """The value at time t: linear interpolation, held constant beyond the ends."""
        if self.values.ndim == 1:
            return float(np.interp(t, self.years, self.values))
        flat = self.values.reshape(len(self.values), -1)
        out = np.array([np.interp(t, self.years, col) for col in flat.T])
        return out.reshape(self.values.shape[1:])
