"""The notebook API: load, run, compare, goal_seek return pandas / plain data; lazy re-export."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

import simulator
from simulator import api
from simulator.errors import InputError

ROOT = Path(__file__).resolve().parents[1]


def test_lazy_reexport_is_the_api_and_import_stays_light():
    assert simulator.run is api.run and simulator.goal_seek is api.goal_seek
    with pytest.raises(AttributeError):
        simulator.no_such_thing  # noqa: B018
    code = ("import sys, simulator; heavy = [m for m in ('pandas', 'scipy', 'matplotlib') "
            "if m in sys.modules]; print(heavy)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=ROOT, check=True).stdout.strip()
    assert out == "[]"


def test_load_and_run_give_a_yearly_frame():
    base = api.load()
    assert base.name == "baseline"
    frame = api.run(base)
    assert isinstance(frame, pd.DataFrame)
    assert list(frame["time"]) == list(range(2010, 2036))
    # the 2020 census is fitted (sigma 0.5 pp), no longer imposed by a restart at 2020
    assert frame.set_index("time")["urbanization_rate"][2020] == pytest.approx(0.4477, abs=0.005)
    assert "county_urbanization_rate[kongtong]" in frame.columns
    # a path works too
    assert api.run(ROOT / "scenarios" / "baseline.yaml").equals(frame)


def test_run_overrides_behave_like_a_scenario_set():
    base = api.load()
    before = dict(base.params)
    plain = api.run(base)
    opened = api.run(base, hukou_openness=1.0, settlement_willingness=1.0)
    assert opened["hukou_urbanization_rate"].iloc[-1] > plain["hukou_urbanization_rate"].iloc[-1]
    ramp = api.run(base, hukou_openness={2020: 0.9, 2025: 1.0})
    assert ramp["hukou_urbanization_rate"].iloc[-1] > plain["hukou_urbanization_rate"].iloc[-1]
    assert base.params.keys() == before.keys()  # the scenario itself is untouched
    assert all(base.params[k] is before[k] for k in before)
    with pytest.raises(InputError, match="did you mean 'hukou_openness'"):
        api.run(base, hukou_opennes=1.0)
    with pytest.raises(InputError, match="outside the bounds"):
        api.run(base, hukou_openness=1.5)


def test_compare_frame_equals_the_runs():
    paths = [ROOT / "scenarios" / "baseline.yaml", ROOT / "scenarios" / "hukou-open.yaml"]
    table = api.compare(paths)
    assert list(table.index) == ["baseline", "hukou-open"]
    for path, name in zip(paths, table.index):
        frame = api.run(path)
        last = frame.set_index("time").loc[2035]
        assert table.loc[name, "urbanization_rate_2035"] == last["urbanization_rate"]
        assert table.loc[name, "hukou_urbanization_rate_2035"] == last["hukou_urbanization_rate"]
    assert "notes" in table.attrs


def test_goal_seek_returns_plain_data():
    res = api.goal_seek(api.load(), "settlement_willingness", "hukou_urbanization_rate", 0.5, 2035)
    assert res.status == "reached"
    d = res.as_dict()
    assert d["lever"] == "settlement_willingness" and d["bounds"] == [0.0, 1.0]
    frame = api.run(api.load(), settlement_willingness=res.setting)
    got = float(frame.set_index("time").loc[2035, "hukou_urbanization_rate"])
    assert 0.5 <= got <= 0.5005
    with pytest.raises(InputError, match="outside the run years"):
        api.goal_seek(api.load(), "settlement_willingness", "hukou_urbanization_rate", 0.5, 2040)


def test_package_level_api_names():
    """`simulator.run`, `load`, `compare`, `goal_seek` are the API's (the comparison module is
    `simulator.analysis.compare`, so `simulator.compare` is free for the API's function)."""
    assert simulator.run is api.run and simulator.load is api.load and simulator.goal_seek is api.goal_seek
    assert simulator.compare is api.compare


def test_load_accepts_a_bundled_scenario_name():
    from simulator import api
    from simulator.errors import InputError

    assert api.load("central-pull").name == "central-pull"
    with pytest.raises(InputError, match="did you mean 'central-pull'"):
        api.load("central-pul")
