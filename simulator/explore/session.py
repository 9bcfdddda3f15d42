"""`Explorer`: one scenario ready for the page, with no web framework in it (the app calls it).

It holds the loaded scenario, its compiled model, the levers, the history points and the
page's font subset, and answers the page's questions: `meta()` (what to draw the page
from), `run(body)`, `band(body)`, `save(body)`, and `font()`/`extra_font(body)` (its CJK
font subset, and one of text typed on the page). Each request's `set` is checked (levers
only, values through the scenario loader's `resolve_set`); bad input raises `InputError`
(one line). Single runs are serialized by one lock and bands by another (a band, about a
second, never holds up the slider's runs); each request runs in full inside the request (the
Monte Carlo band too: one vectorized batch, no background thread outliving it). The engine
keeps no state between runs, so a run and a band may go on at once.
"""

from __future__ import annotations

import json
import threading
import time
from collections import OrderedDict
from pathlib import Path
from typing import Any

from simulator.errors import InputError
from simulator.explore.answers import PATHS, band_answer, county_dimension, history_points, run_answer
from simulator.explore.levers import REQUEST, Lever, apply_settings, levers_of, raw_settings
from simulator.explore.saving import save_settings
from simulator.explore.texts import TEXT, page_characters

#: runs of the Monte Carlo band (the issue: "1,000 runs in about a second")
BAND_RUNS = 1000
#: its seed: the default of `urbsd sweep` and `urbsd report`, so the page gives their probabilities
BAND_SEED = 0
#: answers kept for settings seen before (a slider dragged back and forth comes back to the same steps)
CACHE = 512
#: the most characters of typed text (pin names) one extra font subset holds
EXTRA_CHARS = 400
#: the keys each request may carry
REQUEST_KEYS = {"run": {"set"}, "band": {"set"}, "save": {"set", "name", "label"}}


