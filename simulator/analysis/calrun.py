"""A whole calibration: MAP fit, fit statistics, out-of-sample checks, posterior and bands.

`run_calibration(spec, ...)` does every step of `urbsd calibrate` that computes (nothing is
written here; `simulator.cli.calibrate` writes the files):

1. the MAP fit (`calibrate.fit`) with the spec's search settings;
2. MAPE, R^2 and Theil's statistics per fitted series (`calibrate.fit_table`), the
   inequality observations and the `check` observations (not fitted) at the MAP;
3. the posterior (`posterior.sample_posterior`) and the 5-95% bands of every observation
   over its draws (`posterior.predictive`), unless switched off;
4. with `holdout_after=YEAR`, all of it on the observations up to YEAR only, the later
   ones becoming checks: an out-of-sample test of the model and its fit.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from simulator.analysis.calibrate import (
    FitResult,
    Problem,
    bound_rows,
    compared_rows,
    fit,
    fit_table,
)
from simulator.analysis.calspec import CalibrationSpec
from simulator.analysis.limits import MAX_SWEEP_BYTES, check_call_runs
from simulator.analysis.posterior import PosteriorResult, predictive, sample_posterior
from simulator.errors import InputError


@dataclass
class CalibrationRun:
    """What `run_calibration` found."""

    spec: CalibrationSpec
    problem: Problem
    result: FitResult
    table: list[dict[str, Any]]
    checks: list[dict[str, Any]]
    check_table: list[dict[str, Any]]
    bounds: list[dict[str, Any]]
    posterior: PosteriorResult | None = None
    bands: list[dict[str, Any]] | None = None
    holdout_after: int | None = None
    seconds: dict[str, float] = field(default_factory=dict)

    def constant_parameters(self) -> list[Any]:
        """The fitted parameters that are model constants (written to the scenario and posterior file)."""
        return [p for p in self.problem.parameters if p.constant is not None]


def check_rows(problem: Problem, values: dict[str, float]) -> list[dict[str, Any]]:
    """Each `check` observation at `values`: observed, simulated, error, error / sigma."""
    return compared_rows(problem, values, lambda o: o.role == "check")


def check_work(spec: CalibrationSpec, walkers: int, steps: int, n_search: int) -> None:
    """Refuse (one line, before any run) a calibration that would not fit in memory: the walkers
    are one vectorized call; the search points and the chain (steps x walkers x parameters, and
    the log posterior) are held whole. The limits are `simulator.analysis.limits`'."""
    k = len(spec.parameters)
    if walkers:
        check_call_runs(walkers, spec.model, "--walkers", walkers, "use fewer --walkers")
    points = 2 ** max(1, math.ceil(math.log2(max(n_search, 2))))
    for flag, value, need in (("--samples", n_search, points * (k + 2) * 8),
                              ("--steps", steps, steps * walkers * (k + 1) * 8)):
        if need > MAX_SWEEP_BYTES:
            raise InputError("command line", flag, f"{value:,} needs about {need / 1e9:,.1f} GB of memory; the "
                             f"limit is {MAX_SWEEP_BYTES / 1e9:g} GB: use a smaller {flag}")


def run_calibration(spec: CalibrationSpec, *, holdout_after: int | None = None, posterior: bool = True,
                    walkers: int | None = None, steps: int | None = None, seed: int | None = None,
                    draws: int | None = None, n_search: int | None = None, n_starts: int | None = None,
                    progress: bool = False) -> CalibrationRun:
    """Fit, tabulate, check and (optionally) sample the posterior. Writes nothing.

    Command-line values (walkers, steps, seed, ...) override the spec's; bad ones raise InputError.
    """
    walkers = spec.posterior.walkers if walkers is None else walkers
    steps = spec.posterior.steps if steps is None else steps
    draws = spec.posterior.draws if draws is None else draws
    post_seed = spec.posterior.seed if seed is None else seed
    fit_seed = spec.fit.seed if seed is None else seed
    k = len(spec.parameters)
    if posterior:
        if walkers < 2 * k or walkers % 2:
            raise InputError("command line", "--walkers",
                             f"must be even and at least 2 per fitted parameter ({2 * k} for {k}), not {walkers}")
        if steps < 10:
            raise InputError("command line", "--steps", f"must be at least 10, not {steps}")
    check_work(spec, walkers if posterior else 0, steps if posterior else 0,
               spec.fit.search if n_search is None else n_search)
    problem = spec.problem(holdout_after)
    if holdout_after is not None:
        if not any(o.year > holdout_after for o in spec.observations):
            raise InputError(spec.path.name, "--holdout-after",
                             f"no observation after {holdout_after}: nothing to predict")
        if not problem.fitted().any():
            raise InputError(spec.path.name, "--holdout-after", f"no fitted observation up to {holdout_after}")
    seconds: dict[str, float] = {}
    t0 = time.perf_counter()
    result = fit(problem, n_search=spec.fit.search if n_search is None else n_search,
                 n_starts=spec.fit.starts if n_starts is None else n_starts, seed=fit_seed)
    seconds["map"] = time.perf_counter() - t0
    table = fit_table(problem, result.values)
    checks = check_rows(problem, result.values)
    check_table = fit_table(problem, result.values, role="check")
    bounds = bound_rows(problem, result.values)
    run = CalibrationRun(spec, problem, result, table, checks, check_table, bounds,
                         holdout_after=holdout_after, seconds=seconds)
    if posterior:
        t0 = time.perf_counter()
        try:
            run.posterior = sample_posterior(problem, result.values, result.std_errors, walkers=walkers,
                                             steps=steps, draws=draws, seed=post_seed, progress=progress)
        except ValueError as exc:
            raise InputError(spec.path.name, "posterior", str(exc)) from None
        seconds["posterior"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        run.bands = predictive(problem, run.posterior.draws, seed=post_seed)
        seconds["bands"] = time.perf_counter() - t0
    return run


def posterior_table(run: CalibrationRun) -> tuple[list[str], np.ndarray, np.ndarray]:
    """(columns, draws, log_prob) of the posterior file: the fitted model constants only
    (free parameters, used only by the calibration run's initial values, are marginalised)."""
    post = run.posterior
    if post is None:
        raise ValueError("no posterior was sampled")
    keep = [i for i, p in enumerate(run.problem.parameters) if p.constant is not None]
    return [run.problem.parameters[i].name for i in keep], post.draws[:, keep], post.draws_log_prob


def default_spec_path() -> Path:
    """The bundled calibration specification (models/pingliang-calibration.yaml)."""
    from simulator.bundled import models_dir

    return models_dir() / "pingliang-calibration.yaml"
