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
    assert v.scope.sizes == ((2, 3, 2), (3, 2, 3)) and str(v.scope) == "sizes 2,3,2 and 3,2,3"
    assert "sizes" not in v.detail  # said once, in the scope


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
    # parsed and compiled in milliseconds (the limit covers that too), checked in far more than 0.5 s
    text = "rule slow: ((x+y+z+w)^2)^15 = (x^2+y^2+z^2+w^2+2x y+2x z+2x w+2y z+2y w+2z w)^15"
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


def test_second_size_set_notes_a_rule_true_only_at_the_declared_size():
    # With one softmax output, aᴸ ≡ 1 and C ≡ 0, so δᴸ = 0 holds at [2, 2, 1] only. The
    # rule is about the network declared: proved there; the second size set only adds a note.
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
    assert v.verdict == "proved" and v.counterexample is None
    assert v.scope.sizes == ((2, 2, 1),) and v.scope.failed_sizes == ((3, 3, 2),)
    assert str(v.scope) == "sizes 2,2,1 only (not 3,3,2)"
    assert "not at sizes 3,3,2: refuted (counterexample)" in v.detail


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


def test_without_an_interval_enclosure_the_fallback_says_so(monkeypatch):
    # Where mpmath has no interval version of a function, the 60-digit check stands in.
    # (d|t|/dt was such a case, sign(t); |t| is piecewise now, so one is made here.)
    from derive import numeric

    original = numeric._function

    def no_interval_tanh(ctx, name):
        if ctx is numeric.IV and name == "tanh":
            raise numeric.Unsupported("tanh in the interval context")
        return original(ctx, name)

    monkeypatch.setattr(numeric, "_function", no_interval_tanh)
    v = verdicts_of("wrong rule s: tanh(t) = 2")["s"]
    assert v.verdict == "refuted"
    assert v.counterexample.certified == "60-digit arithmetic (no interval enclosure)"
    assert verdicts_of("wrong rule s: diff(‖t‖, t) = 2")["s"].verdict == "refuted"


def test_float_noise_in_an_ill_conditioned_identity_never_refutes_it():
    # (X + 1)² − X² = 2X + 1 with X = exp(exp(exp(t² + 2))) ≈ 10⁷⁰²: at 30 or even 60
    # digits the left side is pure rounding noise (≈ 10¹³⁴⁴), so the screen sees a huge
    # difference. Interval enclosures of the two sides overlap, so no counterexample may
    # be claimed, and the exact test proves the identity.
    x = "exp(exp(exp(t^2 + 2)))"
    v = verdicts_of(f"rule s: ({x} + 1)^2 − {x}^2 = 2{x} + 1")["s"]
    assert (v.verdict, v.how) == ("proved", "symbolic")


# ---------------------------------------------------------------- the activation table, piecewise rules

STEP = "function step(x) = 1 if x > 0 else 0\n"
ACTIVATION_RULES = {  # one rule per activation: (rule, expected verdict)
    "logistic": ("σ'(x) = σ(x)(1 − σ(x))", "proved"),
    "tanh": ("tanh(x) = 2σ(2x) − 1", "proved"),
    "relu": ("relu'(x) = step(x)", "proved"),
    "lrelu": ("lrelu'(x, γ) = step(x) + γ (1 − step(x))", "proved"),
    "prelu": ("diff(prelu(x, γ), γ) = min(0, x)", "proved"),
    "elu": ("elu'(x, γ) = step(x) + (1 − step(x))(elu(x, γ) + γ)", "proved"),
    "softplus": ("softplus'(x) = σ(x)", "proved"),
    "hardσ": ("hardσ(x) = max(0, min(1, x/4 + 1/2))", "proved"),
    "hardtanh": ("hardtanh(x) = 2hardσ(2x) − 1", "proved"),
    "swish": ("swish'(x) = σ(x) + x σ(x)(1 − σ(x))", "proved"),
    "gelu": ("gelu'(x) = (1 + erf(x/sqrt(2)))/2 + x exp(−x²/2)/sqrt(2π)", "proved"),
    "gelutanh": ("gelutanh(x) = gelu(x)", "refuted"),  # an approximation, not an identity
    "softmax": ("diff(softmax([u, v])_1, u) = softmax([u, v])_1 softmax([u, v])_2", "proved"),
    "max": ("max(x, y) − min(x, y) = sqrt((x − y)²)", "proved"),
    "erf": ("erf(−x) = −erf(x)", "proved"),
}


@pytest.mark.parametrize("name", ACTIVATION_RULES)
def test_one_rule_per_activation(name):
    rule, expected = ACTIVATION_RULES[name]
    v = verdicts_of(STEP + f"rule r: {rule}")["r"]
    assert (v.verdict, v.how) == (expected, "symbolic" if expected == "proved" else "counterexample"), v.detail


