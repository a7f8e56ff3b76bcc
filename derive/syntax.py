"""Text → syntax tree: the Lark parser and the Transformer that builds frozen nodes.

The tree here is purely syntactic: `a^l` is a `Sup` whether it means "layer l of a" or
"a to the power l"; `model.py` decides, because only it knows which names are in scope.
Every node carries the `Pos` of its first character, so later stages can point at it.

Transformer methods are named after the grammar rules they build (Lark's contract).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from fractions import Fraction
from importlib import resources
from pathlib import Path
from typing import Union, cast

from lark import Lark, Token, Transformer, Tree, v_args
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken, VisitError

from . import latex_input
from .errors import DeriveError, DeriveSyntaxError, Pos
from .limits import LIMITS

# ---------------------------------------------------------------- syntax nodes


@dataclass(frozen=True)
class Num:
    value: Fraction
    pos: Pos


@dataclass(frozen=True)
class Name:
    id: str
    pos: Pos


@dataclass(frozen=True)
class Call:
    func: str
    args: tuple
    primes: int  # f'(x) has primes=1
    pos: Pos


@dataclass(frozen=True)
class BinOp:
    op: str  # one of + - * / ⊙ ^  ("*" covers both `a*b` and juxtaposition `a b`)
    left: "Expr"
    right: "Expr"
    pos: Pos
    implicit: bool = field(default=False, compare=False)  # `a b` (juxtaposition), not `a*b`; spelling only


@dataclass(frozen=True)
class Neg:
    operand: "Expr"
    pos: Pos


@dataclass(frozen=True)
class Sup:
    """`base^arg`: a layer index or a power; `arg` is None for a transpose mark ^T."""

    base: "Expr"
    arg: "Expr"
    pos: Pos


@dataclass(frozen=True)
class Sub:
    """`base_idx`. `items` are the index expressions; `raw` is the unbraced token text
    (`jk` in w_jk), which the model may split into single-character indices."""

    base: "Expr"
    items: tuple
    raw: str | None
    pos: Pos


@dataclass(frozen=True)
class Transpose:
    operand: "Expr"
    pos: Pos
    # "^T" when written so (derive.resolve rejects it where T is also a size or index); spelling only
    written: str = field(default="ᵀ", compare=False)


@dataclass(frozen=True)
class Vector:
    items: tuple
    pos: Pos


@dataclass(frozen=True)
class Norm:
    operand: "Expr"
    pos: Pos


@dataclass(frozen=True)
class Partial:
    """∂num/∂den (also written grad(num, den), or dJ/da: `notation` "d", decided by derive.resolve)."""

    num: "Expr"
    den: "Expr"
    pos: Pos
    notation: str = "∂"


@dataclass(frozen=True)
class Summation:
    """Σ_k body (index given), Σ_{t=1}^{T} body (index and range given) or Σ body (sum
    of the entries of a vector). Without a range, the index runs over the subscript it is used in."""

    index: Union["Name", None]
    body: "Expr"
    pos: Pos
    low: Union["Expr", None] = None
    high: Union["Expr", None] = None


@dataclass(frozen=True)
class Condition:
    """`left op right`, op one of > ≥ < ≤ (written in ASCII: > >= < <=)."""

    op: str
    left: "Expr"
    right: "Expr"
    pos: Pos


@dataclass(frozen=True)
class Piece:
    value: "Expr"
    condition: Condition


@dataclass(frozen=True)
class Cases:
    """`a if c₁ else b if c₂ else d`: the first piece whose condition holds, else `otherwise`."""

    pieces: tuple  # of Piece
    otherwise: "Expr"
    pos: Pos


Expr = Union[Num, Name, Call, BinOp, Neg, Sup, Sub, Transpose, Vector, Norm, Partial, Summation, Cases]


def children(node) -> list:
    """The sub-expressions of a syntax node, in field order."""
    out = []
    for value in vars(node).values():
        for item in value if isinstance(value, tuple) else (value,):
            if hasattr(item, "__dataclass_fields__") and not isinstance(item, Pos):
                out.append(item)
    return out


def map_children(node, fn):
    """`node` with `fn` applied to each direct sub-expression (a rebuilt copy)."""
    changes = {}
    for name, value in vars(node).items():
        if isinstance(value, tuple):
            mapped = tuple(fn(i) if hasattr(i, "__dataclass_fields__") and not isinstance(i, Pos) else i for i in value)
            if mapped != value:
                changes[name] = mapped
        elif hasattr(value, "__dataclass_fields__") and not isinstance(value, Pos):
            mapped = fn(value)
            if mapped is not value:
                changes[name] = mapped
    return replace(node, **changes) if changes else node


def names_in(expr) -> set:
    """Every name written in `expr` (bound or free): what a fresh name must avoid."""
    out = set()
    if isinstance(expr, Name):
        out.add(expr.id)
    for child in children(expr):
        out |= names_in(child)
    return out


def fresh(name: str, avoid: set) -> str:
    n = 1
    while f"{name}{n}" in avoid:
        n += 1
    return f"{name}{n}"


def substitute(expr: Expr, names: dict) -> Expr:
    """`expr` with every free `Name` whose id is in `names` replaced by that expression,
    without capture: a Σ index in `expr` that a replacement mentions is renamed first.

    >>> body = parse("rule r: Σ_{k=1}^{2} w_{p+k} = 0").statements[0].equation.lhs
    >>> out = substitute(body, {"p": Name("k", body.pos)})
    >>> out.index.id, sorted(names_in(out.body))
    ('k1', ['k', 'k1', 'w'])
    """
    if not names:
        return expr
    if isinstance(expr, Name):
        return names.get(expr.id, expr)
    if isinstance(expr, Summation) and expr.index is not None:
        low = None if expr.low is None else substitute(expr.low, names)
        high = None if expr.high is None else substitute(expr.high, names)
        index, body = expr.index, expr.body
        inner = {k: v for k, v in names.items() if k != index.id}  # the index is bound here
        captured = any(index.id in names_in(v) for k, v in inner.items() if k in names_in(body))
        if captured:
            new = fresh(index.id, names_in(body) | {n for v in names.values() for n in names_in(v)} | set(names))
            body = substitute(body, {index.id: Name(new, index.pos)})
            index = Name(new, index.pos)
        return replace(expr, index=index, body=substitute(body, inner), low=low, high=high)
    out = map_children(expr, lambda child: substitute(child, names))
    if isinstance(out, Sub) and isinstance(expr, Sub) and out.items != expr.items:
        out = replace(out, raw=None)  # the written subscript no longer shows what it holds
    return out


def script_indices(sub) -> tuple:
    """The two indices of an unbraced two-character subscript (`jk`, `1k` → j, k / 1, k),
    of a `Sub` or a declaration's `Target`."""
    return tuple(Num(Fraction(int(ch)), sub.pos) if ch.isdigit() else Name(ch, sub.pos) for ch in sub.raw)


