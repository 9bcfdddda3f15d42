"""Sweeps: SALib analysis through the sweep code path, target probabilities, chunking,
resuming, local processes and dask, files and the command line."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from simulator.analysis.sampling import sampling_groups, to_values, unit_samples
from simulator.analysis.sensitivity import analyze, target_probabilities
from simulator.analysis.sweep import ModelEvaluator, chunk_folder, run_sweep, sensitivity, sweep_key
from simulator.cli import main
from simulator.engine import compile as engine_compile
from simulator.engine.compile import compiled
from simulator.engine.integrate import simulate
from simulator.outputs.sweep_files import write_sweep
from simulator.scenario.resolve import load_scenario
from simulator.scenario.schema import Distribution, Target

# Ishigami function, a = 7, b = 0.1, x_i ~ U(-pi, pi): analytic Sobol' indices
# (Ishigami & Homma 1990; Saltelli et al. 2008, Global Sensitivity Analysis, 4.4).
ISHIGAMI_A, ISHIGAMI_B = 7.0, 0.1
ISHIGAMI_S1 = (0.3139, 0.4424, 0.0)
ISHIGAMI_ST = (0.5576, 0.4424, 0.2437)


def ishigami(X: np.ndarray) -> np.ndarray:
    """The Ishigami function of each row (picklable: module level)."""
    x1, x2, x3 = X[:, 0], X[:, 1], X[:, 2]
    return np.sin(x1) + ISHIGAMI_A * np.sin(x2) ** 2 + ISHIGAMI_B * x3**4 * np.sin(x1)


@pytest.fixture(scope="module")
def baseline():
    return load_scenario()


def _scenario_file(tmp_path: Path, targets: list[dict] | None = None, uncertain: dict | None = None) -> Path:
    import yaml

    body: dict = {"name": "probe", "extends": "baseline"}
    if targets is not None:
        body["targets"] = targets
    if uncertain is not None:
        body["uncertain"] = uncertain
    path = tmp_path / "probe.yaml"
    path.write_text(yaml.safe_dump(body), encoding="utf-8")
    return path


# --------------------------------------------------------------------------- analysis


def test_ishigami_sobol_indices_match_the_analytic_values_within_salib_confidence():
    dists = [Distribution("uniform", low=-math.pi, high=math.pi)] * 3
    result = sensitivity(ishigami, ["x1", "x2", "x3"], dists, "sobol", 2**12, columns=["y"],
                            seed=1, chunk_size=5000, progress=False)
    assert result.runs == 2**12 * (3 + 2)
    rows = {r["parameter"]: r for r in result.indices}
    for i, name in enumerate(("x1", "x2", "x3")):
        r = rows[name]
        assert abs(r["S1"] - ISHIGAMI_S1[i]) <= r["S1_conf"], (name, r)
        assert abs(r["ST"] - ISHIGAMI_ST[i]) <= r["ST_conf"], (name, r)
        assert r["S1_conf"] < 0.05 and r["ST_conf"] < 0.05  # the check above is not vacuous


def test_morris_ranks_ishigami_inputs_and_mc_gives_rank_correlations():
    dists = [Distribution("uniform", low=-math.pi, high=math.pi)] * 3
    morris = sensitivity(ishigami, ["x1", "x2", "x3"], dists, "morris", 200, columns=["y"], seed=3,
                            progress=False)
    assert morris.runs == 200 * 4
    mu_star = {r["parameter"]: r["mu_star"] for r in morris.indices}
    assert min(mu_star["x1"], mu_star["x2"]) > mu_star["x3"] > 0

    # y = 2 x1 - x2: rank correlation +, -, and 0 for x3 (independent)
    mc = sensitivity(lambda X: 2 * X[:, :1] - X[:, 1:2], ["x1", "x2", "x3"], dists, "mc", 4000,
                        columns=["y"], seed=3, progress=False)
    rho = {r["parameter"]: r["spearman_rho"] for r in mc.indices}
    assert rho["x1"] > 0.8 and rho["x2"] < -0.3 and abs(rho["x3"]) < 0.05


def test_target_probability_of_a_small_table_is_the_hand_count():
    Y = np.array([[0.50], [0.55], [0.60], [np.nan], [0.549999]])
    t = target_probabilities(Y, ["urbanization_rate@2025"], [Target("urbanization_rate", 2025, 0.55)])[0]
    # reached: 0.55 and 0.60 (value >= target); NaN is not reached
    assert (t["reached"], t["runs"], t["nan_runs"]) == (2, 5, 1)
    assert t["probability"] == 2 / 5


def test_sweep_target_probability_equals_a_hand_count_over_direct_runs(baseline, tmp_path):
    # targets at the sweep's own medians, so the counts are neither 0 nor all runs
    probe = run_sweep(baseline, "mc", 300, seed=7, chunk_size=128, progress=False)
    kongtong = baseline.spec.elements("county").index("kongtong")
    median_2030 = float(np.median(probe.outputs[:, probe.columns.index("urbanization_rate@2030")]))
    # the direct runs set the sampled values themselves (not through the sweep's evaluator);
    # a posterior column `name[element]` sets one element of a county constant
    params = dict(baseline.params)
    counties = baseline.spec.elements("county")
    for j, n in enumerate(probe.names):
        base, _, element = n.partition("[")
        if element:
            if np.ndim(params.get(base)) < 2:  # the scenario's (or the model's) value in every run
                value = params.get(base, baseline.spec.constants[base].value)
                row = [value[c] for c in counties] if isinstance(value, dict) else value
                params[base] = np.tile(np.asarray(row, dtype=float), (probe.runs, 1))
            params[base][:, counties.index(element.rstrip("]"))] = probe.values[:, j]
        else:
            params[n] = probe.values[:, j]
    assert any("[" in n for n in probe.names)  # the element-wise path above is exercised
    run = simulate(compiled(baseline.spec), params, n_runs=probe.runs,
                   outputs=["urbanization_rate", "county_urbanization_rate"])
    y2030, y2035 = list(run.times).index(2030), list(run.times).index(2035)
    median_k = float(np.median(run.data["county_urbanization_rate"][:, y2035, kongtong]))
    scenario = load_scenario(_scenario_file(tmp_path, [
        {"indicator": "urbanization_rate", "year": 2030, "value": median_2030},
        {"indicator": "county_urbanization_rate[kongtong]", "year": 2035, "value": median_k},
    ]))
    result = run_sweep(scenario, "mc", 300, seed=7, chunk_size=128, progress=False)
    assert np.array_equal(result.values, probe.values)

    hand = sum(1 for v in run.data["urbanization_rate"][:, y2030] if v >= median_2030)
    assert 0 < hand < result.runs
    assert result.targets[0]["reached"] == hand
    assert result.targets[0]["probability"] == hand / result.runs
    hand_k = sum(1 for v in run.data["county_urbanization_rate"][:, y2035, kongtong] if v >= median_k)
    assert 0 < hand_k < result.runs
    assert result.targets[1]["reached"] == hand_k


# --------------------------------------------------------------------------- sampling


def test_values_follow_each_distribution_and_stay_inside_the_bounds():
    q = np.array([[0.0, 0.0, 0.0, 0.0], [0.5, 0.5, 0.5, 0.5], [1.0, 1.0, 1.0, 1.0], [0.3, 0.3, 0.3, 0.3]])
    dists = [Distribution("uniform", low=1, high=3), Distribution("normal", mean=0.5, sd=1.0),
             Distribution("triangular", low=0, mode=1, high=4), Distribution("discrete", values=(1, 2, 5))]
    X = to_values(q, dists, [None, (0.0, 1.0), None, None])
    assert X[:, 0].tolist() == [1, 2, 3, 1.6]
    assert np.all(np.isfinite(X)) and X[:, 1].min() >= 0.0 and X[:, 1].max() <= 1.0
    assert X[1, 1] == pytest.approx(0.5)  # the truncated normal keeps its symmetric median
    assert X[0, 2] == 0 and X[2, 2] == 4
    assert set(X[:, 3]) <= {1, 2, 5}
    unbounded = to_values(np.array([[0.0], [1.0]]), [Distribution("normal", mean=0, sd=1)])
    assert np.all(np.isfinite(unbounded))


def test_sample_counts_follow_salib_and_the_seed():
    assert unit_samples("sobol", 8, 5, 0).shape == (8 * 7, 5)
    assert unit_samples("morris", 6, 5, 0).shape == (6 * 6, 5)
    assert unit_samples("mc", 9, 5, 0).shape == (9, 5)
    assert np.array_equal(unit_samples("sobol", 8, 5, 4), unit_samples("sobol", 8, 5, 4))
    assert not np.array_equal(unit_samples("sobol", 8, 5, 4), unit_samples("sobol", 8, 5, 5))


# --------------------------------------------------------------------------- chunks, resume, parallel


def test_chunked_results_equal_a_single_chunk(baseline):
    small = run_sweep(baseline, "sobol", 32, seed=2, chunk_size=37, progress=False)
    whole = run_sweep(baseline, "sobol", 32, seed=2, chunk_size=10**6, progress=False)
    # Saltelli's N(k + 2) with k the inputs: the baseline's posterior block counts once
    assert whole.groups.count("posterior") == 1 and len(whole.groups) < len(baseline.uncertain)
    assert small.runs == whole.runs == 32 * (len(whole.groups) + 2)
    assert np.array_equal(small.outputs, whole.outputs)
    assert small.indices == whole.indices and small.targets == whole.targets


def test_local_processes_give_the_in_process_result(baseline):
    one = run_sweep(baseline, "mc", 400, seed=5, chunk_size=100, workers=1, progress=False)
    two = run_sweep(baseline, "mc", 400, seed=5, chunk_size=100, workers=2, progress=False)
    assert np.array_equal(one.outputs, two.outputs)


def test_dask_cluster_gives_the_in_process_result(baseline):
    from distributed import LocalCluster

    local = run_sweep(baseline, "sobol", 16, seed=9, chunk_size=20, progress=False)
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None) as cluster:
        remote = run_sweep(baseline, "sobol", 16, seed=9, chunk_size=20, scheduler=cluster.scheduler_address,
                              progress=False)
    assert np.array_equal(local.outputs, remote.outputs)
    assert local.indices == remote.indices


def test_an_interrupted_sweep_resumes_from_its_chunks_and_equals_an_uninterrupted_one(baseline, tmp_path):
    args = dict(seed=11, chunk_size=50, progress=False)
    clean = run_sweep(baseline, "mc", 420, **args)  # 9 chunks

    finished: list[int] = []

    def interrupt(i: int) -> None:
        finished.append(i)
        if len(finished) == 3:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_sweep(baseline, "mc", 420, out_root=tmp_path, on_chunk=interrupt, **args)
    folder = chunk_folder(tmp_path, baseline, sweep_key(baseline, "mc", 420, 11, 50))
    assert sorted(p.name for p in folder.glob("chunk-*.npy")) == [f"chunk-{i:06d}.npy" for i in range(3)]
    assert not list(folder.glob(".*.tmp"))  # atomic writes leave no partial files

    recomputed: list[int] = []
    resumed = run_sweep(baseline, "mc", 420, out_root=tmp_path, on_chunk=recomputed.append, **args)
    assert recomputed == list(range(3, 9))
    assert np.array_equal(resumed.outputs, clean.outputs)
    assert resumed.indices == clean.indices and resumed.targets == clean.targets


def test_stale_or_damaged_chunks_are_never_reused(baseline, tmp_path):
    key = sweep_key(baseline, "mc", 100, 1, 50)
    assert key != sweep_key(baseline, "mc", 100, 2, 50)  # seed
    assert key != sweep_key(baseline, "mc", 100, 1, 25)  # chunk size
    assert key != sweep_key(baseline, "sobol", 100, 1, 50)  # method
    assert key != sweep_key(baseline, "mc", 101, 1, 50)  # N
    folder = chunk_folder(tmp_path, baseline, key)
    folder.mkdir(parents=True)
    (folder / "chunk-000000.npy").write_bytes(b"not a numpy file")
    np.save(folder / "chunk-000001.npy", np.zeros((7, 3)))  # wrong shape
    recomputed: list[int] = []
    result = run_sweep(baseline, "mc", 100, seed=1, chunk_size=50, out_root=tmp_path,
                          on_chunk=recomputed.append, progress=False)
    assert recomputed == [0, 1]
    assert np.array_equal(result.outputs, run_sweep(baseline, "mc", 100, seed=1, chunk_size=50,
                                                       progress=False).outputs)


# --------------------------------------------------------------------------- files and CLI


def test_cli_sweep_writes_files_and_reruns_bit_identically(baseline, tmp_path, capsys):
    groups = sampling_groups(list(baseline.uncertain), list(baseline.uncertain.values()))
    runs = 16 * (len(groups) + 2)
    argv = ["sweep", str(Path("scenarios/baseline.yaml").resolve()), "--method", "sobol", "--samples", "16",
            "--seed", "3", "--workers", "1", "--chunk-size", "40"]
    assert main(argv + ["--out", str(tmp_path / "a")]) == 0
    out = capsys.readouterr().out
    assert "P(urbanization_rate >= 55% in 2025)" in out
    folder = tmp_path / "a" / "baseline-sweep"
    names = ["samples.parquet", "indices.csv", "summary.json", "charts/fan.png", "charts/fan.svg",
             "charts/indices.png", "charts/indices.svg"]
    assert all((folder / n).is_file() for n in names)
    assert not list((tmp_path / "a").glob(".*"))  # chunk folder and staging removed

    summary = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
    assert [(t["indicator"], t["year"], t["target"]) for t in summary["targets"]] == [
        ("urbanization_rate", 2025, 0.55), ("urbanization_rate", 2035, 0.70)]
    assert all(0 <= t["probability"] <= 1 for t in summary["targets"])
    assert (summary["method"], summary["samples"], summary["runs"], summary["seed"]) == ("sobol", 16, runs, 3)
    assert len(summary["model"]["sha256"]) == 64 and len(summary["scenario_sha256"]) == 64

    import pandas as pd

    table = pd.read_parquet(folder / "samples.parquet")
    assert len(table) == runs and "rural_to_town_rate" in table and "county_town_pull[kongtong]" in table
    indices = pd.read_csv(folder / "indices.csv")
    assert {"output", "parameter", "S1", "S1_conf", "ST", "ST_conf"} <= set(indices.columns)

    assert main(argv + ["--out", str(tmp_path / "b")]) == 0
    for n in names:
        assert (folder / n).read_bytes() == (tmp_path / "b" / "baseline-sweep" / n).read_bytes(), n


def test_write_sweep_in_english_lists_the_svg_files(baseline, tmp_path, monkeypatch):
    from simulator.outputs import drawing
    from simulator.outputs.charts import sweep as charts

    calls: list = []

    def fake(*args, **kwargs):
        calls.append(kwargs)
        path = Path(args[3] if len(args) > 3 else args[2])
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"png")
        path.with_suffix(".svg").write_bytes(b"svg")
        return path

    monkeypatch.setattr(charts, "fan_chart", fake)
    monkeypatch.setattr(charts, "indices_chart", fake)
    monkeypatch.setattr(drawing, "workers_for", lambda n: 1)  # drawn here, so `calls` sees them
    result = run_sweep(baseline, "mc", 20, seed=1, chunk_size=20, progress=False)
    paths = write_sweep(result, tmp_path / "out", lang="en")
    assert [c["lang"] for c in calls] == ["en", "en"]
    assert calls[0]["title"] == "Pingliang resident urbanization rate: uncertainty — Baseline (trend)"
    assert calls[1]["title"] == "Parameter sensitivity — Baseline (trend)"
    assert paths["fan_chart_svg"].read_bytes() == b"svg" and paths["indices_chart_svg"].read_bytes() == b"svg"
    files = json.loads(paths["summary"].read_text(encoding="utf-8"))["files"]
    assert (files["fan_chart_svg"], files["indices_chart_svg"]) == ("charts/fan.svg", "charts/indices.svg")
    with pytest.raises(ValueError, match="fr"):
        write_sweep(result, tmp_path / "fr", lang="fr")
    assert not (tmp_path / "fr").exists()


@pytest.mark.parametrize("extra, field", [
    (["--samples", "0"], "--samples"),
    (["--samples", "10", "--workers", "0"], "--workers"),
    (["--samples", "10", "--chunk-size", "0"], "--chunk-size"),
])
def test_cli_sweep_rejects_bad_numbers_in_one_line(tmp_path, capsys, extra, field):
    code = main(["sweep", "scenarios/baseline.yaml", "--method", "mc", *extra, "--out", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 2 and field in err and len(err.strip().splitlines()) == 1
    assert not list(tmp_path.iterdir())


def test_cli_sweep_without_uncertain_constants_is_bad_input(tmp_path, capsys):
    path = tmp_path / "fixed.yaml"
    path.write_text("name: fixed\nmodel: pingliang\n", encoding="utf-8")
    code = main(["sweep", str(path), "--method", "mc", "--samples", "10", "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 2 and "uncertain" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "out").exists()


def test_the_model_evaluator_survives_pickling_for_remote_workers(baseline):
    import pickle

    names = tuple(baseline.uncertain)
    evaluator = ModelEvaluator(baseline, names)
    X = to_values(unit_samples("mc", 5, len(names), 0), [baseline.uncertain[n] for n in names])
    copy = pickle.loads(pickle.dumps(evaluator))
    engine_compile._COMPILED.clear()  # as on a fresh worker: compile again from the pickled spec
    assert np.array_equal(copy(X), evaluator(X))
    assert copy.column_names == evaluator.column_names


@pytest.mark.parametrize("method", ["sobol", "morris"])
def test_seed_zero_fixes_the_bootstrap_intervals_too(method):
    # SALib 1.6 tests `if seed:` in sobol.analyze, so a plain 0 would leave the CIs unseeded
    unit = unit_samples(method, 64, 3, 0)
    y = ishigami(to_values(unit, [Distribution("uniform", low=-math.pi, high=math.pi)] * 3))
    first = analyze(method, ["x1", "x2", "x3"], unit, y, ["y"], seed=0)
    np.random.seed(12345)  # disturb the global generator between the two calls
    assert analyze(method, ["x1", "x2", "x3"], unit, y, ["y"], seed=0) == first
    assert np.array_equal(unit, unit_samples(method, 64, 3, 0))
