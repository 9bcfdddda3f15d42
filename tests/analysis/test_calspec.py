"""Calibration specification files: validation (one-line errors), the shipped spec for the
Pingliang model (it reproduces the committed calibration), the 2010 run's initial values."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml
from calib_helpers import element_spec, toy_spec

from simulator.analysis import calibrate as cal
from simulator.analysis.calrun import default_spec_path
from simulator.analysis.calspec import load_calibration_spec
from simulator.analysis.history import derive_history
from simulator.engine.integrate import simulate
from simulator.errors import InputError

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def shipped():
    return load_calibration_spec(default_spec_path())


def _edit(path: Path, change) -> Path:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(data)
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


BAD = [
    (lambda d: d.pop("data"), "data", "required"),
    (lambda d: d.update(colour="red"), "colour", "unknown key"),
    (lambda d: d["parameters"].update(migraton_rate={}), "parameters.migraton_rate", "did you mean 'migration_rate'"),
    (lambda d: d["parameters"].update(total={}), "parameters.total", "not a constant"),
    (lambda d: d["parameters"]["migration_rate"].update(prior={"dist": "normal", "mean": 0.05}),
     "parameters.migration_rate.prior.sd", "required but missing"),
    (lambda d: d["parameters"]["migration_rate"].update(prior={"dist": "normal", "mean": 0.05, "sd": -1}),
     "parameters.migration_rate.prior.sd", "greater than 0"),
    (lambda d: d["parameters"]["migration_rate"].update(bounds=[0, 0.9]), "parameters.migration_rate.bounds",
     "leaves the constant's bounds"),
    (lambda d: d["parameters"]["migration_rate"].update(start="__import__('os').system('true')"),
     "parameters.migration_rate.start", "unknown function"),
    (lambda d: d["parameters"]["migration_rate"].update(start="().__class__"),
     "parameters.migration_rate.start", "not allowed"),
    (lambda d: d["parameters"].update(free_share={"free": True}), "parameters.free_share.bounds",
     "needs bounds"),
    (lambda d: d["observations"][0].update(row=[3, "toy", "share"]), "observations.0.row", "no row 3,toy,share"),
    (lambda d: d["observations"][0].update(model="shar"), "observations.0.model", "did you mean 'share'"),
    (lambda d: d["observations"][0].update(model="migration_rate"), "observations.0.model", "a constant"),
    (lambda d: d["observations"][0].update(at="mean", row=[0, "toy", "rural_count"]), "observations.0.row",
     "not a saved time"),
    (lambda d: d["observations"][0].update(bound="sideways"), "observations.0.bound", ""),
    (lambda d: d["observations"][1].update(row=d["observations"][0]["row"]), "observations.1.row", "same row"),
    (lambda d: d.update(fixed={"migration_rate": 0.1}), "fixed.migration_rate", "is fitted"),
    (lambda d: d.update(fixed={"initial_urban": "initial_urban + 1"}), "fixed.initial_urban", "reads itself"),
    (lambda d: d.update(fixed={"initial_urban": "nonsense_name * 2"}), "fixed.initial_urban", "unknown name"),
    (lambda d: d.update(fixed={"initial_urban": "data(1999, toy, share)"}), "fixed.initial_urban", "no row 1999"),
    (lambda d: d.update(run={"start": 0, "stop": 10, "dt": 0.3}), "run.dt", "must divide"),
    (lambda d: d.update(model="no_such_model"), "model", "unknown model"),
]


@pytest.mark.parametrize("change, field, reason", BAD, ids=[b[1] + ":" + b[2] for b in BAD])
def test_bad_spec_is_one_line_naming_the_field(tmp_path, write_model, change, field, reason):
    path = _edit(toy_spec(tmp_path, write_model), change)
    with pytest.raises(InputError) as exc:
        load_calibration_spec(path)
    assert exc.value.field == field and reason in exc.value.reason
    assert "\n" not in str(exc.value)


def test_an_element_of_a_subscripted_constant_is_fitted_alone(write_model, tmp_path):
    """`name[element]` parameters set one element; the other elements keep the model's values."""
    spec_path = element_spec(tmp_path, write_model)
    spec = load_calibration_spec(spec_path)
    (p,) = spec.parameters
    assert (p.name, p.constant, p.element, p.default) == ("rate[b]", "rate", ("b",), 0.2)
    params = spec.problem().to_params({"rate[b]": np.array([0.05, 0.3])})
    assert params["rate"].tolist() == [[0.1, 0.05], [0.1, 0.3]]


# --------------------------------------------------------------------------- the shipped spec


def test_the_shipped_spec_fits_2010_2022_and_holds_out_2021_2022_on_request(shipped):
    problem = shipped.problem()
    assert {o.year for o in problem.observations if o.role == "fit"} == {2010, 2014, 2015, 2018, 2020, 2021, 2022}
    assert not [o for o in problem.observations if o.role == "check"]
    held = shipped.problem(holdout_after=2020)
    assert {o.year for o in held.observations if o.role == "check"} == {2021, 2022}
    assert {o.year for o in held.observations if o.role == "fit"} == {2010, 2014, 2015, 2018, 2020}
    assert all(p.constant is not None for p in problem.parameters)  # the model starts in 2010 itself


def _committed_value(committed: dict, p) -> float:
    value = committed[p.constant]
    return value[p.element[0]] if p.element else value


