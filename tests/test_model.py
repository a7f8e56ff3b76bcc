"""model.py: bad input is rejected before any SymPy work, with the right error class and
place; good declarations give the expected network, graph and rule model."""

from __future__ import annotations

from fractions import Fraction

import pytest

from derive import model
from derive.errors import DeriveDeclarationError, DeriveError, DeriveNameError, DeriveSyntaxError, Pos
from derive.model import load


def net(rules: str = "", sizes: str = "2, 3, 2", extra: str = "") -> str:
    """A network block: line 1 `network n {`, 2 layers, 3 activation, 4 loss, then `extra`
    lines, then the rules (the first rule is on line 5 when `extra` is empty)."""
    lines = ["network n {", f"    layers {sizes}", "    activation σ", "    loss C = ½‖y − aᴸ‖²"]
    lines += ["    " + x for x in extra.splitlines()]
    lines += ["    " + x for x in rules.splitlines()]
    lines.append("}")
    return "\n".join(lines) + "\n"


def error_of(text: str) -> DeriveError:
    with pytest.raises(DeriveError) as info:
        load(text, "m.deriv")
    return info.value


def assert_error(text: str, cls: type, line: int, column: int, *fragments: str) -> DeriveError:
    err = error_of(text)
    assert type(err) is cls, f"{type(err).__name__}: {err}"
    assert err.pos == Pos(line, column), str(err)
    text_of_err = str(err)
    assert text_of_err.startswith(f"m.deriv:{line}:{column}: ")
    for fragment in fragments:
        assert fragment in err.message
    # The located message shows the offending line and a caret under the column.
    _, source, caret = text_of_err.splitlines()
    assert source == "    " + text.splitlines()[line - 1]
    assert caret == "    " + " " * (column - 1) + "^"
    return err


# ---------------------------------------------------------------- names


def test_unknown_name_in_a_network_rule():
    assert_error(net("rule r: δᴸ = q ⊙ σ'(zᴸ)"), DeriveNameError, 5, 18, "unknown name 'q'", "network n")


def test_unknown_name_in_a_network_loss():
    text = "network n {\n    layers 2, 3\n    activation σ\n    loss C = ½‖y − q‖²\n}\n"
    assert_error(text, DeriveNameError, 4, 20, "unknown name 'q'")


def test_unknown_function_in_a_network_rule():
    assert_error(net("rule r: δᴸ = foo(zᴸ)"), DeriveNameError, 5, 18, "unknown function 'foo'")


def test_unknown_function_in_a_scalar_rule():
    assert_error("rule r: f(t) = t\n", DeriveNameError, 1, 9, "unknown function 'f'")


def test_unknown_activation_function():
    text = "network n {\n    layers 2, 3\n    activation foo\n    loss C = ½‖y − aᴸ‖²\n}\n"
    assert_error(text, DeriveNameError, 3, 5, "foo")


def test_unknown_name_in_a_graph_node():
    text = "graph g {\n    input a, b\n    u = a b\n    v = u c\n}\n"
    assert_error(text, DeriveNameError, 4, 11, "unknown name 'c'", "graph g")


def test_graph_node_may_use_a_later_node_but_not_an_undeclared_one():
    # Definitions are equations (RNNs write z^t with h^{t-1} from the next line); cycles
    # are reported when the graph is compiled (tests/test_tensor_graphs.py).
    load("graph g {\n    input a\n    u = a v\n    v = 2 a\n}\n")
    text = "graph g {\n    input a\n    u = a q\n    v = 2 a\n}\n"
    assert_error(text, DeriveNameError, 3, 11, "unknown name 'q'")


def test_unknown_name_in_a_graph_rule():
    text = "graph g {\n    input a, b\n    u = a b\n    rule r: u = q\n}\n"
    assert_error(text, DeriveNameError, 4, 17, "unknown name 'q'")


