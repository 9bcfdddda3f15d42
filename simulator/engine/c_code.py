"""The compiled kernel's source: a `Program` (ir.py) as one C function that runs many runs.

`generate(program, series)` writes C (C99, no compiler extensions) that integrates a batch of
runs, one after another, each from its own constants; `engine.kernel` compiles it into a
shared library and calls it. The numbers are those of the numpy backend (`numpy_code`, the
reference), operation for operation:

- **Loops over dimensions**, not unrolled elements: an equation over (county, age) is two nested
  `for` loops, so the code grows with the number of equations, not of elements. Values are
  flattened in the model's canonical dimension order (row-major), the internal layout.
- **Runs in lanes**: `LANES` runs go through the time loop together; every value has a last
  axis of `LANES` runs and every statement ends in a loop over them, which the compiler turns
  into vector instructions (the same operation on several runs at once: the results are those
  of one run at a time). A batch that does not fill the last lanes repeats its last run there.
- **Constants-only work once per run**: an auxiliary that reads only constants (not a time
  series) is computed once per run, before the time loop, and so is every maximal constants-only
  sub-expression of a time-varying equation (`delay / 3` of a delay3, `sum(initial_x)`), kept in
  a temporary. Only whole sub-trees move, so no operation is reordered: the results are those of
  evaluating the equation in place.
- **A sub-expression used more than once per evaluation of the rates** (a delay3 stage's
  `level / (delay / 3)` is the outflow of one stage and the inflow of the next) is computed
  once into a temporary before its first use: the same operations on the same values.
- **Per step only what the derivatives need**; variables only recorded are computed at save steps.
- **numpy's semantics**: `min`/`max` propagate NaN as `np.minimum`/`np.maximum`; a lookup is
  `np.interp` (flat beyond the ends, exact at a breakpoint, slopes precomputed as numpy does);
  `x ** 2` is `x * x` as numpy's fast power; a sum over a dimension adds left to right; STEP and
  RAMP use `t` and `dt` as the numpy templates do. The compiler must not contract `a * b + c`
  into a fused multiply-add (`-ffp-contract=off`) nor use fast-math.
- **Euler, Heun and RK4** in one kernel (an argument: `c_parts.METHOD_CODES`): RK4 evaluates the rate
  section four times per step and Heun twice, in a stage loop (the section is emitted once), in
  numpy's order of operations. RK4's four derivatives are summed as they come (k1, + 2 k2, + 2 k3,
  then + k4 in the update: numpy's order), so a workspace holds two state-sized arrays for RK4 and
  Heun (start of step, k1 or the running sum), not four.

- **Parts**: the functions are cut into `PARTS` groups of about equal length, each between
  `#if !defined(URBSD_PART) || URBSD_PART == k` and `#endif`, after one header (includes,
  helpers, lookups, the workspace type, every function's prototype). Compiled as it is, the file
  is the whole kernel; compiled with -DURBSD_PART=k, part k. The functions were separate calls
  before (gcc does not inline a global function into position-independent code), so the parts
  cost nothing measurable at run time, and the compile takes about 1/cores as long.

Each built-in's C code is its row's `scalar` template in `functions.FUNCTIONS`; each statement
is preceded by a comment naming the element and its equation as written in the model file.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable
from dataclasses import dataclass

from simulator.engine import c_parts, ir
from simulator.engine.c_parts import comment as _comment
from simulator.engine.c_parts import lit
from simulator.engine.functions import FUNCTIONS, TIME_FUNCTIONS

#: runs computed side by side (the last axis of every value)
LANES = 4
#: the file is cut into this many parts, which `engine.kernel` compiles side by side (one
#: compiler process each, as many at once as the machine has cores) and links into one library
PARTS = 4
#: every generated function but the driver: the workspace, the time, the step, the time-series row
_SIGNATURE = "void {}(work_t *restrict w, const double t, const double dt, const double *restrict ts)"

Env = dict[str, "int | str"]


@dataclass(frozen=True, eq=False)
class Temp(ir.Ref):
    """A value computed into a temporary before the statement that reads it: a constants-only
    sub-expression (hoisted), a reduction, or a sub-expression used more than once."""

    kind: str = "temp"


@dataclass
class KernelSource:
    """The C source of a kernel and the layout its caller fills.

    `constants`/`series`: name -> (offset, width) in a run's constant vector (P) and in a row
    of the time-series table (TS); `recorded`: the variables that can be recorded, in the order
    of the kernel's `ocol` argument, with `widths`; `key`: sha256 of the source."""

    text: str
    key: str
    constants: dict[str, tuple[int, int]]
    n_p: int
    series: dict[str, tuple[int, int]]
    n_ts: int
    recorded: list[str]
    widths: dict[str, int]
    n_state: int
    lanes: int = LANES
    #: sections of the file, URBSD_PART 0 .. parts - 1 (see the module doc)
    parts: int = 1
    hoisted: int = 0
    lines: int = 0
    #: doubles in the workspace (`work_t`: constants, state, stage arrays, every value; all lanes)
    workspace: int = 0


