"""syntax.py: the Lark grammar and the Transformer into frozen, positioned syntax nodes."""

from __future__ import annotations

import dataclasses
from fractions import Fraction

import pytest

from derive import syntax as s
from derive.errors import DeriveError, DeriveSyntaxError, Pos
from derive.syntax import parse

# ---------------------------------------------------------------- helpers

# ASCII names that are spellings of Unicode ones (only names differ; the trees agree otherwise).
_ASCII_NAMES = {"sigma": "σ", "delta": "δ"}


def shape(node, rename: dict | None = None):
    """A node with every position and spelling dropped (and, with `rename`, names normalised), so two
    spellings of one expression can be compared."""
    rename = rename or {}
    if dataclasses.is_dataclass(node) and not isinstance(node, Pos):
        return (type(node).__name__,) + tuple(
            (f.name, shape(getattr(node, f.name), rename)) for f in dataclasses.fields(node)
            if f.name != "pos" and f.compare)  # compare=False: how it was spelled (Transpose.written)
    if isinstance(node, tuple):
        return tuple(shape(x, rename) for x in node)
    if isinstance(node, str):
        return rename.get(node, node)
    return node


def statement(text: str):
    (stmt,) = parse(text).statements
    return stmt


def equation(rule_text: str) -> s.Equation:
    """The equation of a one-line scalar rule `rule r: …`."""
    return statement(rule_text).equation


def lhs(expr_text: str):
    return equation(f"rule r: {expr_text} = 0").lhs


def N(name):
    return ("Name", ("id", name))


def Int(n):
    return ("Num", ("value", Fraction(n)))


def Bin(op, left, right):
    return ("BinOp", ("op", op), ("left", left), ("right", right))


# ---------------------------------------------------------------- Unicode and ASCII twins


@pytest.mark.parametrize("unicode_text, ascii_text", [
    ("Wᵀ", "W^T"),
    ("W⊤", "W^T"),
    ("(W^{l+1})ᵀ", "(W^{l+1})^T"),
    ("a ⊙ b", "a .* b"),
    ("a ∘ b", "a .* b"),
    ("a − b", "a - b"),
    ("a · b", "a * b"),
    ("a × b", "a * b"),
    ("a ⋅ b", "a * b"),
    ("t²", "t^2"),
    ("aˡ⁻¹ₖ", "a^{l-1}_k"),
    ("aˡ⁻¹ₖ", "a^(l-1)_k"),
    ("a⁽ˡ⁻¹⁾", "a^{l-1}"),
    ("zᴸ⁻¹", "z^{L-1}"),
    ("wⱼₖ", "w_jk"),
    ("a₁", "a_1"),
    ("∑ₖ xₖ", "Σ_k x_k"),
    ("‖v‖", "‖v‖"),  # (sanity: identical text gives identical shapes)
    ("f′(x)", "f'(x)"),
    ("f′′(x)", "f''(x)"),
    ("½", "0.5"),
    ("0.5", ".5"),
])
def test_unicode_and_ascii_spellings_give_the_same_tree(unicode_text, ascii_text):
    assert shape(lhs(unicode_text)) == shape(lhs(ascii_text))


def test_transpose_spellings_all_give_transpose_nodes():
    for text in ("Wᵀ", "W⊤", "W^T"):
        node = lhs(text)
        assert isinstance(node, s.Transpose), text
        assert node.operand == s.Name("W", Pos(1, 9))


def test_hadamard_spellings_all_give_binop_hadamard():
    for text in ("a ⊙ b", "a .* b", "a ∘ b"):
        node = lhs(text)
        assert isinstance(node, s.BinOp) and node.op == "⊙", text


def test_bp2_in_unicode_and_ascii_agree_up_to_greek_names():
    uni = equation("rule BP2: for l in 1..L-1: δˡ = ((W^{l+1})ᵀ δ^{l+1}) ⊙ σ'(zˡ)")
    asc = equation("rule BP2: for l in 1..L-1: delta^l = ((W^{l+1})^T delta^{l+1}) .* sigma'(z^l)")
    assert shape(uni) != shape(asc)  # the names do differ ...
    assert shape(uni, _ASCII_NAMES) == shape(asc, _ASCII_NAMES)  # ... and nothing else
    # The structure, spelled out: a Hadamard product of a bracketed matrix product and σ'(zˡ).
    assert uni.rhs.op == "⊙"
    assert isinstance(uni.rhs.left, s.BinOp) and uni.rhs.left.op == "*"
    assert isinstance(uni.rhs.left.left, s.Transpose)
    assert isinstance(uni.rhs.right, s.Call) and uni.rhs.right.primes == 1


