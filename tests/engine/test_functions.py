"""One test per built-in function (engine/functions.py): each against its closed form, and the
same function through the Vensim export, run by PySD (to 1e-9 relative). A built-in added
to the table without its `test_builtin_<name>` here fails `test_every_builtin_has_its_test`."""

from __future__ import annotations

import re
import warnings

import numpy as np
import pytest
import yaml

from simulator.engine.compile import compile_model
from simulator.engine.functions import BUILTINS_TABLE, FUNCTIONS
from simulator.engine.integrate import simulate
from simulator.engine.kernel import compiler_available
from simulator.engine.load import load_model
from simulator.interop.vensim import to_vensim

DT = 0.25


def _el(unit: str = "dimensionless", **fields):
    return {"unit": unit, "label": {"zh": "测试", "en": "test"}, **fields}


#: one auxiliary (or more) per built-in; g is ordered, k is not
MODEL = {
    "name": "functions",
    "time": {"start": 0, "stop": 10, "dt": DT, "saveper": 1},
    "dimensions": {"g": {"elements": ["g1", "g2", "g3"], "ordered": True}, "k": {"elements": ["k1", "k2"]}},
    "constants": {
        "v": _el(dims=["g"], value=[1, -2, 4]),
        "w": _el(dims=["g", "k"], value=[[1, 5], [7, -3], [2, 2]]),
        "h": _el(value=3),
        "one_year": _el("year", value=1),
        "t_on": _el("year", value=2.1),
        "t_start": _el("year", value=2),
        "t_end": _el("year", value=6),
        "delay": _el("year", value=2),
    },
    "stocks": {"s": _el(initial=0)},
    "auxiliaries": {
        "tt": _el(equation="time / one_year"),
        "f_min": _el(dims=["g"], equation="min(tt - 3, v)"),
        "f_max": _el(dims=["g"], equation="max(tt - 3, v)"),
        "f_abs": _el(dims=["g"], equation="abs(v * (tt - 5))"),
        "f_exp": _el(equation="exp(-tt / 4)"),
        "f_ln": _el(equation="ln(1 + tt)"),
        "f_sqrt": _el(dims=["g"], equation="sqrt(abs(v) * tt)"),
        "f_if_then_else": _el(dims=["g"], equation="if_then_else(time > t_start, v, -v)"),
        "f_step": _el(equation="step(h, t_on)"),
        "f_ramp": _el("year", equation="ramp(h, t_start, t_end)"),
        "f_sum": _el(dims=["k"], equation="sum(w * tt, g)"),
        "f_sum1": _el(equation="sum(v)"),
        "f_mean": _el(dims=["g"], equation="mean(w, k) * tt"),
        "f_vmax": _el(dims=["k"], equation="vmax(w - tt, g)"),
        "f_vmin": _el(dims=["g"], equation="vmin(w * tt, k)"),
        "f_shift": _el(dims=["g", "k"], equation="shift(w * tt, g)"),
        "f_smooth": _el(dims=["g"], equation="smooth(5 + v * step(10, 2), delay)"),
        "f_delay3": _el(equation="delay3(4 + step(10, 1), 3)"),
    },
}


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """urbsd's run of MODEL and PySD's run of its Vensim export, at DT 0.25."""
    import pysd

    folder = tmp_path_factory.mktemp("functions")
    path = folder / "functions.yaml"
    path.write_text(yaml.safe_dump(MODEL, allow_unicode=True, sort_keys=False), encoding="utf-8")
    spec = load_model(path)
    run = simulate(compile_model(spec))
    mdl = folder / "functions.mdl"
    mdl.write_text(to_vensim(spec), encoding="utf-8")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        frame = pysd.read_vensim(str(mdl)).run(return_timestamps=list(run.times))
    return run, frame


def check(runs, name: str, expected) -> None:
    """The variable equals its closed form, and PySD's run of the Vensim export equals it."""
    run, frame = runs
    ours = run.data[name][0]
    np.testing.assert_allclose(ours, expected, rtol=1e-12, atol=1e-12, err_msg=name)
    dims = run.dims[name]
    cols = [name] if not dims else [f"{name}[{','.join(c)}]" for c in _cells(run, dims)]
    theirs = np.stack([frame[c].to_numpy(dtype=float) for c in cols], axis=1).reshape(ours.shape)
    scale = np.maximum(np.abs(ours), 1e-12)
    assert np.max(np.abs(theirs - ours) / scale) < 1e-9, f"{name}: PySD differs"


def _cells(run, dims):
    import itertools

    return list(itertools.product(*(run.elements[d] for d in dims)))


T = np.arange(11.0)
V = np.array([1.0, -2.0, 4.0])
W = np.array([[1.0, 5.0], [7.0, -3.0], [2.0, 2.0]])


def test_builtin_min(runs):
    check(runs, "f_min", np.minimum(T[:, None] - 3, V))


def test_builtin_max(runs):
    check(runs, "f_max", np.maximum(T[:, None] - 3, V))


def test_builtin_abs(runs):
    check(runs, "f_abs", np.abs(V * (T[:, None] - 5)))


def test_builtin_exp(runs):
    check(runs, "f_exp", np.exp(-T / 4))


def test_builtin_ln(runs):
    check(runs, "f_ln", np.log(1 + T))


