"""The compiler: a validated ModelSpec becomes two vectorized Python functions.

`init(t, C, dt)` returns the initial state; `rates(t, C, S, dt)` returns the derivative of
every stock and the value of every flow and auxiliary (`dt` is the time step, which
Vensim's STEP uses). Both work on 2-D arrays (runs, width)
so one call serves one run or 100,000. SMOOTH and DELAY3 become hidden stocks exactly as
Vensim defines them. The generated source is kept on the result (`model.source`) so a
reader can see what runs.
"""

from __future__ import annotations

import graphlib
from dataclasses import dataclass, field

import numpy as np

from simulator.engine import equations
from simulator.engine.equations import Context, Translated
from simulator.engine.modelfile import ModelSpec
from simulator.errors import InputError


@dataclass
class _Node:
    code: str
    width: int
    reads: set[str]
    literal: bool = False


@dataclass
class CompiledModel:
    """A model ready to integrate: generated functions plus what the integrator needs."""

    spec: ModelSpec
    source: str
    init: object
    rates: object
    stocks: list[str]
    #: all state names (stocks, then hidden SMOOTH/DELAY3 stocks)
    states: list[str]
    #: names recorded by default: stocks, flows, auxiliaries
    variables: list[str]
    widths: dict[str, int]
    dims: dict[str, tuple[str, ...]]
    #: boundary flows: flows that only enter (+1) or only leave (-1) the stocks
    boundary_flows: dict[str, int] = field(default_factory=dict)

    def default_constants(self) -> dict[str, np.ndarray]:
        """Every constant's declared value as an array of shape (1, width)."""
        out = {}
        for name, c in self.spec.constants.items():
            if isinstance(c.value, dict):
                vals = [c.value[e] for e in self.spec.elements(c.dims[0])]
            else:
                vals = [c.value] * self.widths[name]
            out[name] = np.asarray(vals, dtype=float).reshape(1, -1)
        return out


def compile_model(spec: ModelSpec) -> CompiledModel:
    """Order the equations, translate them, and build the step functions."""
    return _Compiler(spec).build()


