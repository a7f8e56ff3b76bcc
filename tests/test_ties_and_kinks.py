"""Issue 9, cases 1, 7 and 8, and their kind: ties that hold everywhere, kinks not
recognised, piecewise functions that differ on a boundary only, rules wrongly undefined,
and valid scalar rules that ended in an internal error. Each gets its true verdict."""

from fractions import Fraction
from pathlib import Path

import pytest

from tests.conftest import verdicts_of

STEPS = """function sge(x) = 1 if x >= 0 else 0
function sgt(x) = 1 if x > 0 else 0
function hpi(x) = x if x > π else 0
function hpige(x) = x if x >= π else 0
function hsq(x) = 1 if x > sqrt(2) else 0
function hsqge(x) = 1 if x >= sqrt(2) else 0
function hex(x) = 1 if exp(x) > 2 else 0
function hexge(x) = 1 if exp(x) >= 2 else 0
function ab(t) = sqrt(t^2)
function q(t) = t^2 if t > 0 else 0
function c3(t) = t^3 if t > 0 else 0
function jump(t) = t if t > 0 else t + 1
function lone(t) = 0 if t < 0 else 1 if t <= 0 else 0
function p32(t) = sqrt(t^2)^3
function p12(t) = sqrt(sqrt(t^2))
function same(x) = x if x > 0 else x
function rsq(t) = relu(t)^2
function ipi(x) = x - π if x > π else 0
function sq2(x) = (x - sqrt(2))^2 if x > sqrt(2) else 0
function odd(t) = t^2 if t > 0 else -t^2
function pole(t) = 1/t if t > 0 else 0
function cont1(t) = t^2 if t >= 1 else 2t - 1
function jump1(t) = t^2 if t >= 1 else 2t
"""

SCALAR = {  # rule: (verdict, how)
    # 1. a comparison that ties everywhere
    "max((x + 1)^2, x^2 + 2 x + 1) = 0": ("refuted", "counterexample"),
    "relu((x+1)^2 - x^2 - 2x - 1) = 42": ("refuted", "counterexample"),
    "min((x + 1)^2, x^2 + 2 x + 1) = 5": ("refuted", "counterexample"),
    "max((x + 1)^2, x^2 + 2 x + 1) = (x + 1)^2": ("proved", "symbolic"),
    "relu'((x+1)^2 - x^2 - 2x - 1) = 0": ("undefined", "kink"),
    "relu'((x+1)^2 - x^2 - 2x - 1) = relu'((x+1)^2 - x^2 - 2x - 1)": ("undefined", "kink"),
    "hardtanh'((x+1)^2 - x^2 - 2x) = 0": ("undefined", "kink"),
    # 8. functions that differ on a boundary only, rational and irrational
    "sge(x) = sgt(x)": ("refuted", "counterexample"),
    "sge(x) + sge(-x) = 1": ("refuted", "counterexample"),
    "sge(x) + sgt(-x) = 1": ("proved", "symbolic"),
    "hpi(x) = hpige(x)": ("refuted", "counterexample"),
    "hsq(x) = hsqge(x)": ("refuted", "counterexample"),
    "hex(x) = hexge(x)": ("refuted", "counterexample"),
    "hardtanh(x) = max(-1, min(1, x)) + sge(x - 1) - sgt(x - 1)": ("refuted", "counterexample"),
    # true value rules with ties: proved on the ties too
    "max(x, y) = (x + y + sqrt((x - y)^2))/2": ("proved", "symbolic"),
    "max(x y, 1) = max(1, x y)": ("proved", "symbolic"),
    "max(x^2 + y^2, 1) = max(1, x^2 + y^2)": ("proved", "symbolic"),  # a circle of ties, both branches
    "max(x^2 + y^2, 1) = max(1, x^2 + y^2) + sge(x^2 + y^2 - 1) - sgt(x^2 + y^2 - 1)": ("refuted", "counterexample"),
    "relu(relu(x)) = relu(x)": ("proved", "symbolic"),
    "hardtanh(x) = min(1, max(-1, x))": ("proved", "symbolic"),
    # 7. kinks not recognised, and derivatives that do exist
    "ab'(0) = 0": ("undefined", "kink"),
    "ab'(1) = 1": ("proved", "symbolic"),
    "p12'(0) = 0": ("undefined", "kink"),
    "p32'(0) = 0": ("proved", "symbolic"),
    "sqrt'(0) = 0": ("undefined", "kink"),
    "hardtanh'(1) = 0": ("undefined", "kink"),
    "hardσ'(-2) = 0": ("undefined", "kink"),
    "relu''(0) = 0": ("undefined", "kink"),
    "jump'(0) = 1": ("undefined", "kink"),
    "lone'(0) = 0": ("undefined", "kink"),
    "sgt'(0) = 0": ("undefined", "kink"),
    "q'(0) = 0": ("proved", "symbolic"),
    "q''(0) = 0": ("undefined", "kink"),
    "c3''(0) = 0": ("proved", "symbolic"),
    "same'(0) = 1": ("proved", "symbolic"),  # equal pieces: no kink
    "diff(sqrt(x^2), x) = x/sqrt(x^2)": ("proved", "symbolic"),
    "diff(sqrt(x^2), x) = 1": ("refuted", "counterexample"),
    "rsq'(0) = 0": ("proved", "symbolic"),
    "rsq''(0) = 0": ("undefined", "kink"),
    "relu'(0) * 0 = 0": ("undefined", "kink"),
    "ipi'(π) = 0": ("undefined", "kink"),  # a kink at an irrational point
    "sq2'(sqrt(2)) = 0": ("proved", "symbolic"),
    "odd'(0) = 0": ("proved", "symbolic"),
    "odd''(0) = 0": ("undefined", "kink"),
    "pole'(0) = 0": ("undefined", "kink"),
    "cont1'(1) = 2": ("proved", "symbolic"),
    "jump1'(1) = 2": ("undefined", "kink"),  # equal slopes, but a jump
    "x/(exp(x) - 1) ≈ 1 - x/2 at x = 0 order 2": ("proved", "symbolic"),
    "x/(exp(x) - 1) ≈ 1 + x/2 at x = 0 order 2": ("refuted", "counterexample"),
    # series at a removable singularity and at kinks
    "(exp(x) - 1)/x ≈ 1 at x = 0 order 1": ("proved", "symbolic"),
    "(exp(x) - 1)/x ≈ 1 + x/2 at x = 0 order 2": ("proved", "symbolic"),
    "(exp(x) - 1)/x ≈ 1 + x at x = 0 order 2": ("refuted", "counterexample"),
    "q(x) ≈ 0 at x = 0 order 2": ("proved", "symbolic"),
    "ab(x) ≈ 0 at x = 0 order 2": ("undefined", "kink"),
    "sgt(x) ≈ 1 at x = 0 order 1": ("undefined", "kink"),
    "ipi(x) ≈ 0 at x = π order 2": ("undefined", "kink"),
    "relu(x) ≈ x at x = 1 order 3": ("proved", "symbolic"),
    # internal errors before
    "log(sqrt(x)) = log(x)/2": ("proved", "symbolic"),
    "hpi(x) = x": ("refuted", "counterexample"),
    "hsq(x) = hsq(x) + 0": ("proved", "symbolic"),
    "hex(x) = 1": ("refuted", "counterexample"),
    "exp(10^16 a) = exp(10^16 a)": ("proved", "symbolic"),
    "exp(10^16 a) = 2 exp(10^16 a)": ("refuted", "counterexample"),
}