def test_d_name_in_a_graph_rule_must_name_a_node():
    text = "graph g {\n    input a, b\n    u = a b\n    rule r: dq/da = 1\n}\n"
    assert_error(text, DeriveNameError, 4, 13, "'dq'")


def test_layered_name_without_a_layer():
    assert_error(net("rule r: δᴸ = a ⊙ zᴸ"), DeriveDeclarationError, 5, 18, "needs a layer")


def test_function_used_as_a_value():
    assert_error(net("rule r: δᴸ = σ"), DeriveDeclarationError, 5, 18, "is a function")


def test_free_name_in_a_function_body():
    assert_error("function f(a) = a + q\n", DeriveNameError, 1, 21, "'q'")


# ---------------------------------------------------------------- layer indices


@pytest.mark.parametrize("sizes, missing", [("2, 3, 2", "W^3"), ("2, 2", "W^2")])
def test_quantified_layer_index_out_of_range(sizes, missing):
    # BP2 quantified up to L instead of L-1: at l = L, W^{l+1} is past the last layer.
    text = net("rule r: for l in 1..L: δ^l = ((W^{l+1})ᵀ δ^{l+1})", sizes=sizes)
    err = assert_error(text, DeriveDeclarationError, 5, 36, "layer index out of range", missing)
    assert "W has layers 1.." in err.message


def test_quantified_layer_index_in_range_up_to_L_minus_1():
    doc = load(net("rule r: for l in 1..L-1: δ^l = ((W^{l+1})ᵀ δ^{l+1})"))
    assert [r.name for r in doc.networks["n"].rules] == ["r"]


def test_literal_layer_index_out_of_range():
    assert_error(net("rule r: ∂C/∂W^3 = 0"), DeriveDeclarationError, 5, 17, "layer index out of range", "W^3")


def test_unicode_literal_layer_index_out_of_range():
    assert_error(net("rule r: ∂C/∂W³ = 0"), DeriveDeclarationError, 5, 17, "W^3")


def test_layer_index_below_zero():
    assert_error(net("rule r: for l in 1..L: a^{l-2} = a^l"), DeriveDeclarationError, 5, 28, "a^-1")


def test_weights_have_no_layer_zero():
    assert_error(net("rule r: W^0 = W^1"), DeriveDeclarationError, 5, 13, "W^0")


def test_a_layer_zero_exists():
    doc = load(net("rule r: a^0 = x"))
    assert [r.name for r in doc.networks["n"].rules] == ["r"]


def test_layer_index_must_be_whole():
    assert_error(net("rule r: a^{1/2} = a^1"), DeriveDeclarationError, 5, 16, "whole number")


def test_empty_quantifier_range():
    assert_error(net("rule r: for l in 2..1: δ^l = δ^l"), DeriveDeclarationError, 5, 13, "empty range")


def test_activation_layer_out_of_range():
    text = "network n {\n    layers 2, 3\n    activation σ at 3\n    loss C = ½‖y − aᴸ‖²\n}\n"
    assert_error(text, DeriveDeclarationError, 3, 21, "out of range")


# ---------------------------------------------------------------- sizes and declarations


def test_non_numeric_layer_size():
    assert_error(net(sizes="2, x, 2"), DeriveDeclarationError, 2, 15, "positive whole number")


def test_fractional_layer_size():
    assert_error(net(sizes="2, 1.5, 2"), DeriveDeclarationError, 2, 15, "whole number")


def test_zero_layer_size():
    assert_error(net(sizes="2, 0, 2"), DeriveDeclarationError, 2, 15, "at least 1")


def test_zero_size_in_also_layers():
    assert_error(net(extra="also layers 2, 0, 2"), DeriveDeclarationError, 5, 20, "at least 1")


def test_a_single_layer_is_not_a_network():
    assert_error(net(sizes="2"), DeriveDeclarationError, 2, 5, "at least an input and an output")


