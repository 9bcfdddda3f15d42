"""Batch sensitivity sweeps: sample a scenario's `uncertain:` constants, run, analyse.

`urbsd sweep SCENARIO --method sobol|morris|mc --samples N` goes through four steps, each
a public function so a closed-form function can stand in for the model (tests use the
Ishigami function):

1. `unit_samples(method, n, k, seed)`: points in the unit cube [0, 1]^k -- SALib's
   Saltelli/Sobol' sequence (`sobol`, N(k+2) rows, first and total order only), SALib's
   Morris trajectories (`morris`, N(k+1) rows on a 4-level grid), or plain Monte Carlo
   (`mc`, N rows from numpy's PCG64).
2. `to_values(unit, distributions, bounds)`: each column mapped through its
   `Distribution.ppf` (inverse CDF). SALib's own `dists` are not used: they know no
   discrete distribution. A normal distribution is truncated to the constant's bounds
   (its quantiles are rescaled into [F(low), F(high)]), so no run leaves the bounds.
   Sobol' and Morris indices are computed on the unit-cube coordinates: Sobol' indices do
   not change under such monotone maps; Morris mu* is per unit of quantile.
3. `evaluate_chunks(evaluator, X, ...)`: the evaluator (a picklable callable, X (n, k) ->
   Y (n, m)) runs chunk by chunk, in-process, in local worker processes, or on a
   dask.distributed cluster. Finished chunks are saved atomically to a chunk folder keyed
   by a hash of everything that determines them, so an interrupted sweep resumes.
4. `analyze(...)` (SALib's sobol/morris analysers; Spearman rank correlation for `mc`)
   and `target_probabilities(...)`.

`run_sweep(scenario, ...)` does all four for a scenario with `ModelEvaluator`, and
`write_sweep(result, out_dir)` writes the files. Same inputs and seed: bit-identical files.
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import shutil
import sys
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from simulator import __version__
from simulator.errors import InputError

__all__ = [
    "METHODS",
    "ModelEvaluator",
    "SweepResult",
    "analyze",
    "chunk_key",
    "evaluate_chunks",
    "run_sweep",
    "sensitivity",
    "target_probabilities",
    "to_values",
    "unit_samples",
    "write_sweep",
]

METHODS = ("sobol", "morris", "mc")
#: the seed used when none is given, so that a plain rerun reproduces the files
DEFAULT_SEED = 0
#: runs per chunk; 1,000-5,000 were fastest per run on the 2-core dev machine
#: (benchmarks/sweep_benchmark.py prints the figures), and memory per chunk stays small
DEFAULT_CHUNK = 2000
#: SALib's defaults: grid levels of Morris trajectories, bootstrap resamples, CI level
MORRIS_LEVELS = 4
RESAMPLES = 100
CONF_LEVEL = 0.95
#: an unbounded normal maps quantile 0 or 1 (Morris' grid ends) to +-inf; clip to these tails
NORMAL_TAIL = 1e-6
#: recorded every saved year for every run (the fan chart and the Parquet file)
SERIES = ("urbanization_rate", "hukou_urbanization_rate")
#: percentiles of the fan chart and of summary.json (5-95 and 25-75 bands, median)
PERCENTILES = (5, 25, 50, 75, 95)

Evaluator = Callable[[np.ndarray], np.ndarray]


# --------------------------------------------------------------------------- 1. sampling


def samples_rows(method: str, n: int, k: int) -> int:
    """Number of model runs that `n` samples of `k` constants give for `method`."""
    return {"sobol": n * (k + 2), "morris": n * (k + 1), "mc": n}[method]


def _problem(k: int, names: Sequence[str] | None = None) -> dict[str, Any]:
    names = list(names) if names is not None else [f"x{i + 1}" for i in range(k)]
    return {"num_vars": k, "names": names, "bounds": [[0.0, 1.0]] * k}


def unit_samples(method: str, n: int, k: int, seed: int) -> np.ndarray:
    """Sample points in [0, 1]^k for `method`: (N(k+2), k) sobol, (N(k+1), k) morris, (N, k) mc."""
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, not {method!r}")
    if n < 1 or k < 1:
        raise ValueError(f"need n >= 1 and k >= 1, got n={n}, k={k}")
    if method == "mc":
        return np.random.default_rng(seed).random((n, k))
    with warnings.catch_warnings():
        # SALib warns when N is not a power of 2 (the CLI says so once, in its own words)
        warnings.simplefilter("ignore", UserWarning)
        if method == "sobol":
            from SALib.sample import sobol

            return sobol.sample(_problem(k), n, calc_second_order=False, seed=seed)
        from SALib.sample import morris

        return morris.sample(_problem(k), n, num_levels=MORRIS_LEVELS, seed=seed)


def to_values(unit: np.ndarray, distributions: Sequence[Any],
              bounds: Sequence[tuple[float, float] | None] | None = None) -> np.ndarray:
    """Map unit-cube samples column by column through each Distribution's ppf."""
    unit = np.asarray(unit, dtype=float)
    bounds = list(bounds) if bounds is not None else [None] * len(distributions)
    out = np.empty_like(unit)
    for j, (dist, bound) in enumerate(zip(distributions, bounds)):
        q = unit[:, j]
        if dist.dist == "normal":
            from scipy.stats import norm

            lo, hi = (0.0, 1.0) if bound is None else (
                float(norm.cdf(bound[0], dist.mean, dist.sd)), float(norm.cdf(bound[1], dist.mean, dist.sd)))
            q = np.clip(lo + q * (hi - lo), NORMAL_TAIL, 1.0 - NORMAL_TAIL)
        values = dist.ppf(q)
        if bound is not None:
            values = np.clip(values, bound[0], bound[1])
        out[:, j] = values
    return out


