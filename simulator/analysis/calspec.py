"""Calibration specification files: what to fit, to which data, and how (a YAML file).

    name: pingliang-2010-2020
    model: pingliang                  # a bundled model name, or a path relative to this file
    data: ../data/history.csv         # year, area, indicator, value[, sigma, kind, source]
    area: pingliang                   # rows of this area name their series without [area]
    run: {start: 2010, stop: 2022, dt: 0.25, method: euler}   # dt, method: the model's unless given
    fit: {search: 2048, starts: 3, seed: 0}                 # the MAP fit
    posterior: {walkers: 32, steps: 2000, draws: 2000, seed: 0}
    write: {scenario: calibration.yaml, posterior: calibration-posterior.csv, name: calibration,
            label: {zh: ..., en: ...}, model: pingliang}
    parameters:
      rural_urban_migration_base_rate:
        group: migration
        prior: {dist: normal, mean: model(rural_urban_migration_base_rate), sd: 0.007}
      some_rate[kongtong]: {prior: {dist: lognormal, median: 0.02, sigma: 0.5}}  # one element
      initial_share_2010: {free: true, bounds: [0.1, 0.4], start: 0.3}  # used by `fixed` only
    fixed:                            # the calibration run's other constants (initial values...)
      initial_urban_population: initial_share_2010 * data(2010, pingliang, resident_population)
      initial_urban_by_county: {kongtong: data(2010, kongtong, urban_population), huating: ...}
    observations:
      - {row: [2014, pingliang, urbanization_rate], model: urbanization_rate}
      - {row: [2021, pingliang, crude_birth_rate], model: sum(births) / resident_population, at: mean}
      - {row: [2020, huating, urbanization_rate_lower_bound], model: county_urbanization_rate[huating],
         bound: lower, sigma: 0.01}
      - {row: [2010, pingliang, resident_population], role: initial, sets: initial_resident_population}

`load_calibration_spec(path)` validates all of it against the model and the data (one-line
`InputError`s naming the file, the field and the reason) and returns a `CalibrationSpec`
whose `problem()` is the `simulator.analysis.calibrate.Problem`. Expressions are those of
`simulator.analysis.calexpr` (no code runs).
"""

from __future__ import annotations

import graphlib
import hashlib
import math
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import ValidationError

from simulator.analysis.calexpr import ExprError, Scope, evaluate, parse
from simulator.analysis.calibrate import Observation, Parameter, Prior, Problem, shaped
from simulator.analysis.calschema import FitIn, ModelView, PosteriorIn, PriorIn, RunIn, SpecIn, WriteIn, read_data
from simulator.errors import InputError, suggest


