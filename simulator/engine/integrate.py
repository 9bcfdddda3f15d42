"""Fixed-step integration (Euler, as Vensim; Heun; or RK4) of a compiled model over many runs at once.

Two backends give the same numbers: the compiled kernel (`engine.kernel`, C built by the
machine's compiler; the default when a compiler is found) and the numpy path (`numpy_code`,
the reference; every run of a batch at once, array by array). The time step is checked (and
made exact) by `timestep.time_step`, the same function the model loader and the command line
use.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from simulator.engine.c_parts import STAGE_SIDES, TS_ROWS
from simulator.engine.compile import CompiledModel
from simulator.engine.series import TimeSeries
from simulator.engine.stability import check_step
from simulator.engine.timestep import check_horizon, steps_per_save

#: Euler (one rate evaluation per step), Heun (two: the trapezoid of Euler's predictor, second
#: order) and classical RK4 (four)
METHODS = ("euler", "heun", "rk4")
#: rate evaluations per step of each method: one per stage
STAGES = {m: len(sides) for m, sides in STAGE_SIDES.items()}
#: "auto": the kernel if a C compiler is found, else numpy (after a one-line notice)
BACKENDS = ("auto", "kernel", "numpy")

Param = float | int | np.ndarray | TimeSeries


@dataclass
class Run:
    """Saved trajectories: `data[name]` is (n_runs, n_t, *sizes of its dims, in declared order);
    `dims[name]` names those dims, `elements[dim]` lists each dimension's elements."""

    times: np.ndarray
    data: dict[str, np.ndarray]
    dims: dict[str, tuple[str, ...]]
    elements: dict[str, list[str]]
    model_name: str
    method: str
    dt: float
    n_runs: int
    #: boundary flows of the model (+1 into the stocks, -1 out of them); for balance checks
    boundary_flows: dict[str, int] = field(default_factory=dict)


def simulate(
    model: CompiledModel,
    params: dict[str, Param] | None = None,
    n_runs: int = 1,
    *,
    dt: float | None = None,
    method: str | None = None,
    outputs: list[str] | None = None,
    start: float | None = None,
    stop: float | None = None,
    saveper: float | None = None,
    backend: str = "auto",
) -> Run:
    """Integrate `n_runs` parameter sets at once and save every `saveper` years.

    `dt`, `method` (euler, heun or rk4), `start`, `stop` and `saveper` default to the model's time
    block. `backend`: "kernel" (compiled; KernelError if no compiler), "numpy" (the
    reference), or "auto" (the kernel if it can be had, else numpy after a one-line notice).
    ValueError for a bad dt, horizon, method, backend, parameter or output name; StepTooLong (a
    ValueError) for a dt at which a delay of the model is unstable (`stability.check_step`)."""
    spec = model.spec
    method = spec.time.method if method is None else method
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, not {method!r}")
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {BACKENDS}, not {backend!r}")
    start = float(spec.time.start if start is None else start)
    stop = float(spec.time.stop if stop is None else stop)
    saveper = float(spec.time.saveper if saveper is None else saveper)
    n_save = check_horizon(start, stop, saveper) + 1
    save_every = steps_per_save(float(spec.time.dt if dt is None else dt), saveper)
    dt = saveper / save_every
    n_steps = (n_save - 1) * save_every

    names = model.variables if outputs is None else list(outputs)
    recordable = set(model.variables)
    unknown = [n for n in names if n not in recordable]
    if unknown:
        raise ValueError(f"unknown output(s): {unknown}")
    static, series = constants_at_start(model, params or {}, n_runs)
    delay_times = {d.constant: (series[d.constant].values if d.constant in series else static[d.constant])
                   for d in model.program.delays if d.constant is not None}
    check_step(model.program.delays, delay_times, dt, method)
    grid = (start, dt, n_steps, save_every, n_save, saveper)
    if backend != "numpy":
        from simulator.engine.kernel import KernelError, kernel_for, notice

        try:
            kernel = kernel_for(model, frozenset(series))
        except KernelError as exc:
            if backend == "kernel":
                raise
            notice(f"{exc}; running on the numpy path (same results, slower)")
        else:
            given = {n: static[n] for n in (params or {}) if n not in series}
            return _kernel_run(model, kernel, given, series, n_runs, grid, method, names)
    consts = _consts_at(model, static, series)
    data = {n: np.empty((n_runs, n_save) + model.shapes[n]) for n in names}
    stock_set = set(model.states)
    sides = STAGE_SIDES[method]

    with np.errstate(divide="ignore", invalid="ignore"):
        state = {k: np.broadcast_to(v, (n_runs,) + model.shapes[k]).astype(float, copy=True)
                 for k, v in model.init(start, consts(start), dt).items()}
        for step in range(n_steps + 1):
            t = start + step * dt
            d1, values = model.rates(t, consts(t), state, dt, sides[0])
            if step % save_every == 0:
                j = step // save_every
                for n in names:
                    data[n][:, j] = state[n] if n in stock_set else values[n]
            if step == n_steps:
                break
            if method == "euler":
                for k, x in state.items():  # in place: the saved values were copied above
                    x += dt * d1[k]
            elif method == "heun":
                state = _heun(model, consts, state, d1, t, dt)
            else:
                state = _rk4(model, consts, state, d1, t, dt)

    out = {n: model.declared(n, a, lead=2) for n, a in data.items()}
    return _run(model, out, grid, method, n_runs)


