"""The model documentation (docs/model.md), generated from the model file.

`model_markdown(spec)` writes, from a loaded `ModelSpec` only: a header (model name, file
sha256, time settings), a stock-and-flow overview as a Mermaid flowchart (stocks as
boxes, flows as labelled edges, clouds at the model boundary), the feedback loops of the
`loops:` section in words, a guide from this equation syntax to Vensim's, and one entry
per element (labels, unit, dims, equation or value, source, doc, and what uses it), so a
Vensim user can follow every equation. The text depends on nothing but the model file, so
a test can hold the committed docs/model.md to what the current model generates.
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from simulator.bundled import models_dir
from simulator.engine import equations

if TYPE_CHECKING:
    from simulator.engine.modelfile import ModelSpec

#: Kinds of element in document order: (table attribute, heading, kind name).
KINDS: tuple[tuple[str, str, str], ...] = (
    ("stocks", "Stocks", "stock"),
    ("flows", "Flows", "flow"),
    ("auxiliaries", "Auxiliaries", "auxiliary"),
    ("lookups", "Lookups (graphical functions)", "lookup"),
    ("constants", "Constants", "constant"),
)

#: This equation syntax -> Vensim, for the reading guide.
VENSIM_GUIDE: tuple[tuple[str, str, str], ...] = (
    ("stock with `inflows`, `outflows`, `initial`", "`INTEG(inflows - outflows, initial)`",
     "d(stock)/dt = sum of inflows - sum of outflows, from `initial` at the start time"),
    ("`a ** b`", "`a ^ b`", "power"),
    ("`if_then_else(c, a, b)`", "`IF THEN ELSE(c, a, b)`", "`c` is a comparison `< <= > >= == !=`"),
    ("`min(a, b)`, `max(a, b)`", "`MIN(a, b)`, `MAX(a, b)`", ""),
    ("`abs(x)`, `exp(x)`, `ln(x)`, `sqrt(x)`", "`ABS(x)`, `EXP(x)`, `LN(x)`, `SQRT(x)`", ""),
    ("`step(h, t0)`", "`STEP(h, t0)`", "0 before `t0`, `h` from `t0` on"),
    ("`ramp(s, t1, t2)`", "`RAMP(s, t1, t2)`", "`s * (min(max(time, t1), t2) - t1)`"),
    ("`smooth(x, d)`", "`SMOOTH(x, d)`", "first-order exponential smooth, starting at `x`'s initial value"),
    ("`delay3(x, d)`", "`DELAY3(x, d)`", "third-order material delay, three stocks of `d/3` each"),
    ("`sum(x)`", "`SUM(x[county!])`", "sum over the county dimension"),
    ("`x[kongtong]`", "`x[kongtong]`", "one element of a subscripted `x`"),
    ("`f(x)` for a lookup `f`", "`f(x)`", "linear between points, flat outside them"),
    ("`time`", "`Time`", "model time in years"),
    ("element with dims `[county]`", "`x[county]`", "a scalar combined with a county value applies to every county"),
)

_HEADING_RE = re.compile(r"^  #\s*-{3,}\s*(.+?)\s*$")
_KEY_RE = re.compile(r"^([a-z_]+):")
_ELEMENT_RE = re.compile(r"^  ([a-z][a-z0-9_]*):")


def model_markdown(spec: "ModelSpec") -> str:
    """The Markdown documentation of a model: overview diagram, loops, every element."""
    doc = _Doc(spec)
    return doc.render()


def display_path(path: Path) -> str:
    """`models/<name>` for a bundled model file, else the file name (no machine-specific paths)."""
    path = Path(path)
    try:
        if path.resolve().parent == models_dir().resolve():
            return f"models/{path.name}"
    except OSError:
        pass
    return path.name


def sector_headings(path: Path) -> dict[tuple[str, str], str]:
    """(table, element) -> the `# ---- heading` comment above it in the model file (may be empty)."""
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except OSError:
        return {}
    found: dict[tuple[str, str], str] = {}
    table, heading = "", ""
    for line in lines:
        key = _KEY_RE.match(line)
        if key:
            table, heading = key.group(1), ""
            continue
        head = _HEADING_RE.match(line)
        if head:
            heading = head.group(1)
            continue
        elem = _ELEMENT_RE.match(line)
        if elem and table:
            found[(table, elem.group(1))] = heading
    return found


# ----------------------------------------------------------------------------- helpers


def _num(v: float) -> str:
    """A number exactly as in the file: integers without '.0', others at full (shortest round-trip) precision."""
    v = float(v)
    if math.isnan(v) or math.isinf(v):
        return str(v)
    if v.is_integer() and abs(v) < 1e15:
        return str(int(v))
    return repr(v)


def _cell(text: Any) -> str:
    """Text for one line of Markdown (a table cell or a list item): no newlines, no bare pipes."""
    return " ".join(str(text).split()).replace("|", "\\|")


def _code(text: Any) -> str:
    """Inline code that survives backticks inside."""
    text = _cell(text)
    return f"`` {text} ``" if "`" in text else f"`{text}`"


def _mermaid_text(text: str) -> str:
    return text.replace('"', "#quot;")


class _Doc:
    def __init__(self, spec: "ModelSpec") -> None:
        self.spec = spec
        self.reads = self._reads()
        self.used_by: dict[str, list[str]] = {n: [] for n in spec.all_names()}
        for name in spec.all_names():
            for r in sorted(self.reads.get(name, ())):
                self.used_by[r].append(name)
        self.sources: dict[str, list[str]] = {f: [] for f in spec.flows}  # flow -> stocks it drains
        self.targets: dict[str, list[str]] = {f: [] for f in spec.flows}  # flow -> stocks it fills
        for sname, stock in spec.stocks.items():
            for f in stock.outflows:
                self.sources[f].append(sname)
            for f in stock.inflows:
                self.targets[f].append(sname)
        self.headings = sector_headings(spec.path)

    def _reads(self) -> dict[str, set[str]]:
        spec = self.spec
        reads: dict[str, set[str]] = {}
        for sname, stock in spec.stocks.items():
            reads[sname] = equations.check(spec, sname, stock.initial, field=f"stocks.{sname}.initial", initial=True)
        for fname, flow in spec.flows.items():
            reads[fname] = equations.check(spec, fname, flow.equation, field=f"flows.{fname}.equation")
        for aname, aux in spec.auxiliaries.items():
            reads[aname] = equations.check(spec, aname, aux.equation, field=f"auxiliaries.{aname}.equation")
        return reads

    def link(self, name: str) -> str:
        return f"[`{name}`](#{name})"

    def label(self, name: str) -> str:
        lab = self.spec.element(name).label
        return f"{lab.zh} / {lab.en}"

    # ------------------------------------------------------------------ document
    def render(self) -> str:
        parts = [self.header(), self.diagram(), self.loops(), self.guide()]
        for table, heading, kind in KINDS:
            parts.append(self.section(table, heading, kind))
        return "\n".join(p.rstrip("\n") + "\n" for p in parts)

    def header(self) -> str:
        spec = self.spec
        t = spec.time
        levers = [n for n, c in spec.constants.items() if c.lever]
        counts = (f"{len(spec.stocks)} stocks, {len(spec.flows)} flows, {len(spec.auxiliaries)} auxiliaries, "
                  f"{len(spec.lookups)} lookups, {len(spec.constants)} constants ({len(levers)} policy levers)")
        dims = "; ".join(
            f"`{d}`: " + ", ".join(
                f"`{e}`" + (f" {dim.labels[e].zh}" if e in dim.labels else "") for e in dim.elements
            )
            for d, dim in spec.dimensions.items()
        ) or "none"
        lines = [
            f"# Model `{spec.name}`",
            "",
            f"Generated by `urbsd docs` from `{display_path(spec.path)}`; do not edit by hand. Regenerate it after "
            "every change to the model file (a test fails until it matches).",
            "",
            "| | |",
            "| --- | --- |",
            f"| model file | `{display_path(spec.path)}` |",
            f"| sha256 | `{spec.sha256}` |",
            f"| version | {_cell(spec.version) or '-'} |",
            f"| time | {_num(t.start)} to {_num(t.stop)} (years); dt {_num(t.dt)} year; saved every "
            f"{_num(t.saveper)} year |",
            "| integration | Euler (Vensim's default) or RK4 (`urbsd run --method rk4`) |",
            f"| dimensions | {dims} |",
            f"| elements | {counts} |",
            "| units | every equation is checked for dimensional consistency when the model loads "
            "(docs/model-format.md, Units) |",
            "",
        ]
        if spec.doc:
            lines += [_cell(spec.doc), ""]
        if levers:
            lines += ["Policy levers (constants that scenario files usually set): "
                      + ", ".join(self.link(n) for n in levers) + ".", ""]
        return "\n".join(lines)

    def diagram(self) -> str:
        spec = self.spec
        lines = [
            "## Stock-and-flow overview",
            "",
            "Stocks are boxes, flows are labelled arrows; a cloud marks the model boundary (a flow that comes "
            "from or goes to no stock of the model). Subscripted stocks are marked `[county]`.",
            "",
            "```mermaid",
            "flowchart LR",
        ]
        for sname, stock in spec.stocks.items():
            dims = f" [{', '.join(stock.dims)}]" if stock.dims else ""
            text = _mermaid_text(f"{stock.label.zh}<br/>{sname}{dims}")
            lines.append(f'  S_{sname}["{text}"]')
        clouds = 0
        for fname, flow in spec.flows.items():
            text = _mermaid_text(f"{fname}<br/>{flow.label.zh}")
            sources = [f"S_{s}" for s in self.sources[fname]]
            targets = [f"S_{s}" for s in self.targets[fname]]
            if not sources:
                clouds += 1
                lines.append(f'  C{clouds}(("☁"))')
                sources = [f"C{clouds}"]
            if not targets:
                clouds += 1
                lines.append(f'  C{clouds}(("☁"))')
                targets = [f"C{clouds}"]
            for a in sources:
                for b in targets:
                    lines.append(f'  {a} -->|"{text}"| {b}')
        lines += ["```", ""]
        return "\n".join(lines)

    def loops(self) -> str:
        spec = self.spec
        lines = ["## Feedback loops", ""]
        if not spec.loops:
            lines += [
                "The model file declares no feedback loops yet (its `loops:` section is missing or empty), so "
                "none are described here. The loops exist in the equations all the same; the dependencies of "
                "every element are listed under it below (\"uses\" and \"used by\").",
                "",
            ]
            return "\n".join(lines)
        lines += [
            "Each loop below is declared in the model file's `loops:` section; loading the model checks that "
            "every element of a loop is read by the next one, so each arrow is a real dependency.",
            "",
        ]
        for loop in spec.loops:
            kind = "reinforcing (+)" if loop.reinforcing else "balancing (−)"
            chain = list(loop.elements)
            if len(chain) > 2 and chain[0] == chain[-1]:
                chain = chain[:-1]
            lines += [
                f"### {_cell(loop.name)}: {_cell(loop.label.zh)} / {_cell(loop.label.en)}",
                "",
                f"*{kind}*: " + " → ".join(self.link(n) for n in chain + chain[:1]),
                "",
            ]
            steps = [f"{i + 1}. {self.link(n)} {_cell(self.label(n))}" for i, n in enumerate(chain)]
            lines += steps + [""]
            if loop.doc:
                lines += [_cell(loop.doc), ""]
        return "\n".join(lines)

    def guide(self) -> str:
        lines = [
            "## Reading the equations (for Vensim users)",
            "",
            "Equations use Python syntax with a small whitelist of functions; each maps to one Vensim function:",
            "",
            "| here | Vensim | meaning |",
            "| --- | --- | --- |",
        ]
        lines += [f"| {a} | {b} | {c} |" for a, b, c in VENSIM_GUIDE]
        lines.append("")
        return "\n".join(lines)

    # ------------------------------------------------------------------ elements
    def section(self, table: str, heading: str, kind: str) -> str:
        elements: dict[str, Any] = getattr(self.spec, table)
        lines = [f"## {heading}", ""]
        if not elements:
            return "\n".join(lines + [f"The model has no {table}.", ""])
        current: str | None = None
        for name, element in elements.items():
            sector = self.headings.get((table, name), "")
            if sector != current and sector:
                lines += [f"### {_cell(sector)}", ""]
            current = sector
            lines += self.entry(name, element, kind)
        return "\n".join(lines)

    def entry(self, name: str, element: Any, kind: str) -> list[str]:
        dims = ", ".join(element.dims) or "-"
        lines = [
            f'<a id="{name}"></a>',
            f"#### `{name}` — {_cell(element.label.zh)} / {_cell(element.label.en)}",
            "",
            f"- unit: {_code(element.unit)} · dims: {dims}",
        ]
        lines += getattr(self, f"_{kind}_lines")(name, element)
        uses = sorted(self.reads.get(name, ()))
        if uses:
            lines.append("- uses: " + ", ".join(self.link(n) for n in uses))
        if self.used_by[name]:
            lines.append("- used by: " + ", ".join(self.link(n) for n in self.used_by[name]))
        if element.doc:
            lines.append(f"- doc: {_cell(element.doc)}")
        if element.source:
            lines.append(f"- source: {_cell(element.source)}")
        return lines + [""]

    def _stock_lines(self, name: str, stock: Any) -> list[str]:
        terms = [self.link(f) for f in stock.inflows]
        net = " + ".join(terms) if terms else "0"
        if stock.outflows:
            net += " − " + " − ".join(self.link(f) for f in stock.outflows)
        initial = stock.initial if isinstance(stock.initial, str) else _num(stock.initial)
        vensim = " + ".join(stock.inflows) or "0"
        if stock.outflows:
            vensim += " - " + " - ".join(stock.outflows)
        return [
            f"- d/dt = {net}",
            f"- initial: {_code(initial)}",
            f"- Vensim: {_code(f'INTEG({vensim}, {initial})')}",
        ]

    def _flow_lines(self, name: str, flow: Any) -> list[str]:
        src = ", ".join(self.link(s) for s in self.sources[name]) or "outside the model (cloud)"
        dst = ", ".join(self.link(s) for s in self.targets[name]) or "outside the model (cloud)"
        return [f"- equation: {_code(self._equation(flow.equation))}", f"- from {src} to {dst}"]

    def _auxiliary_lines(self, name: str, aux: Any) -> list[str]:
        return [f"- equation: {_code(self._equation(aux.equation))}"]

    def _lookup_lines(self, name: str, lookup: Any) -> list[str]:
        points = ", ".join(f"({_num(float(x))}, {_num(float(y))})" for x, y in zip(lookup.x, lookup.y))
        return [f"- x unit: {_code(lookup.x_unit)}", f"- points (x, y): {points}"]

    def _constant_lines(self, name: str, const: Any) -> list[str]:
        if isinstance(const.value, dict):
            dim = self.spec.dimensions[const.dims[0]]
            value = "; ".join(
                f"{e}" + (f" {dim.labels[e].zh}" if e in dim.labels else "") + f": {_num(float(const.value[e]))}"
                for e in dim.elements
            )
        else:
            value = _num(float(const.value))
        lines = [f"- value: {value}"]
        extra = []
        if const.bounds is not None:
            extra.append(f"bounds [{_num(float(const.bounds[0]))}, {_num(float(const.bounds[1]))}]")
        if const.lever:
            extra.append("**policy lever**")
        if extra:
            lines.append("- " + " · ".join(extra))
        return lines

    @staticmethod
    def _equation(text: float | str) -> str:
        return text if isinstance(text, str) else _num(text)