def test_a_claim_wrong_on_one_region_only_is_refuted_in_that_region():
    v = verdicts_of("rule r: relu'(x) = 1")["r"]
    assert v.verdict == "refuted" and v.how == "counterexample"
    assert "region x < 0" in v.counterexample.instance
    assert Fraction(dict(v.counterexample.inputs)["x"]) < 0


def test_hardtanh_slope_claimed_on_too_wide_an_interval_is_refuted_between_1_and_2():
    text = "function band(x, c) = 0 if x < -c else 1 if x < c else 0\nrule r: hardtanh'(x) = band(x, 2)"
    v = verdicts_of(text)["r"]
    assert v.verdict == "refuted"
    assert 1 < abs(Fraction(dict(v.counterexample.inputs)["x"])) < 2


def test_piecewise_proofs_say_they_hold_on_each_region():
    v = verdicts_of("rule r: relu(x) = x relu'(x)")["r"]
    assert v.verdict == "proved" and "on each region (2" in v.detail


def test_a_derivative_at_a_kink_is_undefined_never_proved_or_refuted():
    verdicts = verdicts_of("rule a: relu'(0) = 0\nundefined rule b: relu'(0) = 1\nwrong rule c: relu'(0) = 5")
    assert all(v.verdict == "undefined" and v.how == "kink" for v in verdicts.values())
    assert not verdicts["a"].ok and verdicts["b"].ok and not verdicts["c"].ok


def test_a_tie_in_max_is_undefined():
    v = verdicts_of("graph g {\n input p = 1, q = 1\n m = max(p, q)\n rule r: dm/dp = 1\n}")["r"]
    assert (v.verdict, v.how) == ("undefined", "kink")


def test_series_claims_compare_taylor_coefficients():
    verdicts = verdicts_of("rule a: σ(x) ≈ x/4 + 1/2 at x = 0 order 2\n"
                           "rule b: σ(x) ≈ x/4 + 1/2 at x = 0 order 4\n"
                           "rule c: exp(x) ≈ e1 (1 + (x − 1)) at x = 1 order 2\n"
                           "rule d: relu(x) ≈ x at x = 0 order 2")
    assert verdicts["a"].verdict == "proved"
    assert verdicts["b"].verdict == "refuted" and "x^3" in verdicts["b"].counterexample.instance  # −x³/48
    assert verdicts["c"].verdict == "refuted"  # e1 is a free variable, not e
    assert (verdicts["d"].verdict, verdicts["d"].how) == ("undefined", "kink")


def test_relu_network_backprop_rules():
    text = """network r {
    layers 2, 3, 2
    activation relu
    loss C = ½‖y − aᴸ‖²
    rule BP1: δᴸ = (aᴸ − y) ⊙ relu'(zᴸ)
    rule BP2: for l in 1..L-1: δˡ = ((W^{l+1})ᵀ δ^{l+1}) ⊙ relu'(zˡ)
    wrong rule noderiv: δᴸ = aᴸ − y
}"""
    verdicts = verdicts_of(text)
    assert verdicts["BP1"].verdict == verdicts["BP2"].verdict == "proved"
    assert verdicts["noderiv"].verdict == "refuted"


def test_numeric_option_reports_finite_differences_as_evidence():
    from derive.api import check_source
    report = check_source(mlp("rule BP1: δᴸ = (aᴸ − y) ⊙ σ'(zᴸ)") + "rule s: relu'(x) = relu(x)/x\n",
                          timeout=None, numeric=True)
    for v in report:
        assert "largest relative error" in v.numeric and "not a proof" in v.numeric
        error = float(v.numeric.split("largest relative error ")[1].split()[0])
        assert error < 1e-15
    assert check_source("rule s: relu'(x) = relu(x)/x", timeout=None)["s"].numeric == ""


def test_prelu_network_slopes_are_per_unit_parameters():
    text = """network p {
    layers 2, 3, 2
    activation prelu
    loss C = ½‖y − aᴸ‖²
    rule g: for l in 1..L-1: ∂C/∂γˡ = ((W^{l+1})ᵀ δ^{l+1}) ⊙ min(0, zˡ)
    wrong rule noregion: ∂C/∂γᴸ = (aᴸ − y) ⊙ zᴸ
}"""
    verdicts = verdicts_of(text)
    # ∂prelu/∂γ keeps prelu's own condition (it does not involve γ): the same pieces as min(0, z)
    assert verdicts["g"].verdict == "proved" and "boundaries excluded" not in verdicts["g"].detail
    v = verdicts["noregion"]
    assert v.verdict == "refuted" and any(label.startswith("γ^2_") for label, _ in v.counterexample.inputs)


