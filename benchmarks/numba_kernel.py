"""numba against the compiled C kernel, side by side in one process, on the shipped model (issue #12).

The project's compiled kernel is generated C (simulator/engine/c_code.py, built with cc, loaded
with ctypes). This measures the other candidate the issue named, numba, built the same way:
benchmarks/numba_codegen.py writes, from the same `Program`, a numba module with the C kernel's
structure (loop over runs inside, lanes of runs side by side, one contiguous workspace,
constants-only sub-expressions once per run, lookups with precomputed slopes, RK4 at the model's
dt, the recorded outputs saved), compiled with @njit (error_model="numpy", no fastmath).

Prints (it measures and prints figures; it is not a test):
  * the machine: load average before and after, processor, numba / llvmlite / numpy / Python;
  * correctness: every recorded output of the numba kernel against the numpy path
    (`simulate(..., backend="numpy")`, the reference) on a batch of Monte Carlo parameter sets,
    the largest relative difference (the C kernel's too, for comparison); the check is 1e-12;
  * per-run cost of one batch of N Monte Carlo runs (the baseline's `uncertain:` samples, as
    benchmarks/kernel_speed.py draws them) through the sweep's evaluator
    (`ModelEvaluator(..., backend="kernel")`), best of R, with the C kernel and then with the
    numba kernel put in its place (the same call path, the same parameter sets), and the kernel
    call alone (the same arrays handed to each); their ratio;
  * first compile: the C kernel into an empty cache (kernel_speed.first_compile) and numba's JIT
    with its cache off (generation, then compiling every function);
  * with --cache: numba's on-disk cache (the module written to a temporary folder with cache=True,
    imported by a fresh process twice: cold, then warm).

Run:  python benchmarks/numba_kernel.py [N] [R] [--lanes=K] [--cache]
      (defaults: 2000 runs, best of 3, the C kernel's 4 lanes; one numba compile takes minutes)

numba is a benchmark-only dependency, not one of urbsd's: `pip install numba`. Nothing is
written outside temporary folders.
"""

from __future__ import annotations

import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.dont_write_bytecode = True  # no __pycache__ beside the benchmarks
sys.path.insert(0, str(Path(__file__).resolve().parent))

import numba_codegen  # noqa: E402  (beside this file)
from kernel_speed import first_compile, setup  # noqa: E402

#: the check: every recorded value within this relative difference of the numpy path
RTOL = 1e-12
#: runs of the correctness batch (all outputs recorded, numpy path included)
CHECK_RUNS = 256
#: the argument types of urbsd_run (compiled eagerly, so the first call compiles nothing)
SIGNATURE = ("(float64[::1], float64[:, ::1], int64[::1], float64[::1], int64, float64, float64, int64, int64, "
             "boolean, int64[::1], float64[:, :, ::1])")


class NumbaKernel:
    """The numba kernel with the C kernel's interface (`source` layout, `run`), so that
    `simulate` can call it in place of the C one."""

    def __init__(self, source: numba_codegen.NumbaSource, fn) -> None:
        self.source = source
        self._fn = fn

    def run(self, P0: np.ndarray, PV: np.ndarray, pv_cols: np.ndarray, TS: np.ndarray, start: float, dt: float,
            n_steps: int, save_every: int, method: str, ocol: np.ndarray, out: np.ndarray) -> None:
        """Fill `out` (n_runs, n_save, n_out), as `engine.kernel.Kernel.run` (Euler or RK4 only)."""
        if method not in ("euler", "rk4"):
            raise ValueError(f"the numba comparison kernel implements Euler and RK4, not {method}")
        rk4 = method == "rk4"
        f64 = np.float64
        self._fn(np.ascontiguousarray(P0, f64), np.ascontiguousarray(PV, f64), np.ascontiguousarray(pv_cols, np.int64),
                 np.ascontiguousarray(TS, f64).reshape(-1), self.source.n_ts, float(start), float(dt), int(n_steps),
                 int(save_every), bool(rk4), np.ascontiguousarray(ocol, np.int64), out)


