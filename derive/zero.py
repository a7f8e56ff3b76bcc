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
every region that can occur, with the pieces fixed there, tie sets (g = 0) included: on
a tie the difference is shown 0 identically, or after solving the tie for a variable it
is linear in (or, for a tie in one variable, at each of its finitely many real points).
A region where the difference does not exist (a derivative at an isolated tie where
one-sided limits disagree: relu′(0)) is left out, as a point outside a rule's domain is;
an open region is left out only for what is undefined once each chain-rule product with a
factor u′ ≡ 0 there is 0 (a function of an argument constant there is constant: sqrt′(0)·0
is no reason to leave x < 0 out of (x·sqrt(relu(x)))′, `_constant_argument_regions`);
a difference with no region left is about nothing,
and `NowhereDefined` says so: that is never a proof.
"""

from __future__ import annotations

import math

import sympy as sp

from .functions import FunctionTable, Generic, Kink
from .kinks import without_abs
from .regions import CannotSplit, Region, _open, feasible, fix, split

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


_BINDERS = (sp.Derivative, sp.Subs, sp.Lambda, sp.Integral, sp.Sum, sp.Product, sp.Limit, sp.Order)


class NotOpaque(Exception):
    """A function with no body inside something the zero test cannot treat as an atom."""


def opaque_calls(expr: sp.Expr) -> sp.Expr:
    """`expr` with every call of a function with no body (f(u), f′(u), ∂₂g(u, v): `Generic`) at
    each distinct argument replaced by a fresh real symbol, the same call by the same symbol;
    a `Kink` about such a function (f′ on a tie of relu(f(·))) is an atom as a whole. A
    difference that is 0 for every value of these atoms is 0 for every f: proved. One that is
    not may still be 0 (f′ = f for f = exp): only an instance refutes. Raises NotOpaque where
    a call is bound inside something else (an unevaluated Derivative, a Lambda …)."""
    if not expr.has(Generic):
        return expr
    atoms: dict = {}
    by_value: dict = {}  # relu′(f(x)) as written (a WrittenKink) and as derived (a Kink): one value F′(p)
    for kink in sorted(expr.atoms(Kink), key=sp.default_sort_key):
        if kink.has(Generic):
            value = Kink(*kink.args)
            by_value.setdefault(value, sp.Dummy(f"kink_{len(by_value)}", real=True))
            atoms[kink] = by_value[value]
    expr = expr.xreplace(atoms) if atoms else expr
    for node in sp.preorder_traversal(expr):  # a call under a binder (f(s) in Subs, Derivative …) is no atom
        if isinstance(node, _BINDERS) and node.has(Generic):
            raise NotOpaque(f"a function with no body inside {type(node).__name__}")
    calls = {c: sp.Dummy(f"{type(c).__name__}_{i}", real=True)
             for i, c in enumerate(sorted(expr.atoms(Generic), key=sp.default_sort_key))}
    result = expr.xreplace(calls)
    if result.has(Generic):
        raise NotOpaque("a function with no body is bound inside an expression")
    return result


class NowhereDefined(Exception):
    """Every region of a difference is one where it does not exist: there is nothing to prove."""


def is_identically_zero(expr: sp.Expr, functions: FunctionTable) -> bool:
    """True only when `expr` is shown to be 0 for every value of its symbols (on every
    region, for a piecewise expression).

    >>> t = sp.Symbol("t", real=True)
    >>> is_identically_zero(sp.tanh(t) - (1 - sp.exp(-2*t)) / (1 + sp.exp(-2*t)), FunctionTable())
    True
    >>> is_identically_zero(sp.tanh(t) - t, FunctionTable())
    False
    """
    try:
        return zero_regions(expr, functions) is not None
    except NowhereDefined:
        return False


def zero_regions(expr: sp.Expr, functions: FunctionTable) -> int | None:
    """On how many regions `expr` was shown to be 0 (1 for an expression without pieces),
    or None when it was not shown to be 0 on every one of them. Raises NowhereDefined
    when no region is left where `expr` exists (NaN everywhere: a derivative taken on a
    tie that holds everywhere).

    >>> x = sp.Symbol("x", real=True)
    >>> table = FunctionTable()
    >>> zero_regions(table.apply("relu", [x], 1) - table.apply("hardtanh", [x], 1), table) is None
    True
    >>> zero_regions(table.apply("relu", [x]) - x * table.apply("relu", [x], 1), table)  # relu = x·relu'
    2
    """
    shown = zero_regions_excluded(expr, functions)
    return None if shown is None else shown[0]


def zero_regions_excluded(expr: sp.Expr, functions: FunctionTable, written: bool = False) -> tuple | None:
    """(regions where `expr` was shown 0, regions left out because it does not exist
    there), or None; raises NowhereDefined (see `zero_regions`). `written`: no derivative
    was taken in `expr`, so a tie where it has no value as written is left out (`split`)."""
    if expr == 0:
        return 1, 0
    if expr in (sp.nan, sp.zoo):
        raise NowhereDefined("the difference does not exist anywhere")
    expanded = functions.expand_definitions(expr)
    if expanded.has(Generic):
        try:
            expanded = opaque_calls(expanded)
        except NotOpaque:
            return None
    if expanded.has(sp.sign) or (expanded.has(sp.Abs) and expanded.has(sp.Piecewise)):
        expanded = without_abs(expanded)  # |a| and sign(a) are piecewise too: split on a's sign
    if not expanded.has(sp.Piecewise):
        return (1, 0) if _smooth_zero(expanded, functions) else None
    try:
        regions = split(expanded, written=written)
    except CannotSplit:
        return None
    defined = [r for r in regions if r.defined]
    refixed: list = []
    for r in regions:
        if r.defined or not _open(r.signs):
            continue
        parts = _constant_argument_regions(expanded, r.signs)
        if parts is None:
            return None  # a derivative there may exist: never left out unseen
        refixed.extend(parts)
    defined += [r for r in refixed if r.defined]
    if not defined:
        raise NowhereDefined("the difference does not exist on any region")
    if all(_region_zero(r, functions) for r in defined):
        return len(defined), len(regions) + len(refixed) - len(defined)
    return None


def _chain_factor(factor: sp.Expr, signs: tuple) -> bool:
    """Is `factor` a chain-rule factor that vanishes on the open region: a sum of terms each
    with a derivative of a piecewise argument (a `Cases` taken by `diff`, its tie a plain
    `Kink`) that is 0 there, so that argument is constant on the region?"""
    derivatives = [c for c in factor.atoms(sp.Piecewise) if _taken_by_diff(c)]
    if not derivatives or any(fix(c, signs) != 0 for c in derivatives):
        return False
    return sp.expand(factor.xreplace({c: sp.Integer(0) for c in derivatives})) == 0


def _taken_by_diff(c: sp.Expr) -> bool:
    """A `Cases` that is the derivative of one, by `diff` (its last piece a plain Kink)."""
    return isinstance(c, sp.Piecewise) and type(c.args[-1][0]) is Kink


def without_constant_arguments(expr: sp.Expr, signs: tuple) -> sp.Expr:
    """`expr` with each product that has a chain-rule factor u′ ≡ 0 on the open region
    `signs` (`_chain_factor`) made 0."""
    def vanishing(e):
        return isinstance(e, sp.Mul) and any(_chain_factor(f, signs) for f in e.args)

    return expr.replace(vanishing, lambda e: sp.Integer(0))


def _constant_argument_regions(expr: sp.Expr, signs: tuple) -> list | None:
    """An open region where `expr` (a difference of derivatives) has no value: that may be
    only the chain rule's 0·∞ (sqrt′(u)·u′ with u = relu(x − 1/3) ≡ 0 for x < 1/3), while
    the function itself is constant there (its derivative 0). Each product with a factor
    u′ ≡ 0 on the region (`_chain_factor`) is the derivative of a function of an argument
    constant there, so it is 0; the rest is split further (the regions, inside this one).
    A product whose other factors have no value either (log′(u)·u′ with u ≡ 0: log(0))
    is then 0 too, which may widen what is checked but never makes a false rule hold where
    both sides have values. What still has no value stays left out (0/0 as written); None
    when the rest cannot be split (then nothing is shown)."""
    replaced = without_constant_arguments(expr, signs)
    if replaced == expr:
        return [Region(signs, fix(expr, signs), None)]
    try:
        inner = split(fix(replaced, signs))
    except CannotSplit:
        return None
    out = []
    for r in inner:
        combined = signs + r.signs
        if feasible(combined) is False:
            continue
        out.append(Region(combined, r.expr, None))
    return out


def _region_zero(region: Region, functions: FunctionTable) -> bool:
    """Is the region's expression 0 on the region? Identically, or on its ties."""
    if _smooth_zero(region.expr, functions):
        return True
    ties = [g for g in region.ties if g.free_symbols]
    if not ties:
        return False
    for substitution in _tie_substitutions(ties):
        if substitution is None:
            return False
        reduced = region.expr.xreplace(substitution)
        if reduced is sp.nan or not _smooth_zero(reduced, functions):
            return False
    return True


