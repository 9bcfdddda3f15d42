"""The compiler and integrator against cases computed by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest
from conftest import element

from simulator.engine.compile import compile_model
from simulator.engine.integrate import simulate
from simulator.engine.load import load_model
from simulator.engine.series import TimeSeries
from simulator.errors import InputError


def build(write_model, model: dict):
    return compile_model(load_model(write_model(model)))


def per_year(**fields):
    """A flow, or a rate constant, of a dimensionless stock: unit 1/year."""
    return element(**{"unit": "1/year", **fields})


def one_stock(inflow: str = "0", outflow: str | None = None, initial: float = 100.0, **extra) -> dict:
    flows = {"inflow": per_year(equation=inflow)}
    stock = element(initial=initial, inflows=["inflow"], outflows=[])
    if outflow is not None:
        flows["outflow"] = per_year(equation=outflow)
        stock["outflows"] = ["outflow"]
    return {"stocks": {"s": stock}, "flows": flows, **extra}


def test_constant_inflow_is_linear(write_model):
    model = build(write_model, one_stock(inflow="rate", constants={"rate": per_year(value=3.0)}))
    for method in ("euler", "heun", "rk4"):
        run = simulate(model, method=method)
        np.testing.assert_allclose(run.data["s"][0], 100.0 + 3.0 * run.times, rtol=0, atol=1e-12)


def test_first_order_decay_euler_matches_hand_recurrence_and_error_bound(write_model):
    k, y0, dt = 0.3, 100.0, 0.25
    model = build(write_model, one_stock(outflow="s * k", initial=y0, constants={"k": per_year(value=k)}))
    run = simulate(model, dt=dt)
    t = run.times
    np.testing.assert_allclose(run.data["s"][0], y0 * (1 - k * dt) ** (t / dt), rtol=1e-12)
    exact = y0 * np.exp(-k * t)
    # Euler's global error bound: (M h / 2L)(e^{Lt} - 1) with M = k^2 y0, L = k
    bound = k * y0 * dt / 2 * (np.exp(k * t) - 1)
    assert np.all(np.abs(run.data["s"][0] - exact) <= bound + 1e-12)
    assert np.abs(run.data["s"][0, -1] - exact[-1]) > 0  # Euler is not exact: the bound is not vacuous
    rk4 = simulate(model, dt=dt, method="rk4")
    np.testing.assert_allclose(rk4.data["s"][0], exact, rtol=1e-5)
    # Heun multiplies by its second-order Taylor factor each step: 1 - k dt + (k dt)^2 / 2
    heun = simulate(model, dt=dt, method="heun")
    np.testing.assert_allclose(heun.data["s"][0], y0 * (1 - k * dt + (k * dt) ** 2 / 2) ** (t / dt), rtol=1e-12)
    assert np.max(np.abs(heun.data["s"][0] - exact)) < np.max(np.abs(run.data["s"][0] - exact)) / 10


def test_smooth_step_response_is_vensim_smooth(write_model):
    height, t0, delay, dt = 10.0, 2.0, 2.0, 0.25
    aux = {"y": element(equation=f"smooth(5 + step({height}, {t0}), {delay})")}
    model = build(write_model, one_stock(auxiliaries=aux))
    run = simulate(model, dt=dt)
    n = np.clip((run.times - t0) / dt, 0, None)
    # starts at the input's initial value (5); Euler: first-order filter (1 - dt/delay)^n
    expected = 5 + height * (1 - (1 - dt / delay) ** n)
    np.testing.assert_allclose(run.data["y"][0], expected, rtol=1e-12)
    fine = simulate(model, dt=1 / 64, method="rk4")
    closed = 5 + height * (1 - np.exp(-np.clip(fine.times - t0, 0, None) / delay))
    np.testing.assert_allclose(fine.data["y"][0], closed, atol=0.02)  # step enters at a grid point


def test_delay3_step_response_matches_erlang_closed_form(write_model):
    height, t0, delay = 10.0, 1.0, 3.0
    aux = {"y": element(equation=f"delay3(4 + step({height}, {t0}), {delay})")}
    model = build(write_model, one_stock(auxiliaries=aux))
    x = 3 * np.clip(np.arange(11.0) - t0, 0, None) / delay
    closed = 4 + height * (1 - np.exp(-x) * (1 + x + x**2 / 2))
    errors = []
    for dt in (1 / 16, 1 / 32):
        run = simulate(model, dt=dt)
        assert run.data["y"][0, 0] == pytest.approx(4.0)  # starts at the input's initial value
        errors.append(np.max(np.abs(run.data["y"][0] - closed)))
    assert errors[0] < 0.3 and errors[1] < errors[0] * 0.6  # Euler error halves with dt
    rk4 = simulate(model, dt=1 / 64, method="rk4")
    # the discontinuous step costs RK4 its order; one step's worth of error remains
    np.testing.assert_allclose(rk4.data["y"][0], closed, atol=0.05)


def test_delay3_has_three_hidden_stocks_and_conserves_its_content(write_model):
    aux = {"y": element(equation="delay3(step(6, 1), 3)")}
    model = build(write_model, one_stock(auxiliaries=aux))
    assert [s for s in model.states if s.startswith("__")] == ["__delay3_y_1", "__delay3_y_2", "__delay3_y_3"]


def test_county_broadcast_sum_and_element(write_model):
    model = build(write_model, {
        "dimensions": {"county": {"elements": ["a", "b", "c"]}},
        "constants": {
            "x0": element(value={"a": 1, "b": 2, "c": 3}, dims=["county"]),
            "w": element(value={"a": 1, "b": 0, "c": 0}, dims=["county"]),
            "r": per_year(value=0.1),
        },
        "stocks": {"pop": element(dims=["county"], initial="x0 * 100", inflows=["arrive"], outflows=["depart"])},
        "flows": {
            "depart": per_year(dims=["county"], equation="pop * r * (1 - w)"),
            "arrive": per_year(dims=["county"], equation="w * sum(depart)"),
        },
        "auxiliaries": {"total": element(equation="sum(pop)"), "first": element(equation="pop[a]")},
    })
    run = simulate(model)
    np.testing.assert_allclose(run.data["total"][0], 600.0)  # moves between counties conserve people
    assert run.data["pop"].shape == (1, 11, 3)
    np.testing.assert_allclose(run.data["first"][0], run.data["pop"][0, :, 0])
    # by hand: b and c decay at r, a receives what they lose
    np.testing.assert_allclose(run.data["pop"][0, :, 1], 200 * (1 - 0.1 * 0.25) ** (4 * run.times))


def test_many_runs_equal_single_runs(write_model):
    model = build(write_model, one_stock(outflow="s * k", constants={"k": per_year(value=0.1, bounds=[0, 1])}))
    ks = np.array([0.05, 0.1, 0.4])
    batch = simulate(model, {"k": ks}, n_runs=3, method="rk4")
    for i, k in enumerate(ks):
        single = simulate(model, {"k": float(k)}, method="rk4")
        np.testing.assert_array_equal(batch.data["s"][i], single.data["s"][0])


def test_time_series_lever_is_linear_between_years(write_model):
    model = build(write_model, one_stock(inflow="rate", constants={"rate": per_year(value=0.0)},
                                         auxiliaries={"r": per_year(equation="rate")}))
    run = simulate(model, {"rate": TimeSeries(np.array([2.0, 6.0]), np.array([1.0, 3.0]))})
    np.testing.assert_allclose(run.data["r"][0], np.interp(run.times, [2, 6], [1, 3]))


def test_lookup_ramp_if_then_else(write_model):
    model = build(write_model, one_stock(
        constants={"one_year": element(unit="year", value=1.0)},
        lookups={"g": element(x=[0, 10], y=[0, 20], x_unit="year")},
        auxiliaries={
            "a": element(equation="g(time)"),
            "b": element(unit="year", equation="ramp(2, 3, 5)"),
            "c": element(equation="if_then_else(time > 4 * one_year, 1, -1)"),
            "d": element(unit="year", equation="min(time, 3 * one_year) + max(time, 8 * one_year) + (abs(0 - 2) + exp(0) + ln(1) + sqrt(4)) * one_year"),
        }))
    run = simulate(model)
    t = run.times
    np.testing.assert_allclose(run.data["a"][0], 2 * t)
    np.testing.assert_allclose(run.data["b"][0], 2 * (np.clip(t, 3, 5) - 3))
    np.testing.assert_allclose(run.data["c"][0], np.where(t > 4, 1, -1))
    np.testing.assert_allclose(run.data["d"][0], np.minimum(t, 3) + np.maximum(t, 8) + 2 + 1 + 0 + 2)


def test_algebraic_loop_is_named(write_model):
    path = write_model(one_stock(inflow="a * k", constants={"k": per_year(value=1.0)},
                                auxiliaries={"a": element(equation="b + 1"), "b": element(equation="a * 2")}))
    with pytest.raises(InputError, match=r"algebraic loop.*a -> b -> a|algebraic loop.*b -> a -> b"):
        compile_model(load_model(path))


def test_loop_through_smooth_runs_but_its_initial_value_is_simultaneous(write_model):
    # as in Vensim: SMOOTH starts at its input, so a = smooth(f(a)) has no initial value
    path = write_model(one_stock(inflow="a * k", constants={"k": per_year(value=1.0)},
                                auxiliaries={"a": element(equation="smooth(a * 0.5 + 1, 2)")}))
    with pytest.raises(InputError, match="algebraic loop in initial equations"):
        compile_model(load_model(path))
    # a loop through a smooth whose input depends on a stock is ordinary feedback
    model = build(write_model, one_stock(inflow="a", constants={"k": per_year(value=0.01)},
                                         auxiliaries={"a": per_year(equation="smooth(s * k, 2)")}))
    run = simulate(model)
    assert run.data["a"][0, 0] == pytest.approx(1.0) and np.all(np.diff(run.data["s"][0]) > 0)


def test_rk4_and_euler_agree_closely_on_smooth_model(write_model):
    model = build(write_model, one_stock(outflow="s * k", constants={"k": per_year(value=0.2)}))
    e = simulate(model, dt=1 / 128)
    r = simulate(model, method="rk4")
    np.testing.assert_allclose(e.data["s"][0], r.data["s"][0], rtol=2e-3)
    assert math.isclose(r.data["s"][0, -1], 100 * math.exp(-2), rel_tol=1e-6)


def test_step_switches_like_vensim_at_time_plus_half_dt(write_model):
    # Vensim: STEP is on once Time + TIME STEP/2 > step time; an off-grid 2.1 switches at 2.0
    model = build(write_model, one_stock(auxiliaries={"y": element(equation="step(1, 2.1)")}))
    run = simulate(model, dt=0.25, saveper=0.25)
    assert run.data["y"][0][run.times < 1.9].max() == 0.0
    assert run.data["y"][0][np.isclose(run.times, 2.0)] == 1.0
    on_grid = build(write_model, one_stock(auxiliaries={"y": element(equation="step(1, 2)")}))
    run = simulate(on_grid, dt=0.25, saveper=0.25)
    np.testing.assert_array_equal(run.data["y"][0], np.where(run.times >= 2, 1.0, 0.0))


def test_compiled_compiles_a_model_file_once_per_process_and_keeps_each_specs_own_time(write_model):
    """engine.compile.compiled: one compile per file (sha256 and name), shared by every ModelSpec
    of that file, each keeping its own time block; a model built in memory is compiled anew."""
    from simulator.engine import compile as engine_compile
    from simulator.engine.compile import compiled

    path = write_model(one_stock(inflow="10"))
    first, again = load_model(path), load_model(path)
    assert first is not again and first.sha256 == again.sha256
    engine_compile._COMPILED.clear()
    a = compiled(first)
    assert compiled(first) is a
    b = compiled(again)
    assert b.program is a.program and b.spec is again
    shorter = again.model_copy(update={"time": again.time.model_copy(update={"stop": again.time.start + 2})})
    assert shorter.sha256 == first.sha256
    run = simulate(compiled(shorter), outputs=["s"])
    assert list(run.times) == [again.time.start, again.time.start + 1, again.time.start + 2]
    np.testing.assert_allclose(run.data["s"][0], [100.0, 110.0, 120.0])
    in_memory = first.model_copy(update={"sha256": ""})
    assert compiled(in_memory) is not compiled(in_memory)


def test_default_constants_are_made_once_per_spec_object_and_freed_with_it(write_model):
    """A spec of an already compiled file gets a new model at every `compiled` call; its default
    constants are made once for the spec object (not at every call) and dropped when it is."""
    import gc

    from simulator.engine import compile as engine_compile
    from simulator.engine.compile import compiled

    path = write_model(one_stock(inflow="10"))
    first, again = load_model(path), load_model(path)
    compiled(first)
    assert compiled(again) is not compiled(again)
    table = compiled(again).defaults_key()
    assert compiled(again).defaults_key() is table and compiled(first).defaults_key() is not table
    kept = id(again)
    assert kept in engine_compile._DEFAULTS
    del again
    gc.collect()
    assert kept not in engine_compile._DEFAULTS
