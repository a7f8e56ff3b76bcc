"""Does a derivative exist at a point? One test for every kind of kink.

SymPy's derivative of |x| is sign(x), which is 0 at x = 0, and the derivative of a
piecewise function taken piece by piece says nothing about the boundary between pieces.
Neither can decide whether f'(p) exists. Two things make the decision here:

1. |e| is written as the piecewise `e if e ≥ 0 else −e` (`without_abs`) before anything
   is differentiated, so every kink derive knows is a boundary between pieces, where a
   `Cases` derivative is a `Kink` marker (not a convention such as sign(0) = 0), decided
   per region by `resolve` (a flat tie: the tie piece's; otherwise `tie_value`).
2. At a numeric point p, `derivative_at` decides by one-sided limits instead of
   substituting: f⁽ⁿ⁾(p) exists and equals L when f is continuous at p (f(p) is a finite
   value equal to both one-sided limits of f) and, for k = 1 … n, the one-sided limits
   of f⁽ᵏ⁾ at p exist, are finite and agree (then, by the mean value theorem, f⁽ᵏ⁾(p)
   exists and is that limit). Otherwise the result is NaN: *undefined*, never a value.
   So `t² if t > 0 else 0` has q'(0) = 0, while relu, |t|, sqrt(t²) and a step have no
   derivative at 0, and sqrt'(0) (an infinite one-sided limit) has none either.
   For a series coefficient (`extend=True`) f(p) itself may be undefined (a removable
   singularity such as (eˣ − 1)/x at 0): f is then extended by its limit.

A one-sided limit fixes every piece as it is just beside p (the sign of each compared
expression g at p ± ε, from g(p) or, when g(p) = 0, from its first nonzero derivative at
p; a zero of high order of a polynomial exactly, x⁹ at 0), then substitutes p, or asks
SymPy's `limit` when that gives no finite value. A comparison whose sign there cannot be
decided (it names another free variable) raises `Undecided`: the caller then keeps the
symbolic form, whose pieces `derive.regions` splits, or, at a number, `UndecidedTie`.
"""

from __future__ import annotations

from functools import lru_cache

import sympy as sp

from .functions import Cases, Kink, UndecidedTie, WrittenKink, exact_derivative
from .regions import CannotSplit, _fix, _innermost_comparison, _key, _pieces

MAX_ORDER = 8  # derivatives of g tried to find its sign beside a zero of g


class Undecided(Exception):
    """The point does not fix which piece applies beside it (another variable decides)."""


def absolute(e: sp.Expr) -> sp.Expr:
    """|e| as a piecewise expression: its kink at e = 0 is a boundary between pieces."""
    if e.is_number:
        return sp.Abs(e)
    return Cases((e, e >= 0), (-e, True))


def without_abs(expr: sp.Expr) -> sp.Expr:
    """`expr` with every |e| (SymPy writes sqrt(x²) as |x|) and sign(e) made piecewise."""
    if not expr.has(sp.Abs, sp.sign):
        return expr
    expr = expr.replace(lambda e: isinstance(e, sp.Abs) and not e.args[0].is_number,
                        lambda e: absolute(e.args[0]))
    return expr.replace(lambda e: isinstance(e, sp.sign) and not e.args[0].is_number,
                        lambda e: Cases((1, e.args[0] > 0), (-1, e.args[0] < 0), (0, True)))


def _finite(value) -> bool:
    """A finite real value (possibly in other variables, such as a slope γ)?"""
    if value.has(sp.nan, sp.zoo, sp.oo, -sp.oo, sp.I):
        return False
    return not value.is_number or (value.is_finite is not False and value.is_extended_real is not False)


def _sign_beside(g: sp.Expr, u: sp.Symbol, p: sp.Expr, side: int) -> int:
    """The sign of g at p + side·ε for every small ε > 0 (0: g vanishes identically there,
    a flat tie)."""
    for k in range(MAX_ORDER + 1):
        value = (g if k == 0 else sp.diff(g, u, k)).xreplace({u: p})
        if value.free_symbols:
            raise Undecided(f"the sign of {g} beside {u} = {p}")
        if value.is_zero:
            continue
        if value.is_zero is None and not _finite(value):
            raise Undecided(f"the sign of {g} beside {u} = {p}")
        positive = value.is_positive
        if positive is None:
            raise Undecided(f"the sign of {g} beside {u} = {p}")
        return (1 if positive else -1) * (side**k)
    # g and its first MAX_ORDER derivatives vanish at p: g ≡ 0 (a flat tie), or a zero of
    # higher order (x⁹ at 0), found exactly for a polynomial, otherwise not decided
    if g.is_polynomial(u):
        t = sp.Dummy("t")
        shifted = sp.Poly(sp.expand(g.xreplace({u: p + t})), t)
        if shifted.is_zero:
            return 0
        (k,), lowest = min(shifted.terms(), key=lambda term: term[0][0])
        lowest = sp.expand(lowest)
        if not lowest.is_number or lowest.is_positive is None:
            raise Undecided(f"the sign of {g} beside {u} = {p}")
        return (1 if lowest.is_positive else -1) * (side**k)
    if sp.expand(g) == 0:
        return 0
    raise Undecided(f"the sign of {g} beside {u} = {p}: a zero of high order")