def test_missing_loss():
    text = "network n {\n    layers 2, 3\n    activation σ\n    rule r: a^1 = a^1\n}\n"
    assert_error(text, DeriveDeclarationError, 1, 1, "no loss")


def test_missing_layers():
    text = "# no sizes\nnetwork n {\n    activation σ\n    loss C = ½‖y − aᴸ‖²\n}\n"
    assert_error(text, DeriveDeclarationError, 2, 1, "no layers")


def test_missing_activation():
    text = "network n {\n    layers 2, 3, 2\n    activation σ at 1\n    loss C = ½‖y − aᴸ‖²\n}\n"
    assert_error(text, DeriveDeclarationError, 1, 1, "no activation for layer(s) 2")


def test_not_an_activation_function():
    text = "network n {\n    layers 2, 3\n    activation grad\n    loss C = ½‖y − aᴸ‖²\n}\n"
    assert_error(text, DeriveDeclarationError, 3, 5, "grad")


def test_also_layers_of_the_wrong_length_points_at_its_line():
    # (Found while writing these tests: this used to point at the network header.)
    assert_error(net(extra="also layers 2, 3"), DeriveDeclarationError, 5, 5, "also layers", "3")


def test_rule_defined_twice_in_a_network():
    err = assert_error(net("rule r: δᴸ = δᴸ\nrule r: a^1 = a^1"), DeriveDeclarationError, 6, 5, "defined twice")
    assert "line 5" in err.message


def test_scalar_rule_defined_twice():
    assert_error("rule r: t = t\n\nwrong rule r: t = 2t\n", DeriveDeclarationError, 3, 1, "defined twice",
                 "line 1")


def test_rule_defined_twice_in_a_graph():
    text = "graph g {\n    input a\n    u = 2 a\n    rule r: u = 2a\n    rule r: du/da = 2\n}\n"
    assert_error(text, DeriveDeclarationError, 5, 5, "defined twice")


def test_same_rule_name_in_different_blocks_is_fine():
    text = "rule r: t = t\n" + net("rule r: δᴸ = δᴸ") + "graph g {\n    input a\n    rule r: a = a\n}\n"
    doc = load(text)
    assert [r.name for r in doc.all_rules()] == ["r", "r", "r"]


def test_input_declared_twice():
    assert_error("graph g {\n    input a, a\n}\n", DeriveDeclarationError, 2, 14, "declared twice")


def test_graph_node_redefining_an_input():
    assert_error("graph g {\n    input a\n    a = 2\n}\n", DeriveDeclarationError, 3, 5, "already defined")


def test_function_defined_twice():
    assert_error("function f(a) = a\nfunction f(b) = 2b\n", DeriveDeclarationError, 2, 10, "defined twice")


def test_function_with_a_repeated_parameter():
    assert_error("function f(a, a) = a\n", DeriveDeclarationError, 1, 15, "repeated")


# ---------------------------------------------------------------- arity


@pytest.mark.parametrize("text, line, column, fragment", [
    ("rule r: tanh(t, t) = 1\n", 1, 9, "tanh takes 1 argument(s), got 2"),
    ("rule r: grad(t) = 1\n", 1, 9, "grad takes 2 argument(s), got 1"),
    ("function f(a, b) = a + b\nrule r: f(t) = t\n", 2, 9, "f takes 2 argument(s), got 1"),
    ("function f(a) = a\nrule r: 1 + f(t, t) = t\n", 2, 13, "f takes 1 argument(s), got 2"),
    (net("rule r: δᴸ = σ(zᴸ, zᴸ)"), 5, 18, "σ takes 1 argument(s), got 2"),
])
def test_function_called_with_the_wrong_arity(text, line, column, fragment):
    assert_error(text, DeriveDeclarationError, line, column, fragment)


def test_parse_errors_come_through_load_as_syntax_errors():
    err = error_of("rule r: 1 = = 2\n")
    assert type(err) is DeriveSyntaxError and err.pos == Pos(1, 13)
    assert str(err).startswith("m.deriv:1:13: syntax error:")


