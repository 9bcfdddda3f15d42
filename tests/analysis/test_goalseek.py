"""Goal seeking: the answer lands on the target, unreachable targets say so, errors are one line."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from simulator.analysis.goalseek import GoalTarget, default_target, frontier, goal_seek, parse_target
from simulator.api import run
from simulator.cli import main
from simulator.errors import InputError
from simulator.scenario.resolve import load_scenario

ROOT = Path(__file__).resolve().parents[2]
TOL = 0.0005  # 0.05 percentage point


@pytest.fixture(scope="module")
def base():
    return load_scenario()


def _rerun(scenario, lever, setting, indicator, year):
    frame = run(scenario, **{lever: setting})
    return float(frame.loc[frame["time"] == year, indicator].iloc[0])


def _ends(scenario, lever, indicator, year):
    """The indicator at the lever's lower and upper bound (targets below are set between them,
    so the tests do not depend on the model's calibration)."""
    lo, hi = scenario.spec.constants[lever].bounds
    return (_rerun(scenario, lever, lo, indicator, year),
            _rerun(scenario, lever, hi, indicator, year))


# levers whose response rises over their whole range (measured on the v2 model; the income
# ratio is not one: its pull and affordability channels make it rise then fall)
@pytest.mark.parametrize("lever, indicator", [
    ("hukou_openness", "hukou_urbanization_rate"),
    ("central_city_pull", "urbanization_rate"),
    ("settlement_willingness", "hukou_urbanization_rate"),
])
def test_answer_run_again_lands_on_the_target(base, lever, indicator):
    v_lo, v_hi = _ends(base, lever, indicator, 2035)
    assert v_hi > v_lo
    target = GoalTarget(indicator, round((v_lo + v_hi) / 2, 4), 2035)
    r = goal_seek(base, lever, target)
    assert r.status == "reached" and r.direction == "at least"
    lo, hi = r.bounds
    assert lo < r.setting < hi
    again = _rerun(base, lever, r.setting, target.indicator, target.year)
    assert again == pytest.approx(r.value, abs=1e-12)
    assert target.value <= again <= target.value + TOL
    # smallest: a little less of the lever misses the target
    below = _rerun(base, lever, r.setting - 0.01 * (hi - lo), target.indicator, target.year)
    assert below < target.value


def test_falling_response_gives_the_largest_setting_that_still_reaches(base):
    # urban-hukou out-migration empties towns: the more of it, the lower the rate
    lever = "urban_out_migration_factor"
    v_lo, v_hi = _ends(base, lever, "urbanization_rate", 2035)
    assert v_lo > v_hi
    goal = round((v_lo + v_hi) / 2, 4)
    r = goal_seek(base, lever, GoalTarget("urbanization_rate", goal, 2035))
    assert r.status == "reached" and r.direction == "at most"
    lo, hi = r.bounds
    assert lo < r.setting < hi
    again = _rerun(base, lever, r.setting, "urbanization_rate", 2035)
    assert again == pytest.approx(r.value, abs=1e-12)
    assert goal <= again <= goal + TOL
    # largest: a little more of the lever misses the target
    above = _rerun(base, lever, r.setting + 0.01 * (hi - lo), "urbanization_rate", 2035)
    assert above < goal


def test_unreachable_reports_the_best_reachable_rate(base):
    lever = "hukou_openness"
    v_lo, v_hi = _ends(base, lever, "urbanization_rate", 2035)
    goal = max(v_lo, v_hi) + 0.01  # one point above anything the lever can give
    r = goal_seek(base, lever, GoalTarget("urbanization_rate", goal, 2035))
    assert r.status == "unreachable" and not r.reached
    assert r.setting is None and r.value is None
    assert r.best_value < goal
    assert r.best_value == pytest.approx(max(r.grid_values))
    assert r.best_value == pytest.approx(max(v_lo, v_hi), abs=1e-12)
    best_again = _rerun(base, lever, r.best_setting, "urbanization_rate", 2035)
    assert best_again == pytest.approx(r.best_value, abs=1e-12)
    assert "unreachable" in r.text() and "best" in r.text()


