"""Labels and units of the output columns, in Chinese and English (simulator/outputs/labels.py)."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simulator.bundled import bundled_model_path
from simulator.engine.load import load_model
from simulator.outputs import labels

CJK = re.compile(r"[\u4e00-\u9fff]")


@pytest.fixture(scope="module")
def spec():
    return load_model(bundled_model_path())


def _timeseries_columns(spec) -> list[str]:
    """Every column a run of `spec` writes to timeseries.csv (stocks, flows, auxiliaries)."""
    cols = ["time"]
    for table in (spec.stocks, spec.flows, spec.auxiliaries):
        for name, el in table.items():
            if el.dims:
                cols += [f"{name}[{e}]" for e in spec.elements(el.dims[0])]
            else:
                cols.append(name)
    return cols


def test_every_unit_of_the_bundled_model_has_zh_and_en_text(spec):
    units = {spec.element(n).unit for n in spec.all_names()}
    units |= {lk.x_unit for lk in spec.lookups.values()}
    missing = sorted(u for u in units if u.replace(" ", "") not in labels.UNIT_TEXT)
    assert not missing, f"no zh/en text for units {missing}"
    for u in units:
        zh, en = labels.unit_text(u, "zh"), labels.unit_text(u, "en")
        assert zh and en
        if any(ch.isalpha() for ch in u) and u not in ("dimensionless", "1"):
            assert CJK.search(zh), (u, zh)


def test_unit_text_examples_and_fallback():
    assert labels.unit_text("m**2/person", "zh") == "平方米/人"
    assert labels.unit_text("m**2/person", "en") == "m² per person"
    assert labels.unit_text("person / year", "zh") == "人/年"
    assert labels.unit_text("dimensionless", "zh") == "无量纲"
    assert labels.unit_text("furlong/fortnight", "en") == "furlong/fortnight"


def test_scalar_subscripted_and_time_columns(spec):
    assert labels.column_label(spec, "urbanization_rate", "zh") == "常住人口城镇化率"
    assert labels.column_label(spec, "urbanization_rate", "en") == "Resident urbanization rate"
    col = "county_urbanization_rate[kongtong]"
    assert labels.column_label(spec, col, "zh") == "各县常住人口城镇化率（崆峒区）"
    assert labels.column_label(spec, col, "en") == "Resident urbanization rate by county (Kongtong)"
    assert labels.column_label(spec, "time", "zh") == "年份"
    assert labels.column_label(spec, "time", "en") == "Year"
    assert labels.column_unit(spec, "time", "zh") == "年"
    assert labels.column_unit(spec, "time", "en") == "year"


def test_units_of_columns(spec):
    # a dimensionless *_rate is a share in [0, 1]; other variables take their unit's text
    assert labels.column_unit(spec, "county_urbanization_rate[jingning]", "zh") == "比例（0–1）"
    assert labels.column_unit(spec, "urbanization_rate", "en") == "share (0–1)"
    assert labels.column_unit(spec, "resident_population", "zh") == "人"
    assert labels.column_unit(spec, "resident_population", "en") == "persons"
    assert labels.column_unit(spec, "land_per_urban_resident[kongtong]", "zh") == "平方米/人"


def test_unknown_names_fall_back_to_the_column_id(spec):
    assert labels.column_label(spec, "no_such_variable", "zh") == "no_such_variable"
    assert labels.column_label(spec, "no_such_variable[kongtong]", "en") == "no_such_variable[kongtong]"
    assert labels.column_unit(spec, "no_such_variable", "zh") == ""
    # an element the dimension has no label for keeps its id
    assert labels.column_label(spec, "county_urbanization_rate[elsewhere]", "en") == \
        "Resident urbanization rate by county (elsewhere)"


def test_every_timeseries_column_gets_a_label_and_unit_in_both_languages(spec):
    for col in _timeseries_columns(spec):
        zh, en = labels.column_label(spec, col, "zh"), labels.column_label(spec, col, "en")
        assert zh != col and CJK.search(zh), col
        assert en != col and not CJK.search(en), col
        assert labels.column_unit(spec, col, "zh") and labels.column_unit(spec, col, "en"), col


def test_comparison_columns(spec):
    indicators = {"land_per_person": "land_per_urban_resident"}

    def lab(column: str, lang: str) -> str:
        return labels.comparison_label(spec, column, lang, indicators)

    def unit(column: str, lang: str) -> str:
        return labels.comparison_unit(spec, column, lang, indicators)

    assert lab("urbanization_rate_2025", "zh") == "常住人口城镇化率 2025年"
    assert lab("urbanization_rate_2025", "en") == "Resident urbanization rate, 2025"
    assert unit("urbanization_rate_2025", "zh") == "比例（0–1）"
    assert unit("land_per_person_2035", "zh") == "平方米/人"
    assert lab("first_year_urbanization_rate>=0.55", "zh") == "首次达到目标年份：常住人口城镇化率 ≥ 55%"
    assert unit("first_year_urbanization_rate>=0.7", "en") == "year"
    assert lab("county_urbanization_rate[huating]_2035", "zh") == "各县常住人口城镇化率（华亭市） 2035年"
    assert lab("scenario", "en") == "Scenario"
    assert lab("label_zh", "zh") == "情景名称（中文）"
    assert lab("something_else", "zh") == "something_else"


@pytest.mark.parametrize("fn", [labels.column_label, labels.column_unit,
                                labels.comparison_label, labels.comparison_unit])
def test_unknown_language_is_refused(spec, fn):
    with pytest.raises(ValueError, match="lang"):
        fn(spec, "urbanization_rate", "fr")


def test_unit_text_refuses_unknown_language():
    with pytest.raises(ValueError, match="lang"):
        labels.unit_text("person", "ZH")


@settings(max_examples=200, deadline=None)
@given(column=st.text(max_size=40), lang=st.sampled_from(labels.LANGS))
def test_any_column_name_gives_text_and_never_raises(spec, column, lang):
    for fn in (labels.column_label, labels.comparison_label):
        assert isinstance(fn(spec, column, lang), str)
    for fn in (labels.column_unit, labels.comparison_unit):
        assert isinstance(fn(spec, column, lang), str)
    text = labels.unit_text(column, lang)
    assert text == column or "".join(column.split()) in labels.UNIT_TEXT
