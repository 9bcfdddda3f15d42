"""Scenario files: validation (one-line errors naming file, field, reason), extends, levers."""

from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np
import pytest

from simulator.engine.series import TimeSeries
from simulator.errors import InputError
from simulator.scenario.resolve import load_scenario
from simulator.scenario.schema import Distribution, Scenario, Target, bundled_scenario_path

# A small model of our own, so these tests do not depend on the Pingliang model's contents.
MODEL = """\
name: toy
time: {start: 2020, stop: 2035, dt: 0.25, saveper: 1}
dimensions:
  county:
    elements: [kongtong, huating, jingchuan]
constants:
  hukou_openness:
    {value: 0.3, unit: dimensionless, bounds: [0, 1], label: {zh: 户籍开放度, en: Hukou openness}}
  land_per_settled_person:
    {value: 100, unit: m**2/person, bounds: [50, 150], label: {zh: 人均用地, en: Land per person}}
  migration_base_rate:
    {value: 0.02, unit: 1/year, bounds: [0, 0.1], label: {zh: 迁移率, en: Migration rate}}
  unbounded:
    {value: 5, unit: dimensionless, label: {zh: 无界, en: Unbounded}}
  county_share:
    value: {kongtong: 0.5, huating: 0.3, jingchuan: 0.2}
    dims: [county]
    unit: dimensionless
    bounds: [0, 1]
    label: {zh: 份额, en: Share}
  initial_rural:
    {value: 1000, dims: [county], unit: person, label: {zh: 农村, en: Rural}}
  county_weight:
    {value: 1, dims: [county], unit: dimensionless, label: {zh: 权重, en: Weight}}
stocks:
  rural_residents:
    {dims: [county], initial: initial_rural, outflows: [migration], unit: person,
     label: {zh: 农村常住人口, en: Rural residents}}
  urban_residents:
    {dims: [county], initial: 100, inflows: [migration], unit: person,
     label: {zh: 城镇常住人口, en: Urban residents}}
flows:
  migration:
    dims: [county]
    equation: "rural_residents * migration_base_rate * (1 + hukou_openness) * county_share"
    unit: person/year
    label: {zh: 迁移, en: Migration}
auxiliaries:
  urbanization_rate:
    equation: "sum(urban_residents) / (sum(urban_residents) + sum(rural_residents))"
    unit: dimensionless
    label: {zh: 城镇化率, en: Urbanization rate}
  urbanization_rate_county:
    dims: [county]
    equation: "urban_residents / (urban_residents + rural_residents)"
    unit: dimensionless
    label: {zh: 县城镇化率, en: County urbanization rate}
"""

BASE = """\
name: base
label: {zh: 基准, en: Base}
model: model.yaml
set:
  land_per_settled_person: 120
uncertain:
  migration_base_rate: {dist: uniform, low: 0.01, high: 0.04}
targets:
  - {indicator: urbanization_rate, year: 2025, value: 0.55}
  - {indicator: urbanization_rate, year: 2035, value: 0.70}
"""


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    (tmp_path / "model.yaml").write_text(MODEL, encoding="utf-8")
    (tmp_path / "base.yaml").write_text(BASE, encoding="utf-8")
    return tmp_path


def write(folder: Path, text: str, name: str = "s.yaml") -> Path:
    path = folder / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def error_of(path: Path | str) -> InputError:
    with pytest.raises(InputError) as info:
        load_scenario(path)
    err = info.value
    message = str(err)
    assert "\n" not in message and "Traceback" not in message
    assert message == f"{err.file}: {err.field}: {err.reason}"
    return err


def scenario_text(body: str, model: bool = True) -> str:
    head = "model: model.yaml\n" if model else ""
    return head + textwrap.dedent(body)


# --------------------------------------------------------------------------- good input


