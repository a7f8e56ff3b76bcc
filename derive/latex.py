r"""Derivations → LaTeX (a complete pdflatex document) and Markdown (`$…$` math).

`DerivePrinter` is SymPy's `LatexPrinter` taught derive's own objects, one
`_print_<ClassName>` method each (SymPy's printer dispatches on the class name): the
syntax nodes of a rule as the file writes it (`Sup`, `Sub`, `BinOp` with ⊙, `Transpose`,
`Partial`, …), and, inside derivation lines, the graph's symbols read through the
derivation's notation (`Script`: z²₁ → ``z^{2}_{1}``, δˡⱼ; `PartialOf`: ∂C/∂a²₁), and
f'(z) for unevaluated derivatives. So no `Indexed(...)` or `_0` artefact reaches the page.

Everything outside math (rule names, messages) goes through `text`, which maps Unicode
to LaTeX macros, so the document compiles with plain pdflatex and the base packages.

>>> latex_of(load_rule("rule r: δˡ = ((W^{l+1})ᵀ δ^{l+1}) ⊙ σ'(zˡ)").rhs)
"\\left(\\left(W^{l + 1}\\right)^{\\top} \\, \\delta^{l + 1}\\right) \\odot \\sigma'\\left(z^{l}\\right)"
>>> text("BP1: δᴸ = σ′(zᴸ) & 50%")
"BP1: $\\delta$$^{L}$ = $\\sigma$$'$(z$^{L}$) \\& 50\\%"
"""

from __future__ import annotations

import html
import unicodedata
from fractions import Fraction
from typing import cast

import sympy as sp
from sympy.printing.latex import LatexPrinter

from . import syntax as s
from .render import marked
from .steps import Derivation, PartialOf, Script
from .vocabulary import Outcome

# ---------------------------------------------------------------- names and text

_GREEK = {unicodedata.lookup(f"GREEK SMALL LETTER {n}"): f"\\{n.lower()}" for n in (
    "ALPHA", "BETA", "GAMMA", "DELTA", "EPSILON", "ZETA", "ETA", "THETA", "IOTA", "KAPPA", "LAMDA", "MU", "NU",
    "XI", "PI", "RHO", "SIGMA", "TAU", "UPSILON", "PHI", "CHI", "PSI", "OMEGA")}
_GREEK["λ"] = "\\lambda"
_GREEK.update({unicodedata.lookup(f"GREEK CAPITAL LETTER {n}"): f"\\{n.capitalize()}" for n in (
    "GAMMA", "DELTA", "THETA", "LAMDA", "XI", "PI", "SIGMA", "UPSILON", "PHI", "PSI", "OMEGA")})
_GREEK["Λ"] = "\\Lambda"
_GREEK.update({"ϑ": "\\vartheta", "ϕ": "\\phi", "ϵ": "\\epsilon", "ο": "o", "ς": "\\varsigma"})
_GREEK.update(zip("ΑΒΕΖΗΙΚΜΝΟΡΤΧ", "ABEZHIKMNOPTX"))  # capitals that look Latin have no macro
_ACCENTS = {"\u0302": "\\hat", "\u0303": "\\tilde", "\u0304": "\\bar", "\u0307": "\\dot", "\u0301": "\\acute",
            "\u0300": "\\grave", "\u0308": "\\ddot", "\u20d7": "\\vec"}
_SYMBOLS = {  # math-mode macros for symbols that may appear in names and messages
    "−": "-", "·": "\\cdot", "⋅": "\\cdot", "×": "\\times", "⊙": "\\odot", "∘": "\\circ", "ᵀ": "^{\\top}",
    "⊤": "^{\\top}", "∂": "\\partial", "Σ": "\\Sigma", "∑": "\\sum", "‖": "\\|", "′": "'", "″": "''", "≡": "\\equiv",
    "≠": "\\neq", "≤": "\\leq", "≥": "\\geq", "→": "\\to", "←": "\\leftarrow", "↳": "\\hookrightarrow",
    "∀": "\\forall", "∈": "\\in", "√": "\\surd", "∞": "\\infty", "±": "\\pm", "≈": "\\approx", "½": "\\tfrac{1}{2}",
    "⅓": "\\tfrac{1}{3}", "¼": "\\tfrac{1}{4}", "¾": "\\tfrac{3}{4}", "²": "^{2}", "³": "^{3}", "…": "\\ldots",
}
_TEXT_SPECIAL = {"\\": "\\textbackslash{}", "{": "\\{", "}": "\\}", "$": "\\$", "&": "\\&", "%": "\\%",
                 "#": "\\#", "_": "\\_", "~": "\\textasciitilde{}", "^": "\\textasciicircum{}", "'": "'",
                 "\"": "''", "<": "$<$", ">": "$>$", "|": "$|$"}


