"""The units check: a small model with every rule used correctly loads, and each kind of unit
error is one InputError naming the element's field and the two units."""

from __future__ import annotations

import re

import pytest
from conftest import element, replaced

from simulator.bundled import bundled_model_path
from simulator.engine import units
from simulator.engine.load import load_model
from simulator.errors import InputError


def good() -> dict:
    """A model that uses every unit rule correctly."""
    return {
        "dimensions": {"county": {"elements": ["a", "b"]}},
        "constants": {
            "pop0": element(value={"a": 100, "b": 200}, dims=["county"], unit="person"),
            "growth": element(value=0.01, unit="1/year"),
            "land_per_person": element(value=100, unit="m**2/person"),
            "m2_per_km2": element(value=1e6, unit="m**2/km**2"),
            "delay": element(value=2, unit="year"),
            "start": element(value=2, unit="year"),
            "end": element(value=6, unit="year"),
            "cost": element(value=5, unit="yuan/person"),
            "budget": element(value=1, unit="yi_yuan"),
            "yuan_per_yi_yuan": element(value=1e8, unit="yuan/yi_yuan"),
            "elasticity": element(value=0.5, unit="dimensionless"),
        },
        "lookups": {
            "effect": element(x=[0, 1, 2], y=[0.5, 1, 1.5], x_unit="dimensionless", unit="dimensionless"),
            "land_factor": element(x=[0, 1e6], y=[1, 0.5], x_unit="m**2", unit="dimensionless"),
        },
        "stocks": {
            "pop": element(dims=["county"], initial="pop0", inflows=["births"], unit="person"),
            "money": element(initial=0, inflows=["spending"], unit="yuan"),
            "land": element(initial="sum(pop0) * land_per_person", inflows=["land_use"], unit="m**2"),
        },
        "flows": {
            "births": element(dims=["county"], equation="growth * pop * effect(pop / pop0)", unit="person/year"),
            "spending": element(equation="cost * sum(births)", unit="yuan/year"),
            "land_use": element(equation="land_per_person * sum(births) * land_factor(land)", unit="m**2/year"),
        },
        "auxiliaries": {
            "land_km2": element(equation="sum(pop) * land_per_person / m2_per_km2", unit="km**2"),
            "side": element(equation="sqrt(land_km2)", unit="km"),
            "area": element(equation="side ** 2 + land_km2 * (pop[a] / pop[b]) ** elasticity", unit="km**2"),
            "perceived": element(dims=["county"], equation="delay3(smooth(pop, delay), 3)", unit="person"),
            "first": element(equation="pop[a] + max(0, pop[b] - step(pop[a], start)) - abs(-pop[b])", unit="person"),
            "budget_yuan": element(equation="budget * yuan_per_yi_yuan", unit="yuan"),
            "flag": element(equation="if_then_else(money > budget_yuan, 1, 0)", unit="dimensionless"),
            "trend": element(equation="exp(-growth * (time - start)) + ln(1 + ramp(growth, start, end))",
                             unit="dimensionless"),
            "capped": element(dims=["county"], equation="if_then_else(time >= end, 0, min(pop, pop0))", unit="person"),
            "dated": element(equation="step(growth, 2025) + ramp(growth / end, start, 2030)", unit="1/year"),
        },
    }


def with_(path: str, value) -> dict:
    """good() with one field replaced (value None deletes it)."""
    return replaced(good(), path, value)


def error_of(write_model, model: dict) -> InputError:
    with pytest.raises(InputError) as info:
        load_model(write_model(model))
    assert "\n" not in str(info.value)
    return info.value


def test_a_model_using_every_rule_correctly_loads(write_model):
    spec = load_model(write_model(good()))
    assert set(spec.auxiliaries) == set(good()["auxiliaries"])


def test_the_bundled_pingliang_model_is_dimensionally_consistent():
    units.check_units(load_model(bundled_model_path(), units=False))


def test_registry_defines_the_project_units_with_their_magnitudes():
    ureg = units.registry()
    q = ureg.Quantity
    assert q(1, "yi_yuan").to("yuan").magnitude == pytest.approx(1e8)
    assert q(1, "wan_yuan").to("yuan").magnitude == pytest.approx(1e4)
    assert q(1, "km**2").to("m**2").magnitude == pytest.approx(1e6)
    assert q(1, "mu").to("m**2").magnitude == pytest.approx(10000 / 15)
    assert q(1, "year").to("day").magnitude == pytest.approx(365.25)
    assert q(1, "percent").to("dimensionless").magnitude == pytest.approx(0.01)
    for text in ("person", "place", "bed", "dwelling", "job", "household", "yuan", "m**3/day", "亿元", "dimensionless"):
        units.parse_unit(text)
    # kinds of counted things are distinct dimensions
    assert not units.same(units.parse_unit("person"), units.parse_unit("bed"))
    assert not units.same(units.parse_unit("place"), units.parse_unit("dwelling"))
    assert units.same(units.parse_unit("亿元"), units.parse_unit("yi_yuan"))
    assert units.same(units.parse_unit("1/year"), units.parse_unit("year**-1"))
    assert not units.same(units.parse_unit("km**2"), units.parse_unit("m**2"))


