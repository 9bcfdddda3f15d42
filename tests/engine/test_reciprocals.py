"""engine/reciprocals.py: a division by a run constant becomes a multiplication by its
reciprocal, and nothing else moves but the last bit."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from simulator.engine import ir, numpy_code
from simulator.engine.compile import build_program, compile_model
from simulator.engine.integrate import simulate
from simulator.engine.load import load_model
from tests.conftest import element


def _toy(write_model):
    return load_model(write_model({
        "time": {"start": 0, "stop": 10, "dt": 0.25, "saveper": 1, "method": "rk4"},
        "constants": {"c": element(value=3.0), "d": element(value=7.0)},
        "stocks": {"s": element(initial="1", inflows=["grow"])},
        "flows": {"grow": element(unit="1/year", equation="s / c / (d + 1) + s / s + time / c / (time + 1)")},
        "auxiliaries": {"stepped": element(equation="1 / (1 + step(1, 5)) / d"),
                        "per_c": element(equation="grow / (c * d)")},
    }), units=False)


def _divisions(program: ir.Program) -> list[tuple[str, str]]:
    """(dividend's first node type or 'reciprocal', divisor source) of every division in the rates."""
    out = []
    for a in program.rates:
        for node in ir.walk(a.expr):
            if isinstance(node, ir.Chain) and node.family == "*":
                for op, t in node.rest:
                    if op == "/":
                        one = isinstance(node.first, ir.Const) and node.first.value == 1.0 and len(node.rest) == 1
                        out.append(("reciprocal" if one else a.name, ir.source(t)))
    return out


def test_only_divisions_by_run_constants_are_rewritten(write_model):
    spec = _toy(write_model)
    written = _divisions(build_program(spec, rewrite_divisions=False))
    rewritten = _divisions(build_program(spec))
    # as written: s / c / (d + 1), s / s, time / c / (time + 1), 1 / (1 + step) / d, grow / (c * d)
    assert sorted(t for _, t in written) == sorted(["c", "d + 1", "s", "c", "time + 1", "1 + step(1, 5)", "d",
                                                    "c * d"])
    assert sorted(t for kind, t in rewritten if kind == "reciprocal") == sorted(["c", "d + 1", "c", "d", "c * d"])
    # what changes during a run stays a division: a stock, the time, a step
    assert sorted(t for kind, t in rewritten if kind != "reciprocal") == sorted(["s", "time + 1", "1 + step(1, 5)"])


def _as_written(model):
    program = build_program(model.spec, rewrite_divisions=False)
    source, ns = numpy_code.build(program, model.spec.name)
    return dataclasses.replace(model, program=program, source=source, init=ns["init"], rates=ns["rates"],
                               kernels={})


def test_results_move_in_the_last_bit_only(write_model):
    model = compile_model(_toy(write_model))
    c = np.array([3.0, 0.5, 11.0])
    new = simulate(model, {"c": c}, n_runs=3, backend="numpy")
    old = simulate(_as_written(model), {"c": c}, n_runs=3, backend="numpy")
    for name in ("s", "grow", "stepped", "per_c"):
        np.testing.assert_allclose(new.data[name], old.data[name], rtol=1e-14, atol=0)


@pytest.mark.parametrize("c", [0.0, np.inf])
def test_zero_and_infinite_divisors_give_the_same_specials(write_model, c):
    model = compile_model(_toy(write_model))
    with np.errstate(all="ignore"):
        new = simulate(model, {"c": c}, backend="numpy", outputs=["per_c"])
        old = simulate(_as_written(model), {"c": c}, backend="numpy", outputs=["per_c"])
    a, b = new.data["per_c"], old.data["per_c"]
    np.testing.assert_array_equal(a, b)  # NaN where NaN, inf where inf, 0 where 0
    assert np.isfinite(a).all() == (c == np.inf)  # a zero divisor does make specials