def test_levers_resolve_to_the_right_shapes_and_values(folder):
    path = write(
        folder,
        scenario_text(
            """\
            name: push
            label: {zh: 户籍改革加速, en: Faster hukou reform}
            set:
              hukou_openness: {2023: 1.0, 2020: 0.6}
              land_per_settled_person: 100
              county_share: {kongtong: 0.1, huating: 0.2, jingchuan: 0.3}
              initial_rural: 500
              county_weight: {2020: {kongtong: 1, huating: 2, jingchuan: 3}, 2030: 7}
            """
        ),
    )
    s = load_scenario(str(path))
    assert isinstance(s, Scenario)
    assert s.name == "push" and s.label == {"zh": "户籍改革加速", "en": "Faster hukou reform"}
    assert s.path == path
    assert s.spec.name == "toy"

    ts = s.params["hukou_openness"]
    assert isinstance(ts, TimeSeries)
    assert ts.years.dtype == float and ts.years.tolist() == [2020.0, 2023.0]  # sorted
    assert ts.values.shape == (2,) and ts.values.tolist() == [0.6, 1.0]
    assert ts.at(2021.5) == pytest.approx(0.8)

    assert s.params["land_per_settled_person"] == 100.0
    assert type(s.params["land_per_settled_person"]) is float

    share = s.params["county_share"]
    assert isinstance(share, np.ndarray) and share.shape == (3,)
    assert share.tolist() == [0.1, 0.2, 0.3]  # dimension order
    assert s.params["initial_rural"].tolist() == [500.0, 500.0, 500.0]  # one number for all

    county_ts = s.params["county_weight"]
    assert isinstance(county_ts, TimeSeries) and county_ts.values.shape == (2, 3)
    assert county_ts.values.tolist() == [[1, 2, 3], [7, 7, 7]]

    assert s.uncertain == {} and s.targets == []
    assert s.resolved["model"] == "model.yaml"
    assert s.resolved["set"]["hukou_openness"] == {"2020": 0.6, "2023": 1.0}
    assert s.resolved["set"]["initial_rural"] == {"kongtong": 500.0, "huating": 500.0, "jingchuan": 500.0}


def test_uncertain_and_targets(folder):
    path = write(
        folder,
        scenario_text(
            """\
            uncertain:
              migration_base_rate: {dist: uniform, low: 0.01, high: 0.04}
              hukou_openness: {dist: triangular, low: 0.2, mode: 0.5, high: 0.9}
              land_per_settled_person: {dist: normal, mean: 100, sd: 10}
              county_share: {dist: discrete, values: [0.1, 0.2], weights: [1, 3]}
            targets:
              - {indicator: urbanization_rate, year: 2025, value: 0.55}
              - {indicator: "urbanization_rate_county[kongtong]", year: 2035, value: 0.7}
              - {indicator: "urban_residents[huating]", year: 2030, value: 1000}
            """
        ),
    )
    s = load_scenario(path)
    assert s.name == "s" and s.label == {"zh": "s", "en": "s"}  # defaults: file stem
    assert s.uncertain["migration_base_rate"] == Distribution("uniform", low=0.01, high=0.04)
    tri = s.uncertain["hukou_openness"]
    assert tri.params == {"low": 0.2, "mode": 0.5, "high": 0.9}
    np.testing.assert_allclose(tri.ppf([0.0, 1.0]), [0.2, 0.9])
    assert s.uncertain["land_per_settled_person"].params == {"mean": 100.0, "sd": 10.0}
    disc = s.uncertain["county_share"]
    assert disc.values == (0.1, 0.2) and disc.weights == (1.0, 3.0)
    assert set(disc.sample(200, rng=1).tolist()) == {0.1, 0.2}
    u = s.uncertain["migration_base_rate"].sample(1000, rng=0)
    assert u.min() >= 0.01 and u.max() <= 0.04
    assert s.targets == [
        Target("urbanization_rate", 2025, 0.55),
        Target("urbanization_rate_county[kongtong]", 2035, 0.7),
        Target("urban_residents[huating]", 2030, 1000.0),
    ]
    assert s.resolved["uncertain"]["migration_base_rate"] == {"dist": "uniform", "low": 0.01, "high": 0.04}


# --------------------------------------------------------------------------- extends


