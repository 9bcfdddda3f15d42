"""Extreme-condition and integration-error tests of the Pingliang model (Sterman, Business
Dynamics ch. 21): no migration, no land quota, no service capacity or investment, no chain
jobs; halving DT and Euler against RK4; each policy lever moving the 2035 rate the way its
structure implies.
"""

from __future__ import annotations

import numpy as np
import pytest

from simulator.bundled import bundled_model_path
from simulator.engine.compile import compile_model
from simulator.engine.integrate import simulate
from simulator.engine.load import load_model

SPEC = load_model(bundled_model_path())
MODEL = compile_model(SPEC)
COUNTIES = SPEC.elements("county")
DT = SPEC.time.dt
#: the hand computations below follow Euler steps of this size
EULER_DT = 0.25
C = {name: c.value for name, c in SPEC.constants.items()}

#: every rate that moves people between rural places, towns and other regions
MIGRATION_RATES = [
    "rural_urban_migration_base_rate",
    "central_city_migration_rate",
    "out_migration_rate_rural",
    "out_migration_rate_urban_migrant",
    "out_migration_rate_urban_hukou",
    "return_migration_rate",
]
NO_MIGRATION = {name: 0.0 for name in MIGRATION_RATES}

#: one percentage point of a rate given as a share
PP = 0.01


def county_values(name: str) -> np.ndarray:
    value = SPEC.constants[name].value
    return np.array([value[c] for c in COUNTIES], dtype=float)


def rate_2035(run: object, index: int = 0) -> float:
    return float(run.data["urbanization_rate"][index, -1])


def assert_all_finite_and_stocks_non_negative(run) -> None:
    for name, values in run.data.items():
        assert np.isfinite(values).all(), f"{name} is not finite"
    for name in SPEC.stocks:
        assert (run.data[name] >= 0).all(), f"stock {name} went negative"
    for name in SPEC.flows:
        assert (run.data[name] >= 0).all(), f"flow {name} went negative"


# ----------------------------------------------------------------------------- no migration


def test_without_migration_or_reclassification_the_rate_stays_at_its_2020_value():
    """Births and deaths hit every stock at the same rates, so only migration moves the rate."""
    run = simulate(MODEL, {**NO_MIGRATION, "reclassification_rate": 0.0},
                   outputs=["urbanization_rate", "county_urbanization_rate", "resident_population"])
    rate = run.data["urbanization_rate"][0]
    np.testing.assert_allclose(rate, rate[0], rtol=1e-12)
    county = run.data["county_urbanization_rate"][0]
    np.testing.assert_allclose(county, np.broadcast_to(county[0], county.shape), rtol=1e-12)
    # but the population still changes (natural change only)
    assert run.data["resident_population"][0, -1] != pytest.approx(run.data["resident_population"][0, 0])


def test_without_migration_the_rate_moves_by_natural_change_and_reclassification_only():
    """Hand computation, step by step (Euler): per county, the rural share r and residents P obey
    P' = (b - d) P and R' = (b - d - c a) R, c = reclassification_rate, a = perceived
    attractiveness (read from the run), b and d the crude rates from their constants."""
    run = simulate(MODEL, NO_MIGRATION, saveper=EULER_DT, dt=EULER_DT, method="euler",
                   outputs=["urbanization_rate", "perceived_attractiveness", "county_urbanization_rate"])
    attractiveness = run.data["perceived_attractiveness"][0]  # (n_t, n_county)
    urban = county_values("initial_urban_residents_by_county")
    rural = county_values("initial_rural_residents_by_county")
    # the defaults are the county counts themselves (docs/model-estimates.md section 1)
    assert urban.sum() == pytest.approx(C["initial_urban_population"])
    residents, rural_share = urban + rural, rural / (urban + rural)
    expected = [1 - rural_share @ residents / residents.sum()]
    for n, t in enumerate(run.times[:-1]):
        birth = C["initial_birth_rate"] * np.exp(-C["birth_rate_decline"] * (t - C["base_year"]))
        death = C["initial_death_rate"] + C["death_rate_increase"] * (t - C["base_year"])
        grow = 1 + EULER_DT * (birth - death)
        rural_share = rural_share * (grow - EULER_DT * C["reclassification_rate"] * attractiveness[n]) / grow
        residents = residents * grow
        expected.append(1 - rural_share @ residents / residents.sum())
    np.testing.assert_allclose(run.data["urbanization_rate"][0], expected, rtol=0, atol=1e-12)
    # reclassification alone still urbanizes, slowly: about c a (1 - rate) a year
    assert 0.005 < expected[-1] - expected[0] < 15 * C["reclassification_rate"]


