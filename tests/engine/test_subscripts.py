"""Subscripts over several named dimensions: the county x age toy model, ageing chains
against their closed forms, broadcasting by name, per-element equations, and one-line
errors for dimension mismatches."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from conftest import element

from simulator.analysis.results import timeseries_columns
from simulator.engine.compile import compile_model
from simulator.engine.integrate import simulate
from simulator.engine.load import load_model
from simulator.engine.series import TimeSeries
from simulator.errors import InputError

TOY = Path(__file__).resolve().parents[1] / "data" / "county_age.yaml"


@pytest.fixture(scope="module")
def toy():
    spec = load_model(TOY)
    model = compile_model(spec)
    return spec, model, simulate(model)


def build(write_model, model: dict, units: bool = False):
    return compile_model(load_model(write_model(model), units=units))


# --------------------------------------------------------------------------- the toy model


def test_toy_runs_with_declared_shapes_and_dims(toy):
    spec, _, run = toy
    assert run.data["rural"].shape == (1, 21, 3, 3)
    assert run.data["population_by_age"].shape == (1, 21, 3)
    assert run.data["urban_share"].shape == (1, 21, 3)
    assert run.data["total_population"].shape == (1, 21)
    assert run.dims["rural"] == ("county", "age") and run.elements["age"] == ["young", "working", "old"]
    assert np.all(np.isfinite(run.data["urban"])) and np.all(run.data["rural"] > 0)


def test_toy_initial_values_and_value_dims(toy):
    _, _, run = toy
    np.testing.assert_array_equal(run.data["rural"][0, 0], [[3000, 9000, 2000], [2500, 7000, 2600], [1800, 6000, 1500]])
    np.testing.assert_array_equal(run.data["urban"][0, 0], [[1500, 6000, 900]] * 3)  # value over age only


def test_toy_first_euler_step_by_hand(toy):
    """One Euler step of every stock element, computed here with plain numpy."""
    _, _, run = toy
    dt = 0.25
    r0, u0 = run.data["rural"][0, 0], run.data["urban"][0, 0]
    width = np.array([15, 50, 30.0])
    fert = np.array([0, 0.03, 0])
    death = np.array([0.001, 0.003, 0.045])
    pull0 = np.array([[0.8, 1.3, 0.3], [1.0, 1.0, 0.2], [0.9, 1.1, 0.4]])  # county x age of the [age, county] table
    share = u0.sum(1) / (u0.sum(1) + r0.sum(1))
    crowd = np.interp(share, [0, 0.5, 1], [1.2, 1.0, 0.4])
    pull = pull0 * crowd[:, None]
    mig = r0 * 0.02 * pull
    mig[2, 2] *= 0.5  # the per-element equation for (east, old)

    def step(x, extra):
        births = np.zeros_like(x)
        births[:, 0] = (fert * x).sum(1)
        out = x / width
        out[:, 2] = 0
        into = np.zeros_like(x)
        into[:, 1:] = out[:, :-1]
        return x + dt * (births + into - x * death - out + extra)

    # saved yearly: compare the flows at t0, which the run records, and the first step via the flows
    np.testing.assert_allclose(run.data["migration"][0, 0], mig, rtol=1e-13)
    np.testing.assert_allclose(run.data["pull"][0, 0], pull, rtol=1e-13)
    np.testing.assert_allclose(run.data["perceived_pull"][0, 0], pull, rtol=1e-13)  # smooth starts at its input
    fine = simulate(compile_model(load_model(TOY)), saveper=dt, stop=2021)
    np.testing.assert_allclose(fine.data["rural"][0, 1], step(r0, -mig), rtol=1e-13)
    np.testing.assert_allclose(fine.data["urban"][0, 1], step(u0, mig), rtol=1e-13)


def test_toy_sums_means_selections_and_births(toy):
    _, _, run = toy
    rural, urban = run.data["rural"][0], run.data["urban"][0]
    np.testing.assert_allclose(run.data["population_by_age"][0], (rural + urban).sum(axis=1), rtol=1e-14)
    np.testing.assert_allclose(run.data["total_population"][0], (rural + urban).sum(axis=(1, 2)), rtol=1e-14)
    share = run.data["urban_share"][0]
    np.testing.assert_allclose(run.data["mean_urban_share"][0], share.mean(axis=1), rtol=1e-14)
    np.testing.assert_allclose(run.data["urban_share_range"][0], share.max(1) - share.min(1), rtol=1e-12)
    np.testing.assert_array_equal(run.data["north_rural_workers"][0], rural[:, 0, 1])
    np.testing.assert_allclose(run.data["old_age_share"][0], (rural + urban)[:, :, 2] / (rural + urban).sum(2))
    births = run.data["rural_births"][0]
    np.testing.assert_allclose(births[:, :, 0], 0.03 * rural[:, :, 1], rtol=1e-14)  # births go to the first group
    assert np.all(births[:, :, 1:] == 0)
    ageing_in, ageing_out = run.data["rural_ageing_in"][0], run.data["rural_ageing_out"][0]
    assert np.all(ageing_in[:, :, 0] == 0) and np.all(ageing_out[:, :, 2] == 0)  # open last group keeps its survivors
    np.testing.assert_array_equal(ageing_in[:, :, 1:], ageing_out[:, :, :-1])


def test_toy_migration_moves_people_between_residence_stocks(toy):
    """Migration leaves rural and enters urban: the total changes only by births and deaths."""
    _, model, _ = toy
    fine = simulate(model, saveper=0.25)
    total = (fine.data["rural"] + fine.data["urban"]).sum(axis=(2, 3))[0]
    net = (fine.data["rural_births"] + fine.data["urban_births"] - fine.data["rural_deaths"]
           - fine.data["urban_deaths"]).sum(axis=(2, 3))[0]
    np.testing.assert_allclose(np.diff(total), 0.25 * net[:-1], rtol=1e-12)
    assert fine.data["migration"][0, -1].sum() > 0


def test_csv_columns_are_named_with_both_elements(toy):
    from simulator.outputs.labels import column_label

    spec, _, run = toy
    cols = timeseries_columns(run)
    assert "rural[north,young]" in cols and "rural[east,old]" in cols and "population_by_age[working]" in cols
    np.testing.assert_array_equal(cols["rural[south,working]"], run.data["rural"][0, :, 1, 1])
    assert column_label(spec, "rural[north,young]", "zh") == "农村人口（北县，0—14岁）"
    assert column_label(spec, "rural[north,young]", "en") == "Rural residents (North, 0-14)"


def test_excel_sheet_of_a_two_dimensional_run(toy):
    import io

    import pandas as pd

    from simulator.outputs.excel import run_workbook

    spec, _, run = toy
    cols = timeseries_columns(run)
    book = pd.read_excel(io.BytesIO(run_workbook(spec, cols, {"time": {"stop": 2040}}, "en")), sheet_name=None,
                         header=None, engine="openpyxl")
    sheet = next(iter(book.values()))
    j = list(sheet.iloc[2]).index("urban[east,old]")
    assert sheet.iloc[0, j] == "Urban residents (East, 65+)" and sheet.iloc[1, j] == "persons"
    np.testing.assert_allclose(sheet.iloc[3:, j].astype(float), run.data["urban"][0, :, 2, 2])


def test_delay3_of_a_subscripted_input_starts_at_it_and_keeps_its_dims(toy):
    _, model, run = toy
    births = (run.data["rural_births"] + run.data["urban_births"]).sum(axis=3)[0]
    assert run.data["reported_births"].shape == (1, 21, 3)
    np.testing.assert_allclose(run.data["reported_births"][0, 0], births[0], rtol=1e-14)
    assert [s for s in model.states if s.startswith("__delay3")] == [f"__delay3_reported_births_{i}" for i in (1, 2, 3)]
    assert model.shapes["__delay3_reported_births_1"] == (3, 1)


@pytest.mark.parametrize("value,field,reason", [
    ({"young": [1, 2]}, "set.county_pull", r"no value for working, old"),
    ({"young": [1, 2], "working": [1, 1, 1], "old": [1, 1, 1]}, "set.county_pull.young", r"needs 3 values"),
    ({"youth": [1, 1, 1], "working": [1, 1, 1], "old": [1, 1, 1]}, "set.county_pull.youth",
     r"unknown element of 'age' \(did you mean 'young'\?\)"),
    ({2025: {"young": [1, 1, 1], "working": [1, 1, "x"], "old": [1, 1, 1]}}, "set.county_pull.2025.working.east",
     r"expected a number"),
    ([[1, 1, 1], [1, 1, 1], [1, 1, -1]], "set.death_rate", None),
])
def test_levers_over_two_dimensions_give_one_line_errors(tmp_path, value, field, reason):
    import yaml

    from simulator.scenario.resolve import load_scenario

    name = "death_rate" if field == "set.death_rate" else "county_pull"
    raw = {"name": "s", "model": str(TOY), "set": {name: value}}
    (tmp_path / "s.yaml").write_text(yaml.safe_dump(raw), encoding="utf-8")
    with pytest.raises(InputError) as info:
        load_scenario(tmp_path / "s.yaml")
    err = info.value
    assert "\n" not in str(err)
    if reason is None:  # a list of lists for a one-dimensional constant
        assert err.field == "set.death_rate.young" and "expected a number" in err.reason
        return
    assert err.field == field, str(err)
    assert __import__("re").search(reason, err.reason), err.reason


def test_levers_over_two_dimensions_resolve_and_are_bounded(tmp_path):
    import yaml

    from simulator.scenario.resolve import load_scenario

    raw = {"name": "s", "model": str(TOY), "set": {
        "county_pull": {"young": {"north": 2, "south": 2, "east": 2}, "working": [1, 1, 1], "old": [0, 0, 0]},
        "fertility_rate": {2020: [0, 0.03, 0], 2030: [0, 0.5, 0]}}}
    (tmp_path / "s.yaml").write_text(yaml.safe_dump(raw), encoding="utf-8")
    with pytest.raises(InputError, match=r"set\.fertility_rate\.2030\.working: 0\.5 is outside the bounds"):
        load_scenario(tmp_path / "s.yaml")
    raw["set"]["fertility_rate"] = {2020: [0, 0.03, 0], 2030: [0, 0.05, 0]}
    (tmp_path / "s.yaml").write_text(yaml.safe_dump(raw), encoding="utf-8")
    sc = load_scenario(tmp_path / "s.yaml")
    np.testing.assert_array_equal(sc.params["county_pull"], [[2, 2, 2], [1, 1, 1], [0, 0, 0]])
    assert sc.params["fertility_rate"].values.shape == (2, 3)
    assert sc.resolved["set"]["county_pull"]["young"] == {"north": 2.0, "south": 2.0, "east": 2.0}
    run = simulate(compile_model(sc.spec), sc.params)
    assert np.all(run.data["migration"][0, 0, :, 2] == 0)  # no pull for the old


def test_multi_dimensional_constant_parameters_and_levers(toy):
    spec, model, base = toy
    # one array over the declared dims [age, county], for every run; and one per run
    pull = np.full((3, 3), 1.0)
    run = simulate(model, {"county_pull": pull})
    assert not np.allclose(run.data["rural"], base.data["rural"])
    two = simulate(model, {"county_pull": np.stack([pull, 2 * pull]), "migration_rate": [0.02, 0.02]}, n_runs=2)
    np.testing.assert_array_equal(two.data["rural"][0], run.data["rural"][0])
    # a time series over two dims, given in declared order
    series = TimeSeries(np.array([2020.0, 2040.0]), np.stack([pull, 3 * pull]))
    ts = simulate(model, {"county_pull": series})
    np.testing.assert_allclose(ts.data["pull"][0, 0], run.data["pull"][0, 0], rtol=1e-14)
    crowd = np.interp(ts.data["urban_share"][0, -1], [0, 0.5, 1], [1.2, 1.0, 0.4])
    np.testing.assert_allclose(ts.data["pull"][0, -1], 3 * np.repeat(crowd[:, None], 3, axis=1), rtol=1e-14)
    with pytest.raises(ValueError, match="shape"):
        simulate(model, {"county_pull": np.ones(4)})


# --------------------------------------------------------------------------- broadcasting by name


def test_broadcasting_by_name_whatever_the_declaration_order(write_model):
    """[age, county] times [county, age], with 2 counties and 3 ages: aligned by name."""
    a = np.arange(1.0, 7.0).reshape(2, 3)  # county x age
    model = build(write_model, {
        "dimensions": {"county": {"elements": ["c1", "c2"]}, "age": {"elements": ["y", "m", "o"], "ordered": True}},
        "constants": {
            "by_county_age": element(dims=["county", "age"], value=a.tolist()),
            "by_age_county": element(dims=["age", "county"], value=(10 * a.T).tolist()),
            "by_age": element(dims=["age"], value=[1, 2, 3]),
            "by_county": element(dims=["county"], value=[10, 20]),
        },
        "stocks": {"s": element(initial=0, inflows=[])},
        "auxiliaries": {
            "p": element(dims=["county", "age"], equation="by_age_county * by_county_age"),
            "q": element(dims=["age", "county"], equation="by_county_age * by_age_county"),
            "outer": element(dims=["age", "county"], equation="by_county * by_age"),
            "from_scalar": element(dims=["county", "age"], equation="2"),
        },
    })
    run = simulate(model)
    np.testing.assert_array_equal(run.data["p"][0, 0], 10 * a * a)
    np.testing.assert_array_equal(run.data["q"][0, 0], (10 * a * a).T)  # declared order [age, county]
    np.testing.assert_array_equal(run.data["outer"][0, 0], np.outer([1, 2, 3], [10, 20]))
    np.testing.assert_array_equal(run.data["from_scalar"][0, 0], np.full((2, 3), 2.0))


# --------------------------------------------------------------------------- ageing chains


def chain(write_model, inflow: float, death: list[float], width: list[float], initial: list[float], stop=200):
    n = len(death)
    ages = [f"g{i}" for i in range(n)]
    return build(write_model, {
        "time": {"start": 0, "stop": stop, "dt": 0.25, "saveper": 1},
        "dimensions": {"age": {"elements": ages, "ordered": True}},
        "constants": {
            "inflow": element(value=inflow), "death": element(dims=["age"], value=death),
            "width": element(dims=["age"], value=width), "x0": element(dims=["age"], value=initial),
        },
        "stocks": {"x": element(dims=["age"], initial="x0", inflows=["births", "ageing_in"], outflows=["deaths", "ageing_out"])},
        "flows": {
            "births": element(dims=["age"], equation=0, elements={"g0": "inflow"}),
            "deaths": element(dims=["age"], equation="x * death"),
            "ageing_out": element(dims=["age"], equation="x / width", elements={ages[-1]: 0}),
            "ageing_in": element(dims=["age"], equation="shift(ageing_out, age)"),
        },
    })


def test_ageing_chain_reaches_its_closed_form_steady_state(write_model):
    """Constant inflow F into the first stage, exits d_i and ageing 1/w_i from each, an open last stage:
    x_0 = F / (d_0 + 1/w_0), x_i = (x_{i-1} / w_{i-1}) / (d_i + 1/w_i), x_last = (x_{n-2}/w_{n-2}) / d_last."""
    death, width, inflow = [0.05, 0.1, 0.2, 0.5], [2.0, 4.0, 5.0, 1.0], 1000.0
    run = simulate(chain(write_model, inflow, death, width, [0, 0, 0, 0]))
    expected = []
    prev = inflow
    for i, (d, w) in enumerate(zip(death, width)):
        last = i == len(death) - 1
        x = prev / (d + (0 if last else 1 / w))
        expected.append(x)
        prev = x / w
    np.testing.assert_allclose(run.data["x"][0, -1], expected, rtol=1e-9)
    assert not np.allclose(run.data["x"][0, 10], expected, rtol=1e-3)  # it started from zero


def test_ageing_chain_without_births_decays_as_the_product_of_survival(write_model):
    """No inflow: Euler multiplies the state by I + dt M every step (M the chain's rates); with one
    death rate for every stage the total is N0 (1 - d dt)^k, the first stage x0 (1 - dt (d + 1/w))^k."""
    d, dt = 0.03, 0.25
    width = [4.0, 8.0, 1.0]
    x0 = np.array([500.0, 300.0, 200.0])
    run = simulate(chain(write_model, 0.0, [d, d, d], width, x0.tolist(), stop=60))
    k = run.times / dt
    np.testing.assert_allclose(run.data["x"][0].sum(axis=1), x0.sum() * (1 - d * dt) ** k, rtol=1e-12)
    np.testing.assert_allclose(run.data["x"][0, :, 0], x0[0] * (1 - dt * (d + 1 / width[0])) ** k, rtol=1e-12)
    step = np.eye(3) + dt * np.array([[-d - 1 / 4, 0, 0], [1 / 4, -d - 1 / 8, 0], [0, 1 / 8, -d]])
    for j in (1, 20, 60):
        np.testing.assert_allclose(run.data["x"][0, j], np.linalg.matrix_power(step, 4 * j) @ x0, rtol=1e-12)


# --------------------------------------------------------------------------- errors


def two_dims(**aux) -> dict:
    """county x age (the model files list dimensions in sorted order: age, then county)."""
    return {
        "dimensions": {"county": {"elements": ["c1", "c2"]}, "age": {"elements": ["y", "o"], "ordered": True}},
        "constants": {"ca": element(dims=["county", "age"], value=1), "a": element(dims=["age"], value=[1, 2]),
                      "c": element(dims=["county"], value=[1, 2])},
        "stocks": {"s": element(initial=0, inflows=[])},
        "auxiliaries": aux,
    }


@pytest.mark.parametrize("aux,field,pattern", [
    (element(dims=["county"], equation="ca * 2"), "auxiliaries.x.equation",
     r"the equation has dims \[county, age\] but 'x' has \[county\]; use sum\(\.\.\., age\) or x\[element\] in 'ca \* 2'"),
    (element(equation="c * a"), "auxiliaries.x.equation", r"the equation has dims \[age, county\] but 'x' has \[\]"),
    (element(equation="sum(ca)"), "auxiliaries.x.equation", r"'ca' has dims \[county, age\]: say which to sum over"),
    (element(dims=["county"], equation="sum(c, age)"), "auxiliaries.x.equation", r"sum over 'age', but 'c' has dims \[county\]"),
    (element(dims=["county", "age"], equation="shift(ca, county)"), "auxiliaries.x.equation",
     r"'county' is not ordered; add 'ordered: true'"),
    (element(dims=["county"], equation="shift(c, age)"), "auxiliaries.x.equation", r"shift along 'age', but 'c' has dims \[county\]"),
    (element(dims=["county"], equation="ca[yy]"), "auxiliaries.x.equation", r"'yy' is not an element of \[county, age\] \(did you mean 'y'\?\)"),
    (element(dims=["age"], equation="a[c1]"), "auxiliaries.x.equation", r"'c1' is an element of 'county', which 'a' does not have"),
    (element(equation="ca[c1, c2]"), "auxiliaries.x.equation", r"two elements of 'county'"),
    (element(equation="sum(c, ages)"), "auxiliaries.x.equation", r"the second argument of sum must be a dimension name \(age, county\), not 'ages'"),
    (element(equation="age"), "auxiliaries.x.equation", r"'age' is a dimension"),
    (element(equation="c1"), "auxiliaries.x.equation", r"'c1' is an element of 'county'; select it with x\[c1\]"),
    (element(dims=["county", "age"], equation="ca", elements={"o": "c"}), "auxiliaries.x.elements.o", None),
    (element(dims=["county", "age"], equation="ca", elements={"o": "ca"}), "auxiliaries.x.elements.o",
     r"the equation has dims \[county, age\] but 'x' at o has \[county\]"),
    (element(dims=["county", "age"], equation="ca", elements={"zz": "1"}), "auxiliaries.x.elements.zz",
     r"'zz' is not an element of \['county', 'age'\]|'zz' is not an element of \[county, age\]"),
    (element(dims=["county", "age"], equation="ca", elements={"c1": "1", "o": "2"}), "auxiliaries.x.elements.o",
     r"overlaps 'c1' and is as specific"),
    (element(dims=["county", "age"], equation="ca", elements={"c1, c2": "1"}), "auxiliaries.x.elements.c1, c2",
     r"two elements of 'county' in one key"),
    (element(equation="1", elements={"c1": "1"}), "auxiliaries.x.elements", r"'x' has no dims"),
    (element(dims=["county", "county"], equation="1"), "auxiliaries.x.dims", r"a dimension is listed twice"),
])
def test_dimension_errors_are_one_line_naming_the_element_and_both_dim_lists(write_model, aux, field, pattern):
    path = write_model(two_dims(x=aux))
    if pattern is None:  # a valid per-element equation: the [county] value fills the slice at o
        run = simulate(compile_model(load_model(path, units=False)))
        np.testing.assert_array_equal(run.data["x"][0, 0], [[1, 1], [1, 2]])
        return
    with pytest.raises(InputError) as info:
        compile_model(load_model(path, units=False))
    err = info.value
    assert err.field == field and "\n" not in str(err), str(err)
    assert __import__("re").search(pattern, err.reason), err.reason


def test_more_specific_element_equations_win(write_model):
    aux = element(dims=["county", "age"], equation="0", elements={"o": "1", "c2, o": "2", "c1": "3"})
    with pytest.raises(InputError, match="overlaps"):  # c1 and o are equally specific and meet at (c1, o)
        compile_model(load_model(write_model(two_dims(x=aux)), units=False))
    aux = element(dims=["county", "age"], equation="0", elements={"o": "1", "c2, o": "2", "c1, y": "3"})
    run = simulate(compile_model(load_model(write_model(two_dims(x=aux)), units=False)))
    np.testing.assert_array_equal(run.data["x"][0, 0], [[3, 1], [0, 2]])


@pytest.mark.parametrize("dims,reason", [
    ({"county": {"elements": ["aa", "aa"]}}, r"'aa' is twice in this dimension"),
    ({"county": {"elements": ["aa"]}, "age": {"elements": ["aa"]}}, r"'aa' is also an element of 'age'; element names are unique"),
    ({"county": {"elements": ["a~b"]}}, r"is not a plain name"),
    ({"county": {"elements": ["a|b"]}}, r"is not a plain name"),
    ({"county": {"elements": ["<x>"]}}, r"is not a plain name"),
    ({"county": {"elements": ["it's"]}}, r"is not a plain name"),
    ({"county": {"elements": ["Kongtong"]}}, r"is not a plain name"),
    ({"county": {"elements": ["a__b"]}}, r"is not a plain name"),
    ({"county": {"elements": ["age"]}, "age": {"elements": ["y"]}}, r"'age' is also the name of a dimension"),
    ({"bad-dim": {"elements": ["y"]}}, r"dimension names are lower-case"),
    ({"county": {"elements": ["sum"]}}, r"is not a plain name"),
])
def test_dimension_and_element_names_are_refused_at_load(write_model, dims, reason):
    with pytest.raises(InputError) as info:
        load_model(write_model({"dimensions": dims, "stocks": {"s": element(initial=0)}}), units=False)
    assert __import__("re").search(reason, info.value.reason), info.value.reason
    assert info.value.field.startswith("dimensions.")


def test_units_are_checked_per_element_equation(write_model):
    model = two_dims(x=element(dims=["county", "age"], unit="person", equation="ca * p",
                               elements={"o": "c * p * one_year"}))
    model["constants"].update({"p": element(value=1, unit="person"), "one_year": element(value=1, unit="year")})
    with pytest.raises(InputError) as info:
        load_model(write_model(model))
    assert info.value.field == "auxiliaries.x.elements.o"
    assert "the equation at o of 'x' gives person*year but 'x' is declared person" in info.value.reason
    model["auxiliaries"]["x"]["elements"]["o"] = "c * p"
    load_model(write_model(model))
