"""Running one sector of a model alone, with its inputs from the other sectors held fixed.

Every element of a model file may name its `sector:` (population, land, ...). To test or
study one sector in isolation, `run_sector(spec, sector, inputs_from=run)` runs only that
sector's stocks, flows and auxiliaries; every stock, flow or auxiliary of another sector
that the sector reads is replaced by its trajectory in `inputs_from` (a full run), read as
a time series. With `inputs_from` an Euler run saved at every time step (`simulate(...,
saveper=dt, method="euler")`), the sector run reproduces the full run's values of the sector
exactly; saved more sparsely, or with Heun or RK4 (whose later stages read the inputs at trial
states the full run never saves), the inputs are interpolated linearly between saved times.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from simulator.engine import equations
from simulator.engine.compile import compile_model
from simulator.engine.integrate import Run, simulate
from simulator.engine.modelfile import Constant, ModelSpec
from simulator.engine.series import TimeSeries


def sector_members(spec: ModelSpec, sector: str) -> list[str]:
    """The stocks, flows and auxiliaries of a sector, in file order; ValueError if none."""
    members = [n for table in (spec.stocks, spec.flows, spec.auxiliaries) for n, el in table.items()
               if el.sector == sector]
    if not members:
        raise ValueError(f"no stock, flow or auxiliary of model {spec.name} is in sector {sector!r} "
                         f"(sectors: {', '.join(spec.sectors()) or 'none declared'})")
    return members


def sector_inputs(spec: ModelSpec, sector: str) -> list[str]:
    """The stocks, flows and auxiliaries of other sectors that the sector reads (its inputs)."""
    members = set(sector_members(spec, sector))
    read: set[str] = set()
    for field, owner, node, _ in equations.equation_trees(spec):
        if owner in members:
            read |= equations.reads(node)
    for name in members & set(spec.stocks):
        read |= set(spec.stocks[name].inflows) | set(spec.stocks[name].outflows)
    dynamic = set(spec.stocks) | set(spec.flows) | set(spec.auxiliaries)
    return [n for n in spec.all_names() if n in read and n in dynamic and n not in members]


def sector_spec(spec: ModelSpec, sector: str) -> ModelSpec:
    """The model cut to one sector: its inputs become constants (set by `run_sector`)."""
    members = set(sector_members(spec, sector))
    inputs = sector_inputs(spec, sector)
    constants = dict(spec.constants)
    for name in inputs:
        el = spec.element(name)
        constants[name] = Constant(value=0.0, dims=list(el.dims), unit=el.unit, label=el.label,
                                   doc=f"input of sector {sector}, from a full run", sector=el.sector)
    return spec.model_copy(update={
        "name": f"{spec.name}:{sector}",
        "constants": constants,
        "stocks": {n: s for n, s in spec.stocks.items() if n in members},
        "flows": {n: f for n, f in spec.flows.items() if n in members},
        "auxiliaries": {n: a for n, a in spec.auxiliaries.items() if n in members},
        "loops": [],
    })


def run_sector(spec: ModelSpec, sector: str, *, inputs_from: Run, params: dict[str, Any] | None = None,
               index: int = 0, method: str | None = None) -> Run:
    """Run one sector alone; its inputs from the other sectors are the trajectories of
    `inputs_from` (run `index` of it), its constants those of the model with `params`.

    The run uses the times, dt and method of `inputs_from`. Returns a Run of the sector's
    stocks, flows and auxiliaries."""
    sub = sector_spec(spec, sector)
    times = np.asarray(inputs_from.times, dtype=float)
    missing = [n for n in sector_inputs(spec, sector) if n not in inputs_from.data]
    if missing:
        raise ValueError(f"inputs_from lacks the input(s) {missing} of sector {sector!r}: run the full model "
                         "recording every variable (outputs=None)")
    series = dict(params or {})
    for name in sector_inputs(spec, sector):
        series[name] = TimeSeries(times, np.asarray(inputs_from.data[name][index], dtype=float))
    model = compile_model(sub)
    saveper = float(times[1] - times[0]) if len(times) > 1 else float(spec.time.saveper)
    return simulate(model, series, dt=inputs_from.dt, method=method or inputs_from.method,
                    start=float(times[0]), stop=float(times[-1]), saveper=saveper)
