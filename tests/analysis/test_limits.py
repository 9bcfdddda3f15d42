"""Bounded work: requests that would run out of memory are refused in one line before any
run starts (naming the limit and how to split the work); --workers is capped at the CPUs."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from simulator.analysis.limits import (
    MAX_CALL_BYTES,
    MAX_SWEEP_BYTES,
    available_cpus,
    cap_workers,
    max_runs_per_call,
    run_bytes,
    sweep_bytes,
)
from simulator.cli import main

BASELINE = str(Path(__file__).resolve().parents[2] / "scenarios" / "baseline.yaml")


@pytest.mark.parametrize("argv, words", [
    (["sweep", BASELINE, "--method", "sobol", "--samples", "10000000"], ["--samples", "GB", "limit", "confidence"]),
    (["sweep", BASELINE, "--method", "mc", "--samples", "10000000"], ["--samples", "limit"]),
    (["sweep", BASELINE, "--method", "mc", "--samples", "1000", "--chunk-size", "10000000"],
     ["--chunk-size", "limit"]),
    (["goal-seek", BASELINE, "--lever", "hukou_openness", "--grid", "10000000"], ["--grid", "limit"]),
    (["goal-seek", BASELINE, "--lever", "hukou_openness", "--lever", "urban_rural_income_ratio",
      "--grid", "2000"], ["--grid", "two levers"]),
    (["report", BASELINE, "--samples", "100000000"], ["--samples", "limit"]),
])
def test_huge_requests_are_refused_before_any_run(argv, words, tmp_path, capsys):
    t0 = time.perf_counter()
    assert main(argv + ["--out", str(tmp_path)]) == 2
    elapsed = time.perf_counter() - t0
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and err[0].startswith("urbsd: error: command line: "), err
    for w in words:
        assert w in err[0], (w, err[0])
    assert list(tmp_path.iterdir()) == []
    assert elapsed < 30  # refused from the estimate, not after running out of memory


def test_the_largest_accepted_request_fits_the_budget():
    from simulator.engine.compile import compiled
    from simulator.scenario.resolve import load_scenario

    model = compiled(load_scenario().spec)
    assert 2_000 < max_runs_per_call(model) and max_runs_per_call(model) * run_bytes(model) <= MAX_CALL_BYTES
    assert sweep_bytes(1000, 12, 34) < MAX_SWEEP_BYTES < sweep_bytes(10_000_000, 12, 34)


def test_workers_are_capped_at_the_cpus_with_a_notice():
    cpus = available_cpus()
    assert cap_workers(None) == (cpus, None)
    assert cap_workers(1) == (1, None)
    workers, notice = cap_workers(cpus + 14)
    assert workers == cpus and f"--workers {cpus + 14} capped at {cpus}" in notice


def test_sweep_prints_the_workers_notice(tmp_path, capsys):
    argv = ["sweep", BASELINE, "--method", "mc", "--samples", "8", "--workers", "64", "--out", str(tmp_path)]
    assert main(argv) == 0
    err = capsys.readouterr().err
    assert f"note: --workers 64 capped at {available_cpus()}" in err