def test_forall_and_for_quantifiers_agree():
    a = statement("rule r: ∀ l in 1..L: a^l = a^l")
    b = statement("rule r: for l in 1..L: a^l = a^l")
    assert shape(a) == shape(b)
    (q,) = a.quantifiers
    assert q.var == "l"
    assert shape(q.low) == Int(1) and shape(q.high) == N("L")


def test_partial_and_grad_name_the_same_numerator_and_denominator():
    eq = equation("rule r: ∂C/∂W^l = grad(C, W^l)")
    partial, call = eq.lhs, eq.rhs
    assert isinstance(partial, s.Partial)
    assert isinstance(call, s.Call) and call.func == "grad" and call.primes == 0
    # grad(C, W^l) is a call whose two arguments are ∂C/∂W^l's numerator and denominator.
    assert shape(call.args) == (shape(partial.num), shape(partial.den))
    assert shape(partial.den) == ("Sup", ("base", N("W")), ("arg", N("l")))


def test_unicode_partial_with_unicode_scripts():
    node = lhs("∂C/∂aᴸⱼ")
    assert isinstance(node, s.Partial)
    assert shape(node.num) == N("C")
    assert shape(node.den) == shape(lhs("a^L_j"))


# ---------------------------------------------------------------- scripts


def test_unicode_super_and_subscripts_nest_as_sub_of_sup():
    node = lhs("aˡ⁻¹ₖ")
    assert isinstance(node, s.Sub)
    assert isinstance(node.base, s.Sup)
    assert node.base.base.id == "a"
    assert shape(node.base.arg) == Bin("-", N("l"), Int(1))
    assert shape(node.items) == (N("k"),)
    assert node.raw == "k"


def test_layer_superscript_with_braces_is_an_expression():
    node = lhs("W^{l+1}")
    assert isinstance(node, s.Sup)
    assert shape(node.arg) == Bin("+", N("l"), Int(1))


def test_negative_ascii_exponent():
    node = lhs("x^-1")
    assert isinstance(node, s.Sup)
    assert shape(node.arg) == ("Neg", ("operand", Int(1)))


def test_unicode_negative_exponent_matches_ascii():
    # (Found while writing these tests: x⁻¹ used to be rejected as a 'malformed script'.)
    assert shape(lhs("x⁻¹")) == shape(lhs("x^-1"))
    assert shape(lhs("x⁻²")) == ("Sup", ("base", N("x")), ("arg", ("Neg", ("operand", Int(2)))))


def test_malformed_unicode_scripts_are_syntax_errors():
    for text in ("x⁻⁻¹", "xˡ⁻"):
        with pytest.raises(DeriveSyntaxError) as info:
            parse(f"rule r: {text} = 0", "f.deriv")
        assert "malformed script" in info.value.message
        assert info.value.pos == Pos(1, 10)


def test_braced_subscript_gives_separate_items_and_bare_one_keeps_raw_text():
    braced = lhs("w_{j,k}")
    assert shape(braced.items) == (N("j"), N("k")) and braced.raw is None
    bare = lhs("w_jk")
    assert shape(bare.items) == (N("jk"),) and bare.raw == "jk"  # the model splits it
    assert shape(lhs("a_1").items) == (Int(1),)


def test_subscript_after_a_layer_superscript():
    node = lhs("w^{l+1}_kj")
    assert isinstance(node, s.Sub) and isinstance(node.base, s.Sup)
    assert node.raw == "kj"


def test_power_operator_and_superscript_power():
    assert shape(lhs("x ** 2")) == Bin("^", N("x"), Int(2))
    assert shape(lhs("x²")) == ("Sup", ("base", N("x")), ("arg", Int(2)))


# ---------------------------------------------------------------- implicit multiplication


def test_implicit_multiplication_of_number_and_call():
    node = lhs("2σ(2t)")
    assert shape(node) == Bin("*", Int(2), ("Call", ("func", "σ"), ("args", (Bin("*", Int(2), N("t")),)),
                                             ("primes", 0)))


def test_implicit_multiplication_of_two_names():
    assert shape(lhs("b c")) == Bin("*", N("b"), N("c"))
    assert shape(lhs("b c")) == shape(lhs("b * c"))


