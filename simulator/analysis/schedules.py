"""Standard demographic schedules on broad age groups: where the age arrays of the model file come from.

The model file (models/pingliang.yaml) holds these as plain numbers with a source line; this
module recomputes them so that a test can hold the two equal and a reader can see the
arithmetic. Nothing here runs during a simulation.

- Mortality: a Siler hazard mu(x) = a1 exp(-b1 x) + a2 + a3 exp(b3 x) over single years of age,
  with a3 solved so that life expectancy at birth has a given value; group death rates are
  deaths over person-years of the stationary population in the group.
- Fertility: a gamma density over ages 15-49 (a Hadwiger-type standard schedule) by mean age
  at birth and its standard deviation; the share of lifetime births in each group.
- Migration: the Rogers-Castro (1981) model migration schedule; a normal curve for returns.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy.optimize import brentq
from scipy.stats import gamma

#: lower bounds of the model's age groups; the last group is open (75+)
AGE_LOWER = (0, 15, 30, 45, 60, 65, 75)
#: oldest single year of age in the life table (everyone dies before MAX_AGE + 1)
MAX_AGE = 110
#: Siler child and background terms (estimate, docs/model-estimates.md): infant hazard and its decay, constant
SILER_CHILD = (0.01, 1.5)
SILER_BACKGROUND = 2e-4
#: Gompertz slope per year of age (typical of low-mortality populations)
GOMPERTZ_SLOPE = 0.095


def _upper(lower: Sequence[int]) -> list[int]:
    return list(lower[1:]) + [MAX_AGE + 1]


def siler_hazard(e0: float, lower_ages: Sequence[int] = AGE_LOWER) -> np.ndarray:
    """Single-year hazards (ages 0..MAX_AGE, at mid-year) of the Siler table with life expectancy e0."""
    x = np.arange(MAX_AGE + 1) + 0.5

    def hazard(log_a3: float) -> np.ndarray:
        return (SILER_CHILD[0] * np.exp(-SILER_CHILD[1] * x) + SILER_BACKGROUND
                + np.exp(log_a3) * np.exp(GOMPERTZ_SLOPE * x))

    log_a3 = brentq(lambda la: life_expectancy(hazard(la)) - e0, -20.0, -3.0)
    return hazard(log_a3)


def survivorship(mu: np.ndarray) -> np.ndarray:
    """l(x) at exact ages 0..len(mu), the hazard constant within each year."""
    return np.exp(-np.concatenate([[0.0], np.cumsum(mu)]))


def person_years(mu: np.ndarray) -> np.ndarray:
    """Person-years lived in each single year of age per birth (constant hazard within the year)."""
    l = survivorship(mu)
    return (l[:-1] - l[1:]) / mu


def life_expectancy(mu: np.ndarray) -> float:
    """Life expectancy at birth of single-year hazards."""
    return float(person_years(mu).sum())


def group_death_rates(mu: np.ndarray, lower_ages: Sequence[int] = AGE_LOWER) -> np.ndarray:
    """Deaths over person-years of the stationary population, per age group."""
    l, lx = survivorship(mu), person_years(mu)
    return np.array([(l[lo] - l[hi]) / lx[lo:hi].sum() for lo, hi in zip(lower_ages, _upper(lower_ages))])


def stationary_shares(mu: np.ndarray, lower_ages: Sequence[int] = AGE_LOWER) -> np.ndarray:
    """Age shares of the stationary population of the table."""
    lx = person_years(mu)
    groups = np.array([lx[lo:hi].sum() for lo, hi in zip(lower_ages, _upper(lower_ages))])
    return groups / groups.sum()


def fertility_pattern(mean_age: float, sd: float, lower_ages: Sequence[int] = AGE_LOWER) -> np.ndarray:
    """Share of lifetime births per group: a gamma density on ages 15-49 with the given mean and sd."""
    shape, scale = (mean_age - 15) ** 2 / sd**2, sd**2 / (mean_age - 15)
    ages = np.arange(15, 50)
    density = gamma.cdf(ages + 1 - 15, shape, scale=scale) - gamma.cdf(ages - 15, shape, scale=scale)
    density /= density.sum()
    return np.array([density[(ages >= lo) & (ages < hi)].sum() for lo, hi in zip(lower_ages, _upper(lower_ages))])


def _group_means(per_year: np.ndarray, lower_ages: Sequence[int]) -> np.ndarray:
    last = len(per_year)
    return np.array([per_year[lo:min(hi, last)].mean() for lo, hi in zip(lower_ages, _upper(lower_ages))])


def rogers_castro(a1: float = 0.02, alpha1: float = 0.10, a2: float = 0.06, mu2: float = 20.0,
                  alpha2: float = 0.10, lambda2: float = 0.40, c: float = 0.003,
                  lower_ages: Sequence[int] = AGE_LOWER) -> np.ndarray:
    """Rogers-Castro migration schedule (childhood + labour force + constant) over ages 0-89, group means, peak 1."""
    x = np.arange(90) + 0.5
    m = a1 * np.exp(-alpha1 * x) + a2 * np.exp(-alpha2 * (x - mu2) - np.exp(-lambda2 * (x - mu2))) + c
    g = _group_means(m, lower_ages)
    return g / g.max()


def normal_profile(mean: float, sd: float, lower_ages: Sequence[int] = AGE_LOWER) -> np.ndarray:
    """A normal curve over single years 0-89, group means, peak 1."""
    x = np.arange(90) + 0.5
    g = _group_means(np.exp(-0.5 * ((x - mean) / sd) ** 2), lower_ages)
    return g / g.max()


def model_schedules(e0: float = 77.93) -> dict[str, np.ndarray]:
    """The arrays the model file holds, with the parameters its source lines name."""
    mu = siler_hazard(e0)
    return {
        "standard_death_rate": group_death_rates(mu),
        "standard_age_share": stationary_shares(mu),
        "fertility_age_pattern": fertility_pattern(28.5, 5.5),
        "town_migration_age_profile": rogers_castro(),
        "out_migration_age_profile": rogers_castro(a1=0.01, mu2=18.0, lambda2=0.5),
        "return_age_profile": normal_profile(42.0, 12.0),
    }