def test_extends_overrides_and_inherits(folder):
    path = write(
        folder,
        """\
        name: push
        extends: base
        label: {zh: 推进, en: Push}
        set:
          land_per_settled_person: 100
          migration_base_rate: 0.03
          hukou_openness: {2020: 0.6, 2023: 1.0}
        """,
    )
    s = load_scenario(path)
    assert s.name == "push" and s.label["en"] == "Push"
    assert s.spec.name == "toy"  # model inherited, resolved relative to base.yaml
    assert s.params["land_per_settled_person"] == 100.0  # child overrides
    assert s.params["migration_base_rate"] == 0.03
    assert "migration_base_rate" not in s.uncertain  # fixed by the child: no longer uncertain
    assert [t.year for t in s.targets] == [2025, 2035]  # inherited
    assert s.chain == (path, folder / "base.yaml")


def test_extends_keeps_parent_entries_and_replaces_targets(folder):
    path = write(
        folder,
        """\
        extends: base.yaml
        set:
          hukou_openness: 0.5
        targets:
          - {indicator: urbanization_rate, year: 2030, value: 0.6}
        """,
    )
    s = load_scenario(path)
    assert s.params == {"land_per_settled_person": 120.0, "hukou_openness": 0.5}
    assert s.uncertain["migration_base_rate"].dist == "uniform"
    assert s.targets == [Target("urbanization_rate", 2030, 0.6)]
    assert s.label == {"zh": "s", "en": "s"}  # label is not inherited


def test_extends_chain_of_three_and_uncertain_override(folder):
    write(folder, "extends: base\nset: {hukou_openness: 0.4}\n", name="mid.yaml")
    path = write(
        folder,
        "extends: mid\nuncertain:\n  land_per_settled_person: {dist: uniform, low: 60, high: 140}\n",
    )
    s = load_scenario(path)
    # land is now uncertain (for sweeps); plain runs keep the value the parent set
    assert set(s.params) == {"hukou_openness", "land_per_settled_person"}
    assert set(s.uncertain) == {"migration_base_rate", "land_per_settled_person"}
    assert len(s.chain) == 3


def test_extends_cycle_is_an_error(folder):
    write(folder, "model: model.yaml\nextends: b\n", name="a.yaml")
    write(folder, "extends: a\n", name="b.yaml")
    err = error_of(folder / "a.yaml")
    assert err.field == "extends" and "cycle" in err.reason
    assert "a.yaml" in err.reason and "b.yaml" in err.reason


def test_extends_unknown_parent_suggests(folder):
    err = error_of(write(folder, "extends: basee\n"))
    assert err.field == "extends"
    assert "unknown parent scenario 'basee'" in err.reason and "did you mean 'base'" in err.reason


def test_errors_in_a_parent_name_the_parent_file(folder):
    write(folder, "model: model.yaml\nset: {hukou_openess: 0.5}\n", name="parent.yaml")
    err = error_of(write(folder, "extends: parent\n"))
    assert err.file.endswith("parent.yaml") and err.field == "set.hukou_openess"


# --------------------------------------------------------------------------- sha256


def test_sha256_is_stable_and_changes_with_a_value(folder):
    one = write(folder, scenario_text("set: {hukou_openness: 0.5, land_per_settled_person: 100}\n"), "x.yaml")
    a, b = load_scenario(one), load_scenario(one)
    assert a.sha256 == b.sha256 and len(a.sha256) == 64
    # same meaning, different spelling (key order, int vs float): same hash
    other = folder / "sub"
    other.mkdir()
    (other / "model.yaml").write_text(MODEL, encoding="utf-8")
    two = write(other, scenario_text("set: {land_per_settled_person: 100.0, hukou_openness: 0.50}\n"), "x.yaml")
    assert load_scenario(two).sha256 == a.sha256
    three = write(folder, scenario_text("set: {hukou_openness: 0.51, land_per_settled_person: 100}\n"), "x.yaml")
    assert load_scenario(three).sha256 != a.sha256


# --------------------------------------------------------------------------- bad input

