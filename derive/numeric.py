"""High-precision evaluation of SymPy expressions with mpmath, without SymPy arithmetic.

Substituting `Float`s into SymPy expressions re-runs SymPy's constructors and assumption
system at every node; walking the tree once and calling mpmath directly is an order of
magnitude faster, and the precision is explicit. Only the node types derive produces are
handled; anything else raises `Unsupported` so the caller can fall back to `evalf`.
Two mpmath contexts serve: `MP` (floating point, for screening and evidence) and `IV`
(interval arithmetic: every value is an enclosure guaranteed to contain the true value,
which makes a counterexample a certainty rather than a measurement).

Piecewise expressions pick their piece by evaluating the conditions. A point within
`KINK_TOLERANCE` of a boundary between pieces is treated as undefined (the derivative
may not exist there, and rounding could pick the wrong piece); in interval arithmetic a
comparison the enclosure does not decide is undefined too, so it never certifies anything.
"""

from __future__ import annotations

from contextlib import contextmanager
from fractions import Fraction

import mpmath
import sympy as sp

from .functions import Kink, UndecidedTie


class Unsupported(Exception):
    """An expression node this evaluator does not know."""


class Undefined(Exception):
    """The expression has no real value at this point (division by zero, log of a negative…)."""


MP, IV = mpmath.mp, mpmath.iv  # floating point, and rigorous interval enclosures
KINK_TOLERANCE = mpmath.mpf("1e-9")  # relative distance to a piece boundary treated as on it
# exp, sin, … of an argument beyond 2^LARGE_BITS in magnitude is "no value here": its result
# (exp(exp(exp(100)))) has an exponent too large to hold, or takes minutes to compute
LARGE_BITS = 8192

_UNARY = {sp.exp: "exp", sp.log: "log", sp.tanh: "tanh", sp.sinh: "sinh", sp.cosh: "cosh", sp.sin: "sin",
          sp.cos: "cos", sp.erf: "erf", sp.Abs: "abs"}


@contextmanager
def precision(ctx, dps: int):
    """Work at `dps` digits in `ctx` (mpmath's interval context has no workdps)."""
    saved = ctx.prec
    ctx.dps = dps
    try:
        yield
    finally:
        ctx.prec = saved


def exact(value, ctx=MP):
    """An exact input as a number (or a tight interval) at the current precision: a Fraction,
    or a SymPy number (8π/5: an assumption's solved value). Raises Undefined where that
    number is not real (sqrt(−2): the assumption has no real value at this point)."""
    if isinstance(value, Fraction):
        return ctx.mpf(value.numerator) / value.denominator
    if value.is_extended_real is False or value.has(sp.I, sp.zoo, sp.nan, sp.oo, -sp.oo):
        raise Undefined(f"{value} is not a real number")
    try:
        return evaluate(value, {}, ctx)
    except Unsupported:
        if ctx is IV:
            raise
    number = value.evalf(ctx.dps + 10)  # floating point, as value_at does
    if not number.is_real:
        raise Undefined(f"{value} is not a real number")
    return ctx.mpf(sp.Float(number, ctx.dps + 10)._mpf_)


def sympy_number(value) -> sp.Expr:
    """An exact input (Fraction or SymPy number) as a SymPy number."""
    return sp.Rational(value.numerator, value.denominator) if isinstance(value, Fraction) else value


