"""Piecewise expressions → regions, each with every piece fixed.

An expression holding `Cases` (ReLU, max, a user's `x if x > 0 else 0`) is smooth on each
*region*: a set where every comparison the pieces test has a fixed strict sign. `split`
walks the comparisons innermost first, tries both signs of each, and keeps the
combinations that can occur; what remains in each region is an ordinary expression.
Boundaries (a comparison exactly 0: a kink, a tie in max) belong to no region: there
the derivative may not exist, and verify never gives a verdict there.

Whether a combination of signs can occur is decided soundly: by an exact linear
program when every compared expression is linear (which also gives a rational point
inside the region, at distance from its boundaries), otherwise by looking for a sampled
point; a combination not shown impossible is kept.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from fractions import Fraction

import sympy as sp

try:  # SymPy's exact simplex (verified with SymPy 1.14); without it, regions are found by sampling only
    from sympy.solvers.simplex import InfeasibleLPError, UnboundedLPError, linprog
except ImportError:  # pragma: no cover
    linprog = None

_COMPARISONS = (sp.Gt, sp.Ge, sp.Lt, sp.Le)
MAX_REGIONS = 512  # beyond this many, a claim is left undecided rather than split further


@dataclass(frozen=True)
class Region:
    """Where each compared expression g has sign s (s·g > 0), and the expression there."""

    signs: tuple  # ((g, +1 or -1), …)
    expr: sp.Expr
    witness: tuple | None  # ((symbol, Fraction), …): a point inside, when one was found

    def describe(self) -> str:
        return ", ".join(f"{g} {'>' if s > 0 else '<'} 0" for g, s in self.signs) or "everywhere"


class CannotSplit(Exception):
    """A condition derive does not split on (an equation, a set membership, …)."""


def _key(comparison) -> tuple:
    """(g, orientation): the comparison is about the sign of g = ±(lhs − rhs)·c, with g
    normalised (primitive, no leading minus) so that x > 0, 2x < 0 and −x ≥ 0 share g = x."""
    g = sp.expand(comparison.lhs - comparison.rhs)
    content, g = g.as_content_primitive()
    orientation = 1 if content > 0 else -1
    if g.could_extract_minus_sign():
        g, orientation = -g, -orientation
    return g, orientation


def _truth(comparison, sign: int) -> bool:
    """The truth of a comparison where its g has strict sign `sign`."""
    _, orientation = _key(comparison)
    positive = sign * orientation > 0  # is lhs − rhs > 0 here?
    return positive if isinstance(comparison, (sp.Gt, sp.Ge)) else not positive


def _innermost_comparison(expr: sp.Expr):
    """A comparison tested by some piece that holds no piecewise expression itself."""
    for pw in sp.preorder_traversal(expr):
        if not isinstance(pw, sp.Piecewise):
            continue
        for _, condition in pw.args:
            for atom in sp.preorder_traversal(condition):
                if isinstance(atom, sp.Eq) or isinstance(atom, sp.Ne):
                    raise CannotSplit(f"the condition {condition}")
                if isinstance(atom, _COMPARISONS) and not atom.has(sp.Piecewise):
                    return atom
    return None


def _fix(expr: sp.Expr, g: sp.Expr, sign: int) -> sp.Expr:
    """`expr` with every comparison about g decided by sign(g) = sign."""
    return expr.replace(lambda e: isinstance(e, _COMPARISONS) and _key(e)[0] == g,
                        lambda e: sp.true if _truth(e, sign) else sp.false)


def split(expr: sp.Expr, rng: random.Random | None = None) -> list:
    """The regions of a piecewise expression (one region, `everywhere`, if it has none).

    >>> from derive.functions import Cases
    >>> x = sp.Symbol("x", real=True)
    >>> [(r.describe(), r.expr) for r in split(Cases((1, x > 0), (0, x < 0), (sp.nan, True)))]
    [('x < 0', 0), ('x > 0', 1)]

    Raises CannotSplit for conditions it does not handle or too many regions."""
    rng = rng or random.Random(0)
    done, pending = [], [((), expr)]
    while pending:
        signs, current = pending.pop()
        comparison = _innermost_comparison(current)
        if comparison is None:
            done.append(Region(signs, current, witness(signs, rng)))
            continue
        g = _key(comparison)[0]
        for sign in (-1, 1):
            extended = signs + ((g, sign),)
            if feasible(extended, rng) is False:
                continue
            pending.append((extended, _fix(current, g, sign)))
        if len(done) + len(pending) > MAX_REGIONS:
            raise CannotSplit(f"more than {MAX_REGIONS} regions")
    done.reverse()
    return done


# ---------------------------------------------------------------- feasibility


def _linear(signs: tuple) -> bool:
    return linprog is not None and all(sp.Poly(g, *sorted(g.free_symbols, key=str)).total_degree() <= 1 if g.free_symbols else True
               for g, _ in signs)


def _lp_point(signs: tuple):
    """Maximise the margin m with s·g ≥ m, 0 ≤ m ≤ 1 (an exact simplex, SymPy's `linprog`,
    each variable written p − q with p, q ≥ 0): an optimum m > 0 gives a point inside the
    region; m = 0, or no solution at all, shows the region is empty. Returns (feasible, point)."""
    symbols = sorted(set().union(*(g.free_symbols for g, _ in signs)), key=str)
    rows, bounds = [], []
    for g, s in signs:  # −s·(a·(p − q) + c) + m ≤ 0, i.e. row (−s·a, s·a, 1) ≤ s·c
        poly = sp.Poly(g, *symbols)
        a = [s * poly.coeff_monomial(v) for v in symbols]
        rows.append([-c for c in a] + a + [1])
        bounds.append(s * poly.coeff_monomial(1))
    rows.append([0] * (2 * len(symbols)) + [1])
    bounds.append(1)
    try:
        best, solution = linprog(sp.Matrix([0] * (2 * len(symbols)) + [-1]), sp.Matrix(rows), sp.Matrix(bounds))
    except InfeasibleLPError:
        return False, None
    except UnboundedLPError:  # pragma: no cover - m ≤ 1 bounds the objective
        return None, None
    if -best <= 0:
        return False, None
    n = len(symbols)
    values = [solution[i] - solution[n + i] for i in range(n)]
    return True, {sym: Fraction(int(sp.numer(v)), int(sp.denom(v))) for sym, v in zip(symbols, values)}


def _sampled_point(signs: tuple, rng: random.Random, tries: int = 200):
    symbols = sorted(set().union(*(g.free_symbols for g, _ in signs)), key=str)
    for attempt in range(tries):
        scale = 2 if attempt < tries // 2 else 10
        point = {sym: Fraction(rng.randint(-10 * scale, 10 * scale), 10) for sym in symbols}
        values = [s * g.xreplace({k: sp.Rational(v.numerator, v.denominator) for k, v in point.items()})
                  for g, s in signs]
        if all(v.is_number and v.is_extended_real and v.evalf(30) > sp.Float("1e-6") for v in values):
            return point
    return None


def feasible(signs: tuple, rng: random.Random | None = None):
    """True (a point was found), False (shown empty), or None (not decided).

    >>> x, y = sp.symbols("x y", real=True)
    >>> feasible(((x - y, 1), (y, 1), (x, -1)))  # x > y > 0 > x
    False
    """
    if not signs:
        return True
    if any((s * g).is_positive is False for g, s in signs if not g.free_symbols):
        return False  # a constant of the wrong sign (an undecided constant keeps the region)
    if _linear(signs):
        return _lp_point(signs)[0]
    return True if _sampled_point(signs, rng or random.Random(0)) is not None else None


def witness(signs: tuple, rng: random.Random | None = None):
    """An exact point inside the region (symbol → Fraction), or None if none was found.
    Sampled points are tried first (small, readable values); then the linear program.

    >>> x = sp.Symbol("x", real=True)
    >>> point = dict(witness(((x - 1, 1), (x - 2, -1))))  # 1 < x < 2
    >>> 1 < point[x] < 2
    True
    """
    if not signs:
        return ()
    point = _sampled_point(signs, rng or random.Random(0), tries=100)
    if point is None and _linear(signs):
        point = _lp_point(signs)[1]
    return None if point is None else tuple(sorted(point.items(), key=lambda kv: str(kv[0])))
