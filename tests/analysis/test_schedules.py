"""The standard schedules (simulator/analysis/schedules.py) and the arrays the model file holds."""

from __future__ import annotations

import numpy as np
import pytest

from simulator.analysis import schedules
from simulator.bundled import bundled_model_path
from simulator.engine.load import load_model


@pytest.fixture(scope="module")
def spec():
    return load_model(bundled_model_path())


def test_model_file_holds_the_schedules_to_six_digits(spec):
    ages = spec.elements("age")
    for name, values in schedules.model_schedules().items():
        held = np.array([spec.constants[name].value[a] for a in ages], dtype=float)
        np.testing.assert_allclose(held, values, rtol=5e-6, atol=1e-12, err_msg=name)


def test_siler_table_has_the_requested_life_expectancy_and_national_child_mortality():
    mu = schedules.siler_hazard(77.93)
    assert schedules.life_expectancy(mu) == pytest.approx(77.93, abs=1e-6)
    l = schedules.survivorship(mu)
    # national 2020: infant 5.4 and under-5 7.5 per 1,000 (data/observed.csv); the standard table is close
    assert 1 - l[1] == pytest.approx(0.0054, abs=0.001)
    assert 1 - l[5] == pytest.approx(0.0075, abs=0.001)


def test_group_death_rates_rise_with_age_after_childhood_and_reproduce_deaths():
    mu = schedules.siler_hazard(77.93)
    m = schedules.group_death_rates(mu)
    assert np.all(np.diff(m[1:]) > 0)
    # deaths over person-years: in the stationary population of one birth a year, deaths by the table's
    # last age equal that birth less the few still alive at MAX_AGE + 1
    share = schedules.stationary_shares(mu)
    survivors = schedules.survivorship(mu)[-1]
    assert (m * share).sum() * schedules.life_expectancy(mu) == pytest.approx(1.0 - survivors, rel=1e-12)


def test_fertility_pattern_sums_to_one_over_the_childbearing_groups():
    f = schedules.fertility_pattern(28.5, 5.5)
    assert f.sum() == pytest.approx(1.0, abs=1e-12)
    assert f[0] == 0 and f[4:].sum() == 0 and f[1] > f[2] > f[3] > 0


def test_migration_profiles_peak_at_one_where_the_standard_schedules_peak():
    town = schedules.rogers_castro()
    out = schedules.rogers_castro(a1=0.01, mu2=18.0, lambda2=0.5)
    ret = schedules.normal_profile(42.0, 12.0)
    assert town.max() == out.max() == ret.max() == 1.0
    assert town.argmax() == out.argmax() == 1          # 15-29: the labour-force peak
    assert ret.argmax() == 2                            # 30-44: returning workers are older
    assert out[0] < town[0]                             # children stay behind when parents leave the city