def _beside(e: sp.Expr, u: sp.Symbol, p: sp.Expr, side: int) -> sp.Expr:
    """`e` with every piece fixed as it is on the `side` of p (an open interval: a derivative
    on a tie that holds there is its tie piece's, `resolve`)."""
    for _ in range(256):
        try:
            comparison = _innermost_comparison(e)
        except CannotSplit:
            raise Undecided("a condition that is not a comparison") from None
        if comparison is None:
            resolved = resolve(e, open_set=True)
            if resolved == e:
                return e
            e = resolved
            continue
        g = _key(comparison)[0]
        e = _fix(e, g, _sign_beside(g, u, p, side))
    raise Undecided("too many nested pieces")


def one_sided_limit(e: sp.Expr, u: sp.Symbol, p: sp.Expr, side: int):
    """lim e as u → p from the `side` (+1 right, −1 left): a finite number, or None."""
    e = _beside(e, u, p, side)
    if e.has(sp.Piecewise, UndecidedTie):
        raise Undecided("a piece left unfixed")
    if e.has(sp.nan):
        return None
    value = e.xreplace({u: p})
    if not _finite(value):
        try:
            value = sp.limit(e, u, p, "+" if side > 0 else "-")
        except (NotImplementedError, ValueError, TypeError, RecursionError):
            return None
        if not _finite(value):
            return None
    if not _real_beside(e, u, p, side):
        return None
    return value


def _real_beside(e: sp.Expr, u: sp.Symbol, p: sp.Expr, side: int) -> bool:
    """Is e real and finite just beside p (sqrt(u) has no left side at 0)?"""
    import mpmath

    from . import numeric

    others = (e.free_symbols - {u}) | p.free_symbols
    if others:
        return True  # a value that depends on other variables: nothing to say here
    with mpmath.workdps(60):
        at = mpmath.mpf(sp.Float(sp.N(p, 60), 60)._mpf_) + side * mpmath.mpf("1e-40")
    return numeric.value_at(e, {u: at}, 60) is not None


def _same(a: sp.Expr, b: sp.Expr) -> bool:
    difference = sp.expand(a - b)
    if difference == 0:
        return True
    if difference.is_number:
        return difference.is_zero is True
    return False


def derivative_at(f: sp.Expr, u: sp.Symbol, p: sp.Expr, order: int, extend: bool = False) -> sp.Expr:
    """f⁽ᵒʳᵈᵉʳ⁾ at u = p (a number), or NaN where it does not exist (see module doc).
    `f` has its definitions unfolded. Raises Undecided when other variables decide the pieces.

    >>> t = sp.Symbol("t", real=True)
    >>> derivative_at(Cases((t**2, t > 0), (0, True)), t, sp.Integer(0), 1)
    0
    >>> derivative_at(without_abs(sp.Abs(t)), t, sp.Integer(0), 1), derivative_at(sp.sqrt(t), t, sp.Integer(0), 1)
    (nan, nan)
    >>> derivative_at((sp.exp(t) - 1) / t, t, sp.Integer(0), 0, extend=True)
    1
    """
    f = without_abs(f)
    value = substitute(f, {u: p})
    limit = None
    for k in range(order + 1):
        fk = f if k == 0 else sp.diff(f, u, k)
        left, right = one_sided_limit(fk, u, p, -1), one_sided_limit(fk, u, p, 1)
        if left is None or right is None or not _same(left, right):
            return sp.nan
        if k == 0 and _finite(value) and not _same(value, left):
            return sp.nan  # a jump, or a value apart from its neighbours: not continuous
        if k == 0 and not _finite(value) and not extend:
            return sp.nan  # f(p) itself does not exist
        limit = left
    return limit


