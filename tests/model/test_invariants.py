"""Invariants of the Pingliang model over constants drawn inside their bounds (hypothesis):
people are conserved every step, stocks stay non-negative, rates stay in [0, 1].

Scalar constants range over their whole bounds. Subscripted constants are tables of data
(census counts by county, schedules by age, weights and shares by chain): each element ranges
over its value -/+ TABLE_SPAN (inside the bounds), since a table far from its data can describe
no city; the tables of the 2010 state (`initial_*`) stay at their census values, since perturbed
independently they contradict each other (e.g. the six county seats' urban residents from the
city's share less Kongtong's count go negative)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from simulator.bundled import bundled_model_path
from simulator.engine.compile import compile_model
from simulator.engine.integrate import simulate
from simulator.engine.load import load_model

SPEC = load_model(bundled_model_path())
MODEL = compile_model(SPEC)
BOUNDED = {n: c for n, c in SPEC.constants.items()
           if c.bounds is not None and not (c.dims and n.startswith("initial_"))}
PERSON_STOCKS = [n for n, s in SPEC.stocks.items() if s.unit == "person"]
RATES = [n for n in SPEC.auxiliaries if n.endswith("urbanization_rate")]


#: relative span of each element of a subscripted constant around its value
TABLE_SPAN = 0.2


def _value(name, c):
    """A value inside the bounds: a float, or an array of the constant's declared shape."""
    lo, hi = c.bounds
    if not c.dims:
        return st.floats(lo, hi, allow_nan=False, allow_infinity=False)
    values = MODEL.declared(name, MODEL.default_constants()[name])[0]
    elements = [st.floats(max(lo, v * (1 - TABLE_SPAN)), min(hi, v * (1 + TABLE_SPAN)), allow_nan=False)
                for v in values.ravel()]
    return st.tuples(*elements).map(lambda v: np.array(v).reshape(values.shape))


constants = st.fixed_dictionaries({n: _value(n, c) for n, c in BOUNDED.items()})


def person_boundary_flows() -> dict[str, int]:
    """Flows entering or leaving the person stocks from outside them (births, deaths, ...)."""
    into = {f for s in PERSON_STOCKS for f in SPEC.stocks[s].inflows}
    out = {f for s in PERSON_STOCKS for f in SPEC.stocks[s].outflows}
    return {f: (1 if f in into else -1) for f in into ^ out}


def test_model_has_what_the_invariants_need():
    assert len(PERSON_STOCKS) >= 4 and len(BOUNDED) >= 10
    assert {"urbanization_rate", "hukou_urbanization_rate", "county_urbanization_rate"} <= set(RATES)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(params=constants, method=st.sampled_from(["euler", "heun", "rk4"]))
def test_invariants_hold_inside_bounds(params, method):
    # the model's method at its DT; the others at 0.25, where Euler keeps the shortest delay the
    # bounds allow (a third of a one-year delay3) non-negative, which at dt 0.5 it need not
    dt = SPEC.time.dt if method == SPEC.time.method else 0.25
    run = simulate(MODEL, params, method=method, dt=dt, saveper=dt)
    for name in SPEC.stocks:
        assert np.all(run.data[name] >= 0), f"{name} went negative"
        assert np.isfinite(run.data[name]).all()
    for name in RATES:
        assert np.all((run.data[name] >= 0) & (run.data[name] <= 1)), f"{name} left [0, 1]"
    if method == "euler":
        total = sum(run.data[s].reshape(1, len(run.times), -1).sum(axis=2) for s in PERSON_STOCKS)[0]
        net = sum(sign * run.data[f].reshape(1, len(run.times), -1).sum(axis=2)
                  for f, sign in person_boundary_flows().items())[0]
        # every step: the change in people equals births in minus deaths and moves out of the system
        np.testing.assert_allclose(np.diff(total), dt * net[:-1], rtol=1e-9, atol=1e-9 * total[0])


@pytest.mark.parametrize("n_runs", [1, 3])
def test_batch_equals_single_runs(n_runs):
    rng = np.random.default_rng(0)
    draws = {n: rng.uniform(*c.bounds, size=n_runs) for n, c in BOUNDED.items() if not c.dims}
    batch = simulate(MODEL, draws, n_runs=n_runs)
    for i in range(n_runs):
        single = simulate(MODEL, {n: float(v[i]) for n, v in draws.items()})
        np.testing.assert_allclose(batch.data["urbanization_rate"][i], single.data["urbanization_rate"][0], rtol=1e-12)
