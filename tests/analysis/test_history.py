"""data/history.csv: derived from data/observed.csv by code (bias treatment of the pre-2020
annual estimates, the 2021-2022 bulletins at face value, age structure carried through)."""

from __future__ import annotations

from pathlib import Path

import pytest

from simulator.analysis import history as h

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def rows():
    return h.read_observed()


@pytest.fixture(scope="module")
def hist(rows):
    return {(r["year"], r["area"], r["indicator"]): r for r in h.derive_history(rows)}


def test_history_file_is_derived_from_observed():
    committed = (REPO / "data" / "history.csv").read_text(encoding="utf-8")
    assert committed == h.history_csv_text(h.derive_history()), \
        "data/history.csv is stale: run `urbsd calibrate` to derive it again from data/observed.csv"


def test_every_row_has_a_positive_sigma_and_a_source(hist):
    for key, r in hist.items():
        assert r["sigma"] > 0 and r["source"].startswith(("data/observed.csv", "data/plans_and_standards.csv")), key


def test_bias_ratio_is_one_at_the_census_and_matches_the_2019_excess(rows):
    assert h.bias_ratio(2010, rows) == 1.0
    p0 = h._obs(rows, 2010, "pingliang", "resident_population")
    p1 = h._obs(rows, 2020, "pingliang", "resident_population")
    c2019 = p0 * (p1 / p0) ** 0.9
    assert h.bias_ratio(2019, rows) * c2019 - c2019 == pytest.approx(h.ESTIMATE_EXCESS_2019)


def test_rebased_points_lie_between_face_value_and_census_path(rows, hist):
    face = h._obs(rows, 2015, "pingliang", "resident_population")
    rebased = hist[(2015, "pingliang", "resident_population")]["value"]
    assert rebased < face  # the estimate was too high
    p10, p20 = (h._obs(rows, y, "pingliang", "resident_population") for y in (2010, 2020))
    assert p20 < rebased < p10
    r14 = hist[(2014, "pingliang", "urbanization_rate")]
    f14 = h._obs(rows, 2014, "pingliang", "urbanization_rate")
    assert abs(r14["value"] - f14) <= r14["sigma"] + 1e-4
    shares = [r["value"] for k, r in hist.items() if k[0] == 2018 and k[2] == "resident_population_share"]
    assert sum(shares) == pytest.approx(1, abs=1e-4)


def test_bulletins_after_the_census_are_at_face_value_not_rebased(rows, hist):
    """The 2021-2022 year-end figures are on the 2020 census basis: no bias ratio applies."""
    for year in h.BULLETIN_YEARS:
        for ind in ("resident_population", "urbanization_rate", "crude_birth_rate", "crude_death_rate",
                    "births", "deaths"):
            r = hist[(year, "pingliang", ind)]
            assert r["value"] == h._obs(rows, year, "pingliang", ind) and r["kind"] == "bulletin"
    assert hist[(2022, "pingliang", "crude_death_rate")]["sigma"] == h.SIGMA_VITAL_RATE
    assert hist[(2021, "pingliang", "resident_population")]["sigma"] == pytest.approx(0.005 * 1824700)
    # counts and rates say the same thing: one is marked alternative
    assert hist[(2021, "pingliang", "births")]["use"] == "alt"
    assert hist[(2021, "pingliang", "crude_birth_rate")]["use"] == "fit"


def test_age_structure_of_other_areas_is_context_only(hist):
    r = hist[(2020, "gansu", "share_aged_60_plus")]
    assert (r["kind"], r["use"], r["value"]) == ("context", "context", 0.1703)
    assert hist[(2020, "china", "total_fertility_rate")]["value"] == 1.3


def test_the_un_comparator_keeps_to_the_2010_2020_points():
    from simulator.analysis.comparator import HISTORY_UNTIL, read_history

    years = [p.year for p in read_history()]
    assert years == [2010, 2014, 2015, 2020] and max(years) <= HISTORY_UNTIL
    assert [p.year for p in read_history(until=None)][-2:] == [2021, 2022]
