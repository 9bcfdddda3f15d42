"""The compiler: a validated ModelSpec becomes a `Program` (the IR, `ir.py`), then code.

`build_program(spec)` translates every equation (`equations.to_ir`), lowers SMOOTH and
DELAY3 to hidden stocks named after their owner (`__smooth_<owner>`, `__delay3_<owner>_1`
to `_3`, with helpers `..._in`, `..._time`, `..._out`; a second one in the same owner gets
`_n2`), orders the assignments of the initial-value and rate sections, and writes each
division by a run constant as a multiplication by its reciprocal (`reciprocals`). This is the
backend-neutral part. `compile_model(spec)` then hands the Program to the numpy backend
(`numpy_code`), which writes two vectorized functions:

- `init(t, C, dt)` returns the initial state;
- `rates(t, C, S, dt, side)` returns the derivative of every state and the value of every flow
  and auxiliary (`dt` is the time step, which Vensim's STEP uses; `side` -1, 0 or +1 says
  whether a comparison of the time is made just before t, at t or just after it:
  ir.time_comparison).

Both work on arrays with a leading run axis, so one call serves one run or 100,000. The
generated source (`model.source`, or `urbsd docs --generated`) names above each line the
element and its equation as written in the model file.
"""

from __future__ import annotations

import graphlib
import weakref
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from simulator.engine import equations, ir, reciprocals, stability
from simulator.engine.arrays import Layout, nested_values
from simulator.engine.functions import FUNCTIONS
from simulator.engine.modelfile import ModelSpec
from simulator.errors import InputError


@dataclass
class CompiledModel:
    """A model ready to integrate: generated functions plus what the integrator needs.

    Arrays in `init`/`rates` use the internal layout (`arrays.Layout`): (runs, *shape)
    with one axis per model dimension, size 1 where a value does not vary."""

    spec: ModelSpec
    program: ir.Program
    source: str
    init: object
    rates: object
    stocks: list[str]
    #: all state names (stocks, then hidden SMOOTH/DELAY3 stocks)
    states: list[str]
    #: names recorded by default: stocks, flows, auxiliaries
    variables: list[str]
    #: number of elements of every variable (1 for a scalar)
    widths: dict[str, int]
    #: declared dims of every model element
    dims: dict[str, tuple[str, ...]]
    #: internal shape (without the run axis) of every variable, hidden ones included
    shapes: dict[str, tuple[int, ...]]
    layout: Layout
    #: boundary flows: flows that only enter (+1) or only leave (-1) the stocks
    boundary_flows: dict[str, int] = field(default_factory=dict)
    #: compiled kernels loaded in this process, by the set of constants given as time series
    #: (`engine.kernel.kernel_for`)
    kernels: dict = field(default_factory=dict, repr=False)

    def default_constants(self) -> dict[str, np.ndarray]:
        """Every constant's declared value as an internal array of shape (1, *shape) (a new
        dict each call; the arrays are shared and read-only), made once per ModelSpec object."""
        return dict(self.defaults_key())

    def defaults_key(self) -> Mapping[str, np.ndarray]:
        """The table behind `default_constants`: the same object for two models exactly when they
        have the same spec object, so what is derived from the defaults can be cached by it. Made
        at the first call for that spec object, kept in `_DEFAULTS` while the object lives."""
        spec = self.spec
        key = id(spec)
        kept = _DEFAULTS.get(key)
        if kept is not None and kept[0]() is spec:
            return kept[1]
        out = {}
        for name, c in spec.constants.items():
            arr = nested_values(c.value, c.dims, {d: spec.elements(d) for d in c.dims},
                                f"constants.{name}.value", c.value_dims)
            out[name] = self.internal(name, arr[None], lead=1)
            out[name].flags.writeable = False
        _DEFAULTS[key] = (weakref.ref(spec, lambda _, key=key: _DEFAULTS.pop(key, None)), out)
        return out

    def internal(self, name: str, arr: np.ndarray, lead: int = 1) -> np.ndarray:
        """(*lead, *declared sizes) -> (*lead, *internal shape) for variable `name`."""
        return self.layout.to_internal(arr, self.dims.get(name, ()), lead)

    def declared(self, name: str, arr: np.ndarray, lead: int = 1) -> np.ndarray:
        """(*lead, *internal shape) -> (*lead, *declared sizes) for variable `name`."""
        return self.layout.to_declared(arr, self.dims.get(name, ()), lead)