@pytest.mark.parametrize("rule", SCALAR)
def test_scalar_rule_gets_its_true_verdict(rule):
    v = verdicts_of(STEPS + f"rule r: {rule}")["r"]
    assert (v.verdict, v.how) == SCALAR[rule], v.detail


def test_a_boundary_counterexample_is_the_exact_boundary_point():
    v = verdicts_of(STEPS + "rule r: sge(x) = sgt(x)")["r"]
    assert dict(v.counterexample.inputs) == {"x": "0"}
    assert "region x = 0" in v.counterexample.instance
    assert (v.counterexample.lhs, v.counterexample.rhs) == ("1", "0")
    v = verdicts_of(STEPS + "rule r: hpi(x) = hpige(x)")["r"]
    assert dict(v.counterexample.inputs) == {"x": "pi"}


def test_a_rule_defined_nowhere_proves_nothing():
    v = verdicts_of("rule r: log(-x^2 - 1) = log(-x^2 - 1)")["r"]
    assert v.verdict != "proved" and "no point" in v.detail
    assert verdicts_of("rule r: log(x - 5) = log(x - 5)")["r"].verdict == "proved"  # found outside [-2, 2]


GRAPHS = """function lk(x) = x if x > 0 else 0.01 x
graph tie {
    input a, b
    u = (a+b)^2
    v = a^2 + 2 a b + b^2
    m = max(u, v)
    rule m0: m = 0
    rule mu: m = u
    wrong rule dm0: dm/da = 0
}
graph norm {
    input a = 0
    J = ‖a‖
    rule dJ: dJ/da = 0
}
graph norm2 {
    input a = 0, b = 0
    J = ‖[a, b]‖
    rule dJ: dJ/da = 0
}
graph norm34 {
    input a = 3, b = 4
    J = ‖[a, b]‖
    rule dJ: dJ/da = 3/5
}
graph relu0 {
    input w = 1, x = 0, b = 0
    z = w x + b
    a = relu(z)
    rule dz: da/dz = 0
    rule value: a = 0
    wrong rule value1: a = 1
}
graph step0 {
    input a = 0
    s = 1 if a >= 0 else 0
    rule value: s = 1
    wrong rule value0: s = 0
    rule ds: ds/da = 0
}
graph steep {
    input a
    J = exp(10^16 a)
    rule dJ: dJ/da = 10^16 J
    wrong rule dJ15: dJ/da = 10^15 J
}
graph hard {
    input t = 0
    h = hardtanh(t + 1)
    rule dh: dh/dt = 1
}
graph join {
    input a = 0, c = 2
    q = a^2 if a > 0 else 0
    J = c q + a
    rule dq: dq/da = 0
    rule dJ: dJ/da = 1
    wrong rule dJ0: dJ/da = 0
    wrong rule dq1: dq/da = 1
}
graph leaky {
    input a = 0, b = 1
    J = lk(a) + lk(b)
    rule dJa: dJ/da = 1
    rule dJb: dJ/db = 1
}
graph smoothmax {
    input a = 0, b = 0
    J = max(a, b)^2
    P = a relu(a)
    rule dJ: dJ/da = 0
    rule dP: dP/da = 0
    wrong rule dP1: dP/da = 1
}
graph corner {
    input a = 0
    k = 2 a if a > 0 else -a
    rule dk: dk/da = 2
}
"""

