"""The independent audit (derive.audit): its interpreter agrees with known values, true
rules stay proved with it, and with the prover broken on purpose a false rule of every
kind comes out an error (how: audit), never proved."""

import math
import random
from fractions import Fraction

import mpmath
import pytest

import derive
from derive import audit, verify
from derive.model import load

# ---------------------------------------------------------------- the interpreter itself


def _graph_world(text: str, name: str) -> audit.PointWorld:
    doc = load(text)
    model = audit.GraphModel(doc.graphs[name], audit.Functions(doc.functions))
    point = {k: mpmath.mpf(v.numerator) / v.denominator for k, v in model.given().items()}
    return audit.PointWorld(model, point)


J_GRAPH = """graph J {
    input a = 5, b = 3, c = 2
    u = b c
    v = a + u
    J = 3 v
}"""


def test_interpreter_computation_graph_values_and_derivatives():
    with mpmath.workdps(audit.BASE_DPS):
        world = _graph_world(J_GRAPH, "J")
        assert world.value(("J", None)) == 33
        for source, expected in (("a", 3), ("b", 6), ("c", 9), ("u", 3), ("v", 3)):
            assert abs(world.derivative(("J", None), (source, None)) - expected) < 1e-30


def test_interpreter_functions():
    fns = audit.Functions({})
    with mpmath.workdps(audit.BASE_DPS):
        assert abs(fns.apply("σ", [mpmath.mpf(0)], 1) - mpmath.mpf(1) / 4) < 1e-30
        assert abs(fns.apply("sigma", [mpmath.mpf(0)], 2)) < 1e-25  # σ''(0) = 0
        assert abs(fns.apply("tanh", [mpmath.mpf(0)], 1) - 1) < 1e-30
        assert fns.apply("relu", [mpmath.mpf(-1)]) == 0 and fns.apply("relu", [mpmath.mpf(2)]) == 2
        assert fns.apply("lrelu", [mpmath.mpf(-2), mpmath.mpf(1) / 10]) == mpmath.mpf(-2) / 10
        assert fns.apply("max", [mpmath.mpf(1), mpmath.mpf(3), mpmath.mpf(2)]) == 3
        # GELU's tanh form (Hendrycks & Gimpel): ½x(1 + tanh(√(2/π)(x + 0.044715x³))), and Φ(1) = 0.8413447…
        assert float(fns.apply("gelutanh", [mpmath.mpf(1)])) == pytest.approx(
            0.5 * (1 + math.tanh(math.sqrt(2 / math.pi) * 1.044715)), rel=1e-15)
        assert abs(fns.apply("gelu", [mpmath.mpf(1)]) - mpmath.mpf("0.841344746068542948585232545632")) < 1e-25
        assert abs(fns.apply("hardσ", [mpmath.mpf(1)]) - mpmath.mpf(3) / 4) < 1e-30
        with pytest.raises(audit.Undefined):  # a kink: no derivative, never a guess
            fns.apply("relu", [mpmath.mpf(0)], 1)
        with pytest.raises(audit.Undefined):
            fns.apply("log", [mpmath.mpf(-1)])
        coefficients = audit.taylor(lambda t: fns.apply("σ", [t]), mpmath.mpf(0), 3)
        assert [float(c) for c in coefficients] == pytest.approx([0.5, 0.25, 0.0], abs=1e-15)


def test_interpreter_network_forward_pass():
    doc = load("network n {\n layers 1, 1\n activation σ\n loss C = ½‖y − aᴸ‖²\n}")
    with mpmath.workdps(audit.BASE_DPS):
        model = audit.NetworkModel(doc.networks["n"], (1, 1), audit.Functions({}))
        point = {("x", 1): mpmath.mpf(2), ("W", 1, 1, 1): mpmath.mpf(3), ("b", 1, 1): mpmath.mpf(-1),
                 ("y", 1): mpmath.mpf(1) / 2}
        world = audit.PointWorld(model, point)
        a = 1 / (1 + mpmath.exp(-5))
        assert abs(world.value(("a", 1, 1)) - a) < 1e-40
        assert abs(world.value(("C",)) - (a - mpmath.mpf(1) / 2) ** 2 / 2) < 1e-40
        # ∂C/∂W = (a − y) σ'(z) x
        expected = (a - mpmath.mpf(1) / 2) * a * (1 - a) * 2
        assert abs(world.derivative(("C",), ("W", 1, 1, 1)) - expected) < 1e-30