def _run(model: CompiledModel, data: dict[str, np.ndarray], grid: tuple, method: str, n_runs: int) -> Run:
    spec = model.spec
    start, dt, _, _, n_save, saveper = grid
    return Run(
        times=start + saveper * np.arange(n_save), data=data,
        dims={n: model.dims.get(n, ()) for n in data},
        elements={d: list(spec.dimensions[d].elements) for d in spec.dimensions},
        model_name=spec.name, method=method, dt=dt, n_runs=n_runs,
        boundary_flows=dict(model.boundary_flows),
    )


def _kernel_run(model: CompiledModel, kernel, given: dict[str, np.ndarray], series: dict[str, TimeSeries],
                n_runs: int, grid: tuple, method: str, names: list[str]) -> Run:
    """The run on the compiled kernel: constants as one default row plus the columns that vary
    by run (`given`: the constants set by the caller), time series tabulated at every step (RK4:
    at t, t + dt/2 and t + dt of every step), only `names` recorded."""
    start, dt, n_steps, save_every, n_save, _ = grid
    src = kernel.source
    defaults = model.defaults_key()
    flat = getattr(kernel, "p0", None)
    if flat is None or flat[0] is not defaults:  # the spec's defaults, flattened once per kernel and spec
        p0 = np.zeros(max(src.n_p, 1))
        for name, arr in defaults.items():
            if name in src.constants:
                off, width = src.constants[name]
                p0[off:off + width] = arr.reshape(-1)
        flat = kernel.p0 = (defaults, p0)
    P0 = flat[1].copy()
    varying, cols = [], []
    for name, arr in given.items():
        off, width = src.constants[name]
        flat = arr.reshape(arr.shape[0], -1)
        if flat.shape[0] == 1:
            P0[off:off + width] = flat[0]
        else:
            varying.append(np.broadcast_to(flat, (n_runs, width)))
            cols.extend(range(off, off + width))
    PV = np.concatenate(varying, axis=1) if varying else np.zeros((n_runs, 0))
    # the time series at every time a stage reads them, computed as the stage computes its time:
    # t (Euler); t and t + dt (Heun); t, t + dt/2 and t + dt (RK4), for t = start + step * dt
    rows = TS_ROWS[method]  # the kernel's table of them: engine.c_parts
    TS = np.zeros((rows * n_steps + 1, max(src.n_ts, 1)))
    if series:
        steps = start + np.arange(n_steps + 1) * dt
        offsets = {1: [0.0], 2: [0.0, dt], 3: [0.0, dt / 2, dt]}[rows]
        times = np.stack([steps + c for c in offsets], axis=1).reshape(-1)[:rows * n_steps + 1]
        for name, ts in series.items():
            off, width = src.series[name]
            values = model.internal(name, np.asarray(ts.values, dtype=float), lead=1).reshape(len(ts.values), -1)
            for j in range(width):
                TS[:, off + j] = np.interp(times, ts.years, values[:, j])
    ocol = np.full(len(src.recorded), -1, dtype=np.int64)
    where = {n: k for k, n in enumerate(src.recorded)}
    col = 0
    for n in names:
        ocol[where[n]] = col
        col += src.widths[n]
    out = np.empty((n_runs, n_save, col))
    kernel.run(P0, PV, np.asarray(cols, dtype=np.int64), TS, start, dt, n_steps, save_every, method, ocol, out)
    data, col = {}, 0
    for n in names:
        width = src.widths[n]
        data[n] = model.declared(n, out[:, :, col:col + width], lead=2)
        col += width
    return _run(model, data, grid, method, n_runs)


