"""Model files: every kind of bad input is one line naming the file, the element and the reason."""

from __future__ import annotations

import pytest
from conftest import element, replaced

from simulator.engine.compile import compile_model
from simulator.engine.load import load_model
from simulator.errors import InputError


def good() -> dict:
    return {
        "constants": {"k": element(value=0.1, bounds=[0, 1], unit="1/year"),
                      "x0": element(value={"a": 1, "b": 2}, dims=["county"])},
        "dimensions": {"county": {"elements": ["a", "b"]}},
        "stocks": {"s": element(initial="sum(x0)", inflows=[], outflows=["out"])},
        "flows": {"out": element(equation="s * k", unit="1/year")},
        "auxiliaries": {"y": element(equation="s * 2")},
        "time": {"start": 0, "stop": 10, "dt": 0.25, "saveper": 1},
    }


def error_of(write_model, model: dict) -> str:
    with pytest.raises(InputError) as info:
        compile_model(load_model(write_model(model)))
    msg = str(info.value)
    assert "\n" not in msg and msg.startswith(str(info.value.file))
    return msg


def with_(path: str, value) -> dict:
    return replaced(good(), path, value)


def test_good_model_loads_with_hash(write_model):
    spec = load_model(write_model(good()))
    assert len(spec.sha256) == 64 and spec.elements("county") == ["a", "b"]


@pytest.mark.parametrize("path,value,expected", [
    ("flows.out.equation", "s * kk", r"flows\.out\.equation: unknown name 'kk' \(did you mean 'k'\?\) in 's \* kk'"),
    ("flows.out.equation", "s * (k", r"flows\.out\.equation: does not parse"),
    ("flows.out.equation", "s.real", r"flows\.out\.equation: 's.real' is not allowed"),
    ("flows.out.equation", "__import__('os')", r"unknown function '__import__'"),
    ("flows.out.equation", "s if k else 0", r"is not allowed"),
    ("flows.out.equation", "s and k", r"is not allowed"),
    ("flows.out.equation", "s * k > 1", r"only as the condition of if_then_else"),
    ("flows.out.equation", "foo(s)", r"unknown function 'foo'"),
    ("flows.out.equation", "x0 * k", r"flows\.out\.equation: the equation has dims \[county\] but 'out' has \[\]; use sum\(\.\.\., county\) or x\[element\] in 'x0 \* k'"),
    ("flows.out.equation", "x0[c]", r"'c' is not an element of 'county'"),
    ("flows.out.equation", "min(s)", r"min takes 2 argument"),
    ("stocks.s.initial", "y * 2", r"stocks\.s\.initial: algebraic loop in initial equations .*(s -> y|y -> s)"),
    ("stocks.s.outflows", ["ot"], r"stocks\.s\.outflows: unknown flow 'ot' \(did you mean 'out'\?\)"),
    ("stocks.s.outflows", ["y"], r"'y' is a auxiliary, not a flow|'y' is an auxiliary, not a flow"),
    ("constants.k.value", "high", r"constants\.k\.value: .*got 'high'"),
    ("constants.k.value", True, r"constants\.k\.value: .*not true/false"),
    ("constants.k.value", 1.5, r"constants\.k\.value: 1\.5 is outside the bounds \[0\.0, 1\.0\]"),
    ("constants.k.bounds", [1, 0], r"constants\.k\.bounds"),
    ("constants.k.unit", None, r"constants\.k\.unit: required field is missing"),
    ("constants.k.lable", {"zh": "a", "en": "b"}, r"constants\.k\.lable: unknown field \(did you mean 'label'\?\)"),
    ("constants.x0.value", {"a": 1}, r"constants\.x0\.value: no value for b"),
    ("constants.x0.value", {"a": 1, "b": 2, "z": 3}, r"constants\.x0\.value\.z: unknown element"),
    ("constants.x0.dims", ["countie"], r"unknown dimension 'countie' \(did you mean 'county'\?\)"),
    ("constants.Bad", element(value=1), r"constants\.Bad: names are lower-case"),
    ("constants.sum", element(value=1), r"constants\.sum: 'sum' is a builtin"),
    ("auxiliaries.k", element(equation="1"), r"auxiliaries\.k: 'k' is already declared as a constant"),
    ("flows.orphan", element(equation="1"), r"flows\.orphan: the flow is not an inflow or outflow"),
    ("time.dt", 0.3, r"time\.dt: 0\.3 does not divide one year into whole steps"),
    ("time.stop", -1, r"time\.stop: the run must end after it starts \(0 to -1\)"),
    ("tim", 1, r"tim: unknown field \(did you mean 'time'\?\)"),
    ("auxiliaries.y.equation", "smooth(s, 2) + y", r"algebraic loop"),
    ("auxiliaries.y.equation", "s * k", r"auxiliaries\.y\.equation: unit mismatch"),
])
def test_bad_model_input(write_model, path, value, expected):
    import re
    msg = error_of(write_model, with_(path, value))
    assert re.search(expected, msg), msg


def test_malformed_yaml_and_missing_file(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\ntime: {start: 0\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"bad\.yaml: line \d+, column \d+: malformed YAML"):
        load_model(bad)
    with pytest.raises(InputError, match=r"nope\.yaml: \(file\): no such model file"):
        load_model(tmp_path / "nope.yaml")
    scalar = tmp_path / "scalar.yaml"
    scalar.write_text("3\n", encoding="utf-8")
    with pytest.raises(InputError, match="must hold a mapping"):
        load_model(scalar)


def test_initial_value_may_read_an_auxiliary_at_the_start(write_model):
    """Vensim semantics: an auxiliary used in an initial value is evaluated at the initial time."""
    from simulator.engine.integrate import simulate

    model = with_("auxiliaries.split", element(equation="x0 / sum(x0, county) * 9", dims=["county"]))
    model = replaced(model, "stocks.t", element(initial="split", inflows=[], outflows=["out_t"], dims=["county"]))
    model = replaced(model, "flows.out_t", element(equation="t * k", unit="1/year", dims=["county"]))
    run = simulate(compile_model(load_model(write_model(model))), {}, 1)
    assert run.data["t"][0, 0].tolist() == [3.0, 6.0]