@dataclass(frozen=True)
class Equation:
    lhs: Expr
    rhs: Expr
    pos: Pos


@dataclass(frozen=True)
class Series:
    """`lhs ≈ rhs at var = point order n`: equal Taylor coefficients of (var − point)^k, k < n."""

    lhs: Expr
    rhs: Expr
    var: str
    point: Expr
    order: int
    pos: Pos


@dataclass(frozen=True)
class Quantifier:
    var: str
    low: Expr
    high: Expr
    pos: Pos


@dataclass(frozen=True)
class RuleDecl:
    name: str
    quantifiers: tuple
    equation: Equation | Series
    expect_refuted: bool
    pos: Pos
    expect_undefined: bool = False


@dataclass(frozen=True)
class FunctionDecl:
    name: str
    params: tuple
    body: Expr | None  # None: `function f(t)`, any differentiable function
    pos: Pos
    name_pos: Pos | None = None  # where the name is written (messages about the name point there)
    param_pos: tuple = ()  # where each parameter is written


@dataclass(frozen=True)
class Target:
    """What a declaration defines: `name`, a family member `name^member`, an entry
    `name_{i,j}`, or a member's entry `name^member_i` (indices as written)."""

    name: str
    member: Expr | None
    indices: tuple  # () for a whole quantity
    raw: str | None  # unbraced subscript text (`ij`), split into single-letter indices
    pos: Pos


@dataclass(frozen=True)
class InputDecl:
    target: Target
    shape: tuple | None  # (rows,) or (rows, cols) as expressions; None: a scalar
    value: Fraction | None
    quantifiers: tuple
    pos: Pos

    @property
    def name(self) -> str:
        return self.target.name


@dataclass(frozen=True)
class NodeDecl:
    target: Target
    expr: Expr
    quantifiers: tuple
    pos: Pos

    @property
    def name(self) -> str:
        return self.target.name


@dataclass(frozen=True)
class SizeDecl:
    """`size T = 3`: a whole number that ranges, shapes and formulas may use."""

    name: str
    expr: Expr
    pos: Pos


@dataclass(frozen=True)
class GraphDecl:
    name: str
    inputs: tuple
    nodes: tuple
    assumptions: tuple
    rules: tuple
    pos: Pos
    sizes: tuple = ()
    aliases: tuple = ()
    items: tuple = ()  # every declaration in file order (nodes may use sizes declared before them)


@dataclass(frozen=True)
class LayersDecl:
    sizes: tuple  # of Expr: checked to be positive integers by the model
    pos: Pos


@dataclass(frozen=True)
class AlsoLayersDecl:
    sizes: tuple | None  # None: `also layers none`
    pos: Pos


@dataclass(frozen=True)
class ActivationDecl:
    func: str
    low: Expr | None
    high: Expr | None
    pos: Pos


@dataclass(frozen=True)
class LossDecl:
    name: str
    expr: Expr
    pos: Pos


