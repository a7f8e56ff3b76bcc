"""Finite differences: the seeds' numerical differentiation, as evidence beside the proofs.

`derive check --numeric` compares every gradient derive derived (a chain-rule adjoint
∂T/∂n of a network or graph, or a derivative f'(e), ∂f/∂v in a scalar rule) with a
central difference (f(a + h) − f(a − h)) / 2h of the forward computation alone, at
random points. Agreement is numeric evidence, never a proof, and is reported as such.
The step h is far below the distance at which a point counts as on a kink
(`numeric.KINK_TOLERANCE`), so a difference never straddles a boundary between pieces.
"""

from __future__ import annotations

from fractions import Fraction

import mpmath
import sympy as sp

from . import numeric

STEP = Fraction(1, 10**12)  # h
DPS = 40  # digits: rounding error ~1e-40 / h, truncation error ~h² — both far below 1e-15


def graph_central_difference(graph, target, source, inputs: dict, h: Fraction = STEP):
    """(∂target/∂source by the chain rule, by central differences) at `inputs`."""
    values = graph.forward(inputs, DPS)
    adjoint = graph.adjoints(target, values, DPS).get(source, mpmath.mpf(0))
    symbol = graph.nodes[target].symbol
    with mpmath.workdps(DPS):
        up = graph.forward(inputs, DPS, shift=(source, h))[symbol]
        down = graph.forward(inputs, DPS, shift=(source, -h))[symbol]
        return adjoint, (up - down) / (2 * numeric.exact(h))


def scalar_central_difference(derivative: sp.Expr, function: sp.Expr, variable: sp.Symbol, order: int,
                              env: dict, h: Fraction = STEP):
    """(the derived `derivative`, its central difference from `function`) at `env`, where
    both are expressions in `variable` (and other symbols valued in env). Orders 1 and 2.

    >>> u = sp.Symbol("u", real=True)
    >>> exact, approx = scalar_central_difference(3*u**2, u**3, u, 1, {u: mpmath.mpf(2)})
    >>> float(exact), round(float(approx), 12)
    (12.0, 12.0)
    """
    with numeric.precision(numeric.MP, DPS):
        at = lambda e, v: numeric.evaluate(e, {**env, variable: v})  # noqa: E731
        centre, step = env[variable], numeric.exact(h)
        exact = at(derivative, centre)
        if order == 1:
            return exact, (at(function, centre + step) - at(function, centre - step)) / (2 * step)
        if order == 2:  # a coarser step: the rounding error is divided by h² here
            step = numeric.exact(Fraction(1, 10**10))
            return exact, (at(function, centre + step) - 2 * at(function, centre) + at(function, centre - step)) \
                / step**2
    raise ValueError("central differences here are of order 1 or 2")