@dataclass
class CalibrationSpec:
    """A validated calibration specification, ready to build its `Problem`."""

    name: str
    path: Path
    sha256: str
    model: Any  # CompiledModel
    model_ref: str
    data_path: Path
    rows: dict[tuple[int, str, str], dict[str, Any]]
    run: RunIn
    fit: FitIn
    posterior: PosteriorIn
    write: WriteIn
    parameters: list[Parameter]
    observations: list[Observation]
    assignments: list[tuple[str, Any]] = field(default_factory=list)  # (constant, Expr | {element: Expr})
    view: ModelView | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if self.view is None:
            self.view = ModelView(self.model, self.rows, self.data_path)

    def problem(self, holdout_after: int | None = None) -> Problem:
        """The calibration problem; `holdout_after` turns fitted observations after that year into checks."""
        obs = self.observations
        if holdout_after is not None:
            obs = [replace(o, role="check") if o.role == "fit" and o.year > holdout_after else o for o in obs]
        return Problem(self.model, float(self.run.start), float(self.run.stop), list(self.parameters), obs,
                       self.to_params, dt=self.run.dt, method=self.run.method, saveper=float(self.run.saveper))

    def to_params(self, values: dict[str, np.ndarray]) -> dict[str, Any]:
        """Fitted values (name -> array (n_runs,)) -> the engine's constants for the calibration run:
        the fitted constants, then the `initial` rows and `fixed` entries in dependency order."""
        model, view = self.model, self.view
        n = max([np.asarray(v).size for v in values.values()] or [1])
        defaults = view.defaults()
        cur: dict[str, np.ndarray] = {}

        def current(c: str) -> np.ndarray:
            return cur[c] if c in cur else defaults[c]

        for p in self.parameters:
            if p.constant is None:
                continue
            v = np.asarray(values[p.name], dtype=float).reshape(-1, 1)
            if p.element is None:
                cur[p.constant] = np.broadcast_to(v, (v.shape[0], model.widths[p.constant])).copy()
            else:
                arr = np.broadcast_to(current(p.constant), (n, model.widths[p.constant])).copy()
                arr[:, view.flat(p.constant, p.element)] = v[:, 0]
                cur[p.constant] = arr

        def value(name: str) -> tuple[np.ndarray, tuple[str, ...]]:
            if name in values and name not in model.widths:
                return np.asarray(values[name], dtype=float).reshape(-1), ()
            if name not in defaults:
                raise ExprError(f"unknown name {name!r} (a fitted parameter or a model constant)"
                                f"{suggest(name, [*values, *defaults])}")
            return view.shaped(name, current(name))

        scope = Scope(value=value, elements=model.spec.elements, data=view.data, model=view.model_value)
        for constant, how in self.assignments:
            width = model.widths[constant]
            if isinstance(how, dict):  # element by element, in order: later ones read earlier ones
                arr = cur[constant] = np.broadcast_to(current(constant), (n, width)).copy()
                for element, expr in how.items():
                    arr[:, view.flat(constant, (element,))] = _per_run(evaluate(expr, scope), n)
            else:
                x = evaluate(how, scope)
                if x.ndim == 0:
                    arr = np.full((1, width), float(x))
                else:
                    flat = x.reshape(x.shape[0], -1)
                    if flat.shape[1] not in (1, width):
                        raise ExprError(f"gives {flat.shape[1]} values per run; {constant} has {width}")
                    arr = np.repeat(flat, width, axis=1) if flat.shape[1] == 1 else flat.copy()
            cur[constant] = arr
        return {c: _engine_value(a, n, bool(model.dims.get(c))) for c, a in cur.items()}


def _per_run(x: np.ndarray, n: int) -> np.ndarray:
    x = np.asarray(x, dtype=float)
    if x.ndim > 1 and x.reshape(x.shape[0], -1).shape[1] != 1:
        raise ExprError("an element's value must be one number per run")
    return np.broadcast_to(x.reshape(-1), (n,)) if x.ndim else np.full(n, float(x))


def _engine_value(arr: np.ndarray, n: int, subscripted: bool) -> Any:
    """A (rows, width) array in a shape `simulate` accepts for n runs."""
    if arr.shape[0] == n:
        return arr if subscripted else arr[:, 0]
    return arr[0] if subscripted else float(arr[0, 0])


# --------------------------------------------------------------------------- reading


def _split_name(text: str) -> tuple[str, tuple[str, ...] | None]:
    m = re.fullmatch(r"\s*([A-Za-z_]\w*)\s*(?:\[\s*([^\]]+?)\s*\])?\s*", text)
    if m is None:
        raise ExprError(f"not a name or name[element]: {text!r}")
    el = tuple(e.strip() for e in m.group(2).split(",")) if m.group(2) else None
    return m.group(1), el


def load_calibration_spec(path: str | Path, data_text: str | None = None) -> CalibrationSpec:
    """Read and validate a calibration specification; any bad input raises InputError (one line).

    `data_text` replaces the content of the spec's data file (the history derived afresh)."""
    from simulator.engine.compile import compile_model
    from simulator.engine.yamlfile import read_yaml
    from simulator.scenario.resolve import load_spec
    from simulator.scenario.schema import display_path, pydantic_error

    path = Path(path)
    shown = display_path(path)
    raw, data_bytes = read_yaml(path, shown, "calibration specification")
    if not isinstance(raw, dict):
        raise InputError(shown, "(top level)", "expected a mapping of calibration keys (name, model, data, run, ...)")
    try:
        spec_in = SpecIn.model_validate(raw)
    except ValidationError as exc:
        raise pydantic_error(exc, shown) from None
    folder = path.resolve().parent
    mspec = load_spec((spec_in.model, folder, shown))
    model = compile_model(mspec)
    data_path = (folder / spec_in.data) if not Path(spec_in.data).is_absolute() else Path(spec_in.data)
    rows = read_data(data_path, shown, data_text)
    b = _Builder(shown, spec_in, model, rows, data_path)
    return CalibrationSpec(
        name=spec_in.name, path=path.resolve(), sha256=hashlib.sha256(data_bytes).hexdigest(), model=model,
        model_ref=spec_in.model, data_path=data_path, rows=rows, run=b.run(), fit=spec_in.fit,
        posterior=spec_in.posterior, write=spec_in.write, parameters=b.parameters(),
        observations=b.observations(), assignments=b.assignments(),
    )


