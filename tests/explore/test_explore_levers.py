"""The sliders: every lever of the scenario with its labels, unit and bounds from the model file;
requests turned into `set:` entries and checked by the same code as a scenario's `set:`."""

from __future__ import annotations

import math

import numpy as np
import pytest
import yaml
from explore_fixtures import baseline_explorer, hukou_explorer  # noqa: F401 (pytest fixtures)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from simulator.api import with_overrides
from simulator.bundled import bundled_model_path
from simulator.engine.series import TimeSeries
from simulator.errors import InputError
from simulator.explore.levers import apply_settings, levers_of, nice_step, raw_settings


def test_every_lever_of_the_model_is_a_slider_with_its_labels_unit_and_bounds(baseline_explorer):
    spec = baseline_explorer.scenario.spec
    levers = levers_of(baseline_explorer.scenario)
    expected = [name for name, c in spec.constants.items() if c.lever]
    assert list(levers) == expected and len(expected) >= 10
    for name, lever in levers.items():
        const = spec.constants[name]
        assert lever.label == {"zh": const.label.zh, "en": const.label.en}
        assert (lever.low, lever.high) == tuple(const.bounds)
        assert lever.kind == "number" and lever.values == (float(const.value),)  # the baseline sets no lever
        assert lever.low <= lever.values[0] <= lever.high
        assert 0 < lever.step <= (lever.high - lever.low) / 100
    assert levers["land_per_settled_person"].unit == {"zh": "平方米/人", "en": "m² per person"}
    assert levers["homestead_reclamation_rate"].unit == {"zh": "1/年", "en": "per year"}


def test_a_lever_the_scenario_gives_as_a_series_is_a_start_and_an_end(hukou_explorer):
    lever = hukou_explorer.levers["hukou_openness"]
    assert lever.kind == "series" and lever.years == (2020, 2025) and lever.values == (0.9, 1.0)
    assert hukou_explorer.levers["central_city_pull"].kind == "number"


@pytest.mark.parametrize("low, high, step", [(0, 1, 0.005), (0, 3, 0.02), (50, 120, 0.5), (1, 6, 0.05),
                                             (0, 0.2, 0.001), (0, 1.2, 0.01), (0.5, 10, 0.05)])
def test_slider_steps_are_round(low, high, step):
    assert nice_step(low, high) == step


def _county_lever_scenario(tmp_path):
    """The bundled model with the per-county `arrival_weight` made a lever, and a scenario of it."""
    model = yaml.safe_load(bundled_model_path().read_text(encoding="utf-8"))
    model["constants"]["arrival_weight"]["lever"] = True
    (tmp_path / "model.yaml").write_text(yaml.safe_dump(model, allow_unicode=True, sort_keys=False), encoding="utf-8")
    (tmp_path / "county.yaml").write_text("name: county\nmodel: ./model.yaml\n", encoding="utf-8")
    from simulator.scenario.resolve import load_scenario

    return load_scenario(tmp_path / "county.yaml")


def test_a_county_lever_is_one_slider_for_every_county(tmp_path):
    scenario = _county_lever_scenario(tmp_path)
    lever = levers_of(scenario)["arrival_weight"]
    values = np.array(list(scenario.spec.constants["arrival_weight"].value.values()), dtype=float)
    assert lever.dims == ("county",) and lever.kind == "number"
    assert lever.values == (pytest.approx(values.mean()),)
    assert any("every county" in note["en"] for note in lever.notes)
    assert any("differ by place" in note["en"] for note in lever.notes)  # the counties' values differ
    applied, canonical = apply_settings(scenario, raw_settings(levers_of(scenario), {"arrival_weight": 0.5}))
    assert np.array_equal(applied.params["arrival_weight"], np.full(len(values), 0.5))
    assert canonical["arrival_weight"] == dict.fromkeys(scenario.spec.elements("county"), 0.5)


def _same_param(a, b) -> bool:
    if isinstance(a, TimeSeries):
        return isinstance(b, TimeSeries) and np.array_equal(a.years, b.years) and np.array_equal(a.values, b.values)
    return np.array_equal(np.asarray(a), np.asarray(b))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_requests_are_checked_exactly_like_api_overrides(baseline_explorer, data):
    """Any value (inside, on or outside the bounds): the page's path and the API's give the same
    params, or refuse it with the same reason."""
    levers = baseline_explorer.levers
    name = data.draw(st.sampled_from(sorted(levers)))
    lever = levers[name]
    width = lever.high - lever.low
    value = data.draw(st.one_of(st.floats(lever.low, lever.high), st.sampled_from([lever.low, lever.high]),
                                st.floats(lever.low - width, lever.high + width, allow_nan=False)))
    raw = raw_settings(levers, {name: value})
    try:
        expected = with_overrides(baseline_explorer.scenario, raw)
    except InputError as exc:
        with pytest.raises(InputError) as info:
            apply_settings(baseline_explorer.scenario, raw)
        assert info.value.reason == exc.reason
        assert not lever.low <= value <= lever.high
        return
    got, canonical = apply_settings(baseline_explorer.scenario, raw)
    assert lever.low <= value <= lever.high
    assert _same_param(got.params[name], expected.params[name])
    assert got.uncertain == expected.uncertain
    assert canonical == {name: float(value)}
    assert got.resolved["set"][name] == float(value)
    assert baseline_explorer.scenario.params.get(name) is None  # the base is not modified