BAD = [
    # (scenario text, field, words the reason must contain)
    ("set: {hukou_openess: 0.5}", "set.hukou_openess", ["unknown constant", "did you mean 'hukou_openness'"]),
    ("set: {urbanization_rate: 0.5}", "set.urbanization_rate", ["an auxiliary, not a constant"]),
    ("set: {urban_residents: 5}", "set.urban_residents", ["a stock, not a constant"]),
    ("set: {migration: 5}", "set.migration", ["a flow, not a constant"]),
    ("set: {hukou_openness: '0.5'}", "set.hukou_openness", ["expected a number", "text '0.5'"]),
    ("set: {hukou_openness: true}", "set.hukou_openness", ["expected a number", "true"]),
    ("set: {hukou_openness: [1, 2]}", "set.hukou_openness", ["expected a number", "list"]),
    ("set: {hukou_openness: .nan}", "set.hukou_openness", ["finite"]),
    ("set: {hukou_openness: 1.5}", "set.hukou_openness", ["outside the bounds [0, 1]"]),
    ("set: {land_per_settled_person: 40}", "set.land_per_settled_person", ["outside the bounds [50, 150]"]),
    ("set: {hukou_openness: {2019: 0.5}}", "set.hukou_openness.2019", ["outside the run years 2020-2035"]),
    ("set: {hukou_openness: {2036: 0.5}}", "set.hukou_openness.2036", ["outside the run years 2020-2035"]),
    ("set: {hukou_openness: {2020.5: 0.5}}", "set.hukou_openness.2020.5", ["not a whole number"]),
    ("set: {hukou_openness: {2020: 0.5, 2021: 2}}", "set.hukou_openness.2021", ["outside the bounds"]),
    ("set: {hukou_openness: {2020: yes}}", "set.hukou_openness.2020", ["expected a number"]),
    ("set: {hukou_openness: {kongtong: 0.5}}", "set.hukou_openness.kongtong", ["not per county"]),
    ("set: {hukou_openness: {}}", "set.hukou_openness", ["empty"]),
    ("set: {county_share: {kongtong: 0.5, huating: 0.3}}", "set.county_share", ["missing jingchuan"]),
    (
        "set: {county_share: {kongtng: 0.5, huating: 0.3, jingchuan: 0.1}}",
        "set.county_share.kongtng",
        ["unknown county", "did you mean 'kongtong'"],
    ),
    ("set: {county_share: {kongtong: 0.5, huating: 3, jingchuan: 0.1}}", "set.county_share.huating", ["outside the bounds"]),
    ("set: {county_share: {2020: {kongtong: 0.5}}}", "set.county_share.2020", ["missing huating, jingchuan"]),
    ("set: {county_share: x}", "set.county_share", ["expected a number", "text 'x'"]),
    ("uncertain: {hukou_openess: {dist: uniform, low: 0, high: 1}}", "uncertain.hukou_openess", ["unknown constant", "did you mean"]),
    ("uncertain: {urbanization_rate: {dist: uniform, low: 0, high: 1}}", "uncertain.urbanization_rate", ["not a constant"]),
    ("uncertain: {hukou_openness: 0.5}", "uncertain.hukou_openness", ["expected a mapping"]),
    ("uncertain: {hukou_openness: {low: 0, high: 1}}", "uncertain.hukou_openness.dist", ["missing"]),
    ("uncertain: {hukou_openness: {dist: unifrom, low: 0, high: 1}}", "uncertain.hukou_openness.dist", ["unknown distribution", "did you mean 'uniform'"]),
    ("uncertain: {hukou_openness: {dist: uniform, low: 0}}", "uncertain.hukou_openness.high", ["missing"]),
    ("uncertain: {hukou_openness: {dist: uniform, low: 0, high: 1, mode: 0.5}}", "uncertain.hukou_openness.mode", ["unknown parameter", "uniform"]),
    ("uncertain: {hukou_openness: {dist: normal, mean: 0.5}}", "uncertain.hukou_openness.sd", ["missing"]),
    ("uncertain: {hukou_openness: {dist: uniform, low: 0.5, high: 0.5}}", "uncertain.hukou_openness.high", ["greater than low"]),
    ("uncertain: {hukou_openness: {dist: uniform, low: 0.8, high: 0.2}}", "uncertain.hukou_openness.high", ["greater than low"]),
    ("uncertain: {hukou_openness: {dist: uniform, low: 0.5, high: 1.5}}", "uncertain.hukou_openness.high", ["outside the bounds [0, 1]"]),
    ("uncertain: {hukou_openness: {dist: uniform, low: -0.1, high: 0.5}}", "uncertain.hukou_openness.low", ["outside the bounds"]),
    ("uncertain: {hukou_openness: {dist: uniform, low: a, high: 0.5}}", "uncertain.hukou_openness.low", ["expected a number"]),
    ("uncertain: {hukou_openness: {dist: normal, mean: 0.5, sd: 0}}", "uncertain.hukou_openness.sd", ["greater than 0"]),
    ("uncertain: {hukou_openness: {dist: normal, mean: 2, sd: 0.1}}", "uncertain.hukou_openness.mean", ["outside the bounds"]),
    ("uncertain: {hukou_openness: {dist: triangular, low: 0.1, mode: 0.9, high: 0.3}}", "uncertain.hukou_openness.mode", ["outside [low, high]"]),
    ("uncertain: {hukou_openness: {dist: discrete, values: [0.1, 2]}}", "uncertain.hukou_openness.values.1", ["outside the bounds"]),
    ("uncertain: {hukou_openness: {dist: discrete, values: []}}", "uncertain.hukou_openness.values", ["non-empty list"]),
    ("uncertain: {hukou_openness: {dist: discrete, values: [0.1], weights: [1, 2]}}", "uncertain.hukou_openness.weights", ["1 numbers"]),
    (
        "set: {hukou_openness: 0.5}\nuncertain: {hukou_openness: {dist: uniform, low: 0, high: 1}}",
        "uncertain.hukou_openness",
        ["either set or uncertain"],
    ),
    ("targets: [{indicator: urbanisation_rate, year: 2025, value: 0.5}]", "targets.0.indicator", ["unknown indicator", "did you mean 'urbanization_rate'"]),
    ("targets: [{indicator: migration, year: 2025, value: 0.5}]", "targets.0.indicator", ["a flow", "auxiliary or a stock"]),
    ("targets: [{indicator: hukou_openness, year: 2025, value: 0.5}]", "targets.0.indicator", ["a constant"]),
    ("targets: [{indicator: urbanization_rate_county, year: 2025, value: 0.5}]", "targets.0.indicator", ["per county", "urbanization_rate_county[kongtong]"]),
    ("targets: [{indicator: 'urbanization_rate_county[kongtng]', year: 2025, value: 0.5}]", "targets.0.indicator", ["unknown county", "did you mean 'kongtong'"]),
    ("targets: [{indicator: 'urbanization_rate[kongtong]', year: 2025, value: 0.5}]", "targets.0.indicator", ["not subscripted"]),
    ("targets: [{indicator: urbanization_rate, year: 2040, value: 0.5}]", "targets.0.year", ["outside the run years 2020-2035"]),
    ("targets: [{indicator: urbanization_rate, year: 2025.5, value: 0.5}]", "targets.0.year", ["not a whole number"]),
    ("targets: [{indicator: urbanization_rate, year: 2025, value: high}]", "targets.0.value", ["expected a number", "text 'high'"]),
    ("targets: [{indicator: urbanization_rate, year: 2025, value: true}]", "targets.0.value", ["expected a number"]),
    ("targets: [{indicator: urbanization_rate, year: 2025}]", "targets.0.value", ["missing"]),
    ("targets: [{indicator: urbanization_rate, year: 2025, valeu: 0.5}]", "targets.0.valeu", ["unknown key", "did you mean 'value'"]),
    ("targets: {indicator: urbanization_rate, year: 2025, value: 0.5}", "targets", ["expected a list"]),
    (
        "targets: [{indicator: urbanization_rate, year: 2025, value: 0.5}, {indicator: urbanization_rate, year: 2025, value: 0.6}]",
        "targets.1",
        ["duplicates targets.0"],
    ),
    ("label: {zh: 基准}", "label.en", ["missing"]),
    ("label: {zh: 1, en: x}", "label.zh", ["expected text"]),
    ("label: {zh: 基准, en: Base, fr: Base}", "label.fr", ["unknown key"]),
    ("label: Baseline", "label", ["expected a mapping"]),
    ("name: 5", "name", ["expected text"]),
    ("sett: {hukou_openness: 0.5}", "sett", ["unknown key", "did you mean 'set'"]),
    ("set: [hukou_openness]", "set", ["expected a mapping"]),
    ("model: missing.yaml", "model", ["no such model file"]),
    ("model: nosuchmodel", "model", ["unknown model 'nosuchmodel'"]),
]