def test_error_position_without_a_final_newline():
    # The last line has no newline: the caret line is still found.
    text = "rule ok: t = t\nrule r: tanh(t, t) = 1"
    assert_error(text, DeriveDeclarationError, 2, 9, "argument")


# ---------------------------------------------------------------- good declarations


def _rule(doc, name):
    (rule,) = [r for r in doc.all_rules() if r.name == name]
    return rule


def test_quantifier_range_up_to_L_minus_1():
    doc = load(net("rule BP2: for l in 1..L-1: δˡ = ((W^{l+1})ᵀ δ^{l+1}) ⊙ σ'(zˡ)"))
    rule = _rule(doc, "BP2")
    assert rule.layer_assignments == [{"l": 1}]
    (q,) = rule.quantifiers
    assert (q.var, q.low, q.high) == ("l", 1, 1)


def test_quantifier_range_up_to_L_on_a_deeper_net():
    doc = load(net("rule BP3: for l in 1..L: ∂C/∂bˡ = δˡ", sizes="3, 4, 4, 2"))
    assert _rule(doc, "BP3").layer_assignments == [{"l": 1}, {"l": 2}, {"l": 3}]


def test_two_quantifiers_give_every_combination():
    doc = load(net("rule r: for l in 1..L: for m in 0..1: a^m = a^m"))
    assert _rule(doc, "r").layer_assignments == [{"l": 1, "m": 0}, {"l": 1, "m": 1},
                                                 {"l": 2, "m": 0}, {"l": 2, "m": 1}]


def test_rule_without_quantifiers_has_one_instance():
    rule = _rule(load("rule r: t = t\n"), "r")
    assert rule.layer_assignments == [{}]
    assert rule.context is None and rule.expected == "proved"


def test_wrong_rule_expects_refuted_and_knows_its_context():
    doc = load(net("wrong rule w: δᴸ = aᴸ − y"))
    rule = _rule(doc, "w")
    assert rule.expected == "refuted" and rule.context == "n" and rule.pos == Pos(5, 5)


def test_default_second_size_set():
    assert model.default_also_sizes((2, 3, 2)) == (3, 2, 3)
    assert model.default_also_sizes((1, 4, 8)) == (2, 3, 7)
    doc = load(net())
    network = doc.networks["n"]
    assert network.sizes == (2, 3, 2) and network.depth == 2
    assert network.also_sizes == (3, 2, 3)


def test_also_layers_none_gives_no_second_size_set():
    assert load(net(extra="also layers none")).networks["n"].also_sizes is None


def test_explicit_also_layers():
    assert load(net(extra="also layers 4, 4, 4")).networks["n"].also_sizes == (4, 4, 4)


def test_also_layers_equal_to_layers_is_no_second_set():
    assert load(net(extra="also layers 2, 3, 2")).networks["n"].also_sizes is None


def test_per_layer_activation():
    text = ("network n {\n    layers 2, 3, 3\n    activation σ\n    activation softmax at L\n"
            "    loss C = −Σ(y ⊙ log(aᴸ))\n}\n")
    assert load(text).networks["n"].activations == ("σ", "softmax")


def test_activation_over_a_range_of_layers():
    text = ("network n {\n    layers 3, 4, 4, 2\n    activation tanh at 1..L-1\n    activation σ at L\n"
            "    loss C = ½‖y − aᴸ‖²\n}\n")
    assert load(text).networks["n"].activations == ("tanh", "tanh", "σ")


def test_later_activation_overrides_earlier_for_its_layers():
    text = ("network n {\n    layers 3, 4, 4, 2\n    activation σ\n    activation tanh at 2\n"
            "    loss C = ½‖y − aᴸ‖²\n}\n")
    assert load(text).networks["n"].activations == ("σ", "tanh", "σ")


