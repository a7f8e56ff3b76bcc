"""Derivatives on ties: never dropped where they exist.

1. A derivative by a variable a condition does not involve keeps the condition exactly
   (∂/∂c of `c x if x ≥ 1/3 else 0` is x at x = 1/3 too).
2. A tie that holds on an open set (relu(u) where u ≡ 0, max(u, u)) is a flat tie: the
   function is its tie piece there, so the derivative is that piece's, never left out.
3. On an isolated tie a derivative that exists (by one-sided limits) must satisfy the rule
   there; one that does not (relu′(0)) is left out of a rule about the derivative as a
   function ("boundaries excluded") and makes a rule at the point undefined.
4. A series at a jump hidden behind a zero of high order (x⁹ > 0) is undefined."""

import pytest
import sympy as sp

from derive.functions import Cases, FunctionTable, Kink
from derive.kinks import derivative_at, substitute
from derive.regions import split
from tests.conftest import verdicts_of

x, c, a = sp.symbols("x c a", real=True)
table = FunctionTable()

FUNCTIONS = """function g(x, c) = c x if x >= 1/3 else 0
function h(x) = x if x > 1/3 else 0
function k(x) = x if x >= 1/3 else 0
function q(x) = x^2 if x > 0 else 0
function dq0(x) = 2 x if x > 0 else 0
function step(t) = 1 if t > 0 else 0
function stepge(t) = 1 if t >= 0 else 0
function s9(x) = 1 if x^9 > 0 else 0
function s1(x) = 1 if x > 0 else 0
function gc(x, c) = c x if x >= c else 0
function zero3(x) = (x+1)^3 - x^3 - 3 x^2 - 3 x - 1
"""

SCALAR = {  # rule: (verdict, how)
    # 1. a condition the variable does not enter
    "diff(g(x, c), c) = h(x)": ("refuted", "counterexample"),
    "diff(g(x, c), c) = k(x)": ("proved", "symbolic"),
    "diff(prelu(x, γ), γ) = min(0, x)": ("proved", "symbolic"),
    "diff(lrelu(x, γ), γ) = min(0, x) + 1": ("refuted", "counterexample"),
    # 2. flat ties in functions
    "diff(max(x, x), x) = 0": ("refuted", "counterexample"),
    "diff(max(x, x), x) = 1": ("proved", "symbolic"),
    "diff(relu(relu(x) - relu(x)), x) = 1": ("refuted", "counterexample"),
    "diff(relu(relu(x) - relu(x)), x) = 0": ("proved", "symbolic"),
    "diff(relu(relu(x + 5)), x) = 1": ("refuted", "counterexample"),
    "diff(relu(relu(x + 5)), x) = step(x + 5)": ("proved", "symbolic"),
    "diff(max(x, relu(x)), x) = step(x)": ("proved", "symbolic"),
    "diff(max((x + 1)^2, x^2 + 2 x + 1), x) = 2 x + 2": ("proved", "symbolic"),
    "diff(max((x + 1)^2, x^2 + 2 x + 1), x) = 2 x": ("refuted", "counterexample"),
    "diff(relu(min(x, 0)), x) = 0": ("proved", "symbolic"),
    # second derivatives across a flat tie (the tie piece of f′ is itself a derivative on the tie)
    "diff(diff(max(x, relu(x)), x), x) = 0": ("proved", "symbolic"),
    "diff(diff(max(x, relu(x)), x), x) = 1": ("refuted", "counterexample"),
    "lrelu''(x^2, 1/100) = 0": ("proved", "symbolic"),  # x² < 0 cannot occur (SymPy's assumptions)
    # an argument ≡ 0 not written so: its chain-rule factor 3(x+1)² − 3x² − 6x − 3 is 0 too
    "diff(relu(zero3(x) step(x)), x) = 5 step(x)": ("refuted", "counterexample"),
    "diff(relu(zero3(x)), x) = 5": ("refuted", "counterexample"),
    "diff(relu(zero3(x)), x) = 0": ("proved", "symbolic"),
    # a derivative function at a flat argument is still at a kink: relu′(0) does not exist
    "relu'((x+1)^2 - x^2 - 2x - 1) = 0": ("undefined", "kink"),
    # the tie s = c held by arguments that move together: the partials do not exist there,
    # their sum may (gc(x, x) = x²); undecided, never left out as a kink
    "gc'(x, x) = x": ("undecided", "unproved"),
    "diff(gc(relu(x), relu(x)), x) = 0": ("undecided", "unproved"),
    "diff(gc(x, x), x) = 7": ("undecided", "unproved"),
    # 3. isolated ties: the derivative exists (q′(0) = 0) or not (relu′(0))
    "diff(q(x), x) = dq0(x) + stepge(x) - step(x)": ("refuted", "counterexample"),  # wrong at x = 0 only
    "diff(q(x), x) = dq0(x)": ("proved", "symbolic"),
    "diff(relu(x), x) = step(x)": ("proved", "symbolic"),
    "diff(relu(x), x) = stepge(x)": ("proved", "symbolic"),  # they differ only where relu′ does not exist
    "diff(max(x, y), y) = step(y - x)": ("proved", "symbolic"),
    "relu'(0) = 0": ("undefined", "kink"),
    # an isolated tie that fixes the variable (t = 0): decided at that number; max(t, t) = t there
    "diff(max(t, lrelu(t, 2)), t) = 1": ("proved", "symbolic"),
    "diff(max(t, lrelu(t, 2)), t) = 2": ("refuted", "counterexample"),
    # 4. series at jumps
    "s9(x) ≈ 0 at x = 0 order 1": ("undefined", "kink"),
    "s1(x) ≈ 0 at x = 0 order 1": ("undefined", "kink"),
    "s9(x) ≈ 1 at x = 1 order 2": ("proved", "symbolic"),
}