class Explorer:
    """One scenario served to the page (see the module docstring)."""

    def __init__(self, scenario: Any, model: Any, *, lang: str = "zh", band_runs: int = BAND_RUNS,
                 band_seed: int = BAND_SEED, font_cache: Path | None = None) -> None:
        self.scenario = scenario
        self.model = model
        self.lang = lang
        self.band_runs = int(band_runs)
        self.band_seed = int(band_seed)
        self.font_cache = font_cache
        self.levers: dict[str, Lever] = levers_of(scenario)
        self.history = history_points(scenario.spec)
        self.lock = threading.Lock()
        self.band_lock = threading.Lock()
        self._answers: OrderedDict[str, dict[str, Any]] = OrderedDict()
        self.font_lock = threading.Lock()
        self._font: bytes | None = None
        self._extra: dict[str, bytes] = {}
        self._page_text: str | None = None

    # ------------------------------------------------------------------ requests

    def settings(self, body: Any, kind: str) -> tuple[dict[str, Any], Any]:
        """A request body -> (the `set:` entries it asks for, the scenario with them applied)."""
        if not isinstance(body, dict):
            raise InputError(REQUEST, "(top level)", "expected a JSON object")
        extra = sorted(str(k)[:40] for k in body if k not in REQUEST_KEYS[kind])
        if extra:
            raise InputError(REQUEST, extra[0], f"unknown key; expected {', '.join(sorted(REQUEST_KEYS[kind]))}")
        raw = raw_settings(self.levers, body.get("set"))
        scenario, _ = apply_settings(self.scenario, raw)
        return raw, scenario

    def answer(self, scenario: Any) -> dict[str, Any]:
        """The run the page draws for `scenario` (under the lock)."""
        with self.lock:
            return run_answer(scenario, self.model)

    def run(self, body: Any) -> dict[str, Any]:
        """POST /api/run: the paths, county paths and targets for the page's settings.

        The answer depends on nothing but the settings (the scenario and model are fixed), so
        the last CACHE answers are kept; `cached` says whether this one was (`model_ms` is
        then the time of the run that made it)."""
        raw, scenario = self.settings(body, "run")
        key = json.dumps(raw, sort_keys=True)
        with self.lock:
            found = self._answers.get(key)
            if found is not None:
                self._answers.move_to_end(key)
                return {**found, "cached": True}
        t0 = time.perf_counter()
        out = self.answer(scenario)
        out["model_ms"] = (time.perf_counter() - t0) * 1000.0
        with self.lock:
            self._answers[key] = out
            while len(self._answers) > CACHE:
                self._answers.popitem(last=False)
        return {**out, "cached": False}

    def warm_up(self) -> None:
        """Import and run once what the first band needs (scipy's distributions, the sampler), so
        that a planner's first click on the band takes as long as the next ones."""
        with self.band_lock:
            band_answer(self.scenario, 2, self.band_seed)

    def band(self, body: Any) -> dict[str, Any]:
        """POST /api/band: the Monte Carlo band and target probabilities for the settings."""
        _, scenario = self.settings(body, "band")
        t0 = time.perf_counter()
        with self.band_lock:  # one band at a time, beside (not in front of) the single runs
            out = band_answer(scenario, self.band_runs, self.band_seed)
        out["model_ms"] = (time.perf_counter() - t0) * 1000.0
        return out

    def save(self, body: Any) -> dict[str, Any]:
        """POST /api/save: the settings as a scenario file (checked by loading and running it)."""
        raw, scenario = self.settings(body, "save")
        saved = save_settings(self.scenario, raw, body.get("name"), body.get("label"),
                              self.answer(scenario), self.answer)
        return saved.as_dict()

    # ------------------------------------------------------------------ the page

    def meta(self) -> dict[str, Any]:
        """GET /api/meta: everything the page is built from (labels in both languages), and the
        characters its font subset holds (`font_chars`: others typed on the page need /api/font)."""
        return {**self._meta(), "font_chars": self.page_text()}

    def _meta(self) -> dict[str, Any]:
        sc, spec = self.scenario, self.scenario.spec
        indicators = {}
        for name in list(PATHS) + [t.indicator.partition("[")[0] for t in sc.targets]:
            element = spec.element(name) if spec.kind(name) else None
            if element is not None:
                indicators[name] = {"zh": element.label.zh, "en": element.label.en}
        dim = county_dimension(spec)
        counties = None
        if dim is not None:
            labels = spec.dimensions[dim].labels or {}
            counties = {"dimension": dim, "elements": list(spec.elements(dim)),
                        "labels": {e: ({"zh": labels[e].zh, "en": labels[e].en} if e in labels else {"zh": e, "en": e})
                                   for e in spec.elements(dim)}}
        return {
            "scenario": {"name": sc.name, "label": dict(sc.label), "file": Path(sc.path).name, "sha256": sc.sha256},
            "model": {"name": spec.name, "sha256": spec.sha256},
            "time": {"start": float(spec.time.start), "stop": float(spec.time.stop)},
            "lang": self.lang,
            "text": TEXT,
            "levers": [lever.as_dict() for lever in self.levers.values()],
            "indicators": indicators,
            "targets": [{"indicator": t.indicator, "year": t.year, "value": t.value} for t in sc.targets],
            "counties": counties,
            "history": self.history,
            "band": {"runs": self.band_runs, "seed": self.band_seed,
                     "uncertain": [{"name": n, "label": _uncertain_label(spec, n)} for n in sc.uncertain]},
        }

    def page_text(self) -> str:
        """Every character the page can show: its words and the labels of the model and scenario."""
        if self._page_text is None:
            self._page_text = self._page_characters()
        return self._page_text

    def _page_characters(self) -> str:
        meta = self._meta()
        labels: list[str] = [meta["scenario"]["label"].get(lang, "") for lang in ("zh", "en")]
        for lever in meta["levers"]:
            labels += list(lever["label"].values()) + list(lever["unit"].values())
            labels += [text for note in lever["notes"] for text in note.values()]
        for group in (meta["indicators"], (meta["counties"] or {}).get("labels", {})):
            labels += [text for pair in group.values() for text in pair.values()]
        labels += [text for u in meta["band"]["uncertain"] for text in u["label"].values()]
        return page_characters(labels)

    def extra_font(self, body: Any) -> bytes:
        """POST /api/font: a font subset of text typed on the page (pin names), made on demand.

        Only characters outside the page's own subset are kept (at most EXTRA_CHARS); the
        subsets are made one at a time (each takes a second or two) and the last few are kept.
        """
        if not isinstance(body, dict) or set(body) != {"text"} or not isinstance(body["text"], str):
            raise InputError(REQUEST, "text", "expected {\"text\": \"characters\"}")
        have = set(self.page_text())
        chars = "".join(sorted({c for c in body["text"] if c not in have and ord(c) >= 0x80 and c.isprintable()}))
        if len(chars) > EXTRA_CHARS:
            raise InputError(REQUEST, "text", f"more than {EXTRA_CHARS} characters")
        from simulator.outputs.webfont import font_subset_woff2

        with self.font_lock:
            if chars not in self._extra:
                if len(self._extra) >= 16:
                    self._extra.pop(next(iter(self._extra)))
                self._extra[chars] = font_subset_woff2(chars or " ")
            return self._extra[chars]

    def font(self) -> bytes:
        """The page's CJK font: the bundled Noto Sans CJK SC cut to `page_text()` (WOFF2, made once;
        kept in `font_cache` between starts when one is given)."""
        with self.font_lock:
            if self._font is None:
                from simulator.explore.fontcache import cached_subset
                from simulator.outputs.webfont import font_subset_woff2

                self._font = cached_subset(self.page_text(), font_subset_woff2, self.font_cache)
            return self._font


def _uncertain_label(spec: Any, name: str) -> dict[str, str]:
    """The label of an uncertain input; a posterior column `constant[element]` is labelled as
    its constant with the element after it."""
    base, _, element = name.partition("[")
    label = spec.constants[base].label
    suffix = f" [{element}" if element else ""
    return {"zh": label.zh + suffix, "en": label.en + suffix}