def text(value: str) -> str:
    """Unicode text (rule names, messages) as pdflatex text: specials escaped, Greek letters,
    operators and sub/superscripts as math, accents as accents; anything else is spelled
    by its Unicode name, so no character can break the document."""
    value = unicodedata.normalize("NFD", value)  # ŷ → y + combining circumflex
    out, i = [], 0
    while i < len(value):
        ch = value[i]
        if ch in s.SUPERSCRIPTS or ch in s.SUBSCRIPTS:
            table, mark = (s.SUPERSCRIPTS, "^") if ch in s.SUPERSCRIPTS else (s.SUBSCRIPTS, "_")
            j = i
            while j < len(value) and value[j] in table:
                j += 1
            out.append(f"${mark}{{{''.join(table[c] for c in value[i:j])}}}$")
            i = j
            continue
        if i + 1 < len(value) and value[i + 1] in _ACCENTS:
            out.append(f"${_ACCENTS[value[i + 1]]}{{{_math_char(ch)}}}$")
            i += 2
            continue
        if ch in _TEXT_SPECIAL:
            out.append(_TEXT_SPECIAL[ch])
        elif ord(ch) < 128:
            out.append(ch)
        elif ch in _GREEK or ch in _SYMBOLS:
            out.append(f"${_math_char(ch)}$")
        else:
            plain = unicodedata.normalize("NFKD", ch).encode("ascii", "ignore").decode()
            out.append(plain if plain else f"[{unicodedata.name(ch, 'U+%04X' % ord(ch)).lower()}]")
        i += 1
    return "".join(out)


def _math_char(ch: str) -> str:
    if ch in _GREEK:
        return _GREEK[ch]
    if ch in _SYMBOLS:
        return _SYMBOLS[ch]
    if ord(ch) < 128:
        return ch
    plain = unicodedata.normalize("NFKD", ch).encode("ascii", "ignore").decode()
    return plain or f"\\text{{[{unicodedata.name(ch, '?').lower()}]}}"


def name_latex(name: str) -> str:
    """A name from the file in math mode: σ → \\sigma, ŷ → \\hat{y}, w1 → w_{1}, loss → \\mathit{loss}."""
    name = unicodedata.normalize("NFD", name)
    chars, i = [], 0
    while i < len(name):
        ch = name[i]
        if i + 1 < len(name) and name[i + 1] in _ACCENTS:
            chars.append(f"{_ACCENTS[name[i + 1]]}{{{_math_char(ch)}}}")
            i += 2
            continue
        chars.append(_math_char(ch))
        i += 1
    letters = [c for c in chars if not c.isdigit()]
    digits = "".join(c for c in chars if c.isdigit())
    if digits and "".join(chars).endswith(digits) and letters:
        return f"{_join_letters(letters)}_{{{digits}}}"
    return _join_letters(chars)


def _join_letters(chars: list) -> str:
    if len(chars) == 1:
        return chars[0]
    if all(len(c) == 1 for c in chars):
        return f"\\mathit{{{''.join(chars)}}}"
    return " ".join(chars)


_FUNCTION_NAMES = {"exp": "\\exp", "log": "\\log", "ln": "\\ln", "tanh": "\\tanh", "σ": "\\sigma",
                   "sigma": "\\sigma", "softmax": "\\operatorname{softmax}", "softplus": "\\operatorname{softplus}"}


def function_latex(name: str) -> str:
    if name in _FUNCTION_NAMES:
        return _FUNCTION_NAMES[name]
    macro = name_latex(name)
    if len(name) == 1 or macro.startswith("\\") and " " not in macro:
        return macro
    # hardσ → \operatorname{hard\sigma}: letters stay upright, Greek letters become macros
    return "\\operatorname{" + "".join(_math_char(ch) + (" " if len(_math_char(ch)) > 1 else "")
                                   for ch in unicodedata.normalize("NFC", name)).strip() + "}"


def label_latex(label: str) -> str:
    """A value's label in a counterexample in math mode.

    >>> print(label_latex("w^2_13"), label_latex("x_1"), label_latex("σ"))
    w^{2}_{13} x_{1} \\sigma
    """
    base, sup, sub = label, "", ""
    if "_" in base:
        base, sub = base.split("_", 1)
    if "^" in base:
        base, sup = base.split("^", 1)
    out = name_latex(base)
    if sup:
        out += f"^{{{sup}}}"
    if sub:
        out += f"_{{{sub.strip('{}')}}}"
    return out