def test_implicit_multiplication_binds_tighter_than_plus_and_minus():
    assert shape(lhs("W a + b")) == Bin("+", Bin("*", N("W"), N("a")), N("b"))
    node = lhs("2σ(2t) − 1")
    assert node.op == "-" and node.left.op == "*"


def test_implicit_multiplication_is_left_associative():
    assert shape(lhs("a b c")) == Bin("*", Bin("*", N("a"), N("b")), N("c"))


def test_call_followed_by_bracket_is_a_product():
    node = lhs("σ(t)(1 − σ(t))")
    assert isinstance(node, s.BinOp) and node.op == "*"
    assert isinstance(node.left, s.Call) and isinstance(node.right, s.BinOp) and node.right.op == "-"


def test_layered_factor_times_transposed_bracket():
    node = lhs("δˡ (aˡ⁻¹)ᵀ")
    assert node.op == "*"
    assert isinstance(node.left, s.Sup) and isinstance(node.right, s.Transpose)


def test_division_and_unary_minus():
    assert shape(lhs("1/(1 + exp(-t))")) == Bin(
        "/", Int(1), Bin("+", Int(1), ("Call", ("func", "exp"), ("args", (("Neg", ("operand", N("t"))),)),
                                       ("primes", 0))))
    assert shape(lhs("−t")) == ("Neg", ("operand", N("t")))


# ---------------------------------------------------------------- numbers, norms, sums


@pytest.mark.parametrize("text, value", [("½", Fraction(1, 2)), ("⅓", Fraction(1, 3)), ("¾", Fraction(3, 4)),
                                         ("0.25", Fraction(1, 4)), (".5", Fraction(1, 2)), ("12", Fraction(12))])
def test_numbers_are_exact_fractions(text, value):
    node = lhs(text)
    assert isinstance(node, s.Num) and node.value == value


def test_half_norm_squared():
    node = lhs("½‖y − aᴸ‖²")
    expected = Bin("*", ("Num", ("value", Fraction(1, 2))),
                   ("Sup", ("base", ("Norm", ("operand", Bin("-", N("y"), ("Sup", ("base", N("a")),
                                                                           ("arg", N("L"))))))),
                    ("arg", Int(2))))
    assert shape(node) == expected


def test_two_norms_on_one_line():
    node = lhs("‖a‖ + ‖b‖²")
    assert isinstance(node.left, s.Norm) and isinstance(node.right, s.Sup)
    assert isinstance(node.right.base, s.Norm)


def test_summation_binds_the_following_product():
    node = lhs("Σ_k w_kj δ_k σ'(z_j)")
    assert isinstance(node, s.Summation)
    assert node.index.id == "k"
    body = node.body
    assert body.op == "*" and body.left.op == "*"  # ((w_kj δ_k) σ'(z_j)): all three inside the Σ
    assert isinstance(body.right, s.Call) and body.right.primes == 1


def test_summation_stops_at_plus():
    node = lhs("Σ_k a_k + b")
    assert isinstance(node, s.BinOp) and node.op == "+"
    assert isinstance(node.left, s.Summation) and shape(node.right) == N("b")


def test_summation_without_index_sums_a_vector():
    node = lhs("Σ y")
    assert isinstance(node, s.Summation) and node.index is None and shape(node.body) == N("y")
    neg = lhs("−Σ(y ⊙ log(aᴸ))")
    assert isinstance(neg, s.Neg) and isinstance(neg.operand, s.Summation)
    assert neg.operand.body.op == "⊙"


def test_summation_index_must_be_one_name():
    with pytest.raises(DeriveSyntaxError) as info:
        parse("rule r: Σ_{j,k} a = 1", "f.deriv")
    assert info.value.pos == Pos(1, 10)
    assert "single name" in info.value.message


def test_vector_literal():
    node = lhs("[z, 0]")
    assert isinstance(node, s.Vector)
    assert shape(node.items) == (N("z"), Int(0))


def test_primes_count():
    assert lhs("σ''(t)").primes == 2
    assert lhs("σ'(t)").primes == 1
    assert lhs("σ(t)").primes == 0


# ---------------------------------------------------------------- statements


def test_wrong_rule_marks_expect_refuted():
    doc = parse("rule a: x = 1\nwrong rule b: x = 2\n")
    a, b = doc.statements
    assert (a.name, a.expect_refuted) == ("a", False)
    assert (b.name, b.expect_refuted) == ("b", True)


