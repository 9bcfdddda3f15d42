"""What a new user trips over: bundled scenario names, support files among scenarios, a rate
target written as 70, Morris screening read as a probability, one goal-seek folder per question."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml

from simulator.analysis.goalseek import parse_target
from simulator.cli import main
from simulator.scenario.resolve import load_scenario

ROOT = Path(__file__).resolve().parents[2]
SCENARIOS = ROOT / "scenarios"


def test_run_finds_a_bundled_scenario_by_name(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["check", "central-pull"]) == 0
    assert "scenario 'central-pull'" in capsys.readouterr().out
    assert main(["run", "central-pull", "--out", "out"]) == 0
    assert (tmp_path / "out" / "central-pull" / "summary.json").is_file()


def test_a_local_file_wins_over_a_bundled_name_and_a_typo_is_suggested(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["check", "central-pul"]) == 2
    err = capsys.readouterr().err
    assert "no bundled scenario of that name (did you mean 'central-pull'?)" in err
    (tmp_path / "central-pull").write_text("extends: baseline\nname: mine\n", encoding="utf-8")
    assert main(["check", "central-pull"]) == 0
    assert "scenario 'mine'" in capsys.readouterr().out


def test_support_files_say_so_in_the_file():
    raw = yaml.safe_load((SCENARIOS / "calibration.yaml").read_text(encoding="utf-8"))
    assert raw["kind"] == "support"
    assert load_scenario(SCENARIOS / "calibration.yaml").kind == "support"
    assert load_scenario(SCENARIOS / "baseline.yaml").kind == "scenario"  # not inherited from its parent


def test_compare_skips_support_files_with_a_notice(tmp_path, capsys):
    folder = tmp_path / "scenarios"
    folder.mkdir()
    for name in ("baseline", "calibration", "hukou-open"):
        shutil.copy(SCENARIOS / f"{name}.yaml", folder / f"{name}.yaml")
    shutil.copy(SCENARIOS / "calibration-posterior.csv", folder)  # the baseline's uncertain: draws from it
    (folder / "fit-posterior.yaml").write_text("kind: support\nextends: calibration\n", encoding="utf-8")
    paths = sorted(str(p) for p in folder.glob("*.yaml"))
    assert main(["compare", *paths, "--out", str(tmp_path / "out")]) == 0
    captured = capsys.readouterr()
    notes = [line for line in captured.err.splitlines() if "support file" in line]
    assert len(notes) == 2 and all(line.startswith("urbsd: note: skipped ") for line in notes)
    data = json.loads((tmp_path / "out" / "compare" / "comparison.json").read_text(encoding="utf-8"))
    assert sorted(s["name"] for s in data["scenarios"]) == ["baseline", "hukou-open"]
    assert main(["compare", str(folder / "calibration.yaml"), "--out", str(tmp_path / "out2")]) == 2
    assert "support file" in capsys.readouterr().err


@pytest.mark.parametrize("text, value", [("urbanization_rate=70%@2035", 0.70), ("urbanization_rate=0.7@2035", 0.7),
                                         ("hukou_urbanization_rate=55.5%@2030", 0.555)])
def test_rate_targets_accept_shares_and_percentages(text, value):
    spec = load_scenario().spec
    assert parse_target(text, spec).value == pytest.approx(value)


@pytest.mark.parametrize("text, words", [
    ("urbanization_rate=70@2035", ["share between 0 and 1", "0.7 or 70%"]),
    ("urbanization_rate=1.5@2035", ["share between 0 and 1"]),
    ("resident_population=70%@2035", ["not a share"]),
])
def test_rate_targets_above_one_are_refused(text, words, tmp_path, capsys):
    argv = ["goal-seek", str(SCENARIOS / "baseline.yaml"), "--lever", "hukou_openness", "--target", text,
            "--out", str(tmp_path)]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and all(w in err for w in words), err
    assert list(tmp_path.iterdir()) == []


def test_morris_gives_no_probability(tmp_path, capsys):
    # the baseline draws its fitted constants from a posterior file, which Morris refuses (no order);
    # a scenario with only per-constant ranges (and the baseline's targets)
    probe = tmp_path / "probe.yaml"
    probe.write_text(yaml.safe_dump({
        "name": "probe", "extends": str(SCENARIOS / "calibration.yaml"),
        "targets": [{"indicator": "urbanization_rate", "year": 2025, "value": 0.55},
                    {"indicator": "urbanization_rate", "year": 2035, "value": 0.70}],
        "uncertain": {"labour_productivity_growth": {"dist": "uniform", "low": 0.04, "high": 0.08},
                      "chain_growth_after_target": {"dist": "uniform", "low": 0.03, "high": 0.07}}}),
        encoding="utf-8")
    argv = ["sweep", str(probe), "--method", "morris", "--samples", "2", "--workers", "1", "--out", str(tmp_path)]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "P(" not in out and "Morris gives no probability" in out
    summary = json.loads((tmp_path / "probe-sweep" / "summary.json").read_text(encoding="utf-8"))
    assert summary["targets"] and all(t["probability"] is None for t in summary["targets"])
    assert summary["probability_basis"].startswith("none")


def test_fan_chart_of_morris_draws_no_probability(tmp_path, monkeypatch):
    from matplotlib.figure import Figure

    from simulator.outputs.charts.sweep import fan_chart

    texts: list[str] = []
    real = Figure.savefig

    def spy(fig, *a, **kw):
        texts.extend(t.get_text() for ax in fig.axes for t in ax.texts)
        return real(fig, *a, **kw)

    monkeypatch.setattr(Figure, "savefig", spy)
    bands = {k: [0.45, 0.53, 0.64] for k in ("p5", "p25", "p50", "p75", "p95")}
    targets = [{"indicator": "urbanization_rate", "year": 2035, "target": 0.70, "probability": None,
                "reached": 3, "runs": 26}]
    fan_chart([2020, 2025, 2035], bands, targets, tmp_path / "f.png", title="t", source_line="s", lang="en")
    assert "2035 target 70%" in texts and not any("probability" in t for t in texts)
