"""functions.py: derivatives come from the definitions, not from a table of rules."""

import sympy as sp

from derive.functions import FunctionTable
from derive.kinks import substitute

t = sp.Symbol("t", real=True)


def test_user_function_derivative_is_diff_of_its_body():
    table = FunctionTable()
    table.define("f", (t,), t**3 + sp.exp(2 * t))
    assert sp.expand(table.apply("f", [t], primes=1) - (3 * t**2 + 2 * sp.exp(2 * t))) == 0
    assert sp.expand(table.apply("f", [t], primes=2) - (6 * t + 4 * sp.exp(2 * t))) == 0


def test_builtin_logistic_derivative_is_not_written_in_terms_of_sigma():
    table = FunctionTable()
    d = table.expand_definitions(table.apply("σ", [t], primes=1))
    assert sp.simplify(d - sp.exp(-t) / (1 + sp.exp(-t)) ** 2) == 0


def test_user_definition_shadows_builtin_and_aliases_resolve():
    table = FunctionTable()
    table.define("σ", (t,), 2 * t)  # a (silly) redefinition wins over the built-in
    assert table.expand_definitions(table.apply("sigma", [t])) == 2 * t
    assert table.apply("ln", [t]) == sp.log(t)


def test_expand_definitions_unfolds_nested_calls():
    table = FunctionTable()
    table.define("g", (t,), table.apply("σ", [t]) + 1)
    unfolded = table.expand_definitions(table.apply("g", [2 * t]))
    assert unfolded == 1 / (1 + sp.exp(-2 * t)) + 1


def test_functions_of_several_variables():
    u = sp.Symbol("u", real=True)
    table = FunctionTable()
    table.define("h", (t, u), t * u**2)
    assert table.expand_definitions(table.apply("h", [u, t])) == u * t**2


def test_max_and_min_are_cases_with_ties_as_boundaries():
    x, y = sp.symbols("x y", real=True)
    table = FunctionTable()
    m = table.apply("max", [x, y, sp.Integer(1)])
    assert m.subs({x: 3, y: 2}) == 3 and m.subs({x: -3, y: 2}) == 2 and m.subs({x: -3, y: -2}) == 1
    assert table.apply("min", [x, y]).subs({x: 3, y: 2}) == 2
    assert m.diff(x).subs({x: 3, y: 2}) == 1 and m.diff(x).subs({x: 0, y: 2}) == 0
    assert substitute(m.diff(x), {x: 2, y: 2}) is sp.nan  # a tie: no derivative
    assert substitute(m.diff(x), {x: 1, y: 0}) is sp.nan and substitute(m.diff(y), {x: 3, y: 2}) == 0


def test_max_in_a_graph_node():
    from tests.conftest import verdicts_of
    v = verdicts_of("graph g {\n input u = 2, v = 1\n m = max(u, v)\n rule r: dm/du = 1\n wrong rule s: dm/dv = 1\n}")
    assert v["r"].verdict == "proved" and v["s"].verdict == "refuted"
