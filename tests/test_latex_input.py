"""LaTeX input: every LaTeX spelling parses to the rule its Unicode form gives (pairs compared
after name resolution, positions aside), the textbook formulas are proved in real networks,
a LaTeX rule that is wrong for a mathematical reason is refuted, and LaTeX that derive cannot
read is bad input with a position, a caret and how to write it."""

from __future__ import annotations

import dataclasses
import random

import pytest

from derive import syntax as s
from derive.api import check_source
from derive.errors import DeriveError, Pos
from derive.latex import latex_of
from derive.model import load
from tests.conftest import ROOT

# ---------------------------------------------------------------- helpers


def shape(node):
    """A resolved node without positions (and without spelling-only fields), for comparison."""
    if dataclasses.is_dataclass(node) and not isinstance(node, Pos):
        return (type(node).__name__,) + tuple(
            (f.name, shape(getattr(node, f.name))) for f in dataclasses.fields(node) if f.name != "pos" and f.compare)
    if isinstance(node, (tuple, list)):
        return tuple(shape(x) for x in node)
    return node


NETWORK = """network mlp {{
    layers 2, 3, 2
    activation σ
    loss C = ½‖y − aᴸ‖²
    rule r: {rule}
}}
"""
GRAPH = """graph g {{
    input a = 5, b = 3, c = 2
    u = b c
    J = 3 (a + u)
    rule r: {rule}
}}
"""
SCALAR = "rule r: {rule}\n"


def resolved(template: str, rule: str):
    """The resolved rule `r` of `template` holding `rule`: its quantifiers and both sides."""
    (r,) = [r for r in load(template.format(rule=rule)).all_rules() if r.name == "r"]
    return shape(r.quantifiers), shape(r.lhs), shape(r.rhs)


def error_of(text: str) -> DeriveError:
    with pytest.raises(DeriveError) as info:
        load(text, "notes.deriv")
    return info.value


# ---------------------------------------------------------------- pairs: LaTeX and Unicode give one rule

SCALAR_PAIRS = [
    # Greek letters, \phi and \varphi one letter φ, \epsilon and \varepsilon one ε
    (r"\alpha + \beta \gamma = \Delta \lambda", "α + β γ = Δ λ"),
    (r"\phi + \varphi = \epsilon \varepsilon \theta", "φ + φ = ε ε θ"),
    (r"\sigma(t) = \sigma(t)", "σ(t) = σ(t)"),
    # products
    (r"a \cdot b = c \times d", "a · b = c × d"),
    (r"a \cdot b = c", "a b = c"),
    # fractions: \frac{1}{2} is the number ½
    (r"\frac{a}{b} = \dfrac{a + b}{c} + \tfrac{1}{2} t", "a/b = (a + b)/c + ½ t"),
    (r"\frac{1}{2} t = t", "½ t = t"),
    (r"2 \frac{a}{b} c = a", "2 (a/b) c = a"),
    # functions, operator names, \sqrt, \operatorname
    (r"\log(t) + \ln(t) + \exp(t) + \tanh(t) = \sqrt{t}", "log(t) + ln(t) + exp(t) + tanh(t) = sqrt(t)"),
    (r"\max(a, b) = \min(a, b)", "max(a, b) = min(a, b)"),
    (r"\operatorname{softplus}(t) = \mathrm{erf}(t)", "softplus(t) = erf(t)"),
    (r"\operatorname{hard\sigma}(t) = t", "hardσ(t) = t"),
    # derivatives: f', f′, f^\prime, f^{\prime\prime}
    (r"\sigma^\prime(t) = \tanh^{\prime\prime}(t)", "σ'(t) = tanh''(t)"),
    (r"\sigma'(t) = \sigma(t) \left(1 - \sigma(t)\right)", "σ'(t) = σ(t)(1 − σ(t))"),
    # grouping: \left( \right), \bigl( \bigr), \left[ \right], {…}
    (r"\left( a + b \right) c = \bigl( a \bigr) \Bigl( b \Bigr)", "(a + b) c = (a) (b)"),
    (r"\left[ a + b \right] c = {a + b} c", "(a + b) c = (a + b) c"),
    (r"\sigma\left(t\right) = \exp\left( -t \right)", "σ(t) = exp(−t)"),
    # spacing is blank: \, \; \: \! \quad \qquad ~ and `\ `
    (r"a\,b \; c\:d \! e \quad f \qquad g ~ h\ i = 0", "a b c d e f g h i = 0"),
    # fonts are transparent; accents make a name of their own
    (r"\mathbf{x} + \boldsymbol{\delta} + \bm{w} + \mathit{v} + \mathsf{u} = \mathcal{L}", "x + δ + w + v + u = L"),
    (r"\hat{y} + \bar{x} + \tilde{z} = \hat{\delta}", "ŷ + x̄ + z̃ = δ̂"),
    (r"\mathbf{\hat{y}} = \hat{y}", "ŷ = ŷ"),
    # a LaTeX name ends where its command ends
    (r"\alpha1 = \alpha_1", "α 1 = α_1"),
    # sums
    (r"\sum_{k=1}^{3} x_k = \sum\limits_{k=1}^{3} x_k", "Σ_{k=1}^{3} x_k = Σ_{k=1}^{3} x_k"),
    (r"\sum_{k=1}^{n} x_k = 0", "Σ_{k=1}^{n} x_k = 0"),
    (r"\Sigma_{k=1}^{3} x_k = \sum_{k = 1}^{3} {x_k}", "Σ_{k=1}^{3} x_k = ∑_{k=1}^{3} x_k"),
    # scripts: a braced one-name subscript reads as the unbraced one
    (r"x_{ij} + x_{i} + x_{12} = 0", "x_ij + x_i + x_12 = 0"),
    # comments: % as #
    (r"a = b % a LaTeX comment", "a = b # a comment"),
]