def build_numba(model, series: frozenset[str] = frozenset(), lanes: int = 4) -> tuple[NumbaKernel, float, float]:
    """The numba kernel of a CompiledModel, JIT-compiled now (cache off): (kernel, seconds to
    generate and exec the source, seconds to compile every function)."""
    t0 = time.perf_counter()
    src = numba_codegen.generate(model.program, series, model.spec.name, lanes=lanes, cache=False)
    namespace: dict = {}
    exec(compile(src.text, f"<numba kernel {model.spec.name}>", "exec"), namespace)
    t1 = time.perf_counter()
    run = namespace["urbsd_run"]
    run.compile(SIGNATURE)
    run.disable_compile()  # a call with other types raises instead of compiling again
    return NumbaKernel(src, run), t1 - t0, time.perf_counter() - t1


def mc_params(scenario, model, names: list[str], X: np.ndarray) -> dict:
    """The constants of the runs X (n, len(names)) as ModelEvaluator.__call__ builds them."""
    n = X.shape[0]
    params = dict(scenario.params)
    for j, name in enumerate(names):
        col = np.ascontiguousarray(X[:, j])
        base, _, element = name.partition("[")
        if element:
            width = model.widths[base]
            current = np.asarray(params[base] if base in params else
                                 model.declared(base, model.default_constants()[base], lead=1), dtype=float)
            arr = np.broadcast_to(current.reshape(-1, width) if current.ndim else current, (n, width)).copy()
            dim = model.dims[base][0]
            arr[:, list(scenario.spec.elements(dim)).index(element.rstrip("]"))] = col
            params[base] = arr
        else:
            params[name] = np.repeat(col[:, None], model.widths[name], axis=1) if model.dims.get(name) else col
    return params


def rel_diff(a: np.ndarray, b: np.ndarray) -> tuple[float, int]:
    """(largest |a - b| / |b| pointwise, number of values off by more than RTOL so); equal values
    (NaN included) count 0; where b is 0 and a is not, the difference is infinite."""
    same = (a == b) | (np.isnan(a) & np.isnan(b))
    with np.errstate(divide="ignore", invalid="ignore"):
        d = np.where(same, 0.0, np.abs(a - b) / np.abs(b))
    d = np.where(np.isnan(d), np.inf, d)
    return float(d.max(initial=0.0)), int(np.count_nonzero(d > RTOL))