@dataclass(frozen=True)
class AliasDecl:
    """`let p = aᴸ`, or with parameters `let δ^t = ∂L/∂z^t`, `let δ_p = ∂C/∂z_p`."""

    name: str
    expr: Expr
    pos: Pos
    params: Target | None = None  # the scripts of the left side, when it has any


@dataclass(frozen=True)
class NetworkDecl:
    name: str
    items: tuple  # LayersDecl | AlsoLayersDecl | ActivationDecl | LossDecl | AliasDecl | Equation (assume) | RuleDecl
    pos: Pos


@dataclass(frozen=True)
class Assumption:
    equation: Equation
    pos: Pos


@dataclass(frozen=True)
class SourceFile:
    statements: tuple


# ---------------------------------------------------------------- Unicode scripts

# The Unicode script characters the grammar accepts, and what each stands for (also used
# by derive.latex to print rule names that contain them).
SUPERSCRIPTS = dict(zip("⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻ⁱⁿˡᴸᵏʲᵗᵐᵖ⁽⁾", "0123456789+-inlLkjtmp()"))
SUBSCRIPTS = dict(zip("₀₁₂₃₄₅₆₇₈₉₊₋ₐₑₒₓₕₖₗₘₙₚₛₜᵢⱼᵣᵤᵥ", "0123456789+-aeoxhklmnpstijruv"))


def _script_expr(text: str, pos: Pos) -> Expr:
    """Parse the tiny language of sub/superscripts: terms of letters or digits joined
    by + and -, e.g. `l-1`, `L`, `2`, `t+1` (already mapped to ASCII)."""
    terms: list[tuple[str, str]] = []
    sign, current = "+", ""
    for index, ch in enumerate(text.replace("(", "").replace(")", "")):
        if ch in "+-":
            if not current:
                if index == 0:  # a leading sign, as in x⁻¹
                    sign = ch
                    continue
                raise DeriveSyntaxError(f"malformed script '{text}'", pos)
            terms.append((sign, current))
            sign, current = ch, ""
        else:
            current += ch
    if not current:
        raise DeriveSyntaxError(f"malformed script '{text}'", pos)
    terms.append((sign, current))
    expr: Expr | None = None
    for sign, term in terms:
        node: Expr = Num(Fraction(int(term)), pos) if term.isdigit() else Name(term, pos)
        if expr is None:
            expr = node if sign == "+" else Neg(node, pos)
        else:
            expr = BinOp(sign, expr, node, pos)
    assert expr is not None
    return expr


# ---------------------------------------------------------------- transformer


def _pos(meta_or_token) -> Pos:
    return Pos(meta_or_token.line, meta_or_token.column)