# ---------------------------------------------------------------- the printer

_INFIX = {"+": "+", "-": "-", "⊙": "\\odot"}
_PREC = {"+": 1, "-": 1, "*": 2, "/": 2, "⊙": 2, "neg": 2, "^": 4}


class DerivePrinter(LatexPrinter):
    """SymPy's LaTeX printer for derive's syntax nodes and derivation symbols."""

    printmethod = "_derive_latex"
    _default_settings = dict(LatexPrinter._default_settings, notation=None)

    def emptyPrinter(self, expr):
        if isinstance(expr, sp.Basic):
            return super().emptyPrinter(expr)
        raise TypeError(f"no LaTeX form for {type(expr).__name__}")  # loud: never print a repr

    # ------------------------------------------------------------ derivation symbols

    def _print_Symbol(self, expr, style="plain"):
        notation = self._settings["notation"] or {}
        if expr in notation:
            return self._print(notation[expr])
        return name_latex(expr.name)

    def _print_Pi(self, expr) -> str:
        return "\\pi"

    def _print_Script(self, script: Script) -> str:
        out = name_latex(script.name)
        if script.layer is not None:
            out += f"^{{{script.layer}}}"
        if script.indices:
            sep = "" if all(i < 10 for i in script.indices) else ","
            out += "_{" + sep.join(map(str, script.indices)) + "}"
        return out

    def _print_PartialOf(self, partial: PartialOf) -> str:
        return f"\\frac{{\\partial {self._print(partial.top)}}}{{\\partial {self._print(partial.bottom)}}}"

    def _print_Function(self, expr, exp=None):
        if hasattr(type(expr), "_derive_definition"):  # a function defined by the file (or σ, softplus)
            out = f"{function_latex(type(expr).__name__)}\\left({', '.join(self._print(a) for a in expr.args)}\\right)"
            return f"{out}^{{{exp}}}" if exp is not None else out
        return super()._print_Function(expr, exp)

    def _primed(self, function, order: int, point) -> str:
        name = function_latex(type(function).__name__) if hasattr(type(function), "_derive_definition") \
            else function_latex(str(function.func))
        return f"{name}{chr(39) * order}\\left({self._print(point)}\\right)"

    def _print_Derivative(self, expr):
        f = expr.expr
        if isinstance(f, sp.Function) and len(f.args) == 1 and len(expr.variable_count) == 1 \
                and expr.variable_count[0][0] == f.args[0]:
            return self._primed(f, int(expr.variable_count[0][1]), f.args[0])
        return super()._print_Derivative(expr)

    def _print_Subs(self, subs):
        expr, (variable,), (point,) = subs.args
        if isinstance(expr, sp.Derivative) and isinstance(expr.expr, sp.Function) and expr.expr.args == (variable,):
            return self._primed(expr.expr, int(expr.variable_count[0][1]), point)
        return super()._print_Subs(subs)

    # ------------------------------------------------------------ syntax nodes (the rule as written)

    def _paren(self, node, above: int) -> str:
        inner = self._print(node)
        return f"\\left({inner}\\right)" if _precedence(node) < above else inner

    def _print_Num(self, node: s.Num) -> str:
        value = node.value
        if value.denominator == 1:
            return str(value.numerator)
        return f"\\tfrac{{{value.numerator}}}{{{value.denominator}}}"

    def _print_Name(self, node: s.Name) -> str:
        return name_latex(node.id)

    def _print_Neg(self, node: s.Neg) -> str:
        return f"-{self._paren(node.operand, _PREC['neg'] + 1)}"

    def _print_BinOp(self, node: s.BinOp) -> str:
        op = node.op
        if op == "/":
            return f"\\frac{{{self._print(node.left)}}}{{{self._print(node.right)}}}"
        if op == "^":
            return f"{self._paren(node.left, _PREC['^'] + 1)}^{{{self._print(node.right)}}}"
        left = self._paren(node.left, _PREC[op])
        right = self._paren(node.right, _PREC[op] + (op in "-*⊙/"))
        if op in "*⊙":  # a matrix product beside a Hadamard product: keep the file's grouping
            left, right = (f"\\left({self._print(n)}\\right)" if isinstance(n, s.BinOp) and n.op in "*⊙" and n.op != op
                           else printed for n, printed in ((node.left, left), (node.right, right)))
        if op == "*":
            number_next = isinstance(node.right, s.Num) or right.startswith("-")
            return f"{left} \\cdot {right}" if number_next else f"{left} \\, {right}"
        return f"{left} {_INFIX[op]} {right}"

    def _print_Sup(self, node: s.Sup) -> str:
        base = self._paren(node.base, _PREC["^"] + 1)
        if isinstance(node.base, (s.Sup, s.Sub, s.Transpose)):
            base = f"\\left({self._print(node.base)}\\right)"
        return f"{base}^{{{self._print(node.arg)}}}"

    def _print_Sub(self, node: s.Sub) -> str:
        if node.raw is not None and len(node.raw) > 1 and not node.raw.isdigit():
            index = node.raw
        else:
            index = ",".join(self._print(i) for i in node.items)
        base = self._paren(node.base, _PREC["^"] + 1)
        if isinstance(node.base, s.Sub):
            base = f"\\left({self._print(node.base)}\\right)"
        return f"{base}_{{{index}}}"

    def _print_Transpose(self, node) -> str:
        if not isinstance(node, s.Transpose):  # SymPy's own matrix transpose
            return super()._print_Transpose(node)
        operand = node.operand
        base = self._print(operand) if isinstance(operand, s.Name) else f"\\left({self._print(operand)}\\right)"
        return f"{base}^{{\\top}}"

    def _print_Vector(self, node) -> str:
        if node.items and all(isinstance(row, s.Vector) for row in node.items):  # a matrix, row by row
            rows = " \\\\ ".join(" & ".join(self._print(i) for i in row.items) for row in node.items)
            return "\\begin{bmatrix} " + rows + " \\end{bmatrix}"
        return "\\left[" + ", ".join(self._print(i) for i in node.items) + "\\right]"

    def _print_Norm(self, node) -> str:
        return f"\\left\\|{self._print(node.operand)}\\right\\|"

    def _print_Partial(self, node: s.Partial) -> str:
        d = "\\mathrm{d}" if node.notation == "d" else "\\partial "  # dJ/da (derive.resolve decided it is ∂J/∂a)
        return f"\\frac{{{d}{self._print(node.num)}}}{{{d}{self._print(node.den)}}}"

    def _print_Summation(self, node: s.Summation) -> str:
        under = f"_{{{self._print(node.index)}}}" if node.index is not None else ""
        if node.low is not None:  # Σ_{t=1}^{T}
            under = f"_{{{self._print(node.index)}={self._print(node.low)}}}^{{{self._print(node.high)}}}"
        return f"\\sum{under} {self._paren(node.body, _PREC['*'])}"

    def _print_Cases(self, node) -> str:
        if not isinstance(node, s.Cases):  # derive.functions.Cases: SymPy's Piecewise, printed as one
            return self._print_Piecewise(node)
        rows = [f"{self._print(p.value)} & \\text{{if }} {self._print(p.condition.left)} "
                f"{_COMPARE[p.condition.op]} {self._print(p.condition.right)}" for p in node.pieces]
        rows.append(f"{self._print(node.otherwise)} & \\text{{otherwise}}")
        return "\\begin{cases} " + " \\\\ ".join(rows) + " \\end{cases}"

    def _print_Call(self, node: s.Call) -> str:
        args = [self._print(a) for a in node.args]
        name = node.func
        if name in ("grad", "diff"):
            return f"\\frac{{\\partial {args[0]}}}{{\\partial {args[1]}}}"
        if name == "kronecker":
            return f"\\delta_{{{''.join(args)}}}"
        if name == "sum":
            return f"\\sum {self._paren(node.args[0], _PREC['*'])}"
        if name == "norm":
            return f"\\left\\|{args[0]}\\right\\|"
        if name == "sqrt" and not node.primes:
            return f"\\sqrt{{{args[0]}}}"
        if name == "exp" and not node.primes and len(node.args) == 1 and isinstance(node.args[0], s.Num) \
                and node.args[0].value == 1:
            return "e"  # Euler's number (derive.resolve reads a free e so)
        return f"{function_latex(name)}{chr(39) * node.primes}\\left({', '.join(args)}\\right)"


