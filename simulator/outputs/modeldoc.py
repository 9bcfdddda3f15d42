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

#: This equation syntax -> Vensim, for the reading guide (the built-in functions are added
#: from their table, engine.functions, by `guide_rows`).
VENSIM_GUIDE: tuple[tuple[str, str, str], ...] = (
    ("stock with `inflows`, `outflows`, `initial`", "`INTEG(inflows - outflows, initial)`",
     "d(stock)/dt = sum of inflows - sum of outflows, from `initial` at the start time"),
    ("`a ** b`", "`a ^ b`", "power"),
    ("`x[kongtong]`, `x[kongtong, a0_4]`", "`x[kongtong]`, `x[kongtong, a0_4]`", "elements of a subscripted `x`"),
    ("`f(x)` for a lookup `f`", "`f(x)`", "linear between points, flat outside them; elementwise"),
    ("`time`", "`Time`", "model time in years"),
    ("element with dims `[county, age]`", "`x[county, age]`",
     "values combine by dimension name: `[county]` times `[age]` gives `[county, age]`"),
    ("`elements: {a85p: 0}`", "`x[county, a85p] = 0` and one equation per other element",
     "a per-element equation overrides `equation:` on its slice"),
)

#: how the model page names each integration method
METHOD_NAMES = {"euler": "Euler", "heun": "Heun (second-order Runge-Kutta)", "rk4": "RK4"}


def guide_rows() -> list[tuple[str, str, str]]:
    """The reading guide: the syntax rows above, then one row per built-in function."""
    from simulator.engine.functions import BUILTINS_TABLE
    from simulator.outputs.functionsdoc import vensim_form

    rows = list(VENSIM_GUIDE)
    for b in BUILTINS_TABLE:
        vensim = vensim_form(b)
        rows.append((f"`{b.signature}`", f"`{vensim}`" if vensim else "one equation per element", b.meaning))
    return rows


_HEADING_RE = re.compile(r"^  #\s*-{3,}\s*(.+?)\s*$")
_KEY_RE = re.compile(r"^([a-z_]+):")
_ELEMENT_RE = re.compile(r"^  ([a-z][a-z0-9_]*):")


def model_markdown(spec: "ModelSpec") -> str:
    """The Markdown documentation of a model: overview diagram, loops, every element."""
    doc = _Doc(spec)
    return doc.render()


def notes_path(model_path: Path | None) -> Path | None:
    """The model's hand-written notes beside its file (`pingliang.yaml` -> `pingliang.notes.md`),
    included in its documentation after the header; None when there are none."""
    if model_path is None:
        return None
    path = Path(model_path).with_suffix(".notes.md")
    return path if path.is_file() else None


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


def _nested_text(value: Any) -> str:
    """A nested value (numbers, lists, mappings) on one line, numbers as in the file."""
    if isinstance(value, dict):
        return "{" + "; ".join(f"{k}: {_nested_text(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_nested_text(v) for v in value) + "]"
    return _num(float(value))


def _cell(text: Any) -> str:
    """Text for one line of Markdown (a table cell or a list item): no newlines, no bare pipes."""
    return " ".join(str(text).split()).replace("|", "\\|")


def _code(text: Any) -> str:
    """Inline code that survives backticks inside."""
    text = _cell(text)
    return f"`` {text} ``" if "`" in text else f"`{text}`"


def _mermaid_text(text: str) -> str:
    return text.replace('"', "#quot;")


