"""Fixed-step integration (Euler, as Vensim; or RK4) of a compiled model over many runs at once."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from simulator.engine.compile import CompiledModel
from simulator.engine.series import TimeSeries

METHODS = ("euler", "rk4")

Param = float | int | np.ndarray | TimeSeries


@dataclass
class Run:
    """Saved trajectories: `data[name]` is (n_runs, n_t) or (n_runs, n_t, n_elements)."""

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
    method: str = "euler",
    outputs: list[str] | None = None,
    start: float | None = None,
    stop: float | None = None,
    saveper: float | None = None,
) -> Run:
    """Integrate `n_runs` parameter sets at once and save every `saveper` years."""
    spec = model.spec
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, not {method!r}")
    dt = float(spec.time.dt if dt is None else dt)
    start = float(spec.time.start if start is None else start)
    stop = float(spec.time.stop if stop is None else stop)
    saveper = float(spec.time.saveper if saveper is None else saveper)
    if dt <= 0 or not _whole(saveper / dt) or not _whole((stop - start) / saveper):
        raise ValueError(f"dt={dt} must divide saveper={saveper}, which must divide the run {start}..{stop}")
    n_steps = round((stop - start) / dt)
    save_every = round(saveper / dt)

    static, series = constants_at_start(model, params or {}, n_runs)
    names = model.variables if outputs is None else list(outputs)
    unknown = [n for n in names if n not in model.widths or n.startswith("__")]
    if unknown:
        raise ValueError(f"unknown output(s): {unknown}")

    def consts(t: float) -> dict[str, np.ndarray]:
        if not series:
            return static
        c = dict(static)
        for name, ts in series.items():
            c[name] = np.asarray(ts.at(t), dtype=float).reshape(1, -1)
        return c

    n_save = n_steps // save_every + 1
    data = {n: np.empty((n_runs, n_save, model.widths[n])) for n in names}
    stock_set = set(model.states)

    with np.errstate(divide="ignore", invalid="ignore"):
        state = {k: np.broadcast_to(v, (n_runs, model.widths[k])).astype(float, copy=True)
                 for k, v in model.init(start, consts(start), dt).items()}
        for step in range(n_steps + 1):
            t = start + step * dt
            d1, values = model.rates(t, consts(t), state, dt)
            if step % save_every == 0:
                j = step // save_every
                for n in names:
                    data[n][:, j, :] = state[n] if n in stock_set else values[n]
            if step == n_steps:
                break
            if method == "euler":
                for k, x in state.items():  # in place: the saved values were copied above
                    x += dt * d1[k]
            else:
                state = _rk4(model, consts, state, d1, t, dt)

    out = {n: (a[:, :, 0] if not model.dims.get(n) else a) for n, a in data.items()}
    return Run(
        times=start + saveper * np.arange(n_save), data=out,
        dims={n: model.dims.get(n, ()) for n in names},
        elements={d: list(spec.dimensions[d].elements) for d in spec.dimensions},
        model_name=spec.name, method=method, dt=dt, n_runs=n_runs,
        boundary_flows=dict(model.boundary_flows),
    )


def _rk4(model: CompiledModel, consts, y: dict, k1: dict, t: float, dt: float) -> dict:
    h = dt / 2
    k2, _ = model.rates(t + h, consts(t + h), {k: y[k] + h * k1[k] for k in y}, dt)
    k3, _ = model.rates(t + h, consts(t + h), {k: y[k] + h * k2[k] for k in y}, dt)
    k4, _ = model.rates(t + dt, consts(t + dt), {k: y[k] + dt * k3[k] for k in y}, dt)
    return {k: y[k] + dt / 6 * (k1[k] + 2 * k2[k] + 2 * k3[k] + k4[k]) for k in y}


def _whole(x: float) -> bool:
    return abs(x - round(x)) < 1e-9 and round(x) > 0


def constants_at_start(model: CompiledModel, params: dict[str, Param], n_runs: int):
    """Defaults overridden by `params`: arrays of shape (1 or n_runs, width), plus time series
    ({name: TimeSeries}, evaluated at each step), as the integrator builds them."""
    static = model.default_constants()
    series: dict[str, TimeSeries] = {}
    for name, value in params.items():
        if name not in static:
            raise ValueError(f"'{name}' is not a constant of model {model.spec.name}")
        width = model.widths[name]
        subscripted = bool(model.dims[name])
        if isinstance(value, TimeSeries):
            series[name] = value
            continue
        arr = np.asarray(value, dtype=float)
        if arr.ndim == 0:
            arr = np.full((1, width), float(arr))
        elif arr.ndim == 1 and subscripted and arr.shape[0] == width:
            arr = arr.reshape(1, width)
        elif arr.ndim == 1 and not subscripted and arr.shape[0] == n_runs:
            arr = arr.reshape(n_runs, 1)
        elif arr.ndim == 2 and arr.shape == (n_runs, width):
            pass
        else:
            raise ValueError(f"'{name}': shape {arr.shape} fits neither one value per "
                             f"{'element' if subscripted else 'run'} nor ({n_runs}, {width})")
        static[name] = arr
    return static, series
