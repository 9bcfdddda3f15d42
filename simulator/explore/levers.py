"""The page's sliders: a scenario's levers described for the browser, and its requests checked.

Every `lever: true` constant of the model gets a slider, with its Chinese and English label,
its unit in words, its bounds from the model file and the scenario's value. A lever the
scenario gives as a time series is shown as two sliders, its value in the series' first
and last year (moving either sets a straight ramp between those two years). A per-county
lever gets one slider that sets the same value in every county.

What the browser sends back, `{"set": {lever: number | {"start": number, "end": number}}}`,
is turned into `set:` entries of a scenario file and checked by the scenario loader's own
`resolve_set` (the same code that checks a scenario's `set:` and the API's run overrides),
so a value outside the bounds, a string or a NaN is refused with the same one-line message.
Only lever names of the scenario are accepted; nothing from the client names a file.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from simulator.engine.series import TimeSeries
from simulator.errors import InputError, suggest
from simulator.outputs.labels import unit_text
from simulator.scenario.levers import bounds_of, resolve_set
from simulator.scenario.schema import Scenario, is_number

#: the "file" named in the one-line messages about a request from the page
REQUEST = "explore request"
#: a slider moves in about this many steps from one bound to the other (rounded to 1, 2 or 5 x 10^k)
STEPS = 200


@dataclass(frozen=True)
class Lever:
    """One lever as the page shows it (plain data; `as_dict` is its JSON)."""

    name: str
    label: dict[str, str]
    unit: dict[str, str]
    doc: str
    low: float
    high: float
    step: float
    #: "number" (one value) or "series" (a start and an end value at `years`)
    kind: str
    #: the scenario's value: [value] for a number, [start, end] for a series
    values: tuple[float, ...]
    years: tuple[int, ...] = ()
    #: the dimensions the constant is subscripted by ([] for a scalar)
    dims: tuple[str, ...] = ()
    #: notes for the planner, {zh, en} each (e.g. "one value for every county")
    notes: tuple[dict[str, str], ...] = field(default_factory=tuple)

    def as_dict(self) -> dict[str, Any]:
        """The JSON the page builds the slider from."""
        return {"name": self.name, "label": dict(self.label), "unit": dict(self.unit), "doc": self.doc,
                "low": self.low, "high": self.high, "step": self.step, "kind": self.kind,
                "values": list(self.values), "years": list(self.years), "dims": list(self.dims),
                "notes": [dict(n) for n in self.notes]}


def nice_step(low: float, high: float) -> float:
    """A round slider step (1, 2 or 5 x 10^k) giving about STEPS steps over [low, high]."""
    span = high - low
    if not span > 0 or not math.isfinite(span):
        return 1.0
    raw = span / STEPS
    power = 10.0 ** math.floor(math.log10(raw))
    for m in (1, 2, 5, 10):
        if raw <= m * power:
            return float(f"{m * power:.12g}")
    return float(f"{10 * power:.12g}")  # pragma: no cover - the loop always returns


def slider_range(const: Any, value: float) -> tuple[float, float]:
    """The slider's ends: the constant's bounds; an open end is put at twice the distance of the value."""
    lo, hi = bounds_of(const) or (-math.inf, math.inf)
    width = max(abs(value), 1.0)
    if not math.isfinite(lo):
        lo = min(0.0, value - width) if value >= 0 else value - width
    if not math.isfinite(hi):
        hi = value + width if value > lo else lo + 2 * width
    return float(lo), float(hi)


def _dim_words(spec: Any, dims: tuple[str, ...]) -> dict[str, str]:
    if dims == ("county",):
        return {"zh": "每个县（市、区）", "en": "every county"}
    return {"zh": "每个" + "×".join(dims), "en": "every " + " x ".join(dims)}


def numbers_in(value: Any) -> list[float]:
    """Every number of a constant's value: a number, an array, or nested mappings/lists over its dims."""
    if isinstance(value, dict):
        return [x for v in value.values() for x in numbers_in(v)]
    if isinstance(value, (list, tuple)):
        return [x for v in value for x in numbers_in(v)]
    return [float(x) for x in np.asarray(value, dtype=float).ravel()]


def _scalar(values: Any) -> tuple[float, bool]:
    """One number for the slider from per-element values: the mean, and whether they differed."""
    arr = np.asarray(numbers_in(values), dtype=float)
    return float(arr.mean()), bool(arr.size and np.ptp(arr) > 0)