def generate(program: ir.Program, series: frozenset[str] = frozenset(), name: str = "",
             lanes: int = LANES, parts: int = PARTS) -> KernelSource:
    """The kernel of `program` with the constants in `series` read from a time-series table."""
    return _Gen(program, frozenset(series), name, lanes, parts).source()


class _Gen:
    def __init__(self, program: ir.Program, series: frozenset[str], name: str, lanes: int, parts: int) -> None:
        p = self.p = program
        self.name = name
        self.L = lanes
        self.n_parts = parts
        self.size = {d: len(e) for d, e in p.dims.items()}
        self.series = series & set(p.constants)
        self.coff: dict[str, int] = {}
        self.toff: dict[str, int] = {}
        self.n_p = self._offsets(self.coff, [c for c in p.constants if c not in self.series], p.constants)
        self.n_ts = self._offsets(self.toff, [c for c in p.constants if c in self.series], p.constants)
        self.states = [s.name for s in p.states]
        self.soff: dict[str, int] = {}
        self.n_state = self._offsets(self.soff, self.states, {s.name: s.dims for s in p.states})
        self.dims: dict[str, tuple[str, ...]] = dict(p.var_dims)
        self.fields: list[tuple[str, int]] = []  # workspace fields: name, number of elements
        self.cname: dict[str, str] = {}  # variable or temp -> C storage name
        self.rc_memo: dict[int, tuple[ir.Node, bool]] = {}  # id -> (node, value): the node is kept alive
        self.cname_init: dict[str, str] = {}
        self.keys: dict[int, tuple[ir.Node, str]] = {}
        self.hoisted: dict[str, Temp] = {}  # structural key -> temp
        self.hoist_code: list[tuple[Temp, ir.Node]] = []
        self.n_temp = 0
        self.packed: list[str] = []
        self.repeated: set[str] = set()
        self.shared_temps: dict[str, Temp] = {}
        self.init_state: list[str] = []
        rates = {a.name: a for a in p.rates}
        self.rates = rates
        self.rc: set[str] = {c for c in p.constants if c not in self.series}
        for a in p.rates:
            if all(self.is_rc(n) for n in (a.expr, *(pc.expr for pc in a.pieces))):
                self.rc.add(a.name)
        for n in list(p.outputs) + [a.name for a in p.rates]:
            if n not in self.cname and n not in self.soff:
                self.declare(n, f"v_{n}", self.dims[n])

    # ------------------------------------------------------------------ layout
    def width(self, dims: tuple[str, ...]) -> int:
        return math.prod(self.size[d] for d in dims)

    def _offsets(self, out: dict[str, int], names: list[str], dims: dict) -> int:
        k = 0
        for n in names:
            out[n] = k
            k += self.width(dims[n])
        return k

    def declare(self, key: str, cname: str, dims: tuple[str, ...]) -> str:
        """Storage for a value: a field of the workspace, one element per element and lane."""
        self.cname[key] = cname
        self.dims[key] = dims
        self.fields.append((cname, self.width(dims)))
        return cname

    def index(self, dims: tuple[str, ...], env: Env, offset: int = 0, lanes: int = 1) -> str:
        """The flat index (row-major over `dims`, then the lane `l` if `lanes` > 1) of the
        element `env` names."""
        const, terms, stride = offset * lanes, [], lanes
        for d in reversed(dims):
            e = env[d]
            if isinstance(e, int):
                const += e * stride
            else:
                terms.append(e if stride == 1 else f"{stride} * {e}")
            stride *= self.size[d]
        parts = list(reversed(terms)) + ([str(const)] if const or not terms else [])
        if lanes > 1:
            parts = [p for p in parts if p != "0"] + ["l"]
        return " + ".join(parts)

    def at(self, name: str, env: Env, ctx: str) -> str:
        """C code of variable/constant/temp `name` at the element `env` names, in `ctx`
        ('run': the rate section; 'init': the initial-value section; 'state': the state array)."""
        L = self.L
        if name in self.coff:
            return f"w->C[{self.index(self.p.constants[name], env, self.coff[name], L)}]"
        if name in self.toff:  # the same for every run: no lane
            return f"ts[{self.index(self.p.constants[name], env, self.toff[name])}]"
        if name in self.soff and (ctx != "init" or name not in self.cname_init):
            return f"w->S[{self.index(self.dims[name], env, self.soff[name], L)}]"
        cname = self.cname_init[name] if ctx == "init" and name in self.cname_init else self.cname[name]
        return f"w->{cname}[{self.index(self.dims[name], env, 0, L)}]"

    # ------------------------------------------------------------------ analysis
    def is_rc(self, node: ir.Node) -> bool:
        """True if the value of `node` is the same at every step of a run (reads only
        constants that are not time series, and variables that are themselves so)."""
        memo = self.rc_memo.get(id(node))
        if memo is None:
            if isinstance(node, ir.Const):
                got = True
            elif isinstance(node, ir.Time):
                got = False
            elif isinstance(node, Temp):
                got = node.name.startswith("h")  # hoisted: the same all run
            elif isinstance(node, ir.Ref):
                got = node.name in self.rc
            elif isinstance(node, ir.Call) and node.fn in TIME_FUNCTIONS:
                got = False  # they read the time
            else:
                got = all(self.is_rc(c) for c in ir.children(node))
            memo = self.rc_memo[id(node)] = (node, got)
        return memo[1]

    def key(self, node: ir.Node) -> str:
        """A structural key: two sub-trees with the same key compute the same value."""
        memo = self.keys.get(id(node))
        if memo is None:
            extra = {ir.Const: lambda n: repr(n.value), ir.Ref: lambda n: n.name, ir.Chain: lambda n: n.family + "".join(
                op for op, _ in n.rest), ir.Compare: lambda n: n.op, ir.Call: lambda n: n.fn, ir.Lookup: lambda n: n.name,
                ir.Reduce: lambda n: n.fn + n.dim, ir.Select: lambda n: repr(n.picks), ir.Shift: lambda n: n.dim,
                Temp: lambda n: n.name}
            fn = extra.get(type(node))
            kids = ",".join(self.key(c) for c in ir.children(node))
            memo = self.keys[id(node)] = (node, f"{type(node).__name__}[{fn(node) if fn else ''}]{node.dims}({kids})")
        return memo[1]

    def hoist(self, node: ir.Node) -> ir.Node:
        """`node` with every maximal constants-only sub-tree that does arithmetic replaced by a
        temporary computed once per run (identical sub-trees share one)."""
        if isinstance(node, (ir.Const, ir.Ref, ir.Time, Temp)):
            return node
        if isinstance(node, ir.Select) and isinstance(node.x, ir.Ref):
            return node
        if self.is_rc(node):
            k = self.key(node)
            temp = self.hoisted.get(k)
            if temp is None:
                self.n_temp += 1
                name = f"h{self.n_temp}"
                temp = self.hoisted[k] = Temp(node.dims, name)
                self.declare(name, name, node.dims)
                self.hoist_code.append((temp, node))
            return temp
        kids = ir.children(node)
        new = [self.hoist(c) for c in kids]
        return ir.with_children(node, new) if any(a is not b for a, b in zip(new, kids)) else node

    # ------------------------------------------------------------------ statements
    def loops(self, dims: tuple[str, ...], body: Callable[[Env], list[str]], indent: str,
              fixed: Env | None = None) -> list[str]:
        """`body` inside one `for` loop per dim of `dims` not fixed (outermost first)."""
        env: Env = dict(fixed or {})
        lines = []
        for d in dims:
            if d in env:
                continue
            lines.append(f"{indent}for (int i_{d} = 0; i_{d} < {self.size[d]}; i_{d}++)")
            env[d] = f"i_{d}"
            indent += "  "
        inner = body(env)
        if len(inner) == 1:
            return lines + [indent + inner[0]]
        return lines + [indent + "{"] + [indent + "  " + x for x in inner] + [indent + "}"]

    def lane(self, statement: str) -> str:
        """A statement for every lane (a loop the compiler vectorizes)."""
        return f"for (int l = 0; l < {self.L}; l++) {statement}"

    def lower(self, node: ir.Node, ctx: str, pre: list[str], indent: str) -> ir.Node:
        """`node` with every reduction replaced by a temporary; their loops go to `pre`."""
        kids = ir.children(node)
        if kids:
            new = [self.lower(c, ctx, pre, indent) for c in kids]
            if any(a is not b for a, b in zip(new, kids)):
                node = ir.with_children(node, new)
        if not isinstance(node, ir.Reduce):
            return node
        self.n_temp += 1
        name = self.declare(f"r{self.n_temp}", f"r{self.n_temp}", node.dims)
        n, d, x = self.size[node.dim], node.dim, node.x
        step = {"sum": "acc[l] + {x}", "mean": "acc[l] + {x}", "vmax": "mx(acc[l], {x})", "vmin": "mn(acc[l], {x})"}[node.fn]

        def body(env: Env) -> list[str]:
            first = self.ex(x, {**env, d: 0}, ctx)
            nxt = self.ex(x, {**env, d: f"i_{d}"}, ctx)
            done = "acc[l]" if node.fn != "mean" else f"acc[l] / {lit(float(n))}"
            return [f"double acc[{self.L}];", self.lane(f"acc[l] = {first};"),
                    f"for (int i_{d} = 1; i_{d} < {n}; i_{d}++) " + self.lane(f"acc[l] = {step.format(x=nxt)};"),
                    self.lane(f"{self.at(name, env, ctx)} = {done};")]

        pre += [f"{indent}/* {node.fn} over {d} */"] + self.loops(node.dims, body, indent)
        return Temp(node.dims, name)

    def statement(self, target: Callable[[Env], str], dims: tuple[str, ...], expr: ir.Node, ctx: str,
                  indent: str, fixed: Env | None = None) -> list[str]:
        """target = expr over `dims` (reductions first)."""
        pre: list[str] = []
        expr = self.lower(expr, ctx, pre, indent)
        return pre + self.loops(dims, lambda env: [self.lane(f"{target(env)} = {self.ex(expr, env, ctx)};")],
                                indent, fixed)

    def assign(self, a: ir.Assign, ctx: str, indent: str, hoist: bool, target: str | None = None) -> list[str]:
        """The comment and loops computing one Assign (pieces written over their slices)."""
        dims = f"[{', '.join(a.dims)}]" if a.dims else ""
        head = f"{a.name}{dims}: {a.text}" if a.name == a.owner else f"{a.name}{dims} ({a.text})"
        lines = [f"{indent}/* {_comment(head)} */"]
        name = target or a.name
        expr = self.shared(self.hoist(a.expr), lines, indent) if hoist else a.expr
        lines += self.statement(lambda env: self.at(name, env, ctx), a.dims, expr, ctx, indent)
        for piece in a.pieces:
            lines.append(f"{indent}/*   at {_comment(piece.key)}: {_comment(piece.text)} */")
            expr = self.shared(self.hoist(piece.expr), lines, indent) if hoist else piece.expr
            lines += self.statement(lambda env: self.at(name, env, ctx), a.dims, expr, ctx, indent,
                                    fixed=dict(piece.picks))
        return lines

    # ------------------------------------------------------------------ shared sub-expressions
    def _sharable(self, node: ir.Node) -> bool:
        if isinstance(node, (ir.Const, ir.Ref, ir.Time, Temp)):
            return False
        return not (isinstance(node, ir.Select) and isinstance(node.x, ir.Ref))

    def plan_shared(self, trees: list[ir.Node]) -> None:
        """Note the sub-trees that occur more than once in one evaluation of the rates (e.g. a
        delay3 level / (delay / 3), both the outflow of a stage and the inflow of the next)."""
        counts: dict[str, int] = {}
        for tree in trees:
            for n in ir.walk(tree):
                if self._sharable(n):
                    k = self.key(n)
                    counts[k] = counts.get(k, 0) + 1
        self.repeated = {k for k, c in counts.items() if c > 1}

    def shared(self, node: ir.Node, pre: list[str], indent: str) -> ir.Node:
        """`node` with each repeated sub-tree (plan_shared) replaced by a temporary, computed
        into `pre` before its first use: the same operations on the same values, done once."""
        if not self._sharable(node):
            return node
        k = self.key(node)
        if k in self.repeated:
            temp = self.shared_temps.get(k)
            if temp is None:
                kids = ir.children(node)
                new = [self.shared(c, pre, indent) for c in kids]
                inner = ir.with_children(node, new) if any(a is not b for a, b in zip(new, kids)) else node
                self.n_temp += 1
                name = self.declare(f"c{self.n_temp}", f"c{self.n_temp}", node.dims)
                temp = self.shared_temps[k] = Temp(node.dims, name)
                pre.append(f"{indent}/* shared: {_comment(ir.source(node))} */")
                pre += self.statement(lambda env: self.at(name, env, "run"), node.dims, inner, "run", indent)
            return temp
        kids = ir.children(node)
        new = [self.shared(c, pre, indent) for c in kids]
        return ir.with_children(node, new) if any(a is not b for a, b in zip(new, kids)) else node

    # ------------------------------------------------------------------ expressions
    def ex(self, node: ir.Node, env: Env, ctx: str) -> str:
        """C code of a (lowered) tree at the element `env` names."""
        if isinstance(node, ir.Const):
            return lit(node.value)
        if isinstance(node, ir.Time):
            return "t"
        if isinstance(node, (ir.Ref, Temp)):
            return self.at(node.name, env, ctx)
        if isinstance(node, ir.Neg):
            return f"(-{self.ex(node.x, env, ctx)})"
        if isinstance(node, ir.Chain):
            parts = [self.ex(node.first, env, ctx)] + [f"{op} {self.ex(t, env, ctx)}" for op, t in node.rest]
            return f"({' '.join(parts)})"
        if isinstance(node, ir.Pow):
            return self.power(node, env, ctx)
        if isinstance(node, ir.Compare):
            at = ir.time_comparison(node)
            if at:
                return f"{c_parts.TIME_OPS[at[0]]}(t, {self.ex(at[1], env, ctx)}, w->side)"
            return f"({self.ex(node.a, env, ctx)} {node.op} {self.ex(node.b, env, ctx)})"
        if isinstance(node, ir.Call):
            return "(" + FUNCTIONS[node.fn].scalar.format(*(self.ex(a, env, ctx) for a in node.args)) + ")"
        if isinstance(node, ir.Lookup):
            return f"lk_{node.name}({self.ex(node.x, env, ctx)})"
        if isinstance(node, ir.Select):
            return self.ex(node.x, {**env, **{d: i for d, i, _ in node.picks}}, ctx)
        if isinstance(node, ir.Shift):
            e = env[node.dim]
            if isinstance(e, int):
                return "0.0" if e == 0 else self.ex(node.x, {**env, node.dim: e - 1}, ctx)
            # the index is clamped so that both branches can be evaluated (vector code selects)
            return f"({e} == 0 ? 0.0 : {self.ex(node.x, {**env, node.dim: f'({e} > 0 ? {e} - 1 : 0)'}, ctx)})"
        raise TypeError(f"no C code for {type(node).__name__} (reductions are lowered first)")

    def power(self, node: ir.Pow, env: Env, ctx: str) -> str:
        """x ** y as numpy computes it: an array to a literal 2, 0.5, -1, 1 or 0 by numpy's fast
        scalar power (square, sqrt, reciprocal, copy, one), else pow()."""
        base = self.ex(node.base, env, ctx)
        y = node.exponent
        array = any(isinstance(n, (ir.Ref, Temp)) for n in ir.walk(node.base))
        if array and isinstance(y, ir.Const):
            special = {2.0: f"sq({base})", 0.5: f"sqrt({base})", -1.0: f"(1.0 / {base})", 1.0: f"(+{base})",
                       0.0: "1.0"}
            if y.value in special:
                return special[y.value]
        return f"pow({base}, {self.ex(y, env, ctx)})"

    # ------------------------------------------------------------------ the sections
    def source(self) -> KernelSource:
        p = self.p
        I1, I2, I3 = "  ", "    ", "      "
        # values that change each step: flows and auxiliaries the derivatives need (step) and
        # the others, computed only when the step is saved (save)
        varying = [a for a in p.rates if a.name not in self.rc]
        reads = {a.name: set().union(*(ir.refs(n) for n in (a.expr, *(pc.expr for pc in a.pieces))))
                 for a in varying}
        need: set[str] = set()
        stack = [r for s in p.states for r in ir.refs(s.derivative)]
        while stack:
            r = stack.pop()
            if r in reads and r not in need:
                need.add(r)
                stack += reads[r]
        I = "  "
        self.plan_shared([self.hoist(n) for a in varying for n in (a.expr, *(pc.expr for pc in a.pieces))]
                         + [self.hoist(s.derivative) for s in p.states])
        step_blocks = [self.assign(a, "run", I, hoist=True) for a in varying if a.name in need]
        deriv_blocks = []
        for s in p.states:
            off = self.soff[s.name]
            block = [f"{I}/* d/dt {_comment(s.name)}: {_comment(s.text)} */"]
            expr = self.shared(self.hoist(s.derivative), block, I)
            deriv_blocks.append(block + self.statement(
                lambda env, s=s, off=off: f"w->D[{self.index(s.dims, env, off, self.L)}]", s.dims, expr, "run", I))
        save_blocks = [self.assign(a, "run", I, hoist=True) for a in varying if a.name not in need]
        init_blocks = self.init_section(I)
        const_blocks = [self.assign(a, "run", I, hoist=False) for a in p.rates if a.name in self.rc]
        for temp, node in self.hoist_code:
            const_blocks.append([f"{I}/* {_comment(ir.source(node))} */"] + self.statement(
                lambda env, temp=temp: self.at(temp.name, env, "run"), temp.dims, node, "run", I))
        recorded = list(p.outputs)
        widths = {n: self.width(self.dims[n]) for n in recorded}
        # one call of `put` in a loop over a table (not one call per variable: a compiler that
        # inlines and vectorizes each of them spends most of the build on them)
        sources = [f"w->S + {self.soff[n] * self.L}" if n in self.soff else f"w->{self.cname[n]}" for n in recorded]
        tables, record = [], []
        if recorded:
            rows = [", ".join(sources[i:i + 4]) for i in range(0, len(sources), 4)]
            tables = ([f"{I1}/* where each recorded variable is, and its number of elements */",
                       f"{I1}const double *const rec[{len(recorded)}] = {{"] + [f"{I2}{r}," for r in rows]
                      + [f"{I1}}};", f"{I1}static const int rec_width[{len(recorded)}] = "
                         f"{{{', '.join(str(widths[n]) for n in recorded)}}};"])
            record = [f"{I3}  for (int k = 0; k < {len(recorded)}; k++)",
                      f"{I3}    if (ocol[k] >= 0) put(o, ocol[k], rec[k], rec_width[k], nl, stride);"]

        functions: list[list[str]] = []
        const_calls = self.pack(const_blocks, "constants only, once per run", functions)
        init_calls = self.pack(init_blocks, "initial values", functions)
        self.packed.append("urbsd_init_state")
        functions.append(["/* the initial state */", _SIGNATURE.format("urbsd_init_state") + " {"]
                         + self.init_state + ["}", ""])
        step_calls = self.pack(step_blocks + deriv_blocks, "flows and auxiliaries the derivatives need, "
                               "then the derivatives", functions)
        save_calls = self.pack(save_blocks, "recorded only", functions)

        lines = c_parts.header(self.name, self.L, self.p.lookups)
        fields = [("C", self.n_p), ("S", self.n_state), ("D", self.n_state), ("Y0", self.n_state),
                  ("A", self.n_state)] + self.fields
        lines += ["typedef struct {"] + [f"  double {f}[{max(w, 1) * self.L}];" for f, w in fields]
        lines += ["  int side;  /* the side of t for comparisons of the time: c_parts.STAGE_SIDES */", "} work_t;", ""]
        lines += ["/* the functions of every part */"] + [_SIGNATURE.format(f) + ";" for f in self.packed] + [""]
        head = lines
        lines = ["/* the first nl lanes of `width` elements from src to o + col, o + stride, ... */",
                 "static void put(double *restrict o, int64_t col, const double *restrict src, int width, int nl, "
                 "int64_t stride) {",
                 f"  for (int l = 0; l < nl; l++) for (int e = 0; e < width; e++) o[l * stride + col + e] = "
                 f"src[e * {self.L} + l];",
                 "}", ""]
        lines += ["static void run_lanes(work_t *restrict w, const double *restrict TS, int64_t n_ts, double start, "
                  "double dt, int64_t n_steps, int64_t save_every, int method, const int64_t *restrict ocol, "
                  "double *restrict out, int64_t n_out, int nl) {",
                  f"{I1}double t = start;", f"{I1}const double *ts = TS;", f"{I1}const double h = dt / 2.0;",
                  f"{I1}const int rk4 = method == {c_parts.METHOD_CODES['rk4']}, "
                  f"heun = method == {c_parts.METHOD_CODES['heun']};",
                  f"{I1}const int64_t stride = (n_steps / save_every + 1) * n_out;  /* one run's rows */",
                  f"{I1}/* the side of each stage's time, by method code (c_parts.STAGE_SIDES) */",
                  f"{I1}static const int side_of[{len(c_parts.METHOD_CODES)}]"
                  f"[{max(map(len, c_parts.STAGE_SIDES.values()))}] = {{"
                  + ", ".join("{" + ", ".join(map(str, c_parts.STAGE_SIDES[m])) + "}"
                              for m, _ in sorted(c_parts.METHOD_CODES.items(), key=lambda kv: kv[1])) + "};",
                  f"{I1}w->side = 0;  /* initial values at the start time itself */"]
        lines += tables
        lines += [I1 + c for c in const_calls + init_calls]
        lines += [f"{I1}/* the initial state */", f"{I1}urbsd_init_state(w, t, dt, ts);"]
        lines += [
            f"{I1}/* ================================================ time steps */",
            f"{I1}for (int64_t step = 0; ; step++) {{",
            f"{I2}const double t0 = start + (double)step * dt;",
            f"{I2}for (int stage = 0; stage < (rk4 ? 4 : heun ? 2 : 1); stage++) {{",
            f"{I3}w->side = side_of[method][stage];",
            f"{I3}if (stage == 0) {{ t = t0; ts = TS + (rk4 ? 3 * step : heun ? 2 * step : step) * n_ts; }}",
            f"{I3}else {{",
            f"{I3}  const double c = stage == 3 || heun ? dt : h;",
            f"{I3}  t = t0 + c; ts = TS + (heun ? 2 * step + 1 : 3 * step + (stage == 3 ? 2 : 1)) * n_ts;",
            f"{I3}  /* D holds the previous stage's derivative (k1, k2 or k3) */",
            f"{I3}  for (int i = 0; i < {self.n_state * self.L}; i++) w->S[i] = w->Y0[i] + c * w->D[i];",
            f"{I3}}}",
        ]
        lines += [I3 + c for c in step_calls]
        lines += [f"{I3}if (stage > 0) {{",
                  f"{I3}  if (rk4 && stage < 3) for (int i = 0; i < {self.n_state * self.L}; i++) w->A[i] = w->A[i] + 2.0 * w->D[i];",
                  f"{I3}  continue;",
                  f"{I3}}}",
                  f"{I3}if (step % save_every == 0) {{"]
        lines += [I3 + "  " + c for c in save_calls]
        lines += [f"{I3}  double *o = out + (step / save_every) * n_out;"]
        lines += record
        lines += [f"{I3}}}",
                  f"{I3}if (step == n_steps) return;",
                  f"{I3}if (rk4 || heun) {{ memcpy(w->Y0, w->S, sizeof w->S); memcpy(w->A, w->D, sizeof w->D); }}",
                  f"{I2}}}",
                  f"{I2}if (rk4)",
                  f"{I2}  for (int i = 0; i < {self.n_state * self.L}; i++)",
                  f"{I2}    w->S[i] = w->Y0[i] + dt / 6.0 * (w->A[i] + w->D[i]);",
                  f"{I2}else if (heun)",
                  f"{I2}  for (int i = 0; i < {self.n_state * self.L}; i++)",
                  f"{I2}    w->S[i] = w->Y0[i] + dt / 2.0 * (w->A[i] + w->D[i]);",
                  f"{I2}else",
                  f"{I2}  for (int i = 0; i < {self.n_state * self.L}; i++) w->S[i] = w->S[i] + dt * w->D[i];",
                  f"{I1}}}", "}", ""]
        lines += c_parts.entry(self.n_p, self.n_ts, self.n_state, len(recorded), self.L)
        groups = _cut([lines] + functions, self.n_parts)  # the driver first: part 0
        lines = head
        for k, group in enumerate(groups):
            lines += [f"#if !defined(URBSD_PART) || URBSD_PART == {k}"] + [x for f in group for x in f] + ["#endif", ""]
        text = "\n".join(lines) + "\n"
        return KernelSource(text=text, key=hashlib.sha256(text.encode()).hexdigest(),
                            constants={c: (o, self.width(p.constants[c])) for c, o in self.coff.items()},
                            n_p=self.n_p, series={c: (o, self.width(p.constants[c])) for c, o in self.toff.items()},
                            n_ts=self.n_ts, recorded=recorded, widths=widths, n_state=self.n_state,
                            lanes=self.L, parts=len(groups), hoisted=len(self.hoist_code), lines=len(lines),
                            workspace=sum(max(w, 1) for _, w in fields) * self.L)

    def init_section(self, indent: str) -> list[list[str]]:
        """Initial values at t = start: only what the states' initial values need (blocks of
        lines); the initial state itself is the function `urbsd_init_state` (self.init_state)."""
        p = self.p
        by_name = {a.name: a for a in p.init}
        need: set[str] = set()
        stack = [r for a in p.init_states for r in ir.refs(a.expr)]
        while stack:
            r = stack.pop()
            if r in by_name and r not in need:
                a = by_name[r]
                if r in self.rc and a is self.rates.get(r):
                    continue  # computed once per run already
                need.add(r)
                stack += [x for n in (a.expr, *(pc.expr for pc in a.pieces)) for x in ir.refs(n)]
        for a in p.init:
            if a.name in need and a.name in self.soff:  # a stock's initial value before it is a state
                self.cname_init[a.name] = self.declare(f"init:{a.name}", f"i_{a.name}", self.dims[a.name])
        blocks = [self.assign(a, "init", indent, hoist=False) for a in p.init if a.name in need]
        state = []
        for a in p.init_states:
            off = self.soff[a.name]
            state.append(f"{indent}/* {_comment(a.name)}: {_comment(a.text)} */")
            state += self.statement(lambda env, a=a, off=off: f"w->S[{self.index(a.dims, env, off, self.L)}]",
                                    a.dims, a.expr, "init", indent)
        self.init_state = state
        return blocks

    def pack(self, blocks: list[list[str]], what: str, functions: list[list[str]], size: int = 40) -> list[str]:
        """Blocks of statements as functions of about `size` lines each (a compiler is much
        faster on many middle-sized functions than on one huge one); returns their calls."""
        calls: list[str] = []
        chunk: list[str] = []
        for block in blocks + [None]:  # type: ignore[list-item]
            if chunk and (block is None or len(chunk) + len(block) > size):
                name = f"urbsd_f{len(self.packed)}"
                self.packed.append(name)
                functions.append([f"/* {what} ({len(calls) + 1}) */", _SIGNATURE.format(name) + " {"]
                                 + chunk + ["}", ""])
                calls.append(f"{name}(w, t, dt, ts);")
                chunk = []
            if block is not None:
                chunk += block
        return calls



def _cut(functions: list[list[str]], parts: int) -> list[list[list[str]]]:
    """`functions` (each a list of lines) in at most `parts` consecutive groups of about equal
    length in lines (the compile time of a part grows about with its length)."""
    total = sum(len(f) for f in functions)
    groups: list[list[list[str]]] = [[]]
    done = 0
    for f in functions:
        if groups[-1] and done >= total * len(groups) / parts and len(groups) < parts:
            groups.append([])
        groups[-1].append(f)
        done += len(f)
    return groups
