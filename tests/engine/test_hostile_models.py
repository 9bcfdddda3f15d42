"""Model files written carelessly or to break the engine: every case is one short line naming
the file and the field (exit 2 from the command line), never a traceback, and the time step
is checked by one function that the command line and the integrator share."""

from __future__ import annotations

import math

import numpy as np
import pytest
from conftest import element, replaced
from hypothesis import given, settings
from hypothesis import strategies as st

from simulator.cli import main
from simulator.cli.common import check_dt
from simulator.engine.compile import compile_model
from simulator.engine.integrate import simulate
from simulator.engine.load import load_model
from simulator.engine.timestep import MAX_STEPS, MIN_DT, steps_per_save, time_step
from simulator.errors import InputError


def base() -> dict:
    return {
        "constants": {"k": element(value=0.1, unit="1/year"), "a": element(value=2.0)},
        "stocks": {"s": element(initial=100, inflows=[], outflows=["out"])},
        "flows": {"out": element(equation="s * k", unit="1/year")},
        "auxiliaries": {"y": element(equation="a * 2")},
    }


def refused(write_model, model: dict) -> InputError:
    with pytest.raises(InputError) as info:
        compile_model(load_model(write_model(model)))
    err = info.value
    text = str(err)
    assert "\n" not in text and len(text) < 400 + len(err.file), text
    return err


@pytest.mark.parametrize("equation,reason", [
    ("a * 1/0", r"'a \* 1 / 0' divides by zero"),
    ("a / (3 - 3)", r"divides by zero"),
    ("1/0", r"divides by zero"),
    ("0**-1", r"divides by zero"),
    ("10**10**10", r"too large for a float"),
    ("1e400", r"not a finite number"),
    ("a + " + "1" * 400, r"the number 1111.* is too large"),
    ("a + 0x" + "f" * 400, r"is too large"),
    ("(-8) ** 0.5", r"has no real value"),
    ("2 ** 1024", r"too large for a float"),
    ("a + 1" + "0" * 5000, r"does not parse|too large"),
])
def test_literal_arithmetic_is_one_line_error(write_model, equation, reason):
    import re

    err = refused(write_model, replaced(base(), "auxiliaries.y.equation", equation))
    assert err.field == "auxiliaries.y.equation"
    assert re.search(reason, err.reason), err.reason


def test_literal_arithmetic_in_an_initial_value_and_folding_that_works(write_model):
    err = refused(write_model, replaced(base(), "stocks.s.initial", "100 / (2 - 2)"))
    assert err.field == "stocks.s.initial" and "divides by zero" in err.reason
    model = compile_model(load_model(write_model(replaced(base(), "auxiliaries.y.equation", "a * (2 ** 3 - 1 / 4)"))))
    assert simulate(model).data["y"][0, 0] == 2 * 7.75


@pytest.mark.parametrize("path,value,field", [
    ("stocks.s.initial", float("nan"), "stocks.s.initial"),
    ("stocks.s.initial", float("inf"), "stocks.s.initial"),
    ("time.start", float("nan"), "time.start"),
    ("time.stop", float("inf"), "time.stop"),
    ("time.saveper", float("inf"), "time.saveper"),
    ("time.dt", float("nan"), "time.dt"),
    ("time.dt", float("inf"), "time.dt"),
    ("constants.k.value", float("nan"), "constants.k.value"),
    ("auxiliaries.y.equation", float("inf"), "auxiliaries.y.equation"),
])
def test_non_finite_numbers_are_refused(write_model, path, value, field):
    model = base()
    model["time"] = {"start": 0, "stop": 10, "dt": 0.25, "saveper": 1}
    err = refused(write_model, replaced(model, path, value))
    assert err.field == field, str(err)


@pytest.mark.parametrize("name", ["toy\x00model", "two\nlines", "tab\there", "bell\x07", "x" * 201, " "])
def test_model_name_with_control_characters_is_refused(write_model, name):
    err = refused(write_model, {**base(), "name": name})
    assert err.field == "name"


def test_long_sums_and_products_compile_flat_and_run(write_model):
    terms = 201
    model = replaced(base(), "auxiliaries.y.equation", " + ".join(["a"] * terms))
    model["auxiliaries"]["p"] = element(equation=" * ".join(["a"] * 1000) + " / " + " / ".join(["a"] * 999))
    model["auxiliaries"]["m"] = element(equation=" - ".join(["a"] * 300))
    run = simulate(compile_model(load_model(write_model(model))))
    assert run.data["y"][0, 0] == 2.0 * terms
    assert run.data["p"][0, 0] == pytest.approx(2.0)
    assert run.data["m"][0, 0] == 2.0 - 2.0 * 299


