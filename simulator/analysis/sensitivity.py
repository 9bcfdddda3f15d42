"""Sweep step 4, analysis: sensitivity indices and the probability of reaching each target.

`analyze(...)` uses SALib's sobol/morris analysers, and Spearman rank correlation for
`mc`; `target_probabilities(...)` is the share of runs at or above each target. Sobol'
and Morris indices are computed on the unit-cube coordinates (`sampling.unit_samples`):
Sobol' indices do not change under the monotone maps to values; Morris mu* is per unit
of quantile.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np

from simulator.analysis.sampling import METHODS, MORRIS_LEVELS, salib_problem

#: SALib's defaults: bootstrap resamples and confidence level of the indices
RESAMPLES = 100
CONF_LEVEL = 0.95


def column_name(indicator: str, year: int) -> str:
    return f"{indicator}@{year}"


def analyze(method: str, names: Sequence[str], unit: np.ndarray, Y: np.ndarray,
            outputs: Sequence[str], *, seed: int) -> list[dict[str, Any]]:
    """Sensitivity indices of each output column (one row per output x parameter).

    sobol: S1, S1_conf, ST, ST_conf (SALib, 95% bootstrap CIs); morris: mu, mu_star,
    mu_star_conf, sigma (per unit of quantile); mc: Spearman rank correlation.
    """
    Y = np.asarray(Y, dtype=float)
    if Y.ndim == 1:
        Y = Y[:, None]
    problem = salib_problem(len(names), names)
    rows: list[dict[str, Any]] = []
    for j, output in enumerate(outputs):
        y = np.ascontiguousarray(Y[:, j])
        with np.errstate(divide="ignore", invalid="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            if method == "sobol":
                from SALib.analyze import sobol

                # a Generator, not the int: SALib 1.6 tests `if seed:`, so seed 0 would not be seeded
                si = sobol.analyze(problem, y, calc_second_order=False, num_resamples=RESAMPLES,
                                   conf_level=CONF_LEVEL, seed=np.random.default_rng(seed))
                for p, name in enumerate(names):
                    rows.append({"output": output, "parameter": name,
                                 "S1": float(si["S1"][p]), "S1_conf": float(si["S1_conf"][p]),
                                 "ST": float(si["ST"][p]), "ST_conf": float(si["ST_conf"][p])})
            elif method == "morris":
                from SALib.analyze import morris

                si = morris.analyze(problem, np.asarray(unit, dtype=float), y, num_resamples=RESAMPLES,
                                    conf_level=CONF_LEVEL, num_levels=MORRIS_LEVELS,
                                    seed=np.random.default_rng(seed))
                for p, name in enumerate(names):
                    rows.append({"output": output, "parameter": name,
                                 "mu": float(si["mu"][p]), "mu_star": float(si["mu_star"][p]),
                                 "mu_star_conf": float(si["mu_star_conf"][p]),
                                 "sigma": float(si["sigma"][p])})
            elif method == "mc":
                for p, name in enumerate(names):
                    rows.append({"output": output, "parameter": name,
                                 "spearman_rho": _spearman(np.asarray(unit)[:, p], y)})
            else:
                raise ValueError(f"method must be one of {METHODS}, not {method!r}")
    return rows


def _spearman(x: np.ndarray, y: np.ndarray) -> float:
    from scipy.stats import spearmanr

    ok = np.isfinite(y)
    if ok.sum() < 3 or np.ptp(y[ok]) == 0 or np.ptp(x[ok]) == 0:
        return math.nan
    return float(spearmanr(x[ok], y[ok]).statistic)


def target_probabilities(Y: np.ndarray, columns: Sequence[str], targets: Sequence[Any]) -> list[dict]:
    """Share of runs whose indicator reaches each target (value >= target; NaN: not reached)."""
    out = []
    for t in targets:
        j = list(columns).index(column_name(t.indicator, t.year))
        y = np.asarray(Y[:, j], dtype=float)
        reached = int(np.count_nonzero(y >= t.value))  # NaN >= x is False
        finite = y[np.isfinite(y)]
        out.append({
            "indicator": t.indicator, "year": int(t.year), "target": float(t.value),
            "probability": reached / len(y) if len(y) else math.nan,
            "runs": int(len(y)), "reached": reached, "nan_runs": int(len(y) - len(finite)),
            "median": float(np.median(finite)) if len(finite) else math.nan,
        })
    return out