_COMPARE = {">": ">", ">=": "\\geq", "<": "<", "<=": "\\leq"}


def _precedence(node) -> int:
    if isinstance(node, s.BinOp):
        return _PREC[node.op]
    if isinstance(node, s.Neg):
        return _PREC["neg"]
    if isinstance(node, s.Summation):
        return _PREC["+"]
    return 5


def latex_of(expr, notation: dict | None = None) -> str:
    """LaTeX (math mode) of a syntax node or a SymPy expression of a derivation."""
    return DerivePrinter({"notation": notation}).doprint(expr)


def load_rule(text_: str):
    """The first rule of a one-rule text, for examples (doctests)."""
    from .model import load  # an earlier stage; imported here to keep the module's top light

    doc = load(text_)
    return doc.all_rules()[0]


# ---------------------------------------------------------------- one derivation, format-neutral


_STATUS = {"checked": "", "wrong": "wrong step", "unverified": "not verified"}


def _rule_math(d: Derivation) -> str:
    rule = d.rule
    head = latex_of(rule.lhs) + " = " + latex_of(rule.rhs)
    quantifiers = ", ".join(f"{q.var} = {q.low}, \\ldots, {q.high}" for q in rule.quantifiers)
    return head + (f" \\qquad ({quantifiers})" if quantifiers else "")