def test_target_already_met_everywhere(base):
    v_lo, v_hi = _ends(base, "hukou_openness", "urbanization_rate", 2035)
    goal = min(v_lo, v_hi) - 0.01
    r = goal_seek(base, "hukou_openness", GoalTarget("urbanization_rate", goal, 2035))
    assert r.status == "reached at every setting"
    assert r.setting == 0.0 and r.value >= goal


def test_range_narrows_the_search(base):
    lever = "central_city_pull"
    v_lo, v_hi = _ends(base, lever, "urbanization_rate", 2035)
    t = GoalTarget("urbanization_rate", round((v_lo + v_hi) / 2, 4), 2035)
    full = goal_seek(base, lever, t)
    lo, hi = full.bounds
    cut = (lo + full.setting) / 2
    narrow = goal_seek(base, lever, t, low=cut, high=hi)
    assert narrow.bounds == (cut, hi)
    assert narrow.setting == pytest.approx(full.setting, abs=1e-6)
    short = goal_seek(base, lever, t, low=lo, high=cut)
    assert short.status == "unreachable" and short.best_setting == cut


def test_time_series_lever_is_replaced_by_a_constant(tmp_path):
    path = tmp_path / "ts.yaml"
    path.write_text("extends: baseline\nset:\n  hukou_openness: {2020: 0.2, 2030: 0.8}\n",
                    encoding="utf-8")
    sc = load_scenario(path)
    v_lo, v_hi = _ends(sc, "hukou_openness", "hukou_urbanization_rate", 2035)
    goal = round((v_lo + v_hi) / 2, 4)
    r = goal_seek(sc, "hukou_openness", GoalTarget("hukou_urbanization_rate", goal, 2035))
    assert any("time series" in n for n in r.notes)
    assert r.scenario_setting == {"2020": 0.2, "2030": 0.8}
    again = _rerun(sc, "hukou_openness", r.setting, "hukou_urbanization_rate", 2035)
    assert goal <= again <= goal + TOL


def test_frontier_one_grid_and_its_line(base):
    a_name, b_name = "central_city_pull", "rural_to_town_rate"
    mid = {n: sum(base.spec.constants[n].bounds) / 2 for n in (a_name, b_name)}
    goal = round(float(run(base, **mid).query("time == 2035")["urbanization_rate"].iloc[0]), 4)
    t = GoalTarget("urbanization_rate", goal, 2035)
    fr = frontier(base, a_name, b_name, t, grid=11)
    vals = np.asarray(fr.values)
    assert vals.shape == (11, 11)
    # a grid value equals a single run with both levers set
    single = run(base, **{a_name: fr.grid_a[-1], b_name: fr.grid_b[0]})
    assert vals[0, -1] == pytest.approx(
        float(single.query("time == 2035")["urbanization_rate"].iloc[0]), abs=1e-12)
    found = [(j, b) for j, b in enumerate(fr.frontier_b) if b is not None]
    assert found and fr.direction_b == "at least"
    # more pull of the central city needs less migration to the county towns: the frontier falls
    bs = [b for _, b in found]
    assert all(x >= y - 1e-12 for x, y in zip(bs, bs[1:]))
    assert bs[0] > bs[-1]
    for j, b in enumerate(fr.frontier_b):
        if b is None:
            assert vals[:, j].max() < goal
        else:  # on the line, interpolated between grid points of lever B
            again = run(base, **{a_name: fr.grid_a[j], b_name: b})
            assert float(again.query("time == 2035")["urbanization_rate"].iloc[0]) == \
                pytest.approx(goal, abs=0.003)


