"""Values on a tie are read from the expression as written there.

On a tie region (x = 0 for relu(x)) the pieces are fixed, and SymPy cancels what they
leave (0/x → 0, 2x/x → 2) before any point is put in. A side with no value at the tie
as written (relu(x)/x at x = 0 is 0/0) is no counterexample there: the tie is left out
of the rule's scope, and named so. A tie value that exists and is wrong still refutes."""

import pytest
import sympy as sp

from derive.functions import FunctionTable
from derive.regions import split, undefined_at
from tests.conftest import verdicts_of

x, y = sp.symbols("x y", real=True)
table = FunctionTable()

STEPS = """function H0(x) = 1 if x >= 0 else 0
function H(x) = 1 if x > 0 else 0
"""

TIE_LEFT_OUT = {  # rule: the tie named as left out of the scope
    "relu(x)/x = H0(x)": "x = 0",
    "relu(x)/x = H(x)": "x = 0",
    "max(x, 2x) / x = 1 + H(x)": "x = 0",
    "max(x, 2x) / x = 1 + H0(x)": "x = 0",
    # a removable singularity at the tie: relu(x)²/x is 0/0 at x = 0
    "relu(x)^2 / x = relu(x)": "x = 0",
    "relu(x - 1) / (x - 1) = H0(x - 1)": "x - 1 = 0",
    "max(x, -x) / x = 2 H0(x) - 1": "x = 0",
    "x / max(x, -x) = 2 H(x) - 1": "x = 0",
    "(relu(x) + 1) / x = H0(x) + 1/x": "x = 0",
    # a tie that is a line: x = y, where relu(x − y)/(x − y) is 0/0 for every y
    "relu(x - y) / (x - y) = H(x - y)": "x - y = 0",
    "max(x, y) / (x - y) = H(x - y) + y/(x - y)": "x - y = 0",
}


@pytest.mark.parametrize("rule", TIE_LEFT_OUT)
def test_a_side_without_value_at_the_tie_leaves_the_tie_out(rule):
    v = verdicts_of(STEPS + f"rule r: {rule}")["r"]
    assert (v.verdict, v.how) == ("proved", "symbolic"), v.detail
    assert "ties included" not in str(v.scope)
    assert f"not on {TIE_LEFT_OUT[rule]}" in str(v.scope), str(v.scope)


DERIVED_TIE_LEFT_OUT = {  # a derivative (0 at x = 0, by one-sided limits) divided by the tie's 0
    "diff(relu(x)^2, x) / x = 2 H0(x)": "x = 0",
    "diff(relu(x)^2, x) / x = 2 H(x)": "x = 0",
}


@pytest.mark.xfail(strict=True, reason="a rule that takes a derivative keeps its pieces' values on a tie (a "
                   "derivative's formula can be 0·∞ where the derivative exists), so 0/x there still cancels")
@pytest.mark.parametrize("rule", DERIVED_TIE_LEFT_OUT)
def test_a_derivative_over_the_tie_s_zero_leaves_the_tie_out(rule):
    v = verdicts_of(STEPS + f"rule r: {rule}")["r"]
    assert (v.verdict, v.how) == ("proved", "symbolic"), v.detail
    assert f"not on {DERIVED_TIE_LEFT_OUT[rule]}" in str(v.scope), str(v.scope)


def test_a_derivative_whose_formula_is_0_times_infinity_on_the_tie_keeps_its_value():
    # f = relu(x)·√(x² + x⁴) has f′(0) = 0 (one-sided limits), though the product rule's
    # formula is 0·(0/0) there: a right side of 1 at x = 0 is wrong, and refuted there
    rule = ("diff(relu(x) * sqrt(x^2 + x^4), x) = H(x) * (2 x sqrt(1 + x^2) + x^3/sqrt(1 + x^2))"
            " + H0(x) - H(x)")
    v = verdicts_of(STEPS + f"rule r: {rule}")["r"]
    assert (v.verdict, v.how) == ("refuted", "counterexample"), v.detail
    assert dict(v.counterexample.inputs) == {"x": "0"}
    assert (v.counterexample.lhs, v.counterexample.rhs) == ("0", "1")


def test_an_undefined_term_on_both_sides_is_no_counterexample_at_the_tie():
    # the difference cancels to H0(x) − H(x), 1 at x = 0; but both sides are 0/0 there
    v = verdicts_of(STEPS + "rule r: relu(x)/x + H0(x) = relu(x)/x + H(x)")["r"]
    assert v.verdict != "refuted", v.detail
    assert v.verdict in ("proved", "undecided")


REFUTED_AT_THE_TIE = {  # rule: (the tie point, left, right)
    "H0(x) = H(x)": ("0", "1", "0"),
    "relu(x)/(x^2 + 1) + H0(x) = relu(x)/(x^2 + 1) + H(x)": ("0", "1", "0"),
    "relu(x - 1)/x + H0(x - 1) = relu(x - 1)/x + H(x - 1)": ("1", "1", "0"),
    "max(x, 2x)/(x + 1) + H0(x) = max(x, 2x)/(x + 1) + H(x)": ("0", "1", "0"),
}


@pytest.mark.parametrize("rule", REFUTED_AT_THE_TIE)
def test_a_tie_value_that_exists_and_is_wrong_still_refutes(rule):
    v = verdicts_of(STEPS + f"rule r: {rule}")["r"]
    assert (v.verdict, v.how) == ("refuted", "counterexample"), v.detail
    point, left, right = REFUTED_AT_THE_TIE[rule]
    assert dict(v.counterexample.inputs) == {"x": point}
    assert (v.counterexample.lhs, v.counterexample.rhs) == (left, right)


def _relu(u):
    return table.expand_definitions(table.apply("relu", [u]))


def test_split_marks_a_tie_undefined_where_the_expression_as_written_is():
    regions = {r.describe(): r for r in split(_relu(x) / x, written=True)}
    assert not regions["x = 0"].defined
    assert regions["x > 0"].expr == 1 and regions["x < 0"].expr == 0
    regions = {r.describe(): r for r in split(_relu(x - 1) / x, written=True)}
    assert regions["x - 1 = 0"].defined and regions["x - 1 = 0"].expr == 0  # 0/1 at x = 1
    shifted = {r.describe(): r for r in split(_relu(x - y) / (x - y) + y, written=True)}
    assert not shifted["x - y = 0"].defined


def test_undefined_at_reads_the_pieces_as_the_region_fixes_them():
    relu = _relu(x)
    tie = ((x, 0),)
    assert undefined_at(relu / x, tie, {x: sp.Integer(0)})
    assert not split(relu / x)[1].expr.has(sp.nan)  # not read as written: the fixed piece's 0/x = 0
    assert not undefined_at(relu / (x + 1), tie, {x: sp.Integer(0)})
    assert not undefined_at(relu / x, tie, {})  # nothing substituted: nothing shown