@pytest.mark.parametrize("latex, unicode", SCALAR_PAIRS)
def test_scalar_rule_in_latex_is_the_unicode_rule(latex, unicode):
    assert resolved(SCALAR, latex) == resolved(SCALAR, unicode)


NETWORK_PAIRS = [
    (r"\delta^L = \frac{\partial C}{\partial a^L} \odot \sigma'(z^L)", "δᴸ = ∂C/∂aᴸ ⊙ σ'(zᴸ)"),
    (r"\delta^L = \nabla_{a^L} C \odot \sigma'(z^L)", "δᴸ = ∂C/∂aᴸ ⊙ σ'(zᴸ)"),
    (r"\boldsymbol{\delta}^L = (\mathbf{a}^L - \mathbf{y}) \circ \sigma^{\prime}(\mathbf{z}^L)",
     "δᴸ = (aᴸ − y) ∘ σ'(zᴸ)"),
    (r"for l in 1..L: \frac{\partial C}{\partial w^l_{jk}} = a^{l-1}_k \delta^l_j",
     "for l in 1..L: ∂C/∂wˡⱼₖ = aˡ⁻¹ₖ δˡⱼ"),
    (r"for l in 1..L: \frac{\partial C}{\partial b^l_j} = \delta^l_j", "for l in 1..L: ∂C/∂bˡⱼ = δˡⱼ"),
    (r"for l in 1..L: \nabla_{W^l} C = \delta^l (a^{l-1})^\top", "for l in 1..L: ∂C/∂Wˡ = δˡ (aˡ⁻¹)ᵀ"),
    # every transpose spelling
    (r"for l in 1..L-1: \delta^l = ((W^{l+1})^\top \delta^{l+1}) \odot \sigma'(z^l)",
     "for l in 1..L-1: δˡ = ((W^{l+1})ᵀ δ^{l+1}) ⊙ σ'(zˡ)"),
    (r"for l in 1..L-1: \delta^l = ((W^{l+1})^{\top} \delta^{l+1}) \odot \sigma'(z^l)",
     "for l in 1..L-1: δˡ = ((W^{l+1})ᵀ δ^{l+1}) ⊙ σ'(zˡ)"),
    (r"for l in 1..L-1: \delta^l = ((W^{l+1})^\intercal \delta^{l+1}) \odot \sigma'(z^l)",
     "for l in 1..L-1: δˡ = ((W^{l+1})⊤ δ^{l+1}) ⊙ σ'(zˡ)"),
    (r"for l in 1..L-1: \delta^l = ((W^{l+1})^\mathsf{T} \delta^{l+1}) \odot \sigma'(z^l)",
     "for l in 1..L-1: δˡ = ((W^{l+1})^T δ^{l+1}) ⊙ σ'(zˡ)"),
    (r"for l in 1..L-1: \delta^l = ({W^{l+1}}^{\mathrm{T}} \delta^{l+1}) \odot \sigma'(z^l)",
     "for l in 1..L-1: δˡ = ((W^{l+1})ᵀ δ^{l+1}) ⊙ σ'(zˡ)"),
    # a matrix product binds tighter than ⊙, in either order
    (r"for l in 1..L-1: \delta^l = \sigma'(z^l) \odot (W^{l+1})^T \delta^{l+1}",
     "for l in 1..L-1: δˡ = σ'(zˡ) ⊙ ((W^{l+1})ᵀ δ^{l+1})"),
    (r"for l in 1..L-1: \delta^l_j = \sum_k w^{l+1}_{kj} \, \delta^{l+1}_k \, \sigma'(z^l_j)",
     "for l in 1..L-1: δˡⱼ = Σ_k w^{l+1}_kj δ^{l+1}_k σ'(zˡⱼ)"),
    # norms: \| \|, \lVert \rVert, \left\| \right\|, the subscript 2 of the Euclidean norm
    (r"C = \frac{1}{2}\|y - a^L\|^2", "C = ½‖y − aᴸ‖²"),
    (r"C = \frac{1}{2}\left\|y - a^L\right\|_2^2", "C = ½‖y − aᴸ‖²"),
    (r"C = \frac{1}{2} \lVert y - a^L \rVert_{2}^{2}",
     "C = ½‖y − aᴸ‖²"),
    (r"C = \frac{1}{2}\|y - a^L\|^2_2", "C = ½‖y − aᴸ‖₂²"),
    (r"\operatorname{softmax}(z^L) = \mathrm{softmax}(z^L)", "softmax(zᴸ) = softmax(zᴸ)"),
]