# ---------------------------------------------------------------- true rules stay proved


TRUE_RULES = """network mlp {
    layers 2, 3, 2
    activation σ
    loss C = ½‖y − aᴸ‖²
    rule BP1: δᴸ = (aᴸ − y) ⊙ σ'(zᴸ)
    rule BP2: for l in 1..L-1: δˡ = ((W^{l+1})ᵀ δ^{l+1}) ⊙ σ'(zˡ)
    rule BP4c: for l in 1..L: ∂C/∂wˡⱼₖ = aˡ⁻¹ₖ δˡⱼ
}
network soft {
    layers 2, 3
    activation softmax
    loss C = −Σ(y ⊙ log(aᴸ))
    assume Σ y = 1
    rule "p − y": δᴸ = aᴸ − y
}
graph J {
    input a = 5, b = 3, c = 2
    u = b c
    v = a + u
    J = 3 v
    rule "dJ/db = 6": dJ/db = 6
}
function step(x) = 1 if x > 0 else 0
rule dsigma: σ'(t) = σ(t)(1 − σ(t))
rule "relu' = step": relu'(x) = step(x)
rule taylor: tanh(x) ≈ x − x³/3 at x = 0 order 5
"""


def test_true_rules_are_proved_and_say_the_audit_ran():
    report = derive.check_source(TRUE_RULES)
    for v in report:
        assert v.verdict == "proved", (v.rule, v.verdict, v.how, v.detail)
        assert "audit:" in v.detail and "agree" in v.detail, v.detail


# ---------------------------------------------------------------- a broken prover is caught


@pytest.fixture
def broken_prover(monkeypatch):
    """The screens find nothing (the numeric one and the exact one at ties, which also
    claims every entry was seen defined) and every claim is 'proved' (steps, (regions,
    regions left out)): only the audit stands between a false rule and the verdict proved."""
    def screen(target, points, settings):
        target.checked |= set(range(len(target.claims)))
        return len(points), mpmath.mpf(0)

    monkeypatch.setattr(verify, "_screen", screen)
    monkeypatch.setattr(verify, "_exact_screen", lambda target, rng, settings: set(range(len(target.claims))))
    monkeypatch.setattr(verify, "_prove", lambda target, claim: (0, (1, 0)))
    monkeypatch.setattr(verify, "_cross_check", lambda target, point, rng: None)


FALSE_RULES = {
    "network BP2 without the transpose": """network n {
        layers 2, 2, 2
        activation σ
        loss C = ½‖y − aᴸ‖²
        rule r: for l in 1..L-1: δˡ = (W^{l+1} δ^{l+1}) ⊙ σ'(zˡ)
    }""",
    "graph derivative off by a factor": """graph J {
        input a, b, c
        u = b c
        v = a + u
        J = 3 v
        rule r: dJ/db = 2c
    }""",
    "scalar identity off by a constant": "rule r: tanh(t) = 2σ(2t)",
    "scalar derivative off by a constant": "rule r: σ'(t) = σ(t)(1 − σ(t)) + 1/1000",
    "piecewise rule wrong on one region": "rule r: relu(x) = x",
    "piecewise rule wrong on a boundary only":
        "function f(x) = 1 if x >= 0 else 0\nfunction g(x) = 1 if x > 0 else 0\nrule r: f(x) = g(x)",
    "series coefficient wrong": "rule r: σ(x) ≈ x/2 + 1/2 at x = 0 order 2",
    "a tie that holds everywhere": "rule r: max((x + 1)^2, x^2 + 2 x + 1) = 0",
    "relu of a difference that cancels": "rule r: relu((x+1)^2 - x^2 - 2x - 1) = 42",
    "wrong only at the second size set": """network n {
        layers 1, 1
        also layers 2, 2
        activation σ
        loss C = ½‖y − aᴸ‖²
        rule r: Σ(x ⊙ x) = (Σ x)²
    }""",
    "tensor graph, d-notation": """graph g {
        input w[2], x[2], b
        z = wᵀ x + b
        L = 3 z
        rule r: dL/db = 0
    }""",
    "a declared δ is not Kronecker's": """graph g {
        input delta[2,2]
        J = delta_{1,2} + delta_{2,1}
        rule r: J = 0
    }""",
}


