"""The built-in functions of model equations: ONE table that everything reads.

Each `Builtin` row says how the function is written in a model file, in Vensim and in
XMILE, what arguments it takes, the numpy code it compiles to (and the same for one element
in C, for the compiled kernel's loops, `engine.c_code`), its unit rule, its meaning in one line,
and whether it creates hidden stocks. The translator (`equations`), the units check
(`units`), the numpy code generator (`numpy_code`), both exporters (`interop.vensim`,
`interop.xmile`) and the documentation (`docs/functions.md`, written by `urbsd docs
--functions`) all read this table, so a function is described once. docs/adding-a-function.md
lists the steps to add one.

Templates use `{0}`, `{1}`, ... for the arguments in order (already translated), `{axis}`
for the numpy axis of a reduction or a shift, `{dim}` for the dimension's name and `{n}`
for its number of elements. `t` is the time and `dt` the time step in generated code. The
`scalar` (C) templates may call C's <math.h> and the kernel's helpers `mx`/`mn` (np.maximum
and np.minimum: NaN in either argument gives NaN); the kernel puts the whole template in
parentheses.
"""

from __future__ import annotations

from dataclasses import dataclass

#: kinds of built-in: how the translator treats the call
ELEMENTWISE = "elementwise"  # the arguments broadcast by dimension name, the result has their dims
REDUCE = "reduce"  # removes one named dimension of its argument
SHIFT = "shift"  # moves values one element along an ordered dimension
HIDDEN = "hidden"  # becomes hidden stocks (smooth, delay3), made by the compiler

#: kinds of argument
VALUE, TIME, DIM, CONDITION = "value", "time", "dim", "condition"

#: unit rules (implemented in `units.py`)
UNIT_RULES = {
    "same": "all value arguments have one unit; the result has it",
    "first": "the result has the unit of the first argument",
    "dimensionless": "the argument is dimensionless; so is the result",
    "sqrt": "the result has the argument's unit with halved exponents",
    "branches": "the two branches have one unit, the result has it; a comparison as condition compares equal units",
    "times_year": "the result has the unit of the first argument times year",
}


@dataclass(frozen=True)
class Param:
    """One argument: its name in the docs, its kind, and whether it may be left out."""

    name: str
    kind: str = VALUE
    optional: bool = False
    #: how messages name it ("the end time of ramp"), if not by `name`
    words: str = ""


@dataclass(frozen=True)
class Builtin:
    """One built-in function of the equation language."""

    name: str
    params: tuple[Param, ...]
    kind: str
    meaning: str
    unit: str
    vensim: str
    xmile: str
    numpy: str = ""
    #: the same for one element, in C (the compiled kernel, `engine.c_code`); empty for
    #: reductions, shifts and hidden stocks, which the kernel writes as loops
    scalar: str = ""
    #: hidden stocks it creates per element of its (broadcast) dims: 0, 1 (smooth), 3 (delay3)
    stocks: int = 0
    #: a remark for the docs (how an exporter writes it, where tools differ)
    note: str = ""
    #: for hidden stocks: the stocks and flows a Vensim user would draw, as Vensim equations
    #: (`{owner}` is the element the function is used in); the compiler builds exactly these
    expansion: tuple[str, ...] = ()

    @property
    def arity(self) -> tuple[int, int]:
        """(least, most) number of arguments."""
        return sum(not p.optional for p in self.params), len(self.params)

    @property
    def signature(self) -> str:
        """`name(a, b)` as written in a model file; an optional argument in brackets."""
        args = [f"[{p.name}]" if p.optional else p.name for p in self.params]
        return f"{self.name}({', '.join(args)})"


_X = (Param("x"),)
_AB = (Param("a"), Param("b"))
_REDUCE = (Param("x"), Param("dim", DIM, optional=True))

