"""Names and units a planner reads: model column ids as Chinese or English labels.

The model declares a bilingual label and a pint unit string for every element, and a
bilingual label for every dimension element (docs/model-format.md). These functions turn
the machine column ids of the outputs into that text:

- `unit_text("m**2/person", "zh")` -> "平方米/人"; a unit not in `UNIT_TEXT` is returned as
  the pint string itself;
- `column_label(spec, "county_urbanization_rate[kongtong]", "zh")` ->
  "各县常住人口城镇化率（崆峒区）" (several dims: `name[kongtong,a0_4]` -> "...（崆峒区，0—4岁）");
  `column_unit(spec, column, lang)` its unit text;
- `comparison_label` / `comparison_unit`: the same for the columns of `urbsd compare`'s
  table (`urbanization_rate_2025`, `first_year_urbanization_rate>=0.55`, ...).

A dimensionless variable named `*_rate` or `*_share` is a share in [0, 1] (the convention
`simulator/analysis/validate.py` checks), so its unit reads "比例（0–1）" / "share (0–1)" rather
than "无量纲" / "dimensionless". Plain data in, plain text out; no heavy imports.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

__all__ = [
    "LANGS",
    "UNIT_TEXT",
    "check_lang",
    "column_label",
    "probability_text",
    "column_unit",
    "comparison_label",
    "comparison_unit",
    "unit_text",
]

LANGS = ("zh", "en")

#: pint unit string -> (Chinese, English). Covers every unit of the bundled model (a test
#: checks this) and a few more of the project's registry (simulator/engine/units.py).
UNIT_TEXT: dict[str, tuple[str, str]] = {
    "dimensionless": ("无量纲", "dimensionless"),
    "1": ("无量纲", "dimensionless"),
    "percent": ("%", "%"),
    "permille": ("‰", "‰"),
    "year": ("年", "years"),
    "1/year": ("1/年", "per year"),
    "1/year**2": ("1/年²", "per year per year"),
    "person": ("人", "persons"),
    "person/year": ("人/年", "persons per year"),
    "wan_person": ("万人", "10,000 persons"),
    "household": ("户", "households"),
    "m**2": ("平方米", "m²"),
    "m**2/person": ("平方米/人", "m² per person"),
    "m**2/year": ("平方米/年", "m² per year"),
    "km**2": ("平方千米", "km²"),
    "hectare": ("公顷", "hectares"),
    "mu": ("亩", "mu"),
    "m**3/day": ("立方米/日", "m³ per day"),
    "m**3/day/person": ("立方米/日/人", "m³ per day per person"),
    "m**3/day/year": ("立方米/日/年", "m³ per day added per year"),
    "place": ("个学位", "school places"),
    "place/person": ("个学位/人", "school places per person"),
    "place/year": ("个学位/年", "school places per year"),
    "bed": ("张床位", "hospital beds"),
    "bed/person": ("张床位/人", "hospital beds per person"),
    "bed/year": ("张床位/年", "hospital beds per year"),
    "dwelling": ("套", "dwellings"),
    "dwelling/person": ("套/人", "dwellings per person"),
    "dwelling/year": ("套/年", "dwellings per year"),
    "job": ("个岗位", "jobs"),
    "job/person": ("个岗位/人", "jobs per person"),
    "yuan": ("元", "yuan"),
    "wan_yuan": ("万元", "10,000 yuan"),
    "yi_yuan": ("亿元", "100 million yuan"),
    "yi_yuan/year": ("亿元/年", "100 million yuan per year"),
    "yuan/year": ("元/年", "yuan per year"),
    "yuan/person": ("元/人", "yuan per person"),
    "yuan/person/year": ("元/（人·年）", "yuan per person per year"),
    "yuan/job/year": ("元/（岗位·年）", "yuan per job per year"),
    "yuan/place": ("元/学位", "yuan per school place"),
    "yuan/bed": ("元/床位", "yuan per hospital bed"),
    "yuan/dwelling": ("元/套", "yuan per dwelling"),
    "yuan*day/m**3": ("元/（立方米/日）", "yuan per m³/day of capacity"),
}

#: the unit of a dimensionless *_rate / *_share variable (see the module docstring)
SHARE_TEXT = {"zh": "比例（0–1）", "en": "share (0–1)"}

#: (label, unit) of the columns that are not model variables: `time`, and the comparison
#: table's text columns
_TIME = ({"zh": "年份", "en": "Year"}, {"zh": "年", "en": "year"})
_FIXED = {
    "time": _TIME,
    "scenario": ({"zh": "情景", "en": "Scenario"}, {"zh": "", "en": ""}),
    "label_zh": ({"zh": "情景名称（中文）", "en": "Scenario name (Chinese)"}, {"zh": "", "en": ""}),
    "label_en": ({"zh": "情景名称（英文）", "en": "Scenario name (English)"}, {"zh": "", "en": ""}),
    "inert": ({"zh": "政策无效（两项城镇化率变化均不足0.1个百分点）",
               "en": "Inert (neither rate moves by 0.1 pp)"}, {"zh": "", "en": ""}),
}
_EFFECT = {"zh": "{label}较参照情景变化 {year}年", "en": "Change in {label} from the reference, {year}"}
_PP = {"zh": "百分点", "en": "percentage points"}
_FIRST_YEAR = {"zh": "首次达到目标年份：{name} ≥ {value}", "en": "First year at or above target: {name} ≥ {value}"}
_IN_YEAR = {"zh": "{label} {year}年", "en": "{label}, {year}"}
_SUBSCRIPT = {"zh": "{label}（{element}）", "en": "{label} ({element})"}

_SUBSCRIPTED = re.compile(r"^(?P<name>[^\[\]]+)\[(?P<element>[^\[\]]+)\]$")
_WITH_YEAR = re.compile(r"^(?P<base>.+)_(?P<year>\d{4})$")
_FIRST = re.compile(r"^first_year_(?P<indicator>.+)>=(?P<value>[^>=]+)$")
_EFFECT_COL = re.compile(r"^effect_(?P<base>.+)_(?P<year>\d{4})_pp$")


def check_lang(lang: str) -> str:
    """`lang` if it is "zh" or "en"; otherwise ValueError (every text here exists in both)."""
    if lang not in LANGS:
        raise ValueError(f"lang must be 'zh' or 'en', not {lang!r}")
    return lang


def _pick(pair: tuple[str, str], lang: str) -> str:
    return pair[LANGS.index(lang)]


def unit_text(unit: str, lang: str) -> str:
    """A pint unit string in words ("m**2/person" -> "平方米/人" / "m² per person").

    A unit not in `UNIT_TEXT` comes back as the pint string itself, so a new unit in a
    model file never breaks an output.
    """
    check_lang(lang)
    key = re.sub(r"\s+", "", unit)
    pair = UNIT_TEXT.get(key)
    return _pick(pair, lang) if pair else unit


def _split(column: str) -> tuple[str, str | None]:
    """'name[element]' -> ('name', 'element'); 'name' -> ('name', None)."""
    m = _SUBSCRIPTED.match(column)
    return (m["name"], m["element"]) if m else (column, None)


def _element(spec: Any, name: str) -> Any | None:
    try:
        return spec.element(name)
    except KeyError:
        return None


def _is_share(spec: Any, name: str) -> bool:
    from simulator.analysis.goalseek import is_share

    return is_share(spec, name)


def column_label(spec: Any, column: str, lang: str) -> str:
    """The label of a timeseries column: `time`, `name` or `name[element]`; unknown -> `column`."""
    check_lang(lang)
    if column == "time":
        return _TIME[0][lang]
    name, element = _split(column)
    el = _element(spec, name)
    if el is None:
        return column
    label = getattr(el.label, lang)
    if element is None:
        return label
    dims = list(el.dims or [])
    parts = element.split(",")
    shown = []
    for i, part in enumerate(parts):
        dim = spec.dimensions.get(dims[i]) if i < len(dims) else None
        elabel = dim.labels.get(part) if dim is not None else None
        shown.append(getattr(elabel, lang) if elabel is not None else part)
    return _SUBSCRIPT[lang].format(label=label, element=("，" if lang == "zh" else ", ").join(shown))


def column_unit(spec: Any, column: str, lang: str) -> str:
    """The unit text of a timeseries column's variable; "" for an unknown column."""
    check_lang(lang)
    if column == "time":
        return _TIME[1][lang]
    name, _ = _split(column)
    el = _element(spec, name)
    if el is None:
        return ""
    if _is_share(spec, name):
        return SHARE_TEXT[lang]
    return unit_text(el.unit, lang)