# ----------------------------------------------------------------------------- land


ZERO_QUOTA = {"base_land_quota_rate": 0.0, "land_per_settled_person": 0.0,
              "homestead_reclamation_rate": 0.0, "initial_land_quota": 0.0}


def test_with_zero_land_quota_urban_land_stays_constant():
    run = simulate(MODEL, ZERO_QUOTA, saveper=DT)
    land = run.data["urban_construction_land"][0]
    np.testing.assert_array_equal(land, np.broadcast_to(land[0], land.shape))
    np.testing.assert_allclose(land[0], county_values("initial_urban_construction_land"))
    assert (run.data["land_quota"][0] == 0).all()
    assert (run.data["land_development"][0] == 0).all()
    assert_all_finite_and_stocks_non_negative(run)


def test_with_zero_quota_and_tight_land_housing_and_attractiveness_suffer():
    """Land at the plan's 100 m2/person and no new quota: as towns grow, land adequacy and the
    housing that land allows fall below 1, which lowers urban attractiveness and the rate."""
    tight = {**ZERO_QUOTA,
             "initial_urban_construction_land": C["planned_land_per_person"] * county_values("initial_urban_residents_by_county")}
    run = simulate(MODEL, tight)
    free = simulate(MODEL, {"initial_urban_construction_land": tight["initial_urban_construction_land"]})
    assert (run.data["land_adequacy"][0, -1] < 1).all()
    assert (run.data["land_housing_effect"][0, -1] < 1).all()
    assert rate_2035(run) < rate_2035(free)


def test_land_development_draws_down_the_quota():
    """Quota conservation every (Euler) step: allocated = developed + lapsed + change of the stock."""
    run = simulate(MODEL, {}, saveper=EULER_DT, dt=EULER_DT, method="euler")
    quota = run.data["land_quota"][0]
    inflow = run.data["land_quota_allocation"][0]
    outflow = run.data["land_development"][0] + run.data["land_quota_lapse"][0]
    np.testing.assert_allclose(np.diff(quota, axis=0), EULER_DT * (inflow - outflow)[:-1], rtol=1e-9, atol=1e-6)
    land = run.data["urban_construction_land"][0]
    np.testing.assert_allclose(np.diff(land, axis=0), EULER_DT * run.data["land_development"][0][:-1],
                               rtol=1e-9, atol=1e-6)
    assert (run.data["land_development"][0] <= quota / C["quota_drawdown_time"] + 1e-9).all()


# ----------------------------------------------------------------------------- services and jobs


ZERO_SERVICES = {"initial_service_adequacy": 0.0, "initial_sewage_capacity": 0.0, "service_investment_multiplier": 0.0}


def test_with_zero_service_capacity_and_investment_attractiveness_is_at_its_floor():
    run = simulate(MODEL, ZERO_SERVICES, saveper=DT)
    assert_all_finite_and_stocks_non_negative(run)
    for stock in ("school_places", "hospital_beds", "affordable_housing", "sewage_capacity"):
        assert (run.data[stock][0] == 0).all(), stock
    floors = {
        "service_effect": min(SPEC.lookups["service_attractiveness_multiplier"].y),
        "housing_effect": min(SPEC.lookups["housing_attractiveness_multiplier"].y),
    }
    for name, floor in floors.items():
        np.testing.assert_allclose(run.data[name][0], floor, rtol=1e-12, err_msg=name)
    settlement_floor = min(SPEC.lookups["settlement_service_multiplier"].y)
    levers = (C["max_hukou_conversion_rate"] * C["hukou_openness"] * C["settlement_willingness"]
              * (1 - C["permit_integration_weight"] + C["permit_integration_weight"] * C["residence_permit_access"]))
    np.testing.assert_allclose(run.data["hukou_conversion_fraction"][0], levers * settlement_floor, rtol=1e-12)
    # attractiveness is the other multipliers times the two floors, so below the normal run
    normal = simulate(MODEL, {}, outputs=["migration_attractiveness"])
    assert (run.data["migration_attractiveness"][0][::round(1 / DT)] < normal.data["migration_attractiveness"][0]).all()