def test_equation_unit_infers_from_operands(write_model):
    spec = load_model(write_model(good()))
    u = units.parse_unit
    assert units.same(units.equation_unit(spec, "cost * pop / growth"), u("yuan*year"))
    assert units.same(units.equation_unit(spec, "sqrt(land) / time"), u("m/year"))
    assert units.same(units.equation_unit(spec, "ramp(cost, start, end)"), u("yuan*year/person"))
    assert units.equation_unit(spec, "0") is units.ANY
    with pytest.raises(ValueError, match="unit mismatch"):
        units.equation_unit(spec, "pop + cost")


@pytest.mark.parametrize("path,value,field,pattern", [
    # a flow must carry its stock's unit per year
    ("flows.spending.unit", "yuan", "flows.spending.unit",
     r"flow 'spending' is declared yuan but it is an inflow of stock 'money' \(yuan\), so it must be yuan/year"),
    ("stocks.money.unit", "yi_yuan", "flows.spending.unit", r"must be yi_yuan/year \(same dimension, but 1 yuan/year = 1e-08 yi_yuan/year"),
    # the equation's unit must equal the declared unit
    ("auxiliaries.budget_yuan.equation", "budget", "auxiliaries.budget_yuan.equation",
     r"'budget_yuan' gives yi_yuan but 'budget_yuan' is declared yuan \(same dimension"),
    ("auxiliaries.land_km2.equation", "sum(pop) * land_per_person", "auxiliaries.land_km2.equation",
     r"gives meter\*\*2 but 'land_km2' is declared kilometer\*\*2 \(same dimension, but 1 meter\*\*2 = 1e-06 kilometer\*\*2"),
    ("flows.births.equation", "growth * pop0 * pop / pop0 * cost", "flows.births.equation",
     r"gives yuan/year but 'births' is declared person/year"),
    ("auxiliaries.flag.unit", "person", "auxiliaries.flag.equation", r"gives dimensionless but 'flag' is declared person"),
    # stock initial values
    ("stocks.land.initial", "sum(pop0)", "stocks.land.initial", r"initial value of 'land' gives person but 'land' is declared meter\*\*2"),
    # + and -
    ("auxiliaries.first.equation", "pop[a] + cost", "auxiliaries.first.equation", r"'pop\[a\] \+ cost' adds person and yuan/person"),
    ("auxiliaries.first.equation", "pop[a] - 1", "auxiliaries.first.equation", r"subtracts person and dimensionless"),
    ("auxiliaries.trend.equation", "exp(-growth * (time - start)) + time", "auxiliaries.trend.equation", r"adds dimensionless and year"),
    # min / max, if_then_else, comparisons
    ("auxiliaries.first.equation", "max(1, pop[a])", "auxiliaries.first.equation", r"compares dimensionless with person"),
    ("auxiliaries.capped.equation", "if_then_else(time >= end, pop0, cost)", "auxiliaries.capped.equation",
     r"has branches in person and yuan/person"),
    ("auxiliaries.flag.equation", "if_then_else(money > budget, 1, 0)", "auxiliaries.flag.equation",
     r"'money > budget' compares yuan with yi_yuan \(same dimension"),
    ("auxiliaries.flag.equation", "if_then_else(time > 2025, 1, 0)", "auxiliaries.flag.equation",
     r"'time > 2025' compares year with dimensionless"),
    # exp, ln, **
    ("auxiliaries.trend.equation", "exp(growth)", "auxiliaries.trend.equation", r"exp needs a dimensionless argument, 'growth' is 1/year"),
    ("auxiliaries.trend.equation", "ln(pop[a])", "auxiliaries.trend.equation", r"ln needs a dimensionless argument, 'pop\[a\]' is person"),
    ("auxiliaries.area.equation", "side ** elasticity", "auxiliaries.area.equation", r"raises kilometer to a power that is not a number"),
    ("auxiliaries.trend.equation", "elasticity ** time", "auxiliaries.trend.equation", r"the exponent in 'elasticity \*\* time' is year"),
    ("auxiliaries.area.equation", "side ** 3", "auxiliaries.area.equation", r"gives kilometer\*\*3 but 'area' is declared kilometer\*\*2"),
    # sqrt halves the unit
    ("auxiliaries.side.equation", "sqrt(land_km2 * pop[a])", "auxiliaries.side.equation",
     r"gives kilometer \* person\*\*0.5|gives kilometer\*person\*\*0.5"),
    # lookups: argument in x_unit, result in unit
    ("flows.births.equation", "growth * pop * effect(pop)", "flows.births.equation",
     r"lookup 'effect' takes x in dimensionless but 'pop' is person"),
    ("flows.land_use.equation", "land_per_person * sum(births) * land_factor(sum(pop0) * land_per_person / m2_per_km2)",
     "flows.land_use.equation", r"lookup 'land_factor' takes x in meter\*\*2 but .* is kilometer\*\*2 \(same dimension"),
    ("flows.land_use.equation", "land_per_person * sum(pop) * land_factor(land)", "flows.land_use.equation",
     r"gives meter\*\*2 but 'land_use' is declared meter\*\*2/year"),
    # smooth / delay3 / step / ramp time arguments
    ("auxiliaries.perceived.equation", "smooth(pop, pop0)", "auxiliaries.perceived.equation",
     r"the delay of smooth in 'smooth\(pop, pop0\)' is person, it must be year"),
    ("auxiliaries.perceived.equation", "delay3(pop, growth)", "auxiliaries.perceived.equation", r"the delay of delay3 .* is 1/year"),
    ("auxiliaries.first.equation", "step(pop[a], pop[b])", "auxiliaries.first.equation", r"the time of step .* is person, it must be year"),
    ("auxiliaries.trend.equation", "ramp(growth, start, cost)", "auxiliaries.trend.equation", r"the end time of ramp .* is yuan/person"),
    ("auxiliaries.trend.equation", "ramp(elasticity, start, end)", "auxiliaries.trend.equation",
     r"gives year but 'trend' is declared dimensionless"),
    # time is in years
    ("auxiliaries.first.equation", "time", "auxiliaries.first.equation", r"gives year but 'first' is declared person"),
    # declared units must parse
    ("constants.cost.unit", "yuan/persn", "constants.cost.unit", r"unknown unit 'persn' in 'yuan/persn' \(did you mean 'person'\?\)"),
    ("constants.cost.unit", "yuan/person/", "constants.cost.unit", r"is not a unit expression"),
    ("lookups.effect.x_unit", "bogus", "lookups.effect.x_unit", r"unknown unit 'bogus'"),
    ("constants.cost.unit", "2 * yuan", "constants.cost.unit", r"is not a unit expression"),
])
def test_each_unit_error_names_the_element_and_both_units(write_model, path, value, field, pattern):
    err = error_of(write_model, with_(path, value))
    assert err.field == field
    assert re.search(pattern, err.reason), err.reason
    assert str(err).startswith(str(err.file))