def _indicator(spec: Any, key: str, indicators: Mapping[str, str] | None) -> tuple[str, str | None] | None:
    """(table key, model variable or None) of a comparison indicator key; None if not a key.

    The variable is the one the comparison used (`indicators`), else the first candidate
    of `TABLE_INDICATORS` the model has.
    """
    from simulator.analysis.compare import TABLE_INDICATORS

    if key not in TABLE_INDICATORS:
        return None
    if indicators and key in indicators:
        return key, indicators[key]
    found = [n for n in TABLE_INDICATORS[key][3] if _element(spec, n) is not None]
    return key, (found[0] if found else None)


def _indicator_label(spec: Any, key: str, lang: str, indicators: Mapping[str, str] | None) -> str:
    """The label of a comparison indicator key or of a model variable column."""
    from simulator.analysis.compare import TABLE_INDICATORS

    if _indicator(spec, key, indicators) is not None:
        zh, en = TABLE_INDICATORS[key][:2]
        return zh if lang == "zh" else en
    return column_label(spec, key, lang)


def _indicator_unit(spec: Any, key: str, lang: str, indicators: Mapping[str, str] | None) -> str:
    found = _indicator(spec, key, indicators)
    if found is None:
        return column_unit(spec, key, lang)
    return column_unit(spec, found[1], lang) if found[1] else ""


