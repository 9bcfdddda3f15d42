"""The compiled kernel against the numpy path, side by side in one process, on the bundled baseline.

Prints (nothing here is a test: it measures and prints):
  * the machine: load average (before and after), processor, C compiler;
  * the kernel's first compile into an empty cache, and its load from the warm cache;
  * per-run cost of one batch of N Monte Carlo runs through the sweep's own evaluator
    (`ModelEvaluator`: the baseline's `uncertain:` inputs, posterior rows included, sampled as
    `urbsd sweep --method mc` does; the model's method and step), kernel and numpy in turn in
    this process, best of R repetitions, on one core; their ratio;
  * a 100,000-run Monte Carlo sweep's run time EXTRAPOLATED from that measured batch
    (per-run cost x 100,000; sampling, analysis and file writing not included);
  * one `simulator.run()` in process (the notebook API: the baseline to a DataFrame), best of
    R x 20 calls, on the kernel, and the same work (simulate, then `timeseries_frame`) on numpy;
  * peak memory of the batch: numpy allocations traced by tracemalloc (in this process), and
    each backend's peak resident set in a child process of its own during the batch (Linux:
    VmHWM reset just before the batch, against the resident set then).

Run: python benchmarks/kernel_speed.py [N] [R]   (defaults 5000 runs, best of 3)
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import tempfile
import time
import tracemalloc

import numpy as np

SEED = 1
SWEEP = 100_000
BACKENDS = ("kernel", "numpy")


def setup(n: int, backend: str):
    """The baseline, its Monte Carlo inputs (n rows) and the sweep evaluator on `backend`."""
    from simulator.analysis.sampling import to_values, unit_samples
    from simulator.analysis.sweep import ModelEvaluator
    from simulator.scenario.resolve import load_scenario

    scenario = load_scenario()
    names = list(scenario.uncertain)
    X = to_values(unit_samples("mc", n, len(names), SEED), [scenario.uncertain[k] for k in names])
    return scenario, X, ModelEvaluator(scenario, tuple(names), backend=backend)


def status_mib(field: str) -> float:
    """A field of /proc/self/status (VmRSS: resident now, VmHWM: peak resident), MiB."""
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    raise KeyError(field)


def child(n: int, backend: str) -> None:
    """One batch of n runs on `backend` in this (fresh) process; print its memory as JSON: the
    resident set before the batch and the peak during it (the peak is reset first, Linux)."""
    _, X, evaluator = setup(n, backend)
    evaluator(X[:4])  # compile or load the kernel, first-call allocations
    before = status_mib("VmRSS")
    with open("/proc/self/clear_refs", "w") as fh:
        fh.write("5")  # reset VmHWM to the current resident set
    evaluator(X)
    print(json.dumps({"before_mib": before, "peak_mib": status_mib("VmHWM")}))


def one_run(scenario, backend: str, reps: int) -> float:
    """Seconds of the fastest `simulator.run()` (kernel) or its numpy equivalent, `reps` x 20 calls."""
    from simulator import api
    from simulator.analysis.results import timeseries_frame
    from simulator.engine.compile import compiled
    from simulator.engine.integrate import simulate

    def call():
        if backend == "kernel":
            return api.run(scenario)  # what a notebook calls: the auto backend, the kernel here
        return timeseries_frame(simulate(compiled(scenario.spec), scenario.params, backend="numpy"))

    call()
    best = float("inf")
    for _ in range(reps * 20):
        t0 = time.perf_counter()
        call()
        best = min(best, time.perf_counter() - t0)
    return best


def first_compile(scenario) -> tuple[float, float, int]:
    """Seconds to build the baseline's kernel into an empty cache, then to load it from there."""
    from simulator.engine import kernel as K
    from simulator.engine.compile import compile_model

    with tempfile.TemporaryDirectory() as cache:
        old = os.environ.get(K.ENV_CACHE)
        os.environ[K.ENV_CACHE] = cache
        try:
            model = compile_model(scenario.spec)
            t0 = time.perf_counter()
            built = K.kernel_for(model)
            cold = time.perf_counter() - t0
            size = len(built.source.text)
            model = compile_model(scenario.spec)  # a new process's view: nothing kept in memory
            t0 = time.perf_counter()
            K.kernel_for(model)
            warm = time.perf_counter() - t0
        finally:
            if old is None:
                os.environ.pop(K.ENV_CACHE, None)
            else:
                os.environ[K.ENV_CACHE] = old
    return cold, warm, size


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 5000
    reps = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    from simulator.engine.kernel import find_compiler

    load0 = os.getloadavg()
    cpu = next((ln.split(":", 1)[1].strip() for ln in open("/proc/cpuinfo") if ln.startswith("model name")),
               platform.processor()) if os.path.exists("/proc/cpuinfo") else platform.processor()
    print(f"load average at start: {load0[0]:.2f} {load0[1]:.2f} {load0[2]:.2f}; {os.cpu_count()} cores; {cpu}")
    print(f"C compiler: {find_compiler().path}; numpy {np.__version__}; Python {platform.python_version()}")

    scenario, X, _ = setup(n, "auto")
    t = scenario.spec.time
    print(f"model {scenario.spec.name} sha256 {scenario.spec.sha256[:12]}, {t.method} dt={t.dt:g}, "
          f"{t.start:g}-{t.stop:g}; {len(scenario.uncertain)} uncertain inputs, batch of {n:,} runs, best of {reps}")

    cold, warm, size = first_compile(scenario)
    print(f"kernel first compile (empty cache): {cold:.2f} s ({size / 1024:.0f} KiB of C); "
          f"load from the warm cache: {1000 * warm:.1f} ms")

    per_run: dict[str, float] = {}
    traced: dict[str, int] = {}
    outputs: dict[str, np.ndarray] = {}
    for backend in BACKENDS:
        _, _, evaluator = setup(4, backend)
        evaluator(X[:4])  # compile/load and warm up outside the timing
        best = float("inf")
        for _ in range(reps):
            t0 = time.perf_counter()
            outputs[backend] = evaluator(X)
            best = min(best, time.perf_counter() - t0)
        per_run[backend] = best / n
        tracemalloc.start()
        evaluator(X)
        traced[backend] = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    diff = float(np.max(np.abs(outputs["kernel"] - outputs["numpy"])))

    print()
    print(f"{'':38}{'kernel':>12}{'numpy':>12}{'numpy/kernel':>14}")
    k, p = per_run["kernel"], per_run["numpy"]
    print(f"{'per run, batch of %d (us)' % n:38}{1e6 * k:>12.1f}{1e6 * p:>12.1f}{p / k:>14.1f}")
    print(f"{'100,000-run MC, EXTRAPOLATED (s)':38}{SWEEP * k:>12.2f}{SWEEP * p:>12.2f}{p / k:>14.1f}")
    single = {b: one_run(scenario, b, reps) for b in BACKENDS}
    print(f"{'one simulator.run() in process (ms)':38}{1e3 * single['kernel']:>12.2f}{1e3 * single['numpy']:>12.2f}"
          f"{single['numpy'] / single['kernel']:>14.1f}")
    print(f"{'tracemalloc peak of the batch (MiB)':38}{traced['kernel'] / 2**20:>12.1f}"
          f"{traced['numpy'] / 2**20:>12.1f}{traced['numpy'] / max(traced['kernel'], 1):>14.1f}")
    rss = {}
    for backend in BACKENDS:
        out = subprocess.run([sys.executable, __file__, "--child", str(n), backend], capture_output=True,
                             text=True, check=True)
        rss[backend] = json.loads(out.stdout.strip().splitlines()[-1])
    grow = {b: rss[b]["peak_mib"] - rss[b]["before_mib"] for b in BACKENDS}
    print(f"{'peak RSS in the batch, child (MiB)':38}{rss['kernel']['peak_mib']:>12.0f}{rss['numpy']['peak_mib']:>12.0f}")
    print(f"{'  above the RSS before it (MiB)':38}{grow['kernel']:>12.1f}{grow['numpy']:>12.1f}"
          f"{grow['numpy'] / max(grow['kernel'], 0.1):>14.1f}")
    print(f"largest difference of the recorded outputs, kernel - numpy: {diff:.3g}")
    print("the 100,000-run figures are extrapolated from the measured batch (run time only, one core)")
    load1 = os.getloadavg()
    print(f"load average at end: {load1[0]:.2f} {load1[1]:.2f} {load1[2]:.2f}")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child(int(sys.argv[2]), sys.argv[3])
    else:
        main()
