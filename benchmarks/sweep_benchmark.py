"""Sweep throughput and memory: the vectorized engine against a one-run-at-a-time reference.

Prints, side by side in one run:
  * runs per second of a Monte Carlo sweep of the bundled baseline's uncertain constants,
    in-process and in local worker processes, for a few chunk sizes;
  * the whole `urbsd sweep --method mc` path (sampling, runs, analysis, Parquet/CSV/JSON/
    charts) for N runs on 2 processes, with its wall time and peak memory;
  * the reference: PySD running the Vensim export of the same model on the same samples when
    `simulator/interop/vensim.py` exists, else the engine itself one run per call (it says which);
  * the ratio engine / reference.

Each configuration runs in a fresh subprocess so its peak memory (ru_maxrss of the process
and of its worker processes) is its own. Run from the repo: python benchmarks/sweep_benchmark.py [N] [N_REF]
"""

from __future__ import annotations

import importlib.util
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
if importlib.util.find_spec("simulator") is None:  # run from a checkout that is not installed
    sys.path.insert(0, str(ROOT))
SEED = 1
CHUNKS = (2000, 5000)


def _setup(n: int):
    from simulator.analysis.sampling import to_values, unit_samples
    from simulator.analysis.sweep import ModelEvaluator
    from simulator.engine.compile import compiled
    from simulator.scenario.resolve import load_scenario

    scenario = load_scenario()
    names = list(scenario.uncertain)
    dists = [scenario.uncertain[k] for k in names]
    X = to_values(unit_samples("mc", n, len(names), SEED), dists)
    evaluator = ModelEvaluator(scenario, tuple(names))
    compiled(scenario.spec)  # compile outside the timing
    return scenario, names, X, evaluator