def test_builtin_sqrt(runs):
    check(runs, "f_sqrt", np.sqrt(np.abs(V) * T[:, None]))


def test_builtin_if_then_else(runs):
    check(runs, "f_if_then_else", np.where(T[:, None] > 2, V, -V))


def test_builtin_step(runs):
    # Vensim: on once time + dt/2 > t0, so the off-grid 2.1 switches on at 2.0
    check(runs, "f_step", np.where(T + DT / 2 > 2.1, 3.0, 0.0))


def test_builtin_ramp(runs):
    check(runs, "f_ramp", 3 * (np.clip(T, 2, 6) - 2))


def test_builtin_sum(runs):
    check(runs, "f_sum", W.sum(axis=0) * T[:, None])
    check(runs, "f_sum1", np.full(11, V.sum()))


def test_builtin_mean(runs):
    check(runs, "f_mean", W.mean(axis=1) * T[:, None])


def test_builtin_vmax(runs):
    check(runs, "f_vmax", W.max(axis=0) - T[:, None])


def test_builtin_vmin(runs):
    check(runs, "f_vmin", (W * T[:, None, None]).min(axis=2))


def test_builtin_shift(runs):
    shifted = np.zeros((11, 3, 2))
    shifted[:, 1:, :] = W[:-1] * T[:, None, None]
    check(runs, "f_shift", shifted)


def test_builtin_smooth(runs):
    """SMOOTH starts at the input's initial value and follows the Euler first-order filter
    (1 - dt/d)^n after the step at 2; at a fine DT it approaches 1 - exp(-(t - 2)/d)."""
    n = np.clip((T - 2) / DT, 0, None)
    check(runs, "f_smooth", 5 + V * 10 * (1 - (1 - DT / 2) ** n)[:, None])
    fine = simulate(compile_model(_spec()), dt=1 / 64, method="rk4", outputs=["f_smooth"])
    closed = 5 + V * 10 * (1 - np.exp(-np.clip(T - 2, 0, None) / 2))[:, None]
    np.testing.assert_allclose(fine.data["f_smooth"][0], closed, atol=0.06)


def test_builtin_delay3(runs):
    """DELAY3: three first-order stages of delay/3 each, starting at input * delay / 3; the output
    follows that Euler recursion exactly, and at a fine DT the Erlang-3 step response."""
    dt, d = DT, 3.0
    levels = np.full(3, 4.0 * d / 3)
    out = []
    for step in range(int(10 / dt) + 1):
        t = step * dt
        if step % 4 == 0:
            out.append(levels[2] / (d / 3))
        x = 4 + (10.0 if t + dt / 2 > 1 else 0.0)
        rates = levels / (d / 3)
        levels = levels + dt * np.array([x - rates[0], rates[0] - rates[1], rates[1] - rates[2]])
    check(runs, "f_delay3", np.array(out))
    fine = simulate(compile_model(_spec()), dt=1 / 64, method="rk4", outputs=["f_delay3"])
    x = 3 * np.clip(T - 1, 0, None) / d
    np.testing.assert_allclose(fine.data["f_delay3"][0], 4 + 10 * (1 - np.exp(-x) * (1 + x + x ** 2 / 2)), atol=0.05)


def _spec():
    import tempfile
    from pathlib import Path

    path = Path(tempfile.mkdtemp()) / "functions.yaml"
    path.write_text(yaml.safe_dump(MODEL, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return load_model(path)


# --------------------------------------------------------------------------- the table itself


def test_every_builtin_has_its_test():
    missing = [b.name for b in BUILTINS_TABLE if f"test_builtin_{b.name}" not in globals()]
    assert not missing, f"built-ins without a test_builtin_<name> here: {missing}"
    equations = " ".join(a["equation"] for a in MODEL["auxiliaries"].values())
    unused = [b.name for b in BUILTINS_TABLE if not re.search(rf"\b{b.name}\(", equations)]
    assert not unused, f"built-ins the PySD model does not use: {unused}"


@pytest.mark.skipif(not compiler_available(), reason="no C compiler")
@pytest.mark.parametrize("method", ["euler", "rk4"])
def test_c_code_agrees_with_numpy_code(tmp_path, method):
    """Each row's `scalar` template (C, the compiled kernel's loops) computes what its numpy one
    does: the model that uses every built-in, run on both backends, every element of every
    variable to 1e-12 of its series scale (numpy's SIMD exp/log may differ in the last bit)."""
    path = tmp_path / "functions.yaml"
    path.write_text(yaml.safe_dump(MODEL, allow_unicode=True, sort_keys=False), encoding="utf-8")
    model = compile_model(load_model(path))
    ref = simulate(model, method=method, backend="numpy")
    got = simulate(model, method=method, backend="kernel")
    for name, a in ref.data.items():
        scale = np.max(np.abs(a), axis=1, keepdims=True)
        assert np.all(np.abs(got.data[name] - a) <= 1e-12 * scale), name
        assert np.array_equal(a == 0, got.data[name] == 0), name


def test_table_rows_are_complete():
    for b in BUILTINS_TABLE:
        assert b.meaning and b.unit and (b.numpy or b.kind == "hidden"), b.name
        assert b.vensim or b.kind == "shift", b.name
        assert FUNCTIONS[b.name] is b