def test_quoted_rule_names_lose_their_quotes_and_keep_everything_else():
    rule = statement('rule "σ\' = σ(1−σ): BP 0": x = 1')
    assert rule.name == "σ' = σ(1−σ): BP 0"
    wrong = statement('wrong rule "a b": x = 1')
    assert wrong.name == "a b" and wrong.expect_refuted


def test_identifier_rule_names_may_hold_dots_dashes_and_underscores():
    assert statement("rule BP2_no.transpose-1: x = 1").name == "BP2_no.transpose-1"


def test_comments_are_ignored():
    text = ("# a comment on its own line\n"
            "rule r: x = 1  # a trailing comment with $ @ and = = signs\n"
            "\n"
            "   # an indented comment\n"
            "rule s: y = 2\n")
    doc = parse(text)
    assert [st.name for st in doc.statements] == ["r", "s"]
    assert shape(doc.statements[0].equation.rhs) == Int(1)


def test_a_file_of_only_comments_and_blank_lines_is_empty():
    assert parse("# nothing\n\n   \n# here\n").statements == ()


def test_missing_final_newline_and_crlf_line_ends():
    lf = parse("rule r: x = 1\nrule s: y = 2")
    crlf = parse("rule r: x = 1\r\nrule s: y = 2\r\n")
    assert shape(lf) == shape(crlf)
    assert len(lf.statements) == 2


def test_backslash_continues_a_line():
    fn = statement("def f(a, b) = a \\\n    + b\n")
    assert isinstance(fn, s.FunctionDecl) and fn.params == ("a", "b")
    assert shape(fn.body) == Bin("+", N("a"), N("b"))
    assert fn.body.right.pos == Pos(2, 7)


def test_function_definition():
    fn = statement("function σ(t) = 1/(1 + exp(-t))")
    assert (fn.name, fn.params) == ("σ", ("t",))
    assert fn.body.op == "/"


def test_graph_block():
    g = statement("graph J {\n"
                  "    input a = 5, b = -1.5, c\n"
                  "    u = b c\n"
                  "    assume a = 1\n"
                  "    rule r: dJ/du = 3\n"
                  "}\n")
    assert isinstance(g, s.GraphDecl) and g.name == "J"
    assert [(i.name, i.value) for i in g.inputs] == [("a", Fraction(5)), ("b", Fraction(-3, 2)), ("c", None)]
    assert [(n.name, shape(n.expr)) for n in g.nodes] == [("u", Bin("*", N("b"), N("c")))]
    assert len(g.assumptions) == 1 and [r.name for r in g.rules] == ["r"]
    assert shape(g.rules[0].equation.lhs) == Bin("/", N("dJ"), N("du"))


def test_network_block_items():
    net = statement("network mlp {\n"
                    "    layers 2, 3, 2\n"
                    "    also layers none\n"
                    "    activation tanh\n"
                    "    activation softmax at L\n"
                    "    activation σ at 1..L-1\n"
                    "    loss C = ½‖y − aᴸ‖²\n"
                    "    let p = aᴸ\n"
                    "    assume Σ y = 1\n"
                    "    wrong rule r: δᴸ = aᴸ\n"
                    "}\n")
    assert isinstance(net, s.NetworkDecl) and net.name == "mlp"
    kinds = [type(i).__name__ for i in net.items]
    assert kinds == ["LayersDecl", "AlsoLayersDecl", "ActivationDecl", "ActivationDecl", "ActivationDecl",
                     "LossDecl", "AliasDecl", "Assumption", "RuleDecl"]
    layers, also, act_all, act_l, act_range, loss, alias, assume, rule = net.items
    assert shape(layers.sizes) == (Int(2), Int(3), Int(2))
    assert also.sizes is None
    assert act_all.func == "tanh" and act_all.low is None and act_all.high is None
    assert act_l.func == "softmax" and shape(act_l.low) == shape(act_l.high) == N("L")
    assert shape(act_range.low) == Int(1) and shape(act_range.high) == Bin("-", N("L"), Int(1))
    assert loss.name == "C" and alias.name == "p"
    assert rule.expect_refuted


def test_also_layers_with_sizes():
    net = statement("network n {\n    also layers 3, 2, 3\n}\n")
    (also,) = net.items
    assert shape(also.sizes) == (Int(3), Int(2), Int(3))