def _heun(model: CompiledModel, consts, y: dict, k1: dict, t: float, dt: float) -> dict:
    k2, _ = model.rates(t + dt, consts(t + dt), {k: y[k] + dt * k1[k] for k in y}, dt, STAGE_SIDES["heun"][1])
    return {k: y[k] + dt / 2 * (k1[k] + k2[k]) for k in y}


def _rk4(model: CompiledModel, consts, y: dict, k1: dict, t: float, dt: float) -> dict:
    h = dt / 2
    _, s2, s3, s4 = STAGE_SIDES["rk4"]
    k2, _ = model.rates(t + h, consts(t + h), {k: y[k] + h * k1[k] for k in y}, dt, s2)
    k3, _ = model.rates(t + h, consts(t + h), {k: y[k] + h * k2[k] for k in y}, dt, s3)
    k4, _ = model.rates(t + dt, consts(t + dt), {k: y[k] + dt * k3[k] for k in y}, dt, s4)
    return {k: y[k] + dt / 6 * (k1[k] + 2 * k2[k] + 2 * k3[k] + k4[k]) for k in y}


def constants_function(model: CompiledModel, params: dict[str, Param],
                       n_runs: int) -> Callable[[float], dict[str, np.ndarray]]:
    """consts(t): every constant as an internal array at time t (defaults, `params`, time series)."""
    static, series = constants_at_start(model, params, n_runs)
    return _consts_at(model, static, series)


def _consts_at(model: CompiledModel, static: dict[str, np.ndarray],
               series: dict[str, TimeSeries]) -> Callable[[float], dict[str, np.ndarray]]:
    if not series:
        return lambda t: static

    def consts(t: float) -> dict[str, np.ndarray]:
        c = dict(static)
        for name, ts in series.items():
            c[name] = model.internal(name, np.asarray(ts.at(t), dtype=float)[None])
        return c

    return consts


def constants_at_start(model: CompiledModel, params: dict[str, Param], n_runs: int):
    """Defaults overridden by `params`: internal arrays of shape (1 or n_runs, *shape), plus
    time series ({name: TimeSeries}, evaluated at each step), as the integrator builds them.

    A scalar constant takes a number or one per run (n_runs,); a subscripted one a number,
    an array over its dims (declared order), one such array per run (n_runs, *sizes), or the
    same flattened ((width,) or (n_runs, width)); any constant takes a TimeSeries whose values
    are (k,) or (k, *sizes)."""
    static = model.default_constants()
    series: dict[str, TimeSeries] = {}
    for name, value in params.items():
        if name not in static:
            raise ValueError(f"'{name}' is not a constant of model {model.spec.name}")
        if isinstance(value, TimeSeries):
            series[name] = value
            continue
        static[name] = _param_array(model, name, value, n_runs)
    return static, series


def _param_array(model: CompiledModel, name: str, value: Param, n_runs: int) -> np.ndarray:
    sizes = model.layout.sizes(model.dims[name])
    width = model.widths[name]
    arr = np.asarray(value, dtype=float)
    if arr.ndim == 0:
        return np.full((1,) + model.shapes[name], float(arr))
    if sizes and arr.shape in (sizes, (width,)):
        lead = arr.reshape((1,) + sizes)
    elif not sizes and arr.shape == (n_runs,):
        lead = arr.reshape(n_runs)
    elif sizes and arr.shape in ((n_runs,) + sizes, (n_runs, width)):
        lead = arr.reshape((n_runs,) + sizes)
    else:
        what = "element" if sizes else "run"
        raise ValueError(f"'{name}': shape {arr.shape} fits neither one value per {what} nor "
                         f"({n_runs}, {', '.join(map(str, sizes or (1,)))})")
    return model.internal(name, lead, lead=1)
