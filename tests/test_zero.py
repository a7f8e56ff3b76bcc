"""zero.py: the exact zero test proves identities and never "proves" a non-identity."""

import sympy as sp

from derive.functions import FunctionTable
from derive.zero import is_identically_zero, rational_form

t, u = sp.symbols("t u", real=True)
F = FunctionTable()
sigma = lambda e: F.apply("σ", [e])  # noqa: E731


def test_logistic_derivative_identity_is_zero():
    assert is_identically_zero(F.apply("σ", [t], primes=1) - sigma(t) * (1 - sigma(t)), F)


def test_tanh_through_logistic_is_zero():
    assert is_identically_zero(sp.tanh(t) - (2 * sigma(2 * t) - 1), F)


def test_rational_coefficients_in_exponents():
    # exp(t/2)² = exp(t): needs the common denominator of the exponents.
    assert is_identically_zero(sp.exp(t / 2) ** 2 - sp.exp(t), F)
    assert is_identically_zero(sp.exp(t + u) - sp.exp(t) * sp.exp(u), F)


def test_non_identities_are_not_zero():
    assert not is_identically_zero(F.apply("σ", [t], primes=1) - sigma(t) * (1 + sigma(t)), F)
    assert not is_identically_zero(sp.tanh(t) - (2 * sigma(t) - 1), F)
    assert not is_identically_zero(sp.exp(t) - sp.exp(u), F)


def test_rational_form_has_no_exponentials_left():
    form = rational_form(sp.tanh(t) + sigma(3 * t), F)
    assert not form.has(sp.exp) and not form.has(sp.tanh)