@pytest.mark.parametrize("rule", SCALAR)
def test_scalar_rule_on_ties(rule):
    v = verdicts_of(FUNCTIONS + f"rule r: {rule}")["r"]
    assert (v.verdict, v.how) == SCALAR[rule], v.detail


def test_the_boundary_counterexample_of_a_derivative_by_another_variable():
    v = verdicts_of(FUNCTIONS + "rule r: diff(g(x, c), c) = h(x)")["r"]
    assert dict(v.counterexample.inputs)["x"] == "1/3" and (v.counterexample.lhs, v.counterexample.rhs) == (
        "0.333333333333333", "0")
    v = verdicts_of(FUNCTIONS + "rule r: diff(q(x), x) = dq0(x) + stepge(x) - step(x)")["r"]
    assert dict(v.counterexample.inputs) == {"x": "0"} and (v.counterexample.lhs, v.counterexample.rhs) == ("0", "1")
    # (said in the detail, or in the verdict's scope where it has one)
    assert "ties included" in str(verdicts_of(FUNCTIONS + "rule r: diff(q(x), x) = dq0(x)")["r"].to_dict())
    said = str(verdicts_of(FUNCTIONS + "rule r: diff(relu(x), x) = step(x)")["r"].to_dict())
    assert "boundaries excluded" in said or "not on x = 0" in said


GRAPHS = FUNCTIONS + """graph A2 {
  input a
  u = relu(a + 5)
  J = relu(u)
  wrong rule r2: dJ/da = 1
  rule r2ok: dJ/da = step(a + 5)
}
graph N {
  input x, w1, w2
  u = relu(w1 x)
  J = relu(w2 u)
  rule n1: dJ/dw1 = step(w2 u) w2 step(w1 x) x
  wrong rule n2: dJ/dw1 = stepge(w2 u) w2 x
  rule n3: dJ/dw2 = step(w2 u) u
}
graph M {
  input a
  u = max(a, a)
  J = relu(u - a)
  wrong rule m1: dJ/da = 1
  rule m0: dJ/da = 0
}
graph D {
  input a = -7
  u = relu(a + 5)
  J = relu(u)
  rule flat: dJ/da = 0
  wrong rule flat1: dJ/da = 1
}
graph K {
  input a = 0
  u = a^2
  J = s1(u)
  undefined rule jump: dJ/da = 0
}
graph R {
  input a = 0
  J = relu(a)
  undefined rule kink: dJ/da = 0
}
"""