@pytest.mark.parametrize("text,field,words", BAD, ids=[b[1] + ":" + b[2][0] for b in BAD])
def test_bad_input_is_one_line_naming_file_field_and_reason(folder, text, field, words):
    model = not text.startswith("model:")
    path = write(folder, scenario_text(text + "\n", model=model), name="bad.yaml")
    err = error_of(path)
    assert err.file == str(path)
    assert err.field == field
    for word in words:
        assert word in err.reason
    assert str(err).startswith(f"{path}: {field}: ")


def test_missing_file(tmp_path):
    err = error_of(tmp_path / "nope.yaml")
    assert err.file.endswith("nope.yaml") and "no such scenario file" in err.reason


def test_malformed_yaml_gives_the_line(folder):
    path = write(folder, "model: model.yaml\nset:\n  hukou_openness: {2020: 0.5\n")
    err = error_of(path)
    assert err.field.startswith("line ") and "malformed YAML" in err.reason


def test_malformed_yaml_line_number(folder):
    path = write(folder, "name: x\nlabel: [a\nset: {}\n")
    err = error_of(path)
    assert err.field.startswith("line 3") and "malformed YAML" in err.reason


def test_duplicate_key_is_an_error(folder):
    path = write(folder, "model: model.yaml\nset:\n  hukou_openness: 0.5\n  hukou_openness: 0.6\n")
    err = error_of(path)
    assert err.field == "line 4" and "given twice" in err.reason