def _tie_substitutions(ties: list, substitution: dict | None = None):
    """Substitutions that together cover the tie set {g = 0 for every g}: each tie solved
    for one variable (`_solve_tie`), one substitution per branch. Yields None when some tie
    cannot be solved so (nothing is then shown)."""
    substitution = substitution or {}
    if not ties:
        yield substitution
        return
    g = sp.expand(ties[0].xreplace(substitution))
    if g == 0:
        yield from _tie_substitutions(ties[1:], substitution)
        return
    branches = _solve_tie(g)
    if branches is None:
        yield None
        return
    for v, root in branches:
        extended = {k: e.xreplace({v: root}) for k, e in substitution.items()}
        extended[v] = root
        yield from _tie_substitutions(ties[1:], extended)


def _solve_tie(g: sp.Expr) -> list | None:
    """[(v, root), …] such that every real point of g = 0 has v equal to one of the roots
    (in the other variables), or None. A variable g is linear in, with a coefficient that
    cannot vanish on the tie; a quadratic with a numeric leading coefficient (both roots; a
    root that is not real there belongs to no real point); a tie in one variable, at each
    of its real points."""
    for v in sorted(g.free_symbols, key=str):
        if not (g.is_polynomial(v) and sp.degree(g, v) == 1):
            continue
        coefficient, rest = g.coeff(v, 1), g.coeff(v, 0)
        # v = −rest/coefficient covers the whole tie when the coefficient is a nonzero
        # number, or when it can vanish only where rest does not (x·y = 1 has y ≠ 0)
        if (coefficient.is_number and coefficient != 0) or (rest.is_number and rest != 0):
            return [(v, sp.expand(-rest / coefficient))]
    for v in sorted(g.free_symbols, key=str):
        if not (g.is_polynomial(v) and sp.degree(g, v) == 2):
            continue
        a, b, c = g.coeff(v, 2), g.coeff(v, 1), g.coeff(v, 0)
        if a.is_number and a != 0:
            root = sp.sqrt(sp.expand(b**2 - 4 * a * c))
            return [(v, (-b + root) / (2 * a)), (v, (-b - root) / (2 * a))]
    if len(g.free_symbols) != 1:
        return None
    (v,) = g.free_symbols
    try:
        solutions = sp.solveset(g, v, sp.S.Reals)
    except (NotImplementedError, ValueError, TypeError):
        return None
    if not isinstance(solutions, sp.FiniteSet) or len(solutions) > 16:
        return None
    return [(v, value) for value in solutions]


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
