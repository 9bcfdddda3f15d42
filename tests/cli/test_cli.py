"""The `urbsd` command, end to end in a subprocess: outputs, hashes, and bad input."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[2]
TOY_MODEL = Path(__file__).resolve().parents[1] / "data" / "toy_model.yaml"
REQUIRED = ["urbanization_rate", "hukou_urbanization_rate", "resident_population",
            "urban_population"]

TOY_SCENARIO = """\
name: toy
label: {zh: 玩具情景, en: Toy scenario}
model: toy_model.yaml
set:
  migration_rate: {2020: 0.02, 2025: 0.03}
targets:
  - {indicator: urbanization_rate, year: 2025, value: 0.55}
  - {indicator: urbanization_rate, year: 2035, value: 0.70}
"""


def urbsd(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    """The program as users start it (`python -m simulator.cli` is `urbsd`: `simulator.cli.entry`)."""
    env = dict(os.environ, PYTHONPATH=str(ROOT), PYTHONWARNINGS="error::UserWarning")
    return subprocess.run(
        [sys.executable, "-m", "simulator.cli", *args],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=300,
    )


def tree(folder: Path) -> dict[str, bytes] | None:
    """Everything under `folder` (file contents by relative path), None if it is absent."""
    if not folder.exists():
        return None
    return {str(p.relative_to(folder)): (p.read_bytes() if p.is_file() else b"<dir>")
            for p in sorted(folder.rglob("*"))}


@pytest.fixture
def work(tmp_path: Path) -> Path:
    """A folder with the toy model and a scenario that uses it."""
    shutil.copy(TOY_MODEL, tmp_path / "toy_model.yaml")
    (tmp_path / "toy.yaml").write_text(TOY_SCENARIO, encoding="utf-8")
    return tmp_path


@pytest.fixture(scope="session")
def toy_results(tmp_path_factory) -> Path:
    """One good toy run (its `results` folder), made once and copied where needed."""
    folder = tmp_path_factory.mktemp("toy_run")
    shutil.copy(TOY_MODEL, folder / "toy_model.yaml")
    (folder / "toy.yaml").write_text(TOY_SCENARIO, encoding="utf-8")
    r = urbsd("run", "toy.yaml", cwd=folder)
    assert r.returncode == 0, r.stderr
    return folder / "results"


def with_previous_run(work: Path, toy_results: Path) -> None:
    shutil.copytree(toy_results, work / "results")


def check_outputs(folder: Path, first_year: int = 2020) -> tuple[pd.DataFrame, dict]:
    assert (folder / "timeseries.csv").is_file()
    assert (folder / "summary.json").is_file()
    png = folder / "charts" / "urbanization.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    frame = pd.read_csv(folder / "timeseries.csv")
    summary = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
    assert frame.columns[0] == "time"
    assert frame["time"].tolist() == list(range(first_year, 2036))
    for name in REQUIRED:
        assert name in frame.columns, name
    # every target in summary.json is the CSV's value in that year, exactly
    assert summary["targets"], "no targets"
    for t in summary["targets"]:
        assert set(t) == {"indicator", "year", "target", "value", "reached", "first_year"}
        csv_value = frame.loc[frame["time"] == t["year"], t["indicator"]].iloc[0]
        assert t["value"] == csv_value
        assert t["reached"] == (t["value"] >= t["target"])
        # first_year: the first saved year at or above the target, None if never
        at_or_above = frame.loc[frame[t["indicator"]] >= t["target"], "time"]
        assert t["first_year"] == (int(at_or_above.iloc[0]) if len(at_or_above) else None)
    # provenance
    assert len(summary["model"]["sha256"]) == 64
    assert len(summary["scenario_sha256"]) == 64
    assert summary["model"]["name"] and summary["model"]["path"]
    assert {"name", "label", "path"} <= set(summary["scenario"])
    assert summary["package_version"]
    assert summary["method"] in ("euler", "heun", "rk4") and summary["dt"] > 0
    assert summary["final_year"]["year"] == 2035
    return frame, summary


# --------------------------------------------------------------------------- good runs


def test_run_toy_writes_three_files(work):
    r = urbsd("run", "toy.yaml", cwd=work)
    assert r.returncode == 0, r.stderr
    assert r.stderr == ""
    frame, summary = check_outputs(work / "results" / "toy")
    assert summary["scenario"]["name"] == "toy"
    assert summary["model"]["name"] == "toy_pingliang"
    import hashlib

    assert summary["model"]["sha256"] == hashlib.sha256(TOY_MODEL.read_bytes()).hexdigest()
    # the screen: milestone years, gaps in pp for missed targets, where files went
    for year in ("2020", "2025", "2030", "2035"):
        assert year in r.stdout
    for t in summary["targets"]:
        if not t["reached"]:
            gap = 100 * (t["value"] - t["target"])
            assert f"not reached: {100 * t['value']:.1f}% vs {100 * t['target']:g}% target, " \
                   f"{gap:.1f} pp" in r.stdout
    assert "results/toy" in r.stdout


def test_run_from_another_cwd_and_options(work, tmp_path_factory):
    elsewhere = tmp_path_factory.mktemp("elsewhere")
    r = urbsd("run", str(work / "toy.yaml"), "--out", "out", "--dt", "0.5", "--method", "rk4",
              cwd=elsewhere)
    assert r.returncode == 0, r.stderr
    _, summary = check_outputs(elsewhere / "out" / "toy")
    assert summary["method"] == "rk4" and summary["dt"] == 0.5
    assert not (work / "results").exists()


def test_run_is_reproducible(work):
    assert urbsd("run", "toy.yaml", cwd=work).returncode == 0
    first = (work / "results" / "toy" / "timeseries.csv").read_bytes()
    s1 = json.loads((work / "results" / "toy" / "summary.json").read_text())
    assert urbsd("run", "toy.yaml", cwd=work).returncode == 0
    assert (work / "results" / "toy" / "timeseries.csv").read_bytes() == first
    assert json.loads((work / "results" / "toy" / "summary.json").read_text()) == s1


@pytest.mark.parametrize("lang, header", [("zh", "年份"), ("en", "Year")])
def test_run_xlsx_matches_the_csv(work, lang, header):
    """--format xlsx: a workbook beside the CSV, one sheet per table, headers in --lang, units row."""
    r = urbsd("run", "toy.yaml", "--format", "xlsx", "--lang", lang, cwd=work)
    assert r.returncode == 0, r.stderr
    folder = work / "results" / "toy"
    frame, summary = check_outputs(folder)
    assert (folder / "charts" / "urbanization.svg").is_file()
    sheets = pd.read_excel(folder / "toy.xlsx", sheet_name=None, header=None, engine="openpyxl")
    series = next(iter(sheets.values()))
    assert series.iloc[0, 0] == header and series.iloc[1, 0] in ("年", "year")
    table = pd.read_excel(folder / "toy.xlsx", sheet_name=0, header=2, engine="openpyxl")
    pd.testing.assert_frame_equal(table, frame, check_exact=True)
    assert len(sheets) >= 3  # time series, targets, ..., provenance


def test_check_prints_ok_and_writes_nothing(work):
    r = urbsd("check", "toy.yaml", cwd=work)
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("OK ")
    assert not (work / "results").exists()


def test_run_baseline_default(tmp_path):
    """`urbsd run` with no scenario runs the bundled baseline into ./results/baseline."""
    r = urbsd("run", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    frame, summary = check_outputs(tmp_path / "results" / "baseline", first_year=2010)
    assert summary["scenario"]["name"] == "baseline"
    assert {(t["indicator"], t["year"]) for t in summary["targets"]} >= {
        ("urbanization_rate", 2025), ("urbanization_rate", 2035)}
    # one run from 2010 (derived rate 29.9%) through the 2020 census (44.77%), both fitted
    rate = frame.set_index("time")["urbanization_rate"]
    assert rate[2010] == pytest.approx(0.2991, abs=0.03)  # derived 2010 rate, sigma 3 pp
    assert rate[2020] == pytest.approx(0.4477, abs=0.005)
    # the county map beside the urbanization chart, listed on the screen
    charts = tmp_path / "results" / "baseline" / "charts"
    assert (charts / "county-map.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (charts / "county-map.svg").is_file()
    assert "charts/county-map.png, charts/county-map.svg}" in r.stdout


def test_run_files_are_the_same_bytes_drawn_early_side_by_side_or_in_one_process(tmp_path):
    """As shipped, a helper process warms up while the model runs and draws the charts side by
    side (simulator/outputs/drawing.py; on a machine with two cores or more); drawn one after
    another in the command's own process, every file is the same to the byte."""
    shipped, serial = tmp_path / "shipped", tmp_path / "serial"
    assert urbsd("run", "--out", str(shipped), cwd=tmp_path).returncode == 0
    env = dict(os.environ, PYTHONPATH=str(ROOT), PYTHONWARNINGS="error::UserWarning")
    one = ("import simulator.outputs.drawing as d; d.workers_for = lambda n: 1; "
           "from simulator.cli import main; raise SystemExit(main())")
    r = subprocess.run([sys.executable, "-c", one, "run", "--out", str(serial)], cwd=tmp_path, env=env,
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    a, b = tree(shipped), tree(serial)
    assert a == b and "baseline/charts/county-map.svg" in a


@pytest.mark.parametrize("year", ["2035", "2009"])
def test_run_map_from_outside_the_run_is_one_line_and_writes_nothing(tmp_path, year):
    r = urbsd("run", "--map-from", year, cwd=tmp_path)
    assert r.returncode == 2
    assert r.stderr.count("\n") == 1 and "--map-from" in r.stderr and year in r.stderr
    assert "Traceback" not in r.stderr and r.stdout == ""
    assert not (tmp_path / "results").exists()


# --------------------------------------------------------------------------- bad input

BAD = {
    # name: (scenario file text, extra files, expected words in the one stderr line)
    "malformed_yaml": ("name: x\nset: {migration_rate: [1,\n", {}, ["bad.yaml", "YAML"]),
    "unknown_constant": ("model: toy_model.yaml\nset: {migraton_rate: 0.02}\n", {},
                         ["bad.yaml", "migraton_rate", "migration_rate"]),
    "wrong_type": ("model: toy_model.yaml\nset: {migration_rate: abc}\n", {},
                   ["bad.yaml", "migration_rate"]),
    "out_of_bounds": ("model: toy_model.yaml\nset: {migration_rate: 0.5}\n", {},
                      ["bad.yaml", "migration_rate", "bounds"]),
    "year_outside_run": (
        "model: toy_model.yaml\n"
        "targets: [{indicator: urbanization_rate, year: 2040, value: 0.7}]\n", {},
        ["bad.yaml", "year", "2040"]),
    "bad_equation_in_model": (
        "model: broken_model.yaml\n",
        {"broken_model.yaml": ("equation: rural * migration_rate",
                               "equation: rural * migration_rat +")},
        ["broken_model.yaml", "migration", "equation"]),
    "unknown_name_in_model": (
        "model: broken_model.yaml\n",
        {"broken_model.yaml": ("equation: rural * migration_rate",
                               "equation: rural * migration_rat")},
        ["broken_model.yaml", "migration_rat"]),
}


def assert_one_line_error(r: subprocess.CompletedProcess, words: list[str]) -> None:
    assert r.returncode == 2, (r.returncode, r.stdout, r.stderr)
    assert "Traceback" not in r.stderr
    lines = r.stderr.splitlines()
    assert len(lines) == 1, r.stderr
    assert lines[0].startswith("urbsd: error: ")
    for w in words:
        assert w in lines[0], (w, lines[0])


@pytest.mark.parametrize("case", sorted(BAD))
@pytest.mark.parametrize("previous_run", [False, True])
def test_bad_scenario_exit_2_nothing_written(work, toy_results, case, previous_run):
    text, extra, words = BAD[case]
    (work / "bad.yaml").write_text(text, encoding="utf-8")
    for name, (old, new) in extra.items():
        body = TOY_MODEL.read_text(encoding="utf-8")
        assert old in body
        (work / name).write_text(body.replace(old, new), encoding="utf-8")
    if previous_run:
        with_previous_run(work, toy_results)
    before = tree(work / "results")
    # alone, and after a good scenario: no output either way
    for args in (["run", "bad.yaml"], ["run", "toy.yaml", "bad.yaml"]):
        r = urbsd(*args, cwd=work)
        assert_one_line_error(r, words)
        assert tree(work / "results") == before
    r = urbsd("check", "bad.yaml", cwd=work)
    assert_one_line_error(r, words)


@pytest.mark.parametrize(
    "args, words",
    [
        (["run", "nothere.yaml"], ["nothere.yaml", "no such file"]),
        (["check", "nothere.yaml"], ["nothere.yaml", "no such file"]),
        (["run", "toy.yaml", "--dt", "0"], ["--dt"]),
        (["run", "toy.yaml", "--dt", "-0.25"], ["--dt"]),
        (["run", "toy.yaml", "--dt", "0.3"], ["--dt", "whole steps"]),
        (["run", "toy.yaml", "--dt", "abc"], ["--dt"]),
        (["run", "toy.yaml", "--method", "midpoint"], ["--method"]),
        (["run", "toy.yaml", "--bogus"], ["--bogus"]),
    ],
)
def test_bad_arguments_exit_2_nothing_written(work, toy_results, args, words):
    with_previous_run(work, toy_results)
    before = tree(work / "results")
    r = urbsd(*args, cwd=work)
    assert_one_line_error(r, words)
    assert tree(work / "results") == before


def test_dt_unstable_for_a_delay_exits_2_nothing_written(tmp_path):
    """A step that divides the year but is too long for a scenario's delay: refused, naming
    the option, the delay, its constant and the longest stable step (engine/stability.py)."""
    (tmp_path / "fast.yaml").write_text("name: fast\nextends: baseline\nset:\n  service_construction_delay: 1\n",
                                        encoding="utf-8")
    for option in (["--dt", "1"], ["--method", "euler", "--dt", "1"]):
        r = urbsd("run", "fast.yaml", *option, cwd=tmp_path)
        assert_one_line_error(r, ["command line: --dt:", "service_construction_delay = 1 year",
                                  "use a time step of 0.5 or less"])
        assert not (tmp_path / "results").exists()


def test_step_error_names_the_option_or_the_scenario():
    from argparse import Namespace

    from simulator.cli import _step_error
    from simulator.errors import StepTooLong

    exc = StepTooLong("smooth in 'x': d = 0.1 year ...")
    assert str(_step_error(Namespace(dt=1.0, method="rk4"), exc)).startswith("command line: --dt: smooth in 'x'")
    assert str(_step_error(Namespace(dt=None, method="euler"), exc)).startswith("command line: --method: ")
    assert str(_step_error(Namespace(dt=None, method=None, scenario="a.yaml"), exc)).startswith("a.yaml: ")
    # `urbsd sweep --method sobol` has no --dt: its --method is not the integration method
    assert str(_step_error(Namespace(method="sobol", scenario="s.yaml"), exc)).startswith("s.yaml: set/uncertain: ")


def test_bad_dt_creates_no_results_folder(work):
    r = urbsd("run", "toy.yaml", "--dt", "0.3", cwd=work)
    assert_one_line_error(r, ["--dt"])
    assert not (work / "results").exists()


def test_same_stem_twice_is_rejected(work):
    (work / "sub").mkdir()
    (work / "sub" / "toy.yaml").write_text(TOY_SCENARIO.replace("toy_model.yaml",
                                                                "../toy_model.yaml"))
    r = urbsd("run", "toy.yaml", "sub/toy.yaml", cwd=work)
    assert_one_line_error(r, ["toy"])
    assert not (work / "results").exists()


def test_interrupted_write_keeps_previous_results(work, toy_results, monkeypatch, capsys):
    """os.replace fails half-way through writing: the previous files stay intact."""
    from simulator.cli import main
    from simulator.outputs import writers

    with_previous_run(work, toy_results)
    (work / "toy.yaml").write_text(TOY_SCENARIO.replace("0.03}", "0.05}"), encoding="utf-8")
    before = tree(work / "results")
    real = os.replace
    calls = {"n": 0}

    def flaky(src, dst):
        calls["n"] += 1
        if calls["n"] == 2:
            raise OSError(28, "No space left on device", str(dst))
        return real(src, dst)

    monkeypatch.chdir(work)
    monkeypatch.setattr(writers.os, "replace", flaky)
    assert main(["run", "toy.yaml"]) == 1
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and "No space left on device" in err[0]
    monkeypatch.setattr(writers.os, "replace", real)
    assert tree(work / "results") == before


@pytest.mark.parametrize(
    "value, target, text",
    [
        (0.5270, 0.55, "not reached: 52.7% vs 55% target, -2.3 pp"),
        (0.5612, 0.55, "reached: 56.1% vs 55% target, +1.1 pp"),
        (0.5496, 0.55, "not reached: 54.960% vs 55% target, -0.04 pp"),
        (0.70, 0.70, "reached: 70.0% vs 70% target, +0.0 pp"),
    ],
)
def test_gap_text(value, target, text):
    from simulator.cli.run import target_text

    assert target_text({"value": value, "target": target, "reached": value >= target}) == text
