"""The small expression language of calibration specifications (`simulator.analysis.calspec`).

A calibration spec says how the model computes an observed figure and how the calibration
run's initial values follow from data and fitted values, e.g.::

    county_resident_population[kongtong] / sum(county_resident_population)
    sum(births) / resident_population                       # with `at: mean`: annual counts / mean population
    (initial_urban_population - data(2010, kongtong, urban_population)) * 0.4

It is parsed by Python's `ast` and evaluated by walking the tree: only numbers,
names, `name[element]` (one element per dimension; `:` keeps a whole dimension),
+ - * / **, and the functions below. Nothing else is accepted, so a spec from a
stranger cannot run code. Values are numpy arrays with the run axis first: a scalar per
run is (n,), a county variable (n, 7); arithmetic aligns them.

functions: sum(x) and mean(x) over every element; exp, log, sqrt, abs; min(a, b),
max(a, b) element-wise; data(year, area, indicator): a row of the spec's data file;
model(name) or model(name[element]): the value declared in the model file.
"""

from __future__ import annotations

import ast
import operator
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

#: longest expression accepted (a spec is data, not a program)
MAX_LENGTH = 2000

_BINARY = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul,
           ast.Div: operator.truediv, ast.Pow: operator.pow}
_UNARY = {ast.USub: operator.neg, ast.UAdd: operator.pos}
_ELEMENTWISE = {"exp": np.exp, "log": np.log, "sqrt": np.sqrt, "abs": np.abs}
_PAIRWISE = {"min": np.minimum, "max": np.maximum}
_REDUCE = {"sum": np.sum, "mean": np.mean}
FUNCTIONS = (*_REDUCE, *_ELEMENTWISE, *_PAIRWISE, "data", "model")


class ExprError(ValueError):
    """A bad expression or a bad name in it; the message is one line."""


@dataclass(frozen=True)
class Ref:
    """A name referenced by an expression, with the element selection written after it."""

    name: str
    elements: tuple[str | None, ...] = ()  # None: ':' (the whole dimension)


@dataclass
class Expr:
    """A parsed expression: its text, its tree, the names it reads and the data rows it uses."""

    text: str
    tree: ast.Expression
    refs: list[Ref] = field(default_factory=list)
    model_refs: list[Ref] = field(default_factory=list)
    data_rows: list[tuple[int, str, str]] = field(default_factory=list)

    @property
    def names(self) -> list[str]:
        """The distinct names read (outside data() and model()), in order of appearance."""
        return list(dict.fromkeys(r.name for r in self.refs))


@dataclass
class Scope:
    """How names are looked up while evaluating.

    `value(name)` returns (array with the run axis first, dimension names); `model(name)`
    the same for the model file's value; `elements(dim)` the element names of a dimension;
    `data(year, area, indicator)` a data row's value.
    """

    value: Callable[[str], tuple[np.ndarray, tuple[str, ...]]]
    elements: Callable[[str], list[str]]
    data: Callable[[int, str, str], float] | None = None
    model: Callable[[str], tuple[np.ndarray, tuple[str, ...]]] | None = None


def parse(text: Any) -> Expr:
    """Parse `text` (a string or a number) into an Expr; raises ExprError for anything not allowed."""
    if isinstance(text, bool) or not isinstance(text, (str, int, float)):
        raise ExprError(f"expected an expression (text) or a number, got {type(text).__name__}")
    text = str(text).strip()
    if not text:
        raise ExprError("empty expression")
    if len(text) > MAX_LENGTH:
        raise ExprError(f"expression longer than {MAX_LENGTH} characters")
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError as exc:
        raise ExprError(f"cannot read expression {text!r}: {exc.msg}") from None
    expr = Expr(text, tree)
    _collect(tree.body, expr)
    return expr


def _element(node: ast.AST) -> str | None:
    if isinstance(node, ast.Slice) and node.lower is None and node.upper is None and node.step is None:
        return None
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Constant) and isinstance(node.value, (str, int)) and not isinstance(node.value, bool):
        return str(node.value)
    raise ExprError("an element is a name (e.g. kongtong), a quoted name or ':' (the whole dimension)")


def _ref(node: ast.AST) -> Ref:
    if isinstance(node, ast.Name):
        return Ref(node.id)
    if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name):
        sl = node.slice
        items = sl.elts if isinstance(sl, ast.Tuple) else [sl]
        return Ref(node.value.id, tuple(_element(e) for e in items))
    raise ExprError("expected a name or name[element]")


def _data_args(node: ast.Call) -> tuple[int, str, str]:
    if len(node.args) != 3 or node.keywords:
        raise ExprError("data() takes three arguments: data(year, area, indicator)")
    year, area, ind = node.args
    if not (isinstance(year, ast.Constant) and isinstance(year.value, int) and not isinstance(year.value, bool)):
        raise ExprError("data(): the year is a whole number, e.g. data(2010, pingliang, resident_population)")
    words = []
    for a in (area, ind):
        if isinstance(a, ast.Name):
            words.append(a.id)
        elif isinstance(a, ast.Constant) and isinstance(a.value, str):
            words.append(a.value)
        else:
            raise ExprError("data(): area and indicator are names, e.g. data(2010, pingliang, resident_population)")
    return int(year.value), words[0], words[1]