_COMPILED: dict[tuple[str, str], CompiledModel] = {}
#: each ModelSpec object's default constants (internal arrays), while the object lives: `compiled`
#: gives a spec of an already compiled file a model of its own at every call, which finds them here
_DEFAULTS: dict[int, tuple[weakref.ref, dict[str, np.ndarray]]] = {}



def compiled(spec: ModelSpec) -> CompiledModel:
    """`compile_model(spec)`, once per process for a model file: keyed by the file's sha256 and
    the model's name (a sector cut of a model keeps the file's sha256, not its name). Another
    ModelSpec object of the same file shares the compiled code (and loaded kernels) but keeps
    its own time block and constants. A model built in memory (no sha256) is compiled anew."""
    if not spec.sha256:
        return compile_model(spec)
    key = (spec.sha256, spec.name)
    model = _COMPILED.get(key)
    if model is None:
        model = _COMPILED[key] = compile_model(spec)
    elif model.spec is not spec:
        import dataclasses

        model = dataclasses.replace(model, spec=spec)
        stability.check_model(spec, model.program.delays, model.default_constants())
    return model


def compile_model(spec: ModelSpec) -> CompiledModel:
    """Order the equations, translate them, and build the step functions. InputError also if
    the model's time step is unstable for one of its delays (`stability.check_model`)."""
    from simulator.engine import numpy_code

    program = build_program(spec)
    source, namespace = numpy_code.build(program, spec.name)
    layout = Layout({d: dim.elements for d, dim in spec.dimensions.items()})
    dims = {n: tuple(spec.element(n).dims) for n in spec.all_names()}
    shapes = {n: program.shape(d) for n, d in program.var_dims.items()}
    widths = {n: int(np.prod(s)) for n, s in shapes.items()}
    model = CompiledModel(
        spec=spec, program=program, source=source, init=namespace["init"], rates=namespace["rates"],
        stocks=list(spec.stocks), states=[s.name for s in program.states],
        variables=list(program.outputs), widths=widths, dims=dims, shapes=shapes, layout=layout,
        boundary_flows=_boundary_flows(spec),
    )
    stability.check_model(spec, program.delays, model.default_constants())
    return model


def build_program(spec: ModelSpec, *, rewrite_divisions: bool = True) -> ir.Program:
    """The backend-neutral program of a model: ordered assignments, states, hidden stocks;
    divisions by run constants made multiplications by their reciprocals (`reciprocals`;
    `rewrite_divisions=False` keeps every division as written, for benchmarks/reciprocals.py)."""
    program = _Builder(spec).build()
    return reciprocals.rewrite(program) if rewrite_divisions else program


