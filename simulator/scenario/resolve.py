"""`load_scenario(path)`: a scenario file read, `extends` resolved, checked against its model.

The model (`model:` a bundled name or a path; default the bundled Pingliang model) is
loaded, then every `set:` entry (`levers`), `uncertain:` distribution and target is
checked against it. Any bad input raises `InputError(file, field, reason)`, one line.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from pathlib import Path
from typing import Any

import numpy as np

from simulator.bundled import bundled_model_path, models_dir
from simulator.engine.series import TimeSeries
from simulator.errors import suggest
from simulator.scenario.extends import check_reference, is_path_ref, load_layer
from simulator.scenario.levers import (
    bounds_of,
    check_bounds,
    constant,
    constant_elements,
    kind_of,
    resolve_set,
    year_key,
)
from simulator.scenario.posterior import column_constant, read_posterior
from simulator.scenario.schema import (
    DISTRIBUTIONS,
    Distribution,
    Scenario,
    Target,
    TargetIn,
    bundled_scenario_path,
    describe,
    display_path,
    fmt,
    number,
    one_line_error,
)

#: most values of a discrete distribution (each is checked and kept; a sweep samples them)
MAX_DISCRETE = 10_000

# --------------------------------------------------------------------------- model


def load_spec(ref: tuple[str, Path, str] | None) -> Any:
    from simulator.engine.load import load_model

    if ref is None:
        return load_model(bundled_model_path())
    name, folder, shown = ref
    if is_path_ref(name):
        path = Path(name).expanduser()
        path = path if path.is_absolute() else folder / path
        check_reference(path, name, shown, "model")
        if not path.is_file():
            raise one_line_error(shown, "model", f"no such model file {name!r} (looked for {path})")
        return load_model(path)
    path = models_dir() / f"{name}.yaml"
    if not path.is_file():
        names = sorted(p.stem for p in models_dir().glob("*.yaml"))
        raise one_line_error(
            shown,
            "model",
            f"unknown model {name!r} (bundled models: {', '.join(names) or 'none'}; "
            f"give a path to use another file){suggest(name, names)}",
        )
    return load_model(path)


def resolve_uncertain(name: str, raw: Any, spec: Any, file: str) -> tuple[Distribution, dict]:
    field_ = f"uncertain.{name}"
    const = constant(spec, name, file, field_)
    constant_elements(spec, const, name, file, field_)  # rejects unsupported dims
    bounds = bounds_of(const)
    choices = ", ".join(DISTRIBUTIONS)
    if not isinstance(raw, dict):
        raise one_line_error(
            file, field_, f"expected a mapping like {{dist: uniform, low: ..., high: ...}}, got {describe(raw)}"
        )
    if "dist" not in raw:
        raise one_line_error(file, f"{field_}.dist", f"required but missing; one of {choices}")
    dist = raw["dist"]
    if not isinstance(dist, str) or dist not in DISTRIBUTIONS:
        raise one_line_error(
            file,
            f"{field_}.dist",
            f"unknown distribution {describe(dist)}{suggest(str(dist), DISTRIBUTIONS)}; "
            f"one of {choices}",
        )
    required, optional = DISTRIBUTIONS[dist]
    expects = ", ".join(required + tuple(f"{o} (optional)" for o in optional))
    for key in raw:
        if key != "dist" and key not in required + optional:
            raise one_line_error(
                file,
                f"{field_}.{key}",
                f"unknown parameter for a {dist} distribution{suggest(str(key), required + optional)}; "
                f"it takes {expects}",
            )
    for key in required:
        if key not in raw:
            raise one_line_error(
                file, f"{field_}.{key}", f"required but missing; a {dist} distribution takes {expects}"
            )

    def num(key: str) -> float:
        return number(raw[key], file, f"{field_}.{key}")

    def inside(key: str, x: float) -> None:
        check_bounds(x, bounds, file, f"{field_}.{key}")

    if dist in ("uniform", "triangular"):
        low, high = num("low"), num("high")
        if low >= high:
            raise one_line_error(file, f"{field_}.high", f"high {fmt(high)} must be greater than low {fmt(low)}")
        inside("low", low)
        inside("high", high)
        if dist == "uniform":
            d = Distribution("uniform", low=low, high=high)
        else:
            mode = num("mode")
            if not low <= mode <= high:
                raise one_line_error(
                    file, f"{field_}.mode", f"mode {fmt(mode)} is outside [low, high] = [{fmt(low)}, {fmt(high)}]"
                )
            d = Distribution("triangular", low=low, mode=mode, high=high)
    elif dist == "normal":
        mean, sd = num("mean"), num("sd")
        if sd <= 0:
            raise one_line_error(file, f"{field_}.sd", f"sd must be greater than 0, got {fmt(sd)}")
        inside("mean", mean)
        d = Distribution("normal", mean=mean, sd=sd)
    else:
        vals = raw["values"]
        if not isinstance(vals, list) or not vals:
            raise one_line_error(file, f"{field_}.values", f"expected a non-empty list of numbers, got {describe(vals)}")
        if len(vals) > MAX_DISCRETE:
            raise one_line_error(file, f"{field_}.values", f"{len(vals):,} values; a discrete distribution takes "
                                 f"at most {MAX_DISCRETE:,} (for more, use a continuous distribution)")
        values = tuple(number(v, file, f"{field_}.values.{i}") for i, v in enumerate(vals))
        for i, v in enumerate(values):
            check_bounds(v, bounds, file, f"{field_}.values.{i}")
        weights = None
        if raw.get("weights") is not None:
            w = raw["weights"]
            if not isinstance(w, list) or len(w) != len(values):
                raise one_line_error(
                    file, f"{field_}.weights", f"expected a list of {len(values)} numbers (one per value), got {describe(w)}"
                )
            weights = tuple(number(v, file, f"{field_}.weights.{i}") for i, v in enumerate(w))
            if any(x < 0 for x in weights) or sum(weights) <= 0:
                raise one_line_error(file, f"{field_}.weights", "weights must be >= 0 and not all 0")
        d = Distribution("discrete", values=values, weights=weights)
    return d, {"dist": d.dist, **d.params}


def resolve_target(i: int, t: TargetIn, spec: Any, file: str) -> Target:
    field_ = f"targets.{i}"
    m = re.fullmatch(r"\s*([A-Za-z_]\w*)\s*(?:\[\s*([A-Za-z_]\w*)\s*\])?\s*", t.indicator)
    if m is None:
        raise one_line_error(file, f"{field_}.indicator", f"not a variable name: {t.indicator!r}")
    name, element = m.group(1), m.group(2)
    stocks = getattr(spec, "stocks", None) or {}
    auxes = getattr(spec, "auxiliaries", None) or {}
    if name in auxes:
        var = auxes[name]
    elif name in stocks:
        var = stocks[name]
    else:
        kind = kind_of(spec, name)
        if kind is not None:
            raise one_line_error(file, f"{field_}.indicator", f"{name!r} is {kind}; a target names an auxiliary or a stock")
        raise one_line_error(file, f"{field_}.indicator", f"unknown indicator{suggest(name, list(auxes) + list(stocks))}")
    dims = list(getattr(var, "dims", None) or [])
    if dims:
        elements = list(spec.dimensions[dims[0]].elements)
        if element is None:
            raise one_line_error(
                file,
                f"{field_}.indicator",
                f"{name!r} is per {dims[0]}; name one element, e.g. '{name}[{elements[0]}]'",
            )
        if element not in elements:
            raise one_line_error(file, f"{field_}.indicator", f"unknown {dims[0]} {element!r}{suggest(element, elements)}")
        indicator = f"{name}[{element}]"
    else:
        if element is not None:
            raise one_line_error(file, f"{field_}.indicator", f"{name!r} is not subscripted; drop '[{element}]'")
        indicator = name
    year = year_key(t.year, spec, file, f"{field_}.year", what="target year")
    return Target(indicator, year, float(t.value))


# --------------------------------------------------------------------------- entry point


def load_scenario(path: str | Path | None = None) -> Scenario:
    """Read, resolve (`extends`) and validate a scenario file; None -> bundled baseline.

    Raises `InputError` (one line: file, field, reason) for any bad input.
    """
    if path is None:
        path = bundled_scenario_path("baseline")
        shown = display_path(path)
    else:
        shown = str(path)
        path = Path(path).expanduser()
    layer = load_layer(path, shown, [])
    spec = load_spec(layer.model)

    params: dict[str, float | np.ndarray | TimeSeries] = {}
    canon_set: dict[str, Any] = {}
    for name, (raw, file) in layer.set.items():
        params[name], canon_set[name] = resolve_set(name, raw, spec, file)

    uncertain: dict[str, Distribution] = {}
    canon_unc: dict[str, Any] = {}
    entries = dict(layer.uncertain)
    joint = None
    if "posterior" in entries and "posterior" not in spec.constants:
        raw, file = entries.pop("posterior")
        joint = read_posterior(raw, layer.posterior_dir, spec, file)
        for col in joint.columns:
            fixed = layer.set.get(col) or layer.set.get(column_constant(col))
            if fixed is not None and fixed[1] == file:
                raise one_line_error(file, f"set.{column_constant(col)}", f"also a column of the posterior "
                                     f"{joint.file}; a constant is either set or uncertain")
            own = entries.get(col) or entries.get(column_constant(col))
            if own is not None and own[1] == file:
                raise one_line_error(file, f"uncertain.{column_constant(col)}",
                                     f"also a column of the posterior {joint.file}; give it one source")
            if own is not None and column_constant(col) not in layer.posterior_drop and col not in layer.posterior_drop:
                entries.pop(col, None)  # a parent's own distribution gives way to a child's posterior
                entries.pop(column_constant(col), None)
    for name, (raw, file) in entries.items():
        uncertain[name], canon_unc[name] = resolve_uncertain(name, raw, spec, file)
    if joint is not None:
        drawn = [j for j, c in enumerate(joint.columns)
                 if c not in layer.posterior_drop and column_constant(c) not in layer.posterior_drop
                 and c not in uncertain and column_constant(c) not in uncertain]
        for j in drawn:
            col, base = joint.columns[j], column_constant(joint.columns[j])
            if col != base and isinstance(params.get(base), TimeSeries):
                # a drawn element replaces one entry of the constant's value; a time series has none
                raise one_line_error(layer.uncertain["posterior"][1], "uncertain.posterior",
                                     f"{joint.file!r} column {col}: {base} is set as a time series (in "
                                     f"{layer.set[base][1]}); a column for one element needs the constant set as "
                                     "numbers (or give a column for the whole constant)")
            uncertain[col] = Distribution("posterior", joint=joint, column=j)
        canon_unc["posterior"] = {"file": joint.file, "sha256": joint.sha256, "rows": joint.rows,
                                  "columns": [joint.columns[j] for j in drawn]}

    targets: list[Target] = []
    if layer.targets is not None:
        items, file = layer.targets
        seen: dict[tuple[str, int], int] = {}
        for i, t in enumerate(items):
            target = resolve_target(i, t, spec, file)
            key = (target.indicator, target.year)
            if key in seen:
                raise one_line_error(
                    file,
                    f"targets.{i}",
                    f"duplicates targets.{seen[key]} ({target.indicator} in {target.year})",
                )
            seen[key] = i
            targets.append(target)

    label = layer.label or {"zh": layer.name, "en": layer.name}
    resolved = {
        "name": layer.name,
        "label": dict(label),
        "model": Path(spec.path).name,
        "set": canon_set,
        "uncertain": canon_unc,
        "targets": [{"indicator": t.indicator, "year": t.year, "value": t.value} for t in targets],
    }
    canonical = json.dumps(resolved, sort_keys=True, ensure_ascii=False)
    return Scenario(
        name=layer.name,
        label=dict(label),
        path=Path(os.path.abspath(path)),
        spec=spec,
        params=params,
        uncertain=uncertain,
        targets=targets,
        resolved=resolved,
        sha256=hashlib.sha256(canonical.encode("utf-8")).hexdigest(),
        chain=tuple(layer.chain),
        kind=layer.kind,
    )