def comparison_label(spec: Any, column: str, lang: str,
                     indicators: Mapping[str, str] | None = None) -> str:
    """The label of a column of the comparison table (simulator/analysis/compare.py); unknown -> `column`.

    `indicators` is the comparison's table key -> model variable mapping
    (`Comparison.indicators`, `indicators` in comparison.json).
    """
    check_lang(lang)
    if column in _FIXED:
        return _FIXED[column][0][lang]
    m = _FIRST.match(column)
    if m:
        ind = m["indicator"]
        name = _indicator_label(spec, ind, lang, indicators)
        value = m["value"]
        if _is_share(spec, ind):
            try:
                value = f"{100 * float(value):g}%"
            except ValueError:
                pass
        return _FIRST_YEAR[lang].format(name=name, value=value)
    m = _EFFECT_COL.match(column)
    if m:
        return _EFFECT[lang].format(label=_indicator_label(spec, m["base"], lang, indicators), year=m["year"])
    m = _WITH_YEAR.match(column)
    if m:
        label = _indicator_label(spec, m["base"], lang, indicators)
        if label != m["base"]:
            return _IN_YEAR[lang].format(label=label, year=m["year"])
    return column_label(spec, column, lang)


def comparison_unit(spec: Any, column: str, lang: str,
                    indicators: Mapping[str, str] | None = None) -> str:
    """The unit text of a column of the comparison table; "" for text or unknown columns."""
    check_lang(lang)
    if column in _FIXED:
        return _FIXED[column][1][lang]
    if _FIRST.match(column):
        return _TIME[1][lang]
    if _EFFECT_COL.match(column):
        return _PP[lang]
    m = _WITH_YEAR.match(column)
    if m:
        unit = _indicator_unit(spec, m["base"], lang, indicators)
        if unit:
            return unit
    return column_unit(spec, column, lang)


def probability_text(reached: int, runs: int) -> str:
    """A share of `runs` model runs in %, shown to its resolution 1/runs: 36 of 1000 -> '3.6%',
    0 of 1000 -> '<0.1%' (not '0.0%': 1000 runs cannot show a smaller chance), 1000 of 1000 ->
    '>99.9%'; 0 of 100 -> '<1%'. No runs: '–'."""
    import math

    if runs <= 0:
        return "–"
    decimals = max(0, math.ceil(math.log10(runs)) - 2)
    step = 100.0 / runs
    if reached <= 0:
        return f"<{_round_up(step, decimals):.{decimals}f}%"
    if reached >= runs:
        return f">{100.0 - _round_up(step, decimals):.{decimals}f}%"
    return f"{100.0 * reached / runs:.{decimals}f}%"


def _round_up(x: float, decimals: int) -> float:
    """`x` rounded up to `decimals` places (so '<' and '>' bounds stay true)."""
    import math

    scale = 10.0**decimals
    return math.ceil(x * scale - 1e-9) / scale
