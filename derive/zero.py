"""Deciding "this difference is identically zero", exactly, and evaluating it in high precision.

The symbolic test is one-sided on purpose: `is_identically_zero` returning True is a
proof; False only means "not shown". The difference is brought to a rational function:
defined functions are unfolded to their bodies, tanh/sinh/cosh become exponentials, and
each exp(c·m) (c rational, m a monomial) becomes t_m^(c·D) for a fresh positive symbol
t_m = exp(m/D), D the common denominator of all such c. What remains non-rational (log,
sqrt, …) stays an opaque generator. If the numerator of the rational function expands to
0, the original is 0 wherever it is defined: substituting t_m = exp(m/D) back preserves
every polynomial identity. `simplify` is not used: it is heuristic and can hang.

A piecewise difference is split into regions (`derive.regions`) and must vanish on
every region that can occur, with the pieces fixed there; boundaries between regions
(kinks, ties) are excluded, since a derivative need not exist there.
"""

from __future__ import annotations

import math

import sympy as sp

from .functions import Cases, FunctionTable
from .regions import CannotSplit, split

_HYPERBOLIC = (sp.tanh, sp.sinh, sp.cosh, sp.coth)


def _exp_terms(arg: sp.Expr) -> list:
    """arg as [(rational coefficient, monomial)]; the constant term has monomial 1."""
    out = []
    for term in sp.Add.make_args(sp.expand(arg)):
        coeff, mono = term.as_coeff_Mul()
        if not coeff.is_Rational:
            coeff, mono = sp.Integer(1), term
        out.append((coeff, mono))
    return out


def rational_form(expr: sp.Expr, functions: FunctionTable) -> sp.Expr:
    """`expr` with exponentials replaced by powers of fresh symbols (see module doc)."""
    e = functions.expand_definitions(expr)
    if e.has(*_HYPERBOLIC):
        e = e.replace(lambda x: isinstance(x, _HYPERBOLIC), lambda x: x.rewrite(sp.exp))
    exps = e.atoms(sp.exp)
    if not exps:
        return e
    denominator = 1
    for x in exps:
        for coeff, _ in _exp_terms(x.args[0]):
            denominator = math.lcm(denominator, int(coeff.q))
    symbols: dict = {}

    def t(mono):
        if mono not in symbols:
            symbols[mono] = sp.Dummy(f"exp_{mono}", positive=True)
        return symbols[mono]

    def replace_exp(x):
        result = sp.Integer(1)
        for coeff, mono in _exp_terms(x.args[0]):
            power = coeff * denominator
            if power.is_Integer:
                result *= t(mono) ** int(power)
            else:  # a coefficient finer than D: keep this exponential as its own generator
                result *= t(coeff * mono)
        return result

    # Innermost first, so nested exponentials see their arguments already rewritten.
    return e.replace(lambda x: isinstance(x, sp.exp), replace_exp)


def is_identically_zero(expr: sp.Expr, functions: FunctionTable) -> bool:
    """True only when `expr` is shown to be 0 for every value of its symbols (on every
    region, for a piecewise expression).

    >>> t = sp.Symbol("t", real=True)
    >>> is_identically_zero(sp.tanh(t) - (1 - sp.exp(-2*t)) / (1 + sp.exp(-2*t)), FunctionTable())
    True
    >>> is_identically_zero(sp.tanh(t) - t, FunctionTable())
    False
    """
    return zero_regions(expr, functions) is not None


def zero_regions(expr: sp.Expr, functions: FunctionTable) -> int | None:
    """On how many regions `expr` was shown to be 0 (1 for an expression without pieces),
    or None when it was not shown to be 0 on every one of them.

    >>> x = sp.Symbol("x", real=True)
    >>> table = FunctionTable()
    >>> zero_regions(table.apply("relu", [x], 1) - table.apply("hardtanh", [x], 1), table) is None
    True
    >>> zero_regions(table.apply("relu", [x]) - x * table.apply("relu", [x], 1), table)  # relu = x·relu'
    2
    """
    if expr == 0:
        return 1
    expanded = functions.expand_definitions(expr)
    if expanded.has(sp.Abs) and expanded.has(sp.Piecewise):  # |a| is piecewise too: split on a's sign
        expanded = expanded.replace(lambda e: isinstance(e, sp.Abs),
                                    lambda e: Cases((e.args[0], e.args[0] > 0), (-e.args[0], True)))
    if not expanded.has(sp.Piecewise):
        return 1 if _smooth_zero(expanded, functions) else None
    try:
        regions = split(expanded)
    except CannotSplit:
        return None
    if all(_smooth_zero(r.expr, functions) for r in regions):
        return len(regions)
    return None


def _smooth_zero(expr: sp.Expr, functions: FunctionTable) -> bool:
    if expr == 0:
        return True
    if expr.has(sp.nan, sp.Piecewise):
        return False
    rational = rational_form(expr, functions)
    if rational == 0:
        return True
    numerator = sp.numer(sp.together(rational))
    return sp.expand(numerator) == 0