def _definitions(d: Derivation) -> list:
    """Math lines: the forward pass, the loss, δ, the functions used."""
    out = []
    decl = d.declaration
    if d.kind == "network" and decl is not None:
        L = decl.depth
        out.append("a^{0} = x, \\quad z^{l} = W^{l} a^{l-1} + b^{l}, \\quad a^{l} = f^{l}\\left(z^{l}\\right) "
                   f"\\quad (l = 1, \\ldots, {L})" + ("" if "L" not in decl.integers else f", \\quad L = {L}"))
        acts: dict = {}
        for layer, fn in enumerate(decl.activations, start=1):
            acts.setdefault(fn, []).append(str(layer))
        out.append(", \\quad ".join(f"f^{{{','.join(ls)}}} = {function_latex(fn)}" for fn, ls in acts.items())
                   + f", \\quad \\text{{sizes }} {', '.join(map(str, decl.sizes))}")
        out.append(f"{name_latex(decl.loss_name)} = {latex_of(decl.loss)}")
        out.append(f"\\delta^{{l}} := \\frac{{\\partial {name_latex(decl.loss_name)}}}{{\\partial z^{{l}}}}")
        for alias, expr in decl.aliases.items():
            out.append(f"{name_latex(alias)} = {latex_of(expr)}")
    elif d.kind == "graph" and decl is not None:
        out.extend(_graph_declarations(decl))
    for name, params, body in d.functions:
        head = f"{function_latex(name)}\\left({', '.join(name_latex(p) for p in params)}\\right)"
        if body is None:  # `function f(t)`: any differentiable function
            out.append(f"{head} \\text{{: any differentiable function}}")
            continue
        out.append(f"{head} = {latex_of(body)}")
    return out


def _target_latex(target: s.Target) -> str:
    node: s.Expr = s.Name(target.name, target.pos)
    if target.member is not None:
        node = s.Sup(node, target.member, target.pos)
    if target.indices:
        node = s.Sub(node, target.indices, target.raw, target.pos)
    return latex_of(node)


def _for_all(quantifiers: tuple) -> str:
    if not quantifiers:
        return ""
    ranges = ", ".join(f"{name_latex(q.var)} = {latex_of(q.low)}, \\ldots, {latex_of(q.high)}" for q in quantifiers)
    return f" \\qquad ({ranges})"


def _graph_declarations(graph) -> list:
    """A graph's declarations as the file writes them: sizes, inputs with their shapes,
    definitions (with their ranges) and `let` names."""
    inputs, out = [], []
    for item in graph.declarations:
        if isinstance(item, s.SizeDecl):
            out.append(f"{name_latex(item.name)} = {latex_of(item.expr)}")
        elif isinstance(item, s.InputDecl):
            where = _target_latex(item.target)
            if item.shape is not None:
                where += " \\in \\mathbb{R}^{" + " \\times ".join(latex_of(d) for d in item.shape) + "}"
            elif item.value is not None:
                where += f" = {_fraction(item.value)}"
            inputs.append(where + _for_all(item.quantifiers))
        elif isinstance(item, s.NodeDecl):
            out.append(f"{_target_latex(item.target)} = {latex_of(item.expr)}{_for_all(item.quantifiers)}")
        elif isinstance(item, s.AliasDecl):
            target = item.params or s.Target(item.name, None, (), None, item.pos)
            out.append(f"{_target_latex(target)} := {latex_of(item.expr)}")
    if inputs:
        out.insert(0, "\\text{inputs } " + ", \\quad ".join(inputs))
    return out