@pytest.mark.parametrize("latex, unicode", NETWORK_PAIRS)
def test_network_rule_in_latex_is_the_unicode_rule(latex, unicode):
    assert resolved(NETWORK, latex) == resolved(NETWORK, unicode)


@pytest.mark.parametrize("latex, unicode", [
    (r"\frac{\mathrm{d}J}{\mathrm{d}a} = 3", "dJ/da = 3"),
    (r"\frac{\operatorname{d} J}{\mathrm{d} b} = 3 c",
     "dJ/db = 3 c"),
    (r"\frac{dJ}{dc} = 3 b", "dJ/dc = 3 b"),
    (r"\frac{\partial J}{\partial u} = 3", "∂J/∂u = 3"),
])
def test_graph_rule_in_latex_is_the_unicode_rule(latex, unicode):
    assert resolved(GRAPH, latex) == resolved(GRAPH, unicode)
    assert resolved(GRAPH, latex)[1][0] == "Partial"  # a derivative, not a quotient of two names


def test_declarations_in_latex_are_the_unicode_declarations():
    latex = load("network n {\n layers 2, 3, 2\n activation \\tanh\n activation \\sigma at L\n"
                 " loss C = \\frac{1}{2} \\left\\| y - a^L \\right\\|^2\n let \\hat{y} = a^L\n}\n").networks["n"]
    unicode = load("network n {\n layers 2, 3, 2\n activation tanh\n activation σ at L\n"
                   " loss C = ½‖y − aᴸ‖²\n let ŷ = aᴸ\n}\n").networks["n"]
    assert latex.activations == unicode.activations == ("tanh", "σ")
    assert shape(latex.loss) == shape(unicode.loss)
    assert {k: shape(v) for k, v in latex.aliases.items()} == {k: shape(v) for k, v in unicode.aliases.items()}
    assert "ŷ" in latex.aliases


def test_a_latex_error_keeps_the_position_of_the_text_as_written():
    # the unknown name sits after several LaTeX commands: its column is in the original text
    error = error_of("network n {\n layers 2, 2\n activation \\sigma\n loss C = ½‖y − aᴸ‖²\n"
                     " rule r: \\delta^L = \\left( \\mathbf{a}^L - \\mathbf{q} \\right)\n}\n")
    line = " rule r: \\delta^L = \\left( \\mathbf{a}^L - \\mathbf{q} \\right)"
    assert error.pos == Pos(5, line.index("\\mathbf{q}") + 1)
    assert "q" in error.message


