"""The Bayesian posterior of a calibration: emcee's ensemble sampler over the batch engine.

`sample_posterior(problem, start, ...)` runs `emcee.EnsembleSampler` with
`vectorize=True`: the log posterior (`calibrate.log_posterior`) receives all the walkers
it must evaluate at once and runs them as ONE batch of the engine (the run axis). emcee's
ensemble moves (here differential evolution, `moves()`) update the ensemble in parts (the
red-blue scheme that keeps the sampler's detailed balance): a differential-evolution step
is two batches of walkers / 2 runs, a snooker step four of walkers / 4; the starting
ensemble is one batch of all walkers. Walkers start in a small ball around the maximum a
posteriori point. The chain is reported with its acceptance fraction and integrated
autocorrelation time (`get_autocorr_time(tol=0)`; a chain shorter than 50 autocorrelation
times is flagged as too short for a reliable estimate); burn-in (2 x the longest
autocorrelation time) and thinning (half the shortest) follow emcee's documentation.
Seeded: the same problem, start, walkers, steps and seed give the same draws.

`predictive(problem, draws)` gives the 5/50/95% bands of every observation's simulated
value over the draws (and with the observation error added: the posterior predictive).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from simulator.analysis.calibrate import Problem, log_posterior, simulate_observations

#: emcee's rule of thumb: a chain should be at least this many autocorrelation times long
MIN_TAU_MULTIPLE = 50
#: the starting ball: this fraction of the Gauss-Newton standard error around the MAP
START_SPREAD = 0.1
#: predictive bands
BAND = (5, 50, 95)


@dataclass
class PosteriorResult:
    """An emcee run: its chain, diagnostics, and the thinned draws (rows of all parameters)."""

    names: list[str]
    walkers: int
    steps: int
    seed: int
    acceptance: np.ndarray  # per walker
    tau: np.ndarray  # per parameter, steps
    burn: int
    thin: int
    draws: np.ndarray  # (m, k)
    draws_log_prob: np.ndarray  # (m,)
    seconds: float
    batches: int
    batch_runs: list[int] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def too_short(self) -> bool:
        """True if the chain is shorter than MIN_TAU_MULTIPLE autocorrelation times."""
        return bool(not np.all(np.isfinite(self.tau)) or self.steps < MIN_TAU_MULTIPLE * float(np.max(self.tau)))

    @property
    def effective_samples(self) -> float:
        """Walkers x (steps - burn-in) / the longest autocorrelation time: independent draws, roughly."""
        tau = float(np.max(self.tau)) if np.all(np.isfinite(self.tau)) else math.inf
        return self.walkers * (self.steps - self.burn) / tau if tau > 0 else math.nan

    def summary(self) -> list[dict[str, Any]]:
        """Per parameter: mean, sd, 5/50/95% of the draws and the autocorrelation time."""
        out = []
        for i, name in enumerate(self.names):
            x = self.draws[:, i]
            q5, q50, q95 = np.percentile(x, BAND)
            out.append({"name": name, "mean": float(np.mean(x)), "sd": float(np.std(x, ddof=1)),
                        "p5": float(q5), "p50": float(q50), "p95": float(q95), "tau": float(self.tau[i])})
        return out

    def correlation(self) -> np.ndarray:
        """Correlation matrix of the draws."""
        return np.corrcoef(self.draws, rowvar=False)


def moves() -> list[tuple[Any, float]]:
    """emcee's differential-evolution move (80%) with its snooker variant (20%), as the emcee
    documentation suggests for posteriors the stretch move explores slowly: on the Pingliang
    calibration (9 parameters, 800 steps, 32 walkers) it halved the autocorrelation time
    (25-27 steps against 40-56 for the stretch move). Both are red-blue moves: each walker
    update is a vectorized batch (halves for DE, quarters for the snooker move)."""
    import emcee

    return [(emcee.moves.DEMove(), 0.8), (emcee.moves.DESnookerMove(), 0.2)]


def _start_ball(problem: Problem, start: dict[str, float], std_errors: dict[str, float], walkers: int,
                rng: np.random.Generator) -> np.ndarray:
    lo, hi = problem.lows(), problem.highs()
    width = hi - lo
    centre = np.array([start[n] for n in problem.names()], dtype=float)
    se = np.array([std_errors.get(n, math.nan) for n in problem.names()], dtype=float)
    scale = np.where(np.isfinite(se) & (se > 0), START_SPREAD * se, 1e-3 * width)
    scale = np.clip(scale, 1e-6 * width, 0.05 * width)
    p0 = centre + scale * rng.standard_normal((walkers, len(centre)))
    # reflect into the bounds (a MAP at a bound puts half the ball outside)
    p0 = np.where(p0 < lo, 2 * lo - p0, p0)
    p0 = np.where(p0 > hi, 2 * hi - p0, p0)
    return np.clip(p0, lo, hi)


def sample_posterior(problem: Problem, start: dict[str, float], std_errors: dict[str, float] | None = None,
                     walkers: int = 32, steps: int = 2000, draws: int = 2000, seed: int = 0,
                     progress: bool = False) -> PosteriorResult:
    """Sample the posterior of `problem` with emcee (vectorized over walkers), from around `start`."""
    import emcee

    k = len(problem.parameters)
    if walkers < 2 * k:
        raise ValueError(f"emcee needs at least 2 walkers per parameter: {2 * k} for {k} parameters, not {walkers}")
    if walkers % 2:
        raise ValueError(f"the number of walkers must be even (two halves per step), not {walkers}")
    rng = np.random.default_rng(seed)
    sizes: list[int] = []

    def log_prob(theta: np.ndarray) -> np.ndarray:
        sizes.append(len(theta))
        return log_posterior(problem, theta)

    p0 = _start_ball(problem, start, std_errors or {}, walkers, rng)
    lp0 = log_prob(p0)
    for _ in range(20):  # a start point outside the support: draw it again, closer to the centre
        bad = ~np.isfinite(lp0)
        if not bad.any():
            break
        centre = np.array([start[n] for n in problem.names()], dtype=float)
        p0[bad] = centre + 0.5 * (p0[bad] - centre)
        lp0[bad] = log_prob(p0[bad])
    if not np.all(np.isfinite(lp0)):
        raise ValueError("the posterior is zero around the starting point; check bounds and observations")

    sampler = emcee.EnsembleSampler(walkers, k, log_prob, vectorize=True, moves=moves())
    sampler.random_state = np.random.RandomState(seed).get_state()
    t0 = time.perf_counter()
    sampler.run_mcmc(emcee.State(p0, log_prob=lp0), steps, progress=progress)
    seconds = time.perf_counter() - t0

    tau = np.asarray(sampler.get_autocorr_time(tol=0, quiet=True), dtype=float)
    notes = []
    finite = np.all(np.isfinite(tau)) and np.all(tau > 0)
    burn = int(math.ceil(2 * np.max(tau))) if finite else steps // 2
    thin = max(1, int(0.5 * np.min(tau))) if finite else 1
    if burn >= steps // 2:
        notes.append(f"burn-in 2 x tau = {burn} steps is more than half the chain; {steps // 2} used")
        burn = steps // 2
    flat = sampler.get_chain(discard=burn, thin=thin, flat=True)
    flat_lp = sampler.get_log_prob(discard=burn, thin=thin, flat=True)
    if len(flat) > draws:
        pick = np.unique(np.round(np.linspace(0, len(flat) - 1, draws)).astype(int))
        flat, flat_lp = flat[pick], flat_lp[pick]
    elif len(flat) < draws:
        notes.append(f"only {len(flat)} draws after burn-in and thinning (asked for {draws})")
    result = PosteriorResult(
        names=problem.names(), walkers=walkers, steps=steps, seed=seed,
        acceptance=np.asarray(sampler.acceptance_fraction, dtype=float), tau=tau, burn=burn, thin=thin,
        draws=np.asarray(flat, dtype=float), draws_log_prob=np.asarray(flat_lp, dtype=float),
        seconds=seconds, batches=len(sizes), batch_runs=sorted(set(sizes)), notes=notes)
    if result.too_short:
        notes.append(f"the chain ({steps} steps) is shorter than {MIN_TAU_MULTIPLE} x the longest "
                     f"autocorrelation time ({float(np.max(tau)):.0f} steps): the estimate of tau, and the draws' "
                     f"spread, are not yet reliable; run more --steps")
    return result


def predictive(problem: Problem, draws: np.ndarray, seed: int = 0, max_runs: int = 1000,
               batch: int = 1000) -> list[dict[str, Any]]:
    """5/50/95% of every observation's simulated value over (up to `max_runs` of) the draws,
    and the same with the observation's error (normal, sigma) added."""
    rng = np.random.default_rng(seed)
    draws = np.asarray(draws, dtype=float)
    if len(draws) > max_runs:
        draws = draws[np.unique(np.round(np.linspace(0, len(draws) - 1, max_runs)).astype(int))]
    sim = np.vstack([simulate_observations(problem, draws[i:i + batch]) for i in range(0, len(draws), batch)])
    sigma = np.array([o.sigma for o in problem.observations])
    noisy = sim + rng.standard_normal(sim.shape) * sigma
    out = []
    for j, o in enumerate(problem.observations):
        lo, mid, hi = np.nanpercentile(sim[:, j], BAND)
        nlo, nhi = np.nanpercentile(noisy[:, j], (BAND[0], BAND[2]))
        out.append({"year": o.year, "series": o.series, "role": o.role, "bound": o.bound, "observed": o.value,
                    "sigma": o.sigma, "p5": float(lo), "p50": float(mid), "p95": float(hi),
                    "pred_p5": float(nlo), "pred_p95": float(nhi), "inside": bool(nlo <= o.value <= nhi),
                    "runs": int(len(draws))})
    return out
