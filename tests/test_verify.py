"""verify.py: proved only by a symbolic proof, refuted only with a confirmed counterexample
or a shape mismatch, undecided otherwise (and under the time limit)."""

from fractions import Fraction

import pytest
import sympy as sp

from derive.api import check_source
from derive.graphs import ScalarGraph
from tests.conftest import mlp, verdicts_of


def test_true_rule_is_proved_symbolically():
    v = verdicts_of(mlp("rule BP3: for l in 1..L: ∂C/∂bˡ = δˡ"))["BP3"]
    assert (v.verdict, v.how) == ("proved", "symbolic")
    assert "difference ≡ 0" in v.detail
    assert v.ok and v.counterexample is None
    assert v.evidence.startswith("numeric:")  # the screen ran before the proof


def test_both_size_sets_are_checked_by_default():
    v = verdicts_of(mlp("rule BP3: for l in 1..L: ∂C/∂bˡ = δˡ"))["BP3"]
    assert "sizes 2,3,2 and 3,2,3" in v.detail


def test_wrong_rule_is_refuted_with_exact_counterexample():
    v = verdicts_of("wrong rule s: σ'(t) = σ(t)(1 + σ(t))")["s"]
    assert (v.verdict, v.how) == ("refuted", "counterexample")
    cx = v.counterexample
    (name, value), = cx.inputs
    assert name == "t"
    t = Fraction(value)  # exact rational input
    sigma = 1 / (1 + sp.exp(-sp.Rational(t.numerator, t.denominator)))
    assert abs(sp.Float(cx.lhs) - (sigma * (1 - sigma)).evalf(30)) < 1e-12
    assert abs(sp.Float(cx.rhs) - (sigma * (1 + sigma)).evalf(30)) < 1e-12
    assert v.ok  # it was marked wrong


def test_counterexample_names_layer_and_component():
    text = mlp("wrong rule swap: for l in 1..L: ∂C/∂wˡⱼₖ = aˡ⁻¹ⱼ δˡₖ", sizes="3, 3, 3") \
        .replace("loss C", "also layers none\n    loss C")
    v = verdicts_of(text)["swap"]
    assert v.verdict == "refuted"
    assert "l=" in v.counterexample.instance and "j=" in v.counterexample.instance
    assert v.counterexample.sizes == (3, 3, 3)
    labels = dict(v.counterexample.inputs)
    assert "w^1_11" in labels and "b^2_1" in labels and "y_1" in labels


def test_missing_transpose_is_refuted_with_both_shapes():
    v = verdicts_of(mlp("wrong rule noT: δ¹ = (W² δ²) ⊙ σ'(z¹)"))["noT"]
    assert (v.verdict, v.how) == ("refuted", "shape")
    assert "2×3" in v.detail and "2×1" in v.detail


def test_sides_of_different_shapes_are_refuted():
    v = verdicts_of(mlp("rule r: δᴸ = a¹"))["r"]
    assert (v.verdict, v.how) == ("refuted", "shape")
    assert "2×1" in v.detail and "3×1" in v.detail
    assert not v.ok  # expected proved


def test_numeric_agreement_alone_is_undecided_never_proved():
    # True for every t, but log(2 + eᵗ) and log(1 + eᵗ/2) are different generators to the
    # rational zero test: it cannot show this, so the verdict must stay undecided.
    v = verdicts_of("rule logs: log(2 + exp(t)) − log(1 + exp(t)/2) = log(2)")["logs"]
    assert (v.verdict, v.how) == ("undecided", "unproved")
    assert "numeric" in v.detail and "agree" in v.detail


def test_time_limit_is_reported():
    text = mlp("rule BP4: for l in 1..L: ∂C/∂Wˡ = δˡ (aˡ⁻¹)ᵀ", sizes="30, 30, 30")
    v = check_source(text, "slow.deriv", timeout=0.5)[0]
    assert (v.verdict, v.how) == ("undecided", "time limit")
    assert "time limit of 0.5 s" in v.detail
    assert v.seconds < 10


def test_limited_run_gives_the_same_verdict_as_in_process():
    text = mlp("rule BP1: δᴸ = (aᴸ − y) ⊙ σ'(zᴸ)\nwrong rule bad: δᴸ = aᴸ − y")
    limited = {v.rule: v for v in check_source(text, "t.deriv", timeout=60)}
    direct = verdicts_of(text)
    for name in ("BP1", "bad"):
        assert (limited[name].verdict, limited[name].how) == (direct[name].verdict, direct[name].how)