class _Builder:
    def __init__(self, spec: ModelSpec) -> None:
        self.spec = spec
        order = list(spec.dimensions)
        self.order = order
        self.var_dims = {n: tuple(d for d in order if d in spec.element(n).dims) for n in spec.all_names()}
        self.run: dict[str, ir.Assign] = {}
        self.init_over: dict[str, ir.Assign] = {}
        self.hidden_states: list[ir.State] = []
        self.hidden_init: list[ir.Assign] = []
        self.labels: dict[str, str] = {}
        self.count: dict[tuple[str, str], int] = {}
        self._read_cache: dict[int, set[str]] = {}
        self.delays: list[ir.DelayTime] = []

    def chain(self, family: str, first: ir.Node, *rest: tuple[str, ir.Node]) -> ir.Chain:
        """A chain node of a hidden-stock equation; dims: the union of its terms'."""
        found = set(first.dims).union(*(t.dims for _, t in rest))
        return ir.Chain(tuple(d for d in self.order if d in found), family, first, tuple(rest))

    # ------------------------------------------------------------------ lowering
    def lower(self, node: ir.Node, owner: str) -> ir.Node:
        """The tree with every smooth/delay3 replaced by a Ref to its hidden output."""
        kids = ir.children(node)
        if kids:
            new = [self.lower(k, owner) for k in kids]
            if any(a is not b for a, b in zip(new, kids)):
                node = ir.with_children(node, new)
        if isinstance(node, ir.Delay):
            return self.hidden(node, owner)
        return node

    def hidden(self, node: ir.Delay, owner: str) -> ir.Node:
        key = (node.fn, owner)
        self.count[key] = k = self.count.get(key, 0) + 1
        base = f"__{node.fn}_{owner}" + ("" if k == 1 else f"_n{k}")
        what = f"{node.fn} in '{owner}'"
        inp, time = f"{base}_in", f"{base}_time"
        self._helper(inp, node.x, owner, f"input of {what}: {ir.source(node.x)}")
        self._helper(time, node.delay, owner, f"delay time of {what}: {ir.source(node.delay)}")
        r_in, r_time = ir.Ref(node.x.dims, inp, "hidden"), ir.Ref(node.delay.dims, time, "hidden")
        dims = node.dims
        stages, given = FUNCTIONS[node.fn].stocks, node.delay
        if isinstance(given, ir.Ref) and given.kind == "constant":
            self.delays.append(ir.DelayTime(owner, node.fn, stages, given.name, None))
        elif isinstance(given, ir.Const):
            self.delays.append(ir.DelayTime(owner, node.fn, stages, None, given.value))
        if node.fn == "smooth":
            state = ir.Ref(dims, base, "hidden")
            deriv = self.chain("*", self.chain("+", r_in, ("-", state)), ("/", r_time))
            self.hidden_states.append(ir.State(base, dims, deriv, owner, f"SMOOTH stock of {what}: d/dt = (input - S) / delay"))
            self.init_over[base] = ir.Assign(base, dims, r_in, owner, f"{what} starts at its input")
            self.hidden_init.append(ir.Assign(base, dims, state, owner, f"{what} starts at its input"))
            self.var_dims[base] = dims
            self.labels[base] = what
            return state
        third = self.chain("*", r_time, ("/", ir.Const((), 3.0)))
        levels = [ir.Ref(dims, f"{base}_{j}", "hidden") for j in (1, 2, 3)]
        outflow = [self.chain("*", lv, ("/", third)) for lv in levels]
        derivs = [self.chain("+", r_in, ("-", outflow[0])),
                  self.chain("+", outflow[0], ("-", outflow[1])),
                  self.chain("+", outflow[1], ("-", outflow[2]))]
        for j, (lv, d) in enumerate(zip(levels, derivs), 1):
            flow_in = "the input" if j == 1 else f"L{j - 1} / (delay / 3)"
            self.hidden_states.append(ir.State(lv.name, dims, d, owner,
                                               f"DELAY3 stock L{j} of {what}: d/dt = {flow_in} - L{j} / (delay / 3)"))
            self.hidden_init.append(ir.Assign(lv.name, dims, self.chain("*", r_in, ("*", third)), owner,
                                              f"L{j} of {what} starts at input * delay / 3"))
            self.var_dims[lv.name] = dims
        out = f"{base}_out"
        self.run[out] = ir.Assign(out, dims, outflow[2], owner, f"output of {what}: L3 / (delay / 3)")
        self.init_over[out] = ir.Assign(out, dims, r_in, owner, f"{what} starts at its input")
        self.var_dims[out] = dims
        self.labels[out] = what
        return ir.Ref(dims, out, "hidden")

    def _helper(self, name: str, node: ir.Node, owner: str, text: str) -> None:
        self.run[name] = ir.Assign(name, node.dims, node, owner, text)
        self.var_dims[name] = node.dims
        self.labels[name] = text.split(":")[0]

    # ------------------------------------------------------------------ program
    def build(self) -> ir.Program:
        spec = self.spec
        for table, elements in (("flows", spec.flows), ("auxiliaries", spec.auxiliaries)):
            for name, el in elements.items():
                field = f"{table}.{name}.equation"
                node = self.lower(equations.to_ir(spec, el.equation, owner=name, field=field), name)
                parts = []
                for key, picks, text in equations.pieces(spec, name, table):
                    target = tuple(d for d in el.dims if d not in dict(picks))
                    pnode = equations.to_ir(spec, text, owner=name, field=f"{table}.{name}.elements.{key}",
                                            target=target, where=f"at {key}")
                    parts.append(ir.Piece(picks, self.lower(pnode, name), key, _text(text)))
                self.run[name] = ir.Assign(name, self.var_dims[name], node, name, _text(el.equation), tuple(parts))
        stock_inits = {}
        for name, st in spec.stocks.items():
            node = equations.to_ir(spec, st.initial, owner=name, field=f"stocks.{name}.initial", initial=True)
            stock_inits[name] = ir.Assign(name, self.var_dims[name], node, name, "initial: " + _text(st.initial))

        run_order = self._order(self.run, "auxiliaries", "equations")
        # stock initial values and equations at the start are one graph: an initial value may
        # read an auxiliary (or flow) evaluated at the initial time, as in Vensim
        init_nodes = {**self.run, **self.init_over, **stock_inits}
        init_order = self._order(init_nodes, "auxiliaries", "initial equations")

        states = []
        for name, st in spec.stocks.items():
            terms = tuple(("+", ir.Ref(self.var_dims[f], f, "flow")) for f in st.inflows) + \
                tuple(("-", ir.Ref(self.var_dims[f], f, "flow")) for f in st.outflows)
            deriv = ir.Chain(self.var_dims[name], "+", ir.Const((), 0.0), terms) if terms else ir.Const((), 0.0)
            net = " + ".join(st.inflows) + "".join(f" - {f}" for f in st.outflows)
            net = net.removeprefix(" ")
            states.append(ir.State(name, self.var_dims[name], deriv, name, f"d/dt = {net or '0'}"))
        states += self.hidden_states
        init_states = [ir.Assign(s, self.var_dims[s], ir.Ref(self.var_dims[s], s, "stock"), s,
                                 f"{s} starts at its initial value (above)") for s in spec.stocks]
        return ir.Program(
            dims={d: tuple(dim.elements) for d, dim in spec.dimensions.items()},
            constants={c: self.var_dims[c] for c in spec.constants},
            lookups={n: (tuple(map(float, lk.x)), tuple(map(float, lk.y))) for n, lk in spec.lookups.items()},
            init=[init_nodes[n] for n in init_order],
            init_states=init_states + self.hidden_init,
            rates=[self.run[n] for n in run_order],
            states=states,
            outputs=list(spec.stocks) + list(spec.flows) + list(spec.auxiliaries),
            var_dims=dict(self.var_dims),
            delays=tuple(self.delays),
        )

    def _reads(self, a: ir.Assign) -> set[str]:
        """What an assignment reads (its equation and per-element equations), computed once."""
        found = self._read_cache.get(id(a))
        if found is None:
            found = equations.reads(a.expr).union(*(equations.reads(p.expr) for p in a.pieces))
            self._read_cache[id(a)] = found
        return found

    def _order(self, nodes: dict[str, ir.Assign], table: str, what: str) -> list[str]:
        deps = {}
        for n, a in nodes.items():  # sorted: the same order in every process (the kernel's cache key)
            deps[n] = sorted(r for r in self._reads(a) if r in nodes)
        sorter = graphlib.TopologicalSorter(deps)
        try:
            return list(sorter.static_order())
        except graphlib.CycleError as exc:
            cycle = [self.labels.get(n, n) for n in exc.args[1]]
            stock = next((n for n in exc.args[1] if n in self.spec.stocks), None)
            if stock is not None:  # only the initial-time graph holds stocks (their initial values)
                raise InputError(self.spec.path, f"stocks.{stock}.initial",
                                 f"algebraic loop in {what} (the initial value reads an equation that "
                                 f"reads the stock): {' -> '.join(cycle)}") from None
            first = next((n for n in exc.args[1] if not n.startswith("__")), exc.args[1][0])
            hint = ", smooth/delay3 start at their input" if what.startswith("initial") else ""
            raise InputError(self.spec.path, f"{table}.{first}",
                             f"algebraic loop in {what} (no stock in it{hint}): {' -> '.join(cycle)}") from None


def _text(text: object) -> str:
    return " ".join(str(text).split())


def _boundary_flows(spec: ModelSpec) -> dict[str, int]:
    into, out_of = set(), set()
    for st in spec.stocks.values():
        into.update(st.inflows)
        out_of.update(st.outflows)
    return {f: (1 if f in into else -1) for f in spec.flows if (f in into) != (f in out_of)}