# --------------------------------------------------------------------------- 2. the model as an evaluator

_COMPILED: dict[str, Any] = {}


def _compiled(spec: Any) -> Any:
    """The compiled model of `spec`, compiled once per process (keyed by the file's sha256)."""
    model = _COMPILED.get(spec.sha256)
    if model is None:
        from simulator.compile import compile_model

        model = _COMPILED[spec.sha256] = compile_model(spec)
    return model


@dataclass(frozen=True)
class Column:
    """One recorded output: `variable` (element `element`) in `year`; named `name`."""

    name: str
    variable: str
    year: int
    element: int | None = None


def _column_name(indicator: str, year: int) -> str:
    return f"{indicator}@{year}"


@dataclass
class ModelEvaluator:
    """A picklable evaluator: one row of constant values per run -> the recorded outputs.

    The scenario's `set:` levers stay as they are; `names` are the uncertain constants
    (a county constant gets the sampled number for every county). Records SERIES every
    saved year and each target indicator in its year.
    """

    scenario: Any
    names: tuple[str, ...]
    dt: float | None = None
    integration: str = "euler"
    columns: tuple[Column, ...] = field(init=False)
    years: tuple[int, ...] = field(init=False)

    def __post_init__(self) -> None:
        spec = self.scenario.spec
        t = spec.time
        n_save = round((t.stop - t.start) / t.saveper) + 1
        self.years = tuple(int(round(t.start + i * t.saveper)) for i in range(n_save))
        cols: dict[str, Column] = {}
        for var in SERIES:
            for year in self.years:
                cols[_column_name(var, year)] = Column(_column_name(var, year), var, year)
        for target in self.scenario.targets:
            name = _column_name(target.indicator, target.year)
            if name in cols:
                continue
            var, _, element = target.indicator.partition("[")
            index = None
            if element:
                dim = spec.element(var).dims[0]
                index = list(spec.elements(dim)).index(element.rstrip("]"))
            cols[name] = Column(name, var, int(target.year), index)
        self.columns = tuple(cols.values())

    @property
    def column_names(self) -> list[str]:
        """Names of the output columns, in order."""
        return [c.name for c in self.columns]

    def __call__(self, X: np.ndarray) -> np.ndarray:
        """Run the model once per row of `X` (n, len(names)); return (n, len(columns))."""
        from simulator.integrate import simulate

        model = _compiled(self.scenario.spec)
        X = np.asarray(X, dtype=float)
        n = X.shape[0]
        params = dict(self.scenario.params)
        for j, name in enumerate(self.names):
            col = np.ascontiguousarray(X[:, j])
            params[name] = np.repeat(col[:, None], model.widths[name], axis=1) if model.dims.get(name) else col
        variables = list(dict.fromkeys(c.variable for c in self.columns))
        run = simulate(model, params, n_runs=n, dt=self.dt, method=self.integration, outputs=variables)
        index = {int(round(t)): i for i, t in enumerate(run.times)}
        out = np.empty((n, len(self.columns)))
        for j, c in enumerate(self.columns):
            data = run.data[c.variable]
            out[:, j] = data[:, index[c.year]] if c.element is None else data[:, index[c.year], c.element]
        return out


