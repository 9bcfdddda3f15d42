"""Content of the Pingliang model (models/pingliang.yaml, version 2): the 2010 start, the cohort
chains against their closed forms, conservation by age and county, and the model's documentation.

The 2010 figures come from data/observed.csv (6th census) and data/history.csv; the demographic
schedules from simulator/analysis/schedules.py (docs/model-estimates.md).
"""

from __future__ import annotations

import ast
import re

import numpy as np
import pytest
from scipy.linalg import expm

from simulator.bundled import bundled_model_path
from simulator.engine.compile import compile_model
from simulator.engine.integrate import simulate
from simulator.engine.load import load_model

COUNTIES = ["kongtong", "huating", "jingchuan", "lingtai", "chongxin", "zhuanglang", "jingning"]
AGES = ["a0_14", "a15_29", "a30_44", "a45_59", "a60_64", "a65_74", "a75p"]
# 6th census (data/observed.csv rows 2010,*): city residents and Kongtong's urban residents
RESIDENTS_2010 = 2_068_033
KONGTONG_URBAN_2010 = 248_421
PERSON_STOCKS = ["rural_residents", "urban_hukou_residents", "urban_migrant_residents",
                 "outmigrants_rural_hukou", "outmigrants_urban_hukou"]
#: every rate that moves people between states, counties or out of the registry
MIGRATION_OFF = {"rural_to_town_rate": 0.0, "central_city_migration_rate": 0.0, "reclassification_rate": 0.0,
                 "out_migration_rate": 0.0, "return_migration_rate": 0.0, "max_hukou_conversion_rate": 0.0,
                 "hukou_transfer_out_rate_rural": 0.0, "hukou_transfer_out_rate_urban": 0.0}


@pytest.fixture(scope="module")
def spec():
    return load_model(bundled_model_path())


@pytest.fixture(scope="module")
def model(spec):
    return compile_model(spec)


@pytest.fixture(scope="module")
def defaults(model):
    return simulate(model, {})


def const(spec, name):
    """A constant's value as an array in declared element order (a float if scalar)."""
    c = spec.constants[name]
    if not c.dims:
        return float(c.value)
    if len(c.dims) == 1:
        return np.array([c.value[e] for e in spec.elements(c.dims[0])], dtype=float)
    return np.array([[c.value[a][b] for b in spec.elements(c.dims[1])] for a in spec.elements(c.dims[0])], dtype=float)


# ----------------------------------------------------------------------------- structure


def test_one_history_from_the_2010_census_to_2035(spec, defaults):
    assert (spec.time.start, spec.time.stop, spec.time.saveper) == (2010, 2035, 1)
    assert list(defaults.times) == list(range(2010, 2036))
    assert spec.elements("county") == COUNTIES and spec.elements("age") == AGES
    assert spec.dimensions["age"].ordered
    for stock in PERSON_STOCKS:
        assert tuple(spec.stocks[stock].dims) == ("county", "age")


def test_every_element_belongs_to_a_sector(spec):
    sectors = set()
    for name in spec.all_names():
        sector = spec.element(name).sector
        assert sector, name
        sectors.add(sector)
    assert {"population", "migration", "hukou", "land", "services", "jobs", "context"} <= sectors


# ----------------------------------------------------------------------------- the 2010 start


def test_2010_residents_are_the_census_counts(spec, defaults):
    residents = defaults.data["county_resident_population"][0, 0]
    np.testing.assert_allclose(residents, const(spec, "initial_residents_by_county"), rtol=1e-12)
    assert residents.sum() == pytest.approx(RESIDENTS_2010, abs=1e-6)
    # Kongtong's urban residents are its census count; the city's urban share is the constant
    urban = defaults.data["county_urban_population"][0, 0]
    assert urban[0] == pytest.approx(KONGTONG_URBAN_2010, abs=1e-6)
    assert urban.sum() / RESIDENTS_2010 == pytest.approx(const(spec, "initial_urban_share"), rel=1e-12)
    # the hukou population is the constant (residents plus the people away)
    assert defaults.data["hukou_population"][0, 0] == pytest.approx(const(spec, "initial_hukou_population"), rel=1e-12)


def test_2010_age_structure_has_the_broad_shares_and_sums_to_one(spec, defaults):
    shares = defaults.data["initial_age_share"][0, 0]
    assert shares.sum() == pytest.approx(1.0, abs=1e-12)
    assert shares[0] == pytest.approx(const(spec, "initial_share_aged_0_14"))
    assert shares[4] == pytest.approx(const(spec, "initial_share_aged_60_64"))
    assert shares[5:].sum() == pytest.approx(const(spec, "initial_share_aged_65_plus"))
    assert defaults.data["share_aged_65_plus"][0, 0] == pytest.approx(const(spec, "initial_share_aged_65_plus"))


def test_2010_urban_split_keeps_kongtong_and_weights_the_rest(spec, defaults):
    urban = defaults.data["county_urban_population"][0, 0]
    weights = const(spec, "urban_split_weight")
    rest = urban[1:] / urban[1:].sum()
    np.testing.assert_allclose(rest, weights[1:] / weights[1:].sum(), rtol=1e-12)


# ----------------------------------------------------------------------------- cohort chains


def leslie_matrix(spec, tfr: float, fertility_factor: float) -> np.ndarray:
    """The continuous-time cohort matrix of one county and state, built from the model's constants:
    births into 0-14 from every group, ageing at 1/width (none out of 75+), deaths by age."""
    width = const(spec, "age_group_width")
    births = tfr * const(spec, "fertility_age_pattern") / width * const(spec, "female_share") * fertility_factor
    deaths = const(spec, "standard_death_rate") * const(spec, "mortality_level")
    n = len(width)
    a = np.zeros((n, n))
    a[0, :] += births
    for g in range(n):
        a[g, g] -= deaths[g]
        if g < n - 1:
            a[g, g] -= 1 / width[g]
            a[g + 1, g] += 1 / width[g]
    return a