def needs_limits(f: sp.Expr, value: sp.Expr) -> bool:
    """Must a derivative of f at a point, `value` by substitution, be decided by limits
    (f has pieces or |·|, or the substitution gives no finite value)?"""
    return f.has(sp.Piecewise, sp.Abs, sp.sign, Kink) or not _finite(value)


def value_of_derivative(f: sp.Expr, u: sp.Symbol, p: sp.Expr, order: int, extend: bool = False) -> sp.Expr:
    """f⁽ᵒʳᵈᵉʳ⁾(p): by substitution where f is smooth and that gives a finite value, by
    `derivative_at` (one-sided limits) where f has pieces or the substitution fails and p
    is a number; the substituted form when other variables decide the pieces (a number
    left undecided is `UndecidedTie`, never a value)."""
    direct = substitute(f if order == 0 else sp.diff(f, u, order), {u: p})
    if p.free_symbols or not needs_limits(f, direct):
        return direct
    try:
        return derivative_at(f, u, p, order, extend)
    except Undecided:
        return UndecidedTie(direct) if not direct.free_symbols else direct


# ---------------------------------------------------------------- ties (Kink markers)


def _exposed(e: sp.Expr):
    """The Kinks of e that no piece hides (their Cases chose the tie), outermost first."""
    if isinstance(e, Kink):
        yield e
        return
    if isinstance(e, (sp.Piecewise, UndecidedTie)):
        return
    for a in e.args:
        yield from _exposed(a)


def resolve(e: sp.Expr, open_set: bool, pinned: dict | None = None) -> sp.Expr:
    """`e` with each exposed Kink(F, p) made a value. On an open set where F's conditions
    depend on s alone and p varies, the tie holds on an interval of s around p (a flat
    tie: max(x, relu(x)) for x > 0), so F′(p) is its tie piece's (`exact_derivative`);
    on a region with a tie of its own by one-sided limits (`tie_value`); see `_on_open_set`.
    A chain-rule factor that vanishes on an open set has already removed its Kink (·0).
    `pinned`: variables the region's ties fix to a number (x = 0), put into F and p first."""
    kinks = list(dict.fromkeys(_exposed(e)))
    if not kinks:
        return e
    values = {}
    for k in kinks:
        vanishing = _vanishing(e, k) if open_set else None
        if vanishing is not None:
            values[k] = vanishing
        elif open_set:
            values[k] = _on_open_set(k)
        else:
            pinned_point = k.args[1].xreplace(pinned or {})
            at = Kink(k.args[0].xreplace(pinned), pinned_point) if pinned and not pinned_point.free_symbols else k
            values[k] = sp.Integer(0) if pinned and _factor_removes(e, k, at, pinned) else tie_value(at)
    return e.xreplace(values)


def _vanishing(e: sp.Expr, kink: Kink) -> sp.Expr | None:
    """0 for a Kink whose point is constant on the open set (it expands to a number) and
    whose factor in e expands to 0: the chain-rule factor p′ of such a point, 0 without
    being written 0 (3(x+1)² − 3x² − 6x − 3), as Kink·0 = 0 does for one written so."""
    point = kink.args[1]
    if not point.free_symbols or sp.expand(point).free_symbols:
        return None
    d = sp.Dummy("kink")
    factor = e.xreplace({kink: d}).diff(d)
    return sp.Integer(0) if not factor.has(d) and sp.expand(factor) == 0 else None


def _on_open_set(kink: Kink) -> sp.Expr:
    """A Kink exposed on an open set is never left out (NaN) unless its point is a number
    (relu′(0) written so): a flat tie gives its tie piece's derivative; a tie of F that is
    isolated in s but held by arguments moving together (gc(x, x), c x if x ≥ c) is left
    undecided, since the partials alone do not exist but their sum may."""
    if _flat(kink):
        return exact_derivative(*kink.args)
    function, point = kink.args
    constant = sp.expand(point)  # a point constant as written ((x+1)² − x² − 2x − 1) is that number
    return UndecidedTie(kink) if constant.free_symbols else tie_value(Kink(function, constant))


def _conditions(body: sp.Expr) -> set:
    """The comparisons of F's own pieces (not those inside a nested Kink's function)."""
    if isinstance(body, (Kink, UndecidedTie)):
        return set()
    if isinstance(body, (sp.Gt, sp.Ge, sp.Lt, sp.Le)):
        return {body}
    return set().union(*(_conditions(a) for a in body.args)) if body.args else set()