@pytest.mark.parametrize("text,got", [("", "empty file"), ("- a\n- b\n", "a list"), ("just text\n", "text")])
def test_top_level_must_be_a_mapping(folder, text, got):
    err = error_of(write(folder, text))
    assert err.field == "(top level)" and "expected a mapping" in err.reason and got in err.reason


def test_self_extension_is_an_error(folder):
    err = error_of(write(folder, "model: model.yaml\nextends: me\n", name="me.yaml"))
    assert err.field == "extends" and "cannot extend itself" in err.reason


def test_string_number_hint(folder):
    err = error_of(write(folder, scenario_text("set: {migration_base_rate: 1e-3}\n")))
    assert "1.0e-3" in err.reason


# --------------------------------------------------------------------------- the bundled baseline


def test_bundled_baseline_loads_from_another_working_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert bundled_scenario_path("baseline").is_file()
    s = load_scenario()
    assert s.name == "baseline"
    assert s.label == {"zh": "基准情景（趋势延续）", "en": "Baseline (trend)"}
    assert s.resolved["model"] == "pingliang.yaml"
    assert Target("urbanization_rate", 2025, 0.55) in s.targets
    assert Target("urbanization_rate", 2035, 0.70) in s.targets
    for name, dist in s.uncertain.items():
        # a constant, or one element of a county constant (a column of the calibration's posterior)
        base, _, element = name.partition("[")
        assert base in s.spec.constants and isinstance(dist, Distribution), name
        if element:
            assert dist.dist == "posterior", name
            assert element.endswith("]") and element[:-1] in s.spec.elements(s.spec.constants[base].dims[0]), name
    assert load_scenario(bundled_scenario_path("baseline")).sha256 == s.sha256


def test_a_scenario_extending_the_bundled_baseline(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "mine.yaml"
    path.write_text("extends: baseline\nlabel: {zh: 我的, en: Mine}\n", encoding="utf-8")
    s = load_scenario(path)
    assert s.name == "mine" and s.resolved["model"] == "pingliang.yaml"
    assert s.targets == load_scenario().targets