def test_user_function_as_activation():
    text = ("function relu2(t) = t^2\nnetwork n {\n    layers 2, 2\n    activation relu2\n"
            "    loss C = ½‖y − aᴸ‖²\n}\n")
    assert load(text).networks["n"].activations == ("relu2",)


def test_aliases_assumptions_and_loss():
    text = ("network n {\n    layers 2, 3, 3\n    activation σ\n    activation softmax at L\n"
            "    loss C = −Σ(y ⊙ log(aᴸ))\n    assume Σ y = 1\n    let p = aᴸ\n"
            "    rule r: ∂C/∂zᴸ = p − y\n}\n")
    network = load(text).networks["n"]
    assert network.loss_name == "C"
    assert set(network.aliases) == {"p"}
    assert len(network.assumptions) == 1
    assert [r.name for r in network.rules] == ["r"]


def test_loss_named_L_makes_layers_numbered():
    text = ("network two {\n    layers 3, 4, 1\n    activation σ\n    loss L = ½‖y − ŷ‖²\n    let ŷ = a²\n"
            "    rule r: δ² = ∂L/∂ŷ ⊙ σ'(z²)\n}\n")
    network = load(text).networks["two"]
    assert network.loss_name == "L" and network.depth == 2
    # With the loss named L, L is no longer the last layer: a^L is not a layer index.
    err = error_of(text.replace("rule r: δ² =", "rule r: δᴸ ="))
    assert isinstance(err, DeriveDeclarationError) and "whole number" in err.message


def test_graph_model():
    text = ("graph J {\n    input a = 5, b = 3, c\n    u = b c\n    v = a + u\n    J = 3 v\n"
            "    rule r: dJ/db = 3c\n}\n")
    graph = load(text).graphs["J"]
    assert {i.name: i.value for i in graph.inputs} == {"a": Fraction(5), "b": Fraction(3), "c": None}
    assert all(i.shape is None and i.member is None for i in graph.inputs)
    assert [n.name for n in graph.nodes] == ["u", "v", "J"]
    assert [r.name for r in graph.rules] == ["r"] and graph.rules[0].context == "J"


def test_all_rules_are_in_file_order():
    text = "rule z: t = t\n" + net("rule y: δᴸ = δᴸ") + "rule x: t = t\n"
    assert [r.name for r in load(text).all_rules()] == ["z", "y", "x"]


def test_proofs_library_loads(proofs_dir):
    files = sorted(proofs_dir.rglob("*.deriv"))
    assert files
    for path in files:
        doc = load(path.read_text(encoding="utf-8"), str(path))
        assert doc.all_rules(), path


def test_int_value_evaluates_layer_arithmetic():
    from derive.syntax import parse
    expr = parse("rule r: a^{L-1+2*l} = 0").statements[0].equation.lhs.arg
    assert model.int_value(expr, {"L": 3, "l": 2}, "a layer index") == 6
    with pytest.raises(DeriveDeclarationError):
        model.int_value(expr, {"L": 3}, "a layer index")


@pytest.mark.parametrize("extra", ["layers 4, 4, 4", "loss C = Σ aᴸ", "also layers none\nalso layers 3, 3, 3"])
def test_network_declaration_given_twice_is_an_error(extra):
    # (Found while writing these tests: a second `layers` or `loss` used to replace the first silently.)
    line = 4 + len(extra.splitlines())  # the second declaration is the one pointed at
    assert_error(net(extra=extra), DeriveDeclarationError, line, 5, "twice")


_TWO_NETWORKS = net("rule first: δᴸ = δᴸ") + net("rule second: δᴸ = δᴸ")  # second block on line 7
_TWO_GRAPHS = ("graph g {\n    input a\n    rule first: a = a\n}\n"
               "graph g {\n    input b\n    rule second: b = b\n}\n")  # second block on line 5


