"""regions.py: piecewise expressions split into regions with the pieces fixed; which
regions can occur, decided soundly; a point inside each."""

from fractions import Fraction

import pytest
import sympy as sp

from derive.functions import Cases, FunctionTable
from derive.regions import CannotSplit, feasible, split, witness

x, y = sp.symbols("x y", real=True)
table = FunctionTable()


def _value(expr, point):
    return expr.xreplace({k: sp.Rational(v.numerator, v.denominator) for k, v in point})


def test_relu_derivative_has_two_regions_and_a_tie_where_it_does_not_exist():
    regions = split(table.expand_definitions(table.apply("relu", [x], 1)))
    assert [r.expr for r in regions] == [0, sp.nan, 1]
    assert [r.defined for r in regions] == [True, False, True]
    for r in regions:
        for g, sign in r.signs:
            value = _value(g, r.witness)
            assert (sign * value > 0) if sign else value == 0


def test_impossible_combinations_are_dropped():
    # hardtanh has pieces x < −1, x < 1, else: the combination x + 1 > 0 and x − 1 < ... is fine,
    # but "x < −1 and x > 1" must never appear.
    regions = split(table.expand_definitions(table.apply("hardtanh", [x])))
    assert len(regions) == 5  # x < −1, x = −1, −1 < x < 1, x = 1, x > 1
    assert sorted(r.ties for r in regions if r.ties) == [(x - 1,), (x + 1,)]
    assert feasible(((x + 1, -1), (x - 1, 1))) is False
    assert feasible(((x + 1, 1), (x - 1, -1))) is True


def test_max_of_two_variables_splits_on_their_difference():
    regions = split(table.apply("max", [x, y]).diff(x))
    assert len(regions) == 3
    assert [r.expr for r in regions] == [0, sp.nan, 1]  # the tie x = y: no derivative there
    assert all(len(r.signs) == 1 and r.signs[0][0] in (x - y, y - x) for r in regions)


def test_nested_pieces_are_split_innermost_first():
    nested = table.expand_definitions(table.apply("relu", [table.apply("relu", [x]) - 1]))
    regions = split(nested)
    values = sorted(str(r.expr) for r in regions)
    assert values == ["0", "0", "0", "0", "x - 1"]  # x < 0; x = 0; 0 < x < 1; x = 1; x > 1


def test_nonlinear_conditions_use_sampled_points():
    regions = split(Cases((1, x**2 - 2 > 0), (0, True)))
    assert {r.expr for r in regions} == {0, 1}
    assert all(r.witness for r in regions)
    tie, = [r for r in regions if r.ties]
    assert dict(tie.witness)[x] ** 2 == 2  # exactly on the tie: x = ±√2


def test_a_tie_that_holds_everywhere_is_the_only_region():
    a, b = (x + 1) ** 2, x**2 + 2 * x + 1  # equal, though not written alike
    regions = split(table.apply("max", [a, b]))
    assert len(regions) == 1 and regions[0].ties and regions[0].expr == b
    assert regions[0].describe() == "a tie everywhere"
    # max(f, f) = f on an open set: its derivative is f′ there (a flat tie), not a kink
    derivative = split(table.apply("max", [a, b]).diff(x))
    assert len(derivative) == 1 and derivative[0].defined and sp.expand(derivative[0].expr - 2 * x - 2) == 0


def test_signs_that_real_symbols_rule_out_are_infeasible():
    assert feasible(((x**2, -1),)) is False and feasible(((x**2 + 1, 0),)) is False
    assert feasible(((x**2, 0),)) is True and feasible(((x**2 - 1, -1),)) is True
    assert feasible(((x / (1 + x**2) - 3, 0),)) is False  # a tie with no real point


def test_ties_are_feasible_only_where_they_can_hold():
    assert feasible(((x - 2, 0), (x + 2, 0))) is False  # x = 2 and x = −2
    assert feasible(((x - y, 0), (x + y - 1, 1), (y, -1))) is False  # x = y, x + y > 1, y < 0
    point = dict(witness(((x - y, 0), (x + y - 1, 1))))
    assert point[x] == point[y] and point[x] + point[y] > 1
    assert feasible(((sp.Integer(0), 0),)) is True and feasible(((sp.Integer(3), 0),)) is False


def test_ties_at_irrational_points_have_exact_witnesses():
    assert dict(witness(((x - sp.pi, 0),)))[x] == sp.pi
    assert dict(witness(((sp.exp(x) - 2, 0),)))[x] == sp.log(2)
    assert dict(witness(((x - sp.sqrt(2), 0),)))[x] == sp.sqrt(2)


def test_equations_as_conditions_are_not_split():
    with pytest.raises(CannotSplit):
        split(sp.Piecewise((1, sp.Eq(x, 0)), (0, True)))


def test_witness_of_a_thin_linear_region_comes_from_the_linear_program():
    point = dict(witness(((x - sp.Rational(1, 1000), 1), (x - sp.Rational(2, 1000), -1))))
    assert Fraction(1, 1000) < point[x] < Fraction(2, 1000)


def test_linear_program_decides_several_variables_exactly():
    z = sp.Symbol("z", real=True)
    assert feasible(((x - y, 1), (y - z, 1), (z - x, 1))) is False  # x > y > z > x
    assert feasible(((x - y, 1), (y - z, 1), (x - z, 1))) is True
    point = dict(witness(((x - y, 1), (y - z, 1), (x + y + z - 30, 1))))
    assert point[x] > point[y] > point[z] and point[x] + point[y] + point[z] > 30