class _Compiler:
    def __init__(self, spec: ModelSpec) -> None:
        self.spec = spec
        self.widths: dict[str, int] = {}
        for name in spec.all_names():
            dims = spec.element(name).dims
            self.widths[name] = len(spec.elements(dims[0])) if dims else 1
        self.run_nodes: dict[str, _Node] = {}
        self.init_overrides: dict[str, _Node] = {}
        self.hidden_states: dict[str, int] = {}
        self.hidden_derivs: list[tuple[str, str]] = []
        self.hidden_inits: list[tuple[str, str]] = []
        self.labels: dict[str, str] = {}
        self.k = 0

    def _width(self, dim: str | None) -> int:
        return len(self.spec.elements(dim)) if dim else 1

    def _hidden(self, owner: str):
        def make(kind: str, inp: Translated, delay: Translated, dim, r_in: set[str], r_delay: set[str]) -> Translated:
            k = self.k
            self.k += 1
            w = self._width(dim)
            i, d = f"__in{k}", f"__d{k}"
            self.run_nodes[i] = _Node(inp.code, w, r_in, inp.literal)
            self.run_nodes[d] = _Node(delay.code, self._width(delay.dim), r_delay, delay.literal)
            self.labels[i] = f"input of {kind} in '{owner}'"
            self.labels[d] = f"delay of {kind} in '{owner}'"
            if kind == "smooth":
                s = f"__s{k}"
                self.hidden_states[s] = w
                self.hidden_derivs.append((s, f"(v_{i} - v_{s}) / v_{d}"))
                self.hidden_inits.append((s, f"v_{s}"))
                self.init_overrides[s] = _Node(f"v_{i}", w, {i})
                self.labels[s] = f"smooth in '{owner}'"
                ctx_reads = {s}
                out = Translated(f"v_{s}", dim)
            else:
                levels = [f"__l{k}_{j}" for j in (1, 2, 3)]
                o = f"__o{k}"
                third = f"(v_{d} / 3.0)"
                for lv in levels:
                    self.hidden_states[lv] = w
                    self.hidden_inits.append((lv, f"v_{i} * {third}"))
                l1, l2, l3 = (f"v_{lv}" for lv in levels)
                self.hidden_derivs += [
                    (levels[0], f"v_{i} - {l1} / {third}"),
                    (levels[1], f"{l1} / {third} - {l2} / {third}"),
                    (levels[2], f"{l2} / {third} - {l3} / {third}"),
                ]
                self.run_nodes[o] = _Node(f"{l3} / {third}", w, {d})
                self.init_overrides[o] = _Node(f"v_{i}", w, {i, d})
                self.labels[o] = f"delay3 in '{owner}'"
                ctx_reads = {o}
                out = Translated(f"v_{o}", dim)
            current_ctx.reads |= ctx_reads
            return out

        current_ctx = Context(self.spec, owner, "", hidden=make)
        return current_ctx

    def build(self) -> CompiledModel:
        spec = self.spec
        for kind, table in (("flows", spec.flows), ("auxiliaries", spec.auxiliaries)):
            for name, el in table.items():
                ctx = self._hidden(name)
                ctx.field = f"{kind}.{name}.equation"
                tr = equations.translate(el.equation, ctx)
                self.run_nodes[name] = _Node(tr.code, self.widths[name], ctx.reads, tr.literal)
        stock_inits: dict[str, _Node] = {}
        for name, st in spec.stocks.items():
            ctx = Context(spec, name, f"stocks.{name}.initial", initial=True)
            tr = equations.translate(st.initial, ctx)
            stock_inits[name] = _Node(tr.code, self.widths[name], ctx.reads, tr.literal)

        stock_order = self._order(stock_inits, set(spec.stocks), "stocks", "initial values")
        run_order = self._order(self.run_nodes, set(self.run_nodes), "auxiliaries", "equations")
        init_nodes = {**self.run_nodes, **self.init_overrides}
        init_order = self._order(init_nodes, set(init_nodes), "auxiliaries", "initial equations")

        states = list(spec.stocks) + list(self.hidden_states)
        constants = list(spec.constants)
        lines = ["def init(t, C, dt=0.0):"]
        lines += [f"    v_{c} = C['{c}']" for c in constants]
        lines += [f"    v_{s} = {self._assign(stock_inits[s])}" for s in stock_order]
        lines += [f"    v_{n} = {self._assign(init_nodes[n])}" for n in init_order]
        lines.append("    return {")
        lines += [f"        '{s}': v_{s}," for s in spec.stocks]
        lines += [f"        '{s}': {code}," for s, code in self.hidden_inits]
        lines.append("    }")
        lines.append("")
        lines.append("def rates(t, C, S, dt=0.0):")
        lines += [f"    v_{c} = C['{c}']" for c in constants]
        lines += [f"    v_{s} = S['{s}']" for s in states]
        lines += [f"    v_{n} = {self._assign(self.run_nodes[n])}" for n in run_order]
        lines.append("    D = {")
        for s, st in spec.stocks.items():
            terms = [f" + v_{f}" for f in st.inflows] + [f" - v_{f}" for f in st.outflows]
            lines.append(f"        '{s}': 0.0{''.join(terms)},")
        lines += [f"        '{s}': {code}," for s, code in self.hidden_derivs]
        lines.append("    }")
        variables = list(spec.flows) + list(spec.auxiliaries)
        lines.append("    V = {" + ", ".join(f"'{v}': v_{v}" for v in variables) + "}")
        lines.append("    return D, V")
        source = "\n".join(lines) + "\n"

        namespace: dict[str, object] = {"np": np}
        for name, lk in spec.lookups.items():
            namespace[f"lk_{name}"] = _lookup(np.asarray(lk.x, float), np.asarray(lk.y, float))
        exec(compile(source, f"<model {spec.name}>", "exec"), namespace)

        widths = dict(self.widths)
        widths.update(self.hidden_states)
        dims = {n: tuple(spec.element(n).dims) for n in spec.all_names()}
        return CompiledModel(
            spec=spec, source=source, init=namespace["init"], rates=namespace["rates"],
            stocks=list(spec.stocks), states=states,
            variables=list(spec.stocks) + variables, widths=widths, dims=dims,
            boundary_flows=_boundary_flows(spec),
        )

    def _assign(self, node: _Node) -> str:
        if node.literal:
            return f"np.full((1, {node.width}), {node.code})"
        return node.code

    def _order(self, nodes: dict[str, _Node], members: set[str], table: str, what: str) -> list[str]:
        sorter = graphlib.TopologicalSorter({n: {r for r in nd.reads if r in members} for n, nd in nodes.items()})
        try:
            return list(sorter.static_order())
        except graphlib.CycleError as exc:
            cycle = [self.labels.get(n, n) for n in exc.args[1]]
            first = next((n for n in exc.args[1] if not n.startswith("__")), exc.args[1][0])
            raise InputError(self.spec.path, f"{table}.{first}",
                             f"algebraic loop in {what} (no stock in it{', smooth/delay3 start at their input' if what.startswith('initial') else ''}): {' -> '.join(cycle)}") from None


def _lookup(xs: np.ndarray, ys: np.ndarray):
    """A graphical function: linear between points, flat beyond the ends (Vensim's default)."""
    def f(x):
        return np.interp(x, xs, ys)
    return f


def _boundary_flows(spec: ModelSpec) -> dict[str, int]:
    into, out_of = set(), set()
    for st in spec.stocks.values():
        into.update(st.inflows)
        out_of.update(st.outflows)
    return {f: (1 if f in into else -1) for f in spec.flows if (f in into) != (f in out_of)}