def test_parse_target_forms_and_errors(base):
    spec = base.spec
    assert parse_target("urbanization_rate=0.70@2035", spec) == GoalTarget("urbanization_rate", 0.70, 2035)
    assert parse_target("urbanization_rate=70%@2035", spec).value == pytest.approx(0.70)
    t = parse_target("county_urbanization_rate[jingning]=0.6@2030", spec)
    assert t.indicator == "county_urbanization_rate[jingning]"
    assert default_target(base) == GoalTarget("urbanization_rate", 0.70, 2035)
    for bad, words in [
        ("urbanization_rate=0.7", "INDICATOR=VALUE@YEAR"),
        ("urbanization_rate=abc@2035", "not a number"),
        ("urbanization_rate=0.7@2050", "outside the run years"),
        ("urbanization_rate=0.7@2030.5", "whole year"),
        ("urbanisation_rate=0.7@2035", "did you mean 'urbanization_rate'"),
        ("county_urbanization_rate=0.7@2035", "name one element"),
        ("hukou_openness=0.7@2035", "is a constant"),
    ]:
        with pytest.raises(InputError, match=words.replace("(", r"\(").replace("[", r"\[")):
            parse_target(bad, spec)


def test_lever_errors(base):
    t = GoalTarget("urbanization_rate", 0.70, 2035)
    with pytest.raises(InputError, match="did you mean 'hukou_openness'"):
        goal_seek(base, "hukou_opennes", t)
    with pytest.raises(InputError, match="not a constant"):
        goal_seek(base, "urbanization_rate", t)
    with pytest.raises(InputError, match="empty"):
        goal_seek(base, "hukou_openness", t, low=0.5, high=0.5)