def evaluate(expr: sp.Expr, env: dict, ctx=MP):
    """`expr` at `env` (Symbol → number of `ctx`). Raises Undefined or Unsupported."""
    try:
        value = _eval(expr, env, ctx)
    except (ZeroDivisionError, mpmath.libmp.ComplexResult):
        raise Undefined("division by zero or a value that is not real") from None
    except OverflowError:  # an exponent too large to hold (mpmath's integers)
        raise Undefined("a value too large to compute") from None
    if ctx is IV:
        if not (mpmath.isfinite(mpmath.mpf(value.a)) and mpmath.isfinite(mpmath.mpf(value.b))):
            raise Undefined("not finite")
        return value
    if isinstance(value, mpmath.mpc):
        if abs(value.imag) > mpmath.mpf(10) ** (-(mpmath.mp.dps // 2)):
            raise Undefined("not real")
        value = value.real
    if not mpmath.isfinite(value):
        raise Undefined("not finite")
    return value


def _function(ctx, name: str):
    if name == "abs":
        return abs
    if ctx is IV and name in ("tanh", "sinh", "cosh"):  # not in mpmath.iv: through exp
        return {"tanh": lambda x: 1 - 2 / (ctx.exp(2 * x) + 1),
                "sinh": lambda x: (ctx.exp(x) - ctx.exp(-x)) / 2,
                "cosh": lambda x: (ctx.exp(x) + ctx.exp(-x)) / 2}[name]
    if ctx is IV and name == "erf":  # mpmath.iv.erf does not converge: erf is increasing, so
        return _monotone_enclosure(mpmath.erf)  # enclose it by its values at the ends
    fn = getattr(ctx, name, None)
    if fn is None:
        raise Unsupported(f"{name} in {type(ctx).__name__}")
    return fn


def _monotone_enclosure(increasing):
    """An interval version of an increasing function: its values at the interval's ends,
    computed 20 digits finer and then widened by far more than that computation's error."""
    def enclose(x):
        dps = IV.dps
        with mpmath.workdps(dps + 20):
            low, high = increasing(mpmath.mpf(x.a.a)), increasing(mpmath.mpf(x.b.b))
            margin = mpmath.mpf(10) ** (-(dps + 10)) * max(1, abs(low), abs(high))
            return IV.mpf([low - margin, high + margin])
    return enclose


def _eval(e, env, ctx):  # noqa: C901 - one branch per node type
    if e.is_Symbol:
        try:
            return env[e]
        except KeyError:
            raise Unsupported(f"no value for {e}") from None
    if e.is_Integer:
        return ctx.mpf(int(e))
    if e.is_Rational:
        return ctx.mpf(int(e.p)) / int(e.q)
    if e.is_Float:
        return ctx.mpf(mpmath.mpf(e._mpf_)) if ctx is IV else mpmath.mpf(e._mpf_)
    if e.is_Add:
        return ctx.fsum(_eval(a, env, ctx) for a in e.args)
    if e.is_Mul:
        result = ctx.mpf(1)
        for a in e.args:
            result *= _eval(a, env, ctx)
        return result
    if e.is_Pow:
        base, exponent = e.args
        b = _eval(base, env, ctx)
        if exponent.is_Integer:
            n = int(exponent)
            if n < 0 and (b == 0 if ctx is MP else b.a <= 0 <= b.b):
                raise ZeroDivisionError  # an enclosure holding 0 has no reciprocal (iv would give ±inf)
            return b**n
        if exponent == sp.S.Half:
            if ctx is MP and _not_real(b):
                raise Undefined("the square root of a negative number")
            return ctx.sqrt(b)
        p = _eval(exponent, env, ctx)
        if too_large(p, ctx):
            raise Undefined("a power too large to compute")
        if ctx is MP:
            return mpmath.power(b, p)
        return ctx.exp(p * ctx.log(b))
    if isinstance(e, sp.Piecewise):
        for value, condition in e.args:
            if _holds(condition, env, ctx):
                return _eval(value, env, ctx)
        raise Undefined("no piece applies")
    if e is sp.nan or isinstance(e, (Kink, UndecidedTie)):  # a derivative on a tie: not decided by a number
        raise Undefined("a derivative that does not exist here (a kink)")
    if e is sp.E:
        return ctx.e
    if e is sp.pi:
        return ctx.pi
    name = _UNARY.get(type(e))
    if name is not None:
        arg = _eval(e.args[0], env, ctx)
        if ctx is MP and isinstance(arg, mpmath.mpc):  # no real value: sqrt(−1) inside log, …
            if abs(arg.imag) > mpmath.mpf(10) ** (-(mpmath.mp.dps // 2)):
                raise Undefined("not real")
            arg = arg.real
        if name == "log" and ctx is MP and arg <= 0:
            raise Undefined("log of a non-positive number")
        if name not in ("log", "abs") and too_large(arg, ctx):
            raise Undefined(f"{name} of a number too large to compute")
        return _function(ctx, name)(arg)
    raise Unsupported(type(e).__name__)


def too_large(x, ctx=MP) -> bool:
    """Is |x| beyond 2^LARGE_BITS (exp(x) could not be computed in reasonable time and space)?"""
    ends = (mpmath.mpf(x.a.a), mpmath.mpf(x.b.b)) if ctx is IV else (x,)
    return any(mpmath.isinf(e) or (e != 0 and mpmath.mag(e) > LARGE_BITS) for e in ends)


def _not_real(b) -> bool:
    """Is a floating-point base negative or off the real line (no real square root)?"""
    if isinstance(b, mpmath.mpc):
        return abs(b.imag) > mpmath.mpf(10) ** (-(mpmath.mp.dps // 2)) or b.real < 0
    return b < 0


def _holds(condition, env, ctx) -> bool:
    """Truth of a piece's condition; Undefined near a boundary or when an interval straddles it."""
    if condition is sp.true:
        return True
    if condition is sp.false:
        return False
    if isinstance(condition, sp.And):
        return all(_holds(c, env, ctx) for c in condition.args)
    if isinstance(condition, sp.Or):
        return any(_holds(c, env, ctx) for c in condition.args)
    if isinstance(condition, sp.Not):
        return not _holds(condition.args[0], env, ctx)
    if isinstance(condition, sp.ITE):
        a, b, c = condition.args
        return _holds(b, env, ctx) if _holds(a, env, ctx) else _holds(c, env, ctx)
    if not isinstance(condition, (sp.Gt, sp.Ge, sp.Lt, sp.Le)):
        raise Unsupported(type(condition).__name__)
    left, right = _eval(condition.lhs, env, ctx), _eval(condition.rhs, env, ctx)
    difference = left - right
    if ctx is MP and isinstance(difference, mpmath.mpc):
        if abs(difference.imag) > mpmath.mpf(10) ** (-(mpmath.mp.dps // 2)):
            raise Undefined("a comparison of values that are not real")
        difference, left, right = difference.real, mpmath.re(left), mpmath.re(right)
    if ctx is IV:
        if difference.a > 0:
            positive = True
        elif difference.b < 0:
            positive = False
        else:
            raise Undefined("a comparison the interval does not decide")
    else:
        if abs(difference) <= KINK_TOLERANCE * max(1, abs(left), abs(right)):
            raise Undefined("at a boundary between pieces")
        positive = difference > 0
    return positive if isinstance(condition, (sp.Gt, sp.Ge)) else not positive


def value_at(expr: sp.Expr, env: dict, dps: int, ctx=MP):
    """`expr` at `env` to `dps` digits, or None where it has no real value. In the
    floating-point context, node types `evaluate` does not handle fall back to SymPy's
    `evalf`; in the interval context they raise Unsupported (no rigorous enclosure)."""
    with precision(ctx, dps):
        try:
            return evaluate(expr, env, ctx)
        except Undefined:
            return None
        except Unsupported:
            if ctx is IV:
                raise
        substituted = expr.xreplace({k: sp.Float(v, dps) for k, v in env.items()}).evalf(dps)
        if not substituted.is_number or substituted.has(sp.zoo, sp.nan, sp.oo, -sp.oo):
            return None
        re, im = substituted.as_real_imag()
        if abs(im) > sp.Float(10) ** (-(dps // 2)):
            return None
        return mpmath.mpf(sp.Float(re, dps)._mpf_)


def disjoint(left, right) -> bool:
    """Do two intervals certainly not overlap?"""
    return bool(left.b < right.a) or bool(right.b < left.a)


def midpoint(interval):
    return mpmath.mpf(interval.mid.a)


def relative_difference(left, right):
    """|left − right| / max(1, |left|, |right|)."""
    return abs(left - right) / max(mpmath.mpf(1), abs(left), abs(right))


def show(value) -> str:
    """A value for people: the integer it equals to 45 digits, or 15 significant digits."""
    if value is None:
        return "undefined"
    if abs(value) < 10**15:  # beyond that, digits past the 15th say nothing to a reader
        nearest = mpmath.nint(value)
        if abs(value - nearest) < mpmath.mpf("1e-45") * max(1, abs(nearest)):
            return str(int(nearest))
    return mpmath.nstr(value, 15)