@v_args(meta=True)
class _ToSyntax(Transformer):
    """Parse tree → syntax nodes. One method per grammar rule or alias."""

    # statements
    def start(self, meta, children):
        return SourceFile(tuple(children))

    def function_def(self, meta, children):
        name, params, body = (*children, None) if len(children) == 2 else children
        return FunctionDecl(str(name), tuple(str(p) for p in params), body, _pos(meta), _pos(name),
                            tuple(_pos(p) for p in params))

    def params(self, meta, children):
        return tuple(children)  # the tokens: function_def keeps their text and positions

    def rule(self, meta, children):
        marker = children[0].type if isinstance(children[0], Token) else None
        if marker:
            children = children[1:]
        name, *quantifiers, equation = children
        return RuleDecl(name, tuple(quantifiers), equation, marker == "WRONG", _pos(meta), marker == "UNDEFINED")

    def series(self, meta, children):
        lhs, _, rhs, var, point, order = children
        return Series(lhs, rhs, str(var), point, int(order), _pos(meta))

    def piecewise(self, meta, children):
        value, condition, rest = children
        if isinstance(rest, Cases):
            return Cases((Piece(value, condition),) + rest.pieces, rest.otherwise, _pos(meta))
        return Cases((Piece(value, condition),), rest, _pos(meta))

    def condition(self, meta, children):
        left, op, right = children
        op = {"≥": ">=", "≤": "<="}.get(str(op), str(op))
        return Condition(op, left, right, _pos(meta))

    def rule_name(self, meta, children):
        text = str(children[0])
        return text[1:-1] if text.startswith('"') else text

    def quantifier(self, meta, children):
        var, low, high = children
        return Quantifier(str(var), low, high, _pos(meta))

    def equation(self, meta, children):
        lhs, rhs = children
        return Equation(lhs, rhs, _pos(meta))

    def graph(self, meta, children):
        name, *items = children
        flat = [i for item in items for i in (item if isinstance(item, tuple) else (item,))]
        return GraphDecl(
            str(name),
            tuple(i for i in flat if isinstance(i, InputDecl)),
            tuple(i for i in flat if isinstance(i, NodeDecl)),
            tuple(i for i in flat if isinstance(i, Assumption)),
            tuple(i for i in flat if isinstance(i, RuleDecl)),
            _pos(meta),
            tuple(i for i in flat if isinstance(i, SizeDecl)),
            tuple(i for i in flat if isinstance(i, AliasDecl)),
            tuple(i for i in flat if not isinstance(i, Token)),
        )

    def inputs(self, meta, children):
        quantifiers = tuple(c for c in children if isinstance(c, Quantifier))
        return tuple(replace(c, quantifiers=quantifiers) for c in children if isinstance(c, InputDecl))

    def input_item(self, meta, children):
        target, *rest = children
        shape = next((c for c in rest if isinstance(c, list)), None)
        value = next((c for c in rest if isinstance(c, Fraction)), None)
        return InputDecl(target, tuple(shape) if shape is not None else None, value, (), _pos(meta))

    def shape(self, meta, children):
        return list(children)

    def target(self, meta, children):
        name, *scripts = children
        member, indices, raw = None, (), None
        for script in scripts:
            if isinstance(script, Token) and script.type == "SUPERSCRIPT":
                member = _script_expr("".join(SUPERSCRIPTS[c] for c in str(script)), _pos(script))
            elif isinstance(script, Token) and script.type == "SUBSCRIPT":
                sub = self.sub_unicode(meta, [Name(str(name), _pos(name)), script])
                indices, raw = sub.items, sub.raw
            elif isinstance(script, tuple):  # sub_arg: (raw, items)
                raw, indices = script
            elif script is None:
                raise DeriveSyntaxError("a declaration cannot be transposed", _pos(meta))
            else:  # sup_arg
                member = script
        return Target(str(name), member, tuple(indices), raw, _pos(meta))

    def size_def(self, meta, children):
        name, expr = children
        return SizeDecl(str(name), expr, _pos(meta))

    def signed_number(self, meta, children):  # -3, 0.5, 1/2: exact
        negative = children[0].type == "MINUS"
        numbers = [Fraction(str(c)) for c in children[negative:]]
        value = numbers[0] / numbers[1] if len(numbers) == 2 else numbers[0]
        if len(numbers) == 2 and numbers[1] == 0:
            raise DeriveSyntaxError("division by zero in an input value", _pos(meta))
        return -value if negative else value

    def node_def(self, meta, children):
        *quantifiers, target, expr = children
        return NodeDecl(target, expr, tuple(quantifiers), _pos(meta))

    def network(self, meta, children):
        name, *items = children
        return NetworkDecl(str(name), tuple(i for i in items if not isinstance(i, Token)), _pos(meta))

    def layers(self, meta, children):
        return LayersDecl(children[0], _pos(meta))

    def also_layers(self, meta, children):
        sizes = children[0]
        return AlsoLayersDecl(None if isinstance(sizes, Token) else sizes, _pos(meta))

    def size_list(self, meta, children):
        return tuple(children)

    def activation(self, meta, children):
        name, *rng = children
        low = rng[0] if rng else None
        high = rng[1] if len(rng) > 1 else low
        return ActivationDecl(str(name), low, high, _pos(meta))

    def loss(self, meta, children):
        name, expr = children
        return LossDecl(str(name), expr, _pos(meta))

    def alias(self, meta, children):
        target, expr = children
        scripted = target.member is not None or target.indices
        return AliasDecl(target.name, expr, _pos(meta), target if scripted else None)

    def assumption(self, meta, children):
        return Assumption(children[0], _pos(meta))

    # expressions
    def add(self, meta, children):
        return BinOp("+", children[0], children[1], _pos(meta))

    def subtract(self, meta, children):
        return BinOp("-", children[0], children[2], _pos(meta))

    def mul(self, meta, children):
        return BinOp("*", children[0], children[2], _pos(meta))

    def implicit_mul(self, meta, children):
        return BinOp("*", children[0], children[1], _pos(meta), implicit=True)

    def div(self, meta, children):
        return BinOp("/", children[0], children[1], _pos(meta))

    def hadamard(self, meta, children):  # `a ⊙ b` keeps its operator token, `a hadamard b` does not
        return BinOp("⊙", children[0], children[-1], _pos(meta))

    def pow(self, meta, children):
        return BinOp("^", children[0], children[2], _pos(meta))

    def neg(self, meta, children):
        return Neg(children[1], _pos(meta))

    def unary(self, meta, children):  # unary plus
        return children[0]

    def summation(self, meta, children):
        spec = children[1] if len(children) == 3 else None
        if isinstance(spec, tuple):  # Σ_{t=1}^{T}
            index, low, high = spec
            return Summation(index, children[-1], _pos(meta), low, high)
        return Summation(spec, children[-1], _pos(meta))

    def index_range(self, meta, children):
        name, low, high = children
        if high is None:
            raise DeriveSyntaxError("Σ_{t=1}^{…}: the upper bound cannot be T written as ^T (a transpose mark); "
                                    "write ^{T}", _pos(meta))
        return Name(str(name), _pos(name)), low, high

    def index_spec(self, meta, children):
        item = children[0]
        if isinstance(item, Token):  # Unicode subscript
            return Name("".join(SUBSCRIPTS[c] for c in str(item)), _pos(item))
        if isinstance(item, tuple) and len(item) == 2 and isinstance(item[1], tuple):
            raw, items = item
            if len(items) == 1 and isinstance(items[0], Name):
                return items[0]
            raise DeriveSyntaxError("a summation index must be a single name, as in Σ_k", _pos(meta))
        raise DeriveSyntaxError("a summation index must be a single name, as in Σ_k", _pos(meta))

    def sup(self, meta, children):
        base, arg = children
        if arg is None:  # ^T
            return Transpose(base, _pos(meta), "^T")
        if isinstance(arg, Vector):  # Ng's W^{[l]}
            raise DeriveSyntaxError("a superscript in brackets (Ng's W^{[l]}) is not a layer here: write W^l or "
                                    "W^{(l)} for layer l", _pos(meta))
        return Sup(base, arg, _pos(meta))

    def sup_unicode(self, meta, children):
        base, token = children
        return Sup(base, _script_expr("".join(SUPERSCRIPTS[c] for c in str(token)), _pos(token)), _pos(meta))

    def sup_arg(self, meta, children):
        if len(children) == 2:  # MINUS INT
            return Neg(Num(Fraction(int(children[1])), _pos(children[1])), _pos(meta))
        item = children[0]
        if isinstance(item, Token):
            if item.type == "INT":
                return Num(Fraction(int(item)), _pos(item))
            if str(item) in ("T", "⊤"):
                return None  # transpose mark
            return Name(str(item), _pos(item))
        return item

    def sub(self, meta, children):
        base, (raw, items) = children
        if _is_norm(base):
            return _euclidean(base, items, _pos(meta))
        return Sub(base, items, raw, _pos(meta))

    def sub_arg(self, meta, children):
        item = children[0]
        if isinstance(item, Token):
            if item.type == "INT":
                return str(item), (Num(Fraction(int(item)), _pos(item)),)
            return str(item), (Name(str(item), _pos(item)),)
        return _braced_script(children)

    def sub_unicode(self, meta, children):
        base, token = children
        text = "".join(SUBSCRIPTS[c] for c in str(token))
        if _is_norm(base) and text.isdigit():
            return _euclidean(base, (Num(Fraction(int(text)), _pos(token)),), _pos(meta))
        if "+" in text or "-" in text:
            return Sub(base, (_script_expr(text, _pos(token)),), None, _pos(meta))
        return Sub(base, (Name(text, _pos(token)),) if not text.isdigit() else (Num(Fraction(int(text)), _pos(token)),),
                   text, _pos(meta))

    def transpose(self, meta, children):
        return Transpose(children[0], _pos(meta))

    def name(self, meta, children):
        return Name(str(children[0]), _pos(children[0]))

    def call(self, meta, children):
        name, args = children
        return Call(str(name), args, 0, _pos(meta))

    def derivative_call(self, meta, children):
        name, primes, args = children
        return Call(str(name), args, len(str(primes)), _pos(meta))

    def args(self, meta, children):
        return tuple(children)

    def vector(self, meta, children):
        return Vector(children[0], _pos(meta))

    def norm(self, meta, children):
        return Norm(children[0], _pos(meta))

    def partial(self, meta, children):
        return Partial(children[1], children[3], _pos(meta))

    def integer(self, meta, children):
        return Num(Fraction(int(children[0])), _pos(children[0]))

    def decimal(self, meta, children):
        return Num(Fraction(str(children[0])), _pos(children[0]))

    def vulgar(self, meta, children):
        value = Fraction(unicodedata.numeric(str(children[0]))).limit_denominator(16)
        return Num(value, _pos(children[0]))

    # LaTeX forms (derive/latex_input.py): each builds the node of its Unicode twin.
    def frac(self, meta, children):  # \frac{a}{b} is a/b; \frac{1}{2} is the number ½
        _, num, den = children
        if _is_bare_d(num) and _is_d_of(den):
            raise DeriveSyntaxError(D_OPERATOR, _pos(meta))
        if isinstance(num, Num) and isinstance(den, Num) and den.value != 0:
            return Num(num.value / den.value, _pos(meta))
        return BinOp("/", num, den, _pos(meta))

    def frac_operator(self, meta, children):  # \frac{\partial}{\partial x}, an operator with no operand
        raise DeriveSyntaxError(D_OPERATOR, _pos(meta))

    def frac_partial(self, meta, children):  # \frac{\partial C}{\partial w} is ∂C/∂w
        return Partial(children[2], children[4], _pos(meta))

    def sqrt(self, meta, children):
        return Call("sqrt", (children[1],), 0, _pos(meta))

    def tex_brackets(self, meta, children):  # \left[ a \right] is (a); \left[a, b\right] the vector [a, b]
        args = children[1]
        return args[0] if len(args) == 1 else Vector(args, _pos(meta))

    def nabla(self, meta, children):  # \nabla_a C is ∂C/∂a
        _, wrt, of = children
        if isinstance(wrt, Token):
            wrt = Name(str(wrt), _pos(wrt))
        return Partial(of, wrt, _pos(meta))


