"""engine/stability.py: a time step at which a smooth or delay3 is unstable is refused."""

from __future__ import annotations

import numpy as np
import pytest

from simulator.engine.compile import compile_model
from simulator.engine.integrate import simulate
from simulator.engine.load import load_model
from simulator.engine.series import TimeSeries
from simulator.engine.stability import LIMITS, whole_step
from simulator.errors import InputError, StepTooLong
from tests.conftest import element


def _growth(method: str, x: float) -> float:
    """The factor one step multiplies the error of a first-order decay by, at x = dt / stage."""
    if method == "euler":
        return 1 - x
    if method == "heun":
        return 1 - x + x ** 2 / 2
    return 1 - x + x ** 2 / 2 - x ** 3 / 6 + x ** 4 / 24


@pytest.mark.parametrize("method", ["euler", "heun", "rk4"])
def test_limit_is_where_the_error_starts_to_grow(method):
    x = LIMITS[method]
    assert abs(_growth(method, x * (1 - 1e-6))) < 1 < abs(_growth(method, x * (1 + 1e-6)))


def _model(delay: dict, equation: str = "delay3(10 * step(1, 2), delay)", dt: float = 0.25,
           method: str = "rk4") -> dict:
    return {
        "time": {"start": 0, "stop": 10, "dt": dt, "saveper": 1, "method": method},
        "constants": {"delay": element(unit="year", **delay)},
        "stocks": {"s": element(initial="0", inflows=["inflow"])},
        "flows": {"inflow": element(unit="1/year", equation=equation)},
    }


def test_shipped_model_refuses_a_step_of_one_year_at_the_shortest_construction_delay():
    from simulator.api import load
    from simulator.engine.compile import compiled

    sc = load("baseline")
    model = compiled(sc.spec)
    short = {**sc.params, "service_construction_delay": 1.0}
    simulate(model, short, outputs=["urbanization_rate"])  # the model's own Heun at dt 0.5: stable
    simulate(model, short, method="rk4", outputs=["urbanization_rate"])
    with pytest.raises(StepTooLong, match=r"service_construction_delay = 1 year makes 3 stages of 0\.333 year.*"
                                          r"0\.928 year\), not 1: use a time step of 0\.5 or less"):
        simulate(model, short, dt=1, method="rk4", outputs=["urbanization_rate"])
    with pytest.raises(StepTooLong, match=r"heun is stable only for a time step shorter than 2\.000 stage times "
                                          r"\(0\.667 year\), not 1"):
        simulate(model, short, dt=1, outputs=["urbanization_rate"])
    with pytest.raises(StepTooLong, match="euler is stable only for a time step shorter than 2.000"):
        simulate(model, short, dt=1, method="euler", outputs=["urbanization_rate"])
    simulate(model, sc.params, dt=1, outputs=["urbanization_rate"])  # its value, 3 years: stable at dt 1


def test_refused_step_is_where_the_run_goes_wrong(write_model):
    """Just inside the limit a smooth still closes its gap to a step input, step after step (the
    error factor is below 1); a step just beyond it is refused."""
    path = write_model(_model({"value": 1.0}, equation="smooth(step(1, 2), delay)", dt=0.125))
    model = compile_model(load_model(path, units=False))
    limit = LIMITS["rk4"]  # smooth: one stage of `delay`
    inside = simulate(model, {"delay": 1 / limit / 0.99 * 0.5}, dt=0.5, outputs=["inflow"], saveper=0.5)
    gap = 1 - inside.data["inflow"][0, inside.times > 2]
    assert (gap > 0).all() and (np.diff(gap) < 0).all()
    with pytest.raises(StepTooLong):
        simulate(model, {"delay": 1 / limit / 1.01 * 0.5}, dt=0.5, outputs=["inflow"])


def test_every_run_and_element_counts(write_model):
    model = compile_model(load_model(write_model(_model({"value": 2.0})), units=False))
    simulate(model, {"delay": np.array([2.0, 3.0, 1.5])}, n_runs=3, dt=1, outputs=["s"])
    with pytest.raises(StepTooLong, match="delay = 1 year"):
        simulate(model, {"delay": np.array([2.0, 1.0, 3.0])}, n_runs=3, dt=1, outputs=["s"])
    with pytest.raises(StepTooLong, match="delay = 0.5 year"):
        simulate(model, {"delay": TimeSeries(np.array([0.0, 5.0]), np.array([2.0, 0.5]))}, dt=1, outputs=["s"])


@pytest.mark.parametrize(("delay", "equation", "field"), [
    ({"value": 2.0, "bounds": [0.2, 5]}, None, "constants.delay.bounds"),
    ({"value": 0.2}, None, "constants.delay.value"),
    ({"value": 2.0}, "smooth(1, 0.05)", "flows.inflow.equation"),
    ({"value": 0.0}, None, "constants.delay.value"),
])
def test_model_unstable_at_its_own_step_is_refused_at_load(write_model, delay, equation, field):
    path = write_model(_model(delay, *(() if equation is None else (equation,)), dt=0.5))
    with pytest.raises(InputError) as err:
        compile_model(load_model(path, units=False))
    assert err.value.field == field
    assert "time.dt is 0.5, time.method rk4" in err.value.reason
    # the same bounds pass at a step short enough
    if delay["value"] > 0:
        fine = write_model(_model(delay, *(() if equation is None else (equation,)), dt=1 / 64), "fine.yaml")
        compile_model(load_model(fine, units=False))


def test_expression_delay_times_are_not_checked(write_model):
    path = write_model(_model({"value": 0.2}, equation="smooth(1, delay * 1)", dt=0.5))
    model = compile_model(load_model(path, units=False))
    assert model.program.delays == ()


def test_whole_step_divides_a_year_and_stays_below_the_limit():
    for limit in (0.05, 0.3, 0.5, 0.928, 1.0):
        step = whole_step(limit)
        assert step < limit and (1 / step) == round(1 / step)
        assert 1 / (round(1 / step) - 1) >= limit  # the next longer whole step is not below it