GRAPH_VERDICTS = {  # dm0: m = max(u, u); ∂m/∂u alone does not exist there, dm/da does (undecided)
    ("tie", "m0"): "refuted", ("tie", "mu"): "proved", ("tie", "dm0"): "undecided",
    ("norm", "dJ"): "undefined", ("norm2", "dJ"): "undefined", ("norm34", "dJ"): "proved",
    ("relu0", "dz"): "undefined", ("relu0", "value"): "proved", ("relu0", "value1"): "refuted",
    ("step0", "value"): "proved", ("step0", "value0"): "refuted", ("step0", "ds"): "undefined",
    ("steep", "dJ"): "proved", ("steep", "dJ15"): "refuted",
    ("hard", "dh"): "undefined",
    ("join", "dq"): "proved", ("join", "dJ"): "proved", ("join", "dJ0"): "refuted", ("join", "dq1"): "refuted",
    ("corner", "dk"): "undefined", ("smoothmax", "dJ"): "proved", ("smoothmax", "dP"): "proved",
    ("smoothmax", "dP1"): "refuted", ("leaky", "dJa"): "undefined", ("leaky", "dJb"): "proved",
}


def test_graph_rules_at_ties_and_kinks():
    from derive.api import check_source

    got = {(v.context, v.rule): v for v in check_source(GRAPHS, "test.deriv", timeout=None)}
    assert {k: v.verdict for k, v in got.items()} == GRAPH_VERDICTS, {k: v.detail for k, v in got.items()}
    assert all(v.how != "internal" for v in got.values())
    cx = got[("tie", "m0")].counterexample
    assert "tie everywhere" in cx.instance and Fraction(cx.lhs) != 0


def test_relu_network_rules_still_proved_with_ties_in_the_regions():
    text = """network r {
    layers 2, 2, 2
    activation relu
    loss C = ½‖y − aᴸ‖²
    rule BP1: δᴸ = (aᴸ − y) ⊙ relu'(zᴸ)
    rule value: aᴸ = relu(zᴸ)
    wrong rule noderiv: δᴸ = aᴸ − y
}"""
    verdicts = verdicts_of(text)
    assert verdicts["BP1"].verdict == verdicts["value"].verdict == "proved"
    assert verdicts["noderiv"].verdict == "refuted"


RULE_FILES = sorted((Path(__file__).parent / "rules").glob("*.deriv"))


@pytest.mark.parametrize("path", RULE_FILES, ids=[p.name for p in RULE_FILES])
def test_rule_files_of_boundaries_and_kinks_get_their_expected_verdicts(path):
    # Library-style files (meant for proofs/ once the README's rule count is updated).
    from derive.api import check_file

    verdicts = check_file(path, timeout=120)
    assert len(verdicts) >= 8
    wrong = [f"{v.rule}: {v.verdict} ({v.how}) {v.detail}" for v in verdicts if not v.ok]
    assert not wrong, "\n".join(wrong)


def test_a_rule_with_no_entries_is_never_proved(monkeypatch):
    from derive import verify

    monkeypatch.setattr(verify, "_claims", lambda *args, **kwargs: [])
    v = verdicts_of("rule r: x = x")["r"]
    assert v.verdict == "undecided" and "no entries" in v.detail