def test_cross_check_of_a_relu_network_skips_a_point_on_a_kink(monkeypatch):
    import random

    from derive import verify
    from derive.graphs import build_functions, compile_network
    from derive.model import load

    original = ScalarGraph.local_partial
    monkeypatch.setattr(ScalarGraph, "local_partial",  # a broken chain rule, so that a check that runs fails
                        lambda self, child, parent: 2 * original(self, child, parent))
    doc = load("network r {\n layers 1, 1, 1\n activation relu\n loss C = ½‖y − aᴸ‖²\n}")
    compiled = compile_network(doc.networks["r"], (1, 1, 1), build_functions(doc.functions))
    target = verify._Target(compiled, [])
    # z¹ = w x + b = (1/5)(1/2) − 1/10 = 0: relu' does not exist there, so nothing is compared
    on_kink = {("x", 1): Fraction(1, 2), ("W", 1, 1, 1): Fraction(1, 5), ("b", 1, 1): Fraction(-1, 10),
               ("W", 2, 1, 1): Fraction(1, 2), ("b", 2, 1): Fraction(3, 10), ("y", 1): Fraction(1, 2)}
    verify._cross_check(target, verify._Point(target, on_kink, {}), random.Random(0))
    off_kink = {**on_kink, ("b", 1, 1): Fraction(1, 10)}
    with pytest.raises(RuntimeError, match="cross-check"):
        verify._cross_check(target, verify._Point(target, off_kink, {}), random.Random(0))


def test_the_shortcut_past_hopeless_stages_only_skips_nonzero_ones():
    # _clearly_nonzero may only say True for an expression that is not 0 with its symbols
    # independent; a true zero (however written) must never be skipped.
    from derive.verify import _clearly_nonzero

    t, d = sp.Symbol("t", real=True), sp.Symbol("∂C/∂z", real=True)
    assert _clearly_nonzero(d * sp.tanh(t) - sp.tanh(t))
    assert not _clearly_nonzero(d * (1 - sp.tanh(t) ** 2) - d * (1 - sp.tanh(t)) * (1 + sp.tanh(t)))
    assert not _clearly_nonzero(sp.exp(2 * t) - sp.exp(t) ** 2)


def test_cross_check_once_per_compiled_graph(monkeypatch):
    """The chain-rule cross-check is done once per compiled graph (both size sets of a
    network, a graph), not once per rule; every rule on it is still preceded by it."""
    from derive import verify
    calls = []
    original = verify._cross_check
    monkeypatch.setattr(verify, "_cross_check",
                        lambda target, point, rng: calls.append(target.compiled.sizes) or original(target, point, rng))
    text = mlp("rule BP1: δᴸ = (aᴸ − y) ⊙ σ'(zᴸ)\n    rule BP3: for l in 1..L: ∂C/∂bˡ = δˡ\n"
               "    rule BP4: for l in 1..L: ∂C/∂Wˡ = δˡ (aˡ⁻¹)ᵀ")
    verdicts = check_source(text, timeout=None)
    assert [v.verdict for v in verdicts] == ["proved"] * 3
    assert sorted(calls) == [(2, 3, 2), (3, 2, 3)]


@pytest.mark.parametrize("timeout", [None, 60])
def test_a_failed_cross_check_is_an_error_for_every_rule_on_that_graph(monkeypatch, timeout):
    """Done once in the parent, a failure still reaches every rule that depends on that
    graph (each checked in its own forked child when there is a time limit), and none else."""
    original = ScalarGraph.local_partial

    def broken(self, child, parent):
        d = original(self, child, parent)
        return 2 * d if child[0] == "a" else d

    monkeypatch.setattr(ScalarGraph, "local_partial", broken)
    text = mlp("rule BP3: for l in 1..L: ∂C/∂bˡ = δˡ\n    rule BP4: for l in 1..L: ∂C/∂Wˡ = δˡ (aˡ⁻¹)ᵀ") + \
        "rule dsigma: σ'(t) = σ(t)(1 − σ(t))\n"
    verdicts = {v.rule: v for v in check_source(text, timeout=timeout)}
    for name in ("BP3", "BP4"):
        assert verdicts[name].verdict == "error" and "cross-check failed" in verdicts[name].detail
    assert verdicts["dsigma"].verdict == "proved"


def test_cross_check_tries_further_points_where_the_graph_is_undefined(monkeypatch):
    """A point where the graph has no value compares nothing: the next one is tried."""
    from derive import verify
    seen = []

    def undefined_twice(target, point, rng):
        seen.append(point.inputs)
        if len(seen) < 3:
            return False  # as at a point where the graph is undefined
        raise RuntimeError("chain-rule cross-check failed for C: at the third point")

    monkeypatch.setattr(verify, "_cross_check", undefined_twice)
    compiled = verify.CompiledDocument(load_mlp()).networks["mlp"][0]
    assert verify._cross_check_result(compiled, dict(verify.DEFAULTS)).endswith("at the third point")
    assert len(seen) == 3 and len({tuple(sorted(p.items())) for p in seen}) == 3


def load_mlp():
    from derive.model import load
    return load(mlp("rule BP3: for l in 1..L: ∂C/∂bˡ = δˡ"))