def test_graph_rules_on_flat_ties():
    verdicts = verdicts_of(GRAPHS)
    wrong = {name for name, v in verdicts.items() if not v.ok}
    assert not wrong, {name: (verdicts[name].verdict, verdicts[name].detail) for name in wrong}
    cx = verdicts["r2"].counterexample
    assert "a + 5 < 0" in cx.instance and (cx.lhs, cx.rhs) == ("0", "1")  # J ≡ 0 there
    assert "w1*x < 0" in verdicts["n2"].counterexample.instance  # the forgotten hidden gate


def test_network_rule_that_forgets_the_hidden_gate():
    text = """function stepge(t) = 1 if t >= 0 else 0
network n {
    layers 1, 1, 1
    activation relu
    loss C = ½‖y − aᴸ‖²
    rule good: ∂C/∂W¹ = ((W²)ᵀ ((aᴸ − y) ⊙ relu'(zᴸ)) ⊙ relu'(z¹)) (a⁰)ᵀ
    wrong rule forgot: ∂C/∂W¹ = ((W²)ᵀ ((aᴸ − y) ⊙ relu'(zᴸ))) (a⁰)ᵀ
}"""
    verdicts = verdicts_of(text)
    assert verdicts["good"].verdict == "proved"
    assert verdicts["forgot"].verdict == "refuted"


# ---------------------------------------------------------------- the machinery


def test_a_derivative_by_a_variable_outside_the_conditions_keeps_them_exactly():
    f = Cases((c * x, x >= sp.Rational(1, 3)), (0, True))
    assert f.diff(c) == Cases((x, x >= sp.Rational(1, 3)), (0, True))
    assert f.diff(c).subs(x, sp.Rational(1, 3)) == sp.Rational(1, 3)


def test_a_kink_is_a_marker_that_a_vanishing_factor_removes():
    relu_prime = table.expand_definitions(table.apply("relu", [x], 1))
    at_zero = relu_prime.xreplace({x: 0})
    assert isinstance(at_zero, Kink) and at_zero * 0 == 0
    assert substitute(relu_prime, {x: 0}) is sp.nan  # a point given: one-sided limits
    assert relu_prime.diff(x) - relu_prime.diff(x) == 0  # the same derivative is the same expression


def test_flat_tie_region_has_the_tie_pieces_derivative():
    J = table.apply("relu", [table.apply("relu", [a + 5])])
    regions = {r.describe(): r.expr for r in split(table.expand_definitions(sp.diff(J, a)))}
    assert regions == {"a + 5 < 0": 0, "a + 5 = 0": sp.nan, "a + 5 > 0": 1}


def test_a_zero_of_high_order_is_not_a_tie():
    s9 = Cases((1, x**9 > 0), (0, True))
    assert derivative_at(s9, x, sp.Integer(0), 0) is sp.nan  # a jump: no value to extend
    assert derivative_at(Cases((x**10, x**9 > 0), (0, True)), x, sp.Integer(0), 1) == 0


# ---------------------------------------------------------------- an infinite outer derivative


# On an open region where an argument is constant (u = relu(x − 1/3) ≡ 0 for x < 1/3), a
# function of it is constant, so its derivative is 0 even where the outer derivative is
# infinite (sqrt′(0)): the chain rule's 0·∞ there is no reason to leave the region out.
SQRT_FLAT = """function H(x) = 1 if x > 0 else 0
wrong rule w2: diff((x - 1/3)(x - 1/2) sqrt(relu((x - 1/3)(x - 1/2))), x) = \
    3/2 sqrt(relu((x - 1/3)(x - 1/2))) (2x - 5/6) + 5 H(-(x - 1/3)(x - 1/2))
wrong rule w3: diff((x - 1/3) sqrt(relu(x - 1/3)), x) = 3/2 sqrt(relu(x - 1/3)) + 5 H(1/3 - x) H(x - 1/4)
wrong rule n1: diff(norm([relu(x - 1/3), relu(x - 1/3)]), x) = sqrt(2) H(x - 1/3) + 5 H(1/3 - x) H(x - 1/4)
wrong rule s2: diff(sqrt(relu(x) + relu(x - 1)), x) = \
    (H(x) + H(x - 1))/(2 sqrt(relu(x) + relu(x - 1)) + 2 H(-x)) + 5 H(-x - 1)
rule t1: diff((x - 1/3) sqrt(relu(x - 1/3)), x) = 3/2 sqrt(relu(x - 1/3))
rule t2: diff(x sqrt(relu(x)), x) = 3/2 sqrt(relu(x))
rule t3: diff((x - 1/3)(x - 1/2) sqrt(relu((x - 1/3)(x - 1/2))), x) = 3/2 sqrt(relu((x - 1/3)(x - 1/2))) (2x - 5/6)
rule n2: diff(norm([relu(x - 1/3), relu(x - 1/3)]), x) = sqrt(2) H(x - 1/3)
rule s1: diff(sqrt(relu(x) + relu(x - 1)), x) = (H(x) + H(x - 1))/(2 sqrt(relu(x) + relu(x - 1)))
graph G {
  input a
  u = relu(a - 1/3)
  v = sqrt(u)
  J = (a - 1/3) v
  wrong rule g1: dJ/da = 3/2 v + 5 H(1/3 - a) H(a - 1/4)
  rule g2: dJ/da = 3/2 v
}
"""