def _flat(kink: Kink) -> bool:
    """Do F's conditions depend on its own variable s alone, and is p shown to vary (a
    derivative of p is certainly nonzero at some exact point, interval arithmetic)?"""
    from . import numeric

    function, point = kink.args
    (s,), body = function.variables, function.expr
    if any(c.free_symbols - {s} for c in _conditions(body)) or not point.free_symbols:
        return False
    for index in range(3):
        variables = sorted(point.free_symbols, key=str)
        at = {v: sp.Rational(7 + 3 * index + 2 * i, 10 + index) for i, v in enumerate(variables)}
        for v in at:
            try:
                slope = numeric.value_at(sp.diff(point, v).xreplace(at), {}, 30, numeric.IV)
            except (numeric.Unsupported, numeric.Undefined, TypeError, ValueError, ArithmeticError):
                continue
            if slope is not None and numeric.disjoint(slope, numeric.IV.mpf(0)):
                return True
    return False


# ---------------------------------------------------------------- a factor 0 at a kink


def lipschitz_at(kink: Kink) -> bool | None:
    """Is Kink(F, p)'s F continuous at the number p, with finite one-sided derivatives there
    (a kink such as relu, |·| or max; not a jump, not an infinite slope such as sqrt at 0)?
    By one-sided limits: F(p) equal to both limits of F, and both limits of F′ finite (then,
    by the mean value theorem, they are F's one-sided derivatives). None: not decided (F's
    conditions name another variable)."""
    function, point = kink.args
    (s,), body = function.variables, function.expr
    if point.free_symbols:
        return None
    try:
        if derivative_at(body, s, point, 0) is sp.nan:
            return False
        slope = sp.diff(without_abs(body), s)
        return one_sided_limit(slope, s, point, -1) is not None and one_sided_limit(slope, s, point, 1) is not None
    except Undecided:
        return None


def _coefficient(e: sp.Expr, kink: Kink) -> sp.Expr | None:
    """∂e/∂K with the marker K taken as a symbol, or None when e is not linear in it."""
    d = sp.Dummy("kink")
    coefficient = e.xreplace({kink: d}).diff(d)
    return None if coefficient.has(d) else coefficient


def _is_zero(e: sp.Expr) -> bool:
    return e == 0 or sp.expand(e) == 0


def _factor_removes(e: sp.Expr, kink: Kink, at: Kink, values: dict) -> bool:
    """Does the chain-rule factor of `kink` remove it at the point `values`: e linear in the
    marker, its coefficient exactly 0 there, and F a kink there (`lipschitz_at`, `at` being
    the marker with the point put in)? Near p, e is the derivative of Φ(x, F(g(x))) with one-
    sided derivatives Φ_x + Φ_F·F′±·g′, so with Φ_F·g′ = 0 at p the derivative exists and
    is the other terms: |x − 1/3|³ at 1/3, x·relu(x) at 0. A jump or an infinite slope
    under a factor 0 is not removed (x·step(x) at 0 has no derivative), nor a derivative
    written as a function (`WrittenKink`: x·relu'(x) is undefined at 0)."""
    if isinstance(kink, WrittenKink):
        return False
    coefficient = _coefficient(e, kink)
    if coefficient is None or not _is_zero(coefficient.xreplace(values)):
        return False
    return lipschitz_at(at) is True


def _exposed_to(e: sp.Expr, values: dict) -> list:
    """The Kinks of e (inside pieces too, not inside another Kink's function) whose point
    `values` makes a number."""
    found = []

    def walk(node):
        if isinstance(node, Kink):
            if not node.args[1].xreplace(values).free_symbols:
                found.append(node)
            return
        if isinstance(node, UndecidedTie):
            return
        for a in node.args:
            walk(a)

    walk(e)
    return list(dict.fromkeys(found))


