"""The expression language of calibration specs: what it computes, and that nothing else runs."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from simulator.analysis.calexpr import ExprError, Scope, evaluate, parse

ELEMENTS = {"county": ["a", "b", "c"], "age": ["young", "old"]}


def _scope(values: dict[str, tuple[np.ndarray, tuple[str, ...]]], data=None) -> Scope:
    def value(name):
        if name not in values:
            raise ExprError(f"unknown name {name!r}")
        return values[name]

    return Scope(value=value, elements=ELEMENTS.__getitem__, data=data, model=value)


POP = np.arange(1, 13, dtype=float).reshape(2, 3, 2)  # 2 runs x county x age
VALUES = {"pop": (POP, ("county", "age")), "x": (np.array([2.0, 4.0]), ()),
          "w": (np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]), ("county",))}


@pytest.mark.parametrize("text, expect", [
    ("x * 2 + 1", [5.0, 9.0]),
    ("w[b] / sum(w)", [2 / 6, 5 / 15]),
    ("sum(pop[:, old]) / sum(pop)", [(2 + 4 + 6) / 21, (8 + 10 + 12) / 57]),
    ("pop[c, young]", [5.0, 11.0]),
    ("pop['c', 'young']", [5.0, 11.0]),
    ("mean(w)", [2.0, 5.0]),
    ("max(x, 3) - min(x, 3)", [1.0, 1.0]),
    ("exp(log(x)) + sqrt(abs(-x)) ** 2", [4.0, 8.0]),
    ("-x + +x", [0.0, 0.0]),
])
def test_expressions_compute_what_they_say(text, expect):
    assert evaluate(parse(text), _scope(VALUES)).tolist() == pytest.approx(expect)


def test_vectors_and_run_scalars_align_on_the_run_axis():
    out = evaluate(parse("w * x"), _scope(VALUES))
    assert out.tolist() == [[2.0, 4.0, 6.0], [16.0, 20.0, 24.0]]


def test_data_rows_and_names_are_recorded():
    e = parse("data(2010, kongtong, urban_population) / model(total) + w[a] + x")
    assert e.data_rows == [(2010, "kongtong", "urban_population")]
    assert [r.name for r in e.model_refs] == ["total"] and e.names == ["w", "x"]
    assert evaluate(parse("data(2010, k, u) * 2"), _scope(VALUES, data=lambda y, a, i: 21.0)) == 42.0


@pytest.mark.parametrize("text, reason", [
    ("__import__('os').system('echo no')", "unknown function"),
    ("x.__class__", "not allowed"),
    ("(lambda: 1)()", "unknown function"),
    ("[i for i in range(3)]", "not allowed"),
    ("'text'", "only numbers"),
    ("x if x else 1", "not allowed"),
    ("x < 1", "not allowed"),
    ("x % 2", "not allowed"),
    ("sum(x, 2)", "takes 1 argument"),
    ("data(2010, k)", "three arguments"),
    ("data(x, k, u)", "year is a whole number"),
    ("x[1:2]", "element is a name"),
    ("1 +", "cannot read"),
    ("", "empty"),
    ("x" * 2001, "longer than"),
])
def test_anything_but_the_language_is_refused(text, reason):
    with pytest.raises(ExprError, match=reason.replace("(", r"\(")):
        parse(text)


@pytest.mark.parametrize("text, reason", [
    ("w[z]", "unknown county element 'z'"),
    ("w[a, b]", "give 1 element"),
    ("x[a]", "not subscripted"),
    ("nobody", "unknown name"),
])
def test_bad_names_and_elements_are_reported(text, reason):
    with pytest.raises(ExprError, match=reason):
        evaluate(parse(text), _scope(VALUES))


@given(st.lists(st.floats(0.1, 1e6), min_size=3, max_size=3))
def test_county_shares_sum_to_one(weights):
    values = {"w": (np.array([weights]), ("county",))}
    total = sum(float(evaluate(parse(f"w[{c}] / sum(w)"), _scope(values))[0]) for c in ELEMENTS["county"])
    assert total == pytest.approx(1.0)
