"""kinks.py: whether a derivative exists at a point is decided by one-sided limits, for
every kind of kink (a piece boundary, |x|, sqrt at 0, a jump), never by a convention
such as sign(0) = 0 or by a NaN on every boundary."""

import sympy as sp

from derive.functions import Cases, FunctionTable, Kink
from derive.kinks import derivative_at, one_sided_limit, substitute, value_of_derivative, without_abs

t = sp.Symbol("t", real=True)
ZERO = sp.Integer(0)
table = FunctionTable()


def test_abs_becomes_piecewise_so_its_derivative_is_nan_at_the_kink():
    f = without_abs(sp.Abs(t - 1))
    assert f.has(sp.Piecewise) and not f.has(sp.Abs)
    assert substitute(sp.diff(f, t), {t: 1}) is sp.nan  # a point substituted: decided by one-sided limits
    assert isinstance(sp.diff(f, t).xreplace({t: 1}), Kink)  # a marker, not NaN: Kink·0 = 0
    assert sp.diff(f, t).xreplace({t: 3}) == 1


def test_one_sided_derivatives_that_agree_give_the_derivative():
    smooth_join = Cases((t**2, t > 0), (0, True))
    assert derivative_at(smooth_join, t, ZERO, 1) == 0
    assert derivative_at(smooth_join, t, ZERO, 2) is sp.nan  # q'' jumps from 0 to 2
    cubic = Cases((t**3, t > 0), (0, True))
    assert derivative_at(cubic, t, ZERO, 2) == 0


def test_kinks_jumps_and_vertical_tangents_have_no_derivative():
    for f in (table.expand_definitions(table.apply("relu", [t])), without_abs(sp.sqrt(t**2)),
              Cases((1, t > 0), (0, True)),  # a step: one-sided slopes agree (0), but it jumps
              Cases((t, t > 0), (t + 1, True)),  # slope 1 on both sides, but a jump
              sp.sqrt(t),  # no left side, infinite right slope
              without_abs(sp.sqrt(sp.sqrt(t**2)))):  # |t|^(1/2)
        assert derivative_at(f, t, ZERO, 1) is sp.nan, f


def test_a_value_apart_from_its_neighbours_is_not_continuous():
    isolated = Cases((0, t < 0), (1, t <= 0), (0, True))  # 1 at 0 only
    assert derivative_at(isolated, t, ZERO, 1) is sp.nan
    assert derivative_at(isolated, t, ZERO, 0) is sp.nan


def test_abs_to_a_power_above_one_is_differentiable_at_zero():
    assert derivative_at(without_abs(sp.Abs(t) ** 3), t, ZERO, 1) == 0
    assert derivative_at(without_abs(sp.Abs(t) ** sp.Rational(3, 2)), t, ZERO, 1) == 0


def test_removable_singularity_is_extended_by_its_limit_only_for_series():
    f = (sp.exp(t) - 1) / t
    assert derivative_at(f, t, ZERO, 0, extend=True) == 1
    assert derivative_at(f, t, ZERO, 1, extend=True) == sp.Rational(1, 2)
    assert derivative_at(f, t, ZERO, 0) is sp.nan  # as a value, f(0) does not exist


def test_one_sided_limits_fix_pieces_beside_the_point():
    f = Cases((t, t > 0), (-2 * t, True))
    assert one_sided_limit(sp.diff(f, t), t, ZERO, 1) == 1
    assert one_sided_limit(sp.diff(f, t), t, ZERO, -1) == -2
    # a boundary where g has a double zero: t² > 0 on both sides of 0
    g = Cases((1, t**2 > 0), (0, True))
    assert one_sided_limit(g, t, ZERO, -1) == one_sided_limit(g, t, ZERO, 1) == 1


def test_smooth_functions_are_substituted_as_before():
    sigma = table.apply("σ", [t])
    assert value_of_derivative(sigma, t, ZERO, 1) == sp.diff(sigma, t).xreplace({t: 0})
    assert table.apply("relu", [ZERO], 1) is sp.nan
    assert table.apply("relu", [sp.Integer(2)], 1) == 1
    assert table.apply("sqrt", [ZERO], 1) is sp.nan
