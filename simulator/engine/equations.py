"""Equations: Python-syntax expressions parsed with `ast`, checked against a whitelist, and
translated to the intermediate representation (`ir`), dimensions and all.

`to_ir(spec, text, owner=, field=)` is the translator: names must be model elements or
`time`; functions must be lookups or rows of the built-in table (`functions.FUNCTIONS`);
every value carries its dims and operands broadcast by dimension name; literal arithmetic
is folded (1/0, 10**10**10 or 1e400 are one-line errors, never a crash); long sums and
products become flat chains, so a sum of 500 terms compiles. The equation's dims must be
a subset of its owner's. `check` returns the names an equation reads (the loader and the
docs use it); `pieces` reads the per-element equations (`elements:`) of a flow or auxiliary.
"""

from __future__ import annotations

import ast
import math
from typing import TYPE_CHECKING

from simulator.engine import ir
from simulator.engine.functions import CONDITION, ELEMENTWISE, FUNCTIONS, HIDDEN, REDUCE, SHIFT
from simulator.errors import InputError, suggest

if TYPE_CHECKING:
    from simulator.engine.modelfile import ModelSpec

#: builtin function name -> largest number of arguments (the table is functions.FUNCTIONS)
BUILTINS: dict[str, int] = {name: b.arity[1] for name, b in FUNCTIONS.items()}
RESERVED = set(BUILTINS) | {"time"}
#: the deepest nesting of an equation's tree (sums and products of any length count as one level)
MAX_DEPTH = 100
#: the longest equation text, in characters
MAX_LENGTH = 100_000

_FAMILY = {ast.Add: ("+", "+"), ast.Sub: ("+", "-"), ast.Mult: ("*", "*"), ast.Div: ("*", "/")}
_CMPOPS = {ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">=", ast.Eq: "==", ast.NotEq: "!="}


class EquationError(Exception):
    """A bad equation; the caller adds the file, field and equation text."""


def shown(text: object, limit: int = 80) -> str:
    """An input text for a message, cut to `limit` characters."""
    s = str(text)
    return s if len(s) <= limit else s[: limit - 3] + "..."


def dims_text(dims: object) -> str:
    return "[" + ", ".join(dims) + "]"  # type: ignore[arg-type]


def parse(text: float | int | str) -> ast.expr:
    """Parse an equation (or a bare number) into an ast expression; EquationError if it cannot."""
    if isinstance(text, (int, float)) and not isinstance(text, bool):
        return ast.Constant(text)
    if not isinstance(text, str):
        raise EquationError(f"an equation must be a string or a number, not {type(text).__name__}")
    if len(text) > MAX_LENGTH:
        raise EquationError(f"the equation is {len(text):,} characters long; at most {MAX_LENGTH:,}")
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as exc:
        raise EquationError(f"does not parse ({shown(exc.msg, 60)})") from None
    except (MemoryError, RecursionError):
        raise EquationError("nests too deeply to parse (split it with auxiliaries)") from None
    except ValueError as exc:  # e.g. an integer literal beyond Python's digit limit
        raise EquationError(f"does not parse ({shown(exc, 60)})") from None
    return tree.body


def to_ir(spec: "ModelSpec", text: float | int | str, *, owner: str, field: str, initial: bool = False,
          target: tuple[str, ...] | None = None, where: str = "") -> ir.Node:
    """Translate one equation of `owner` to IR; InputError (one line) if it is not valid.

    `target` is the dims the result may have (default: the owner's); `where` names a
    per-element slice in messages ("at a85p"). `initial`: an initial value, which may read
    constants and stocks only and may not use smooth or delay3.
    """
    try:
        node = _Translator(spec, initial).top(text)
    except EquationError as exc:
        raise InputError(spec.path, field, f"{exc} in '{shown(text)}'") from None
    except (RecursionError, MemoryError):
        raise InputError(spec.path, field, f"nests too deeply (split it with auxiliaries) in '{shown(text)}'") from None
    if ir.depth(node) > MAX_DEPTH:
        raise InputError(spec.path, field, f"nests {ir.depth(node)} levels deep, at most {MAX_DEPTH} "
                                           f"(split it with auxiliaries) in '{shown(text)}'")
    own = list(spec.element(owner).dims)
    allowed = own if target is None else list(target)
    extra = [d for d in node.dims if d not in allowed]
    if extra:
        at = f" {where}" if where else ""
        raise InputError(spec.path, field,
                         f"the equation has dims {dims_text(_owner_first(node.dims, own))} but '{owner}'{at} has "
                         f"{dims_text(allowed)}; "
                         f"use sum(..., {extra[0]}) or x[element] in '{shown(text)}'")
    return node