def test_second_size_set_catches_a_rule_true_only_at_the_declared_size():
    # With one softmax output, aᴸ ≡ 1 and C ≡ 0, so δᴸ = 0 holds at [2, 2, 1] only.
    net = """network n {
    layers 2, 2, 1
    activation σ
    activation softmax at L
    loss C = −Σ(y ⊙ log(aᴸ))
    %s
    rule r: δᴸ = 0 zᴸ
}
"""
    assert verdicts_of(net % "also layers none")["r"].verdict == "proved"
    v = verdicts_of(net % "")["r"]
    assert v.verdict == "refuted" and v.counterexample.sizes == (3, 3, 2)


def test_assumption_is_needed_and_used():
    net = """network n {
    layers 2, 3
    activation softmax
    loss C = −Σ(y ⊙ log(aᴸ))
    %s
    rule r: ∂C/∂zᴸ = aᴸ − y
}
"""
    assert verdicts_of(net % "assume Σ y = 1")["r"].verdict == "proved"
    assert verdicts_of(net % "")["r"].verdict == "refuted"


def test_unexpectedly_proved_rule_is_not_ok():
    v = verdicts_of("wrong rule r: tanh'(t) = 1 − tanh(t)^2")["r"]
    assert v.verdict == "proved" and v.expected == "refuted" and not v.ok


def test_broken_chain_rule_is_caught_by_the_cross_check(monkeypatch):
    """If the derivation machinery itself were wrong, no rule may come out proved."""
    original = ScalarGraph.local_partial

    def broken(self, child, parent):
        d = original(self, child, parent)
        return 2 * d if child[0] == "a" else d

    monkeypatch.setattr(ScalarGraph, "local_partial", broken)
    # With the broken partial, BP1 in its σ'-free form would "prove" a wrong factor 2.
    v = verdicts_of(mlp("rule r: δᴸ = 2 (aᴸ − y) ⊙ σ'(zᴸ)"))["r"]
    assert v.verdict == "error" and "cross-check" in v.detail


def test_graph_rule_counterexample_shows_given_values():
    v = verdicts_of("""graph J {
    input a = 5, b = 3, c = 2
    u = b c
    v = a + u
    J = 3 v
    wrong rule r: dJ/db = 3
}
""")["r"]
    assert v.verdict == "refuted"
    assert dict(v.counterexample.inputs) == {"a": "5", "b": "3", "c": "2"}
    assert (v.counterexample.lhs, v.counterexample.rhs) == ("6", "3")


def test_verdict_to_dict_is_plain_data():
    v = verdicts_of("wrong rule s: tanh(t) = 2σ(t) − 1")["s"]
    d = v.to_dict()
    assert d["verdict"] == "refuted" and d["expected"] == "refuted"
    assert isinstance(d["counterexample"]["inputs"], dict)


@pytest.mark.parametrize("rule, verdict", [
    ("rule r: ∂(t^3)/∂t = 3t^2", "proved"),
    ("rule r: diff(exp(2t), t) = 2exp(2t)", "proved"),
    ("wrong rule r: diff(exp(2t), t) = exp(2t)", "refuted"),
    ("rule r: Σ softmax([u, v, w]) = 1", "proved"),
    ("rule r: softmax([u, v])_2 = σ(v − u)", "proved"),
])
def test_scalar_calculus(rule, verdict):
    (v,) = check_source(rule, "s.deriv", timeout=None)
    assert v.verdict == verdict


def test_counterexamples_are_certified_by_interval_arithmetic():
    v = verdicts_of("wrong rule s: tanh(t) = 2σ(t) − 1")["s"]
    assert v.counterexample.certified == "interval arithmetic at 60 digits"
    assert "interval arithmetic" in v.detail


def test_without_an_interval_enclosure_the_fallback_says_so():
    # d|t|/dt is sign(t): mpmath has no interval version, so the 60-digit check stands in.
    v = verdicts_of("wrong rule s: diff(‖t‖, t) = 2")["s"]
    assert v.verdict == "refuted"
    assert v.counterexample.certified == "60-digit arithmetic (no interval enclosure)"


def test_float_noise_in_an_ill_conditioned_identity_never_refutes_it():
    # (X + 1)² − X² = 2X + 1 with X = exp(exp(exp(t² + 2))) ≈ 10⁷⁰²: at 30 or even 60
    # digits the left side is pure rounding noise (≈ 10¹³⁴⁴), so the screen sees a huge
    # difference. Interval enclosures of the two sides overlap, so no counterexample may
    # be claimed, and the exact test proves the identity.
    x = "exp(exp(exp(t^2 + 2)))"
    v = verdicts_of(f"rule s: ({x} + 1)^2 − {x}^2 = 2{x} + 1")["s"]
    assert (v.verdict, v.how) == ("proved", "symbolic")
