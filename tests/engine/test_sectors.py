"""Sectors: every element of the shipped model names one, and each sector run alone, with its
inputs from the other sectors held at a full run's values, reproduces that run exactly."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import element

from simulator.bundled import bundled_model_path
from simulator.engine.compile import compile_model
from simulator.engine.integrate import simulate
from simulator.engine.load import load_model
from simulator.engine.sectors import run_sector, sector_inputs, sector_members
from simulator.errors import InputError

SECTORS = ["context", "population", "hukou", "migration", "land", "services", "jobs"]


@pytest.fixture(scope="module")
def shipped():
    spec = load_model(bundled_model_path(), require_sectors=True)
    # inputs at every time step; Euler, since RK4 also reads them between steps
    full = simulate(compile_model(spec), saveper=spec.time.dt, method="euler")
    return spec, full


def test_every_element_of_the_shipped_model_has_a_sector(shipped):
    spec, _ = shipped
    assert spec.sectors() == SECTORS
    assert all(spec.element(n).sector in SECTORS for n in spec.all_names())


@pytest.mark.parametrize("sector", SECTORS)
def test_a_sector_alone_reproduces_the_full_run(shipped, sector):
    spec, full = shipped
    alone = run_sector(spec, sector, inputs_from=full)
    members = sector_members(spec, sector)
    assert sorted(alone.data) == sorted(members)
    for name in members:
        np.testing.assert_allclose(alone.data[name], full.data[name], rtol=1e-12, atol=0, err_msg=name)
    inputs = sector_inputs(spec, sector)
    assert not set(inputs) & set(members)
    # only the exogenous context (national series, time paths) reads nothing from the others
    assert bool(inputs) == (sector != "context")


def test_a_sector_alone_follows_its_inputs_not_the_model(shipped):
    """Held inputs really drive the sector: change one input's trajectory and the sector moves."""
    spec, full = shipped
    changed = type(full)(**{**full.__dict__, "data": dict(full.data)})
    changed.data["county_urban_population"] = full.data["county_urban_population"] * 1.1
    land = run_sector(spec, "land", inputs_from=changed)
    assert not np.allclose(land.data["land_per_urban_resident"], full.data["land_per_urban_resident"])
    np.testing.assert_allclose(land.data["land_per_urban_resident"][0, 0],
                               full.data["land_per_urban_resident"][0, 0] / 1.1, rtol=1e-12)


def test_unknown_sector_and_missing_inputs(shipped):
    spec, full = shipped
    with pytest.raises(ValueError, match="no stock, flow or auxiliary .* in sector 'lnd'"):
        run_sector(spec, "lnd", inputs_from=full)
    partial = simulate(compile_model(spec), outputs=["urbanization_rate"])
    with pytest.raises(ValueError, match="lacks the input"):
        run_sector(spec, "land", inputs_from=partial)


def test_sectors_are_optional_unless_required(write_model):
    model = {"stocks": {"s": element(initial=1, sector="a")}, "auxiliaries": {"y": element(equation="s")}}
    spec = load_model(write_model(model))
    assert spec.sectors() == ["a"]
    with pytest.raises(InputError, match=r"auxiliaries\.y\.sector: every element needs a sector \(a\)"):
        load_model(write_model(model), require_sectors=True)