def _fraction(v: Fraction) -> str:
    if v.denominator == 1:
        return str(v.numerator)
    sign = "-" if v < 0 else ""
    return f"{sign}\\tfrac{{{abs(v.numerator)}}}{{{v.denominator}}}"


def _align_rows(d: Derivation) -> list:
    """(relation, expression, note) per line after the first; relation '=' only when checked."""
    rows = []
    for line in d.lines[1:]:
        status = line.check.status if line.check else "unverified"
        relation = {"checked": "=", "wrong": "\\neq", "unverified": "\\overset{?}{=}"}[status]
        expr = latex_of(line.written, d.notation) if line.written is not None else latex_of(line.expr, d.notation)
        note = line.reason + (f": {_STATUS[status]}" if _STATUS[status] else "")
        rows.append((relation, expr, note, status))
    return rows


def _first(d: Derivation) -> str:
    first = d.lines[0]
    return latex_of(first.written, d.notation) if first.written is not None else latex_of(first.expr, d.notation)


def _verdict_words(d: Derivation) -> str:
    v = d.verdict
    if v is None:
        return "not checked"
    expected = marked(v.expected)
    mark = "as expected" if v.ok else "NOT as expected"
    return f"{v.verdict}{expected} by {v.how}, {mark}; scope: {v.scope}"


def _scope_words(d: Derivation) -> str:
    where = f"{d.kind} {d.rule.context}" if d.rule.context else "scalar rule"
    if not d.lines:
        return where
    entry = f"; shown for {d.instance}" if d.instance else ""
    sizes = f" at sizes {', '.join(map(str, d.sizes))}" if d.sizes else ""
    count = f" (of {d.entries} entries{sizes}; verify checks every entry)" if d.entries > 1 else sizes
    return where + entry + count


def _step_detail(d: Derivation, line) -> str:
    """Why a step is flagged. A refuted step's inputs go in the table below the verdict,
    unless the rule has a counterexample of its own there."""
    cx = line.check.counterexample
    if cx is None:
        return line.check.detail
    how = f" ({cx.certified})" if cx.certified else ""
    rule_cx = d.verdict.counterexample if d.verdict is not None else None
    inputs = "; ".join(f"{k}={v}" for k, v in cx.inputs) if rule_cx is not None else "the inputs in the table below"
    return f"the two sides differ: left = {cx.lhs}, right = {cx.rhs}{how}, at {inputs}"


def _counterexample_rows(d: Derivation) -> list:
    """(math label, value) rows of the rule's counterexample, or of the first wrong step's."""
    cx = d.verdict.counterexample if d.verdict is not None else None
    if cx is None:
        cx = next((line.check.counterexample for line in d.flagged if line.check.counterexample), None)
    if cx is None:
        return []
    rows = [(label_latex(k), v) for k, v in cx.inputs]
    rows.append(("\\text{left side}", cx.lhs))
    rows.append(("\\text{right side}", cx.rhs))
    return rows


# ---------------------------------------------------------------- LaTeX document

_PREAMBLE = r"""\documentclass[10pt]{article}
\usepackage[a4paper,margin=2cm]{geometry}
\usepackage{amsmath,amssymb}
\usepackage{graphicx}
\usepackage{color}
\allowdisplaybreaks
\setlength{\parindent}{0pt}
\setlength{\parskip}{4pt}
\newcommand{\flag}[1]{\textcolor{red}{\textbf{#1}}}
"""