# ---------------------------------------------------------------- the textbook formulas, proved

TANH = """network deep_tanh {{
    layers 3, 4, 4, 2
    activation tanh
    activation σ at L
    loss C = ½‖y − aᴸ‖²
    {rules}
}}
"""


def verdicts(text: str) -> dict:
    return {v.rule: (v.verdict, v.how) for v in check_source(text, "t.deriv", timeout=120)}


# The formulas of the issue, in Unicode/ASCII (a-c) and in LaTeX (d-g).
TEXTBOOK_RULES = (
    r"rule a: for l in 1..L-1: δ^l = tanh'(z^l) ⊙ (W^{l+1})^T δ^{l+1}",
    r"rule b: for l in 1..L-1: ((W^{l+1})ᵀ δ^{l+1}) ⊙ tanh'(zˡ) = δˡ",
    r"rule c: for l in 1..L: ∂C/∂w^l_{jk} = a^{l-1}_k δ^l_j",
    r"rule d: for l in 1..L-1: \delta^l = \tanh'(z^l) \odot (W^{l+1})^\top \delta^{l+1}",
    r"rule e: for l in 1..L: \frac{\partial C}{\partial w^l_{jk}} = a^{l-1}_k \, \delta^l_j",
    r"rule f: \delta^L = \nabla_{a^L} C \odot \sigma'(z^L)",
    r"rule g: \delta^L = \left(a^L - y\right) \odot \sigma^\prime(z^L)",
)


def test_the_formulas_of_the_issue_are_proved_in_a_tanh_network():
    rules = "\n    ".join(TEXTBOOK_RULES)
    got = verdicts(TANH.format(rules=rules))
    assert got == {name: ("proved", "symbolic") for name in "abcdefg"}


def test_a_latex_rule_wrong_for_a_mathematical_reason_is_refuted_by_a_counterexample():
    # j and k swapped in BP4; the layers are square, so it is a wrong value, not a shape
    text = ("network square {\n layers 3, 3, 3\n activation \\sigma\n loss C = \\frac{1}{2}\\|y - a^L\\|^2\n"
            " wrong rule swapped: for l in 1..L: \\frac{\\partial C}{\\partial w^l_{jk}} = a^{l-1}_j \\delta^l_k\n"
            " rule right: for l in 1..L: \\frac{\\partial C}{\\partial w^l_{jk}} = a^{l-1}_k \\delta^l_j\n}\n")
    assert verdicts(text) == {"swapped": ("refuted", "counterexample"), "right": ("proved", "symbolic")}


def test_latex_and_unicode_files_get_the_same_verdicts():
    unicode = (ROOT / "proofs" / "bp_sigmoid_mse.deriv").read_text(encoding="utf-8")
    doc = load(unicode)
    lines = unicode.splitlines()
    for rule in doc.networks["mlp"].rules:  # each rule again, as derive.latex prints it
        if rule.series is None:
            i = rule.pos.line - 1
            head = lines[i][: rule.lhs.pos.column - 1] if not rule.quantifiers \
                else lines[i][: lines[i].rindex(": ") + 2]
            lines[i] = head + f"{latex_of(rule.lhs)} = {latex_of(rule.rhs)}"
    latex = "\n".join(lines) + "\n"
    assert "\\odot" in latex and "\\partial" in latex
    assert verdicts(latex) == verdicts(unicode)


def test_precedence_hadamard_is_looser_than_products():
    def rhs(text):
        return shape(s.parse(f"rule r: x = {text}").statements[0].equation.rhs)

    assert rhs("a ⊙ W b") == rhs("a ⊙ (W b)")
    assert rhs("W b ⊙ a") == rhs("(W b) ⊙ a")
    assert rhs("a ⊙ b * c") == rhs("a ⊙ (b * c)")
    assert rhs("a ⊙ b / c") == rhs("a ⊙ (b / c)")
    assert rhs("a ⊙ b ⊙ c") == rhs("(a ⊙ b) ⊙ c")
    assert rhs("a ⊙ b + c") == rhs("(a ⊙ b) + c")
    assert rhs(r"a \odot W^T b") == rhs("a ⊙ (Wᵀ b)")


# ---------------------------------------------------------------- LaTeX derive cannot read

