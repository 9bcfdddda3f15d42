"""simulator/outputs/writers.py (on simulator/engine/atomic.py): atomic files, and one scenario's outputs all or nothing."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from simulator.outputs import writers
from simulator.outputs.writers import atomic_write_json, atomic_write_text, write_run_outputs


def frame(offset: float = 0.0) -> pd.DataFrame:
    years = np.arange(2020, 2036)
    return pd.DataFrame({"time": years,
                         "urbanization_rate": np.linspace(0.4477, 0.66, 16) + offset})


def fake_chart(path: Path) -> None:
    path.write_bytes(b"\x89PNG fake")


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def test_atomic_write_replaces_and_leaves_no_temp(tmp_path):
    p = tmp_path / "a.txt"
    atomic_write_text(p, "one")
    atomic_write_text(p, "二")
    assert p.read_text(encoding="utf-8") == "二"
    assert [x.name for x in tmp_path.iterdir()] == ["a.txt"]


def test_atomic_json_nan_is_null(tmp_path):
    p = atomic_write_json(tmp_path / "s.json", {"x": float("nan"), "y": np.float64(1.5),
                                                 "名": "平凉"})
    assert json.loads(p.read_text(encoding="utf-8")) == {"x": None, "y": 1.5, "名": "平凉"}


def test_atomic_write_failure_keeps_old_file(tmp_path, monkeypatch):
    p = tmp_path / "a.txt"
    p.write_text("old")

    def boom(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(writers.os, "replace", boom)
    with pytest.raises(OSError):
        atomic_write_text(p, "new")
    assert p.read_text() == "old"
    assert [x.name for x in tmp_path.iterdir()] == ["a.txt"]


def test_write_run_outputs_new_folder(tmp_path):
    out = tmp_path / "results" / "baseline"
    paths = write_run_outputs(out, frame(), {"targets": []}, fake_chart)
    assert set(snapshot(out)) == {"timeseries.csv", "summary.json", "charts/urbanization.png"}
    assert paths["chart"] == out / "charts" / "urbanization.png"
    back = pd.read_csv(out / "timeseries.csv")
    assert list(back.columns) == ["time", "urbanization_rate"]
    # full float precision round-trips through the CSV
    assert back["urbanization_rate"].tolist() == frame()["urbanization_rate"].tolist()
    # no temporary folders left beside it
    assert [p.name for p in (tmp_path / "results").iterdir()] == ["baseline"]


def test_write_run_outputs_replaces_and_keeps_other_files(tmp_path):
    out = tmp_path / "baseline"
    write_run_outputs(out, frame(), {"v": 1}, fake_chart)
    (out / "notes.txt").write_text("mine")
    write_run_outputs(out, frame(0.01), {"v": 2}, fake_chart)
    assert json.loads((out / "summary.json").read_text())["v"] == 2
    assert (out / "notes.txt").read_text() == "mine"
    assert [p.name for p in tmp_path.iterdir()] == ["baseline"]


def test_failed_chart_leaves_existing_folder_unchanged(tmp_path):
    out = tmp_path / "baseline"
    write_run_outputs(out, frame(), {"v": 1}, fake_chart)
    before = snapshot(out)

    def bad_chart(path):
        path.write_bytes(b"half")
        raise RuntimeError("renderer crashed")

    with pytest.raises(RuntimeError):
        write_run_outputs(out, frame(0.01), {"v": 2}, bad_chart)
    assert snapshot(out) == before
    assert [p.name for p in tmp_path.iterdir()] == ["baseline"]


def test_failed_chart_creates_no_folder(tmp_path):
    def bad_chart(path):
        raise RuntimeError("renderer crashed")

    with pytest.raises(RuntimeError):
        write_run_outputs(tmp_path / "baseline", frame(), {}, bad_chart)
    assert list(tmp_path.iterdir()) == []


def test_later_bytes_are_made_while_the_charts_are_drawn_and_a_failure_writes_nothing(tmp_path):
    out = tmp_path / "baseline"
    made = []
    writers.write_folder(out, {"a.csv": writers.Later(lambda: made.append(1) or b"x,y\n"), "b.json": b"{}",
                               "charts/c.png": fake_chart})
    assert made == [1] and snapshot(out) == {"a.csv": b"x,y\n", "b.json": b"{}", "charts/c.png": b"\x89PNG fake"}
    before = snapshot(out)

    def broken() -> bytes:
        raise ValueError("no such column")

    with pytest.raises(ValueError, match="no such column"):
        writers.write_folder(out, {"a.csv": writers.Later(broken), "charts/c.png": fake_chart})
    assert snapshot(out) == before and [p.name for p in tmp_path.iterdir()] == ["baseline"]


@pytest.mark.parametrize("fail_at", [1, 2, 3])
def test_interrupted_replace_restores_old_files(tmp_path, monkeypatch, fail_at):
    """os.replace fails on the n-th file: the files moved before it are put back."""
    out = tmp_path / "baseline"
    write_run_outputs(out, frame(), {"v": 1}, fake_chart)
    before = snapshot(out)

    real = os.replace
    calls = {"n": 0}

    def flaky(src, dst):
        calls["n"] += 1
        if calls["n"] == fail_at:
            raise KeyboardInterrupt  # as if the user pressed Ctrl-C mid-way
        return real(src, dst)

    monkeypatch.setattr(writers.os, "replace", flaky)
    with pytest.raises(KeyboardInterrupt):
        write_run_outputs(out, frame(0.01), {"v": 2}, fake_chart)
    monkeypatch.setattr(writers.os, "replace", real)
    assert snapshot(out) == before
    assert [p.name for p in tmp_path.iterdir()] == ["baseline"]


def test_interrupted_first_write_leaves_nothing(tmp_path, monkeypatch):
    def boom(src, dst):
        raise OSError("interrupted")

    monkeypatch.setattr(writers.os, "replace", boom)
    with pytest.raises(OSError):
        write_run_outputs(tmp_path / "r" / "baseline", frame(), {}, fake_chart)
    assert list((tmp_path / "r").iterdir()) == []
