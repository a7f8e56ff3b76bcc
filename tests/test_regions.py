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


def test_relu_derivative_has_two_regions_and_each_witness_lies_inside():
    regions = split(table.expand_definitions(table.apply("relu", [x], 1)))
    assert sorted((r.expr for r in regions), key=str) == [0, 1]
    for r in regions:
        for g, sign in r.signs:
            assert sign * _value(g, r.witness) > 0


def test_impossible_combinations_are_dropped():
    # hardtanh has pieces x < −1, x < 1, else: the combination x + 1 > 0 and x − 1 < ... is fine,
    # but "x < −1 and x > 1" must never appear.
    regions = split(table.expand_definitions(table.apply("hardtanh", [x])))
    assert len(regions) == 3
    assert feasible(((x + 1, -1), (x - 1, 1))) is False
    assert feasible(((x + 1, 1), (x - 1, -1))) is True


def test_max_of_two_variables_splits_on_their_difference():
    regions = split(table.apply("max", [x, y]).diff(x))
    assert len(regions) == 2
    assert {r.expr for r in regions} == {0, 1}
    assert all(len(r.signs) == 1 and r.signs[0][0] in (x - y, y - x) for r in regions)


def test_nested_pieces_are_split_innermost_first():
    nested = table.expand_definitions(table.apply("relu", [table.apply("relu", [x]) - 1]))
    regions = split(nested)
    values = sorted(str(r.expr) for r in regions)
    assert values == ["0", "0", "x - 1"]  # x < 0; 0 < x < 1; x > 1


def test_nonlinear_conditions_use_sampled_points():
    regions = split(Cases((1, x**2 - 2 > 0), (0, True)))
    assert {r.expr for r in regions} == {0, 1}
    assert all(r.witness for r in regions)


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