def _mermaid_id(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_]", "_", text)


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
        reads: dict[str, set[str]] = {}
        for _, owner, node, _ in equations.equation_trees(self.spec):
            reads.setdefault(owner, set()).update(equations.reads(node))
        return reads

    def link(self, name: str) -> str:
        return f"[`{name}`](#{name})"

    def label(self, name: str) -> str:
        lab = self.spec.element(name).label
        return f"{lab.zh} / {lab.en}"

    # ------------------------------------------------------------------ document
    def render(self) -> str:
        parts = [self.header(), self.diagram(), self.loops(), self.guide()]
        sectors = self.spec.sectors()
        if not sectors:
            for table, heading, kind in KINDS:
                parts.append(self.section(table, heading, kind))
        else:
            for sector in sectors + [None]:
                parts.append(self.sector_section(sector))
        return "\n".join(p.rstrip("\n") + "\n" for p in parts)

    def sector_section(self, sector: str | None) -> str:
        """One sector: its elements by kind (`sector` None: the elements that name no sector)."""
        members = {table: {n: el for n, el in getattr(self.spec, table).items() if el.sector == sector}
                   for table, _, _ in KINDS}
        if sector is None and not any(members.values()):
            return ""
        counts = ", ".join(f"{len(members[t])} {t}" for t, _, _ in KINDS if members[t])
        title = f"Sector `{sector}`" if sector else "Elements without a sector"
        lines = [f"## {title}", "", f"{counts}.", ""]
        for table, heading, kind in KINDS:
            if members[table]:
                lines += [f"### {heading}", ""]
                for name, element in members[table].items():
                    lines += self.entry(name, element, kind)
        return "\n".join(lines)

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
            f"| integration | {METHOD_NAMES[t.method]} (the model's `time.method`; "
            "`urbsd run --method euler|heun|rk4` overrides it) |",
            f"| dimensions | {dims} |",
            f"| elements | {counts} |",
            "| units | every equation is checked for dimensional consistency when the model loads "
            "(docs/model-format.md, Units) |",
            "",
        ]
        if spec.doc:
            lines += [_cell(spec.doc), ""]
        notes = notes_path(spec.path)
        if notes is not None:
            lines += [f"<!-- from {notes.name}, the model's hand-written notes -->",
                      notes.read_text(encoding="utf-8").strip(), ""]
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
            "from or goes to no stock of the model). Subscripted stocks are marked with their dims, e.g. "
            "`[county]`; stocks are grouped by sector where the model file names sectors.",
            "",
            "```mermaid",
            "flowchart LR",
        ]
        groups: dict[str | None, list[str]] = {}
        for sname, stock in spec.stocks.items():
            groups.setdefault(stock.sector, []).append(sname)
        for sector, names in groups.items():
            indent = "  "
            if sector:
                lines.append(f'  subgraph sector_{_mermaid_id(sector)}["{_mermaid_text(sector)}"]')
                indent = "    "
            for sname in names:
                stock = spec.stocks[sname]
                dims = f" [{', '.join(stock.dims)}]" if stock.dims else ""
                text = _mermaid_text(f"{stock.label.zh}<br/>{sname}{dims}")
                lines.append(f'{indent}S_{sname}["{text}"]')
            if sector:
                lines.append("  end")
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
            "Equations use Python syntax with a small whitelist of functions; each maps to Vensim "
            "(docs/functions.md lists them with XMILE and the code they compile to):",
            "",
            "| here | Vensim | meaning |",
            "| --- | --- | --- |",
        ]
        lines += [f"| {a} | {b} | {_cell(c)} |" for a, b, c in guide_rows()]
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
        sector = f" · sector: {_cell(element.sector)}" if element.sector else ""
        lines = [
            f'<a id="{name}"></a>',
            f"#### `{name}` — {_cell(element.label.zh)} / {_cell(element.label.en)}",
            "",
            f"- unit: {_code(element.unit)} · dims: {dims}{sector}",
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
        return self._auxiliary_lines(name, flow) + [f"- from {src} to {dst}"]

    def _auxiliary_lines(self, name: str, aux: Any) -> list[str]:
        lines = [f"- equation: {_code(self._equation(aux.equation))}"]
        for key, text in (aux.elements or {}).items():
            lines.append(f"- at {_cell(key)}: {_code(self._equation(text))}")
        return lines

    def _lookup_lines(self, name: str, lookup: Any) -> list[str]:
        points = ", ".join(f"({_num(float(x))}, {_num(float(y))})" for x, y in zip(lookup.x, lookup.y))
        return [f"- x unit: {_code(lookup.x_unit)}", f"- points (x, y): {points}"]

    def _constant_lines(self, name: str, const: Any) -> list[str]:
        if len(const.dims) > 1 or isinstance(const.value, list):
            value = _nested_text(const.value)
            if const.value_dims:
                value += f" (given over {', '.join(const.value_dims)}, the same for every other element)"
        elif isinstance(const.value, dict):
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