@pytest.mark.parametrize("case", sorted(FALSE_RULES))
def test_broken_prover_false_rule_is_an_audit_error(broken_prover, case):
    v = derive.check_source(FALSE_RULES[case])["r"]
    assert v.verdict == "error" and v.how == "audit", (v.verdict, v.how, v.detail)
    assert "left =" in v.detail and "right =" in v.detail


def test_audit_error_names_the_second_size_set(broken_prover):
    v = derive.check_source(FALSE_RULES["wrong only at the second size set"])["r"]
    assert "sizes 2,2" in v.detail, v.detail


def test_broken_prover_true_rules_still_proved(broken_prover):
    report = derive.check_source(TRUE_RULES)
    assert all(v.verdict == "proved" for v in report), [(v.rule, v.verdict, v.detail) for v in report]


def test_a_derivative_at_a_kink_is_never_proved_by_a_broken_prover(broken_prover):
    v = derive.check_source("graph g {\n input a = 0\n J = sqrt(a^2)\n rule r: dJ/da = 0\n}")["r"]
    assert v.verdict == "undecided" and v.how == "unaudited", (v.verdict, v.how, v.detail)


def test_audit_points_are_exact_rationals_off_the_prover_grid():
    import random
    model = audit._ScalarModel(["x", "y"])
    points = [p for p, _ in audit._samples(model, random.Random(1), 3, special=2)]
    assert len(points) >= 4 and all(isinstance(v, Fraction) for p in points for v in p.values())
    assert {"x": Fraction(0), "y": Fraction(0)} in points  # boundaries of pieces often sit at 0


# ---------------------------------------------------------------- true rules the audit must read right


def _audit_all(text: str) -> dict:
    doc = load(text)
    out = {}
    for r in doc.all_rules():
        if r.context is None:
            targets = [audit.Target("scalar")]
        elif r.context in doc.graphs:
            targets = [audit.Target("graph", doc.graphs[r.context])]
        else:
            net = doc.networks[r.context]
            targets = [audit.Target("network", net, net.sizes)]
        out[r.name] = audit.audit_rule(r, targets, doc.functions)
    return out


AUDIT_READS = """network w1 {
    layers 2, 1, 1
    activation σ
    loss C = ½‖y − aᴸ‖²
    rule "BP4c, width 1": for l in 1..L: ∂C/∂wˡⱼₖ = aˡ⁻¹ₖ δˡⱼ
    rule "vector = 0": aᴸ − aᴸ = 0
}
network ce {
    layers 2, 3, 2
    activation σ
    loss C = −Σ(y ⊙ log(aᴸ))
    rule "entrywise y / a": ∂C/∂aᴸ = −(y / aᴸ)
}
graph g {
    size T = 3
    input W[2,2]
    J = Σ W
    rule "an empty inner sum": Σ_{t=1}^{T} Σ_{k=1}^{t-1} W = 3W
}
function q(t) = t^2 if t > 0 else 0
function hp(x) = x if x > π else 0
function hq(x) = 0 if x <= π else x
rule "x_1 + x_2": x_1 + x_2 = x_2 + x_1
rule "q'(0) = 0": q'(0) = 0
rule "log sqrt": log(sqrt(x)) = log(x)/2
rule "π in a condition": hp(x + 3) = hq(x + 3)
rule "removable singularity": (exp(x) − 1)/x ≈ 1 + x/2 at x = 0 order 2
rule "ill-conditioned": (exp(exp(exp(t^2 + 2))) + 1)^2 − exp(exp(exp(t^2 + 2)))^2 = 2exp(exp(exp(t^2 + 2))) + 1
"""


def test_audit_reads_true_rules_as_true():
    for name, result in _audit_all(AUDIT_READS).items():
        assert not result.disagreement and not result.unaudited and result.points > 0, (name, result)


def test_audit_finds_a_wrong_series_coefficient_and_a_wrong_scripted_variable():
    results = _audit_all("rule a: (exp(x) − 1)/x ≈ 1 + x at x = 0 order 2\nrule b: x_1 + x_2 = x_2 + 2 x_1")
    assert "coefficient of x^1" in results["a"].disagreement
    assert "x_1=" in results["b"].disagreement


