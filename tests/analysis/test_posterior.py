"""The Bayesian posterior (emcee over the batch engine): recovery of known constants,
reproducibility, diagnostics, posterior predictive bands."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from calib_helpers import TRUTH, toy_spec

from simulator.analysis import calibrate as cal
from simulator.analysis.calrun import default_spec_path, run_calibration
from simulator.analysis.calspec import load_calibration_spec
from simulator.analysis.posterior import predictive, sample_posterior


@pytest.fixture(scope="module")
def noisy_toy(tmp_path_factory):

    tmp = tmp_path_factory.mktemp("toy")

    def write(model, name="model.yaml"):
        import yaml

        base = {"name": "toy", "time": {"start": 0, "stop": 10, "dt": 0.25, "saveper": 1}}
        (tmp / name).write_text(yaml.safe_dump({**base, **model}), encoding="utf-8")
        return tmp / name

    spec = load_calibration_spec(toy_spec(tmp, write, noise=0.5, seed=11))
    return spec, run_calibration(spec)


def test_posterior_interval_contains_the_true_constants(noisy_toy):
    _, run = noisy_toy
    post = run.posterior
    assert post.draws.shape[1] == 2 and 500 <= len(post.draws) <= 1000
    for i, name in enumerate(post.names):
        lo, hi = np.percentile(post.draws[:, i], [5, 95])
        assert lo < TRUTH[name] < hi, name
        # the MAP sits inside it too, and the interval is informative (narrower than the bounds / 10)
        assert lo < run.result.values[name] < hi
        p = run.problem.parameters[i]
        assert hi - lo < (p.high - p.low) / 10


def test_sampler_diagnostics_are_reported(noisy_toy):
    _, run = noisy_toy
    post = run.posterior
    assert 0.2 < np.mean(post.acceptance) < 0.8  # the stretch move's usual range
    assert np.all(post.tau > 1)
    assert post.too_short == (post.steps < 50 * np.max(post.tau))  # emcee's rule: 50 autocorrelation times
    assert any("shorter than 50" in n for n in post.notes) == post.too_short
    assert post.burn == int(np.ceil(2 * np.max(post.tau))) and post.thin == max(1, int(0.5 * np.min(post.tau)))
    # walkers are evaluated in batches: the start (16), then halves (DE move) or quarters (snooker)
    assert post.batch_runs == [4, 8, 16]
    assert 1 + 2 * post.steps < post.batches < 1 + 4 * post.steps


def test_the_same_seed_gives_the_same_draws_and_another_seed_others(noisy_toy):
    spec, run = noisy_toy
    problem = run.problem
    a = sample_posterior(problem, run.result.values, run.result.std_errors, walkers=8, steps=30, draws=50, seed=4)
    b = sample_posterior(problem, run.result.values, run.result.std_errors, walkers=8, steps=30, draws=50, seed=4)
    c = sample_posterior(problem, run.result.values, run.result.std_errors, walkers=8, steps=30, draws=50, seed=5)
    assert np.array_equal(a.draws, b.draws) and np.array_equal(a.draws_log_prob, b.draws_log_prob)
    assert not np.array_equal(a.draws, c.draws)
    assert a.too_short  # 30 steps: flagged


def test_predictive_bands_cover_the_observations_and_widen_with_the_error(noisy_toy):
    _, run = noisy_toy
    bands = run.bands
    assert len(bands) == len(run.problem.observations)
    covered = sum(b["inside"] for b in bands)
    assert covered >= len(bands) - 1
    for b in bands:
        assert b["pred_p5"] <= b["p5"] <= b["p50"] <= b["p95"] <= b["pred_p95"]


def test_too_few_walkers_is_refused(noisy_toy):
    _, run = noisy_toy
    with pytest.raises(ValueError, match="at least 2 walkers per parameter"):
        sample_posterior(run.problem, run.result.values, walkers=2, steps=10)


def test_the_posterior_of_the_pingliang_model_contains_known_constants():
    """Synthetic observations (the 2010-2020 rows of the shipped spec: census decade, county
    figures) from the model at known values plus small noise, four constants fitted (one of
    them an element of a subscripted constant): the MAP is close, the 90% interval contains
    the truth and not the model's own estimate the fit started from."""
    spec = load_calibration_spec(default_spec_path())
    problem = spec.problem()
    # away from the model's estimates (the fit's first candidate): the data must move them
    truth = {"initial_urban_share": 0.25, "rural_to_town_rate": 0.11, "out_migration_rate": 0.03,
             "county_town_pull[kongtong]": 0.8}
    assert set(truth) <= set(problem.names())
    fixed = {p.name: p.default for p in problem.parameters if p.name not in truth}
    obs = [o for o in problem.observations if o.role == "fit" and o.year <= 2020 and o.bound is None]
    early = dataclasses.replace(problem, observations=obs)
    sim = cal.simulate_observations(early, cal.theta_of(early, fixed | truth))[0]
    rng = np.random.default_rng(2)
    obs = [dataclasses.replace(o, value=float(v + 0.3 * o.sigma * rng.standard_normal())) for o, v in zip(obs, sim)]

    def to_params(values):
        n = len(next(iter(values.values())))
        return problem.to_params(values | {k: np.full(n, v) for k, v in fixed.items()})

    small = dataclasses.replace(problem, observations=obs, to_params=to_params,
                                parameters=[dataclasses.replace(p, prior=None)
                                            for p in problem.parameters if p.name in truth])
    assert small.names() == [n for n in problem.names() if n in truth]
    result = cal.fit(small, n_search=64, n_starts=1, seed=0)
    post = sample_posterior(small, result.values, result.std_errors, walkers=8, steps=300, draws=1000, seed=0)
    assert post.names == small.names()
    for i, name in enumerate(post.names):
        lo, hi = np.percentile(post.draws[:, i], [5, 95])
        assert lo < truth[name] < hi, (name, lo, hi)
        # the MAP within 2 posterior standard deviations of the truth, and the data informative
        sd = np.std(post.draws[:, i])
        assert abs(result.values[name] - truth[name]) < 2 * sd, name
        p = small.parameters[i]
        assert hi - lo < (p.high - p.low) / 2, name  # flat priors: the data narrowed it
        assert not lo < p.default < hi, (name, p.default, lo, hi)  # and moved it off the start


def test_predictive_uses_every_draw_up_to_the_cap(noisy_toy):
    _, run = noisy_toy
    bands = predictive(run.problem, run.posterior.draws[:30], seed=0)
    assert {b["runs"] for b in bands} == {30}