@pytest.mark.parametrize("rule, column, words", [
    (r"x = \foo + 1", 13, [r"unknown LaTeX command \foo", r"\delta", r"\odot"]),
    (r"x = \begin{pmatrix} a \end{pmatrix}", 13, [r"unknown LaTeX command \begin"]),
    (r"x = \% 1", 13, [r"unknown LaTeX command \%"]),
    (r"x = \mathbf{W^l}", 13, [r"write \mathbf{W}^l"]),
    (r"x = \hat{ab}", 13, [r"write \hat{y}"]),
    (r"x = \frac12", 18, [r"expected '{'", r"write \frac{a}{b}"]),
    (r"x = \sqrt x", 19, [r"write \sqrt{x}"]),
    (r"x = W^{[l]}", 13, ["write W^l or W^{(l)}"]),
    (r"x = W^[l]", 15, ["expected", "write W^l or W^{(l)}"]),
    (r"x = \|v\|_1", 13, ["Euclidean norm", "‖v‖_2"]),
    (r"x = \nabla C", 20, ["expected '_'", r"write \nabla_a C"]),
])
def test_unreadable_latex_says_how_to_write_it(rule, column, words):
    error = error_of(f"rule r: {rule}\n")
    assert error.pos == Pos(1, column), str(error)
    text = str(error)
    assert text.startswith(f"notes.deriv:1:{column}: ") and text.splitlines()[-1].strip() == "^"
    for word in words:
        assert word in error.message, error.message


def test_a_latex_token_is_shown_as_written_in_a_message():
    error = error_of("rule r: x = a \\odot\n")
    assert "unexpected end of line" in error.message
    error = error_of("rule r: x = \\odot a\n")
    assert "unexpected '\\odot'" in error.message


def test_a_function_written_without_parentheses_is_told_to_call_it():
    error = error_of("rule r: \\log t = 1\n")
    assert "'log' is a function: call it" in error.message and error.pos == Pos(1, 9)


# ---------------------------------------------------------------- mangled LaTeX: verdicts or located errors

LATEX_TOKENS = [r"\delta", r"\sigma", r"\odot", r"\cdot", r"\frac", r"\partial", r"\nabla", r"\sum", r"^\top",
                r"\left(", r"\right)", r"\left[", r"\right]", r"\|", r"\mathbf{", r"\hat{", r"\mathrm{d}", "{", "}",
                "_", "^", r"\,", "~", "%", r"\foo", r"\sqrt", r"\prime", r"\lVert", r"\top", "\\", " ", "[", ","]


def _latex_mutant(rng) -> str:
    lines = (ROOT / "proofs" / rng.choice(("latex_notation.deriv", "wrong/latex_notation.deriv"))).read_text(
        encoding="utf-8").splitlines()
    k = rng.randrange(len(lines))
    line = lines[k]
    for _ in range(rng.randint(1, 3)):
        at = rng.randrange(len(line) + 1)
        if rng.random() < 0.3 and line:
            line = line[:at] + line[at + 1:]
        else:
            line = line[:at] + rng.choice(LATEX_TOKENS) + line[at:]
    lines[k] = line
    return "\n".join(lines)


@pytest.mark.parametrize("seed", range(25))
def test_mangled_latex_gives_verdicts_or_located_errors(seed):
    text = _latex_mutant(random.Random(seed))
    try:
        result = check_source(text, "mutant.deriv", timeout=30)
    except DeriveError as e:
        assert str(e).startswith("mutant.deriv:"), str(e)
        assert "Traceback" not in str(e)
        return
    assert all(v.how != "internal" for v in result), text


def test_percent_and_tilde_keep_their_other_meanings():
    # % starts a comment, but not inside a quoted rule name; ~ is a space, but ~= is still ≈
    (rule,) = load('rule "50% off": t = t % a comment\n').all_rules()
    assert rule.name == "50% off"
    series = load("rule t: σ(x) ~= x/4 + 1/2 at x = 0 order 2\n").all_rules()[0]
    assert series.series is not None
    assert resolved(SCALAR, "a ~ b = a~b") == resolved(SCALAR, "a b = a b")