def derivation_latex(d: Derivation, definitions_shown: bool = False) -> str:
    """One rule's section: definitions, the rule, the checked derivation, the verdict."""
    out = [f"\\subsection*{{{text(d.rule.name)}}}",
           f"{text(d.verdict.file + ':' + str(d.rule.pos.line)) if d.verdict else 'line ' + str(d.rule.pos.line)}"
           f", {text(_scope_words(d))}.", ""]
    definitions = _definitions(d)
    if definitions and definitions_shown:
        # definitions_shown: the rule has a context (a network or graph) whose definitions were shown
        out.append(f"\\textit{{Definitions}} as above ({text(d.kind)} {text(cast(str, d.rule.context))}).")
    elif definitions:
        out.append("\\textit{Definitions.}")
        out.append("\\begin{gather*}\n" + " \\\\\n".join(definitions) + "\n\\end{gather*}")
    out.append("\\textit{Rule as stated.}")
    out.append(f"\\[ {_rule_math(d)} \\]")
    if d.lines:
        out.append("\\textit{Derivation} (each step checked by the verifier).")
        rows = []
        for i, (relation, expr, note, status) in enumerate(_align_rows(d)):
            lead = _first(d) if i == 0 else ""
            tag = f"\\flag{{{text(note)}}}" if status != "checked" else f"\\text{{{text(note)}}}"
            rows.append(f"{lead} &{relation} {expr} && {tag}")
        out.append("\\begin{align*}\n" + " \\\\\n".join(rows) + "\n\\end{align*}")
        for line in d.flagged:
            out.append(f"\\flag{{{text(_STATUS[line.check.status])}}} ({text(line.reason)}): "
                       f"{text(_step_detail(d, line))}")
            out.append("")
    elif d.note:
        out.append(f"No derivation: {text(d.note)}.\n")
    verdict = _verdict_words(d)
    out.append(f"\\textit{{Verdict.}} {'' if d.verdict is None or d.verdict.ok else chr(92) + 'flag'}"
               f"{{{text(verdict)}}}.")
    if d.verdict is not None and d.verdict.verdict != Outcome.REFUTED:
        out.append(f"{text(d.verdict.detail)}")
    cx_rows = _counterexample_rows(d)
    if cx_rows:
        out.append("\n\\textit{Counterexample} (exact inputs; both sides' values):\n")
        body = " \\\\\n".join(f"${label}$ & ${value}$" for label, value in cx_rows)
        out.append("\\begin{tabular}{ll}\n\\hline\n\\textbf{input} & \\textbf{value} \\\\\n\\hline\n"
                   f"{body} \\\\\n\\hline\n\\end{{tabular}}")
    out.append("")
    return "\n".join(out)


def render_latex(documents: list, pictures: dict | None = None) -> str:
    """A complete pdflatex document: one section per file, one subsection per rule.
    `documents`: [(file name, [Derivation])]; `pictures`: file name → [(caption, PDF path)]."""
    out = [_PREAMBLE, "\\begin{document}", "\\section*{derive: derivations, each step checked}",
           "A line written $=$ was shown equal to the line before it symbolically; "
           "$\\neq$ marks a step refuted at exact inputs, $\\overset{?}{=}$ one that could not be verified.", ""]
    for filename, derivations in documents:
        out.append(f"\\section*{{{text(filename)}}}")
        for caption, path in (pictures or {}).get(filename, []):
            out.append("\\begin{center}\n"
                       f"\\includegraphics[width=0.8\\linewidth,height=0.35\\textheight,keepaspectratio]{{{path}}}\\\\\n"
                       f"{text(caption)}\n\\end{{center}}")
        shown = set()
        for d in derivations:
            out.append(derivation_latex(d, d.rule.context is not None and d.rule.context in shown))
            shown.add(d.rule.context)
    out.append("\\end{document}\n")
    return "\n".join(out)


# ---------------------------------------------------------------- Markdown


def derivation_markdown(d: Derivation, definitions_shown: bool = False) -> str:
    """The same section in Markdown with `$…$` / `$$…$$` math (notebooks, course sites)."""
    where = f"{d.verdict.file}:{d.rule.pos.line}, " if d.verdict else ""
    out = [f"### {d.rule.name}", "", f"{where}{_scope_words(d)}.", ""]
    definitions = _definitions(d)
    if definitions and definitions_shown:
        out += [f"*Definitions* as above ({d.kind} {d.rule.context}).", ""]
    elif definitions:
        out += ["*Definitions.*", "", "$$", "\\begin{gathered}", " \\\\\n".join(definitions), "\\end{gathered}",
                "$$", ""]
    out += ["*Rule as stated.*", "", f"$${_rule_math(d)}$$", ""]
    if d.lines:
        out += ["*Derivation* (each step checked by the verifier):", "", "$$", "\\begin{aligned}"]
        rows = []
        for i, (relation, expr, note, status) in enumerate(_align_rows(d)):
            lead = _first(d) if i == 0 else ""
            tag = f"\\textbf{{{_md_text(note)}}}" if status != "checked" else f"\\text{{{_md_text(note)}}}"
            rows.append(f"{lead} &{relation} {expr} && {tag}")
        out += [" \\\\\n".join(rows), "\\end{aligned}", "$$", ""]
        for line in d.flagged:
            out += [f"**{_STATUS[line.check.status]}** ({line.reason}): {_step_detail(d, line)}", ""]
    elif d.note:
        out += [f"No derivation: {d.note}.", ""]
    out += [f"*Verdict.* **{_verdict_words(d)}**." + (f" {d.verdict.detail}" if d.verdict and
                                                      d.verdict.verdict != Outcome.REFUTED else ""), ""]
    cx_rows = _counterexample_rows(d)
    if cx_rows:
        out += ["| input | value |", "|---|---|"] + [f"| ${label}$ | ${value}$ |" for label, value in cx_rows] + [""]
    return "\n".join(out)


