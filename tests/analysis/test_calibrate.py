"""Calibration core: recovery of known constants (MAP), priors, inequality and annual-mean
observations, the log posterior, fit tables."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from calib_helpers import TRUTH, toy_model, toy_spec

from simulator.analysis import calibrate as cal
from simulator.analysis.calspec import load_calibration_spec
from simulator.engine.compile import compile_model
from simulator.engine.integrate import simulate
from simulator.engine.load import load_model


def _problem(tmp_path, write_model, **kw) -> cal.Problem:
    return load_calibration_spec(toy_spec(tmp_path, write_model, **kw)).problem()


def test_recovers_known_constants_of_a_toy_model_exactly_without_noise(tmp_path, write_model):
    problem = _problem(tmp_path, write_model)
    result = cal.fit(problem, n_search=64, n_starts=2, seed=3)
    assert result.success
    for name, value in TRUTH.items():
        assert result.values[name] == pytest.approx(value, rel=1e-5)
    # the search alone is not that good: the local step did the work
    assert result.cost < 1e-8 < result.search_cost


def test_map_recovers_known_constants_from_noisy_data_within_its_standard_errors(tmp_path, write_model):
    problem = _problem(tmp_path, write_model, noise=1.0, seed=5)
    result = cal.fit(problem, n_search=64, n_starts=2, seed=3)
    for name, value in TRUTH.items():
        se = result.std_errors[name]
        assert 0 < se < 0.1 * value
        assert abs(result.values[name] - value) < 3 * se, name


def test_fit_stays_inside_the_bounds(tmp_path, write_model):
    problem = _problem(tmp_path, write_model)
    tight = [dataclasses.replace(p, high=0.05) if p.name == "migration_rate" else p for p in problem.parameters]
    result = cal.fit(dataclasses.replace(problem, parameters=tight), n_search=32, n_starts=1)
    assert result.values["migration_rate"] == pytest.approx(0.05)
    assert result.values["migration_rate"] <= 0.05
    assert "migration_rate" in result.at_bound


def test_fit_table_is_perfect_at_the_truth_and_biased_off_it(tmp_path, write_model):
    problem = _problem(tmp_path, write_model)
    table = cal.fit_table(problem, TRUTH)
    assert [r["series"] for r in table] == ["share", "total", "cbr"]
    for row in table:
        assert row["mape"] == pytest.approx(0, abs=1e-9)
    off = cal.fit_table(problem, {**TRUTH, "migration_rate": 0.1})
    assert off[0]["mape"] > 0.01 and off[0]["u_m"] > 0.5  # too fast migration: share biased up


def test_annual_mean_is_the_trapezoid_of_the_saved_values(tmp_path, write_model):
    problem = _problem(tmp_path, write_model)
    j = next(i for i, o in enumerate(problem.observations) if o.at == "mean")
    sim = cal.simulate_observations(problem, cal.theta_of(problem, TRUTH))[0, j]
    params = problem.to_params({k: np.array([v]) for k, v in TRUTH.items()})
    run = simulate(problem.model, params, start=0, stop=10, saveper=1.0, outputs=["births", "rural"])
    births, rural = run.data["births"][0], run.data["rural"][0]
    assert sim == pytest.approx(((births[9] + births[10]) / 2) / ((rural[9] + rural[10]) / 2), rel=1e-12)
    # and not the year-end ratio (the population changes within the year)
    assert abs(sim / (births[10] / rural[10]) - 1) > 1e-3


def test_the_initial_role_sets_the_constant_from_data(tmp_path, write_model):
    problem = _problem(tmp_path, write_model)
    assert problem.to_params({k: np.array([v]) for k, v in TRUTH.items()})["initial_rural"] == 1000.0
    assert all(o.row != (0, "toy", "rural_count") for o in problem.observations)  # not fitted against


def test_a_lower_bound_costs_nothing_when_it_holds_and_a_quadratic_penalty_when_not(tmp_path, write_model):
    problem = _problem(tmp_path, write_model)
    share10 = cal.simulate_observations(problem, cal.theta_of(problem, TRUTH))[0]
    j = next(i for i, o in enumerate(problem.observations) if o.series == "share" and o.year == 10)
    for bound, value, expect in (("lower", share10[j] - 0.05, 0.0), ("lower", share10[j] + 0.05, -5.0),
                                 ("upper", share10[j] + 0.05, 0.0), ("upper", share10[j] - 0.05, 5.0)):
        obs = [dataclasses.replace(o, bound=bound, value=value) if i == j else o
               for i, o in enumerate(problem.observations)]
        r = cal.observation_residuals(dataclasses.replace(problem, observations=obs), share10)
        assert r[0, j] == pytest.approx(expect), (bound, value)


def test_priors_as_residuals_and_log_densities():
    normal = cal.Prior("normal", mean=0.02, sd=0.01)
    assert normal.residual(np.array([0.03]))[0] == pytest.approx(1.0)
    assert normal.logpdf(np.array([0.03]))[0] == pytest.approx(-0.5)
    logn = cal.Prior("lognormal", mu=np.log(0.02), sigma=0.5)
    x = np.array([0.04])
    assert logn.residual(x)[0] == pytest.approx(np.log(2) / 0.5)
    from scipy.stats import lognorm

    # up to a constant, the exact lognormal density
    ref = lognorm.logpdf(x, 0.5, scale=0.02) - lognorm.logpdf(np.array([0.02]), 0.5, scale=0.02)
    ours = logn.logpdf(x) - logn.logpdf(np.array([0.02]))
    assert ours[0] == pytest.approx(ref[0])
    assert cal.Prior("uniform").residual(x) is None and cal.Prior("uniform").logpdf(x)[0] == 0.0


def test_log_posterior_is_minus_inf_outside_the_bounds_and_peaks_at_the_truth(tmp_path, write_model):
    problem = _problem(tmp_path, write_model)
    theta = np.array([[TRUTH["migration_rate"], TRUTH["death_rate"]],
                      [0.31, 0.02],  # migration_rate above its bound 0.3
                      [0.09, 0.021]])
    lp = cal.log_posterior(problem, theta)
    assert lp[0] == pytest.approx(0.0, abs=1e-9) and lp[1] == -np.inf and lp[2] < -1


def test_a_run_that_blows_up_is_a_very_bad_fit_not_a_crash(write_model):
    model = compile_model(load_model(toy_model(write_model)))
    obs = [cal.Observation(5, "share", 0.5, 0.01, series="share")]
    params = [cal.Parameter("migration_rate", 0.0, 0.3, 0.05, constant="migration_rate")]

    def to_params(values):
        return {"migration_rate": values["migration_rate"], "initial_urban": np.array([0.0]), "initial_rural": 0.0}

    problem = cal.Problem(model, 0.0, 10.0, params, obs, to_params)
    assert cal.residuals(problem, np.array([[0.1]]))[0, 0] == 1e6  # 0 / 0 share