@pytest.mark.parametrize("argv, words", [
    (["--lever", "hukou_opennes"], "did you mean 'hukou_openness'"),
    (["--lever", "urban_population"], "not a constant"),
    (["--lever", "hukou_openness", "--target", "urbanization_rate:0.7"], "INDICATOR=VALUE@YEAR"),
    (["--lever", "hukou_openness", "--target", "urbanization_rate=0.7@2040"], "outside the run years"),
    (["--lever", "hukou_openness", "--range", "0.5"], "LOW,HIGH"),
    (["--lever", "hukou_openness", "--range", "0.5,2"], "outside"),
    (["--lever", "a", "--lever", "b", "--lever", "c"], "one or two levers"),
])
def test_cli_errors_are_one_line_exit_2_nothing_written(tmp_path, capsys, argv, words):
    out = tmp_path / "out"
    code = main(["goal-seek", str(ROOT / "scenarios" / "baseline.yaml"), *argv, "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1 and words in err
    assert not out.exists()


def test_cli_goal_seek_one_and_two_levers(tmp_path, capsys):
    base = str(ROOT / "scenarios" / "baseline.yaml")
    sc = load_scenario(base)
    v_lo, v_hi = _ends(sc, "central_city_pull", "urbanization_rate", 2035)
    assert v_hi > v_lo
    goal = round((v_lo + v_hi) / 2, 4)
    assert main(["goal-seek", base, "--lever", "central_city_pull",
                 "--target", f"urbanization_rate={100 * goal:.2f}%@2035",
                 "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "central_city_pull at least" in out
    (first,) = tmp_path.glob("baseline-goal-seek-central_city_pull-urbanization_rate-*-2035")
    data = json.loads((first / "goal_seek.json").read_text("utf-8"))
    (res,) = data["results"]
    assert res["status"] == "reached" and goal <= res["value"] <= goal + TOL
    # the answer, run again, lands on the target
    again = _rerun(sc, "central_city_pull", res["setting"], "urbanization_rate", 2035)
    assert again == pytest.approx(res["value"], abs=1e-12)

    h_lo, h_hi = _ends(sc, "hukou_openness", "urbanization_rate", 2035)
    high = max(h_lo, h_hi) + 0.01
    assert main(["goal-seek", base, "--lever", "hukou_openness", "--lever",
                 "central_city_pull", "--grid", "5",
                 "--target", f"urbanization_rate={high}@2035", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "hukou_openness: unreachable" in out and "frontier" in out
    # a second question gets its own folder: the first answer is still there
    folder = tmp_path / f"baseline-goal-seek-hukou_openness-central_city_pull-urbanization_rate-{high:g}-2035"
    assert (first / "goal_seek.json").is_file() and folder.is_dir()
    assert (folder / "charts" / "frontier.png").read_bytes()[:4] == b"\x89PNG"
    assert (folder / "charts" / "frontier.svg").read_bytes().startswith(b"<?xml")
    assert "charts/frontier.svg" in out
    lines = (folder / "frontier.csv").read_text("utf-8").splitlines()
    assert lines[0] == "hukou_openness,central_city_pull,urbanization_rate"
    assert len(lines) == 1 + 25


def test_write_goal_seek_in_english_writes_the_frontier_as_png_and_svg(base, tmp_path, monkeypatch):
    from simulator.outputs.charts import compare as charts
    from simulator.outputs.goalseek_files import write_goal_seek

    calls: list = []

    def fake(*args, **kwargs):
        calls.append(kwargs)
        Path(args[4]).write_bytes(b"png")
        Path(args[4]).with_suffix(".svg").write_bytes(b"svg")
        return Path(args[4])

    monkeypatch.setattr(charts, "frontier_chart", fake)
    fr = frontier(base, "hukou_openness", "central_city_pull", GoalTarget("urbanization_rate", 0.7, 2035),
                  grid=3)
    paths = write_goal_seek(base, [], fr, tmp_path, lang="en")
    (kwargs,) = calls
    assert kwargs["lang"] == "en"
    assert kwargs["title"] == "Resident urbanization rate in 2035: two policy levers combined"
    assert kwargs["label_a"].startswith(base.spec.constants["hukou_openness"].label.en)
    assert paths["charts/frontier.svg"].read_bytes() == b"svg"
    assert paths["charts/frontier.png"].read_bytes() == b"png"
    with pytest.raises(ValueError, match="fr"):
        write_goal_seek(base, [], fr, tmp_path / "fr", lang="fr")
    assert not (tmp_path / "fr").exists()


PEAKED = {
    "constants": {
        "x": {"value": 0.5, "bounds": [0, 1], "lever": True, "unit": "dimensionless",
              "label": {"zh": "杠杆", "en": "lever"}},
    },
    "stocks": {
        "s": {"initial": 0, "inflows": ["f"], "unit": "dimensionless",
              "label": {"zh": "存量", "en": "stock"}},
    },
    "flows": {"f": {"equation": "0", "unit": "1/year", "label": {"zh": "流量", "en": "flow"}}},
    # a peak at x = 0.3, between the grid points 0, 0.5 and 1 of a 3-point grid
    "auxiliaries": {"y": {"equation": "1 - 10 * (x - 0.3) ** 2 + s", "unit": "dimensionless",
                          "label": {"zh": "指标", "en": "indicator"}}},
}


@pytest.fixture
def peaked(write_model, tmp_path):
    model = write_model(PEAKED)
    path = tmp_path / "peaked.yaml"
    path.write_text(f"model: {model}\n", encoding="utf-8")
    return load_scenario(path)


def test_a_peak_between_grid_points_is_found(peaked):
    # grid values 0.1, 0.6, -3.9: none reaches 0.9, the refined peak (1.0 at x = 0.3) does
    r = goal_seek(peaked, "x", GoalTarget("y", 0.9, 5), grid=3)
    assert not r.monotone and r.status == "reached"
    # the main direction falls (y(1) < y(0)): the largest x that still reaches 0.9 is 0.4
    assert r.direction == "at most"
    assert r.setting == pytest.approx(0.4, abs=1e-6)
    assert 0.9 <= r.value <= 0.9 + TOL
    far = goal_seek(peaked, "x", GoalTarget("y", 1.1, 5), grid=3)
    assert far.status == "unreachable"
    assert far.best_setting == pytest.approx(0.3, abs=1e-4)
    assert far.best_value == pytest.approx(1.0, abs=1e-6)
