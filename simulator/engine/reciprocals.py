"""Division by a value that is the same all run, written as multiplication by its reciprocal.

`x / c` becomes `x * (1 / c)` wherever `c` reads only constants (and values made only of
constants): the compiled kernel then computes `1 / c` once per run (it hoists every sub-tree
that is the same all run) and multiplies at every step, where a division costs several times a
multiplication. The numpy path runs the same rewritten Program, so the two paths still compute
the same operations and agree to the bit; against the equation as written, a result may move
in its last bit (x * (1 / c) is rounded twice). Nothing else changes: a zero or infinite c
gives the same infinities and NaNs both ways.
"""

from __future__ import annotations

import dataclasses

from simulator.engine import ir
from simulator.engine.functions import TIME_FUNCTIONS


def rewrite(program: ir.Program) -> ir.Program:
    """`program` with every division by a run constant turned into a multiplication."""
    steady = set(program.constants)  # the same all run (unless a run gives it as a time series)
    done: dict[int, tuple[ir.Assign, bool]] = {}

    def assign(a: ir.Assign) -> tuple[ir.Assign, bool]:
        """The rewritten assignment (made once: the sections share Assign objects), and whether
        its value is the same all run."""
        found = done.get(id(a))
        if found is None:
            expr, same = _tree(a.expr, steady)
            pieces = []
            for p in a.pieces:
                pexpr, psame = _tree(p.expr, steady)
                pieces.append(dataclasses.replace(p, expr=pexpr))
                same = same and psame
            found = done[id(a)] = (dataclasses.replace(a, expr=expr, pieces=tuple(pieces)), same)
        return found

    rates = []
    for a in program.rates:  # in evaluation order: what an assignment reads is decided before it
        new, same = assign(a)
        rates.append(new)
        if same:
            steady.add(a.name)
    return dataclasses.replace(
        program,
        init=[assign(a)[0] for a in program.init],
        init_states=[assign(a)[0] for a in program.init_states],
        rates=rates,
        states=[dataclasses.replace(s, derivative=_tree(s.derivative, steady)[0]) for s in program.states],
    )


def _tree(node: ir.Node, steady: set[str]) -> tuple[ir.Node, bool]:
    """The rewritten tree, and whether its value is the same all run (it reads no stock, no
    time and nothing that changes during a run)."""
    kids = ir.children(node)
    done = [_tree(k, steady) for k in kids]
    if any(new is not old for (new, _), old in zip(done, kids)):
        node = ir.with_children(node, [new for new, _ in done])
    if isinstance(node, ir.Ref):
        return node, node.name in steady
    if isinstance(node, ir.Time) or (isinstance(node, ir.Call) and node.fn in TIME_FUNCTIONS):
        return node, False
    same = all(flag for _, flag in done)
    if isinstance(node, ir.Chain) and node.family == "*":
        flags = [flag for _, flag in done[1:]]
        if any(op == "/" and flag for (op, _), flag in zip(node.rest, flags)):
            rest = tuple(("*", ir.Chain(t.dims, "*", ir.Const((), 1.0), (("/", t),))) if op == "/" and flag
                         else (op, t) for (op, t), flag in zip(node.rest, flags))
            node = dataclasses.replace(node, rest=rest)
    return node, same