def _cpu() -> float:
    """CPU seconds used so far by this process and its finished children (user + system)."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def _peak_mib() -> dict[str, float]:
    me = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return {"peak_self_mib": me, "peak_child_mib": kids}


def one(config: dict) -> dict:
    """Run one configuration in this process; return its figures."""
    n = config["n"]
    if config["kind"] == "engine":
        from simulator.analysis.chunks import evaluate_chunks

        _, _, X, evaluator = _setup(n)
        c0, t0 = _cpu(), time.perf_counter()
        evaluate_chunks(evaluator, X, chunk_size=config["chunk"], workers=config["workers"], progress=False)
        seconds = time.perf_counter() - t0
        return {**config, "seconds": seconds, "runs_per_s": n / seconds, "cpu_s": _cpu() - c0, **_peak_mib()}
    if config["kind"] == "full":
        from simulator.analysis.chunks import remove_chunks
        from simulator.analysis.sweep import run_sweep
        from simulator.outputs.sweep_files import write_sweep
        from simulator.scenario.resolve import load_scenario

        c0, t0 = _cpu(), time.perf_counter()
        scenario = load_scenario()
        with tempfile.TemporaryDirectory() as tmp:
            result = run_sweep(scenario, "mc", n, seed=SEED, workers=config["workers"], out_root=tmp,
                               progress=False)
            t_runs = time.perf_counter() - t0
            write_sweep(result, Path(tmp) / "baseline-sweep")
            remove_chunks(Path(tmp))
        seconds = time.perf_counter() - t0
        return {**config, "seconds": seconds, "runs_seconds": t_runs, "runs_per_s": n / seconds,
                "cpu_s": _cpu() - c0, **_peak_mib()}
    if config["kind"] == "reference":
        return _reference(config)
    raise ValueError(config["kind"])


def _reference(config: dict) -> dict:
    """PySD on the Vensim export if there is one, else the engine one run per call."""
    n = config["n"]
    scenario, names, X, evaluator = _setup(n)
    if importlib.util.find_spec("simulator.interop.vensim") is not None:
        return {**config, **_pysd(scenario, names, X)}
    from simulator.engine.compile import compiled
    from simulator.engine.integrate import simulate

    model = compiled(scenario.spec)
    outputs = list(dict.fromkeys(c.variable for c in evaluator.columns))
    c0, t0 = _cpu(), time.perf_counter()
    for i in range(n):
        simulate(model, {k: float(X[i, j]) for j, k in enumerate(names)}, outputs=outputs)
    seconds = time.perf_counter() - t0
    return {**config, "what": "the engine itself, one run per call (simulator/interop/vensim.py does not exist yet)",
            "seconds": seconds, "runs_per_s": n / seconds, "cpu_s": _cpu() - c0}


def _pysd(scenario, names, X) -> dict:
    """PySD (read_vensim on the export) run once per sample row."""
    import pysd

    from simulator.engine.atomic import atomic_write_text
    from simulator.interop.vensim import scenario_vensim

    with tempfile.TemporaryDirectory() as tmp:
        path = atomic_write_text(Path(tmp) / "pingliang.mdl", scenario_vensim(scenario))
        t_read = time.perf_counter()
        model = pysd.read_vensim(str(path))
        t_read = time.perf_counter() - t_read
        warnings.simplefilter("ignore")  # PySD warns at every lookup extrapolation; printing them costs time
        # PySD sets a constant whole: an element of a subscripted one (`county_town_pull[kongtong]`)
        # is not a name it takes, so only the scalar uncertain constants vary in its runs
        scalars = [(j, k) for j, k in enumerate(names) if "[" not in k]
        c0, t0 = _cpu(), time.perf_counter()
        for i in range(len(X)):
            model.run(params={k: float(X[i, j]) for j, k in scalars},
                      return_columns=["urbanization_rate", "hukou_urbanization_rate"])
        seconds = time.perf_counter() - t0
    from simulator.engine.integrate import STAGES

    t = scenario.spec.time
    return {"what": f"PySD {pysd.__version__} running the Vensim export by Euler at dt {t.dt:g} (urbsd: {t.method}, "
                    f"{STAGES[t.method]} rate evaluations a step), {len(scalars)} of the "
                    f"{len(names)} uncertain inputs varied (read_vensim {t_read:.1f} s, not counted)",
            "seconds": seconds, "runs_per_s": len(X) / seconds, "cpu_s": _cpu() - c0}


def _spawn(config: dict) -> dict:
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    out = subprocess.run([sys.executable, __file__, "--one", json.dumps(config)], capture_output=True,
                         text=True, env=env, cwd=ROOT, check=False)
    if out.returncode != 0:
        raise SystemExit(f"configuration {config} failed:\n{out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    if len(sys.argv) > 2 and sys.argv[1] == "--one":
        print(json.dumps(one(json.loads(sys.argv[2]))))
        return
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    n_ref = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    from simulator.bundled import bundled_model_path
    from simulator.engine.load import load_model

    spec = load_model(bundled_model_path())
    print(f"load average at the start: {os.getloadavg()[0]:.1f}")
    print(f"model {spec.name} ({spec.sha256[:12]}), baseline uncertain constants, Monte Carlo, "
          f"{os.cpu_count()} CPUs, numpy {np.__version__}")
    rows = []
    for workers in (1, 2):
        for chunk in CHUNKS:
            r = _spawn({"kind": "engine", "n": n, "workers": workers, "chunk": chunk})
            rows.append(r)
            print(f"engine  workers={workers} chunk={chunk:>6}: {n:,} runs in {r['seconds']:6.2f} s = "
                  f"{r['runs_per_s']:9,.0f} runs/s ({n / r['cpu_s']:,.0f} per CPU-second); peak RSS {r['peak_self_mib']:,.0f} MiB (+ workers "
                  f"{r['peak_child_mib']:,.0f} MiB each at most)")
    full = _spawn({"kind": "full", "n": n, "workers": 2})
    print(f"urbsd sweep --method mc --samples {n:,} (2 processes, all files): {full['seconds']:.2f} s, "
          f"{full['cpu_s']:.1f} CPU-s "
          f"(runs {full['runs_seconds']:.2f} s), peak RSS {full['peak_self_mib']:,.0f} MiB + workers "
          f"{full['peak_child_mib']:,.0f} MiB each at most; target < 20 s and < 2 GiB")
    ref = _spawn({"kind": "reference", "n": n_ref})
    best = max(rows, key=lambda r: r["runs_per_s"])
    print(f"reference: {ref['what']}: {n_ref} runs in {ref['seconds']:.2f} s = {ref['runs_per_s']:,.3g} runs/s "
          f"({n_ref / ref['cpu_s']:,.3g} per CPU-second)")
    one_core = max((r for r in rows if r["workers"] == 1), key=lambda r: r["runs_per_s"])
    for label, r in (("best", best), ("one process", one_core)):
        print(f"ratio   : {label} (workers={r['workers']}, chunk={r['chunk']}) {r['runs_per_s']:,.0f} runs/s / "
              f"reference {ref['runs_per_s']:,.3g} runs/s = {r['runs_per_s'] / ref['runs_per_s']:,.0f}x wall; "
              f"{(n / r['cpu_s']) / (n_ref / ref['cpu_s']):,.0f}x per CPU-second (target >= 10,000x PySD)")
    load = os.getloadavg()[0]
    print(f"load average at the end: {load:.1f} on {os.cpu_count()} CPUs"
          + (" -- other work shared the CPUs; wall figures are pessimistic, CPU-second figures less so"
             if load > 1.5 * (os.cpu_count() or 1) / 2 else ""))


if __name__ == "__main__":
    main()