def _md_text(value: str) -> str:
    """Text inside \\text{} in MathJax: keep Unicode, escape braces."""
    return value.replace("{", "\\{").replace("}", "\\}")


def render_markdown(documents: list, pictures: dict | None = None) -> str:
    """Markdown for every file: `documents` and `pictures` (SVG paths) as for `render_latex`."""
    out = ["# derive: derivations, each step checked", "",
           "A line written $=$ was shown equal to the line before it symbolically; $\\neq$ marks a step "
           "refuted at exact inputs, $\\overset{?}{=}$ one that could not be verified.", ""]
    for filename, derivations in documents:
        out += [f"## {filename}", ""]
        for caption, path in (pictures or {}).get(filename, []):
            out += [f"![{caption}]({path})", ""]
        shown = set()
        for d in derivations:
            out.append(derivation_markdown(d, d.rule.context is not None and d.rule.context in shown))
            shown.add(d.rule.context)
    return "\n".join(out)


def derivation_html(d: Derivation) -> str:
    """One derivation as HTML with MathJax math (`$$…$$`), for notebooks."""
    out = [f"<h4>{html.escape(d.rule.name)}</h4>", f"<p>{html.escape(_scope_words(d))}.</p>",
           f"<p><i>Rule as stated.</i></p><p>$${html.escape(_rule_math(d))}$$</p>"]
    if d.lines:
        rows = []
        for i, (relation, expr, note, status) in enumerate(_align_rows(d)):
            tag = f"\\textbf{{{_md_text(note)}}}" if status != "checked" else f"\\text{{{_md_text(note)}}}"
            rows.append(f"{_first(d) if i == 0 else ''} &{relation} {expr} && {tag}")
        chain = html.escape(" \\\\ ".join(rows))
        out.append("<p><i>Derivation</i> (each step checked by the verifier):</p>"
                   f"<p>$$\\begin{{aligned}}{chain}\\end{{aligned}}$$</p>")
        for line in d.flagged:
            out.append(f'<p style="color:#b22222"><b>{_STATUS[line.check.status]}</b> '
                       f"({html.escape(line.reason)}): {html.escape(_step_detail(d, line))}</p>")
    elif d.note:
        out.append(f"<p>No derivation: {html.escape(d.note)}.</p>")
    out.append(f"<p><i>Verdict.</i> <b>{html.escape(_verdict_words(d))}</b>.</p>")
    cx_rows = _counterexample_rows(d)
    if cx_rows:
        body = "".join(f"<tr><td>${html.escape(k)}$</td><td>${html.escape(v)}$</td></tr>" for k, v in cx_rows)
        out.append(f"<table><tr><th>input</th><th>value</th></tr>{body}</table>")
    return "\n".join(out)


def report_html(report) -> str:
    """A checked `api.Report` as HTML: the verdict table, then every derivation."""
    head = "<tr><th>rule</th><th>verdict</th><th>how</th><th>scope</th><th>as expected</th></tr>"
    body = "".join(f"<tr><td>{html.escape(v.rule)}</td><td>{v.verdict}</td><td>{html.escape(v.how)}</td>"
                   f"<td>{html.escape(str(v.scope))}</td><td>{'yes' if v.ok else '<b>no</b>'}</td></tr>"
                   for v in report)
    parts = [f"<table>{head}{body}</table>"]
    parts += [derivation_html(d) for d in report.derivations]
    return "\n".join(parts)


def report_markdown(report) -> str:
    """A checked `api.Report` as Markdown: the verdict table, then every derivation."""
    rows = ["| rule | verdict | how | scope | as expected |", "|---|---|---|---|---|"]
    rows += [f"| {v.rule} | {v.verdict} | {v.how} | {v.scope} | {'yes' if v.ok else '**no**'} |" for v in report]
    body = render_markdown([(report.filename, report.derivations)])
    return "\n".join(rows) + "\n\n" + body


__all__ = ["DerivePrinter", "latex_of", "text", "name_latex", "render_latex", "render_markdown",
           "derivation_latex", "derivation_markdown"]