def scale_diff(a: np.ndarray, b: np.ndarray) -> tuple[float, int]:
    """tests/engine/test_kernel.py's measure: |a - b| over the series scale (the largest |b| over
    time of that run and element), and the values off by more than RTOL of it; a NaN, infinity
    or exact zero in one series only counts as infinitely off."""
    finite = np.isfinite(b)
    odd = (finite != np.isfinite(a)) | ((a == 0) != (b == 0)) | \
        (~finite & ~((a == b) | (np.isnan(a) & np.isnan(b))))
    a, b = np.where(finite, a, 0.0), np.where(finite, b, 0.0)
    scale = np.max(np.abs(b), axis=1, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        d = np.where(a == b, 0.0, np.abs(a - b) / scale)
    d = np.where(odd | np.isnan(d), np.inf, d)
    return float(d.max(initial=0.0)), int(np.count_nonzero(d > RTOL))


def check(scenario, model, key: frozenset, kernels: dict, names: list[str], X: np.ndarray) -> dict[str, tuple]:
    """Every recorded output (all of model.variables) of each kernel against the numpy path:
    label -> (pointwise worst, values off, worst of the series scale, values off, values,
    variables, the variable of the pointwise worst); and "numba vs C": values not bit-identical."""
    from simulator.engine.integrate import simulate

    params = mc_params(scenario, model, names, X)
    n = X.shape[0]
    ref = simulate(model, params, n, backend="numpy").data
    found, got = {}, {}
    for label, kern in kernels.items():
        model.kernels[key] = kern
        got[label] = simulate(model, params, n, backend="kernel").data
        worst, bad, sworst, sbad, values, where = 0.0, 0, 0.0, 0, 0, ""
        for var, r in ref.items():
            d, k = rel_diff(got[label][var], r)
            e, m = scale_diff(got[label][var], r)
            if d > worst:
                worst, where = d, var
            bad, sworst, sbad, values = bad + k, max(sworst, e), sbad + m, values + r.size
        found[label] = (worst, bad, sworst, sbad, values, len(ref), where)
    a, b = got.values()
    found["numba vs C"] = sum(int(np.count_nonzero(~((a[v] == b[v]) | (np.isnan(a[v]) & np.isnan(b[v])))))
                              for v in ref)
    return found


def time_calls(evaluator, model, key: frozenset, kernels: dict, X: np.ndarray, reps: int):
    """Best seconds of evaluator(X) and of the kernel call alone, per kernel, repetitions interleaved."""
    captured = {}
    first = next(iter(kernels.values()))

    class Spy:  # records the arrays the evaluator hands to the kernel
        source = first.source

        def run(self, *args):
            captured["args"] = args
            first.run(*args)

    spy = Spy()
    spy.p0 = getattr(first, "p0", None)
    model.kernels[key] = spy
    evaluator(X)
    args = captured["args"]
    whole = {k: float("inf") for k in kernels}
    alone = {k: float("inf") for k in kernels}
    outs = {}
    for _ in range(reps):
        for label, kern in kernels.items():
            model.kernels[key] = kern
            t0 = time.perf_counter()
            outs[label] = evaluator(X)
            whole[label] = min(whole[label], time.perf_counter() - t0)
            out = np.empty_like(args[-1])
            t0 = time.perf_counter()
            kern.run(*args[:-1], out)
            alone[label] = min(alone[label], time.perf_counter() - t0)
    return whole, alone, outs


def numba_cache(model, lanes: int) -> tuple[float, float] | None:
    """Seconds for a fresh process to import the numba module with cache=True and compile it
    (empty cache), then for a second fresh process to do the same from the warm cache."""
    src = numba_codegen.generate(model.program, frozenset(), model.spec.name, lanes=lanes, cache=True)
    code = ("import sys, time, numba; sys.path.insert(0, sys.argv[1]); t0 = time.perf_counter(); import urbsd_nb; "
            f"urbsd_nb.urbsd_run.compile('{SIGNATURE}'); print(time.perf_counter() - t0)")
    with tempfile.TemporaryDirectory() as folder:
        (Path(folder) / "urbsd_nb.py").write_text(src.text, encoding="utf-8")
        env = {**os.environ, "NUMBA_CACHE_DIR": str(Path(folder) / "cache")}
        seconds = []
        for _ in range(2):
            out = subprocess.run([sys.executable, "-c", code, folder], capture_output=True, text=True, env=env)
            if out.returncode != 0:
                print(f"numba cache test failed: {out.stderr.strip().splitlines()[-1:]}")
                return None
            seconds.append(float(out.stdout.strip().splitlines()[-1]))
    return seconds[0], seconds[1]


def main(argv: list[str]) -> None:
    import llvmlite
    import numba

    flags = [a for a in argv if a.startswith("--")]
    args = [a for a in argv if not a.startswith("--")]
    n = int(args[0]) if args else 2000
    reps = int(args[1]) if len(args) > 1 else 3
    lanes = next((int(a.split("=", 1)[1]) for a in flags if a.startswith("--lanes=")), 4)
    load0 = os.getloadavg()
    cpu = next((ln.split(":", 1)[1].strip() for ln in open("/proc/cpuinfo") if ln.startswith("model name")),
               platform.processor()) if os.path.exists("/proc/cpuinfo") else platform.processor()
    print(f"load average at start: {load0[0]:.2f} {load0[1]:.2f} {load0[2]:.2f}; {os.cpu_count()} cores; {cpu}")
    print(f"numba {numba.__version__}, llvmlite {llvmlite.__version__}, numpy {np.__version__}, "
          f"Python {platform.python_version()}; NUMBA_OPT={numba.config.OPT}")

    from simulator.engine.compile import compiled
    from simulator.engine.kernel import ENV_CACHE

    # the C kernel the evaluator loads is built into a temporary cache, not the user's
    os.environ[ENV_CACHE] = tempfile.mkdtemp(prefix="urbsd-numba-bench-")
    scenario, X, evaluator = setup(n, "kernel")
    # the numba kernel implements Euler and RK4, as the C kernel did when the two were compared
    # (2026-12-01): a model of another method is run by RK4 here, on both kernels
    scenario.spec.time.method = evaluator.integration = "rk4"
    names = list(scenario.uncertain)
    t = scenario.spec.time
    print(f"model {scenario.spec.name} sha256 {scenario.spec.sha256[:12]}, {t.method} dt={t.dt:g}, "
          f"{t.start:g}-{t.stop:g}; {len(names)} uncertain inputs, batch of {n:,} runs, best of {reps}, "
          f"{lanes} lanes (C kernel: 4)")

    c_cold, c_warm, c_size = first_compile(scenario)
    evaluator(X[:4])  # builds and loads the C kernel (into the temporary cache set above)
    model = compiled(scenario.spec)
    (key, c_kernel), = model.kernels.items()
    nb_kernel, nb_gen, nb_jit = build_numba(model, key, lanes)
    src = nb_kernel.source
    print(f"C kernel: {c_kernel.source.lines} lines of C ({c_size / 1024:.0f} KiB); numba: {src.lines} lines of "
          f"Python ({len(src.text) / 1024:.0f} KiB), {src.functions} @njit functions, {src.hoisted} hoisted")

    kernels = {"C kernel": c_kernel, "numba": nb_kernel}
    found = check(scenario, model, key, kernels, names, X[:CHECK_RUNS])
    runs = min(CHECK_RUNS, n)
    print()
    for label in kernels:
        worst, bad, sworst, sbad, values, variables, where = found[label]
        verdict = "AGREES" if sbad == 0 else f"DOES NOT AGREE ({sbad:,} values)"
        print(f"{label} vs numpy path, {variables} recorded outputs x {runs} runs ({values:,} values):")
        print(f"  largest difference relative to the series scale (test_kernel.py's measure) {sworst:.3g}: "
              f"{verdict} to {RTOL:g}")
        print(f"  largest pointwise relative difference {worst:.3g} (in {where}); {bad:,} values beyond {RTOL:g}")
    print(f"numba vs C kernel, every recorded output: {found['numba vs C']:,} values not bit-identical")
    whole, alone, outs = time_calls(evaluator, model, key, kernels, X, reps)
    model.kernels[key] = c_kernel
    d_eval, _ = rel_diff(outs["numba"], outs["C kernel"])
    print(f"evaluator outputs, numba vs C kernel ({outs['numba'].size:,} values): largest relative difference "
          f"{d_eval:.3g}")

    print()
    c_e, n_e, c_a, n_a = whole["C kernel"], whole["numba"], alone["C kernel"], alone["numba"]
    print(f"{'':44}{'C kernel':>12}{'numba':>12}{'numba/C':>10}")
    print(f"{'per run, sweep evaluator, batch of %d (us)' % n:44}{1e6 * c_e / n:>12.1f}{1e6 * n_e / n:>12.1f}"
          f"{n_e / c_e:>10.2f}")
    print(f"{'per run, kernel call alone (us)':44}{1e6 * c_a / n:>12.1f}{1e6 * n_a / n:>12.1f}{n_a / c_a:>10.2f}")
    c_first, n_first = c_cold, nb_gen + nb_jit
    print(f"{'first compile, empty cache / JIT (s)':44}{c_first:>12.2f}{n_first:>12.2f}{n_first / c_first:>10.1f}")
    print(f"  C: generate + cc into an empty cache, {1000 * c_warm:.1f} ms to load from the warm cache; numba: "
          f"generate + exec {nb_gen:.2f} s, JIT of every function {nb_jit:.2f} s (cache off)")
    if "--cache" in flags:
        found_cache = numba_cache(model, lanes)
        if found_cache:
            print(f"  numba cache=True in a fresh process: {found_cache[0]:.2f} s into an empty cache, "
                  f"{found_cache[1]:.2f} s from the warm cache")
    import shutil

    shutil.rmtree(os.environ[ENV_CACHE], ignore_errors=True)
    load1 = os.getloadavg()
    print(f"load average at end: {load1[0]:.2f} {load1[1]:.2f} {load1[2]:.2f}")


if __name__ == "__main__":
    main(sys.argv[1:])
