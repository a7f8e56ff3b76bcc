"""numeric.py: direct mpmath evaluation agrees with SymPy and says where it is undefined."""

from fractions import Fraction

import mpmath
import sympy as sp

from derive.numeric import exact, relative_difference, show, value_at

t, u = sp.symbols("t u", real=True)


def test_agrees_with_sympy_evalf_to_many_digits():
    expr = sp.exp(-t) / (1 + sp.exp(-t)) ** 2 + sp.tanh(u) * sp.log(2 + t**2) - sp.sqrt(1 + u**2) / 7
    env_exact = {t: sp.Rational(-3, 10), u: sp.Rational(17, 10)}
    with mpmath.workdps(50):
        env = {t: exact(Fraction(-3, 10)), u: exact(Fraction(17, 10))}
    ours = value_at(expr, env, 50)
    reference = expr.xreplace(env_exact).evalf(50)
    with mpmath.workdps(50):
        assert abs(ours - mpmath.mpf(reference._mpf_)) < mpmath.mpf("1e-45")


def test_undefined_points_give_none():
    with mpmath.workdps(30):
        minus_one, zero = exact(Fraction(-1)), exact(Fraction(0))
    assert value_at(sp.log(t), {t: minus_one}, 30) is None
    assert value_at(1 / t, {t: zero}, 30) is None
    assert value_at(sp.sqrt(t), {t: minus_one}, 30) is None


def test_falls_back_to_sympy_for_other_functions():
    with mpmath.workdps(30):
        half = exact(Fraction(1, 2))
    value = value_at(sp.atan(t), {t: half}, 30)
    with mpmath.workdps(30):
        assert abs(value - mpmath.atan(mpmath.mpf(1) / 2)) < mpmath.mpf("1e-25")


def test_show_and_relative_difference():
    with mpmath.workdps(60):
        assert show(mpmath.mpf(6)) == "6"
        assert show(mpmath.mpf(1) / 3) == "0.333333333333333"
        assert show(None) == "undefined"
        assert show(mpmath.exp(mpmath.exp(20))) .startswith("1.")  # huge: no 200-million-digit integer
        assert show(mpmath.mpf(10) ** 20) == "1.0e+20"
        assert relative_difference(mpmath.mpf(1e6), mpmath.mpf(1e6 + 1)) < 1.1e-6
        assert relative_difference(mpmath.mpf(0), mpmath.mpf("1e-3")) == mpmath.mpf("1e-3")


def test_pieces_are_chosen_by_their_conditions_and_kinks_are_undefined():
    from derive.functions import Cases
    relu = Cases((t, t > 0), (0, True))
    with mpmath.workdps(30):
        assert value_at(relu, {t: exact(Fraction(3, 2))}, 30) == mpmath.mpf("1.5")
        assert value_at(relu, {t: exact(Fraction(-3, 2))}, 30) == 0
        assert value_at(relu, {t: exact(Fraction(0))}, 30) is None  # on the boundary
        assert value_at(relu, {t: mpmath.mpf("1e-12")}, 30) is None  # within the kink tolerance
        assert value_at(relu.diff(t), {t: exact(Fraction(0))}, 30) is None  # NaN: no derivative


def test_an_interval_that_straddles_a_boundary_decides_nothing():
    from derive.functions import Cases
    from derive.numeric import IV, precision
    relu = Cases((t, t > 0), (0, True))
    with precision(IV, 30):
        straddling = IV.mpf(["-0.001", "0.001"])
        assert value_at(relu, {t: straddling}, 30, IV) is None
        positive = IV.mpf(["0.5", "0.6"])
        enclosure = value_at(relu, {t: positive}, 30, IV)
        assert enclosure.a == positive.a and enclosure.b == positive.b  # the piece t itself


def test_erf_has_an_interval_enclosure():
    from derive.numeric import IV, precision
    with precision(IV, 40):
        enclosure = value_at(sp.erf(t), {t: IV.mpf(1) / 3}, 40, IV)
    with mpmath.workdps(60):
        assert enclosure.a <= mpmath.erf(mpmath.mpf(1) / 3) <= enclosure.b
        assert enclosure.delta < mpmath.mpf("1e-35")
