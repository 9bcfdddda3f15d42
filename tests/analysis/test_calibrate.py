"""Calibration: recovery of known constants from model-generated data, history, the command."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
import yaml
from conftest import element

from simulator.analysis import calibrate as cal
from simulator.analysis import history as history_module
from simulator.bundled import bundled_model_path
from simulator.cli import main
from simulator.engine.compile import compile_model
from simulator.engine.load import load_model
from simulator.scenario.resolve import load_scenario

REPO = Path(__file__).resolve().parents[2]


def _synthetic(problem: cal.Problem, truth: dict[str, float]) -> cal.Problem:
    """The problem with every observation replaced by the model's own value at `truth`."""
    theta = np.array([[truth[n] for n in problem.names()]])
    sim = cal.simulate_observations(problem, theta)[0]
    obs = [dataclasses.replace(o, value=float(v)) for o, v in zip(problem.observations, sim)]
    params = [dataclasses.replace(p, prior_sd=None) for p in problem.parameters]
    return dataclasses.replace(problem, observations=obs, parameters=params)


# --------------------------------------------------------------------------- a toy model


def _toy(write_model) -> cal.Problem:
    path = write_model({
        "constants": {
            "migration_rate": element(value=0.05, bounds=[0, 0.3], unit="1/year"),
            "death_rate": element(value=0.01, bounds=[0, 0.05], unit="1/year"),
            "initial_rural": element(value=1000.0, unit="person"),
        },
        "stocks": {
            "rural": element(initial="initial_rural", outflows=["migration", "rural_deaths"], unit="person"),
            "urban": element(initial=100, inflows=["migration"], outflows=["urban_deaths"], unit="person"),
        },
        "flows": {
            "migration": element(equation="migration_rate * rural", unit="person/year"),
            "rural_deaths": element(equation="death_rate * rural", unit="person/year"),
            "urban_deaths": element(equation="death_rate * urban", unit="person/year"),
        },
        "auxiliaries": {
            "total": element(equation="rural + urban", unit="person"),
            "share": element(equation="urban / total"),
        },
    })
    model = compile_model(load_model(path))
    obs = [cal.Observation(y, v, 1.0, 0.01, series=v) for y in (2, 5, 10) for v in ("share", "total")]
    params = [cal.Parameter("migration_rate", 0.0, 0.3, 0.05), cal.Parameter("death_rate", 0.0, 0.05, 0.01)]
    return cal.Problem(model, 0.0, 10.0, params, obs, lambda values: dict(values))


def test_recovers_known_constants_of_a_toy_model(write_model):
    truth = {"migration_rate": 0.083, "death_rate": 0.021}
    problem = _synthetic(_toy(write_model), truth)
    result = cal.fit(problem, n_search=64, n_starts=2, seed=3)
    assert result.success
    for name, value in truth.items():
        assert result.values[name] == pytest.approx(value, rel=1e-5)
    # the search alone is not that good: the local step did the work
    assert result.cost < 1e-8 < result.search_cost


def test_fit_stays_inside_the_bounds(write_model):
    problem = _synthetic(_toy(write_model), {"migration_rate": 0.083, "death_rate": 0.021})
    tight = [dataclasses.replace(p, high=0.05) if p.name == "migration_rate" else p
             for p in problem.parameters]
    result = cal.fit(dataclasses.replace(problem, parameters=tight), n_search=32, n_starts=1)
    assert result.values["migration_rate"] == pytest.approx(0.05)
    assert result.values["migration_rate"] <= 0.05
    assert "migration_rate" in result.at_bound


def test_fit_table_is_perfect_at_the_truth(write_model):
    truth = {"migration_rate": 0.083, "death_rate": 0.021}
    problem = _synthetic(_toy(write_model), truth)
    table = cal.fit_table(problem, truth)
    assert [r["series"] for r in table] == ["share", "total"]
    for row in table:
        assert row["n"] == 3 and row["mape"] == pytest.approx(0, abs=1e-12)
    off = cal.fit_table(problem, {"migration_rate": 0.1, "death_rate": 0.021})
    assert off[0]["mape"] > 0.01 and off[0]["u_m"] > 0.5  # too fast migration: share biased up


# --------------------------------------------------------------------------- the Pingliang model


