"""The published history for the charts and the counties whose 2020 rate is an estimate,
both read from the data files (never a list written in the code)."""

from __future__ import annotations

from pathlib import Path

from simulator.analysis.published import estimated_counties, published_rates

HEADER_OBS = "year,area,indicator,value,unit,source,note\n"
HEADER_HIST = "year,area,indicator,value,sigma,kind,use,source,note\n"


def _data(tmp_path: Path, observed: str, history: str = "") -> Path:
    (tmp_path / "observed.csv").write_text(HEADER_OBS + observed, encoding="utf-8")
    (tmp_path / "history.csv").write_text(HEADER_HIST + history, encoding="utf-8")
    return tmp_path


def test_bundled_history_points_and_kinds():
    points = published_rates()
    by_year = {p["year"]: p for p in points}
    assert by_year[2020]["kind"] == "census" and by_year[2020]["value"] == 0.4477
    assert by_year[2014]["kind"] == "rebased" and by_year[2014]["value"] != 0.3447  # rebased, not the face value
    assert [p["year"] for p in points] == sorted(by_year)


def test_history_rows_first_then_census_and_bulletin_figures_of_other_years(tmp_path):
    folder = _data(
        tmp_path,
        "2014,pingliang,urbanization_rate,0.34,share,seed plan,annual estimate\n"
        "2020,pingliang,urbanization_rate,0.45,share,seed plan,7th census basis\n"
        "2022,pingliang,urbanization_rate,0.47,share,Pingliang 2022 statistical bulletin,\n"
        "2021,pingliang,urbanization_rate,0.46,share,some annual estimate,\n"
        "2022,gansu,urbanization_rate,0.55,share,Gansu bulletin,\n",
        "2014,pingliang,urbanization_rate,0.356,0.01,rebased,fit,x,\n"
        "2020,pingliang,urbanization_rate,0.4477,0.005,census,fit,x,\n")
    points = published_rates(folder=folder)
    assert [(p["year"], p["value"], p["kind"]) for p in points] == [
        (2014, 0.356, "rebased"), (2020, 0.4477, "census"), (2022, 0.47, "bulletin")]


def test_estimated_counties_come_from_the_observed_rows(tmp_path):
    counties = ["kongtong", "huating", "jingchuan", "lingtai"]
    folder = _data(tmp_path,
                   "2020,kongtong,urbanization_rate,0.66,share,7th census,\n"
                   "2020,huating,urbanization_rate_lower_bound,0.60,share,plan,only a bound\n"
                   "2010,jingchuan,urbanization_rate,0.3,share,6th census,\n"
                   "2020,lingtai,urbanization_rate,0.4,share,7th census,\n")
    assert estimated_counties(counties, folder=folder) == ["huating", "jingchuan"]
    assert estimated_counties(counties, folder=tmp_path / "nothing") == []  # no data: mark none


def test_bundled_estimated_counties():
    from simulator.scenario.resolve import load_scenario

    elements = load_scenario().spec.elements("county")
    guessed = estimated_counties(elements)
    assert "kongtong" not in guessed and "huating" in guessed and set(guessed) < set(elements)
