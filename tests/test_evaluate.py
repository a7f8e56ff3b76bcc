"""evaluate.py: syntax → SymPy scalars and matrices, with shapes checked as they are built."""

import pytest
import sympy as sp

from derive import syntax as s
from derive.evaluate import Evaluator, ShapeMismatch, instances
from derive.graphs import build_functions, compile_network, compile_scalar
from derive.model import load
from derive.resolve import NETWORK_QUANTITIES, Names, resolve

NET = """network n {
    layers 2, 3, 2
    activation σ
    loss C = ½‖y − aᴸ‖²
}
"""


def _expr(text: str):
    """The left side of `rule r: <text> = 0`, as a syntax node resolved as in a network with
    quantifier l (the Evaluator reads resolved trees: derive.resolve splits w_jk, makes δ_ij a call)."""
    tree = s.parse(f"rule r: {text} = 0")
    names = Names("network", {}, {q: "a network quantity" for q in NETWORK_QUANTITIES}, frozenset({"L", "l"}))
    return resolve(tree.statements[0].equation.lhs, names, frozenset({"L", "l"}))


@pytest.fixture(scope="module")
def net_eval():
    doc = load(NET)
    compiled = compile_network(doc.networks["n"], (2, 3, 2), build_functions(doc.functions))
    return lambda layers=None: Evaluator(compiled.symbolic(), dict(layers or {}, L=2))


def test_shapes_of_network_quantities(net_eval):
    ev = net_eval()
    assert ev.eval(_expr("W^2")).shape == (2, 3)
    assert ev.eval(_expr("(W^2)ᵀ δ^2")).shape == (3, 1)
    assert ev.eval(_expr("δ^2 (a^1)ᵀ")).shape == (2, 3)
    assert ev.eval(_expr("∂C/∂W^1")).shape == (3, 2)
    assert ev.eval(_expr("∂a^2/∂z^2")).shape == (2, 2)  # a Jacobian


def test_entries_are_one_based_and_split(net_eval):
    ev = net_eval()
    w = ev.eval(_expr("W^2"))
    assert ev.eval(_expr("w^2_13")) == w[0, 2]
    assert ev.eval(_expr("w^2_{2,1}")) == w[1, 0]


def test_layer_variables_and_unicode_scripts(net_eval):
    ev = net_eval({"l": 2})
    assert ev.eval(_expr("wˡⱼₖ"), {"j": 2, "k": 3}) == ev.eval(_expr("W^2"))[1, 2]
    assert ev.eval(_expr("aˡ⁻¹ₖ"), {"k": 3}) == ev.eval(_expr("a^1"))[2, 0]


@pytest.mark.parametrize("text, fragment", [
    ("W^2 δ^2", "cannot multiply a 2×3 by a 2×1"),
    ("δ^2 ⊙ δ^1", "⊙ needs equal shapes"),
    ("a^1 + a^2", "cannot add a 3×1 and a 2×1"),
    ("a^1_4", "a^1_4 does not exist"),
    ("W^2_1", "needs two indices"),
    ("softmax(W^1)", "softmax takes a column vector"),
])
def test_shape_mismatches(net_eval, text, fragment):
    with pytest.raises(ShapeMismatch) as info:
        net_eval().eval(_expr(text))
    assert fragment in info.value.message


def test_scalar_broadcasts_and_entrywise_functions(net_eval):
    ev = net_eval()
    one_minus = ev.eval(_expr("1 − a^2"))
    a2 = ev.eval(_expr("a^2"))
    assert one_minus == a2.applyfunc(lambda e: 1 - e)
    assert ev.eval(_expr("σ(z^2)")).shape == (2, 1)
    assert ev.eval(_expr("(a^2)^2")) == a2.applyfunc(lambda e: e**2)


def test_free_indices_take_their_range_from_first_use(net_eval):
    ev = net_eval({"l": 2})
    lhs, rhs = _expr("∂C/∂wˡⱼₖ"), _expr("δˡⱼ aˡ⁻¹ₖ")
    assert [(n, high) for n, high, _ in ev.free_indices(lhs, rhs)] == [("j", 2), ("k", 3)]
    assert len(instances(ev, lhs, rhs)) == 6


def test_summation_range_is_inferred(net_eval):
    ev = net_eval()
    total = ev.eval(_expr("Σ_k w^2_{1,k}"))
    w = ev.eval(_expr("W^2"))
    assert total == w[0, 0] + w[0, 1] + w[0, 2]


def test_kronecker_delta(net_eval):
    ev = net_eval()
    assert ev.eval(_expr("δ_ij"), {"i": 1, "j": 1}) == 1
    assert ev.eval(_expr("δ_ij"), {"i": 1, "j": 2}) == 0


def test_scalar_context_vectors_and_norms():
    doc = load("rule r: 1 = 1")
    ev = Evaluator(compile_scalar(build_functions(doc.functions)).symbolic({}), {})
    u, v = sp.Symbol("u", real=True), sp.Symbol("v", real=True)
    assert ev.eval(_expr("‖[u, v]‖²")) == u**2 + v**2
    assert ev.eval(_expr("[u, v]_2")) == v
    assert ev.eval(_expr("Σ [u, v]")) == u + v
    with pytest.raises(ShapeMismatch):
        ev.eval(_expr("[u, v]_3"))
