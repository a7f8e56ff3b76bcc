"""numdiff.py: central differences of the forward computation alone agree with the
chain-rule adjoints and with SymPy's derivatives (and can disagree: they are independent)."""

from fractions import Fraction

import mpmath
import sympy as sp

from derive import numdiff
from derive.graphs import build_functions, compile_network
from derive.model import load

u = sp.Symbol("u", real=True)


def test_scalar_central_difference_of_first_and_second_order():
    env = {u: mpmath.mpf("0.7")}
    exact, approx = numdiff.scalar_central_difference(sp.cos(u), sp.sin(u), u, 1, env)
    assert abs(exact - approx) < mpmath.mpf("1e-20")
    exact, approx = numdiff.scalar_central_difference(-sp.sin(u), sp.sin(u), u, 2, env)
    assert abs(exact - approx) < mpmath.mpf("1e-15")
    exact, approx = numdiff.scalar_central_difference(sp.sin(u), sp.sin(u), u, 1, env)  # a wrong derivative
    assert abs(exact - approx) > mpmath.mpf("0.1")


def test_network_adjoints_agree_with_central_differences_of_inner_nodes_and_inputs():
    doc = load("network n {\n layers 2, 2, 1\n activation σ\n loss C = ½‖y − aᴸ‖²\n}")
    net = doc.networks["n"]
    compiled = compile_network(net, net.sizes, build_functions(doc.functions))
    point = {key: Fraction(k + 1, 7) * (-1) ** k for k, key in enumerate(compiled.graph.input_keys())}
    for source in (("W", 1, 1, 2), ("b", 2, 1), ("z", 1, 2), ("a", 1, 1)):
        derived, approx = numdiff.graph_central_difference(compiled.graph, "C", source, point)
        assert abs(derived - approx) < mpmath.mpf("1e-20") * max(1, abs(derived))
        assert derived != 0
