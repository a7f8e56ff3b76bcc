"""graphs.py: the chain rule over scalar graphs, checked against direct differentiation."""

import random
from fractions import Fraction

import mpmath
import sympy as sp

from derive.graphs import build_functions, compile_graph, compile_network
from derive.model import load

J_GRAPH = """graph J {
    input a = 5, b = 3, c = 2
    u = b c
    v = a + u
    J = 3 v
}
"""


def _compiled_graph():
    doc = load(J_GRAPH)
    return compile_graph(doc.graphs["J"], build_functions(doc.functions))


def test_graph_nodes_and_base_values():
    g = _compiled_graph().graph
    a, b, c = sp.symbols("a b c", real=True)
    assert g.nodes["J"].base == 3 * (a + b * c)
    assert [k for k in g.nodes] == ["a", "b", "c", "u", "v", "J"]


def test_derive_partials_expands_to_the_textbook_values():
    compiled = _compiled_graph()
    g = compiled.graph
    values = {g.nodes[k].symbol: sp.Integer(v) for k, v in compiled.given.items()}
    for source, expected in (("a", 3), ("b", 6), ("c", 9), ("u", 3), ("v", 3)):
        *_, final = g.derive_partials(g.d("J", source))
        assert final.xreplace(values) == expected, source


def test_unrelated_nodes_have_zero_derivative():
    g = _compiled_graph().graph
    assert g.d("u", "a") == 0
    assert g.d("J", "J") == 1


def test_numeric_adjoints_match_the_symbolic_ones():
    compiled = _compiled_graph()
    g = compiled.graph
    values = g.forward(compiled.given, 30)
    adj = g.adjoints("J", values, 30)
    assert [int(adj[k]) for k in ("a", "b", "c")] == [3, 6, 9]
    assert int(values[g.nodes["J"].symbol]) == 33


NET = """network n {
    layers 2, 3, 2
    activation σ
    loss C = ½‖y − aᴸ‖²
}
"""


def test_network_gradients_agree_with_differentiating_the_composed_loss():
    """Independent route: diff of the fully composed loss in (x, W, b, y) at a point."""
    doc = load(NET)
    compiled = compile_network(doc.networks["n"], (2, 3, 2), build_functions(doc.functions))
    g = compiled.graph
    rng = random.Random(3)
    point = compiled.sample(rng)
    values = g.forward(point, 40)
    adjoints = g.adjoints("C", values, 40)
    # Compose C directly from the definitions, in the input symbols.
    composed = g.nodes["C"].definition
    for key in reversed(list(g.nodes)):
        node = g.nodes[key]
        if node.definition is not None and key != "C":
            composed = composed.xreplace({node.symbol: node.definition})
    composed = g.functions.expand_definitions(composed)
    exact = {g.nodes[k].symbol: sp.Rational(v.numerator, v.denominator) for k, v in point.items()}
    for key in [("W", 1, 2, 1), ("b", 1, 3), ("W", 2, 1, 3), ("b", 2, 2), ("x", 1)]:
        direct = sp.diff(composed, g.nodes[key].symbol).xreplace(exact).evalf(40)
        with mpmath.workdps(40):
            assert abs(mpmath.mpf(direct._mpf_) - adjoints[key]) < mpmath.mpf("1e-30"), key


def test_bias_is_written_through_z_in_base_coordinates():
    doc = load(NET)
    compiled = compile_network(doc.networks["n"], (2, 3, 2), build_functions(doc.functions))
    g = compiled.graph
    b = g.nodes[("b", 1, 1)]
    z = g.nodes[("z", 1, 1)].symbol
    assert z in b.base.free_symbols  # b¹₁ = z¹₁ − Σ w¹₁ₖ xₖ


def test_assumption_is_solved_for_the_last_target():
    doc = load("""network n {
    layers 2, 3
    activation softmax
    loss C = −Σ(y ⊙ log(aᴸ))
    assume Σ y = 1
}
""")
    compiled = compile_network(doc.networks["n"], (2, 3), build_functions(doc.functions))
    (sym, solution), = compiled.assumptions.items()
    assert str(sym) == "y_3"
    assert sp.expand(solution - (1 - sp.Symbol("y_1", real=True) - sp.Symbol("y_2", real=True))) == 0
    point = compiled.sample(random.Random(1))
    assert sum(point[("y", i)] for i in (1, 2, 3)) == Fraction(1)
