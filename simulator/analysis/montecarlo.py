"""A Monte Carlo batch of a scenario's `uncertain:` constants, in one process: the band and the
target probabilities that `urbsd validate` and `urbsd explore` show (the `urbsd sweep` of a small
N, without files). A posterior block is drawn as one input (joint rows), as the sweep does."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from simulator.analysis.sampling import sampling_groups, to_values, unit_samples
from simulator.analysis.sensitivity import column_name
from simulator.analysis.sweep import ModelEvaluator


@dataclass(frozen=True)
class MonteCarlo:
    """The outputs of `runs` sampled runs: one row per run, one column per recorded output."""

    names: list[str]
    outputs: np.ndarray
    columns: list[str]
    years: list[int]

    def series(self, variable: str) -> np.ndarray | None:
        """(runs, years) of one recorded series, or None if it is not recorded every year."""
        cols = [self.columns.index(column_name(variable, y)) for y in self.years
                if column_name(variable, y) in self.columns]
        return self.outputs[:, cols] if len(cols) == len(self.years) else None


def monte_carlo(scenario: Any, runs: int, seed: int) -> MonteCarlo | None:
    """Sample the scenario's uncertain constants `runs` times (plain Monte Carlo, `seed`) and run
    them as one batch; None when the scenario has nothing uncertain."""
    names = list(scenario.uncertain)
    if not names:
        return None
    spec = scenario.spec
    dists = [scenario.uncertain[n] for n in names]
    consts = [spec.constants[n.split("[", 1)[0]] for n in names]  # a posterior column may be name[element]
    bounds = [tuple(c.bounds) if c.bounds is not None else None for c in consts]
    groups = sampling_groups(names, dists)
    values = to_values(unit_samples("mc", runs, len(groups), seed), dists, bounds, groups)
    evaluator = ModelEvaluator(scenario, tuple(names))
    return MonteCarlo(names, evaluator(values), evaluator.column_names, [int(y) for y in evaluator.years])
