"""Comparisons of the time at a step boundary (ir.time_comparison, c_parts.STAGE_SIDES).

A flow `if_then_else(time > 1, 1, 0)` is 0 up to t = 1 and 1 after it: its stock gains exactly
t - 1 by t. RK4 and Heun evaluate a step's first stage just after its start and its last just
before its end, so a switch on the step grid is integrated exactly, whichever operator the
model file wrote; Euler keeps the operator as written at the time itself (Vensim's and PySD's
reading, which the exports must reproduce).
"""

from __future__ import annotations

import pytest

from simulator.engine.compile import compile_model
from simulator.engine.integrate import simulate
from simulator.engine.load import load_model
from tests.conftest import element

BACKENDS = ("numpy", "kernel")


def _switch_model(condition: str, method: str, dt: float = 0.5) -> dict:
    return {
        "time": {"start": 0, "stop": 3, "dt": dt, "saveper": 1, "method": method},
        "constants": {"switch_time": element(unit="year", value=1.0)},
        "stocks": {"s": element(unit="person", initial="0", inflows=["inflow"])},
        "flows": {"inflow": element(unit="person/year", equation=f"if_then_else({condition}, 1, 0)")},
    }


def _run(write_model, condition: str, method: str, backend: str, dt: float = 0.5):
    model = compile_model(load_model(write_model(_switch_model(condition, method, dt)), units=False))
    return simulate(model, outputs=["s", "inflow"], backend=backend, saveper=0.5 if dt <= 0.5 else 1.0)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("method", ["rk4", "heun"])
@pytest.mark.parametrize("condition", ["time > switch_time", "time >= switch_time", "switch_time < time",
                                       "switch_time <= time"])
def test_a_switch_on_the_step_grid_is_integrated_exactly(write_model, condition, method, backend):
    run = _run(write_model, condition, method, backend)
    s = run.data["s"][0]
    exact = [max(t - 1.0, 0.0) for t in run.times]
    assert s.tolist() == pytest.approx(exact, abs=1e-12)
    # the value recorded at the switch is the one that drives the step from it
    assert run.data["inflow"][0].tolist() == [0, 0, 1, 1, 1, 1, 1]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("method", ["rk4", "heun"])
@pytest.mark.parametrize("condition", ["time < switch_time", "time <= switch_time", "switch_time > time"])
def test_a_switch_off_on_the_step_grid_too(write_model, condition, method, backend):
    s = _run(write_model, condition, method, backend).data["s"][0]
    assert s[-1] == pytest.approx(1.0, abs=1e-12)  # on until t = 1, exactly


@pytest.mark.parametrize("backend", BACKENDS)
def test_euler_reads_the_operator_at_the_time_itself(write_model, backend):
    """Euler's step from t = 1 uses the value at t = 1 as written: `>` still 0 there, `>=` 1."""
    strict = _run(write_model, "time > switch_time", "euler", backend)
    assert strict.data["s"][0, -1] == pytest.approx(1.5)
    assert strict.data["inflow"][0].tolist() == [0, 0, 0, 1, 1, 1, 1]
    assert _run(write_model, "time >= switch_time", "euler", backend).data["s"][0, -1] == pytest.approx(2.0)


@pytest.mark.parametrize("backend", BACKENDS)
def test_equality_with_the_time_holds_only_at_the_time_itself(write_model, backend):
    """`time == x` is a single instant: no stage of RK4 sees it (it integrates to 0), Euler does once."""
    assert _run(write_model, "time == switch_time", "rk4", backend).data["s"][0, -1] == 0.0
    assert _run(write_model, "time == switch_time", "euler", backend).data["s"][0, -1] == pytest.approx(0.5)
    assert _run(write_model, "time != switch_time", "rk4", backend).data["s"][0, -1] == pytest.approx(3.0)


def test_rk4_error_at_a_grid_switch_is_gone_not_halved(write_model):
    """Before, RK4's first stage at t = 1 read the value before the switch: the stock was dt/6 short,
    an error that only halved with the step. Now every step is exact."""
    for dt in (1.0, 0.5, 0.25):
        s = _run(write_model, "time > switch_time", "rk4", "numpy", dt=dt).data["s"][0]
        assert s[-1] == pytest.approx(2.0, abs=1e-12), dt