# \frac{d}{dx} e (\frac{\mathrm{d}}{\mathrm{d}x}, \frac{\partial}{\partial x}): the derivative as an operator.
# Which factor it applies to is not written (\frac{d}{dx} x \, y), so derive does not guess it.
D_OPERATOR = (r"the derivative operator \frac{d}{dx} (\frac{\partial}{\partial x}) is not read (it would be a "
              r"quotient of two names d and dx): write diff(e, x), or \frac{dJ}{dx} for a node J of a graph")


def _d_head(expr) -> "Name | None":
    while isinstance(expr, Sup):  # d^2, dx^2
        expr = expr.base
    return expr if isinstance(expr, Name) else None


def _is_bare_d(expr) -> bool:
    """`d`, `\\mathrm{d}`, `d^2`: a d with nothing to differentiate."""
    head = _d_head(expr)
    return head is not None and head.id == "d"


def _is_d_of(expr) -> bool:
    """`dx`, `\\mathrm{d}x`, `d x`, `dx^2`: d of a variable."""
    head = _d_head(expr)
    if head is not None:
        return len(head.id) > 1 and head.id.startswith("d")
    return isinstance(expr, BinOp) and expr.op == "*" and _is_bare_d(expr.left)


def _check_index(item) -> None:
    """`W_{2 1}`, `W_{2\\,1}`, `x_{1 3}`: two whole numbers side by side in a subscript typeset as two
    indices, but would read as their product 2·1: bad input."""
    factors, stack = [], [item]
    while stack:  # the juxtaposed factors, left to right
        node = stack.pop()
        if isinstance(node, BinOp) and node.op == "*" and node.implicit:
            stack += [node.right, node.left]
        else:
            factors.append(node)
    if any(isinstance(a, Num) and isinstance(b, Num) for a, b in zip(factors, factors[1:])):
        raise DeriveSyntaxError("numbers side by side in a subscript are not read (they would be their product): "
                                "write W_{2,1} (or W_21 for a matrix)", item.pos)


