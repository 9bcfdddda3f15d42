"""simulator/analysis/results.py: a Run as a DataFrame, and targets checked against it."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from simulator.analysis.results import evaluate_targets, key_figures, timeseries_columns, timeseries_frame

COUNTIES = ["kongtong", "huating", "jingchuan", "lingtai", "chongxin", "zhuanglang", "jingning"]


def fake_run(n_runs: int = 2, start: int = 2020, stop: int = 2035):
    times = np.arange(start, stop + 1, dtype=float)
    n_t = len(times)
    rate = np.linspace(0.4477, 0.66, n_t)
    data = {
        "urbanization_rate": np.stack([rate + 0.01 * i for i in range(n_runs)]),
        "hukou_urbanization_rate": np.stack([rate - 0.12 for _ in range(n_runs)]),
        "resident_population": np.full((n_runs, n_t), 1_848_000.0),
        "urban_population": np.stack([1_848_000.0 * rate for _ in range(n_runs)]),
        "county_urbanization_rate": np.broadcast_to(
            np.linspace(0.3, 0.7, 7), (n_runs, n_t, 7)
        ).copy(),
    }
    dims = {k: () for k in data} | {"county_urbanization_rate": ("county",)}
    return SimpleNamespace(times=times, data=data, dims=dims, elements={"county": COUNTIES},
                           model_name="toy", method="euler", dt=0.25, n_runs=n_runs)


def test_frame_columns_and_years():
    frame = timeseries_frame(fake_run())
    assert list(frame["time"]) == list(range(2020, 2036))
    assert frame["time"].dtype.kind == "i"
    for name in ("urbanization_rate", "hukou_urbanization_rate", "resident_population",
                 "urban_population"):
        assert name in frame.columns
    assert [c for c in frame.columns if c.startswith("county_urbanization_rate[")] == [
        f"county_urbanization_rate[{c}]" for c in COUNTIES
    ]
    assert frame.columns[0] == "time"


def test_frame_index_selects_the_run():
    run = fake_run()
    f0, f1 = timeseries_frame(run, 0), timeseries_frame(run, 1)
    assert f1["urbanization_rate"].iloc[0] == pytest.approx(f0["urbanization_rate"].iloc[0] + 0.01)
    with pytest.raises(IndexError):
        timeseries_frame(run, 5)


def test_frame_rejects_fractional_times():
    run = fake_run()
    run.times = run.times + 0.5
    with pytest.raises(ValueError):
        timeseries_frame(run)


def test_frame_is_the_columns_of_a_two_dimensional_run():
    """The frame (one float block) holds exactly the columns, in their order: a variable over
    (county, age) becomes `name[county,age]` in row-major order, run by run."""
    run = fake_run()
    grid = np.arange(2 * 16 * 7 * 2, dtype=float).reshape(2, 16, 7, 2)
    run.data["cohort"], run.dims["cohort"], run.elements["age"] = grid, ("county", "age"), ["young", "old"]
    columns, frame = timeseries_columns(run, 1), timeseries_frame(run, 1)
    assert list(frame.columns) == list(columns)
    for name, values in columns.items():
        assert np.array_equal(frame[name].to_numpy(), values), name
    assert frame["cohort[huating,old]"].tolist() == grid[1, :, 1, 1].tolist()
    assert frame.dtypes.drop("time").eq(np.float64).all() and frame["time"].dtype.kind == "i"


def test_frames_of_one_layout_share_no_column_labels():
    """The column labels are made once per layout; naming a frame's columns (which changes its
    Index in place) leaves the next frame's as they were."""
    run = fake_run()
    first = timeseries_frame(run, 0)
    first.columns.name = "variable"
    second = timeseries_frame(run, 1)
    assert second.columns.name is None
    assert list(second.columns) == list(timeseries_columns(run, 1))


def test_a_variable_named_time_is_refused():
    run = fake_run()
    run.data["time"], run.dims["time"] = run.data["urbanization_rate"], ()
    with pytest.raises(ValueError, match="named 'time'"):
        timeseries_frame(run)


def test_targets_exact_values_and_reached():
    frame = timeseries_frame(fake_run(n_runs=1))
    targets = [
        SimpleNamespace(indicator="urbanization_rate", year=2025, value=0.55),
        {"indicator": "urbanization_rate", "year": 2035, "value": 0.70},
        {"indicator": "urbanization_rate", "year": 2020, "value": 0.4477},
    ]
    out = evaluate_targets(frame, targets)
    assert [set(t) for t in out] == [{"indicator", "year", "target", "value", "reached"}] * 3
    v2025 = float(frame.loc[frame.time == 2025, "urbanization_rate"].iloc[0])
    assert out[0]["value"] == v2025  # exact, not rounded
    assert out[0]["reached"] is (v2025 >= 0.55)
    assert out[1]["reached"] is False and out[1]["value"] < 0.70
    assert out[2]["reached"] is True  # value == target counts as reached


def test_targets_unknown_indicator_or_year():
    frame = timeseries_frame(fake_run(n_runs=1))
    with pytest.raises(KeyError):
        evaluate_targets(frame, [{"indicator": "nope", "year": 2025, "value": 1}])
    with pytest.raises(KeyError):
        evaluate_targets(frame, [{"indicator": "urbanization_rate", "year": 2050, "value": 1}])


def test_key_figures_final_year():
    frame = timeseries_frame(fake_run(n_runs=1))
    k = key_figures(frame)
    assert k["year"] == 2035
    assert k["urbanization_rate"] == frame["urbanization_rate"].iloc[-1]
    assert set(k["county_urbanization_rate"]) == set(COUNTIES)


def test_source_line_is_in_the_chart_language():
    import re
    from types import SimpleNamespace

    from simulator.analysis.results import source_line

    spec = SimpleNamespace(name="pingliang", sha256="a" * 64)
    scenario = SimpleNamespace(name="baseline", spec=spec, sha256="b" * 64)
    run = SimpleNamespace(method="euler", dt=0.25)
    en = source_line(scenario, run, today="2026-01-01", lang="en")
    zh = source_line(scenario, run, today="2026-01-01", lang="zh")
    assert en.startswith("scenario: baseline · model: pingliang sha256 aaaaaaaaaaaa · scenario sha256 bbbbbbbbbbbb")
    assert not re.search(r"[\u4e00-\u9fff]", en)
    assert zh.startswith("情景：baseline · 模型：pingliang") and "scenario" not in zh