def test_nodes_are_frozen_and_hashable():
    node = lhs("a + b")
    with pytest.raises(dataclasses.FrozenInstanceError):
        node.op = "-"
    assert hash(node) == hash(lhs("a + b"))  # equal trees (same positions) hash alike


# ---------------------------------------------------------------- positions


def test_positions_of_nodes_are_one_based_line_and_column():
    text = ("# header\n"
            "network n {\n"
            "    layers 2, 3\n"
            "    rule r: δᴸ = (aᴸ − y) ⊙ σ'(zᴸ)\n"
            "}\n")
    net = statement(text)
    assert net.pos == Pos(2, 1)
    layers, rule = net.items
    assert layers.pos == Pos(3, 5)
    assert layers.sizes[1].pos == Pos(3, 15)
    assert rule.pos == Pos(4, 5)
    eq = rule.equation
    assert eq.pos == Pos(4, 13)
    assert eq.lhs.pos == Pos(4, 13)  # δᴸ
    assert eq.rhs.pos == Pos(4, 18)  # the Hadamard product starts at its '('
    diff = eq.rhs.left
    assert diff.pos == Pos(4, 19)  # aᴸ − y, inside the bracket
    assert diff.right.pos == Pos(4, 24)  # y
    call = eq.rhs.right
    assert call.pos == Pos(4, 29)  # σ'(zᴸ)
    assert call.args[0].pos == Pos(4, 32)


def test_positions_of_quantifiers_and_wrong_rules():
    rule = statement("wrong rule q: for l in 1..L: a^l = a^l")
    assert rule.pos == Pos(1, 1)  # the rule starts at `wrong`
    (q,) = rule.quantifiers
    assert q.pos == Pos(1, 15)
    assert q.high.pos == Pos(1, 27)


def test_positions_of_unicode_scripts():
    node = lhs("aˡ⁻¹ₖ")  # 'a' at column 9
    assert node.pos == Pos(1, 9) and node.base.pos == Pos(1, 9)
    assert node.base.arg.pos.column == 10  # the superscript
    assert node.items[0].pos == Pos(1, 13)  # the subscript ₖ


def test_columns_count_characters_not_bytes():
    rule = statement("rule r: σσσσ(t) + ‖v‖ = w")  # multi-byte characters before 'w'
    assert rule.equation.rhs.pos == Pos(1, 25)


# ---------------------------------------------------------------- syntax errors


def _caret_column(message: str) -> int:
    """The 1-based column the caret line of an error message points at."""
    lines = str(message).splitlines()
    caret = lines[2]
    assert caret.strip() == "^", caret
    return len(caret) - len("    ")  # the message indents the source and the caret by 4


@pytest.mark.parametrize("text, line, column, what", [
    ("rule r: (a + b = a", 1, 16, "unexpected '='"),  # unbalanced parenthesis
    ("rule r: a = b)", 1, 14, "unexpected ')'"),  # one too many
    ("rule r: 1 = = 2", 1, 13, "unexpected '='"),
    ("rule r: a $ b = 1", 1, 11, "unexpected character '$'"),
    ("rule ok: x = 1\nrule r: a @ b = 1", 2, 11, "unexpected character '@'"),
    ("rule r a = b", 1, 8, "unexpected 'a'"),  # missing colon
    ("rule r: a = ", 1, 13, "unexpected end of line"),
    ("rule r: ‖a = 1", 1, 12, "unexpected '='"),  # norm never closed
    ("graph g {\n    input a\n    u = a +\n}\n", 3, 12, "unexpected end of line"),
    ('rule r: "unterminated = 1', 1, 9, "unexpected character '\"'"),
])
def test_syntax_errors_have_position_source_line_and_caret(text, line, column, what):
    with pytest.raises(DeriveSyntaxError) as info:
        parse(text, "bad.deriv")
    err = info.value
    assert isinstance(err, DeriveError)
    assert err.pos == Pos(line, column)
    assert what in err.message
    message = str(err)
    first, source, caret = message.splitlines()
    assert first.startswith(f"bad.deriv:{line}:{column}: syntax error: ")
    assert source == "    " + text.splitlines()[line - 1]
    assert _caret_column(message) == column


def test_network_missing_its_closing_brace_is_an_unexpected_end_of_file():
    text = ("network n {\n"
            "    layers 2, 2\n"
            "    activation σ\n"
            "    loss C = ½‖y − aᴸ‖²\n")
    with pytest.raises(DeriveSyntaxError) as info:
        parse(text, "open.deriv")
    err = info.value
    assert "end of file" in err.message
    assert err.pos.line == 4  # the last line of the file
    first, source, caret = str(err).splitlines()
    assert first.startswith(f"open.deriv:4:{err.pos.column}: ")
    assert source == "    " + text.splitlines()[-1]
    assert _caret_column(str(err)) == err.pos.column


