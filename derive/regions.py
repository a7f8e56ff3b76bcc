"""Piecewise expressions → regions, each with every piece fixed.

An expression holding `Cases` (ReLU, max, a user's `x if x > 0 else 0`) is smooth on each
*region*: a set where every comparison g the pieces test has a fixed sign, g < 0, g = 0
or g > 0. `split` walks the comparisons innermost first, tries all three signs of each,
and keeps the combinations that can occur; what remains in each region is an ordinary
expression. The *tie sets* (g = 0: a kink, a tie in max, the boundary of a step) are
regions too: a rule about values must hold there as well (`1 if x ≥ 0 else 0` and
`1 if x > 0 else 0` differ at x = 0 only), and a tie set can hold every point
(max((x+1)², x² + 2x + 1) ties everywhere). A derivative taken across a tie is a `Kink`
marker there (`functions.Cases`); once a region fixes the pieces around it, it is decided
(`kinks.resolve`): on an open region (a flat tie) the tie piece's derivative; on a tie of
the region's own by one-sided limits, NaN where it does not exist. A region left NaN is
*undefined* (`Region.defined` is False), a place where the rule says nothing, and a claim
with no defined region at all is about nothing.

Whether a combination of signs can occur is decided soundly: by an exact linear
program when every compared expression is linear with rational coefficients (which
also gives a rational point inside the region, at distance from its strict boundaries
and exactly on its ties), otherwise by looking for a sampled point (ties solved for a
variable they are linear in); a combination not shown impossible is kept.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache

import sympy as sp

try:  # SymPy's exact simplex (verified with SymPy 1.14); without it, regions are found by sampling only
    from sympy.solvers.simplex import InfeasibleLPError, UnboundedLPError, linprog
except ImportError:  # pragma: no cover
    linprog = None

_COMPARISONS = (sp.Gt, sp.Ge, sp.Lt, sp.Le)
MAX_REGIONS = 512  # beyond this many, a claim is left undecided rather than split further
_X = sp.Dummy("X")  # the variable of a constant's minimal polynomial (_rational_constants)


_SIGN_TEXT = {1: ">", 0: "=", -1: "<"}


@dataclass(frozen=True)
class Region:
    """Where each compared expression g has sign s (s·g > 0, or g = 0 for s = 0), and the
    expression there."""

    signs: tuple  # ((g, +1, 0 or -1), …)
    expr: sp.Expr
    witness: tuple | None  # ((symbol, Fraction or exact SymPy number), …): a point inside, when one was found

    def describe(self) -> str:
        return ", ".join(f"{g} {_SIGN_TEXT[s]} 0" if g.free_symbols or s != 0 else "a tie everywhere"
                         for g, s in self.signs) or "everywhere"

    @property
    def defined(self) -> bool:
        """False where the expression does not exist (a derivative on a tie set)."""
        return not self.expr.has(sp.nan, sp.zoo)

    @property
    def ties(self) -> tuple:
        return tuple(g for g, s in self.signs if s == 0)


def fix(expr: sp.Expr, signs: tuple) -> sp.Expr:
    """`expr` with the pieces fixed by a region's signs (innermost first, as `split` did),
    and its derivatives on ties decided as `split` decides them (`_settle`)."""
    for _ in range(64):
        for g, sign in signs:
            expr = _fix(expr, g, sign)
        settled = _settle(expr, signs)
        if settled == expr:
            return expr
        expr = settled
    return expr


def _open(signs: tuple) -> bool:
    """Is the region open: no tie but ties that hold everywhere (a flat tie, g ≡ 0)?"""
    return not any(s == 0 and g.free_symbols for g, s in signs)


def _settle(expr: sp.Expr, signs: tuple) -> sp.Expr:
    """The exposed `Kink`s of a region's expression made values (`kinks.resolve`): on an
    open region the tie holds all around (the tie piece's derivative), on a region with a
    tie of its own by one-sided limits."""
    from .functions import Kink

    if not expr.has(Kink):
        return expr
    from .kinks import resolve

    return resolve(expr, _open(signs), _pinned(signs))


def _pinned(signs: tuple) -> dict:
    """Variables a region's ties fix to one number (x = 0 on the tie x = 0; not x² = 2)."""
    pinned: dict = {}
    for g, s in signs:
        g = g.xreplace(pinned)
        if s != 0 or len(g.free_symbols) != 1:
            continue
        (v,) = g.free_symbols
        try:
            solutions = sp.solveset(g, v, sp.S.Reals)
        except (NotImplementedError, ValueError, TypeError):
            continue
        if isinstance(solutions, sp.FiniteSet) and len(solutions) == 1:
            pinned[v] = next(iter(solutions))
    return pinned


def _tie_substitution(signs: tuple) -> dict:
    """Variables solved from a region's ties: each one-variable tie with a single real point
    (`_pinned`), and each tie linear in a variable with a nonzero numeric coefficient, solved
    for it (x = y on the tie x − y = 0). Every point of the tie set satisfies the substitution;
    ties that cannot be solved so are left as they are (a larger set)."""
    substitution = _pinned(signs)
    for g, s in signs:
        if s != 0:
            continue
        h = sp.expand(g.xreplace(substitution))
        for v in sorted(h.free_symbols, key=str):
            if not (h.is_polynomial(v) and sp.degree(h, v) == 1):
                continue
            coefficient = h.coeff(v, 1)
            if coefficient.is_number and coefficient != 0:
                root = sp.expand(-h.coeff(v, 0) / coefficient)
                substitution = {k: e.xreplace({v: root}) for k, e in substitution.items()}
                substitution[v] = root
                break
    return substitution


def _undefined_as_written(expr: sp.Expr, signs: tuple) -> bool:
    """Has `expr` no value anywhere on a tie region, read as written there: its pieces
    chosen by the region's signs, its variables solved from the ties substituted into the
    whole expression at once (`_tie_substitution`), so that relu(x)/x on x = 0 is 0·(1/0),
    undefined, where fixing the piece first gives 0/x, which SymPy cancels to 0. A value that
    is undefined after the substitution is so for every value of the remaining variables, so
    on the whole tie set. False when this is not shown (the region then keeps its fixed
    expression)."""
    return undefined_at(expr, signs, _tie_substitution(signs))


def undefined_at(expr: sp.Expr, signs: tuple, substitution: dict) -> bool:
    """Has `expr`, read as written with the region's pieces chosen (`_as_written`), no value
    at the substitution (exact numbers for a point, or expressions for a set)? False when
    this is not shown."""
    if not substitution or not expr.free_symbols & set(substitution):
        return False
    try:
        value = _as_written(expr, signs, substitution, {})
    except (TypeError, ValueError, AttributeError, NotImplementedError, ArithmeticError, _NotShown):
        return False
    return value.has(sp.nan, sp.zoo)


class _NotShown(Exception):
    """A piece whose condition the region's signs do not decide."""


def _as_written(expr: sp.Expr, signs: tuple, substitution: dict, opaque: dict) -> sp.Expr:
    """`expr` at the substitution, rebuilt from its leaves: each piece chosen by the
    region's signs (as `fix` chooses it), every other node evaluated with its substituted
    arguments. A derivative marker (`Kink`) or a binder stands as an opaque finite number
    (`opaque`: one real symbol each): its value is decided elsewhere (`fix`)."""
    from .functions import Kink, UndecidedTie

    if expr in substitution:
        return substitution[expr]
    if not expr.args or not expr.free_symbols & set(substitution):
        return expr
    if isinstance(expr, (Kink, UndecidedTie, sp.Derivative, sp.Subs, sp.Lambda, sp.Integral, sp.Sum,
                         sp.Product, sp.Limit, sp.Order)):
        return opaque.setdefault(expr, sp.Dummy("opaque", real=True))
    if isinstance(expr, sp.Piecewise):
        for value, condition in expr.args:
            decided = fix(condition, signs)
            if decided is sp.true:
                return _as_written(value, signs, substitution, opaque)
            if decided is not sp.false:
                raise _NotShown(str(condition))
        return sp.nan
    return expr.func(*(_as_written(a, signs, substitution, opaque) for a in expr.args))


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
    """The truth of a comparison where its g has sign `sign` (0: on the tie, where ≥ and ≤
    hold and > and < do not)."""
    if sign == 0:
        return isinstance(comparison, (sp.Ge, sp.Le))
    _, orientation = _key(comparison)
    positive = sign * orientation > 0  # is lhs − rhs > 0 here?
    return positive if isinstance(comparison, (sp.Gt, sp.Ge)) else not positive


def _pieces(expr: sp.Expr):
    """The piecewise subexpressions of expr, outside `Kink` markers (whose functions are in
    a bound variable of their own)."""
    from .functions import Kink, UndecidedTie

    if isinstance(expr, (Kink, UndecidedTie)):
        return
    if isinstance(expr, sp.Piecewise):
        yield expr
    for a in expr.args:
        yield from _pieces(a)


def _innermost_comparison(expr: sp.Expr):
    """A comparison tested by some piece that holds no piecewise expression itself."""
    for pw in _pieces(expr):
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


def split(expr: sp.Expr, rng: random.Random | None = None, written: bool = False) -> list:
    """The regions of a piecewise expression (one region, `everywhere`, if it has none),
    tie sets included.

    >>> from derive.functions import Cases
    >>> x = sp.Symbol("x", real=True)
    >>> [(r.describe(), r.expr) for r in split(Cases((1, x > 0), (0, x < 0), (sp.nan, True)))]
    [('x < 0', 0), ('x = 0', nan), ('x > 0', 1)]

    `written`: `expr` is as the rule writes it, no derivative taken in it; a tie where it has
    no value, read so (`_undefined_as_written`), is then undefined. (A derivative's formula
    may be 0·∞ on a tie where the derivative exists, by one-sided limits: x·relu(x)·√(1+x²)
    … so a derived expression keeps its pieces' values there.)

    Raises CannotSplit for conditions it does not handle or too many regions."""
    rng = rng or random.Random(0)
    tie_rng = random.Random(1)  # ties draw their own numbers: strict regions' points stay as before
    done: list = []
    pending: list = [((), expr)]
    while pending:
        signs, current = pending.pop()
        comparison = None if current in (sp.nan, sp.zoo) else _innermost_comparison(current)
        if comparison is None:
            settled = fix(current, signs)
            if settled != current:
                pending.append((signs, settled))
                continue
            tied = any(s == 0 for _, s in signs)
            if written and tied and current not in (sp.nan, sp.zoo) and _undefined_as_written(expr, signs):
                current = sp.nan  # 0/x on x = 0: fixing the piece first would have cancelled it to 0
            done.append(Region(signs, current, witness(signs, tie_rng if tied else rng)))
            continue
        g = _key(comparison)[0]
        for sign in (-1, 0, 1):
            extended = signs + ((g, sign),)
            if feasible(extended, tie_rng if sign == 0 or any(s == 0 for _, s in signs) else rng) is False:
                continue
            pending.append((extended, _fix(current, g, sign)))
        if len(done) + len(pending) > MAX_REGIONS:
            raise CannotSplit(f"more than {MAX_REGIONS} regions")
    done.reverse()
    return done


# ---------------------------------------------------------------- feasibility


def _symbols(signs: tuple) -> list:
    return sorted(set().union(*(g.free_symbols for g, _ in signs)), key=str)


def _linear(signs: tuple) -> bool:
    """Is every compared expression linear in its symbols, with rational coefficients?"""
    if linprog is None:
        return False
    for g, _ in signs:
        symbols = sorted(g.free_symbols, key=str)
        if not symbols:
            if not g.is_Rational:
                return False
            continue
        try:
            poly = sp.Poly(g, *symbols)
        except sp.PolynomialError:
            return False
        if poly.total_degree() > 1 or not all(c.is_Rational for c in poly.coeffs()):
            return False
        # the coefficients linprog is given: in the EX domain a surd constant that is exactly
        # 0 (sqrt(2) + sqrt(3) − sqrt(5 + 2√6)) is left out of coeffs() but not of these
        if not all(poly.coeff_monomial(m).is_Rational for m in (1, *symbols)):
            return False
    return True


def _rational_constants(signs: tuple) -> tuple:
    """Each linear compared expression with its algebraic coefficients that are rationals in
    disguise (sqrt(2) + sqrt(3) − sqrt(5 + 2√6) is 0) written as those rationals, exactly
    (a minimal polynomial of degree 1): the linear program then sees the true condition.
    Any other irrational coefficient stays, and the condition is not linear (`_linear`)."""
    out = []
    for g, s in signs:
        symbols = sorted(g.free_symbols, key=str)
        try:
            poly = sp.Poly(g, *symbols) if symbols else None
        except sp.PolynomialError:
            poly = None
        if poly is None or poly.total_degree() > 1:
            out.append((g, s))
            continue
        out.append((sp.Add(*(_as_rational(poly.coeff_monomial(m)) * m for m in (1, *symbols))), s))
    return tuple(out)


@lru_cache(maxsize=1024)
def _as_rational(c: sp.Expr) -> sp.Expr:
    """An algebraic number that is rational (its minimal polynomial has degree 1) as that
    rational; any other number as it is."""
    if c.is_Rational or not c.is_algebraic:
        return c
    try:
        minimal = sp.minimal_polynomial(c, _X, polys=True)
    except (NotImplementedError, ValueError, ArithmeticError, sp.PolynomialError):
        return c
    return -minimal.nth(0) / minimal.nth(1) if minimal.degree() == 1 else c


def _eliminate(signs: tuple):
    """Ties (linear, rational) solved one by one for a variable and substituted into the
    other comparisons: (strict comparisons left, substitution), or None when some tie
    becomes a nonzero constant (the region is empty)."""
    substitution: dict = {}
    strict = []
    for g, s in signs:
        if s != 0:
            strict.append((g, s))
            continue
        g = sp.expand(g.xreplace(substitution))
        if not g.free_symbols:
            if g != 0:
                return None
            continue
        v = min(g.free_symbols, key=str)
        root = sp.expand(-g.coeff(v, 0) / g.coeff(v, 1))
        substitution = {k: sp.expand(e.xreplace({v: root})) for k, e in substitution.items()}
        substitution[v] = root
    reduced = []
    for g, s in strict:
        g = sp.expand(g.xreplace(substitution))
        if not g.free_symbols:
            if (s * g).is_positive is not True:
                return None
            continue
        reduced.append((g, s))
    return tuple(reduced), substitution


def _lp_point(signs: tuple):
    """Ties solved and substituted (`_eliminate`); then maximise the margin m with
    s·g ≥ m, 0 ≤ m ≤ 1 (an exact simplex, SymPy's `linprog`, each variable written p − q
    with p, q ≥ 0): an optimum m > 0 gives a point inside the region (exactly on its ties);
    m = 0, or no solution at all, shows the region is empty. Returns (feasible, point)."""
    eliminated = _eliminate(signs)
    if eliminated is None:
        return False, None
    strict, substitution = eliminated
    symbols = sorted(set(_symbols(signs)) - set(substitution), key=str)
    point: dict = {}
    if strict:
        found, point = _lp_margin(strict, symbols)
        if not found:
            return found, None
    point = {v: point.get(v, Fraction(0)) for v in symbols}
    exact = {k: sp.Rational(v.numerator, v.denominator) for k, v in point.items()}
    for v, e in substitution.items():
        value = e.xreplace(exact)
        point[v] = Fraction(int(sp.numer(value)), int(sp.denom(value)))
    if not inside(signs, point):  # the simplex's answer, checked exactly
        return None, None
    return True, point


def _lp_margin(signs: tuple, symbols: list):
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


def _exact(value) -> sp.Expr:
    return sp.Rational(value.numerator, value.denominator) if isinstance(value, Fraction) else value


def inside(signs: tuple, point: dict) -> bool:
    """Does the exact point lie in the region: each tie exactly 0, each strict sign clear?"""
    exact = {k: _exact(v) for k, v in point.items()}
    for g, s in signs:
        value = g.xreplace(exact)
        if not value.is_number:
            return False
        if s == 0:
            if value != 0 and value.is_zero is not True:
                return False
        elif not (value.is_extended_real and (s * value).evalf(30) > sp.Float("1e-6")):
            return False
    return True


def _solve_ties(signs: tuple, point: dict) -> dict | None:
    """`point` with each tie g = 0 solved for a variable g is linear in (with a nonzero
    numeric coefficient there), the others keeping their values; None if that fails."""
    point = dict(point)
    solved: set = set()
    for g, s in signs:
        if s != 0:
            continue
        for v in sorted(g.free_symbols - solved, key=str):
            others = {k: _exact(val) for k, val in point.items() if k != v}
            h = sp.expand(g.xreplace(others))
            if h.free_symbols != {v}:
                continue
            if not h.is_polynomial(v):  # exp(x) = 2: a real solution, when SymPy finds them all
                solutions = sp.solveset(h, v, sp.S.Reals)
                if not isinstance(solutions, sp.FiniteSet) or not solutions:
                    continue
                point[v] = min(solutions, key=str)
                solved.add(v)
                break
            if sp.degree(h, v) == 1:
                coefficient, rest = h.coeff(v, 1), h.coeff(v, 0)
                if coefficient == 0 or not coefficient.is_number:
                    continue
                root = -rest / coefficient
            else:  # a tie at an algebraic point (x² = 2): one of its real roots, exactly
                try:
                    roots = sp.Poly(h, v, domain="QQ").real_roots()
                except (sp.PolynomialError, sp.polys.polyerrors.DomainError, ValueError):
                    continue
                roots = [r for r in roots if r.is_Rational or not isinstance(r, sp.CRootOf)]
                if not roots:
                    continue
                root = roots[len(roots) // 2]
            point[v] = Fraction(int(root.p), int(root.q)) if root.is_Rational else root
            solved.add(v)
            break
        else:
            if g.free_symbols:
                return None
    return point


def _sampled_point(signs: tuple, rng: random.Random, tries: int = 200):
    symbols = _symbols(signs)
    ties = any(s == 0 for _, s in signs)
    for attempt in range(tries):
        scale = 2 if attempt < tries // 2 else 10
        sample = {sym: Fraction(rng.randint(-10 * scale, 10 * scale), 10) for sym in symbols}
        point = _solve_ties(signs, sample) if ties else sample
        if point is None:
            return None
        if inside(signs, point):
            return point
    return None


def feasible(signs: tuple, rng: random.Random | None = None):
    """True (a point was found), False (shown empty), or None (not decided).

    >>> x, y = sp.symbols("x y", real=True)
    >>> feasible(((x - y, 1), (y, 1), (x, -1)))  # x > y > 0 > x
    False
    >>> feasible(((x - y, 0), (y, 1), (x, -1)))  # x = y > 0 > x
    False
    """
    if not signs:
        return True
    for g, s in signs:
        if g.free_symbols:  # SymPy's assumptions (real symbols) may show a sign impossible: x² < 0
            if (s == 0 and g.is_zero is False) or (s != 0 and (s * g).is_positive is False):
                return False
            continue
        if s == 0 and g.is_zero is False:
            return False  # a constant that is not 0 never ties
        if s != 0 and (s * g).is_positive is False:
            return False  # a constant of the wrong sign (an undecided constant keeps the region)
    for g, s in signs:  # a tie in one variable, rational in it, with no real point (x/(1 + x²) = 3)
        if s == 0 and len(g.free_symbols) == 1 and g.is_rational_function(*g.free_symbols):
            (v,) = g.free_symbols
            numerator = sp.numer(sp.together(g))
            if numerator.is_polynomial(v) and sp.Poly(numerator, v).degree() > 0:
                try:
                    if sp.solveset(numerator, v, sp.S.Reals) is sp.S.EmptySet:
                        return False
                except (NotImplementedError, ValueError, TypeError):
                    pass
    varying = _rational_constants(tuple((g, s) for g, s in signs if g.free_symbols))
    if not varying:
        return True if all((g.is_zero if s == 0 else (s * g).is_positive) for g, s in signs) else None
    if _linear(varying):
        shown = _lp_point(varying)[0]
        if shown is False or len(varying) == len(signs):
            return shown
    return True if _sampled_point(signs, rng or random.Random(0)) is not None else None


def witness(signs: tuple, rng: random.Random | None = None):
    """An exact point inside the region (symbol → Fraction, or an exact SymPy number on a
    tie at an irrational point), or None if none was found. Sampled points are tried
    first (small, readable values); then the linear program.

    >>> x = sp.Symbol("x", real=True)
    >>> point = dict(witness(((x - 1, 1), (x - 2, -1))))  # 1 < x < 2
    >>> 1 < point[x] < 2
    True
    >>> witness(((x, 0),))
    ((x, Fraction(0, 1)),)
    """
    if not signs:
        return ()
    point = _sampled_point(signs, rng or random.Random(0), tries=100)
    varying = _rational_constants(tuple((g, s) for g, s in signs if g.free_symbols))
    if point is None and varying and _linear(varying):
        point = _lp_point(varying)[1]
        if point is not None and not inside(signs, point):
            point = None
    return None if point is None else tuple(sorted(point.items(), key=lambda kv: str(kv[0])))