BUILTINS_TABLE: tuple[Builtin, ...] = (
    Builtin("min", _AB, ELEMENTWISE, "the smaller of a and b, element by element", "same",
            "MIN({0}, {1})", "MIN({0}, {1})", "np.minimum({0}, {1})", "mn({0}, {1})"),
    Builtin("max", _AB, ELEMENTWISE, "the larger of a and b, element by element", "same",
            "MAX({0}, {1})", "MAX({0}, {1})", "np.maximum({0}, {1})", "mx({0}, {1})"),
    Builtin("abs", _X, ELEMENTWISE, "the absolute value", "first",
            "ABS({0})", "ABS({0})", "np.abs({0})", "fabs({0})"),
    Builtin("exp", _X, ELEMENTWISE, "e to the power x", "dimensionless",
            "EXP({0})", "EXP({0})", "np.exp({0})", "exp({0})"),
    Builtin("ln", _X, ELEMENTWISE, "the natural logarithm", "dimensionless",
            "LN({0})", "LN({0})", "np.log({0})", "log({0})"),
    Builtin("sqrt", _X, ELEMENTWISE, "the square root", "sqrt",
            "SQRT({0})", "SQRT({0})", "np.sqrt({0})", "sqrt({0})"),
    Builtin("if_then_else", (Param("condition", CONDITION), Param("a"), Param("b")), ELEMENTWISE,
            "a where the condition holds, else b (a comparison <, <=, >, >=, ==, != or a number, true if not 0)",
            "branches", "IF THEN ELSE({0}, {1}, {2})", "(IF {0} THEN {1} ELSE {2})",
            "np.where({0}, {1}, {2})", "{0} ? {1} : {2}",
            note="A comparison of time itself switches at its value: RK4 and Heun read it just after a step's "
                 "start and just before its end, so a switch on the step grid acts from that step on "
                 "(docs/model-format.md); Euler reads it at the time, as written (Vensim, PySD)."),
    Builtin("step", (Param("height"), Param("t0", TIME, words="time")), ELEMENTWISE,
            "0 before t0, then height; on once time + dt/2 > t0, so an off-grid t0 switches at the nearest step "
            "(as Vensim)", "first",
            "STEP({0}, {1})", "STEP({0}, {1})", "np.where(t + dt / 2 > {1}, {0}, 0.0)",
            "t + dt / 2.0 > {1} ? {0} : 0.0"),
    Builtin("ramp", (Param("slope"), Param("t_start", TIME, words="start time"), Param("t_end", TIME, words="end time")), ELEMENTWISE,
            "0 before t_start, then rising by slope per year until t_end, flat after", "times_year",
            "RAMP({0}, {1}, {2})", "(RAMP({0}, {1}) - RAMP({0}, {2}))",
            "({0} * (np.clip(t, {1}, {2}) - {1}))", "{0} * (mn(mx(t, {1}), {2}) - {1})",
            note="XMILE's RAMP has no end time: the export subtracts a second RAMP from t_end."),
    Builtin("sum", _REDUCE, REDUCE, "the sum over a dimension (which x must have); sum(x) if x has one dimension",
            "first", "SUM({0})", "SUM({0})", "np.sum({0}, axis={axis}, keepdims=True)", "",
            note="Vensim marks the summed dimension with !, e.g. SUM(x[county, age!])."),
    Builtin("mean", _REDUCE, REDUCE, "the mean over a dimension", "first",
            "(SUM({0}) / ELMCOUNT({dim}))", "(SUM({0}) / {n})", "np.mean({0}, axis={axis}, keepdims=True)", "",
            note="Vensim has no MEAN over a dimension: the export writes SUM(...) / ELMCOUNT(dim)."),
    Builtin("vmax", _REDUCE, REDUCE, "the largest value over a dimension", "first",
            "VMAX({0})", "MAX({0})", "np.max({0}, axis={axis}, keepdims=True)", ""),
    Builtin("vmin", _REDUCE, REDUCE, "the smallest value over a dimension", "first",
            "VMIN({0})", "MIN({0})", "np.min({0}, axis={axis}, keepdims=True)", ""),
    Builtin("shift", (Param("x"), Param("dim", DIM)), SHIFT,
            "x moved one element along an ordered dimension: the first element gets 0, element i gets x at i-1 "
            "(ageing chains)", "first", "", "", "shift({0}, {axis})", "",
            note="Vensim and XMILE have no such function: the export writes one equation per element, "
                 "x[a0_4] = 0, x[a5_9] = y[a0_4], ..."),
    Builtin("smooth", (Param("input"), Param("delay", TIME)), HIDDEN,
            "first-order exponential smooth of the input (Vensim SMOOTH), starting at the input's initial value",
            "first", "SMOOTH({0}, {1})", "SMTH1({0}, {1})", stocks=1,
            note="One stock S (initial value: the input's) with one flow in, (input - S) / delay; the output is S.",
            expansion=(
                "__smooth_{owner} = INTEG(__smooth_{owner}_change, __smooth_{owner}_in)",
                "__smooth_{owner}_change = (__smooth_{owner}_in - __smooth_{owner}) / __smooth_{owner}_time",
                "output = __smooth_{owner}",
            )),
    Builtin("delay3", (Param("input"), Param("delay", TIME)), HIDDEN,
            "third-order material delay of the input (Vensim DELAY3): three stocks of delay/3 each",
            "first", "DELAY3({0}, {1})", "DELAY3({0}, {1})", stocks=3,
            note="Three stocks L1, L2, L3 in a chain, each initially input * delay / 3; the flow into L1 is the "
                 "input, the flow from Li onward is Li / (delay / 3); the output is L3 / (delay / 3).",
            expansion=(
                "__delay3_{owner}_1 = INTEG(__delay3_{owner}_in - outflow_1, __delay3_{owner}_in * __delay3_{owner}_time / 3)",
                "__delay3_{owner}_2 = INTEG(outflow_1 - outflow_2, __delay3_{owner}_in * __delay3_{owner}_time / 3)",
                "__delay3_{owner}_3 = INTEG(outflow_2 - outflow_3, __delay3_{owner}_in * __delay3_{owner}_time / 3)",
                "outflow_i = __delay3_{owner}_i / (__delay3_{owner}_time / 3)",
                "output = __delay3_{owner}_out = outflow_3",
            )),
)

#: name in the model file -> row
FUNCTIONS: dict[str, Builtin] = {b.name: b for b in BUILTINS_TABLE}
#: builtins that read the model time: their value changes from step to step even with constant arguments
TIME_FUNCTIONS = frozenset({"step", "ramp"})
