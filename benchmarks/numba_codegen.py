"""A `Program` (simulator/engine/ir.py) as Python source for numba: the C kernel's design, in numba.

Benchmark-only (benchmarks/numba_kernel.py measures it against the C kernel); nothing in the
package imports it. It subclasses the C generator (`simulator.engine.c_code._Gen`) and keeps all
of its analysis unchanged: which values are constants-only (`is_rc`), the hoisting of maximal
constants-only sub-expressions into per-run temporaries (`hoist`), the sharing of sub-expressions
used more than once per evaluation of the rates (`plan_shared`/`shared`), which flows and
auxiliaries the derivatives need per step and which only at save steps, the layout of the
constants (so the caller fills P0/PV exactly as for the C kernel). Only the emission differs:

- one flat float64 workspace `W` holds what the C kernel's struct holds (constants, state,
  derivative, the RK4 copies Y0/K1/K2/K3, one field per variable and temporary), every value with
  a last axis of `lanes` runs (as LANES in C); a lane loop ends every statement;
- loops over dimensions as `for i_<dim> in range(n)`, the same loops in the same order;
- numpy's semantics as in C: min/max propagate NaN, lookups are np.interp with precomputed
  slopes (the same branch-free sequence as `c_parts.lookup`), `x ** 2` is `x * x`, `x ** 0.5` is
  sqrt, sums add left to right; the functions are compiled with error_model="numpy" (a division
  by zero gives inf/nan as in numpy and C, not an exception) and without fastmath;
- RK4 and Euler in one kernel (an argument), the stage loop of the C kernel, line for line;
- blocks of statements packed into functions of about 40 lines, as in C.

Its emitters repeat c_code.py's (the loops, the reductions, the lookups) in Python syntax, on
purpose: the point is the same kernel in the other language, so that the measurement compares
compilers and not designs. If numba were ever chosen, the two emitters would share one walker.

`generate(program, series, lanes, cache)` returns a `NumbaSource`: the text of a complete module
(importable from a file, so numba's on-disk cache can be tried) and the layout its caller fills.
The kernel's entry `urbsd_run(P0, PV, pv_cols, TS, n_ts, start, dt, n_steps, save_every, rk4,
ocol, out)` takes the arrays `engine.kernel.Kernel.run` passes to the C library (TS flattened).
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable
from dataclasses import dataclass

from simulator.engine import c_code, ir
from simulator.engine.c_code import Temp
from simulator.engine.c_parts import comment, lit as c_lit

IND = "    "
#: the fixed fields of the workspace (each n_p or n_state elements of `lanes` runs), then ACC
#: (one element: the accumulator of a reduction), then one field per variable and temporary
FIXED = ("C", "S", "D", "Y0", "K1", "K2", "K3")

#: the built-ins' element code (the C `scalar` templates of functions.FUNCTIONS, in Python)
SCALAR = {
    "min": "mn({0}, {1})",
    "max": "mx({0}, {1})",
    "abs": "abs({0})",
    "exp": "math.exp({0})",
    "ln": "math.log({0})",
    "sqrt": "math.sqrt({0})",
    "if_then_else": "{1} if {0} else {2}",
    "step": "{0} if t + dt / 2.0 > {1} else 0.0",
    "ramp": "{0} * (mn(mx(t, {1}), {2}) - {1})",
}


def lit(x: float) -> str:
    """A Python float literal with the exact value of `x`."""
    if math.isnan(x):
        return "math.nan"
    if math.isinf(x):
        return "math.inf" if x > 0 else "(-math.inf)"
    return c_lit(x)  # repr round-trips; always has '.' or 'e', so it is a float


@dataclass
class NumbaSource:
    """The module text and the layout (the same as the C kernel's `KernelSource` for the caller)."""

    text: str
    key: str
    constants: dict[str, tuple[int, int]]
    n_p: int
    series: dict[str, tuple[int, int]]
    n_ts: int
    recorded: list[str]
    widths: dict[str, int]
    n_state: int
    lanes: int
    hoisted: int
    lines: int
    functions: int
    workspace: int


def generate(program: ir.Program, series: frozenset[str] = frozenset(), name: str = "",
             lanes: int = c_code.LANES, cache: bool = False) -> NumbaSource:
    """The numba module of `program` with the constants in `series` read from a time-series table."""
    return _NumbaGen(program, frozenset(series), name, lanes).module(cache)


def _py_comment(line: str) -> str:
    """A whole-line C comment (as the inherited analysis writes them) as a Python comment."""
    s = line.lstrip()
    if s.startswith("/*") and s.endswith("*/"):
        return line[:len(line) - len(s)] + "# " + s[2:-2].strip()
    return line


class _NumbaGen(c_code._Gen):
    # ------------------------------------------------------------------ layout
    def declare(self, key: str, cname: str, dims: tuple[str, ...]) -> str:
        """As in C, plus the field's offset in W (in elements of `lanes` runs)."""
        if not hasattr(self, "foff"):
            self.foff: dict[str, int] = {}
            k = 0
            for f in FIXED:
                self.foff[f] = k
                k += max(self.n_p if f == "C" else self.n_state, 1)
            self.foff["ACC"] = k
            self.n_w = k + 1
        super().declare(key, cname, dims)
        self.foff[cname] = self.n_w
        self.n_w += max(self.width(dims), 1)
        return cname

    def at(self, name: str, env: c_code.Env, ctx: str) -> str:
        L, f = self.L, self.foff
        if name in self.coff:
            return f"W[{self.index(self.p.constants[name], env, f['C'] + self.coff[name], L)}]"
        if name in self.toff:  # the same for every run: no lane
            return f"TS[{self.index(self.p.constants[name], env, self.toff[name])} + tso]"
        if name in self.soff and (ctx != "init" or name not in self.cname_init):
            return f"W[{self.index(self.dims[name], env, f['S'] + self.soff[name], L)}]"
        cname = self.cname_init[name] if ctx == "init" and name in self.cname_init else self.cname[name]
        return f"W[{self.index(self.dims[name], env, f[cname], L)}]"

    # ------------------------------------------------------------------ statements
    def loops(self, dims: tuple[str, ...], body: Callable[[c_code.Env], list[str]], indent: str,
              fixed: c_code.Env | None = None) -> list[str]:
        env: c_code.Env = dict(fixed or {})
        lines = []
        for d in dims:
            if d in env:
                continue
            lines.append(f"{indent}for i_{d} in range({self.size[d]}):")
            env[d] = f"i_{d}"
            indent += IND
        return lines + [indent + x for x in body(env)]

    def lane(self, statement: str) -> str:
        return f"for l in range({self.L}): {statement}"

    def lower(self, node: ir.Node, ctx: str, pre: list[str], indent: str) -> ir.Node:
        """Reductions into temporaries, as in C: acc = x[0], then acc op x[i] left to right."""
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
        acc = f"W[{self.foff['ACC'] * self.L} + l]"
        step = {"sum": "{a} + {x}", "mean": "{a} + {x}", "vmax": "mx({a}, {x})", "vmin": "mn({a}, {x})"}[node.fn]

        def body(env: c_code.Env) -> list[str]:
            first = self.ex(x, {**env, d: 0}, ctx)
            nxt = self.ex(x, {**env, d: f"i_{d}"}, ctx)
            done = acc if node.fn != "mean" else f"{acc} / {lit(float(n))}"
            return [self.lane(f"{acc} = {first}"),
                    f"for i_{d} in range(1, {n}):",
                    IND + self.lane(f"{acc} = {step.format(a=acc, x=nxt)}"),
                    self.lane(f"{self.at(name, env, ctx)} = {done}")]

        pre += [f"{indent}# {node.fn} over {d}"] + self.loops(node.dims, body, indent)
        return Temp(node.dims, name)

    def statement(self, target: Callable[[c_code.Env], str], dims: tuple[str, ...], expr: ir.Node, ctx: str,
                  indent: str, fixed: c_code.Env | None = None) -> list[str]:
        pre: list[str] = []
        expr = self.lower(expr, ctx, pre, indent)
        return pre + self.loops(dims, lambda env: [self.lane(f"{target(env)} = {self.ex(expr, env, ctx)}")],
                                indent, fixed)

    # ------------------------------------------------------------------ expressions
    def ex(self, node: ir.Node, env: c_code.Env, ctx: str) -> str:
        if isinstance(node, ir.Const):
            return lit(node.value)
        if isinstance(node, ir.Time):
            return "t"
        if isinstance(node, ir.Ref):  # Temp too
            return self.at(node.name, env, ctx)
        if isinstance(node, ir.Neg):
            return f"(-{self.ex(node.x, env, ctx)})"
        if isinstance(node, ir.Chain):
            parts = [self.ex(node.first, env, ctx)] + [f"{op} {self.ex(t, env, ctx)}" for op, t in node.rest]
            return f"({' '.join(parts)})"
        if isinstance(node, ir.Pow):
            return self.power(node, env, ctx)
        if isinstance(node, ir.Compare):
            return f"({self.ex(node.a, env, ctx)} {node.op} {self.ex(node.b, env, ctx)})"
        if isinstance(node, ir.Call):
            return "(" + SCALAR[node.fn].format(*(self.ex(a, env, ctx) for a in node.args)) + ")"
        if isinstance(node, ir.Lookup):
            return f"lk_{node.name}({self.ex(node.x, env, ctx)})"
        if isinstance(node, ir.Select):
            return self.ex(node.x, {**env, **{d: i for d, i, _ in node.picks}}, ctx)
        if isinstance(node, ir.Shift):
            e = env[node.dim]
            if isinstance(e, int):
                return "0.0" if e == 0 else self.ex(node.x, {**env, node.dim: e - 1}, ctx)
            inner = self.ex(node.x, {**env, node.dim: f"({e} - 1 if {e} > 0 else 0)"}, ctx)
            return f"(0.0 if {e} == 0 else {inner})"
        raise TypeError(f"no numba code for {type(node).__name__} (reductions are lowered first)")

    def power(self, node: ir.Pow, env: c_code.Env, ctx: str) -> str:
        """As c_code: numpy's fast scalar power for a literal 2, 0.5, -1, 1, 0; else pow()."""
        base = self.ex(node.base, env, ctx)
        y = node.exponent
        array = any(isinstance(n, (ir.Ref, Temp)) for n in ir.walk(node.base))
        if array and isinstance(y, ir.Const):
            special = {2.0: f"sq({base})", 0.5: f"math.sqrt({base})", -1.0: f"(1.0 / {base})", 1.0: f"(+{base})",
                       0.0: "1.0"}
            if y.value in special:
                return special[y.value]
        return f"math.pow({base}, {self.ex(y, env, ctx)})"

    # ------------------------------------------------------------------ the sections
    def init_section(self, indent: str) -> list[list[str]]:
        """As c_code's: only what the states' initial values need; the state itself to init_state."""
        p = self.p
        by_name = {a.name: a for a in p.init}
        need: set[str] = set()
        stack = [r for a in p.init_states for r in ir.refs(a.expr)]
        while stack:
            r = stack.pop()
            if r in by_name and r not in need:
                a = by_name[r]
                if r in self.rc and a is self.rates.get(r):
                    continue
                need.add(r)
                stack += [x for n in (a.expr, *(pc.expr for pc in a.pieces)) for x in ir.refs(n)]
        for a in p.init:
            if a.name in need and a.name in self.soff:
                self.cname_init[a.name] = self.declare(f"init:{a.name}", f"i_{a.name}", self.dims[a.name])
        blocks = [self.assign(a, "init", indent, hoist=False) for a in p.init if a.name in need]
        state = []
        for a in p.init_states:
            off = self.foff["S"] + self.soff[a.name]
            state.append(f"{indent}# {comment(a.name)}: {comment(a.text)}")
            state += self.statement(lambda env, a=a, off=off: f"W[{self.index(a.dims, env, off, self.L)}]",
                                    a.dims, a.expr, "init", indent)
        self.init_state = state
        return blocks

    def pack(self, blocks: list[list[str]], what: str, functions: list[str], size: int = 40) -> list[str]:
        calls: list[str] = []
        chunk: list[str] = []
        for block in blocks + [None]:  # type: ignore[list-item]
            if chunk and (block is None or len(chunk) + len(block) > size):
                name = f"urbsd_f{len(self.packed)}"
                self.packed.append(name)
                functions += [f"# {what} ({len(calls) + 1})", "@JIT", f"def {name}(W, t, dt, TS, tso):"]
                functions += chunk + [""]
                calls.append(f"{name}(W, t, dt, TS, tso)")
                chunk = []
            if block is not None:
                chunk += block
        return calls

    def module(self, cache: bool) -> NumbaSource:
        p, L, f = self.p, self.L, self.foff
        I = IND
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
        self.plan_shared([self.hoist(n) for a in varying for n in (a.expr, *(pc.expr for pc in a.pieces))]
                         + [self.hoist(s.derivative) for s in p.states])
        step_blocks = [self.assign(a, "run", I, hoist=True) for a in varying if a.name in need]
        deriv_blocks = []
        for s in p.states:
            off = f["D"] + self.soff[s.name]
            block = [f"{I}# d/dt {comment(s.name)}: {comment(s.text)}"]
            expr = self.shared(self.hoist(s.derivative), block, I)
            deriv_blocks.append(block + self.statement(
                lambda env, s=s, off=off: f"W[{self.index(s.dims, env, off, L)}]", s.dims, expr, "run", I))
        save_blocks = [self.assign(a, "run", I, hoist=True) for a in varying if a.name not in need]
        init_blocks = self.init_section(I)
        const_blocks = [self.assign(a, "run", I, hoist=False) for a in p.rates if a.name in self.rc]
        for temp, node in self.hoist_code:
            const_blocks.append([f"{I}# {comment(ir.source(node))}"] + self.statement(
                lambda env, temp=temp: self.at(temp.name, env, "run"), temp.dims, node, "run", I))
        recorded = list(p.outputs)
        widths = {n: self.width(self.dims[n]) for n in recorded}
        record = []
        for k, n in enumerate(recorded):
            src = (f["S"] + self.soff[n]) * L if n in self.soff else f[self.cname[n]] * L
            record.append(f"if ocol[{k}] >= 0: put(out, r0, j, ocol[{k}], W, {src}, {widths[n]}, nl)")

        functions: list[str] = []
        const_calls = self.pack(const_blocks, "constants only, once per run", functions)
        init_calls = self.pack(init_blocks, "initial values", functions)
        functions += ["# the initial state", "@JIT", "def urbsd_init_state(W, t, dt, TS, tso):"]
        functions += self.init_state + [""]
        step_calls = self.pack(step_blocks + deriv_blocks, "flows and auxiliaries the derivatives need, "
                               "then the derivatives", functions)
        save_calls = self.pack(save_blocks, "recorded only", functions)

        n_s = self.n_state * L
        S, D, Y0, K1, K2, K3 = (f[x] * L for x in ("S", "D", "Y0", "K1", "K2", "K3"))
        lines = [f'"""urbsd kernel for numba: model {comment(self.name)}, generated by benchmarks/numba_codegen.py, '
                 f'{L} runs side by side; do not edit."""',
                 "import math", "", "import numpy as np", "from numba import njit", "",
                 f'JIT = njit(error_model="numpy", cache={bool(cache)})', "",
                 "", "# np.maximum / np.minimum: NaN in either argument gives NaN",
                 "@JIT", "def mx(a, b):", f"{I}return a if (a >= b or a != a) else b", "",
                 "@JIT", "def mn(a, b):", f"{I}return a if (a <= b or a != a) else b", "",
                 "@JIT", "def sq(a):", f"{I}return a * a", ""]
        for table, (xs, ys) in p.lookups.items():
            lines += self.lookup(table, xs, ys)
        lines += ["# the first nl lanes of `width` elements from W[src:] to out[r0 + l, j, col:]",
                  "@JIT", "def put(out, r0, j, col, W, src, width, nl):",
                  f"{I}for l in range(nl):", f"{I}{I}for e in range(width):",
                  f"{I}{I}{I}out[r0 + l, j, col + e] = W[src + e * {L} + l]", ""]
        lines += functions
        I2, I3, I4 = I * 2, I * 3, I * 4
        lines += ["@JIT",
                  "def run_lanes(W, TS, n_ts, start, dt, n_steps, save_every, rk4, ocol, out, r0, nl):",
                  f"{I}t = start", f"{I}tso = 0", f"{I}h = dt / 2.0"]
        lines += [I + c for c in const_calls + init_calls]
        lines += [f"{I}# the initial state", f"{I}urbsd_init_state(W, t, dt, TS, tso)",
                  f"{I}# ================================================ time steps",
                  f"{I}step = 0",
                  f"{I}while True:",
                  f"{I2}t0 = start + float(step) * dt",
                  f"{I2}for stage in range(4 if rk4 else 1):",
                  f"{I3}if stage == 0:",
                  f"{I4}t = t0",
                  f"{I4}tso = (3 * step if rk4 else step) * n_ts",
                  f"{I3}else:",
                  f"{I4}c = dt if stage == 3 else h",
                  f"{I4}k = {K1} if stage == 1 else {K2} if stage == 2 else {K3}",
                  f"{I4}t = t0 + c",
                  f"{I4}tso = (3 * step + (2 if stage == 3 else 1)) * n_ts",
                  f"{I4}for i in range({n_s}):",
                  f"{I4}{I}W[{S} + i] = W[{Y0} + i] + c * W[k + i]"]
        lines += [I3 + c for c in step_calls]
        lines += [f"{I3}if stage > 0:",
                  f"{I4}if stage < 3:",
                  f"{I4}{I}k = {K2} if stage == 1 else {K3}",
                  f"{I4}{I}for i in range({n_s}):",
                  f"{I4}{I}{I}W[k + i] = W[{D} + i]",
                  f"{I4}continue",
                  f"{I3}if step % save_every == 0:"]
        lines += [I4 + c for c in save_calls]
        lines += [f"{I4}j = step // save_every"]
        lines += [I4 + c for c in record]
        lines += [f"{I3}if step == n_steps:",
                  f"{I4}return",
                  f"{I3}if rk4:",
                  f"{I4}for i in range({n_s}):",
                  f"{I4}{I}W[{Y0} + i] = W[{S} + i]",
                  f"{I4}{I}W[{K1} + i] = W[{D} + i]",
                  f"{I2}if rk4:",
                  f"{I3}for i in range({n_s}):",
                  f"{I4}W[{S} + i] = W[{Y0} + i] + dt / 6.0 * (((W[{K1} + i] + 2.0 * W[{K2} + i]) "
                  f"+ 2.0 * W[{K3} + i]) + W[{D} + i])",
                  f"{I2}else:",
                  f"{I3}for i in range({n_s}):",
                  f"{I4}W[{S} + i] = W[{S} + i] + dt * W[{D} + i]",
                  f"{I2}step += 1",
                  ""]
        C = f["C"] * L
        lines += ["# n_runs runs, lanes at a time; lanes past the batch repeat its last run (as the C kernel)",
                  "@JIT",
                  "def urbsd_run(P0, PV, pv_cols, TS, n_ts, start, dt, n_steps, save_every, rk4, ocol, out):",
                  f"{I}n_runs = out.shape[0]",
                  f"{I}W = np.zeros({self.n_w * L})",
                  f"{I}for r0 in range(0, n_runs, {L}):",
                  f"{I2}nl = min(n_runs - r0, {L})",
                  f"{I2}for l in range({L}):",
                  f"{I3}r = r0 + (l if l < nl else nl - 1)",
                  f"{I3}for k in range({self.n_p}):",
                  f"{I4}W[{C} + k * {L} + l] = P0[k]",
                  f"{I3}for k in range(PV.shape[1]):",
                  f"{I4}W[{C} + pv_cols[k] * {L} + l] = PV[r, k]",
                  f"{I2}run_lanes(W, TS, n_ts, start, dt, n_steps, save_every, rk4, ocol, out, r0, nl)",
                  f"{I}return 0", ""]
        lines = [_py_comment(x) for x in lines]
        text = "\n".join(lines) + "\n"
        return NumbaSource(text=text, key=hashlib.sha256(text.encode()).hexdigest(),
                           constants={c: (o, self.width(p.constants[c])) for c, o in self.coff.items()},
                           n_p=self.n_p, series={c: (o, self.width(p.constants[c])) for c, o in self.toff.items()},
                           n_ts=self.n_ts, recorded=recorded, widths=widths, n_state=self.n_state, lanes=L,
                           hoisted=len(self.hoist_code), lines=len(lines), functions=text.count("@JIT\n"),
                           workspace=self.n_w * L)

    def lookup(self, name: str, xs: tuple[float, ...], ys: tuple[float, ...]) -> list[str]:
        """c_parts.lookup in Python: np.interp without branches, numpy's slopes precomputed."""
        I = IND
        lines = [f"# lookup {comment(name)}", "@JIT", f"def lk_{name}(x):", f"{I}r = {lit(ys[0])}"]
        for j in range(len(xs) - 1):
            dx = xs[j + 1] - xs[j]
            slope = (ys[j + 1] - ys[j]) / dx if dx != 0 else math.nan
            lines.append(f"{I}v = {lit(slope)} * (x - {lit(xs[j])}) + {lit(ys[j])}")
            if not math.isfinite(slope):
                lines.append(f"{I}v = {lit(slope)} * (x - {lit(xs[j + 1])}) + {lit(ys[j + 1])} if v != v else v")
                if ys[j] == ys[j + 1]:
                    lines.append(f"{I}v = {lit(ys[j])} if v != v else v")
                lines.append(f"{I}v = {lit(ys[j])} if x == {lit(xs[j])} else v")
            lines.append(f"{I}r = v if x >= {lit(xs[j])} else r")
        lines += [f"{I}r = {lit(ys[-1])} if x >= {lit(xs[-1])} else r", f"{I}return x if x != x else r", ""]
        return lines
