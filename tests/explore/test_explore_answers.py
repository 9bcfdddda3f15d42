"""What the page shows besides the run: the published history points of data/observed.csv."""

from __future__ import annotations

import pytest
from explore_fixtures import baseline_explorer  # noqa: F401 (pytest fixtures)

from simulator.explore.answers import history_points, needed_outputs


def test_history_points_are_the_published_rates(baseline_explorer):
    points = history_points(baseline_explorer.scenario.spec)
    city = {ind: {p["year"]: p["value"] for p in pts} for ind, pts in points["city"].items()}
    # given as rates (seed plan 1(1).1; the 2021 and 2022 statistical bulletins), and 2015 computed from
    # the yearbook's urban and total counts
    assert city["urbanization_rate"] == {2014: 0.3447, 2015: pytest.approx(760900 / 2098000, rel=1e-15), 2020: 0.4477,
                                         2021: 0.4602, 2022: 0.4679}
    assert city["hukou_urbanization_rate"] == {2020: 0.3562}
    counties = {e: {p["year"]: p["value"] for p in pts} for e, pts in points["counties"].items()}
    assert counties["kongtong"] == {2010: 0.4921, 2020: 0.6592}
    assert counties["zhuanglang"] == {2020: 0.2842} and counties["jingning"] == {2020: 0.309}
    assert counties["huating"] == {}  # only a lower bound ("above 60%") is published
    assert set(counties) == set(baseline_explorer.scenario.spec.elements("county"))
    assert all(p["source"] for pts in points["city"].values() for p in pts)


def test_history_points_from_counts_and_odd_rows(baseline_explorer):
    rows = [
        {"year": "2021", "area": "kongtong", "indicator": "urban_population", "value": "300", "source": "a", "note": ""},
        {"year": "2021", "area": "kongtong", "indicator": "resident_population", "value": "400", "source": "b", "note": ""},
        {"year": "2022", "area": "kongtong", "indicator": "urban_population", "value": "1", "source": "c", "note": ""},
        {"year": "x", "area": "pingliang", "indicator": "urbanization_rate", "value": "0.5", "source": "d", "note": ""},
        {"year": "2023", "area": "pingliang", "indicator": "urbanization_rate", "value": "n/a", "source": "e", "note": ""},
        {"year": "2024", "area": "elsewhere", "indicator": "urbanization_rate", "value": "0.9", "source": "f", "note": ""},
    ]
    points = history_points(baseline_explorer.scenario.spec, rows)
    assert points["counties"]["kongtong"] == [{"year": 2021, "value": 0.75, "source": "a; b",
                                               "note": "urban_population / resident_population"}]
    assert points["city"] == {"urbanization_rate": [], "hukou_urbanization_rate": []}


def test_no_history_file_gives_no_points(baseline_explorer, monkeypatch, tmp_path):
    import simulator.analysis.history as history

    monkeypatch.setattr(history, "OBSERVED_CSV", tmp_path / "missing.csv")
    points = history_points(baseline_explorer.scenario.spec)
    assert points["city"] == {"urbanization_rate": [], "hukou_urbanization_rate": []}


def test_a_run_records_only_the_documented_outputs(baseline_explorer):
    assert needed_outputs(baseline_explorer.scenario) == ["urbanization_rate", "hukou_urbanization_rate",
                                                          "county_urbanization_rate"]