class _Builder:
    """Checks each part of a parsed spec against the model and the data."""

    def __init__(self, shown: str, spec: SpecIn, model: Any, rows: dict, data_path: Path) -> None:
        self.shown, self.spec, self.model, self.rows, self.data_path = shown, spec, model, rows, data_path
        self.mspec = model.spec
        self.view = ModelView(model, rows, data_path)
        self.variables = set(model.variables)
        self._params: list[Parameter] | None = None

    def err(self, field_: str, reason: str) -> InputError:
        return InputError(self.shown, field_, re.sub(r"\s+", " ", str(reason)).strip())

    def run(self) -> RunIn:
        r = self.spec.run
        t = self.mspec.time
        dt = float(t.dt if r.dt is None else r.dt)
        if r.stop <= r.start:
            raise self.err("run.stop", f"must be after run.start ({r.start:g})")
        for name, x in (("dt", dt), ("saveper", r.saveper)):
            if x <= 0:
                raise self.err(f"run.{name}", "must be greater than 0")
        if abs(r.saveper / dt - round(r.saveper / dt)) > 1e-9 or \
                abs((r.stop - r.start) / r.saveper - round((r.stop - r.start) / r.saveper)) > 1e-9:
            raise self.err("run.dt", f"dt {dt:g} must divide saveper {r.saveper:g}, which must divide the run "
                                     f"{r.start:g}-{r.stop:g}")
        return r

    # ------------------------------------------------------------------ expressions without a run

    def _static(self, value: Any, field_: str) -> float:
        """A number, or an expression of numbers, data() and model() only."""
        try:
            expr = parse(value)

            def no_names(name: str) -> Any:
                raise ExprError(f"{name!r}: here only numbers, data(...) and model(...) are allowed")

            x = evaluate(expr, Scope(value=no_names, elements=self.mspec.elements, data=self.view.data,
                                     model=self.view.model_value))
        except ExprError as exc:
            raise self.err(field_, str(exc)) from None
        if x.size != 1 or not math.isfinite(float(x.reshape(-1)[0])):
            raise self.err(field_, f"must be one finite number, got {x.reshape(-1)[:3]}")
        return float(x.reshape(-1)[0])

    def _constant_ref(self, text: str, field_: str) -> tuple[str, tuple[str, ...] | None]:
        try:
            name, element = _split_name(text)
        except ExprError as exc:
            raise self.err(field_, str(exc)) from None
        if name not in self.mspec.constants:
            kind = self.mspec.kind(name)
            raise self.err(field_, f"{name!r} is a {kind}, not a constant" if kind else
                           f"unknown constant {name!r}{suggest(name, list(self.mspec.constants))}")
        dims = tuple(self.model.dims.get(name, ()))
        if element is not None:
            if not dims:
                raise self.err(field_, f"{name} is not subscripted; drop the [...]")
            if len(element) != len(dims):
                raise self.err(field_, f"{name} is per {' x '.join(dims)}: give {len(dims)} element(s)")
            for d, e in zip(dims, element):
                if e not in self.mspec.elements(d):
                    raise self.err(field_, f"unknown {d} element {e!r}{suggest(e, self.mspec.elements(d))}")
        return name, element

    # ------------------------------------------------------------------ parameters

    def parameters(self) -> list[Parameter]:
        if self._params is not None:
            return self._params
        if not self.spec.parameters:
            raise self.err("parameters", "no parameter to fit")
        out = []
        whole: set[str] = set()
        parts: dict[str, set[tuple[str, ...]]] = {}
        for key, p in self.spec.parameters.items():
            f = f"parameters.{key}"
            if p.free:
                if not re.fullmatch(r"[A-Za-z_]\w*", key):
                    raise self.err(f, "a free parameter's name is a plain name")
                if key in self.mspec.constants or self.mspec.kind(key):
                    raise self.err(f, f"{key!r} is a name of the model; a free parameter needs its own name")
                if p.bounds is None:
                    raise self.err(f"{f}.bounds", "a free parameter needs bounds [low, high]")
                constant, element, lo, hi, start = None, None, -math.inf, math.inf, None
            else:
                constant, element = self._constant_ref(key, f)
                c = self.mspec.constants[constant]
                if c.bounds is not None:
                    lo = -math.inf if c.bounds[0] is None else float(c.bounds[0])
                    hi = math.inf if c.bounds[1] is None else float(c.bounds[1])
                else:
                    lo, hi = -math.inf, math.inf
                arr = self.view.defaults()[constant][0]
                start = float(arr[0] if element is None else arr[self.view.flat(constant, element)])
                if constant in whole or (element is None and constant in parts):
                    raise self.err(f, f"{constant} is fitted twice (as a whole and by element, or twice)")
                if element is None:
                    whole.add(constant)
                elif element in parts.setdefault(constant, set()):
                    raise self.err(f, f"{key} is fitted twice")
                else:
                    parts[constant].add(element)
            if p.bounds is not None:
                if len(p.bounds) != 2:
                    raise self.err(f"{f}.bounds", "expected [low, high]")
                blo, bhi = (self._static(v, f"{f}.bounds.{i}") for i, v in enumerate(p.bounds))
                if blo >= bhi:
                    raise self.err(f"{f}.bounds", f"low {blo:g} must be below high {bhi:g}")
                if blo < lo or bhi > hi:
                    raise self.err(f"{f}.bounds", f"[{blo:g}, {bhi:g}] leaves the constant's bounds [{lo:g}, {hi:g}]")
                lo, hi = blo, bhi
            if not (math.isfinite(lo) and math.isfinite(hi)):
                raise self.err(f"{f}.bounds",
                               "the constant has no finite bounds in the model file; give bounds [low, high]")
            if p.start is not None:
                start = self._static(p.start, f"{f}.start")
                if not lo <= start <= hi:
                    raise self.err(f"{f}.start", f"{start:g} is outside the bounds [{lo:g}, {hi:g}]")
            if start is None:
                start = (lo + hi) / 2
            name = key if element is None else f"{constant}[{','.join(element)}]"
            out.append(Parameter(name, lo, hi, float(start), self._prior(p.prior, f"{f}.prior", lo, hi),
                                 p.group, constant, element))
        self._params = out
        return out

    def _prior(self, p: PriorIn | None, f: str, lo: float, hi: float) -> Prior | None:
        if p is None:
            return None
        given = {k for k in ("mean", "sd", "median", "sigma") if getattr(p, k) is not None}
        need = {"normal": {"mean", "sd"}, "lognormal": {"median", "sigma"}, "uniform": set()}[p.dist]
        if given != need:
            extra, missing = sorted(given - need), sorted(need - given)
            takes = ", ".join(sorted(need)) or "no parameters (it is flat over the bounds)"
            what = f"unknown parameter {extra[0]}" if extra else f"{missing[0]} required but missing"
            raise self.err(f"{f}.{(extra or missing)[0]}", f"{what}; a {p.dist} prior takes {takes}")
        if p.dist == "normal":
            mean, sd = self._static(p.mean, f"{f}.mean"), self._static(p.sd, f"{f}.sd")
            if sd <= 0:
                raise self.err(f"{f}.sd", f"must be greater than 0, got {sd:g}")
            return Prior("normal", mean=mean, sd=sd)
        if p.dist == "lognormal":
            median, sigma = self._static(p.median, f"{f}.median"), self._static(p.sigma, f"{f}.sigma")
            if median <= 0 or sigma <= 0:
                raise self.err(f"{f}.{'median' if median <= 0 else 'sigma'}", "must be greater than 0")
            if lo < 0:
                raise self.err(f, f"a lognormal prior needs bounds at or above 0, not [{lo:g}, {hi:g}]")
            return Prior("lognormal", mu=math.log(median), sigma=sigma)
        return Prior("uniform")

    # ------------------------------------------------------------------ initial values of the calibration run

    def assignments(self) -> list[tuple[str, Any]]:
        fitted = {p.constant for p in self.parameters() if p.constant}
        free = {p.name for p in self.parameters() if p.constant is None}
        entries: dict[str, tuple[str, Any]] = {}  # constant -> (field, Expr | {element: Expr})

        def add(constant: str, element: tuple[str, ...] | None, value: Any, f: str) -> None:
            if constant in fitted:
                raise self.err(f, f"{constant} is fitted (parameters); it cannot also be fixed")
            try:
                expr = parse(value)
            except ExprError as exc:
                raise self.err(f, str(exc)) from None
            if element is None:
                if constant in entries:
                    raise self.err(f, f"{constant} is set twice (also by {entries[constant][0]})")
                entries[constant] = (f, expr)
            else:
                old = entries.setdefault(constant, (f, {}))
                if not isinstance(old[1], dict):
                    raise self.err(f, f"{constant} is set twice (also by {old[0]})")
                if element[0] in old[1]:
                    raise self.err(f, f"{constant}[{element[0]}] is set twice")
                old[1][element[0]] = expr

        for i, o in enumerate(self.spec.observations):
            if o.role == "initial":
                if o.sets is None:
                    raise self.err(f"observations.{i}.sets", "an initial row names the constant it sets")
                constant, element = self._constant_ref(o.sets, f"observations.{i}.sets")
                if element is not None and len(element) != 1:
                    raise self.err(f"observations.{i}.sets", "name one element of a one-dimensional constant")
                year, area, ind = self._row(o.row, f"observations.{i}.row")
                add(constant, element, f"data({year}, '{area}', '{ind}')", f"observations.{i}")
        for name, value in self.spec.fixed.items():
            f = f"fixed.{name}"
            constant, element = self._constant_ref(name, f)
            if element is not None:
                raise self.err(f, f"give the elements as a mapping: {constant}: {{element: value, ...}}")
            if isinstance(value, dict):
                dims = self.model.dims.get(constant, ())
                if len(dims) != 1:
                    raise self.err(f, f"{constant} is {'not subscripted' if not dims else 'multi-dimensional'}; "
                                      "give one value (an expression)")
                for el, v in value.items():
                    if el not in self.mspec.elements(dims[0]):
                        raise self.err(f"{f}.{el}",
                                       f"unknown {dims[0]} element{suggest(el, self.mspec.elements(dims[0]))}")
                    add(constant, (el,), v, f"{f}.{el}")
            else:
                add(constant, None, value, f)
        # order: an entry after the entries it reads
        graph = {}
        for constant, (f, how) in entries.items():
            exprs = list(how.values()) if isinstance(how, dict) else [how]
            reads = {n for e in exprs for n in e.names}
            for n in reads:
                if n not in free and n not in self.mspec.constants:
                    raise self.err(f, f"unknown name {n!r} (a free parameter or a model constant)"
                                      f"{suggest(n, [*free, *self.mspec.constants])}")
            graph[constant] = {n for n in reads if n in entries and n != constant}
            if constant in reads and not isinstance(how, dict):
                raise self.err(f, f"{constant} reads itself; use model({constant}) for the model file's value")
        try:
            order = list(graphlib.TopologicalSorter(graph).static_order())
        except graphlib.CycleError as exc:
            raise self.err("fixed", f"entries read each other in a cycle: {' -> '.join(exc.args[1])}") from None
        out = [(c, entries[c][1]) for c in order]
        # a dry run: every expression evaluates, with the right number of values
        fake = CalibrationSpec(self.spec.name, Path(), "", self.model, self.spec.model, self.data_path, self.rows,
                               self.spec.run, self.spec.fit, self.spec.posterior, self.spec.write,
                               self.parameters(), [], out, view=self.view)
        for k, (c, _how) in enumerate(out):
            try:
                fake.assignments = out[: k + 1]
                fake.to_params({p.name: np.array([p.default]) for p in self.parameters()})
            except (ExprError, ValueError, IndexError) as exc:
                raise self.err(entries[c][0], str(exc)) from None
        return out

    # ------------------------------------------------------------------ observations

    def _row(self, row: list, f: str) -> tuple[int, str, str]:
        if len(row) != 3 or not isinstance(row[0], int) or not all(isinstance(x, str) for x in row[1:]):
            raise self.err(f, "expected [year, area, indicator], e.g. [2020, pingliang, urbanization_rate]")
        key = (int(row[0]), str(row[1]), str(row[2]))
        if key not in self.rows:
            near = [f"{k[0]},{k[1]},{k[2]}" for k in self.rows if k[1] == key[1] and k[2] == key[2]]
            hint = f" (it has {key[2]} of {key[1]} in {', '.join(n.split(',')[0] for n in near)})" if near else \
                suggest(f"{key[0]},{key[1]},{key[2]}", [f"{k[0]},{k[1]},{k[2]}" for k in self.rows])
            raise self.err(f, f"no row {key[0]},{key[1]},{key[2]} in {self.data_path.name}{hint}")
        return key

    def observations(self) -> list[Observation]:
        r = self.spec.run
        out: list[Observation] = []
        seen: dict[tuple, int] = {}
        for i, o in enumerate(self.spec.observations):
            f = f"observations.{i}"
            key = self._row(o.row, f"{f}.row")
            if key in seen:
                raise self.err(f"{f}.row", f"the same row as observations.{seen[key]}")
            seen[key] = i
            if o.role == "initial":
                if o.model is not None or o.bound is not None:
                    raise self.err(f, "an initial row sets a constant (sets:); it has no model: or bound:")
                continue
            if o.sets is not None:
                raise self.err(f"{f}.sets", "only a row with role: initial sets a constant")
            if o.model is None:
                raise self.err(f"{f}.model", "required: how the model computes this figure")
            year = key[0]
            first = year - 1 if o.at == "mean" else year
            if first < r.start - 1e-9 or year > r.stop + 1e-9 or \
                    abs((year - r.start) / r.saveper - round((year - r.start) / r.saveper)) > 1e-9:
                span = f"{first}-{year}" if o.at == "mean" else str(year)
                raise self.err(f"{f}.row", f"{span} is not a saved time of the run {r.start:g}-{r.stop:g}")
            sigma = o.sigma if o.sigma is not None else self.rows[key]["sigma"]
            if sigma is None:
                raise self.err(f"{f}.sigma", f"required: {self.data_path.name} has no sigma for this row")
            if not sigma > 0:
                raise self.err(f"{f}.sigma", f"must be greater than 0, got {sigma:g}")
            text = str(o.model)
            self._check_model_expr(text, f"{f}.model", o.at)
            area, ind = key[1], key[2]
            series = o.series or (ind if area == self.spec.area else f"{ind}[{area}]")
            row = self.rows[key]
            out.append(Observation(year, text, row["value"], float(sigma), o.at, o.bound, o.role, series,
                                   row["kind"], row["source"] or f"{self.data_path.name} {year},{area},{ind}", key))
        if not any(o.role == "fit" for o in out):
            raise self.err("observations", "no observation to fit (role: fit)")
        return out

    def _check_model_expr(self, text: str, f: str, at: str) -> None:
        try:
            expr = parse(text)
            if expr.data_rows or expr.model_refs:
                raise ExprError("the model side reads model variables only (no data() or model())")
            for n in expr.names:
                if n not in self.variables:
                    kind = self.mspec.kind(n)
                    raise ExprError(f"{n!r} is a {kind}; name a stock, flow or auxiliary" if kind else
                                    f"unknown variable {n!r}{suggest(n, sorted(self.variables))}")
            dims = {n: tuple(self.model.dims.get(n, ())) for n in expr.names}
            elements = {d: self.mspec.elements(d) for d in self.mspec.dimensions}

            class _Run:  # the shapes of a run, all ones
                n_runs = 1

            fake = _Run()
            fake.dims, fake.elements = dims, elements

            def value(name: str) -> Any:
                width = self.model.widths[name]
                return shaped(fake, name, np.ones((1, width)) if dims[name] else np.ones(1))

            x = evaluate(expr, Scope(value=value, elements=self.mspec.elements))
        except ExprError as exc:
            raise self.err(f, str(exc)) from None
        if x.size != 1:
            raise self.err(f, f"gives {x.size} values per run, not one; pick an element [..] or sum(...)")