def test_without_chain_jobs_everything_stays_finite_and_out_migration_rises():
    run = simulate(MODEL, {"industrial_chain_target_attainment": 0.0, "chain_growth_after_target": 0.0})
    assert_all_finite_and_stocks_non_negative(run)
    target_index = list(run.times).index(C["chain_target_year"])
    assert (run.data["chain_value_added"][0, target_index:] == 0).all()
    # only service jobs are left: adequacy = service jobs / jobs sought
    np.testing.assert_allclose(run.data["job_adequacy"][0, target_index:],
                               C["service_jobs_per_urban_resident"] / C["jobs_sought_per_urban_resident"], rtol=1e-12)
    assert (run.data["out_migration_effect"][0, -1] > 1).all()


def test_everything_at_once_at_the_extremes_stays_finite():
    run = simulate(MODEL, {**NO_MIGRATION, **ZERO_QUOTA, **ZERO_SERVICES, "reclassification_rate": 0.0,
                           "industrial_chain_target_attainment": 0.0}, method="rk4")
    assert_all_finite_and_stocks_non_negative(run)


# ----------------------------------------------------------------------------- integration error


def test_integration_error_is_below_two_hundredths_of_a_point_in_2035():
    """The model's method and DT (RK4, 0.5) against DT/2 and against Euler at fine steps."""
    assert (SPEC.time.method, DT) == ("rk4", 0.5)
    chosen = rate_2035(simulate(MODEL, {}, outputs=["urbanization_rate"]))
    half = rate_2035(simulate(MODEL, {}, dt=DT / 2, outputs=["urbanization_rate"]))
    euler = {dt: rate_2035(simulate(MODEL, {}, dt=dt, method="euler", outputs=["urbanization_rate"]))
             for dt in (0.25, 1 / 64, 1 / 128)}
    assert abs(chosen - half) < 0.001 * PP
    assert abs(chosen - euler[1 / 128]) < 0.02 * PP
    # Euler at the old default (0.25) was 0.1 pp off; it converges towards RK4 as its DT shrinks
    assert 0.05 * PP < abs(chosen - euler[0.25])
    assert abs(chosen - euler[1 / 128]) < abs(chosen - euler[1 / 64]) < abs(chosen - euler[0.25])


# ----------------------------------------------------------------------------- levers


def _sweep(name: str, values: list[float], base: dict | None = None, output: str = "urbanization_rate") -> np.ndarray:
    params = dict(base or {})
    params[name] = np.array(values, dtype=float)
    run = simulate(MODEL, params, n_runs=len(values), outputs=[output])
    return run.data[output][:, -1]


@pytest.mark.parametrize("lever", [
    "central_city_pull",             # more rural people move to the central city's towns
    "return_migration_incentive",    # more out-migrants come back to live in towns
    "service_investment_multiplier",  # more capacity: services, housing and settlement draw people
    "industrial_chain_target_attainment",  # more chain value added: more urban jobs
    "hukou_openness", "residence_permit_access", "settlement_willingness",  # more settlers: reward funds, land quota
])
def test_lever_raises_the_2035_rate(lever):
    c = SPEC.constants[lever]
    assert c.lever
    lo, hi = c.bounds
    rates = _sweep(lever, [lo, c.value, hi])
    assert rates[0] < rates[1] < rates[2], (lever, rates)


@pytest.mark.parametrize("lever", ["hukou_openness", "residence_permit_access", "settlement_willingness"])
def test_settlement_levers_raise_the_hukou_rate(lever):
    lo, hi = SPEC.constants[lever].bounds
    rates = _sweep(lever, [lo, hi], output="hukou_urbanization_rate")
    assert rates[1] > rates[0] + 0.5 * PP


def _land_tight() -> dict:
    """Land at 90 m2 per urban resident and no base quota: growth needs the settlers' quota."""
    return {"base_land_quota_rate": 0.0, "initial_land_quota": 0.0,
            "initial_urban_construction_land": 90 * county_values("initial_urban_residents_by_county")}


def test_land_per_settled_person_raises_the_rate_where_land_binds():
    lo, hi = SPEC.constants["land_per_settled_person"].bounds
    tight = _sweep("land_per_settled_person", [lo, C["land_per_settled_person"], hi],
                   base={**_land_tight(), "homestead_reclamation_rate": 0.0})
    assert tight[0] < tight[1] < tight[2]
    # in the baseline land does not bind (Pingliang has more than 100 m2 per urban resident)
    loose = _sweep("land_per_settled_person", [lo, hi])
    assert loose[1] >= loose[0] - 1e-12


def test_homestead_reclamation_raises_the_rate_where_land_binds():
    lo, hi = SPEC.constants["homestead_reclamation_rate"].bounds
    tight = _sweep("homestead_reclamation_rate", [lo, hi], base={**_land_tight(), "land_per_settled_person": 50.0})
    assert tight[1] > tight[0]