def test_an_infinite_outer_derivative_of_a_constant_argument_is_no_region_left_out():
    vs = verdicts_of(SQRT_FLAT)
    for name in ("w2", "w3", "n1", "s2", "g1"):  # false on a whole open interval
        assert vs[name].verdict in ("refuted", "undecided"), name
    # s1's right side is 0·∞ for x < 0 as written: that region is left out, as it has no value
    for name in ("t1", "t2", "t3", "n2", "s1", "g2"):
        assert vs[name].verdict == "proved", name


def test_a_side_undefined_on_an_open_region_as_written_is_still_left_out():
    # 0/0 as written for every t > −1 (no derivative's 0·∞): that region has no value
    v = verdicts_of("function f(t) = min(max(-1, t), t)\n"
                    "rule r: f'(t) = (max(-1, t) − t)²/(max(-1, t)² − 2t max(-1, t) + t²)\n")["r"]
    assert v.verdict == "proved" and "(a region left out)" in str(v.scope)


def test_a_false_value_at_the_tie_of_sqrt_relu_is_not_proved():
    # at x = 1/3 the chain rule gives (x − 1/3)·relu′·1/(2√0): NaN, yet F′(1/3) = 0 exists
    # (the common limit from both sides): that tie is not left out while the right side is 5
    vs = verdicts_of("function H(x) = 1 if x > 0 else 0\nfunction I0(x) = 1 if x >= 0 else 0\n"
                     "wrong rule b1: diff((x - 1/3) sqrt(relu(x - 1/3)), x) = "
                     "3/2 sqrt(relu(x - 1/3)) + 5 (I0(x - 1/3) - H(x - 1/3))\n"
                     "wrong rule a2: diff(x sqrt(relu(x)), x) = 3/2 sqrt(relu(x)) + 5 (I0(x) - H(x))\n"
                     "rule t2: diff(x sqrt(relu(x)), x) = 3/2 sqrt(relu(x))\n"
                     "rule kink: diff(relu(x), x) = H(x)\n"
                     "rule root: diff(sqrt(relu(x)), x) = H(x)/(2 sqrt(relu(x)) + H(-x))\n")
    assert vs["b1"].verdict in ("refuted", "undecided")
    assert vs["a2"].verdict in ("refuted", "undecided", "error")
    for name in ("t2", "kink", "root"):  # relu′(0) and √′(0) do not exist: x = 0 left out
        assert vs[name].verdict == "proved", name


def test_a_network_whose_activation_is_a_function_of_relu_under_sqrt():
    # sr(t) = t·√relu(t): sr′ = 3/2·√relu(t) everywhere; "bad" adds 5 on −1/4 < zᴸ < 0
    text = """function H(t) = 1 if t > 0 else 0
function sr(t) = t sqrt(relu(t))
network n {
    layers 1, 1, 1
    activation sr
    loss C = ½‖y − aᴸ‖²
    rule good: ∂C/∂bᴸ = (aᴸ − y) ⊙ (3/2 sqrt(relu(zᴸ)))
    wrong rule bad: ∂C/∂bᴸ = (aᴸ − y) ⊙ (3/2 sqrt(relu(zᴸ)) + 5 H(-zᴸ) ⊙ H(zᴸ + 1/4))
}"""
    verdicts = verdicts_of(text)
    assert verdicts["good"].verdict == "proved"
    assert verdicts["bad"].verdict in ("refuted", "undecided")
