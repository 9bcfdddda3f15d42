"""Sweep step 1, sampling: points in the unit cube, mapped to constant values.

`unit_samples(method, n, k, seed)` gives points in [0, 1]^k: SALib's Saltelli/Sobol'
sequence (`sobol`, N(k+2) rows, first and total order only), SALib's Morris trajectories
(`morris`, N(k+1) rows on a 4-level grid), or plain Monte Carlo (`mc`, N rows from
numpy's PCG64). `to_values(unit, distributions, bounds)` maps each column through its
`Distribution.ppf` (inverse CDF). SALib's own `dists` are not used: they know no discrete
distribution. A normal distribution is truncated to the constant's bounds (its quantiles
are rescaled into [F(low), F(high)]), so no run leaves the bounds. Constants drawn jointly
from a posterior file share one unit column that picks whole rows (`sampling_groups`).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np

METHODS = ("sobol", "morris", "mc")
#: the seed used when none is given, so that a plain rerun reproduces the files
DEFAULT_SEED = 0
#: SALib's default number of grid levels of Morris trajectories
MORRIS_LEVELS = 4
#: an unbounded normal maps quantile 0 or 1 (Morris' grid ends) to +-inf; clip to these tails
NORMAL_TAIL = 1e-6


def samples_rows(method: str, n: int, k: int) -> int:
    """Number of model runs that `n` samples of `k` constants give for `method`."""
    return {"sobol": n * (k + 2), "morris": n * (k + 1), "mc": n}[method]


def salib_problem(k: int, names: Sequence[str] | None = None) -> dict[str, Any]:
    names = list(names) if names is not None else [f"x{i + 1}" for i in range(k)]
    return {"num_vars": k, "names": names, "bounds": [[0.0, 1.0]] * k}


def unit_samples(method: str, n: int, k: int, seed: int) -> np.ndarray:
    """Sample points in [0, 1]^k for `method`: (N(k+2), k) sobol, (N(k+1), k) morris, (N, k) mc."""
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, not {method!r}")
    if n < 1 or k < 1:
        raise ValueError(f"need n >= 1 and k >= 1, got n={n}, k={k}")
    if method == "mc":
        return np.random.default_rng(seed).random((n, k))
    with warnings.catch_warnings():
        # SALib warns when N is not a power of 2 (the CLI says so once, in its own words)
        warnings.simplefilter("ignore", UserWarning)
        if method == "sobol":
            from SALib.sample import sobol

            return sobol.sample(salib_problem(k), n, calc_second_order=False, seed=seed)
        from SALib.sample import morris

        return morris.sample(salib_problem(k), n, num_levels=MORRIS_LEVELS, seed=seed)


#: the name of a posterior block in the sensitivity indices (Sobol' treats it as one input)
POSTERIOR_GROUP = "posterior"


def sampling_groups(names: Sequence[str], distributions: Sequence[Any]) -> list[tuple[str, list[int]]]:
    """The unit-cube columns: (name, indices of the constants it sets). An independent
    distribution is its own column; the constants drawn from one posterior file (joint
    draws) share one column, which picks a whole row of draws, so their correlations are
    kept. That block is named `posterior` (`posterior:FILE` if there are several)."""
    groups: list[tuple[str, list[int]]] = []
    blocks: dict[int, int] = {}
    for j, d in enumerate(distributions):
        joint = getattr(d, "joint", None)
        if getattr(d, "dist", None) == "posterior" and joint is not None:
            if id(joint) not in blocks:
                blocks[id(joint)] = len(groups)
                groups.append((f"{POSTERIOR_GROUP}:{joint.file}", []))
            groups[blocks[id(joint)]][1].append(j)
        else:
            groups.append((names[j], [j]))
    if len(blocks) == 1:
        (g,) = blocks.values()
        groups[g] = (POSTERIOR_GROUP, groups[g][1])
    return groups


def check_method(method: str, distributions: Sequence[Any]) -> str | None:
    """Why `method` cannot sample these distributions (None if it can)."""
    if method == "morris" and any(getattr(d, "dist", None) == "posterior" for d in distributions):
        return ("morris needs each input on an ordered grid, and the rows of a posterior file have no order; "
                "use --method sobol (the posterior as one input) or mc")
    return None


def to_values(unit: np.ndarray, distributions: Sequence[Any],
              bounds: Sequence[tuple[float, float] | None] | None = None,
              groups: Sequence[tuple[str, list[int]]] | None = None) -> np.ndarray:
    """Map unit-cube samples through each Distribution's ppf: (n, number of distributions).

    `unit` has one column per group (`sampling_groups`, the default), or one per distribution:
    then a posterior block reads the column of its first constant (fine for Monte Carlo, whose
    columns are independent uniforms; Sobol' and Morris designs must be drawn per group). A
    posterior block's column u picks row floor(u * rows) of its draws for all its constants:
    uniform over the rows, with replacement, so their correlations are kept.
    """
    unit = np.asarray(unit, dtype=float)
    bounds = list(bounds) if bounds is not None else [None] * len(distributions)
    if groups is None:
        groups = sampling_groups([str(j) for j in range(len(distributions))], distributions)
    groups = list(groups)
    if unit.shape[1] == len(groups):
        column = list(range(len(groups)))
    elif unit.shape[1] == len(distributions):
        column = [cols[0] for _, cols in groups]
    else:
        raise ValueError(f"{unit.shape[1]} unit columns for {len(groups)} inputs ({len(distributions)} constants)")
    out = np.empty((unit.shape[0], len(distributions)))
    for g, (_, cols) in enumerate(groups):
        g = column[g]
        first = distributions[cols[0]]
        if first.dist == "posterior":
            joint = first.joint
            rows = np.clip((unit[:, g] * joint.rows).astype(np.int64), 0, joint.rows - 1)
            out[:, cols] = joint.values[rows][:, [distributions[j].column for j in cols]]
            continue
        (j,) = cols
        dist, bound = first, bounds[j]
        q = unit[:, g]
        if dist.dist == "normal":
            from scipy.stats import norm

            lo, hi = (0.0, 1.0) if bound is None else (
                float(norm.cdf(bound[0], dist.mean, dist.sd)), float(norm.cdf(bound[1], dist.mean, dist.sd)))
            q = np.clip(lo + q * (hi - lo), NORMAL_TAIL, 1.0 - NORMAL_TAIL)
        values = dist.ppf(q)
        if bound is not None:
            values = np.clip(values, bound[0], bound[1])
        out[:, j] = values
    return out