@pytest.mark.parametrize("equation,reason", [
    ("-" * 20000 + "a", r"nests too deeply"),
    ("a" + " ** a" * 3000, r"nests too deeply|nests \d+ levels deep"),
    ("a * (" * 150 + "a" + ")" * 150, r"nests \d+ levels deep, at most 100"),
    ("(" * 300 + "a" + ")" * 300, r"does not parse \(too many nested parentheses\)"),
    ("a + " * 60000 + "a", r"at most 100,000"),
])
def test_deep_expressions_give_one_line_errors(write_model, equation, reason):
    import re

    err = refused(write_model, replaced(base(), "auxiliaries.y.equation", equation))
    assert re.search(reason, err.reason), err.reason
    assert len(err.reason) < 300


def test_a_long_run_of_signs_that_parses_is_folded(write_model):
    model = replaced(base(), "auxiliaries.y.equation", "-" * 51 + "a + " + "-" * 50 + "a")
    run = simulate(compile_model(load_model(write_model(model))))
    assert run.data["y"][0, 0] == 0.0


@pytest.mark.parametrize("time,field,reason", [
    ({"start": 0, "stop": 100000000, "dt": 1, "saveper": 1}, "time.stop", r"spans 1e\+08 years; at most 200"),
    ({"start": 0, "stop": 201, "dt": 1, "saveper": 1}, "time.stop", r"at most 200"),
    ({"start": 0, "stop": 10, "dt": 1e-9, "saveper": 1}, "time.dt", r"below 0.0002 year: a run has at most 1,000,000 steps"),
    ({"start": 0, "stop": 10, "dt": 0.333333333, "saveper": 1}, "time.dt", r"does not divide one year into whole steps"),
    ({"start": 0, "stop": 10, "dt": 2, "saveper": 1}, "time.dt", r"longer than the save interval"),
    ({"start": 0, "stop": 10, "dt": 0.25, "saveper": 0.5}, "time.saveper", r"whole number of years"),
    ({"start": 0.5, "stop": 10.5, "dt": 0.25, "saveper": 1}, "time.start", r"whole year"),
    ({"start": 0, "stop": 10.5, "dt": 0.25, "saveper": 1}, "time.stop", r"not a whole number of save intervals"),
])
def test_run_horizon_and_step_count_are_bounded(write_model, time, field, reason):
    import re

    err = refused(write_model, {**base(), "time": time})
    assert err.field == field and re.search(reason, err.reason), str(err)


def test_the_longest_allowed_run_is_accepted(write_model):
    spec = load_model(write_model({**base(), "time": {"start": 1900, "stop": 2100, "dt": 1, "saveper": 1}}))
    assert spec.time.stop - spec.time.start == 200


# --------------------------------------------------------------------------- one time-step rule


def test_time_step_rule_and_its_limit():
    assert steps_per_save(0.25) == 4 and steps_per_save(0.1) == 10 and steps_per_save(1) == 1
    assert time_step(0.3333333333333) == 1 / 3  # within the tolerance: exactly 1/3 is used
    with pytest.raises(ValueError, match="does not divide one year"):
        steps_per_save(0.333333333)
    with pytest.raises(ValueError, match="at most 1,000,000 steps"):
        steps_per_save(1e-9)
    assert MIN_DT * MAX_STEPS == 200
    assert steps_per_save(MIN_DT) == 5000


@pytest.mark.parametrize("dt", ["1e-9", "0.333333333", "0", "-1", "nan", "inf", "1.5"])
def test_cli_refuses_a_bad_dt_in_one_line(capsys, tmp_path, dt):
    out = tmp_path / "x.mdl"
    assert main(["export", "--format", "vensim", "-o", str(out), f"--dt={dt}"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--dt" in err and not out.exists()


@pytest.fixture(scope="module")
def decay_model(tmp_path_factory):
    import yaml

    path = tmp_path_factory.mktemp("dt") / "m.yaml"
    model = {"name": "m", "time": {"start": 0, "stop": 2, "dt": 0.5, "saveper": 1}, **base()}
    path.write_text(yaml.safe_dump(model), encoding="utf-8")
    return compile_model(load_model(path))


@settings(max_examples=60, deadline=None)
@given(st.one_of(
    st.floats(min_value=1e-6, max_value=2.0),
    st.integers(min_value=1, max_value=6000).map(lambda n: 1 / n),
    st.integers(min_value=1, max_value=400).map(lambda n: (1 / n) * (1 + 3e-10)),
    st.integers(min_value=1, max_value=400).map(lambda n: (1 / n) * (1 + 3e-11)),
))
def test_cli_and_integrator_agree_on_every_dt(decay_model, dt):
    """The command line accepts a --dt exactly when the integrator runs with it."""
    try:
        check_dt(dt)
        cli_ok = True
    except InputError:
        cli_ok = False
    try:
        run = simulate(decay_model, dt=dt, outputs=["y"])
        engine_ok = True
    except ValueError:
        engine_ok = False
    assert cli_ok == engine_ok, dt
    if engine_ok:
        assert math.isclose(run.dt, dt, rel_tol=1e-9) and np.allclose(run.times, [0, 1, 2])
