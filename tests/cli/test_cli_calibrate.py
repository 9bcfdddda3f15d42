"""`urbsd calibrate`: what it writes and where, the out-of-sample table, bad input."""

from __future__ import annotations

import pytest
import yaml
from calib_helpers import element_spec, toy_spec

from simulator.cli import main
from simulator.scenario.resolve import load_scenario

FAST = ["--samples", "32", "--starts", "1", "--walkers", "8", "--steps", "40", "--draws", "100"]


@pytest.fixture
def spec(tmp_path, write_model):
    return toy_spec(tmp_path, write_model, noise=0.5)


def test_calibrate_writes_the_scenario_and_its_posterior_which_a_scenario_can_draw_from(spec, tmp_path, capsys):
    out = tmp_path / "out"
    report = tmp_path / "fit.md"
    assert main(["calibrate", "--spec", str(spec), "--out", str(out), "--report", str(report), *FAST]) == 0
    screen = capsys.readouterr().out
    assert "MAPE" in screen and "posterior: 8 walkers x 40 steps" in screen
    assert sorted(p.name for p in out.iterdir()) == ["calibration-posterior.csv", "calibration.yaml"]
    text = (out / "calibration.yaml").read_text(encoding="utf-8")
    data = yaml.safe_load(text)
    assert set(data["set"]) == {"migration_rate", "death_rate"}
    assert "Posterior: emcee" in text and "calibration-posterior.csv" in text
    assert load_scenario(out / "calibration.yaml").kind == "support"  # not a policy: compare skips it
    body = (out / "calibration-posterior.csv").read_text(encoding="utf-8").splitlines()
    header = next(ln for ln in body if not ln.startswith("#"))
    assert header == "draw,migration_rate,death_rate,log_prob"
    assert "| parameter |" in report.read_text(encoding="utf-8")
    # a scenario beside them extends the calibration and draws from its posterior
    child = out / "child.yaml"
    child.write_text("name: child\nextends: calibration\nuncertain: {posterior: calibration-posterior.csv}\n",
                     encoding="utf-8")
    scenario = load_scenario(child)
    assert scenario.params["migration_rate"] == pytest.approx(data["set"]["migration_rate"])
    assert {d.dist for d in scenario.uncertain.values()} == {"posterior"}


def test_no_posterior_writes_the_map_scenario_only(spec, tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["calibrate", "--spec", str(spec), "--out", str(out), "--no-posterior", *FAST[:4]]) == 0
    assert [p.name for p in out.iterdir()] == ["calibration.yaml"]
    assert "not sampled" in (out / "calibration.yaml").read_text(encoding="utf-8")


def test_holdout_fits_up_to_the_cutoff_and_writes_the_out_of_sample_table_only(spec, tmp_path, capsys):
    out = tmp_path / "held"
    assert main(["calibrate", "--spec", str(spec), "--out", str(out), "--holdout-after", "5", *FAST]) == 0
    assert [p.name for p in out.iterdir()] == ["calibration-holdout.md"]
    table = (out / "calibration-holdout.md").read_text(encoding="utf-8")
    assert "up to 5 only" in table and "| share | 10 |" in table and "| total | 10 |" in table
    assert "| share | 5 |" not in table  # fitted, not predicted
    screen = capsys.readouterr().out
    assert "fitted up to 5" in screen and "out of sample share 10" in screen


def test_the_checkout_scenarios_folder_is_the_default_and_an_installed_package_is_refused(
        spec, tmp_path, monkeypatch, capsys):
    import simulator.bundled as bundled

    installed = tmp_path / "venv" / "lib" / "site-packages" / "simulator" / "scenarios"
    installed.mkdir(parents=True)
    monkeypatch.setattr(bundled, "scenarios_dir", lambda: installed)
    assert main(["calibrate", "--spec", str(spec), *FAST]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "installed package" in err and "pip install -e ." in err and "--out" in err
    assert list(installed.iterdir()) == []
    # a checkout (scenarios/ beside pyproject.toml) is written to
    checkout = tmp_path / "repo"
    (checkout / "scenarios").mkdir(parents=True)
    (checkout / "pyproject.toml").write_text("", encoding="utf-8")
    monkeypatch.setattr(bundled, "scenarios_dir", lambda: checkout / "scenarios")
    assert main(["calibrate", "--spec", str(spec), "--no-posterior", *FAST[:4]]) == 0
    assert (checkout / "scenarios" / "calibration.yaml").is_file()


@pytest.mark.parametrize("argv, field", [
    (["--walkers", "3"], "--walkers"),
    (["--walkers", "7"], "--walkers"),  # odd
    (["--steps", "5"], "--steps"),
    (["--samples", "0"], "--samples"),
    (["--seed", "-1"], "--seed"),
    (["--holdout-after", "10"], "--holdout-after"),
    (["--holdout-after", "-1"], "--holdout-after"),
    (["--spec", "no/such/spec.yaml"], "--spec"),
    (["--walkers", "100000000"], "--walkers"),  # one vectorized call too large for memory
    (["--steps", "100000000"], "--steps"),  # the chain would not fit in memory
    (["--samples", "1000000000"], "--samples"),
])
def test_bad_input_is_one_line_and_writes_nothing(spec, tmp_path, capsys, argv, field):
    out = tmp_path / "out"
    args = ["calibrate", "--spec", str(spec), "--out", str(out), *FAST, *argv]
    code = main(args)
    err = capsys.readouterr().err
    assert code == 2 and field in err and err.count("\n") == 1
    assert not out.exists()


def test_a_bad_spec_is_one_line(tmp_path, capsys):
    bad = tmp_path / "spec.yaml"
    bad.write_text("name: x\nmodel: pingliang\n", encoding="utf-8")
    assert main(["calibrate", "--spec", str(bad), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "spec.yaml" in err and "required" in err


def test_an_element_wise_fit_is_written_as_a_mapping_that_a_scenario_reads(tmp_path, write_model, capsys):
    spec = element_spec(tmp_path, write_model)
    out = tmp_path / "out"
    assert main(["calibrate", "--spec", str(spec), "--out", str(out), *FAST]) == 0
    data = yaml.safe_load((out / "calibration.yaml").read_text(encoding="utf-8"))
    assert set(data["set"]["rate"]) == {"a", "b"} and data["set"]["rate"]["a"] == 0.1  # a keeps the model's value
    header = next(ln for ln in (out / "calibration-posterior.csv").read_text(encoding="utf-8").splitlines()
                  if not ln.startswith("#"))
    assert header == "draw,rate[b],log_prob"
    child = out / "child.yaml"
    child.write_text("name: child\nextends: calibration\nuncertain: {posterior: calibration-posterior.csv}\n",
                     encoding="utf-8")
    scenario = load_scenario(child)
    assert list(scenario.params["rate"]) == [0.1, pytest.approx(data["set"]["rate"]["b"])]
    assert scenario.uncertain["rate[b]"].dist == "posterior"