@pytest.mark.parametrize("text, line", [(_TWO_NETWORKS, 7), (_TWO_GRAPHS, 5)], ids=["networks", "graphs"])
def test_a_reused_block_name_never_loses_rules(text, line):
    # Either the reused name is bad input, pointed at the second block, or both blocks are kept.
    try:
        doc = load(text, "m.deriv")
    except DeriveDeclarationError as err:
        assert err.pos == Pos(line, 1) and "twice" in err.message, str(err)
    else:
        assert [r.name for r in doc.all_rules()] == ["first", "second"]


@pytest.mark.parametrize("second", ["r", "s"])
def test_a_graph_and_a_network_of_the_same_name(second):
    from derive.api import check_source
    text = "graph n {\n    input a\n    rule r: a = a\n}\n" + net(f"rule {second}: δᴸ = δᴸ")  # network: line 5
    try:
        verdicts = check_source(text, "m.deriv", timeout=None)
    except DeriveDeclarationError as err:  # the reused name is bad input, pointed at the network
        assert err.pos == Pos(5, 1) and "n" in err.message, str(err)
    else:  # or both are kept apart, and each rule is checked against its own block
        assert [(v.rule, v.verdict) for v in verdicts] == [("r", "proved"), (second, "proved")]


def test_network_rule_outside_its_block_gets_a_hint():
    text = "network n {\n    layers 2, 2\n    activation σ\n    loss C = Σ aᴸ\n}\nrule BP1: δᴸ = ∂C/∂aᴸ ⊙ σ'(zᴸ)\n"
    with pytest.raises(DeriveDeclarationError) as info:
        load(text, "m.deriv")
    assert "outside every network block" in info.value.message
    assert (info.value.pos.line, info.value.pos.column) == (6, 11)


def test_without_a_network_a_superscript_on_a_is_a_power():
    doc = load("rule r: a^2 = a a")
    assert [r.name for r in doc.rules] == ["r"]


# ---------------------------------------------------------------- activations, piecewise, series


def test_max_takes_any_number_of_arguments_and_has_no_prime():
    load("rule r: max(x, y, 0) = max(0, x, y)\n")
    assert_error("rule r: max'(x) = 1\n", DeriveDeclarationError, 1, 9, "max'")


def test_an_activation_takes_one_argument_or_two_with_a_per_unit_parameter():
    load("function leaky(t) = lrelu(t, 1/100)\n" + net().replace("activation σ", "activation leaky"))
    load(net().replace("activation σ", "activation lrelu"))  # γ per unit, learned
    text = "function f(t, a, b) = a t + b\n" + net().replace("activation σ", "activation f")
    assert_error(text, DeriveDeclarationError, 4, 5, "one argument, or two")


def test_series_claims_belong_outside_blocks():
    assert_error(net("rule r: σ(x) ≈ x at x = 0 order 1"), DeriveDeclarationError, 5, 13, "series")
    assert_error("rule r: σ(x) ≈ x at x = 0 order 0\n", DeriveDeclarationError, 1, 9, "at least 1")


def test_rule_expectations():
    doc = load("rule a: relu(x) = x\nwrong rule b: relu(x) = x\nundefined rule c: relu'(0) = 0\n")
    assert [r.expected for r in doc.rules] == ["proved", "refuted", "undefined"]
    assert doc.rules[0].series is None


def test_piecewise_definition_may_only_use_its_parameters():
    assert_error("function h(x) = x if y > 0 else 0\n", DeriveNameError, 1, 22, "'y'")


def test_a_two_argument_activation_gives_each_unit_a_parameter_gamma():
    text = net("rule r: ∂C/∂γᴸ = (aᴸ − y) ⊙ min(0, zᴸ)").replace("activation σ", "activation prelu")
    load(text)
    plain = net("rule r: ∂C/∂γᴸ = aᴸ")
    assert_error(plain, DeriveDeclarationError, 5, 17, "no parameters γ")
