"""Graphs beyond scalars: vectors, matrices, families (hᵗ, xⁿ), entry-by-entry
definitions, sizes, `let` with scripts and Σ with explicit bounds — the constructs that
declare convolutions, pooling, RNNs and risks over samples (proofs/ has the full rules)."""

import pytest
import sympy as sp

from derive.api import check_source
from derive.errors import DeriveError
from derive.graphs import build_functions, compile_graph
from derive.model import load
from derive.syntax import Summation, parse
from tests.conftest import verdicts_of

CONV = """graph conv {
    input x[5], w[2], b
    for p in 1..4: z_p = Σ_k w_k x_{p+k-1} + b
    C = ½ Σ_p z_p²
    let δ_p = ∂C/∂z_p
%s
}
"""

RNN = """graph rnn {
    size T = 2
    input h^0[2], W[2,2], b[2]
    for t in 1..T: input x^t[2]
    for t in 1..T: z^t = W h^{t-1} + x^t + b
    for t in 1..T: h^t = tanh(z^t)
    L = Σ_{t=1}^{T} Σ h^t
    let δ^t = ∂L/∂z^t
%s
}
"""


def compiled(text: str):
    doc = load(text)
    (graph,) = doc.graphs.values()
    return compile_graph(graph, build_functions(doc.functions))


def error_of(text: str) -> DeriveError:
    with pytest.raises(DeriveError) as info:
        check_source(text, "g.deriv", timeout=None)
    return info.value


# ---------------------------------------------------------------- declarations


def test_shapes_families_and_entries_compile_to_scalar_nodes():
    c = compiled(RNN % "")
    assert c.tensors[("W", None)].shape == (2, 2)
    assert c.tensors[("h", 0)].shape == (2, 1) and c.tensors[("h", 2)].shape == (2, 1)
    assert c.tensors[("L", None)].scalar
    labels = {n.label for n in c.graph.nodes.values()}
    assert {"W_12", "h^0_1", "x^2_2", "z^1_2", "h^2_1", "L"} <= labels
    conv = compiled(CONV % "")
    assert conv.tensors[("z", None)].shape == (4, 1)
    z3 = conv.graph.nodes[("z", None, 3, 1)]
    # z_3 = w_1 x_3 + w_2 x_4 + b: exactly its declared parents
    assert {conv.graph.nodes[p].label for p in z3.parents} == {"w_1", "w_2", "x_3", "x_4", "b"}


def test_definitions_are_equations_in_any_order():
    c = compiled("graph g {\n input a\n u = v + 1\n v = 2a\n}\n")
    u = c.graph.nodes["u"]
    assert u.base == 2 * sp.Symbol("a", real=True) + 1


def test_a_matrix_defined_entry_by_entry_gets_its_shape():
    c = compiled("graph g {\n input X[3,3]\n for i in 1..2: for j in 1..2: Z_{i,j} = X_{i,j} + X_{i+1,j+1}\n}\n")
    assert c.tensors[("Z", None)].shape == (2, 2)


def test_summation_with_explicit_bounds_parses():
    eq = parse("rule r: s = Σ_{t=2}^{T} x^t\n").statements[0].equation
    assert isinstance(eq.rhs, Summation) and eq.rhs.index.id == "t"
    assert eq.rhs.low.value == 2 and eq.rhs.high.id == "T"


@pytest.mark.parametrize("text, fragment", [
    ("graph g {\n input x[2]\n for t in 1..2: h^t = x + h^{t}\n}\n", "cycle"),
    ("graph g {\n input a\n u = v + 1\n v = u\n}\n", "cycle"),
    ("graph g {\n input x[3]\n z_1 = x_1\n z_3 = x_3\n}\n", "z_2 is missing"),
    ("graph g {\n input x[3]\n for p in 1..3: z_p = x_p\n for p in 1..2: z_p = x_p\n}\n", "already defined"),
    ("graph g {\n input x[0]\n}\n", "at least 1"),
    ("graph g {\n input x[2] = 3\n}\n", "only a scalar input"),
    ("graph g {\n input x[2]\n y = x_5\n}\n", "x_5 does not exist"),
    ("graph g {\n input x[2]\n C = Σ_{t=1}^T x_t\n}\n", "write ^{T}"),
    ("graph g {\n input x[2]\n C = Σ x\n let δ_p = ∂C/∂x_p\n rule r: δ = x\n}\n", "defined with scripts"),
    ("graph g {\n input x[2]\n C = Σ x\n let δ_p = ∂C/∂x_p\n rule r: δ^2 = x\n}\n", "defined with scripts"),
    ("graph g {\n size T = 0\n input a\n}\n", "at least 1"),
    ("graph g {\n size T = 2\n input T\n}\n", "already a size"),
    ("network n {\n layers 2, 2\n activation σ\n loss C = Σ aᴸ\n let e^t = aᴸ\n}\n", "belongs in a graph"),
])
def test_bad_declarations_are_located_errors(text, fragment):
    err = error_of(text)
    assert fragment in err.message, err.message
    assert str(err).startswith("g.deriv:") and "^" in str(err)