def test_apply_settings_leaves_the_base_alone(baseline_explorer):
    base = baseline_explorer.scenario
    before = (dict(base.params), dict(base.uncertain), base.sha256, repr(base.resolved))
    apply_settings(base, {"central_city_pull": 2.0, "rural_to_town_rate": 0.02})
    assert (dict(base.params), dict(base.uncertain), base.sha256, repr(base.resolved)) == before


def test_setting_an_uncertain_constant_fixes_it():
    """Like a scenario file's `set:`: a constant set is no longer sampled (apply_settings is also
    used below the page's lever check, e.g. by the band)."""
    from simulator.scenario.resolve import load_scenario

    base = load_scenario()
    got, _ = apply_settings(base, {"rural_to_town_rate": 0.02})
    assert "rural_to_town_rate" in base.uncertain
    assert "rural_to_town_rate" not in got.uncertain
    assert "rural_to_town_rate" not in got.resolved["uncertain"]
    assert math.isclose(got.params["rural_to_town_rate"], 0.02)
    # a constant the posterior gives element by element (county_town_pull[kongtong], ...)
    assert any(k.startswith("county_town_pull[") for k in base.uncertain)
    got, _ = apply_settings(base, {"county_town_pull": 1.0})
    assert not any(k.startswith("county_town_pull") for k in got.uncertain)


def simulator_answer(explorer, settings):
    """The paths of `simulator.run` for the same settings, shaped like the page's answer."""
    import simulator

    frame = simulator.run(explorer.scenario, **settings)
    return {"times": frame["time"].astype(float).tolist(),
            "paths": {n: frame[n].tolist() for n in ("urbanization_rate", "hukou_urbanization_rate") if n in frame},
            "targets": []}


def test_a_two_dimensional_model_and_lever(tmp_path):
    """The county x age toy of the engine tests (no urbanization outputs, no targets), with its
    [age, county] constant made a lever: one slider for every element, the page's endpoints work."""
    from pathlib import Path

    from simulator.cli.common import load_one
    from simulator.explore.session import Explorer

    toy = Path(__file__).resolve().parents[1] / "data" / "county_age.yaml"
    model = yaml.safe_load(toy.read_text(encoding="utf-8"))
    model["constants"]["county_pull"].update(lever=True, bounds=[0, 3])
    (tmp_path / "toy.yaml").write_text(yaml.safe_dump(model, allow_unicode=True, sort_keys=False), encoding="utf-8")
    (tmp_path / "s.yaml").write_text("name: s\nmodel: ./toy.yaml\n", encoding="utf-8")
    explorer = Explorer(*load_one(str(tmp_path / "s.yaml")), band_runs=5)
    lever = explorer.levers["county_pull"]
    values = [0.8, 1.0, 0.9, 1.3, 1.0, 1.1, 0.3, 0.2, 0.4]
    assert lever.dims == ("age", "county") and lever.values == (pytest.approx(sum(values) / 9),)
    assert any("age" in note["en"] and "county" in note["en"] for note in lever.notes)
    assert list(explorer.levers) == ["migration_rate", "county_pull"]
    answer = explorer.run({"set": {"county_pull": 1.5, "migration_rate": 0.05}})
    spec = explorer.scenario.spec
    assert set(answer["paths"]) == {n for n in ("urbanization_rate", "hukou_urbanization_rate") if spec.kind(n)}
    assert answer["targets"] == [] and ("counties" in answer) == bool(spec.kind("county_urbanization_rate"))
    shown = {k: v for k, v in answer.items() if k not in ("cached", "model_ms")}
    assert shown == simulator_answer(explorer, {"county_pull": 1.5, "migration_rate": 0.05})
    assert len(answer["times"]) == 21
    applied, _ = apply_settings(explorer.scenario, {"county_pull": 1.5})
    assert np.asarray(applied.params["county_pull"]).size == 9 and np.all(np.asarray(applied.params["county_pull"]) == 1.5)
    with pytest.raises(InputError, match="outside the bounds"):
        explorer.run({"set": {"county_pull": 4}})
    meta = explorer.meta()
    assert meta["history"]["city"] == {"urbanization_rate": [], "hukou_urbanization_rate": []}  # not Pingliang
    saved = explorer.save({"set": {"county_pull": 1.5}, "name": "toy-2", "label": ""})
    assert "county_pull: 1.5" in saved["yaml"]