def _braced_script(children) -> tuple:
    """A braced subscript: `(raw, items)`. One name or whole number in braces reads as it does
    unbraced (`w_{jk}` is `w_jk`: j, k for the model to split; `W_{12}` is `W_12`); numbers side by
    side (`W_{2 1}`) are bad input."""
    for item in children:
        _check_index(item)
    if len(children) == 1:
        (item,) = children
        if isinstance(item, Name):
            return item.id, (item,)
        if isinstance(item, Num) and item.value.denominator == 1 and item.value >= 0:
            return str(item.value.numerator), (item,)
    return None, tuple(children)


def _is_norm(node) -> bool:
    return isinstance(node, Norm) or (isinstance(node, Sup) and isinstance(node.base, Norm))


def _euclidean(norm, items: tuple, pos: Pos):
    """`‖v‖_2`, `‖v‖₂`, `‖v‖^2_2`: the Euclidean norm, which ‖v‖ is."""
    if len(items) == 1 and isinstance(items[0], Num) and items[0].value == 2:
        return norm
    raise DeriveSyntaxError("derive knows the Euclidean norm only: write ‖v‖ or ‖v‖_2", pos)


class _NormBars:
    """Post-lexer: `‖` opens and closes norms alternately, so the LALR parser sees two
    distinct tokens and `½‖y − a‖²` has no shift/reduce ambiguity."""

    always_accept = ("NORM",)

    def process(self, stream):
        open_ = False
        for token in stream:
            if token.type == "NORM":
                token = Token.new_borrow_pos("_NORM_CLOSE" if open_ else "_NORM_OPEN", token.value, token)
                open_ = not open_
            yield token


_EXPONENT = re.compile(r"[eE]([0-9]+)")


def _numbers(stream: Iterable[Token]) -> Iterator[Token]:
    """Post-lexer check: number spellings derive does not read, refused rather than read as
    a product. A digit directly followed by a vulgar fraction (`2½`, which is 2·½ by
    juxtaposition, not the mixed number 5/2) and scientific notation (`1e-3`, `2.5E4`, which
    would be 1·e − 3 and 2.5·E4 with e and E names) are bad input, with a hint. With a space
    (`2 ½`, `2 e - 3`) they are products as usual. Tokens are checked as they pass: the
    lexer depends on the parser's state, so none is read ahead."""
    before: list = []  # the tokens just passed, directly adjacent to one another
    for token in stream:
        previous = before[-1] if before else None
        if previous is None or previous.end_pos != token.start_pos:
            before = []
        number = before[0] if before and before[0].type in ("INT", "DECIMAL") else None
        if number is not None and len(before) == 1 and token.type == "VULGAR":
            whole, part = Fraction(str(number)), Fraction(unicodedata.numeric(str(token))).limit_denominator(16)
            raise DeriveSyntaxError(f"'{number}{token}' is not read as a mixed number (it would be "
                                    f"{number}·{token}): write {whole + part} or {number} + {token}",
                                    _pos(number))
        exponent = _EXPONENT.match(str(token)) if token.type in ("NAME", "FUNC_NAME") else None
        if number is not None and len(before) == 1 and exponent is not None:
            _scientific(number, str(token)[0], "", exponent.group(1))
        if number is not None and len(before) == 3 and token.type == "INT" and str(before[1]) in ("e", "E") \
                and str(before[2]) in ("-", "−", "+"):
            _scientific(number, str(before[1]), str(before[2]), str(token))
        before.append(token)
        yield token