@pytest.mark.parametrize("tfr", [1.5, 0.0], ids=["closed county", "no births"])
def test_a_closed_county_follows_the_hand_built_cohort_projection(spec, model, tfr):
    """With every migration, settlement and transfer rate at 0, constant fertility and no mortality
    improvement, each county and state is a linear cohort system: x(t) = expm(A t) x(2010)."""
    params = dict(MIGRATION_OFF, mortality_improvement=0.0, fertility_2010s=tfr, fertility_2020=tfr,
                  fertility_2022=tfr, fertility_2035=tfr)
    run = simulate(model, params, method="rk4", dt=0.25)
    t = run.times - run.times[0]
    for stock, factor in [("rural_residents", 1.0), ("urban_hukou_residents", const(spec, "urban_fertility_factor"))]:
        a = leslie_matrix(spec, tfr, factor)
        for c in (0, 5):  # Kongtong, Zhuanglang
            x0 = run.data[stock][0, 0, c]
            expected = np.array([expm(a * ti) @ x0 for ti in t])
            np.testing.assert_allclose(run.data[stock][0, :, c], expected, rtol=1e-7)
    if tfr == 0.0:
        # no births: every county shrinks every year and grows older
        total = run.data["resident_population"][0]
        assert np.all(np.diff(total) < 0)
        assert np.all(np.diff(run.data["share_aged_65_plus"][0]) > 0)


def test_people_are_conserved_by_age_and_county(spec, model):
    """Euler at dt = saveper: each saved step, the change of people in every age group equals births
    in, ageing in and out, deaths and hukou transfers out of the registry, summed over states; moves
    between states and counties cancel."""
    run = simulate(model, {}, method="euler", dt=1.0)
    total = sum(run.data[s] for s in PERSON_STOCKS).sum(axis=2)            # (1, t, age)
    inflows = {f for s in PERSON_STOCKS for f in spec.stocks[s].inflows}
    outflows = {f for s in PERSON_STOCKS for f in spec.stocks[s].outflows}
    boundary = {f: (1 if f in inflows else -1) for f in inflows ^ outflows}
    # the flows that change the number of people in an age group: births, deaths, transfers of hukou
    # out of the registry and ageing; moves to the central city leave one county and enter another
    # as two flows (they cancel over the counties); every other move is one flow out of one state
    # into another
    assert set(boundary) == {f for f in inflows | outflows
                             if f.startswith(("births_", "deaths_", "hukou_transfer_out_", "ageing_", "central_city_"))}
    net = sum(sign * run.data[f] for f, sign in boundary.items()).sum(axis=2)
    np.testing.assert_allclose(np.diff(total, axis=1), net[:, :-1], rtol=1e-9, atol=1e-6)


def test_ageing_moves_people_up_the_chain_and_keeps_the_oldest(defaults):
    out = defaults.data["ageing_out_rural"][0]
    into = defaults.data["ageing_in_rural"][0]
    assert np.all(out[:, :, -1] == 0)                       # 75+ keeps its survivors
    assert np.all(into[:, :, 0] == 0)                       # nobody ages into 0-14
    np.testing.assert_array_equal(into[:, :, 1:], out[:, :, :-1])


def test_births_enter_only_the_first_age_group(defaults):
    births = defaults.data["births_rural"][0]
    assert np.all(births[:, :, 1:] == 0) and np.all(births[:, :, 0] > 0)


# ----------------------------------------------------------------------------- documentation


def test_every_number_has_a_source(spec):
    for name, c in spec.constants.items():
        assert c.source and c.source.strip(), name
    for name, lk in spec.lookups.items():
        assert lk.source and lk.source.strip(), name


def test_every_element_has_unit_labels_and_doc(spec):
    for name in spec.all_names():
        el = spec.element(name)
        assert el.label.zh and el.label.en, name
        assert el.doc and el.doc.strip(), name


def test_no_magic_constants_in_equations(spec):
    """Equations hold no literal but 0, 1 (identities) and 3 (delay3's stages, not used here)."""
    allowed = {0.0, 1.0}
    for table in (spec.flows, spec.auxiliaries):
        for name, el in table.items():
            texts = [el.equation] + list((el.elements or {}).values())
            for text in texts:
                for node in ast.walk(ast.parse(str(text), mode="eval")):
                    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)):
                        assert float(node.value) in allowed, f"{name}: literal {node.value} in {text}"


def test_equations_hold_no_year(spec):
    for table in (spec.flows, spec.auxiliaries):
        for name, el in table.items():
            assert not re.search(r"\b(19|20)\d\d\b", str(el.equation)), name


def test_levers_have_a_history_value_and_act_after_the_plan_start(spec, model):
    """A lever changes nothing before the plan period: the 2010-2020 history is the same in every scenario."""
    levers = [n for n, c in spec.constants.items() if c.lever]
    assert len(levers) >= 10
    base = simulate(model, {}, outputs=["urbanization_rate", "hukou_urbanization_rate"])
    for name in levers:
        c = spec.constants[name]
        lo, hi = c.bounds
        value = hi if c.value != hi else lo
        run = simulate(model, {name: value}, outputs=["urbanization_rate", "hukou_urbanization_rate"])
        for out in ("urbanization_rate", "hukou_urbanization_rate"):
            np.testing.assert_array_equal(run.data[out][0, :11], base.data[out][0, :11], err_msg=name)
