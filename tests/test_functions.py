"""functions.py: derivatives come from the definitions, not from a table of rules."""

import sympy as sp

from derive.functions import FunctionTable

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
