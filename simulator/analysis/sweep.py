"""Batch sensitivity sweeps: sample a scenario's `uncertain:` constants, run, analyse.

`urbsd sweep SCENARIO --method sobol|morris|mc --samples N` goes through four steps, each
public so a closed-form function can stand in for the model (tests use the Ishigami
function):

1. sampling (`simulator.analysis.sampling`): `unit_samples` and `to_values`;
2. the model as an evaluator: `ModelEvaluator` (here), a picklable callable X -> Y;
3. running (`simulator.analysis.chunks`): `evaluate_chunks`, chunked, in parallel,
   resumable;
4. analysis (`simulator.analysis.sensitivity`): `analyze` and `target_probabilities`.

`sensitivity(evaluator, ...)` does all four for any evaluator and `run_sweep(scenario,
...)` for a scenario; `simulator.outputs.sweep_files.write_sweep(result, out_dir)`
writes the files. Same inputs and seed: bit-identical files.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from simulator.analysis.chunks import DEFAULT_CHUNK, Evaluator, chunk_key, evaluate_chunks
from simulator.analysis.sampling import (
    DEFAULT_SEED,
    METHODS,
    POSTERIOR_GROUP,
    check_method,
    sampling_groups,
    to_values,
    unit_samples,
)
from simulator.analysis.sensitivity import analyze, column_name, target_probabilities
from simulator.bundled import __version__
from simulator.errors import InputError

#: recorded every saved year for every run (the fan chart and the Parquet file)
SERIES = ("urbanization_rate", "hukou_urbanization_rate")
#: percentiles of the fan chart and of summary.json (5-95 and 25-75 bands, median)
PERCENTILES = (5, 25, 50, 75, 95)


# --------------------------------------------------------------------------- 2. the model as an evaluator
@dataclass(frozen=True)
class Column:
    """One recorded output: `variable` (element `element`) in `year`; named `name`."""

    name: str
    variable: str
    year: int
    element: int | None = None


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
    #: euler, heun or rk4; None: the model's time.method
    integration: str | None = None
    #: simulate's backend: auto (the compiled kernel if it can be had), kernel or numpy
    backend: str = "auto"
    columns: tuple[Column, ...] = field(init=False)
    years: tuple[int, ...] = field(init=False)

    def __post_init__(self) -> None:
        spec = self.scenario.spec
        t = spec.time
        if self.integration is None:
            self.integration = t.method
        n_save = round((t.stop - t.start) / t.saveper) + 1
        self.years = tuple(int(round(t.start + i * t.saveper)) for i in range(n_save))
        cols: dict[str, Column] = {}
        for var in SERIES:
            for year in self.years:
                cols[column_name(var, year)] = Column(column_name(var, year), var, year)
        for target in self.scenario.targets:
            name = column_name(target.indicator, target.year)
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
        from simulator.engine.compile import compiled
        from simulator.engine.integrate import simulate

        model = compiled(self.scenario.spec)  # once per process (worker)
        X = np.asarray(X, dtype=float)
        n = X.shape[0]
        params = dict(self.scenario.params)
        for j, name in enumerate(self.names):
            col = np.ascontiguousarray(X[:, j])
            base, _, element = name.partition("[")
            if element:  # one element of a subscripted constant (a posterior column `name[element]`)
                width = model.widths[base]
                current = np.asarray(params[base] if base in params else
                                     model.declared(base, model.default_constants()[base], lead=1), dtype=float)
                arr = np.broadcast_to(current.reshape(-1, width) if current.ndim else current, (n, width)).copy()
                dim = model.dims[base][0]
                arr[:, list(self.scenario.spec.elements(dim)).index(element.rstrip("]"))] = col
                params[base] = arr
            else:
                params[name] = np.repeat(col[:, None], model.widths[name], axis=1) if model.dims.get(name) else col
        variables = list(dict.fromkeys(c.variable for c in self.columns))
        run = simulate(model, params, n_runs=n, dt=self.dt, method=self.integration, outputs=variables,
                       backend=self.backend)
        index = {int(round(t)): i for i, t in enumerate(run.times)}
        out = np.empty((n, len(self.columns)))
        for j, c in enumerate(self.columns):
            data = run.data[c.variable]
            out[:, j] = data[:, index[c.year]] if c.element is None else data[:, index[c.year], c.element]
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
    #: the inputs of the sample design (the unit columns): a constant, or `posterior` for joint draws
    groups: list[str] = field(default_factory=list)
    provenance: dict[str, Any] = field(default_factory=dict)

    @property
    def runs(self) -> int:
        """Number of model runs (rows)."""
        return int(self.outputs.shape[0])

    def percentiles(self, variable: str = "urbanization_rate") -> dict[str, list[float]]:
        """PERCENTILES of `variable` across runs, per year: {'p5': [...], ...}."""
        cols = [self.columns.index(column_name(variable, y)) for y in self.years]
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
    """Sample, evaluate (chunked) and analyse any evaluator: the model or a test function.

    Constants drawn jointly from a posterior file are one input of the sample design (one
    unit column picks a row of draws): Sobol' indices are reported for the block as a whole
    (`posterior`); Monte Carlo rank correlations for each constant; Morris is refused.
    """
    why = check_method(method, distributions)
    if why is not None:
        raise InputError("command line", "--method", why)
    groups = sampling_groups(names, distributions)
    unit = unit_samples(method, samples, len(groups), seed)
    values = to_values(unit, distributions, bounds, groups)
    Y = evaluate_chunks(evaluator, values, chunk_size=chunk_size, chunk_dir=chunk_dir, workers=workers,
                        scheduler=scheduler, progress=progress, on_chunk=on_chunk)
    columns = list(columns)
    if Y.shape[1] != len(columns):
        raise RuntimeError(f"evaluator returned {Y.shape[1]} columns, expected {len(columns)}")
    analysed = list(analyse) if analyse is not None else columns
    idx = [columns.index(c) for c in analysed]
    if method == "mc" and len(groups) != len(names):  # rank correlation per constant, as drawn
        X = np.column_stack([unit[:, g] if len(cols) == 1 and distributions[cols[0]].dist != "posterior"
                             else values[:, j] for g, (_, cols) in enumerate(groups) for j in cols])
        xnames = [names[j] for _, cols in groups for j in cols]
        indices = analyze(method, xnames, X, Y[:, idx], analysed, seed=seed)
    else:
        indices = analyze(method, [g for g, _ in groups], unit, Y[:, idx], analysed, seed=seed)
    return SweepResult(method=method, samples=samples, seed=seed, chunk_size=chunk_size, names=list(names),
                       unit=unit, values=values, columns=columns, outputs=Y, analysed=analysed,
                       indices=indices, targets=[], groups=[g for g, _ in groups])


def sweep_key(scenario: Any, method: str, samples: int, seed: int, chunk_size: int,
              dt: float | None = None, integration: str | None = None) -> str:
    """The chunk-folder key: scenario and model sha256, method, N, seed, chunk size, dt and the
    integration method (None: the model's)."""
    integration = integration or scenario.spec.time.method
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
    consts = [scenario.spec.constants[n.split("[", 1)[0]] for n in names]
    bounds = [tuple(c.bounds) if c.bounds is not None else None for c in consts]
    evaluator = ModelEvaluator(scenario, tuple(names), dt=dt)
    key = sweep_key(scenario, method, samples, seed, chunk_size, dt)
    folder = chunk_folder(out_root, scenario, key) if out_root is not None else None
    analyse = list(dict.fromkeys(
        [column_name(t.indicator, t.year) for t in scenario.targets]
        + [column_name(v, evaluator.years[-1]) for v in SERIES]))
    result = sensitivity(evaluator, names, dists, method, samples, columns=evaluator.column_names,
                         analyse=analyse, bounds=bounds, seed=seed, chunk_size=chunk_size, chunk_dir=folder,
                         workers=workers, scheduler=scheduler, progress=progress, on_chunk=on_chunk)
    result.years = list(evaluator.years)
    result.key = key
    result.targets = target_probabilities(result.outputs, result.columns, scenario.targets)
    if method == "morris":  # screening: its levels are a design, not a probability sample
        for t in result.targets:
            t["probability"] = None
    spec = scenario.spec
    result.provenance = {
        "scenario": {"name": scenario.name, "label": dict(scenario.label), "path": str(Path(scenario.path))},
        "model": {"name": spec.name, "path": str(Path(spec.path)), "sha256": spec.sha256},
        "scenario_sha256": scenario.sha256,
        "package_version": __version__,
        "integration": {"method": evaluator.integration, "dt": float(spec.time.dt if dt is None else dt)},
        "uncertain": {n: {"dist": d.dist, **d.params} for n, d in zip(names, dists)},
        "labels": {n: {"zh": c.label.zh, "en": c.label.en} for n, c in zip(names, consts)},
    }
    for n, d in zip(names, dists):  # the posterior block's label (an input of Sobol' indices)
        if d.dist == "posterior":
            k = sum(1 for x in dists if x.dist == "posterior" and x.joint is d.joint)
            group = POSTERIOR_GROUP if POSTERIOR_GROUP in result.groups else f"{POSTERIOR_GROUP}:{d.joint.file}"
            result.provenance["labels"][group] = {"zh": f"校准后验（{k}个参数联合抽样）",
                                                  "en": f"calibration posterior ({k} constants, joint)"}
    return result