def _decide_at(e: sp.Expr, values: dict, fold: bool = True) -> sp.Expr:
    """e with each Kink whose point `values` makes a number decided there (`substitute`):
    0 where its factor removes it (`_factor_removes`), else its value by one-sided limits
    (`tie_value`). A marker with no value there (NaN, or undecided) whose factor is 0 there
    must not vanish with its factor: inside a piece, the pieces are first brought outside
    (each piece then decided alone); a marker left undecided so makes e undecided."""
    kinks = _exposed_to(e, values)
    if not kinks:
        return e
    decided, kept = {}, []
    for k in kinks:
        at = Kink(k.args[0].xreplace(values), k.args[1].xreplace(values))
        coefficient = _coefficient(e, k)
        zero = coefficient is not None and _is_zero(coefficient.xreplace(values))
        if zero and not isinstance(k, WrittenKink) and lipschitz_at(at) is True:
            decided[k] = sp.Integer(0)
            continue
        decided[k] = tie_value(at)
        if zero and (decided[k].has(sp.nan, UndecidedTie) or not _finite(decided[k])):
            kept.append(k)
    if not kept:
        return e.xreplace(decided)
    pieces = next(_pieces(e), None) is not None  # (not those of a Kink's function)
    if fold and pieces:
        markers = {k: sp.Dummy("kink") for k in kinks}
        folded = sp.piecewise_fold(e.xreplace(markers)).xreplace({d: k for k, d in markers.items()})
        if isinstance(folded, sp.Piecewise):
            return Cases(*[(_decide_at(value, values, fold=False), condition) for value, condition in folded.args])
    if pieces or any(decided[k].has(UndecidedTie) for k in kept):
        return UndecidedTie(e)  # a factor 0 would hide what is not decided
    return e.xreplace(decided)  # c·NaN with c = 0 at the point: NaN


def substitute(e: sp.Expr, values: dict) -> sp.Expr:
    """e.xreplace(values), with each Kink whose point becomes a number decided there first
    (`_decide_at`), so a chain-rule factor that is 0 at the point neither hides a derivative
    that does not exist (step(a²)′ at a = 0) nor leaves out one that does (relu(a²)′)."""
    values = {k: sp.sympify(v) for k, v in values.items()}
    if e.has(Kink):
        e = _decide_at(e, values)
    return e.xreplace(values)


def _tie_roots(body: sp.Expr, s: sp.Symbol) -> list | None:
    """The points s where some condition of `body` is on its tie (in the other variables),
    or None when they are not found."""
    roots: list = []
    for comparison in _conditions(body):
        g = sp.expand(comparison.lhs - comparison.rhs)
        if s not in g.free_symbols:
            continue
        if g.has(sp.Piecewise, Kink):
            return None
        if g.is_polynomial(s) and sp.degree(g, s) == 1 and g.coeff(s, 1).is_number and g.coeff(s, 1) != 0:
            roots.append(sp.expand(-g.coeff(s, 0) / g.coeff(s, 1)))
            continue
        if g.free_symbols != {s}:
            return None
        try:
            solutions = sp.solveset(g, s, sp.S.Reals)
        except (NotImplementedError, ValueError, TypeError):
            return None
        if not isinstance(solutions, sp.FiniteSet) or len(solutions) > 16:
            return None
        roots.extend(solutions)
    return list(dict.fromkeys(roots))


_DEPTH = [0]  # tie_value's nesting (a Kink inside a Kink's function): bounded, never endless


def tie_value(kink: Kink) -> sp.Expr:
    """See `_tie_value`; nested deeper than 16, `UndecidedTie`."""
    if _DEPTH[0] > 16:
        return UndecidedTie(kink)
    _DEPTH[0] += 1
    try:
        return _tie_value(kink)
    finally:
        _DEPTH[0] -= 1


@lru_cache(maxsize=4096)
def _tie_value(kink: Kink) -> sp.Expr:
    """F′(p) for Kink(F, p) on a tie that holds at isolated points (measure zero), by
    one-sided limits (`derivative_at`): at p itself when p is a number and F's conditions
    name no other variable; otherwise at each tie of F (max(s, y) at s = y): NaN where F′
    exists at none (a kink, a jump), the tie piece's derivative where it exists at every
    one, `UndecidedTie` otherwise."""
    function, point = kink.args
    (s,), body = function.variables, function.expr
    others = set().union(*(c.free_symbols for c in _conditions(body))) - {s}
    if not point.free_symbols and not others:  # at a number: whether F′ exists there
        try:
            return derivative_at(body, s, point, 1)
        except Undecided:
            return UndecidedTie(kink)
    roots = _tie_roots(body, s)
    if not roots:
        return UndecidedTie(kink)
    found: list[str] = []  # at each tie of F: "none" (no derivative), "tie piece" (its piece's), "other"
    for root in roots:
        try:
            value = derivative_at(body, s, root, 1)
        except Undecided:
            return UndecidedTie(kink)
        if value is sp.nan or not _finite(value):
            found.append("none")
        else:
            tie = resolve(exact_derivative(function, root), open_set=False)
            found.append("tie piece" if _same(value, tie) else "other")
    if set(found) == {"none"}:
        return sp.nan
    if set(found) == {"tie piece"}:
        return exact_derivative(function, point)
    return UndecidedTie(kink)
