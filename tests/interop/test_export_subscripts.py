"""Export of a model by county x age (tests/data/county_age.yaml): Vensim and XMILE keep the
subscripts, and PySD runs both exports to within 1e-9 relative of urbsd on every variable,
element and saved year, with levers that vary over two dimensions and over time."""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import numpy as np
import pytest
import yaml

from pysd_compare import columns, max_relative_error
from simulator.engine.atomic import atomic_write_text
from simulator.engine.compile import compile_model
from simulator.engine.integrate import simulate
from simulator.interop.vensim import scenario_vensim, to_vensim
from simulator.interop.xmile import scenario_xmile, to_xmile
from simulator.scenario.resolve import load_scenario

DATA = Path(__file__).resolve().parents[1] / "data"
RTOL = 1e-9
#: PySD is slow on arrays (a DT 0.25 run of this toy to 2040 takes it 20-40 s): both sides run
#: at DT 1 to 2032 (the levers move until then)
DT = 1.0
STOP = 2032

LEVERS = {
    "name": "county_age_levers",
    "label": {"zh": "测试", "en": "test"},
    "model": str(DATA / "county_age.yaml"),
    "set": {
        "migration_rate": {2020: 0.02, 2030: 0.035},
        "county_pull": {2020: {"young": {"north": 0.8, "south": 1.0, "east": 0.9},
                               "working": {"north": 1.3, "south": 1.0, "east": 1.1},
                               "old": {"north": 0.3, "south": 0.2, "east": 0.4}},
                        2032: {"young": [1, 1, 1], "working": [1.5, 0.9, 1.2], "old": [0.3, 0.3, 0.3]}},
        "death_rate": [0.0012, 0.003, 0.05],
    },
}


@pytest.fixture(scope="module")
def scenario(tmp_path_factory):
    folder = tmp_path_factory.mktemp("county_age")
    (folder / "levers.yaml").write_text(yaml.safe_dump(LEVERS, allow_unicode=True), encoding="utf-8")
    return load_scenario(folder / "levers.yaml")


@pytest.fixture(scope="module")
def urbsd(scenario):
    return simulate(compile_model(scenario.spec), scenario.params, dt=DT, stop=STOP)


@pytest.mark.parametrize("fmt", ["vensim", "xmile"])
def test_county_by_age_export_agrees_with_pysd(scenario, urbsd, tmp_path, fmt):
    import pysd

    if fmt == "vensim":
        path = atomic_write_text(tmp_path / "toy.mdl", scenario_vensim(scenario, dt=DT))
    else:
        path = atomic_write_text(tmp_path / "toy.xmile", scenario_xmile(scenario, dt=DT, array_sum="pysd"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = pysd.read_vensim(str(path)) if fmt == "vensim" else pysd.read_xmile(str(path))
        frame = model.run(return_timestamps=list(urbsd.times), final_time=STOP)
    err, where = max_relative_error(urbsd, frame)
    assert err < RTOL, f"{fmt}: {where} differs by {err:.2e} relative"
    # the comparison covers every element of every variable, and the model moves
    assert len(list(columns(urbsd))) == 134
    assert urbsd.data["rural"][0, -1, 0, 0] != urbsd.data["rural"][0, 0, 0, 0]


def test_vensim_text_keeps_the_subscripts(scenario):
    spec = scenario.spec
    text = to_vensim(spec, {})
    assert "age:\n\tyoung, working, old\n" in text
    assert "rural[county, age] =\n\tINTEG(rural_births[county, age] + rural_ageing_in[county, age] - " in text
    # a table over two dims; a constant declared [age, county] keeps its order
    assert "initial_rural[county, age] =\n\t3000, 9000, 2000; 2500, 7000, 2600; 1800, 6000, 1500;" in text
    assert "county_pull[age, county] =\n\t0.8, 1, 0.9; 1.3, 1, 1.1; 0.3, 0.2, 0.4;" in text
    assert "initial_urban[county, age] =\n\t1500, 6000, 900; 1500, 6000, 900; 1500, 6000, 900;" in text
    # sums and means over a named dimension, selections
    assert "SUM(urban[county, age!]) / (SUM(urban[county, age!]) + SUM(rural[county, age!]))" in text
    assert "population_by_age[age] =\n\tSUM(rural[county!, age] + urban[county!, age])" in text
    assert "(SUM(urban_share[county!]) / ELMCOUNT(county))" in text
    assert "VMAX(urban_share[county!]) - VMIN(urban_share[county!])" in text
    assert "north_rural_workers =\n\trural[north, working]" in text
    # shift: one equation per age group, the first gets 0
    assert "rural_ageing_in[county, young] =\n\t0 ~~|" in text
    assert "rural_ageing_in[county, working] =\n\trural_ageing_out[county, young] ~~|" in text
    assert "rural_ageing_in[county, old] =\n\trural_ageing_out[county, working]\n\t~\tperson/year" in text
    # per-element equations: the default for the other elements, each written out
    assert "rural_births[county, young] =\n\tSUM(fertility_rate[age!] * rural[county, age!]) ~~|" in text
    assert "rural_births[county, working] =\n\t0 ~~|" in text
    assert "migration[east, old] =\n\t0.5 * rural[east, old] * migration_rate * perceived_pull[east, old]" in text
    assert "migration[north, old] =\n\trural[north, old] * migration_rate * perceived_pull[north, old] ~~|" in text


def test_xmile_text_keeps_the_subscripts(scenario):
    import xml.etree.ElementTree as ET

    ns = {"x": "http://docs.oasis-open.org/xmile/ns/XMILE/v1.0"}
    root = ET.fromstring(to_xmile(scenario.spec, scenario.params))
    assert root.find("x:header/x:options/x:uses_arrays", ns).get("maximum_dimensions") == "2"
    auxes = {a.get("name"): a for a in root.findall(".//x:aux", ns)}
    flows = {a.get("name"): a for a in root.findall(".//x:flow", ns)}
    assert [d.get("name") for d in auxes["county_pull"].findall("x:dimensions/x:dim", ns)] == ["age", "county"]
    assert auxes["population_by_age"].find("x:eqn", ns).text == "SUM(rural[*, age] + urban[*, age])"
    assert auxes["mean_urban_share"].find("x:eqn", ns).text == "(SUM(urban_share[*]) / 3)"
    assert auxes["urban_share_range"].find("x:eqn", ns).text == "MAX(urban_share[*]) - MIN(urban_share[*])"
    ageing = {e.get("subscript"): e.find("x:eqn", ns).text for e in flows["rural_ageing_in"].findall("x:element", ns)}
    assert len(ageing) == 9 and ageing["north,young"] == "0" and ageing["south,old"] == "rural_ageing_out[south, working]"
    series = [e.find("x:eqn", ns).text for e in auxes["county_pull"].findall("x:element", ns)]
    assert series[:2] == ["county_pull_series_young_north(TIME)", "county_pull_series_young_south(TIME)"]
    assert re.search(r"SUM\(fertility_rate\[\*\] \* rural\[north, \*\]\)", ET.tostring(root, encoding="unicode"))