def test_recovers_known_constants_of_the_pingliang_model():
    problem = cal.pingliang_problem(
        fit_names=["rural_urban_migration_base_rate", "out_migration_rate_rural"])
    assert problem.names() == ["rural_urban_migration_base_rate", "out_migration_rate_rural",
                               cal.INITIAL_RATE_PARAMETER]
    truth = {"rural_urban_migration_base_rate": 0.019, "out_migration_rate_rural": 0.017,
             cal.INITIAL_RATE_PARAMETER: 0.31}
    result = cal.fit(_synthetic(problem, truth), n_search=64, n_starts=2, seed=1)
    for name, value in truth.items():
        assert result.values[name] == pytest.approx(value, rel=1e-4)


def test_the_2010_run_starts_from_the_2010_census():
    problem = cal.pingliang_problem(fit_names=[])
    from simulator.engine.integrate import simulate

    run = simulate(problem.model, problem.to_params({cal.INITIAL_RATE_PARAMETER: np.array([0.3])}),
                   start=2010, stop=2011, saveper=1.0,
                   outputs=["resident_population", "urbanization_rate", "county_resident_population",
                            "county_urban_population"])
    rows = history_module.derive_history()
    first = {(r["area"], r["indicator"]): r["value"] for r in rows if r["year"] == 2010}
    assert run.data["resident_population"][0, 0] == pytest.approx(first[("pingliang", "resident_population")])
    assert run.data["urbanization_rate"][0, 0] == pytest.approx(0.3)
    counties = run.elements["county"]
    for i, c in enumerate(counties):
        assert run.data["county_resident_population"][0, 0, i] == pytest.approx(first[(c, "resident_population")])
    k = counties.index("kongtong")
    assert run.data["county_urban_population"][0, 0, k] == pytest.approx(first[("kongtong", "urban_population")])


# --------------------------------------------------------------------------- history


def test_history_file_is_derived_from_observed():
    committed = (REPO / "data" / "history.csv").read_text(encoding="utf-8")
    assert committed == history_module.history_csv_text(history_module.derive_history()), \
        "data/history.csv is stale: run `urbsd calibrate` to derive it again from data/observed.csv"


def test_bias_ratio_is_one_at_the_census_and_matches_the_2019_excess():
    rows = history_module.read_observed()
    assert history_module.bias_ratio(2010, rows) == 1.0
    p0 = history_module._obs(rows, 2010, "pingliang", "resident_population")
    p1 = history_module._obs(rows, 2020, "pingliang", "resident_population")
    c2019 = p0 * (p1 / p0) ** 0.9
    assert history_module.bias_ratio(2019, rows) * c2019 - c2019 == pytest.approx(history_module.ESTIMATE_EXCESS_2019)


def test_rebased_points_lie_between_face_value_and_census_path():
    rows = history_module.read_observed()
    hist = {(r["year"], r["area"], r["indicator"]): r for r in history_module.derive_history(rows)}
    face = history_module._obs(rows, 2015, "pingliang", "resident_population")
    rebased = hist[(2015, "pingliang", "resident_population")]["value"]
    assert rebased < face  # the estimate was too high
    p10, p20 = (history_module._obs(rows, y, "pingliang", "resident_population") for y in (2010, 2020))
    assert p20 < rebased < p10
    # the 2014 rate: face value and the "excess all rural" bound both within one sigma
    r14 = hist[(2014, "pingliang", "urbanization_rate")]
    f14 = history_module._obs(rows, 2014, "pingliang", "urbanization_rate")
    assert abs(r14["value"] - f14) <= r14["sigma"] + 1e-4
    shares = [r["value"] for k, r in hist.items() if k[0] == 2018]
    assert sum(shares) == pytest.approx(1, abs=1e-4)


def test_role_names_accept_initial_prefix_and_2020_suffix():
    spec = load_model(bundled_model_path())
    assert cal._role(spec, "resident_population") in ("initial_resident_population", "resident_population_2020")
    with pytest.raises(ValueError, match="no_such_thing"):
        cal._role(spec, "no_such_thing")


# --------------------------------------------------------------------------- the command