def test_a_power_by_an_undeclared_t_says_how_to_transpose():
    error = error_of(NETWORK.format(
        rule=r"for l in 1..L-1: \delta^l = ((W^{l+1})^{T} \delta^{l+1}) \odot \sigma'(z^l)"))
    assert "^{T} is a power by T" in error.message and "^\\top" in error.message and error.pos.line == 5
    # where T is a size, ^{T} is the power it always was
    graph = load("graph g {\n size T = 2\n input x\n J = x^{T}\n rule r: dJ/dx = 2 x\n}\n")
    assert graph.graphs["g"].rules[0].lhs is not None


def test_latex_never_joins_two_lines():
    # the blank and optional spaces inside LaTeX tokens are spaces and tabs, never a newline
    error = error_of("graph g {\n input a = 5\n J = 2 a\n rule s: \\left\n (J) = 10\n}\n")
    assert error.pos.line == 4
    (rule,) = load("graph g {\n input a = 5\n J = 2 a\n rule r: J = 10 \\,\n}\n").all_rules()
    assert rule.name == "r"


# ---------------------------------------------------------------- the derivative operator \frac{d}{dx}: bad input

@pytest.mark.parametrize("rule", [
    r"\frac{d}{dx}(x \cdot x) = x \frac{d}{dx} x",
    r"\frac{\mathrm{d}}{\mathrm{d}x}\left(x \tanh(x)\right) = x",
    r"\frac{d}{dx} \sigma(x) = \sigma(x)(1-\sigma(x))",
    r"\frac{d}{d x}(x x) = 2 x",
    r"\dfrac{d}{dt} t = 1",
    r"\frac{d^2}{dx^2}(x^3) = 6 x",
    r"\frac{\partial}{\partial x}(x y) = y",
    r"\frac{\partial^2}{\partial x^2} x = 0",
    r"y = 2 + \frac{\mathrm{d} }{\mathrm{d} x}(x)",
])
def test_the_derivative_operator_is_bad_input_with_a_hint(rule):
    for template in (SCALAR, GRAPH):
        text = template.format(rule=rule)
        error = error_of(text)
        assert "derivative operator" in error.message and "diff(e, x)" in error.message, error.message
        line = text.splitlines()[error.pos.line - 1]
        assert line[error.pos.column - 1:].startswith(("\\frac{d", "\\frac{\\", "\\dfrac{d")), str(error)


@pytest.mark.parametrize("latex, unicode", [
    (r"\frac{d}{x} = d/x", "d/x = d/x"),  # d over a name not spelled d…: a quotient
    (r"\frac{\partial f}{\partial x} = 1", "∂f/∂x = 1"),
])
def test_fractions_that_are_not_the_operator_read_as_before(latex, unicode):
    assert resolved(SCALAR, latex) == resolved(SCALAR, unicode)


def test_dj_da_in_a_graph_is_still_the_derivative():
    assert verdicts(GRAPH.format(rule=r"\frac{\mathrm{d}J}{\mathrm{d}a} = 3")) == {"r": ("proved", "symbolic")}


# ---------------------------------------------------------------- numbers side by side in a subscript: bad input

@pytest.mark.parametrize("rule", [
    r"x_{1\,3} = x_3", r"x_{1 3} = x_3", r"W_{2\,1} = 0", r"W_{2 1} = 0", r"W_{2\;1} = 0", r"W_{1 2 3} = 0",
    r"W_{1, 2 1} = 0", r"W_{2~1} = 0",
])
def test_numbers_side_by_side_in_a_subscript_are_bad_input(rule):
    error = error_of(SCALAR.format(rule=rule))
    assert "write W_{2,1} (or W_21 for a matrix)" in error.message, error.message
    assert error.pos.line == 1 and rule[error.pos.column - 9] in "12", str(error)


def test_subscripts_with_one_number_per_index_read_as_documented():
    graph = "graph G {\n input W[2,2], x[3], w[3,3]\n J = W_21 + x_1\n rule c1: J = W_{2,1} + x_{1}\n" \
            " rule c2: J = W_{21} + x_1\n rule c3: J = W_{2 \\cdot 1, 1} + x_{3 - 2}\n" \
            " wrong rule c4: J = W_{1,2} + x_1\n rule c5: w_{jk} = w_jk\n}\n"
    assert verdicts(graph) == {"c1": ("proved", "symbolic"), "c2": ("proved", "symbolic"),
                               "c3": ("proved", "symbolic"), "c4": ("refuted", "counterexample"),
                               "c5": ("proved", "symbolic")}
