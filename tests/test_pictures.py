"""pictures.py: the J = 3(a + bc) graph drawn by Graphviz with its forward values and
backward derivatives; a network's layer graph with δ flowing back."""

from __future__ import annotations

import re

import pytest

from derive.model import load
from derive.pictures import picture, pictures
from tests.conftest import PROOFS, require_program

J = "graph J {\n input a = 5, b = 3, c = 2\n u = b c\n v = a + u\n J = 3 v\n rule r: dJ/db = 6\n}\n"


def _labels(svg: str) -> list:
    return [re.sub(r"&#\d+;|&[a-z]+;", lambda m: {"&#45;": "-", "&gt;": ">"}.get(m.group(0), "?"), t)
            for t in re.findall(r"<text[^>]*>([^<]*)</text>", svg)]


def test_j_graph_svg_shows_forward_values_and_derivatives():
    require_program("dot", "DERIVE_NO_GRAPHVIZ")
    svg = picture(load(J)).svg()
    labels = _labels(svg)
    for expected in ("u = 6", "v = 11", "J = 33"):  # forward, as "= value" under each definition
        name, value = expected.split(" = ")
        assert f"= {value}" in labels, labels
    for expected in ("∂J/∂a = 3", "∂J/∂b = 6", "∂J/∂c = 9", "∂J/∂u = 3", "∂J/∂v = 3", "∂u/∂b = c"):
        assert expected in labels, labels
    assert "a = 5" in labels and "u = b·c" in labels and "J = 3·v" in labels


def test_symbolic_inputs_give_symbolic_derivatives():
    doc = load(J.replace("a = 5, b = 3, c = 2", "a, b, c"))
    source = picture(doc).source
    assert "∂J/∂b = 3·c" in source and "= 33" not in source


def test_network_layer_graph_has_delta_flowing_back():
    doc = load((PROOFS / "bp_sigmoid_mse.deriv").read_text(encoding="utf-8"))
    source = picture(doc, graph="deep_tanh").source
    assert "a³ = σ(z³)" in source and "δ² = ∂C/∂a² ⊙ tanh′(z²)" in source and "(W³)ᵀδ³" in source
    assert source.count("style=dashed") == 6  # C→a³, three δ, two (W)ᵀδ
    assert [p.title for p in pictures(doc)] == ["network mlp", "network deep_tanh"]


def test_picture_by_rule_and_unknown_names():
    doc = load(J)
    assert picture(doc, rule="r").title == "graph J"
    with pytest.raises(LookupError, match="no rule named"):
        picture(doc, rule="nope")
    with pytest.raises(LookupError, match="known: J"):
        picture(doc, graph="K")
    with pytest.raises(LookupError, match="scalar rule"):
        picture(load("rule s: σ(t) = σ(t)"), rule="s")


def test_picture_shows_itself_in_a_notebook():
    require_program("dot", "DERIVE_NO_GRAPHVIZ")
    assert picture(load(J))._repr_svg_().lstrip().startswith("<?xml")


def test_tensor_graph_with_max_is_drawn_entry_by_entry_in_the_files_notation():
    doc = load("graph pool {\n input x[4]\n for i in 1..2: m_i = max(x_{2i-1}, x_{2i})\n C = Σ_i m_i\n}\n")
    source = picture(doc).source
    assert "m_1 = (x_1 if x_1 > x_2 else x_2)" in source and "x_4 (input)" in source
    assert "Cases" not in source and "nan" not in source