def _collect(node: ast.AST, expr: Expr) -> None:
    """Check every node is allowed; record names, model() names and data() rows."""
    if isinstance(node, ast.Constant):
        if isinstance(node.value, bool) or not isinstance(node.value, (int, float)):
            raise ExprError(f"only numbers are allowed as literals, not {node.value!r}")
    elif isinstance(node, (ast.Name, ast.Subscript)):
        expr.refs.append(_ref(node))
    elif isinstance(node, ast.BinOp):
        if type(node.op) not in _BINARY:
            raise ExprError(f"operator {type(node.op).__name__} is not allowed (use + - * / **)")
        _collect(node.left, expr)
        _collect(node.right, expr)
    elif isinstance(node, ast.UnaryOp):
        if type(node.op) not in _UNARY:
            raise ExprError(f"operator {type(node.op).__name__} is not allowed")
        _collect(node.operand, expr)
    elif isinstance(node, ast.Call):
        fn = node.func.id if isinstance(node.func, ast.Name) else None
        if fn not in FUNCTIONS:
            raise ExprError(f"unknown function {fn or '(expression)'}; allowed: {', '.join(FUNCTIONS)}")
        if node.keywords:
            raise ExprError(f"{fn}() takes no keyword arguments")
        if fn == "data":
            expr.data_rows.append(_data_args(node))
        elif fn == "model":
            if len(node.args) != 1:
                raise ExprError("model() takes one name: model(name) or model(name[element])")
            expr.model_refs.append(_ref(node.args[0]))
        else:
            want = 2 if fn in _PAIRWISE else 1
            if len(node.args) != want:
                raise ExprError(f"{fn}() takes {want} argument{'s' if want > 1 else ''}")
            for a in node.args:
                _collect(a, expr)
    else:
        raise ExprError(f"not allowed in an expression: {type(node).__name__}")


# --------------------------------------------------------------------------- evaluation


def _align(a: Any, b: Any) -> tuple[Any, Any]:
    """Give two run-first arrays the same number of axes (trailing axes added)."""
    if isinstance(a, np.ndarray) and isinstance(b, np.ndarray) and a.ndim != b.ndim:
        if a.ndim < b.ndim:
            a = a.reshape(a.shape + (1,) * (b.ndim - a.ndim))
        else:
            b = b.reshape(b.shape + (1,) * (a.ndim - b.ndim))
    return a, b


def _select(ref: Ref, arr: np.ndarray, dims: tuple[str, ...], scope: Scope) -> np.ndarray:
    if not ref.elements:
        return arr
    if len(ref.elements) != len(dims):
        if not dims:
            raise ExprError(f"{ref.name} is not subscripted; drop the [...]")
        raise ExprError(f"{ref.name} is per {' x '.join(dims)}: give {len(dims)} element(s) in [...]")
    index: list[Any] = [slice(None)]
    for dim, el in zip(dims, ref.elements):
        if el is None:
            index.append(slice(None))
            continue
        names = scope.elements(dim)
        if el not in names:
            raise ExprError(f"{ref.name}: unknown {dim} element {el!r} (one of {', '.join(names)})")
        index.append(names.index(el))
    return arr[tuple(index)]


def evaluate(expr: Expr, scope: Scope) -> np.ndarray:
    """The value of `expr`: an array with the run axis first (a plain number gives shape ())."""
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        return np.asarray(_eval(expr.tree.body, scope), dtype=float)


def _eval(node: ast.AST, scope: Scope) -> Any:
    if isinstance(node, ast.Constant):
        return float(node.value)
    if isinstance(node, (ast.Name, ast.Subscript)):
        ref = _ref(node)
        arr, dims = scope.value(ref.name)
        return _select(ref, np.asarray(arr, dtype=float), dims, scope)
    if isinstance(node, ast.BinOp):
        a, b = _align(_eval(node.left, scope), _eval(node.right, scope))
        return _BINARY[type(node.op)](a, b)
    if isinstance(node, ast.UnaryOp):
        return _UNARY[type(node.op)](_eval(node.operand, scope))
    fn = node.func.id  # _collect checked it is a Call of a known function
    if fn == "data":
        if scope.data is None:
            raise ExprError("data() is not available here")
        return float(scope.data(*_data_args(node)))
    if fn == "model":
        if scope.model is None:
            raise ExprError("model() is not available here")
        ref = _ref(node.args[0])
        arr, dims = scope.model(ref.name)
        return _select(ref, np.asarray(arr, dtype=float), dims, scope)
    if fn in _PAIRWISE:
        a, b = _align(_eval(node.args[0], scope), _eval(node.args[1], scope))
        return _PAIRWISE[fn](a, b)
    x = _eval(node.args[0], scope)
    if fn in _ELEMENTWISE:
        return _ELEMENTWISE[fn](x)
    x = np.asarray(x, dtype=float)
    if x.ndim <= 1:
        return x
    return _REDUCE[fn](x.reshape(x.shape[0], -1), axis=1)