def tree(spec: "ModelSpec", text: float | int | str, *, initial: bool = False) -> ir.Node:
    """An equation as IR with no owner (any dims); EquationError if it is not valid."""
    return _Translator(spec, initial).top(text)


def _owner_first(dims: ir.Dims, own: list[str]) -> list[str]:
    """The owner's dims first (in its order), then the others."""
    return [d for d in own if d in dims] + [d for d in dims if d not in own]


def reads(node: ir.Node) -> set[str]:
    """The element names a tree reads: variables and lookups."""
    out = set()
    for n in ir.walk(node):
        if isinstance(n, (ir.Ref, ir.Lookup)):
            out.add(n.name)
    return out


def check(spec: "ModelSpec", owner: str, text: float | int | str, *, field: str, initial: bool = False) -> set[str]:
    """Validate one equation at load time; returns the element names it reads."""
    return reads(to_ir(spec, text, owner=owner, field=field, initial=initial))


def pieces(spec: "ModelSpec", owner: str, table: str) -> list[tuple[str, tuple[tuple[str, int], ...], str]]:
    """The per-element equations of a flow or auxiliary: (key, ((dim, index), ...), equation),
    least specific first. Keys name elements of the owner's dims ("a85p", "kongtong, a0_4")."""
    el = spec.element(owner)
    raw = getattr(el, "elements", {}) or {}
    if not raw:
        return []
    field = f"{table}.{owner}.elements"
    if not el.dims:
        raise InputError(spec.path, field, f"'{owner}' has no dims, so it has no elements to give equations for")
    out = []
    for key, text in raw.items():
        picks: dict[str, int] = {}
        for name in (p.strip() for p in str(key).split(",")):
            dim = next((d for d in el.dims if name in spec.elements(d)), None)
            if dim is None:
                names = [e for d in el.dims for e in spec.elements(d)]
                raise InputError(spec.path, f"{field}.{shown(key, 40)}",
                                 f"'{shown(name, 40)}' is not an element of {dims_text(el.dims)}{suggest(name, names)}")
            if dim in picks:
                raise InputError(spec.path, f"{field}.{shown(key, 40)}", f"two elements of '{dim}' in one key")
            picks[dim] = spec.elements(dim).index(name)
        order = list(spec.dimensions)
        out.append((str(key), tuple(sorted(picks.items(), key=lambda p: order.index(p[0]))), text))
    for i, (k1, p1, _) in enumerate(out):
        for k2, p2, _ in out[i + 1:]:
            d1, d2 = dict(p1), dict(p2)
            if len(d1) == len(d2) and all(d1[d] == d2[d] for d in d1.keys() & d2.keys()):
                raise InputError(spec.path, f"{field}.{shown(k2, 40)}",
                                 f"overlaps '{shown(k1, 40)}' and is as specific; name the shared elements in one "
                                 "more specific key")
    return sorted(out, key=lambda p: len(p[1]))


#: (field, owner, tree, what) of every equation to check; `check_units` builds them if not given
Trees = list[tuple[str, str, ir.Node, str]]