def lever_of(scenario: Scenario, name: str) -> Lever:
    """The slider description of one lever of `scenario`."""
    spec = scenario.spec
    const = spec.constants[name]
    dims = tuple(const.dims or ())
    notes: list[dict[str, str]] = []
    param = scenario.params.get(name)
    differs = False
    if isinstance(param, TimeSeries):
        kind = "series"
        years = (int(round(float(param.years[0]))), int(round(float(param.years[-1]))))
        start, d0 = _scalar(param.values[0])
        end, d1 = _scalar(param.values[-1])
        values: tuple[float, ...] = (start, end)
        differs = d0 or d1
        if len(param.years) > 2:
            notes.append({"zh": f"情景中此项为{len(param.years)}个时点的序列；移动滑块后改为{years[0]}—{years[1]}年的直线变化",
                          "en": f"the scenario gives {len(param.years)} points; moving a slider makes it a straight "
                                f"ramp from {years[0]} to {years[1]}"})
    else:
        kind, years = "number", ()
        value, differs = _scalar(param if param is not None else const.value)
        values = (value,)
    if dims:
        where = _dim_words(spec, dims)
        notes.append({"zh": f"滑块为{where['zh']}设同一个值", "en": f"the slider sets one value for {where['en']}"})
        if differs:
            notes.append({"zh": "情景中各地取值不同，滑块显示其平均值", "en": "the scenario's values differ by place; "
                          "the slider shows their mean"})
    low, high = slider_range(const, min(values))
    high = max(high, max(values))
    label = {"zh": const.label.zh, "en": const.label.en}
    unit = {lang: unit_text(const.unit, lang) for lang in ("zh", "en")}
    return Lever(name=name, label=label, unit=unit, doc=str(getattr(const, "doc", "") or ""), low=low, high=high,
                 step=nice_step(low, high), kind=kind, values=values, years=years, dims=dims, notes=tuple(notes))


def levers_of(scenario: Scenario) -> dict[str, Lever]:
    """Every `lever: true` constant of the scenario's model, in the model file's order."""
    spec = scenario.spec
    return {name: lever_of(scenario, name) for name, const in spec.constants.items()
            if getattr(const, "lever", False)}


# --------------------------------------------------------------------------- requests


def raw_settings(levers: dict[str, Lever], body: Any) -> dict[str, Any]:
    """The page's `set` object -> `set:` entries as a scenario file writes them (not yet checked).

    A number lever takes a number; a series lever `{"start": a, "end": b}`, which becomes
    `{first_year: a, last_year: b}`. The values themselves are checked by `resolve_set`.
    """
    if body is None:
        return {}
    if not isinstance(body, dict):
        raise InputError(REQUEST, "set", "expected an object {lever: value}")
    out: dict[str, Any] = {}
    if len(body) > len(levers):
        raise InputError(REQUEST, "set", f"{len(body)} entries, but the scenario has {len(levers)} levers")
    for name, value in body.items():
        if name not in levers:
            shown = " ".join(str(name).split())[:40] or "''"
            raise InputError(REQUEST, f"set.{shown}", f"not a lever of this scenario{suggest(shown, levers)}")
        field_ = f"set.{name}"
        lever = levers[name]
        if lever.kind == "series":
            if not isinstance(value, dict) or set(value) != {"start", "end"}:
                raise InputError(REQUEST, field_, "expected {\"start\": number, \"end\": number}")
            out[name] = {lever.years[0]: value["start"], lever.years[1]: value["end"]}
        else:
            if not is_number(value):  # a dict here would be read as a county map or a series
                raise InputError(REQUEST, field_, f"expected a number, got {type(value).__name__}")
            out[name] = value
    return out


def apply_settings(base: Scenario, raw: dict[str, Any]) -> tuple[Scenario, dict[str, Any]]:
    """`base` with the `set:` entries `raw` (each checked by `resolve_set`) -> (scenario, canonical set).

    Like the scenario loader and `simulator.api.with_overrides`: a constant that is set is
    no longer uncertain. The returned scenario's `resolved` holds the new `set:` and
    `uncertain:`; its `sha256` is left as the base's (the saved file's is computed when
    it is saved, by loading it back).
    """
    if not raw:
        return base, {}
    out = copy.copy(base)
    out.params = dict(base.params)
    canonical: dict[str, Any] = {}
    for name, value in raw.items():
        out.params[name], canonical[name] = resolve_set(name, value, base.spec, REQUEST)
    out.uncertain = {k: v for k, v in base.uncertain.items() if k.split("[", 1)[0] not in raw}
    resolved = copy.deepcopy(base.resolved)
    resolved["set"] = {**resolved.get("set", {}), **canonical}
    resolved["uncertain"] = {k: v for k, v in resolved.get("uncertain", {}).items()
                             if k.split("[", 1)[0] not in raw}
    out.resolved = resolved
    return out, canonical
