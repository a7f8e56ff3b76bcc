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


def test_a_difference_that_exists_on_no_region_is_not_zero():
    import pytest

    from derive.zero import NowhereDefined, zero_regions

    tie = (t + 1) ** 2 - t**2 - 2 * t - 1  # 0 everywhere, not written so
    derivative = F.apply("relu", [tie], primes=1)
    with pytest.raises(NowhereDefined):
        zero_regions(derivative, F)
    assert not is_identically_zero(derivative, F)


def test_ties_are_proved_by_solving_them():
    from derive.zero import zero_regions_excluded

    u2 = F.apply("max", [t, u]) - (t + u + sp.sqrt((t - u) ** 2)) / 2
    assert zero_regions_excluded(u2, F) == (3, 0)  # t < u, t = u (u := t), t > u
    step_ge = F.expand_definitions(sp.Piecewise((1, t >= 0), (0, True)))
    step_gt = sp.Piecewise((1, t > 0), (0, True))
    assert zero_regions_excluded(step_ge - step_gt, F) is None  # they differ at t = 0
    relu_identity = F.apply("relu", [t]) - t * F.apply("relu", [t], primes=1)
    assert zero_regions_excluded(relu_identity, F) == (2, 1)  # relu' does not exist at 0