def _scientific(number: Token, letter: str, sign: str, digits: str) -> None:
    exponent = -int(digits) if sign in ("-", "−") else int(digits)
    raise DeriveSyntaxError(f"scientific notation '{number}{letter}{sign}{digits}' is not read ({letter} is a "
                            f"name here, and {number}{letter} a product): write {number}·10^({exponent}) "
                            f"(= {Fraction(str(number)) * Fraction(10) ** exponent})", _pos(number))


class _PostLex:
    """Post-lexer: LaTeX spellings to their Unicode tokens (derive.latex_input), then norm
    bars, then number spellings derive refuses (`_numbers`)."""

    always_accept = _NormBars.always_accept + latex_input.ALWAYS_ACCEPT

    def process(self, stream):
        return _numbers(_NormBars().process(latex_input.normalise_tokens(stream)))


def _grammar_text() -> str:
    # Installed: the grammar ships as the package resource `derive.grammar`.
    # From a checkout: it lives in the top-level grammar/ folder beside the package.
    try:
        return resources.files("derive.grammar").joinpath("derive.lark").read_text(encoding="utf-8")
    except (ModuleNotFoundError, FileNotFoundError):
        return (Path(__file__).resolve().parent.parent / "grammar" / "derive.lark").read_text(encoding="utf-8")


_PARSER: Lark | None = None


def parser() -> Lark:
    """The (cached) LALR parser for .deriv files."""
    global _PARSER
    if _PARSER is None:
        _PARSER = Lark(_grammar_text(), parser="lalr", propagate_positions=True, maybe_placeholders=False,
                       postlex=_PostLex())
    return _PARSER


# Friendly names for the terminals that show up in "expected ..." lists.
_TERMINAL_NAMES = {
    "NAME": "a name", "FUNC_NAME": "a function call", "INT": "a number", "DECIMAL": "a number", "_NL": "end of line",
    "EQUAL": "'='",
    "LPAR": "'('", "RPAR": "')'", "LSQB": "'['", "RSQB": "']'", "LBRACE": "'{'", "RBRACE": "'}'",
    "COLON": "':'", "COMMA": "','", "PLUS": "'+'", "MINUS": "'-'", "SLASH": "'/'", "TIMES": "'*'",
    "_NORM_CLOSE": "a closing '‖'", "_NORM_OPEN": "'‖'", "STRING": "a quoted name", "CIRCUMFLEX": "'^'",
    "SIGMA": "'Σ'", "PARTIAL": "'∂'", "$END": "end of file", "NORM": "'‖'", "VULGAR": "a number",
    "HADAMARD": "'⊙'", "SUBSCRIPT": "a subscript", "SUPERSCRIPT": "a superscript", "TRANSPOSE": "'ᵀ'",
    "PRIMES": "a prime (')", "POW": "'**'", "IDENT": "a name", "WRONG": "'wrong'", "NONE": "'none'",
    "UNDEFINED": "'undefined'", "APPROX": "'≈'", "COMPARE": "a comparison (> < >= <=)",
}


def _expected_name(terminal: str) -> str:
    """How to show an expected terminal: its literal text, or a friendly name."""
    if terminal in _LATEX_ONLY:
        return ""
    if terminal in _TERMINAL_NAMES:
        return _TERMINAL_NAMES[terminal]
    try:
        pattern = parser().get_terminal(terminal).pattern
    except KeyError:  # pragma: no cover
        return terminal
    if pattern.type == "str":
        return repr(pattern.value)
    return terminal.lower().replace("_", " ")


# Terminals only LaTeX spells: left out of "expected …" lists (which speak the Unicode forms).
_LATEX_ONLY = ("FRAC", "SQRT", "NABLA", "TEX_OPEN", "TEX_CLOSE", "TEX_LSQB", "TEX_RSQB")


def _describe(token: Token) -> str:
    if token.type in ("_NL",):
        return "end of line"
    if token.type == "$END":
        return "end of file"
    if "\\" in str(token):  # a LaTeX spelling: shown as written, its backslash not doubled
        return f"'{token}'"
    return repr(str(token))


def _latex_hint(text: str, index: int) -> str:
    """How to write the LaTeX command just before `index` of `text`, if one is there (`\\frac 12`),
    or a superscript in brackets (Ng's `W^[l]`)."""
    before = text[max(0, text.rfind("\n", 0, index) + 1):index]
    if text.startswith("[", index) and before.rstrip().endswith("^"):
        return " (Ng's W^[l]: write W^l or W^{(l)} for layer l)"
    match = re.search(r"\\([A-Za-z]+)\s*(?:\{[^{}]*\}\s*)?$", before)
    if match is None or match.group(1) not in latex_input.USAGE:
        return ""
    return f" (write {latex_input.USAGE[match.group(1)]})"


