"""A time-series lever: values at given years, linear between them, flat outside."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class TimeSeries:
    """Knots `years` (ascending) and `values` of shape (k,) or (k, n_elements)."""

    years: np.ndarray
    values: np.ndarray

    def at(self, t: float) -> np.ndarray | float:
        """The value at time t: linear interpolation, held constant beyond the ends."""
        if self.values.ndim == 1:
            return float(np.interp(t, self.years, self.values))
        return np.array([np.interp(t, self.years, col) for col in self.values.T])