# ---------------------------------------------------------------- issue 9: false proofs, with the real prover


ISSUE_9_FALSE = {  # the audit is the safety net: whatever the prover concludes, never "proved"
    "1 a tie everywhere": "rule r: max((x + 1)^2, x^2 + 2 x + 1) = 0",
    "1 relu of a tie": "rule r: relu((x+1)^2 - x^2 - 2x - 1) = 42",
    "1 a tie in a graph": "graph g {\n input a, b\n u = (a+b)^2\n v = a^2 + 2 a b + b^2\n m = max(u, v)\n"
                          " rule r: m = 0\n}",
    "2 d-notation on a tensor graph": "graph g {\n input w[2], x[2], b\n z = wᵀ x + b\n L = 3 z\n rule r: dL/db = 0\n}",
    "3 a declared δ": "graph g {\n input delta[2,2]\n J = delta_{1,2} + delta_{2,1}\n rule r: J = 0\n}",
    "5 a quantifier named L": "network n {\n layers 2,2,2,2\n activation σ\n loss C = ½‖y − aᴸ‖²\n"
                              " rule r: for L in 2..2: δ^L = (a^L − y) ⊙ σ'(z^L)\n}",
    "6 let C = 0": "network n {\n layers 2,2\n activation σ\n loss C = ½‖y − aᴸ‖²\n let C = 0\n rule r: C = 0\n}",
    "7 a kink of the norm": "graph g {\n input a = 0\n J = ‖a‖\n rule r: dJ/da = 0\n}",
    "8 a boundary": "function f(x) = 1 if x >= 0 else 0\nfunction g(x) = 1 if x > 0 else 0\nrule r: f(x) = g(x)",
}


@pytest.mark.parametrize("case", sorted(ISSUE_9_FALSE))
def test_issue_9_false_rules_are_never_proved(case):
    try:
        v = derive.check_source(ISSUE_9_FALSE[case])["r"]
    except derive.DeriveError:
        return  # bad input (a shadowed name) is a fine answer too
    assert v.verdict != "proved", (v.verdict, v.how, v.detail)


def test_scripted_variables_under_a_quantifier():
    results = _audit_all("rule q: for i in 1..2: x_i + x_{3-i} = x_1 + x_2\nrule w: for i in 1..2: x_i = x_1")
    assert results["q"].points > 0 and not results["q"].disagreement and not results["q"].unaudited
    assert "at i=2" in results["w"].disagreement


# ---------------------------------------------------------------- the shapes conventions, read by the audit too


AUDIT_SHAPES = """network n {
    layers 2, 3, 2
    activation σ
    loss C = ½‖y − aᴸ‖²
    rule "entrywise /": y / aᴸ = y ⊙ (1 / aᴸ)
    rule "a scalar by a tensor": (y / aᴸ) ⊙ aᴸ = y
    rule "a 1×1 in +": ((aᴸ)ᵀ aᴸ) + aᴸ = ‖aᴸ‖² + aᴸ
    rule "a 1×1 in ⊙": ((aᴸ)ᵀ aᴸ) ⊙ aᴸ = ‖aᴸ‖² aᴸ
    rule "a 1×1 in a literal": [(aᴸ)ᵀ aᴸ, 1] = [‖aᴸ‖², 1]
    rule "an empty sum in a network": for l in 1..L: zˡ + Σ_{k=1}^{l-1} zˡ = l zˡ
}
graph e {
    input W[2,2], x[2], w[2], v[1], u[1]
    J = Σ W
    r = wᵀ x if wᵀ x > 0 else 0
    rule "an empty sum's shape": (Σ_{k=1}^{0} W)_{1,2} = 0
    rule "a 1×1 exponent": 2^(wᵀ x) = 2^(w_1 x_1 + w_2 x_2)
    rule "a 1×1 among vectors": max(wᵀ x, x) = max(w_1 x_1 + w_2 x_2, x)
    rule "a 1×1 compared": r = max(wᵀ x, 0)
}
graph one {
    input W[2,1], x[1], V[1,2]
    z = W x
    J = Σ z
    rule "W_21 of a declared matrix": ∂J/∂W_21 = x_1
    rule "an entry of a 1×1 product": (V W)_11 = V_11 W_11 + V_12 W_21
}
function q(t) = t^2 if t > 0 else 0
rule "a matrix literal": [[a, b], [c, d]]ᵀ [1, 1] = [a + c, b + d]
rule "(x²)₁": x^{n}_1 = x_1^n
rule "x_{i+1}": x_{i+1} = x_{1+i}
rule "free and bound x_i": x_i + Σ_{i=1}^{2} x_i = x_i + x_1 + x_2
rule "∂ by x_1": ∂(x_1 x_2)/∂x_1 = x_2
rule "an expansion needing one derivative": q(x) ≈ 0 at x = 0 order 2
rule "defined only beyond 5": log(x - 5) = log(x - 5)
"""