def _pos_of(item) -> Pos | None:
    """Where a Lark tree or token starts, if known."""
    if isinstance(item, Token) and item.line is not None:
        return Pos(item.line, cast(int, item.column))  # a token with a line has a column
    meta = getattr(item, "meta", None)
    if meta is not None and not meta.empty:
        return Pos(meta.line, meta.column)
    for child in getattr(item, "children", ()):
        pos = _pos_of(child)
        if pos is not None:
            return pos
    return None


def _reason(e: Exception) -> str:
    if isinstance(e, ZeroDivisionError):
        return "division by zero"
    text = str(e)
    if "integer string conversion" in text or "digits" in text:
        return f"it has more than {LIMITS['digits']} digits (digits in derive.limits.LIMITS)"
    return text


def _check_depth(tree) -> None:
    """Refuse, before the recursive steps that follow, a parse tree deeper than
    LIMITS["nesting"] (deep parentheses, or a sum or product of very many terms) and a
    number longer than LIMITS["digits"] digits, with the position."""
    limit = LIMITS["nesting"]
    stack = [(tree, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > limit:
            raise DeriveSyntaxError(f"too large to check: an expression nested more than {limit} levels deep "
                                    f"(a sum or product of that many terms, or that many parentheses; nesting "
                                    f"in derive.limits.LIMITS)", _pos_of(node))
        for child in node.children:
            if isinstance(child, Tree):
                stack.append((child, depth + 1))
            elif isinstance(child, Token) and child.type in ("INT", "DECIMAL") and len(child) > LIMITS["digits"]:
                raise DeriveSyntaxError(f"too large to check: a number of more than {LIMITS['digits']} digits "
                                        f"(digits in derive.limits.LIMITS)", _pos_of(child))


def parse(text: str, filename: str = "<input>") -> SourceFile:
    """Parse .deriv text into a `SourceFile`; raise `DeriveSyntaxError` with a position.

    >>> rule = parse("rule r: σ'(t) = σ(t)(1 − σ(t))").statements[0]
    >>> rule.name, rule.equation.lhs.func, rule.equation.lhs.primes
    ('r', 'σ', 1)
    """
    # One spelling per name: ŷ typed as y + a combining hat and as one character is one name.
    text = unicodedata.normalize("NFC", text)
    if not text.endswith("\n"):
        text += "\n"  # every statement ends with a newline, the last one too
    try:
        tree = parser().parse(text)
        _check_depth(tree)
        return _ToSyntax().transform(tree)
    except VisitError as e:  # an error raised inside a Transformer method
        if isinstance(e.orig_exc, DeriveError):
            raise e.orig_exc.located(filename, text) from None
        if isinstance(e.orig_exc, (ValueError, ArithmeticError)):  # 1/0 as a value, a number too long to read
            raise DeriveSyntaxError(f"cannot read this number: {_reason(e.orig_exc)}",
                                    _pos_of(e.obj)).located(filename, text) from None
        raise
    except DeriveError as e:
        raise e.located(filename, text) from None
    except UnexpectedCharacters as e:
        index = e.pos_in_stream
        char = text[index] if index is not None and index < len(text) else "?"
        command = latex_input.command_at(text, index) if char == "\\" and index is not None else None
        if command is not None:
            raise DeriveSyntaxError(latex_input.unknown_command(command), Pos(e.line, e.column)).located(
                filename, text) from None
        raise DeriveSyntaxError(f"unexpected character {char!r}", Pos(e.line, e.column)).located(
            filename, text) from None
    except UnexpectedToken as e:
        # NORM never reaches the parser (the post-lexer renames it), so it is not "expected".
        expected = sorted({_expected_name(t) for t in e.expected if t != "NORM"} - {""})
        hint = ", ".join(expected[:8]) + (", ..." if len(expected) > 8 else "")
        line, column = e.line, e.column
        message = f"unexpected {_describe(e.token)}; expected {hint}"
        if e.token.start_pos is not None:
            message += _latex_hint(text, e.token.start_pos)
        if e.token.type == "$END":
            lines = text.splitlines() or [""]
            line, column = len(lines), len(lines[-1]) + 1
            if "RBRACE" in e.expected:
                message = "unexpected end of file: a graph or network block is not closed with '}'"
        raise DeriveSyntaxError(message, Pos(line, column)).located(filename, text) from None
    except UnexpectedEOF:
        raise DeriveSyntaxError("unexpected end of file", Pos(text.count("\n"), 1)).located(filename, text) from None
    except UnexpectedInput as e:  # pragma: no cover - other Lark input errors
        raise DeriveSyntaxError(str(e).splitlines()[0], Pos(e.line, e.column)).located(filename, text) from None