def test_a_member_that_does_not_exist_is_bad_input_not_a_verdict():
    v = verdicts_of(RNN % "    rule r: h^7 = h^0")["r"]
    assert v.verdict == "error" and v.how == "bad input" and "h^7 does not exist" in v.detail


# ---------------------------------------------------------------- verdicts, one per layer type


def test_convolution_kernel_gradient_is_the_sum_over_positions():
    v = verdicts_of(CONV % """    rule kernel: for k in 1..2: ∂C/∂w_k = Σ_p δ_p x_{p+k-1}
    rule nosum: for k in 1..2: ∂C/∂w_k = δ_k x_k
    rule input: for i in 1..5: ∂C/∂x_i = Σ_{p=max(1,i-1)}^{min(4,i)} δ_p w_{i-p+1}
    rule unflipped: for i in 1..5: ∂C/∂x_i = Σ_{p=max(1,i-1)}^{min(4,i)} δ_p w_{2-i+p}""")
    assert (v["kernel"].verdict, v["kernel"].how) == ("proved", "symbolic")
    assert (v["input"].verdict, v["input"].how) == ("proved", "symbolic")
    for wrong in ("nosum", "unflipped"):
        assert v[wrong].verdict == "refuted" and v[wrong].counterexample is not None


def test_two_dimensional_convolution():
    text = """graph c2 {
    input X[3,3], K[2,2]
    for i in 1..2: for j in 1..2: Z_{i,j} = Σ_m Σ_n K_{m,n} X_{i+m-1,j+n-1}
    C = ½ Σ_i Σ_j Z_{i,j}²
    let Δ_{i,j} = ∂C/∂Z_{i,j}
    rule k: for m in 1..2: for n in 1..2: ∂C/∂K_{m,n} = Σ_i Σ_j Δ_{i,j} X_{i+m-1,j+n-1}
    rule swapped: for m in 1..2: for n in 1..2: ∂C/∂K_{m,n} = Σ_i Σ_j Δ_{i,j} X_{i+n-1,j+m-1}
}
"""
    v = verdicts_of(text)
    assert v["k"].verdict == "proved" and v["swapped"].verdict == "refuted"
    assert "m=1, n=2" in v["swapped"].counterexample.instance or "m=2, n=1" in v["swapped"].counterexample.instance


def test_average_pooling_passes_one_kth_back():
    text = """graph pool {
    input x[4]
    for i in 1..2: m_i = (x_{2i-1} + x_{2i})/2
    C = Σ_i m_i³
    rule half: for i in 1..2: ∂C/∂x_{2i} = ½ ∂C/∂m_i
    rule whole: for i in 1..2: ∂C/∂x_{2i} = ∂C/∂m_i
}
"""
    v = verdicts_of(text)
    assert v["half"].verdict == "proved" and v["whole"].verdict == "refuted"


def test_bptt_sums_over_time_and_early_stop_is_refuted():
    v = verdicts_of(RNN % """    rule bptt: ∂L/∂W = Σ_{t=1}^{T} δ^t (h^{t-1})ᵀ
    rule back: δ^1 = (1 + Wᵀ δ^2) ⊙ (1 − (h^1)²)
    rule early: ∂L/∂W = Σ_{t=2}^{T} δ^t (h^{t-1})ᵀ
    rule notanh: δ^1 = 1 + Wᵀ δ^2""")
    assert v["bptt"].verdict == "proved" and v["back"].verdict == "proved"
    assert v["early"].verdict == "refuted" and v["notanh"].verdict == "refuted"


def test_regularised_risk_over_samples():
    text = """graph risk {
    size N = 2
    input W[1,2], λ
    for n in 1..N: input x^n[2], y^n[1]
    for n in 1..N: z^n = W x^n
    for n in 1..N: C^n = ½‖z^n − y^n‖²
    R = (1/N) Σ_{n=1}^{N} C^n + (λ/2)‖W‖²
    let δ^n = ∂C^n/∂z^n
    rule grad: ∂R/∂W = (1/N) Σ_{n=1}^{N} δ^n (x^n)ᵀ + λ W
    rule half: ∂R/∂W = (1/N) Σ_{n=1}^{N} δ^n (x^n)ᵀ + (λ/2) W
    rule noN: ∂R/∂W = Σ_{n=1}^{N} δ^n (x^n)ᵀ + λ W
}
"""
    v = verdicts_of(text)
    assert v["grad"].verdict == "proved"
    assert v["half"].verdict == "refuted" and v["noN"].verdict == "refuted"


def test_max_pooling_sends_the_gradient_to_the_argmax_region_by_region():
    text = """function H(t) = 1 if t > 0 else 0
graph pool {
    input x[4]
    for i in 1..2: m_i = max(x_{2i-1}, x_{2i})
    C = Σ_i m_i³
    rule argmax: for i in 1..2: ∂C/∂x_{2i} = H(x_{2i} − x_{2i-1}) ∂C/∂m_i
    rule everywhere: for i in 1..2: ∂C/∂x_{2i} = ∂C/∂m_i
}
"""
    v = verdicts_of(text)
    assert v["argmax"].verdict == "proved" and "region" in v["argmax"].detail
    # wrong only where x_{2i} is not the maximum: refuted with a point in that region
    assert v["everywhere"].verdict == "refuted" and "region" in v["everywhere"].counterexample.instance