def test_syntax_error_caret_keeps_tabs():
    text = "rule ok: x = 1\n\trule r: a @ b = 1\n"
    with pytest.raises(DeriveSyntaxError) as info:
        parse(text, "tab.deriv")
    assert info.value.pos == Pos(2, 12)
    _, source, caret = str(info.value).splitlines()
    assert source == "    \trule r: a @ b = 1"
    assert caret == "    \t" + " " * 10 + "^"  # the tab is kept, so the caret sits under '@'


def test_syntax_error_default_filename():
    with pytest.raises(DeriveSyntaxError) as info:
        parse("rule r: 1 = = 2")
    assert str(info.value).startswith("<input>:1:13: syntax error:")


@pytest.mark.parametrize("text", ["rule r a = b", "rule: a = b"])
def test_expected_tokens_do_not_include_an_impossible_norm_bar(text):
    # (Found while writing these tests: the post-lexer's always-accepted NORM terminal
    # leaked into the expected-token list, so these errors claimed a '‖' would do.)
    with pytest.raises(DeriveSyntaxError) as info:
        parse(text)
    assert "expected " in info.value.message
    assert "‖" not in info.value.message


def test_a_factor_may_precede_a_summation():
    from derive.syntax import parse as _parse
    eq = _parse("rule r: ½ Σ_j y_j = 1").statements[0].equation
    assert eq.lhs.op == "*" and type(eq.lhs.right).__name__ == "Summation"


def test_graph_inputs_may_be_fractions():
    from fractions import Fraction

    from derive.syntax import parse as _parse
    graph = _parse("graph g {\n    input a = 1/2, b = -3/4, c = 0.25\n    u = a\n}\n").statements[0]
    assert [i.value for i in graph.inputs] == [Fraction(1, 2), Fraction(-3, 4), Fraction(1, 4)]


def test_unclosed_block_says_so_at_the_end_of_the_file():
    import pytest as _pytest

    from derive.errors import DeriveSyntaxError as _Err
    from derive.syntax import parse as _parse
    with _pytest.raises(_Err) as info:
        _parse("network n {\n  layers 2, 2\n  loss C = Σ aᴸ", "u.deriv")
    assert "not closed with '}'" in info.value.message
    assert (info.value.pos.line, info.value.pos.column) == (3, 16)


# ---------------------------------------------------------------- piecewise, series, undefined


def test_piecewise_definition_with_unicode_and_ascii_comparisons():
    uni = statement("function h(x) = −1 if x ≤ −1 else x if x < 1 else 1").body
    ascii_ = statement("function h(x) = -1 if x <= -1 else x if x < 1 else 1").body
    assert shape(uni) == shape(ascii_)
    assert isinstance(uni, s.Cases) and len(uni.pieces) == 2
    assert [p.condition.op for p in uni.pieces] == ["<=", "<"]
    assert shape(uni.otherwise) == shape(s.Num(Fraction(1), Pos(1, 1)))


def test_piecewise_node_in_a_graph_and_juxtaposition_after_else():
    g = statement("graph g {\n input u\n m = u if u > 0 else 0.01 u\n}")
    (node,) = g.nodes
    assert isinstance(node.expr, s.Cases)
    assert node.expr.otherwise.op == "*"


def test_series_claim_and_its_ascii_twin():
    uni = statement("rule t: σ(x) ≈ x/4 + 1/2 at x = 0 order 2").equation
    ascii_ = statement("rule t: sigma(x) ~= x/4 + 1/2 at x = 0 order 2").equation
    assert isinstance(uni, s.Series) and (uni.var, uni.order) == ("x", 2)
    assert shape(uni, _ASCII_NAMES) == shape(ascii_, _ASCII_NAMES)


def test_undefined_rule_marker():
    rule = statement("undefined rule k: relu'(0) = 0")
    assert rule.expect_undefined and not rule.expect_refuted


def test_a_condition_outside_a_definition_is_a_syntax_error():
    with pytest.raises(DeriveSyntaxError) as info:
        parse("rule r: x if x > 0 else 0 = relu(x)")
    assert info.value.pos.line == 1
