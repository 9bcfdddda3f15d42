"""Fit statistics against figures computed by hand."""

import numpy as np
import pytest

from simulator.analysis.fitstats import fit_statistics


def test_pure_bias_is_all_um():
    a = np.array([1.0, 2.0, 3.0, 4.0])
    f = fit_statistics(a + 0.5, a)
    assert f.mse == pytest.approx(0.25)
    assert f.mape == pytest.approx(np.mean(0.5 / a))
    assert (f.u_m, f.u_s, f.u_c) == pytest.approx((1.0, 0.0, 0.0))
    assert f.r2 == pytest.approx(1.0)


def test_decomposition_sums_to_one_and_matches_hand_values():
    a = np.array([1.0, 3.0, 2.0, 5.0, 4.0])
    s = np.array([1.5, 2.0, 2.5, 4.0, 5.5])
    f = fit_statistics(s, a)
    mse = np.mean((s - a) ** 2)  # (0.25 + 1 + 0.25 + 1 + 2.25) / 5 = 0.95
    assert f.mse == pytest.approx(0.95)
    assert f.u_m == pytest.approx((s.mean() - a.mean()) ** 2 / mse)
    assert f.u_s == pytest.approx((s.std() - a.std()) ** 2 / mse)
    assert f.u_m + f.u_s + f.u_c == pytest.approx(1.0)


def test_single_point_has_no_correlation():
    f = fit_statistics(np.array([2.0]), np.array([1.0]))
    assert f.u_m == pytest.approx(1.0) and np.isnan(f.r2)