def test_the_committed_calibration_is_the_map_fit_of_the_shipped_spec(shipped):
    """scenarios/calibration.yaml holds the MAP values the shipped spec gives (nothing drifted)."""
    committed = yaml.safe_load((REPO / "scenarios" / "calibration.yaml").read_text(encoding="utf-8"))["set"]
    result = cal.fit(shipped.problem(), n_search=shipped.fit.search, n_starts=shipped.fit.starts,
                     seed=shipped.fit.seed)
    assert set(committed) == {p.constant for p in shipped.parameters}
    for p in shipped.parameters:
        assert _committed_value(committed, p) == pytest.approx(result.values[p.name], rel=1e-5), p.name


def test_the_model_run_starts_from_the_2010_census(shipped):
    problem = shipped.problem()
    params = problem.to_params({p.name: np.array([p.default]) for p in problem.parameters}
                               | {"initial_urban_share": np.array([0.3])})
    run = simulate(problem.model, params, stop=2011, saveper=1.0,
                   outputs=["resident_population", "urbanization_rate", "county_resident_population",
                            "county_urban_population"])
    assert run.times[0] == 2010
    first = {(r["area"], r["indicator"]): r for r in derive_history() if r["year"] == 2010}
    assert run.data["resident_population"][0, 0] == pytest.approx(first[("pingliang", "resident_population")]["value"])
    assert run.data["urbanization_rate"][0, 0] == pytest.approx(0.3)
    counties = run.elements["county"]
    for i, c in enumerate(counties):
        row = first[(c, "resident_population")]
        # census counties exactly; the three derived ones as rounded to sum to the city's census total
        tol = 1e-6 * row["value"] if row["kind"] == "census" else 1
        assert abs(run.data["county_resident_population"][0, 0, i] - row["value"]) <= tol, c
    k = counties.index("kongtong")
    assert run.data["county_urban_population"][0, 0, k] == pytest.approx(first[("kongtong", "urban_population")]["value"])


def test_the_shipped_spec_recovers_known_pingliang_constants(shipped):
    """Synthetic data from the model at known values: the MAP (no priors) recovers them."""
    import dataclasses

    problem = shipped.problem()
    truth = {"rural_to_town_rate": 0.07, "out_migration_rate": 0.03, "initial_urban_share": 0.27}
    full = {p.name: p.default for p in problem.parameters} | truth
    sim = cal.simulate_observations(problem, cal.theta_of(problem, full))[0]
    obs = [dataclasses.replace(o, value=float(v)) for o, v in zip(problem.observations, sim)]
    params = [dataclasses.replace(p, prior=None) for p in problem.parameters if p.name in truth]
    fixed = {p.name: p.default for p in problem.parameters if p.name not in truth}

    def to_params(values):
        n = len(next(iter(values.values())))
        return problem.to_params(values | {k: np.full(n, v) for k, v in fixed.items()})

    small = dataclasses.replace(problem, parameters=params, observations=obs, to_params=to_params)
    result = cal.fit(small, n_search=64, n_starts=2, seed=1)
    for name, value in truth.items():
        assert result.values[name] == pytest.approx(value, rel=1e-4)


def test_a_county_by_age_model_is_calibrated_by_element_and_by_age_share(tmp_path):
    """Two dimensions (the engine's county x age toy): an age-specific death rate and a scalar rate
    recovered from synthetic age shares and crude death rates."""
    model = REPO / "tests" / "data" / "county_age.yaml"
    (tmp_path / "data.csv").write_text("year,area,indicator,value,sigma\n" + "".join(
        f"{y},all,{ind},0.5,{s}\n" for y in (2025, 2030) for ind, s in
        (("share_old", 0.005), ("urban_share", 0.005), ("crude_death_rate", 0.0005))), encoding="utf-8")
    old = "(sum(rural[:, old]) + sum(urban[:, old])) / (sum(rural) + sum(urban))"
    cdr = "(sum(rural_deaths) + sum(urban_deaths)) / (sum(rural) + sum(urban))"
    spec_path = tmp_path / "spec.yaml"
    spec_path.write_text(yaml.safe_dump({
        "name": "ca", "model": str(model), "data": "data.csv", "run": {"start": 2020, "stop": 2030},
        "parameters": {"death_rate[old]": {}, "migration_rate": {}},
        "observations": [{"row": [y, "all", "share_old"], "model": old} for y in (2025, 2030)]
        + [{"row": [y, "all", "urban_share"], "model": "sum(urban) / (sum(rural) + sum(urban))"} for y in (2025, 2030)]
        + [{"row": [y, "all", "crude_death_rate"], "model": cdr, "at": "mean"} for y in (2025, 2030)],
    }), encoding="utf-8")
    problem = load_calibration_spec(spec_path).problem()
    truth = {"death_rate[old]": 0.06, "migration_rate": 0.035}
    sim = cal.simulate_observations(problem, cal.theta_of(problem, truth))[0]
    import dataclasses

    synthetic = dataclasses.replace(problem, observations=[dataclasses.replace(o, value=float(v))
                                                           for o, v in zip(problem.observations, sim)])
    result = cal.fit(synthetic, n_search=64, n_starts=2, seed=0)
    for name, value in truth.items():
        assert result.values[name] == pytest.approx(value, rel=1e-4)
    # the other ages keep the model's death rates
    params = problem.to_params({k: np.array([v]) for k, v in truth.items()})
    assert params["death_rate"].tolist() == [[0.001, 0.003, 0.06]]  # one run