def test_a_delay_in_months_is_rejected_because_the_engine_does_not_convert(write_model):
    model = with_("constants.delay.unit", "month")
    err = error_of(write_model, model)
    assert err.field == "auxiliaries.perceived.equation"
    assert re.search(r"the delay of smooth .* is month, it must be year \(same dimension, but 1 month = 0.0833", err.reason)


def test_numbers_as_values_and_dates(write_model):
    # a bare number is a value in the element's own unit, like a constant's value
    load_model(write_model(with_("stocks.land.initial", 5000)))
    load_model(write_model(with_("auxiliaries.first.equation", "250")))
    # 0 has every unit; any other number in an expression is dimensionless
    load_model(write_model(with_("auxiliaries.first.equation", "if_then_else(pop[a] > 0, pop[a], 0)")))
    err = error_of(write_model, with_("auxiliaries.first.equation", "if_then_else(pop[a] > 0, pop[a], 1)"))
    assert "has branches in person and dimensionless" in err.reason
    # a number in a time argument (step, ramp, smooth, delay3) is read as years
    load_model(write_model(with_("auxiliaries.perceived.equation", "smooth(pop, 2)")))


def test_county_flow_of_a_stock_with_another_unit(write_model):
    model = with_("flows.births.unit", "person")
    err = error_of(write_model, model)
    assert err.field == "flows.births.unit" and "must be person/year" in err.reason


def test_units_false_skips_only_the_units_check(write_model):
    model = with_("flows.spending.unit", "yuan")
    load_model(write_model(model), units=False)
    bad = with_("flows.spending.equation", "cost * nothing")
    with pytest.raises(InputError, match="unknown name 'nothing'"):
        load_model(write_model(bad), units=False)


def test_loading_a_model_leaves_dask_importable(tmp_path):
    # units._import_pint hides dask from pint while pint is imported; the hiding must not outlast it
    # (an empty cache folder: the units check, and so pint's import, runs; engine/unitcache.py)
    import os
    import subprocess
    import sys
    from pathlib import Path

    code = ("import sys\nfrom simulator.bundled import bundled_model_path\nfrom simulator.engine.load import load_model\n"
            "load_model(bundled_model_path())\n"
            "assert 'pint' in sys.modules and sys.modules.get('dask', 'absent') is not None\n"
            "import dask.base\nimport pint.compat\nprint(dask.base.__name__)")
    root = Path(__file__).resolve().parents[2]
    env = dict(os.environ, URBSD_CACHE_DIR=str(tmp_path / "cache"))
    out = subprocess.run([sys.executable, "-c", code], cwd=root, env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "dask.base"