def equation_trees(spec: "ModelSpec") -> Trees:
    """Every stock initial value, flow and auxiliary equation (with per-element ones) as IR."""
    out: Trees = []
    for sname, stock in spec.stocks.items():
        field = f"stocks.{sname}.initial"
        out.append((field, sname, to_ir(spec, stock.initial, owner=sname, field=field, initial=True),
                    "initial value"))
    for table, elements in (("flows", spec.flows), ("auxiliaries", spec.auxiliaries)):
        for name, el in elements.items():
            field = f"{table}.{name}.equation"
            out.append((field, name, to_ir(spec, el.equation, owner=name, field=field), "equation"))
            for key, picks, text in pieces(spec, name, table):
                pfield = f"{table}.{name}.elements.{shown(key, 40)}"
                target = tuple(d for d in el.dims if d not in dict(picks))
                node = to_ir(spec, text, owner=name, field=pfield, target=target, where=f"at {key}")
                out.append((pfield, name, node, f"equation at {key}"))
    return out


class _Translator:
    """ast -> IR; raises EquationError."""

    def __init__(self, spec: "ModelSpec", initial: bool) -> None:
        self.spec = spec
        self.initial = initial
        self.order = list(spec.dimensions)
        self.element_dim = {e: d for d, dim in spec.dimensions.items() for e in dim.elements}

    def top(self, text: float | int | str) -> ir.Node:
        return self.visit(parse(text))

    def dims(self, *values: ir.Node) -> ir.Dims:
        found = set().union(*(v.dims for v in values))
        return tuple(d for d in self.order if d in found)

    def visit(self, node: ast.AST) -> ir.Node:
        method = getattr(self, f"visit_{type(node).__name__}", None)
        if method is None:
            raise EquationError(f"'{_text(node)}' is not allowed ({type(node).__name__})")
        return method(node)

    # ------------------------------------------------------------------ leaves
    def visit_Constant(self, node: ast.Constant) -> ir.Node:
        v = node.value
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            raise EquationError(f"{shown(repr(v), 40)} is not a number")
        try:
            x = float(v)
        except OverflowError:
            raise EquationError(f"the number {shown(v, 40)} is too large") from None
        if not math.isfinite(x):
            raise EquationError(f"{shown(v, 40)} is not a finite number")
        return ir.Const((), x)

    def visit_Name(self, node: ast.Name) -> ir.Node:
        name = node.id
        if name == "time":
            return ir.Time(())
        kind = self.spec.kind(name)
        if kind is None:
            if name in self.spec.dimensions:
                raise EquationError(f"'{name}' is a dimension; it may only name the dimension of sum, mean, vmax, "
                                    "vmin or shift")
            if name in self.element_dim:
                raise EquationError(f"'{name}' is an element of '{self.element_dim[name]}'; select it with x[{name}]")
            raise EquationError(f"unknown name '{name}'{suggest(name, self.spec.all_names() + ['time'])}")
        if kind == "lookup":
            raise EquationError(f"lookup '{name}' must be called, as {name}(x)")
        return ir.Ref(self.dims_of(name), name, kind)

    def shown_dims(self, x: ir.Node) -> list[str]:
        """A value's dims for a message: a variable's in its declared order, else the model's order."""
        if isinstance(x, ir.Ref):
            return list(self.spec.element(x.name).dims)
        if isinstance(x, ir.Select) and isinstance(x.x, ir.Ref):
            return [d for d in self.spec.element(x.x.name).dims if d in x.dims]
        return list(x.dims)

    def dims_of(self, name: str) -> ir.Dims:
        own = self.spec.element(name).dims
        return tuple(d for d in self.order if d in own)

    # ------------------------------------------------------------------ operators
    def visit_UnaryOp(self, node: ast.UnaryOp) -> ir.Node:
        negative = False
        inner: ast.AST = node
        while isinstance(inner, ast.UnaryOp):  # a run of signs, however long, without recursion
            if isinstance(inner.op, ast.USub):
                negative = not negative
            elif not isinstance(inner.op, ast.UAdd):
                raise EquationError(f"'{_text(inner)}' is not allowed (use if_then_else for logic)")
            inner = inner.operand
        x = self.visit(inner)
        if not negative:
            return x
        if isinstance(x, ir.Const):
            return ir.Const((), -x.value)
        return ir.Neg(x.dims, x)

    def visit_BinOp(self, node: ast.BinOp) -> ir.Node:
        if isinstance(node.op, ast.Pow):
            base, exponent = self.visit(node.left), self.visit(node.right)
            if isinstance(base, ir.Const) and isinstance(exponent, ir.Const):
                return ir.Const((), _fold(base.value, "**", exponent.value, node))
            return ir.Pow(self.dims(base, exponent), base, exponent)
        if type(node.op) not in _FAMILY:
            raise EquationError(f"operator in '{_text(node)}' is not allowed")
        family = _FAMILY[type(node.op)][0]
        ops: list[tuple[str, ast.expr]] = []
        left: ast.expr = node
        while isinstance(left, ast.BinOp) and _FAMILY.get(type(left.op), ("",))[0] == family:
            ops.append((_FAMILY[type(left.op)][1], left.right))
            left = left.left
        first = self.visit(left)
        rest = [(op, self.visit(right)) for op, right in reversed(ops)]
        while isinstance(first, ir.Const) and rest and isinstance(rest[0][1], ir.Const):
            op, term = rest.pop(0)
            first = ir.Const((), _fold(first.value, op, term.value, node))
        if any(op == "/" and isinstance(t, ir.Const) and t.value == 0 for op, t in rest):
            raise EquationError(f"'{_text(node, 40)}' divides by zero")
        if not rest:
            return first
        return ir.Chain(self.dims(first, *(t for _, t in rest)), family, first, tuple(rest))

    def visit_Compare(self, node: ast.Compare) -> ir.Node:
        raise EquationError(f"comparison '{_text(node)}' is allowed only as the condition of if_then_else")

    def condition(self, node: ast.expr) -> ir.Node:
        if isinstance(node, ast.Compare):
            if len(node.ops) != 1:
                raise EquationError(f"chained comparison '{_text(node)}' is not allowed")
            op = _CMPOPS[type(node.ops[0])] if type(node.ops[0]) in _CMPOPS else None
            if op is None:
                raise EquationError(f"comparison '{_text(node)}' is not allowed")
            a, b = self.visit(node.left), self.visit(node.comparators[0])
            return ir.Compare(self.dims(a, b), op, a, b)
        return self.visit(node)

    # ------------------------------------------------------------------ subscripts
    def visit_Subscript(self, node: ast.Subscript) -> ir.Node:
        names = node.slice.elts if isinstance(node.slice, ast.Tuple) else [node.slice]
        if not isinstance(node.value, ast.Name) or not all(isinstance(n, ast.Name) for n in names):
            raise EquationError(f"'{_text(node)}' is not allowed (use name[element] or name[element, element])")
        x = self.visit(node.value)
        picks: dict[str, tuple[int, str]] = {}
        for n in names:
            elem = n.id  # type: ignore[attr-defined]
            dim = self.element_dim.get(elem)
            if dim is None or dim not in x.dims:
                choices = [e for d in x.dims for e in self.spec.elements(d)]
                if not x.dims:
                    raise EquationError(f"'{node.value.id}' has no dimension to take '{elem}' from")  # type: ignore[attr-defined]
                if dim is None:
                    of = f"'{x.dims[0]}'" if len(x.dims) == 1 else dims_text(self.shown_dims(x))
                    raise EquationError(f"'{elem}' is not an element of {of}{suggest(elem, choices)}")
                raise EquationError(f"'{elem}' is an element of '{dim}', which '{node.value.id}' does not have "  # type: ignore[attr-defined]
                                    f"(dims {dims_text(self.shown_dims(x))})")
            if dim in picks:
                raise EquationError(f"two elements of '{dim}' in '{_text(node)}'")
            picks[dim] = (self.spec.elements(dim).index(elem), elem)
        ordered = tuple((d, *picks[d]) for d in self.order if d in picks)
        return ir.Select(tuple(d for d in x.dims if d not in picks), x, ordered)

    # ------------------------------------------------------------------ calls
    def visit_Call(self, node: ast.Call) -> ir.Node:
        if not isinstance(node.func, ast.Name) or node.keywords:
            raise EquationError(f"call '{_text(node)}' is not allowed")
        fname = node.func.id
        if fname in self.spec.lookups:
            if len(node.args) != 1:
                raise EquationError(f"lookup '{fname}' takes one argument")
            x = self.visit(node.args[0])
            return ir.Lookup(x.dims, fname, x)
        fn = FUNCTIONS.get(fname)
        if fn is None:
            raise EquationError(f"unknown function '{fname}'{suggest(fname, list(FUNCTIONS) + list(self.spec.lookups))}")
        least, most = fn.arity
        if not least <= len(node.args) <= most:
            count = str(least) if least == most else f"{least} or {most}"
            raise EquationError(f"{fname} takes {count} argument(s), got {len(node.args)}")
        if any(isinstance(a, ast.Starred) for a in node.args):
            raise EquationError(f"call '{_text(node)}' is not allowed")
        if fn.kind == ELEMENTWISE:
            args = tuple(self.condition(a) if p.kind == CONDITION else self.visit(a)
                         for p, a in zip(fn.params, node.args))
            return ir.Call(self.dims(*args), fname, args)
        if fn.kind == REDUCE:
            x = self.visit(node.args[0])
            if len(node.args) == 2:
                dim = self.dim_arg(fname, node.args[1])
            elif len(x.dims) == 1:
                dim = x.dims[0]
            elif not x.dims:
                raise EquationError(f"{fname} needs a subscripted argument in '{_text(node)}'")
            else:
                raise EquationError(f"'{_text(node.args[0], 40)}' has dims {dims_text(self.shown_dims(x))}: say which to "
                                    f"{fname} over, e.g. {fname}(..., {self.shown_dims(x)[-1]})")
            if dim not in x.dims:
                raise EquationError(f"{fname} over '{dim}', but '{_text(node.args[0], 40)}' has dims {dims_text(self.shown_dims(x))}")
            return ir.Reduce(tuple(d for d in x.dims if d != dim), fname, x, dim)
        if fn.kind == SHIFT:
            x = self.visit(node.args[0])
            dim = self.dim_arg(fname, node.args[1])
            if not self.spec.dimensions[dim].ordered:
                raise EquationError(f"'{dim}' is not ordered; add 'ordered: true' to the dimension to shift along it")
            if dim not in x.dims:
                raise EquationError(f"shift along '{dim}', but '{_text(node.args[0], 40)}' has dims {dims_text(self.shown_dims(x))}")
            return ir.Shift(x.dims, x, dim)
        assert fn.kind == HIDDEN, fn.kind
        if self.initial:
            raise EquationError(f"{fname} is not allowed in an initial value")
        x, delay = self.visit(node.args[0]), self.visit(node.args[1])
        return ir.Delay(self.dims(x, delay), fname, x, delay)

    def dim_arg(self, fname: str, node: ast.expr) -> str:
        if not isinstance(node, ast.Name) or node.id not in self.spec.dimensions:
            dims = ", ".join(self.spec.dimensions) or "none"
            raise EquationError(f"the second argument of {fname} must be a dimension name ({dims}), "
                                f"not '{_text(node, 40)}'")
        return node.id


def _fold(a: float, op: str, b: float, node: ast.AST) -> float:
    """Literal arithmetic done once, at load: an error for what has no finite real value."""
    try:
        if op == "+":
            x = a + b
        elif op == "-":
            x = a - b
        elif op == "*":
            x = a * b
        elif op == "/":
            x = a / b
        else:
            x = a ** b
    except ZeroDivisionError:
        raise EquationError(f"'{_text(node, 40)}' divides by zero") from None
    except OverflowError:
        raise EquationError(f"'{_text(node, 40)}' is too large for a float") from None
    if isinstance(x, complex):
        raise EquationError(f"'{_text(node, 40)}' has no real value") from None
    if not math.isfinite(x):
        raise EquationError(f"'{_text(node, 40)}' is not a finite number")
    return x


def _text(node: ast.AST, limit: int = 60) -> str:
    """The source of a node for a message, cut short (and safe on deep trees)."""
    try:
        return shown(ast.unparse(node), limit)
    except (RecursionError, MemoryError, ValueError):
        return f"a {type(node).__name__}"