def test_audit_reads_the_shapes_conventions():
    for name, result in _audit_all(AUDIT_SHAPES).items():
        assert not result.disagreement and not result.unaudited and result.points > 0, (name, result)


def test_audit_catches_false_rules_under_the_shapes_conventions():
    results = _audit_all(AUDIT_SHAPES.replace("∂J/∂W_21 = x_1", "∂J/∂W_21 = 2 x_1")
                         .replace("y / aᴸ = y ⊙ (1 / aᴸ)", "y / aᴸ = y ⊙ aᴸ")
                         .replace("[a + c, b + d]", "[a + b, c + d]")
                         .replace("x_{i+1} = x_{1+i}", "x_{i+1} = x_i")
                         .replace("x^{n}_1 = x_1^n", "x^{n}_1 = x_1^n + 1"))
    for name in ("W_21 of a declared matrix", "entrywise /", "a matrix literal", "x_{i+1}", "(x²)₁"):
        assert results[name].disagreement, (name, results[name])
    assert "W_{2,1}=" in results["W_21 of a declared matrix"].disagreement  # named as the matrix entry it is


def test_audit_finds_no_expansion_where_the_sides_differ():
    results = _audit_all("rule r: sqrt(x^2) ≈ 0 at x = 0 order 2")
    assert results["r"].points == 0 and not results["r"].disagreement  # |x| has no expansion of order 2 at 0


# ---------------------------------------------------------------- one entry moved at a time


@pytest.mark.parametrize("activation,loss", [
    ("σ", "½‖y − aᴸ‖²"),
    ("softmax", "−Σ(y ⊙ log(aᴸ))"),
    ("prelu", "½‖y − aᴸ‖²"),  # a parameter γˡⱼ per unit
    ("relu", "½‖y − aᴸ‖²"),
])
def test_moving_one_entry_gives_the_whole_forward_pass(activation, loss):
    """The audit's derivatives move one entry and recompute only what moves (the rows
    after it); every value must be what the whole forward pass gives at the moved point,
    for every kind of entry (x, W, b, γ, z, a) and every layer."""
    sizes = (3, 4, 2, 3)
    doc = load(f"network n {{\n layers {', '.join(map(str, sizes))}\n activation {activation}\n loss C = {loss}\n}}")
    rng = random.Random(7)
    with mpmath.workdps(90):
        model = audit.NetworkModel(doc.networks["n"], sizes, audit.Functions({}))
        inputs = {k: mpmath.mpf(rng.randint(-20, 20)) / 10 for k in model.input_keys()}
        inputs.update({("y", i): mpmath.mpf(rng.randint(1, 9)) / 10 for i in range(1, sizes[-1] + 1)})
        base = model.forward(inputs, {})
        keys = [k for k in base if k[0] in ("x", "W", "b", "γ", "z", "a")]
        assert {k[0] for k in keys} >= {"x", "W", "b", "z", "a"}
        loss_moved = 0
        for key in keys:
            moved = {key: base[key] + mpmath.mpf(3) / 10**7}
            fast, whole = model.forward(inputs, moved, base), model.forward(inputs, moved)
            loss_moved += fast[("C",)] != base[("C",)]
            assert set(fast) == set(whole)
            for k in whole:
                assert abs(fast[k] - whole[k]) <= mpmath.mpf(10) ** -80 * (1 + abs(whole[k])), (key, k)
        assert loss_moved > len(keys) // 2  # the moves reach the loss (not a comparison of nothing)