# --------------------------------------------------------------------------- 3. chunks


def chunk_key(**parts: Any) -> str:
    """sha256 of the canonical JSON of `parts`: everything a chunk's contents depend on."""
    text = json.dumps(parts, sort_keys=True, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _npy_bytes(a: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, a, allow_pickle=False)
    return buf.getvalue()


def _load_chunk(path: Path, rows: int) -> np.ndarray | None:
    """A saved chunk, or None when missing or unreadable (it is then recomputed)."""
    if not path.is_file():
        return None
    try:
        a = np.load(path, allow_pickle=False)
    except (OSError, ValueError):
        return None
    return a if a.ndim == 2 and a.shape[0] == rows else None


_WORKER_EVALUATOR: Evaluator | None = None


def _init_worker(evaluator: Evaluator) -> None:
    global _WORKER_EVALUATOR
    _WORKER_EVALUATOR = evaluator


def _worker_call(X: np.ndarray) -> np.ndarray:
    assert _WORKER_EVALUATOR is not None
    return _WORKER_EVALUATOR(X)


def _apply(evaluator: Evaluator, X: np.ndarray) -> np.ndarray:
    return evaluator(X)


def evaluate_chunks(
    evaluator: Evaluator,
    X: np.ndarray,
    *,
    chunk_size: int = DEFAULT_CHUNK,
    chunk_dir: str | Path | None = None,
    workers: int = 1,
    scheduler: str | None = None,
    progress: bool | None = None,
    on_chunk: Callable[[int], None] | None = None,
) -> np.ndarray:
    """Evaluate `X` (n, k) chunk by chunk; return Y (n, m) in row order.

    With `chunk_dir`, a chunk already saved there is loaded instead of run, and each newly
    finished chunk is saved atomically (`chunk-<index>.npy`). `scheduler` is a
    dask.distributed address (chunks go to its workers); else `workers` local processes
    (1: in this process). `on_chunk(index)` is called after each chunk is stored.
    `progress`: a tqdm bar on stderr (None: only when stderr is a terminal).
    """
    from tqdm import tqdm

    from simulator.writers import atomic_write_bytes

    X = np.asarray(X, dtype=float)
    n = X.shape[0]
    if chunk_size < 1:
        raise ValueError(f"chunk_size must be >= 1, not {chunk_size}")
    spans = [(a, min(a + chunk_size, n)) for a in range(0, n, chunk_size)]
    folder = Path(chunk_dir) if chunk_dir is not None else None
    results: list[np.ndarray | None] = [None] * len(spans)
    if folder is not None:  # created by the first chunk written (atomic_write_bytes)
        for i, (a, b) in enumerate(spans):
            results[i] = _load_chunk(folder / f"chunk-{i:06d}.npy", b - a)
    pending = [i for i, r in enumerate(results) if r is None]
    done_rows = n - sum(spans[i][1] - spans[i][0] for i in pending)
    bar = tqdm(total=n, initial=done_rows, unit="run", file=sys.stderr, desc="sweep", smoothing=0.1,
               disable=None if progress is None else not progress)

    def store(i: int, y: np.ndarray) -> None:
        a, b = spans[i]
        y = np.asarray(y, dtype=float)
        if y.ndim == 1:
            y = y[:, None]
        if y.shape[0] != b - a:
            raise RuntimeError(f"evaluator returned {y.shape[0]} rows for a chunk of {b - a}")
        if folder is not None:
            atomic_write_bytes(folder / f"chunk-{i:06d}.npy", _npy_bytes(y))
        results[i] = y
        bar.update(b - a)
        if on_chunk is not None:
            on_chunk(i)

    try:
        if not pending:
            pass
        elif scheduler is not None:
            _run_dask(evaluator, X, spans, pending, scheduler, store)
        elif workers > 1 and len(pending) > 1:
            _run_processes(evaluator, X, spans, pending, workers, store)
        else:
            for i in pending:
                a, b = spans[i]
                store(i, evaluator(X[a:b]))
    finally:
        bar.close()
    if not results:
        return np.empty((0, 0))
    widths = {r.shape[1] for r in results}
    if len(widths) != 1:
        raise RuntimeError(f"chunks have different numbers of output columns: {sorted(widths)}")
    return np.concatenate(results, axis=0)


def _run_processes(evaluator: Evaluator, X: np.ndarray, spans, pending, workers: int, store) -> None:
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

    pool = ProcessPoolExecutor(max_workers=min(workers, len(pending)), initializer=_init_worker,
                               initargs=(evaluator,))
    try:
        # at most two chunks in flight per worker, so memory stays bounded
        queue = list(pending)
        running: dict[Any, int] = {}
        limit = 2 * workers
        while queue or running:
            while queue and len(running) < limit:
                i = queue.pop(0)
                a, b = spans[i]
                running[pool.submit(_worker_call, X[a:b])] = i
            finished, _ = wait(running, return_when=FIRST_COMPLETED)
            for fut in sorted(finished, key=lambda f: running[f]):
                store(running.pop(fut), fut.result())
    except BaseException:
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown(wait=True)


def _run_dask(evaluator: Evaluator, X: np.ndarray, spans, pending, address: str, store) -> None:
    from distributed import Client, as_completed

    try:
        client = Client(address, timeout="10s")
    except (OSError, TimeoutError, ValueError) as exc:
        raise InputError("command line", "--scheduler", f"cannot connect to {address!r}: {exc}") from None
    try:
        remote = client.scatter(evaluator, broadcast=True)
        futures = {}
        for i in pending:
            a, b = spans[i]
            futures[client.submit(_apply, remote, X[a:b], pure=False)] = i
        for fut in as_completed(list(futures)):
            store(futures[fut], fut.result())
    except Exception as exc:
        chain = [exc, exc.__cause__, exc.__context__]
        if any(isinstance(e, ModuleNotFoundError) or "No module named 'simulator'" in str(e) for e in chain if e):
            raise InputError("command line", "--scheduler", f"the cluster at {address!r} cannot import urbsd "
                             f"(install it on the scheduler and on every worker): {exc}") from None
        raise
    finally:
        client.close()


# --------------------------------------------------------------------------- 4. analysis


def analyze(method: str, names: Sequence[str], unit: np.ndarray, Y: np.ndarray,
            outputs: Sequence[str], *, seed: int) -> list[dict[str, Any]]:
    """Sensitivity indices of each output column (one row per output x parameter).

    sobol: S1, S1_conf, ST, ST_conf (SALib, 95% bootstrap CIs); morris: mu, mu_star,
    mu_star_conf, sigma (per unit of quantile); mc: Spearman rank correlation.
    """
    Y = np.asarray(Y, dtype=float)
    if Y.ndim == 1:
        Y = Y[:, None]
    problem = _problem(len(names), names)
    rows: list[dict[str, Any]] = []
    for j, output in enumerate(outputs):
        y = np.ascontiguousarray(Y[:, j])
        with np.errstate(divide="ignore", invalid="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            if method == "sobol":
                from SALib.analyze import sobol

                # a Generator, not the int: SALib 1.6 tests `if seed:`, so seed 0 would not be seeded
                si = sobol.analyze(problem, y, calc_second_order=False, num_resamples=RESAMPLES,
                                   conf_level=CONF_LEVEL, seed=np.random.default_rng(seed))
                for p, name in enumerate(names):
                    rows.append({"output": output, "parameter": name,
                                 "S1": float(si["S1"][p]), "S1_conf": float(si["S1_conf"][p]),
                                 "ST": float(si["ST"][p]), "ST_conf": float(si["ST_conf"][p])})
            elif method == "morris":
                from SALib.analyze import morris

                si = morris.analyze(problem, np.asarray(unit, dtype=float), y, num_resamples=RESAMPLES,
                                    conf_level=CONF_LEVEL, num_levels=MORRIS_LEVELS,
                                    seed=np.random.default_rng(seed))
                for p, name in enumerate(names):
                    rows.append({"output": output, "parameter": name,
                                 "mu": float(si["mu"][p]), "mu_star": float(si["mu_star"][p]),
                                 "mu_star_conf": float(si["mu_star_conf"][p]),
                                 "sigma": float(si["sigma"][p])})
            elif method == "mc":
                for p, name in enumerate(names):
                    rows.append({"output": output, "parameter": name,
                                 "spearman_rho": _spearman(np.asarray(unit)[:, p], y)})
            else:
                raise ValueError(f"method must be one of {METHODS}, not {method!r}")
    return rows


def _spearman(x: np.ndarray, y: np.ndarray) -> float:
    from scipy.stats import spearmanr

    ok = np.isfinite(y)
    if ok.sum() < 3 or np.ptp(y[ok]) == 0 or np.ptp(x[ok]) == 0:
        return math.nan
    return float(spearmanr(x[ok], y[ok]).statistic)


def target_probabilities(Y: np.ndarray, columns: Sequence[str], targets: Sequence[Any]) -> list[dict]:
    """Share of runs whose indicator reaches each target (value >= target; NaN: not reached)."""
    out = []
    for t in targets:
        j = list(columns).index(_column_name(t.indicator, t.year))
        y = np.asarray(Y[:, j], dtype=float)
        reached = int(np.count_nonzero(y >= t.value))  # NaN >= x is False
        finite = y[np.isfinite(y)]
        out.append({
            "indicator": t.indicator, "year": int(t.year), "target": float(t.value),
            "probability": reached / len(y) if len(y) else math.nan,
            "runs": int(len(y)), "reached": reached, "nan_runs": int(len(y) - len(finite)),
            "median": float(np.median(finite)) if len(finite) else math.nan,
        })
    return out


# --------------------------------------------------------------------------- the whole sweep


@dataclass
class SweepResult:
    """Samples, outputs, indices and target probabilities of one sweep (plus provenance)."""

    method: str
    samples: int
    seed: int
    chunk_size: int
    names: list[str]
    unit: np.ndarray
    values: np.ndarray
    columns: list[str]
    outputs: np.ndarray
    analysed: list[str]
    indices: list[dict[str, Any]]
    targets: list[dict[str, Any]]
    years: list[int] = field(default_factory=list)
    key: str = ""
    provenance: dict[str, Any] = field(default_factory=dict)

    @property
    def runs(self) -> int:
        """Number of model runs (rows)."""
        return int(self.outputs.shape[0])

    def percentiles(self, variable: str = "urbanization_rate") -> dict[str, list[float]]:
        """PERCENTILES of `variable` across runs, per year: {'p5': [...], ...}."""
        cols = [self.columns.index(_column_name(variable, y)) for y in self.years]
        data = self.outputs[:, cols]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            qs = np.nanpercentile(data, PERCENTILES, axis=0)
        return {f"p{p}": [float(v) for v in q] for p, q in zip(PERCENTILES, qs)}


def sensitivity(
    evaluator: Evaluator,
    names: Sequence[str],
    distributions: Sequence[Any],
    method: str,
    samples: int,
    *,
    columns: Sequence[str],
    analyse: Sequence[str] | None = None,
    bounds: Sequence[tuple[float, float] | None] | None = None,
    seed: int = DEFAULT_SEED,
    chunk_size: int = DEFAULT_CHUNK,
    chunk_dir: str | Path | None = None,
    workers: int = 1,
    scheduler: str | None = None,
    progress: bool | None = None,
    on_chunk: Callable[[int], None] | None = None,
) -> SweepResult:
    """Sample, evaluate (chunked) and analyse any evaluator: the model or a test function."""
    unit = unit_samples(method, samples, len(names), seed)
    values = to_values(unit, distributions, bounds)
    Y = evaluate_chunks(evaluator, values, chunk_size=chunk_size, chunk_dir=chunk_dir, workers=workers,
                        scheduler=scheduler, progress=progress, on_chunk=on_chunk)
    columns = list(columns)
    if Y.shape[1] != len(columns):
        raise RuntimeError(f"evaluator returned {Y.shape[1]} columns, expected {len(columns)}")
    analysed = list(analyse) if analyse is not None else columns
    idx = [columns.index(c) for c in analysed]
    indices = analyze(method, names, unit, Y[:, idx], analysed, seed=seed)
    return SweepResult(method=method, samples=samples, seed=seed, chunk_size=chunk_size, names=list(names),
                       unit=unit, values=values, columns=columns, outputs=Y, analysed=analysed,
                       indices=indices, targets=[])


def sweep_key(scenario: Any, method: str, samples: int, seed: int, chunk_size: int,
              dt: float | None = None, integration: str = "euler") -> str:
    """The chunk-folder key: scenario and model sha256, method, N, seed, chunk size (+ dt)."""
    return chunk_key(scenario_sha256=scenario.sha256, model_sha256=scenario.spec.sha256, method=method,
                     samples=samples, seed=seed, chunk_size=chunk_size, dt=dt, integration=integration,
                     package_version=__version__)


def chunk_folder(out_root: str | Path, scenario: Any, key: str) -> Path:
    """Where a sweep keeps its finished chunks: DIR/.<stem>-sweep.chunks/<key[:16]>/."""
    return Path(out_root) / f".{Path(scenario.path).stem}-sweep.chunks" / key[:16]


def run_sweep(
    scenario: Any,
    method: str,
    samples: int,
    *,
    seed: int = DEFAULT_SEED,
    chunk_size: int = DEFAULT_CHUNK,
    out_root: str | Path | None = None,
    workers: int = 1,
    scheduler: str | None = None,
    progress: bool | None = None,
    dt: float | None = None,
    on_chunk: Callable[[int], None] | None = None,
) -> SweepResult:
    """Sweep the scenario's uncertain constants; chunks are kept under `out_root` until written."""
    if not scenario.uncertain:
        raise InputError(scenario.path, "uncertain", "no uncertain constants: a sweep needs at least one")
    if method not in METHODS:
        raise InputError("command line", "--method", f"must be one of {', '.join(METHODS)}, not {method!r}")
    names = list(scenario.uncertain)
    dists = [scenario.uncertain[n] for n in names]
    bounds = [tuple(scenario.spec.constants[n].bounds) if scenario.spec.constants[n].bounds is not None else None
              for n in names]
    evaluator = ModelEvaluator(scenario, tuple(names), dt=dt)
    key = sweep_key(scenario, method, samples, seed, chunk_size, dt)
    folder = chunk_folder(out_root, scenario, key) if out_root is not None else None
    analyse = list(dict.fromkeys(
        [_column_name(t.indicator, t.year) for t in scenario.targets]
        + [_column_name(v, evaluator.years[-1]) for v in SERIES]))
    result = sensitivity(evaluator, names, dists, method, samples, columns=evaluator.column_names,
                         analyse=analyse, bounds=bounds, seed=seed, chunk_size=chunk_size, chunk_dir=folder,
                         workers=workers, scheduler=scheduler, progress=progress, on_chunk=on_chunk)
    result.years = list(evaluator.years)
    result.key = key
    result.targets = target_probabilities(result.outputs, result.columns, scenario.targets)
    spec = scenario.spec
    result.provenance = {
        "scenario": {"name": scenario.name, "label": dict(scenario.label), "path": str(Path(scenario.path))},
        "model": {"name": spec.name, "path": str(Path(spec.path)), "sha256": spec.sha256},
        "scenario_sha256": scenario.sha256,
        "package_version": __version__,
        "integration": {"method": evaluator.integration, "dt": float(spec.time.dt if dt is None else dt)},
        "uncertain": {n: {"dist": d.dist, **d.params} for n, d in zip(names, dists)},
        "labels": {n: {"zh": spec.constants[n].label.zh, "en": spec.constants[n].label.en} for n in names},
    }
    return result


def summary(result: SweepResult) -> dict[str, Any]:
    """summary.json of a sweep: targets with probabilities, percentiles, provenance."""
    p = result.provenance
    return {
        "scenario": p.get("scenario"),
        "model": p.get("model"),
        "scenario_sha256": p.get("scenario_sha256"),
        "package_version": p.get("package_version", __version__),
        "method": result.method,
        "samples": result.samples,
        "runs": result.runs,
        "seed": result.seed,
        "chunk_size": result.chunk_size,
        "sweep_key": result.key,
        "integration": p.get("integration"),
        "sampling": ("unit-cube points (SALib Saltelli/Sobol' for sobol without second order, "
                     f"SALib Morris with {MORRIS_LEVELS} levels, numpy PCG64 for mc) mapped through each "
                     "distribution's inverse CDF; normal truncated to the constant's bounds"),
        "probability_basis": ("share of all runs with value >= target (NaN counts as not reached)"
                              + ("; Morris runs lie on a coarse grid, so this is a rough estimate"
                                 if result.method == "morris" else "")),
        "uncertain": p.get("uncertain"),
        "targets": result.targets,
        "analysed_outputs": result.analysed,
        "urbanization_rate_percentiles": {"years": result.years, **result.percentiles("urbanization_rate")},
        "files": {"samples": SAMPLES_FILE, "indices": INDICES_FILE, "fan_chart": str(FAN_CHART),
                  "fan_chart_svg": str(FAN_CHART.with_suffix(".svg")), "indices_chart": str(INDICES_CHART),
                  "indices_chart_svg": str(INDICES_CHART.with_suffix(".svg"))},
    }


SAMPLES_FILE = "samples.parquet"
INDICES_FILE = "indices.csv"
SUMMARY_FILE = "summary.json"
#: the charts' PNG paths; each chart writes an SVG beside its PNG
FAN_CHART = Path("charts") / "fan.png"
INDICES_CHART = Path("charts") / "indices.png"
#: the sweep charts' titles by language; {name} is the scenario's label
_TITLES = {
    "zh": {"fan": "平凉市常住人口城镇化率不确定性 — {name}", "indices": "参数敏感性 — {name}"},
    "en": {"fan": "Pingliang resident urbanization rate: uncertainty — {name}",
           "indices": "Parameter sensitivity — {name}"},
}


def _parquet_bytes(result: SweepResult) -> bytes:
    import pandas as pd

    data: dict[str, Any] = {"run": np.arange(result.runs, dtype=np.int64)}
    for j, name in enumerate(result.names):
        data[name] = result.values[:, j]
    for j, name in enumerate(result.columns):
        data[name] = result.outputs[:, j]
    buf = io.BytesIO()
    pd.DataFrame(data).to_parquet(buf, index=False, engine="pyarrow")
    return buf.getvalue()


def _indices_table(rows: list[dict[str, Any]]) -> dict[str, list]:
    keys = list(dict.fromkeys(k for r in rows for k in r))
    return {k: [r.get(k, math.nan) for r in rows] for k in keys}


def source_line(result: SweepResult) -> str:
    """The provenance line under the sweep charts (no date, so reruns are bit-identical)."""
    p = result.provenance
    return (f"情景/scenario: {p['scenario']['name']} · 模型/model: {p['model']['name']} "
            f"sha256 {p['model']['sha256'][:12]} · 情景/scenario sha256 {p['scenario_sha256'][:12]} · "
            f"{result.method} N={result.samples} ({result.runs:,} runs) seed={result.seed} · urbsd {__version__}")


def write_sweep(result: SweepResult, out_dir: str | Path, *, lang: str = "zh") -> dict[str, Path]:
    """Write samples.parquet, indices.csv, summary.json and two charts (PNG + SVG) into `out_dir`.

    `lang` ("zh" or "en") is the language of the charts' titles and labels. The files are
    written together (simulator.writers.write_folder), so readers never see a half-written
    folder. Returns the paths by kind: samples, indices,
    fan_chart, fan_chart_svg, indices_chart, indices_chart_svg, summary.
    """
    from simulator.charts import fan_chart, indices_chart
    from simulator.labels import check_lang
    from simulator.writers import csv_text, json_text, write_folder

    check_lang(lang)
    rels = {"samples": Path(SAMPLES_FILE), "indices": Path(INDICES_FILE),
            "fan_chart": FAN_CHART, "fan_chart_svg": FAN_CHART.with_suffix(".svg"),
            "indices_chart": INDICES_CHART, "indices_chart_svg": INDICES_CHART.with_suffix(".svg"),
            "summary": Path(SUMMARY_FILE)}
    scenario = result.provenance.get("scenario", {})
    name = (scenario.get("label", {}) or {}).get(lang) or scenario.get("name", "")
    line = source_line(result)
    written = write_folder(out_dir, {
        SAMPLES_FILE: _parquet_bytes(result),
        INDICES_FILE: csv_text(_indices_table(result.indices)).encode("utf-8"),
        FAN_CHART: lambda path: fan_chart(
            result.years, result.percentiles("urbanization_rate"), result.targets, path,
            title=_TITLES[lang]["fan"].format(name=name), source_line=line, lang=lang),
        INDICES_CHART: lambda path: indices_chart(
            result.indices, result.method, path, title=_TITLES[lang]["indices"].format(name=name),
            source_line=line, labels=result.provenance.get("labels"), lang=lang),
        SUMMARY_FILE: json_text(summary(result)).encode("utf-8"),
    })
    return {kind: written[rel] for kind, rel in rels.items()}


def remove_chunks(folder: Path) -> None:
    """Delete a finished sweep's chunk folder (and its parent when that is left empty)."""
    shutil.rmtree(folder, ignore_errors=True)
    try:
        folder.parent.rmdir()
    except OSError:
        pass