def test_calibrate_command_writes_a_scenario_that_keeps_2020_exact(tmp_path, capsys):
    out, hist, report = tmp_path / "calibration.yaml", tmp_path / "history.csv", tmp_path / "fit.md"
    code = main(["calibrate", "--out", str(out), "--history", str(hist), "--report", str(report),
                 "--samples", "64", "--starts", "1"])
    assert code == 0
    screen = capsys.readouterr().out
    assert "MAPE" in screen and "urbanization_rate" in screen
    text = out.read_text(encoding="utf-8")
    assert load_model(bundled_model_path()).sha256 in text  # provenance header
    data = yaml.safe_load(text)
    assert set(data["set"]) <= set(cal.FIT_CONSTANTS)
    assert "| series |" in report.read_text(encoding="utf-8")
    # a 2020 scenario extending it: rates change, the 2020 initial totals stay exact
    child = tmp_path / "child.yaml"
    child.write_text("name: child\nextends: calibration\n", encoding="utf-8")
    scenario = load_scenario(child)
    for name, value in data["set"].items():
        assert scenario.params[name] == pytest.approx(value)
    from simulator.engine.integrate import simulate

    run = simulate(compile_model(scenario.spec), scenario.params,
                   outputs=["resident_population", "urban_population", "urbanization_rate"])
    assert run.times[0] == 2020
    assert run.data["resident_population"][0, 0] == pytest.approx(1848600, abs=1e-6)
    assert run.data["urban_population"][0, 0] == pytest.approx(827700, abs=1e-6)


@pytest.mark.parametrize("argv, field", [
    (["--samples", "0"], "--samples"),
    (["--starts", "0"], "--starts"),
    (["--model", "no/such/model.yaml"], "--model"),
])
def test_calibrate_bad_input_is_one_line_and_writes_nothing(tmp_path, capsys, argv, field):
    out = tmp_path / "calibration.yaml"
    code = main(["calibrate", "--out", str(out), "--history", str(tmp_path / "h.csv"), *argv])
    err = capsys.readouterr().err
    assert code == 2 and field in err and err.count("\n") == 1
    assert list(tmp_path.iterdir()) == []


def test_calibrate_refuses_a_folder_as_output(tmp_path, capsys):
    assert main(["calibrate", "--out", str(tmp_path), "--samples", "8"]) == 2
    assert "--out" in capsys.readouterr().err


def test_bundled_calibration_scenario_loads_and_baseline_uses_it():
    path = REPO / "scenarios" / "calibration.yaml"
    scenario = load_scenario(path)
    assert scenario.params and set(scenario.params) <= set(cal.FIT_CONSTANTS)
    baseline = load_scenario()
    assert path.resolve() in [Path(p).resolve() for p in baseline.chain]


def test_bundled_baseline_runs_with_every_fitted_value():
    """baseline.yaml extends calibration.yaml; its uncertain: entries keep the fitted values."""
    fitted = load_scenario(Path(__file__).resolve().parents[2] / "scenarios" / "calibration.yaml").params
    baseline = load_scenario()
    assert fitted and all(baseline.params[n] == v for n, v in fitted.items())


def test_bundled_baseline_keeps_the_exact_2020_totals():
    from simulator.engine.integrate import simulate

    scenario = load_scenario()
    spec = scenario.spec
    run = simulate(compile_model(spec), scenario.params,
                   outputs=["resident_population", "urban_population", "hukou_population"])
    for out in ("resident_population", "urban_population", "hukou_population"):
        value = spec.constants[cal._role(spec, out)].value
        assert run.data[out][0, 0] == pytest.approx(value, abs=1e-6)


def test_baseline_uncertainty_is_centred_on_the_fitted_values():
    """A sweep of the baseline spreads around the calibrated run: every fitted constant it samples
    is drawn around its fitted value (normal: mean = fitted; otherwise the range contains it)."""
    fitted = load_scenario(Path(__file__).resolve().parents[2] / "scenarios" / "calibration.yaml").params
    baseline = load_scenario()
    sampled = [n for n in baseline.uncertain if n in fitted]
    assert sampled
    for name in sampled:
        d = baseline.uncertain[name]
        if d.dist == "normal":
            assert d.params["mean"] == pytest.approx(fitted[name]), name
        else:
            assert d.params["low"] <= fitted[name] <= d.params["high"], name
