"""The UN urban-rural growth-difference comparator."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simulator.analysis import comparator as un
from simulator.cli import main
from simulator.scenario.resolve import load_scenario

REPO = Path(__file__).resolve().parents[2]


def _logistic(years, a, b, t0=2020.0):
    return 1.0 / (1.0 + np.exp(-(a + b * (np.asarray(years, dtype=float) - t0))))


@pytest.mark.parametrize("weights", [None, [1.0, 2.0, 0.5, 4.0]])
def test_fit_reproduces_a_synthetic_logistic_exactly(weights):
    years = [2010, 2014, 2015, 2020]
    a, b = -0.2, 0.055
    fit = un.fit_urgd(years, _logistic(years, a, b), weights)
    assert fit.urgd == pytest.approx(b, rel=1e-12)
    assert un.fitted_urgd(years, _logistic(years, a, b)) == pytest.approx(b, rel=1e-12)
    out = np.arange(2020, 2036)
    assert un.un_projection(years, _logistic(years, a, b), out, weights) == pytest.approx(
        _logistic(out, a, b), rel=1e-12)


def test_urgd_is_the_urban_minus_rural_growth_rate():
    # urban grows 3%/yr, rural falls 1%/yr: the logit slope is 0.04
    t = np.arange(2010, 2021)
    urban, rural = 600_000 * np.exp(0.03 * (t - 2010)), 1_400_000 * np.exp(-0.01 * (t - 2010))
    assert un.fitted_urgd(t, urban / (urban + rural)) == pytest.approx(0.04, rel=1e-12)


@settings(max_examples=200, deadline=None)
@given(
    rates=st.lists(st.floats(0.01, 0.99), min_size=2, max_size=6),
    step=st.integers(1, 5),
    out=st.lists(st.integers(1800, 2400), min_size=1, max_size=5),
)
def test_projection_stays_strictly_inside_0_1(rates, step, out):
    years = 2000 + step * np.arange(len(rates))
    p = un.un_projection(years, rates, out)
    assert np.all(p > 0) and np.all(p < 1)


def test_bad_history_is_refused():
    with pytest.raises(ValueError, match="strictly between"):
        un.fit_urgd([2010, 2020], [0.3, 1.0])
    with pytest.raises(ValueError, match="two different years"):
        un.fit_urgd([2020, 2020], [0.3, 0.4])


def test_summary_on_the_repository_history():
    s = un.comparator_summary([2020, 2025, 2035])
    assert s["available"]
    years = [p["year"] for p in s["points"]]
    assert years == sorted(years) and years[0] == 2010 and years[-1] == 2020 and 2014 in years
    assert s["urgd_per_year"] > 0  # the rate rose over the decade
    proj = [s["projected"][k] for k in ("2025", "2030", "2035")]
    assert proj == sorted(proj) and 0 < proj[0] and proj[-1] < 1
    # the 2020 census point weighs most: the fitted line passes within its sigma
    census = next(p for p in s["points"] if p["year"] == 2020)
    assert abs(s["fitted_at"]["2020"] - census["value"]) < census["sigma"]
    assert s["series"]["2025"] == pytest.approx(s["projected"]["2025"])


def test_summary_without_history_file_says_so(tmp_path):
    s = un.comparator_summary(path=tmp_path / "missing.csv")
    assert s["available"] is False and "missing.csv" in s["reason"]
    assert un.comparator_line(s) is None


def test_summary_of_a_damaged_history_file_says_so(tmp_path):
    bad = tmp_path / "history.csv"
    bad.write_text("year,area,indicator,value,sigma,kind,source\n2010,pingliang,urbanization_rate,0.3,0.01,census,x\n",
                   encoding="utf-8")
    s = un.comparator_summary(path=bad)
    assert s["available"] is False and "two different years" in s["reason"]


def test_comparator_imports_no_scipy():
    code = ("import sys; from simulator.analysis.comparator import comparator_summary; "
            "assert comparator_summary(range(2020, 2036))['available']; "
            "print('SCIPY', any(m == 'scipy' or m.startswith('scipy.') for m in sys.modules))")
    env = {**os.environ, "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stderr
    assert "SCIPY False" in done.stdout


def test_run_reports_the_comparator(tmp_path, capsys):
    assert main(["run", "--out", str(tmp_path)]) == 0
    summary = json.loads((tmp_path / "baseline" / "summary.json").read_text(encoding="utf-8"))
    c = summary["comparator"]
    assert c["available"] and set(c["projected"]) == {"2025", "2030", "2035"}
    run_years = range(int(summary["time"]["start"]), int(summary["time"]["stop"]) + 1)
    time = load_scenario().spec.time  # the whole run, from the model's start (not the plan start)
    assert (run_years[0], run_years[-1]) == (int(time.start), int(time.stop))
    assert list(c["series"]) == [str(y) for y in run_years]
    assert c == json.loads(json.dumps(un.comparator_summary(run_years)))
    assert (tmp_path / "baseline" / "charts" / "urbanization.png").stat().st_size > 10_000


def test_chart_draws_the_comparator_line(tmp_path):
    from simulator.outputs.charts.scenario import urbanization_chart

    frame = {"time": np.arange(2020, 2026), "urbanization_rate": np.linspace(0.45, 0.5, 6)}
    a = urbanization_chart(frame, [], tmp_path / "a.png", title="t", source_line="s")
    b = urbanization_chart(frame, [], tmp_path / "b.png", title="t", source_line="s",
                           comparator=(range(2020, 2026), np.linspace(0.45, 0.6, 6)))
    assert a.read_bytes() != b.read_bytes()
