"""The intermediate representation: equations as small typed trees with dimensions.

The translator (`equations.to_ir`) turns each equation of a model file into a tree of the
nodes below; the compiler (`compile.build_program`) gathers them into a `Program`: the
ordered assignments of the initial-value and rate sections, the stocks and their
derivatives, with SMOOTH and DELAY3 already lowered to hidden stocks. A backend turns a
Program into something that runs: `numpy_code` writes vectorized numpy source (the
reference); a compiled kernel can write scalar loops from the same Program. Exporters
(`interop`) print the same trees as Vensim and XMILE.

Every node carries `dims`, the names of the dimensions its value varies over, in the
model's *canonical* order (the order of `dimensions:` in the model file), never in the
order an element declares them: broadcasting is by name, so two values with dims
(county,) and (age,) combine to (county, age) whatever order the operands came in.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

Dims = tuple[str, ...]


@dataclass(frozen=True, eq=False)
class Node:
    """Base of every node: the dims of its value (canonical order)."""

    dims: Dims


@dataclass(frozen=True, eq=False)
class Const(Node):
    """A number (literal arithmetic is folded into one Const)."""

    value: float


@dataclass(frozen=True, eq=False)
class Time(Node):
    """The model time `time` (Vensim Time)."""


@dataclass(frozen=True, eq=False)
class Ref(Node):
    """The value of a named variable: a constant, stock, flow, auxiliary or hidden variable.

    `kind` is 'constant', 'stock', 'flow', 'auxiliary' or 'hidden' (made by the compiler)."""

    name: str
    kind: str


@dataclass(frozen=True, eq=False)
class Neg(Node):
    """-x."""

    x: Node


@dataclass(frozen=True, eq=False)
class Chain(Node):
    """A left-to-right chain of one precedence level: `first op1 t1 op2 t2 ...`.

    `family` is '+' (ops '+' and '-') or '*' (ops '*' and '/'). Evaluated strictly left to
    right, as the equation was written: a + b - c is (a + b) - c. Chains keep long sums and
    products flat (a sum of 500 terms is one node, not 500 nested ones)."""

    family: str
    first: Node
    rest: tuple[tuple[str, Node], ...]


@dataclass(frozen=True, eq=False)
class Pow(Node):
    """base ** exponent."""

    base: Node
    exponent: Node


@dataclass(frozen=True, eq=False)
class Compare(Node):
    """a op b with op in <, <=, >, >=, ==, != (only as the condition of if_then_else)."""

    op: str
    a: Node
    b: Node


#: the comparison `x op time` written the other way round, `time op' x`
_MIRROR = {"<": ">", "<=": ">=", ">": "<", ">=": "<=", "==": "==", "!=": "!="}


def time_comparison(node: Compare) -> tuple[str, Node] | None:
    """(op, x) if `node` compares the time itself with x (`time op x`, either way round), else None.

    Such a comparison is evaluated on a side: the time t + side * epsilon, for side -1 (just
    before t), 0 (at t) or +1 (just after t), so `t != x ? t op x : side op 0`. RK4 and Heun
    evaluate a step's first stage just after its start and the last just before its end, so a
    switch at a step boundary falls between steps, not inside one (`c_parts.STAGE_SIDES`)."""
    if isinstance(node.a, Time) and not isinstance(node.b, Time):
        return node.op, node.b
    if isinstance(node.b, Time) and not isinstance(node.a, Time):
        return _MIRROR[node.op], node.a
    return None


@dataclass(frozen=True, eq=False)
class Call(Node):
    """An elementwise built-in (functions.FUNCTIONS[fn], kind elementwise)."""

    fn: str
    args: tuple[Node, ...]


@dataclass(frozen=True, eq=False)
class Lookup(Node):
    """A lookup table (graphical function) applied elementwise to x."""

    name: str
    x: Node


@dataclass(frozen=True, eq=False)
class Reduce(Node):
    """sum, mean, vmax or vmin of x over the dimension `dim` (which x has; the result lacks it)."""

    fn: str
    x: Node
    dim: str


@dataclass(frozen=True, eq=False)
class Select(Node):
    """x at one element of each of some of its dims: picks are (dim, index, element name)."""

    x: Node
    picks: tuple[tuple[str, int, str], ...]


@dataclass(frozen=True, eq=False)
class Shift(Node):
    """x moved one element along the ordered dimension `dim`: out[0] = 0, out[i] = x[i-1]."""

    x: Node
    dim: str


@dataclass(frozen=True, eq=False)
class Delay(Node):
    """smooth(x, delay) or delay3(x, delay) before lowering; the compiler replaces each by a
    Ref to hidden variables (`__smooth_<owner>`, `__delay3_<owner>_out`)."""

    fn: str
    x: Node
    delay: Node


def children(node: Node) -> tuple[Node, ...]:
    """The direct sub-nodes of a node, in evaluation order."""
    get = _CHILDREN.get(type(node))
    return get(node) if get is not None else ()


_CHILDREN = {
    Neg: lambda n: (n.x,), Lookup: lambda n: (n.x,), Reduce: lambda n: (n.x,), Select: lambda n: (n.x,),
    Shift: lambda n: (n.x,),
    Chain: lambda n: (n.first,) + tuple(t for _, t in n.rest),
    Pow: lambda n: (n.base, n.exponent),
    Compare: lambda n: (n.a, n.b),
    Call: lambda n: n.args,
    Delay: lambda n: (n.x, n.delay),
}


def walk(node: Node) -> Iterator[Node]:
    """Every node of the tree, parents before children (iterative: no recursion limit)."""
    stack = [node]
    while stack:
        n = stack.pop()
        yield n
        stack.extend(reversed(children(n)))


def refs(node: Node) -> set[str]:
    """Names of the variables a tree reads (Ref nodes)."""
    return {n.name for n in walk(node) if isinstance(n, Ref)}


def depth(node: Node) -> int:
    """Nesting depth of a tree (a leaf is 1)."""
    best, stack = 0, [(node, 1)]
    while stack:
        n, d = stack.pop()
        best = max(best, d)
        stack.extend((c, d + 1) for c in children(n))
    return best


@dataclass(frozen=True, eq=False)
class Piece:
    """A per-element equation (`elements:` in the model file): `expr` fills the slice `picks`
    ((dim, index) pairs) of its owner; `key` and `text` as written in the model file."""

    picks: tuple[tuple[str, int], ...]
    expr: Node
    key: str
    text: str


@dataclass(frozen=True, eq=False)
class Assign:
    """One variable computed from an expression (plus per-element pieces, least specific first).

    `name` is the variable (a model element or a hidden one), `dims` its dims (canonical),
    `owner` the model element it comes from, `text` the equation as written there (for the
    comment above the generated line)."""

    name: str
    dims: Dims
    expr: Node
    owner: str
    text: str
    pieces: tuple[Piece, ...] = ()


@dataclass(frozen=True, eq=False)
class State:
    """A stock (or hidden stock): its dims and its derivative, d/dt = `derivative`."""

    name: str
    dims: Dims
    derivative: Node
    owner: str
    text: str


@dataclass(frozen=True)
class DelayTime:
    """A smooth or delay3 of the model and its delay time, when that is a constant or a number
    (`engine.stability` checks the time step against its stages; an expression is not checked)."""

    owner: str
    fn: str
    #: first-order stages the delay is made of (1 for smooth, 3 for delay3)
    stages: int
    #: the constant named as the delay time, or None
    constant: str | None
    #: the number written as the delay time, or None
    number: float | None


@dataclass
class Program:
    """A whole model, ready for a backend.

    - `dims`: every dimension's elements, in canonical order;
    - `constants`: constant name -> dims; `lookups`: name -> (xs, ys);
    - `init`: the initial-value section, in order: stock initial values, then every flow and
      auxiliary at the start time (a smooth's stock and a delay3's output start at their input);
    - `init_states`: what each state starts at (a stock its initial value, a hidden stock
      an expression of the init section);
    - `rates`: the rate section, in order: flows, auxiliaries and hidden helpers;
    - `states`: stocks then hidden stocks, with their derivatives;
    - `outputs`: the variables recorded by default (stocks, flows, auxiliaries);
    - `delays`: the smooths and delay3s whose delay time is a constant or a number."""

    dims: dict[str, tuple[str, ...]]
    constants: dict[str, Dims]
    lookups: dict[str, tuple[tuple[float, ...], tuple[float, ...]]]
    init: list[Assign]
    init_states: list[Assign]
    rates: list[Assign]
    states: list[State]
    outputs: list[str]
    #: dims of every variable (constants, stocks, flows, auxiliaries, hidden ones)
    var_dims: dict[str, Dims] = field(default_factory=dict)
    #: every smooth and delay3 whose delay time is a constant or a number
    delays: tuple[DelayTime, ...] = ()

    def shape(self, dims: Dims) -> tuple[int, ...]:
        """The array shape of a value with `dims` without the run axis: every dimension of
        the model, 1 where the value does not vary (so numpy broadcasts by name)."""
        return tuple(len(self.dims[d]) if d in dims else 1 for d in self.dims)

    def axis(self, dim: str) -> int:
        """The numpy axis of a dimension in generated code (axis 0 is the run)."""
        return 1 + list(self.dims).index(dim)


_PREC = {"+": 1, "*": 2}


def source(node: Node) -> str:
    """A tree in model-file syntax, for messages (literal arithmetic appears folded)."""
    return _src(node)[0]


def _src(node: Node) -> tuple[str, int]:
    """(text, binding strength): 0 comparison, 1 sum, 2 product, 3 power, 4 atom."""
    if isinstance(node, Const):
        v = node.value
        text = str(int(v)) if v.is_integer() and abs(v) < 1e15 else repr(v)
        return (text, 4) if v >= 0 else (f"({text})", 4)
    if isinstance(node, Time):
        return "time", 4
    if isinstance(node, Ref):
        return node.name, 4
    if isinstance(node, Neg):
        text, p = _src(node.x)
        return f"-{text}" if p >= 3 else f"-({text})", 2
    if isinstance(node, Chain):
        prec = _PREC[node.family]
        text, p = _src(node.first)
        parts = [text if p >= prec else f"({text})"]
        for op, term in node.rest:
            text, p = _src(term)
            parts.append(f"{op} {text if p > prec else f'({text})'}")
        return " ".join(parts), prec
    if isinstance(node, Pow):
        (b, pb), (e, pe) = _src(node.base), _src(node.exponent)
        return f"{b if pb >= 4 else f'({b})'} ** {e if pe >= 3 else f'({e})'}", 3
    if isinstance(node, Compare):
        return f"{source(node.a)} {node.op} {source(node.b)}", 0
    if isinstance(node, Call):
        return f"{node.fn}({', '.join(source(a) for a in node.args)})", 4
    if isinstance(node, Lookup):
        return f"{node.name}({source(node.x)})", 4
    if isinstance(node, Reduce):
        one = len(node.x.dims) == 1
        return f"{node.fn}({source(node.x)}{'' if one else ', ' + node.dim})", 4
    if isinstance(node, Select):
        return f"{source(node.x)}[{', '.join(e for _, _, e in node.picks)}]", 4
    if isinstance(node, Shift):
        return f"shift({source(node.x)}, {node.dim})", 4
    if isinstance(node, Delay):
        return f"{node.fn}({source(node.x)}, {source(node.delay)})", 4
    raise TypeError(type(node).__name__)


def with_children(node: Node, new: list[Node]) -> Node:
    """A copy of `node` with its children (in the order of `children`) replaced."""
    if isinstance(node, (Neg, Lookup, Reduce, Select, Shift)):
        return _replace(node, x=new[0])
    if isinstance(node, Chain):
        return _replace(node, first=new[0], rest=tuple((op, t) for (op, _), t in zip(node.rest, new[1:])))
    if isinstance(node, Pow):
        return _replace(node, base=new[0], exponent=new[1])
    if isinstance(node, Compare):
        return _replace(node, a=new[0], b=new[1])
    if isinstance(node, Call):
        return _replace(node, args=tuple(new))
    if isinstance(node, Delay):
        return _replace(node, x=new[0], delay=new[1])
    return node


def _replace(node: Node, **changes: object) -> Node:
    import dataclasses

    return dataclasses.replace(node, **changes)  # type: ignore[arg-type]
