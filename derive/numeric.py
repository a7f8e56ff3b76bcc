"""High-precision evaluation of SymPy expressions with mpmath, without SymPy arithmetic.

Substituting `Float`s into SymPy expressions re-runs SymPy's constructors and assumption
system at every node; walking the tree once and calling mpmath directly is an order of
magnitude faster, and the precision is explicit. Only the node types derive produces are
handled; anything else raises `Unsupported` so the caller can fall back to `evalf`.
Values are mpmath numbers at the working precision of `mpmath.mp` (use `workdps`).
"""

from __future__ import annotations

from fractions import Fraction

import mpmath
import sympy as sp


class Unsupported(Exception):
    """An expression node this evaluator does not know."""


class Undefined(Exception):
    """The expression has no real value at this point (division by zero, log of a negative…)."""


_UNARY = {
    sp.exp: mpmath.exp, sp.log: mpmath.log, sp.tanh: mpmath.tanh, sp.sinh: mpmath.sinh,
    sp.cosh: mpmath.cosh, sp.Abs: abs, sp.sin: mpmath.sin, sp.cos: mpmath.cos, sp.erf: mpmath.erf,
}


def exact(value: Fraction):
    """An exact rational input as an mpmath number at the current precision."""
    return mpmath.mpf(value.numerator) / value.denominator


def evaluate(expr: sp.Expr, env: dict):
    """`expr` at `env` (Symbol → mpmath number). Raises Undefined or Unsupported."""
    try:
        value = _eval(expr, env)
    except ZeroDivisionError:
        raise Undefined("division by zero") from None
    if isinstance(value, mpmath.mpc):
        if abs(value.imag) > mpmath.mpf(10) ** (-(mpmath.mp.dps // 2)):
            raise Undefined("not real")
        value = value.real
    if not mpmath.isfinite(value):
        raise Undefined("not finite")
    return value


def _eval(e, env):  # noqa: C901 - one branch per node type
    if e.is_Symbol:
        try:
            return env[e]
        except KeyError:
            raise Unsupported(f"no value for {e}") from None
    if e.is_Integer:
        return mpmath.mpf(int(e))
    if e.is_Rational:
        return mpmath.mpf(int(e.p)) / int(e.q)
    if e.is_Float:
        return mpmath.mpf(e._mpf_)
    if e.is_Add:
        return mpmath.fsum(_eval(a, env) for a in e.args)
    if e.is_Mul:
        result = mpmath.mpf(1)
        for a in e.args:
            result *= _eval(a, env)
        return result
    if e.is_Pow:
        base, exponent = e.args
        b = _eval(base, env)
        if exponent.is_Integer:
            n = int(exponent)
            if n < 0 and b == 0:
                raise ZeroDivisionError
            return b**n
        if exponent == sp.S.Half:
            return mpmath.sqrt(b)
        return mpmath.power(b, _eval(exponent, env))
    if e is sp.E:
        return mpmath.e
    if e is sp.pi:
        return mpmath.pi
    fn = _UNARY.get(type(e))
    if fn is not None:
        arg = _eval(e.args[0], env)
        if type(e) is sp.log and arg <= 0:
            raise Undefined("log of a non-positive number")
        return fn(arg)
    raise Unsupported(type(e).__name__)


def value_at(expr: sp.Expr, env: dict, dps: int):
    """`expr` at `env` to `dps` digits, or None where it has no real value. Falls back to
    SymPy's `evalf` for node types `evaluate` does not handle."""
    with mpmath.workdps(dps):
        try:
            return evaluate(expr, env)
        except Undefined:
            return None
        except Unsupported:
            pass
        substituted = expr.xreplace({k: sp.Float(v, dps) for k, v in env.items()}).evalf(dps)
        if not substituted.is_number or substituted.has(sp.zoo, sp.nan, sp.oo, -sp.oo):
            return None
        re, im = substituted.as_real_imag()
        if abs(im) > sp.Float(10) ** (-(dps // 2)):
            return None
        return mpmath.mpf(sp.Float(re, dps)._mpf_)


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
