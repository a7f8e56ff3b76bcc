"""Name binding: what every name in a block means, decided once, before anything is evaluated.

The parser cannot know what a name means: `δ_ij` is Kronecker's delta in a network but an
entry of `input delta[2,2]` in a graph that declares it; `dJ/da` is a derivative in a graph
whose nodes are J and a, a quotient elsewhere; `w_jk` is two indices, unless `jk` is a
quantifier. This module decides each of these once, from the names a block declares
(`Names`), and rewrites the syntax tree so that no later stage has to decide again:

- `dJ/da` (a graph or a network, J and a declared, dJ and da not) → `Partial(J, a, notation="d")`,
  the very node `∂J/∂a` gives;
- `δ_ij` / `delta_ij` where δ is not declared → `Call("kronecker", (i, j))`;
- `e` where nothing in scope is named e → Euler's number `Call("exp", (1,))`;
- an unbraced two-character subscript (`w_jk`, `w_1k`) → two indices, unless it is one bound
  name; (a two-digit subscript `W_12` stays one item: whether it is W₁₂ or the 12th entry
  depends on the shape, which `derive.evaluate` alone knows);

and it rejects, with its position, every binder that would hide another meaning: a
quantifier, a Σ index, a `let` script or a function parameter named like a declared or
reserved name (the network's `L`, `x`, `y`, aˡ…, the loss, an input, a node, a size, a
`let`, a built-in function or constant), and a component index named like a declared
quantity. `substitute` (used to expand `let`s) renames bound Σ indices that would capture
a substituted name, so expanding a `let` never changes what its body means.

>>> from derive.syntax import parse
>>> g = parse("graph g {\\n input a\\n J = 2 a\\n rule r: dJ/da = 2\\n}").statements[0]
>>> names = Names("graph", {}, {"a": "an input", "J": "a node"})
>>> resolve(g.rules[0].equation.lhs, names, frozenset()).notation
'd'
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from fractions import Fraction

from . import syntax as s
from .errors import DeriveDeclarationError, DeriveNameError, Pos
from .syntax import substitute

CONSTANTS = ("π", "pi")  # names that are numbers (derive.evaluate.CONSTANTS gives their values)
# e is Euler's number where nothing else in scope is named e (an input, node, `let`, parameter, quantifier,
# Σ index, series variable or function keeps its own e); it becomes exp(1), which every later stage reads.
EULER = "e"
KRONECKER = ("δ", "delta")  # δ_ij: Kronecker's delta, where δ is not declared
# A network's reserved names: its quantities (with a layer), x, y. L and the loss name are added per network.
NETWORK_QUANTITIES = ("a", "z", "W", "w", "b", "δ", "delta", "γ", "gamma")


@dataclass
class Names:
    """What the names of one block mean: `declared` maps a name to what it is (for messages);
    `integers` are the declared names that stand for whole numbers (sizes, the network's L)."""

    kind: str  # "scalar" | "graph" | "network"
    functions: dict  # the file's own functions (name → model.Function)
    declared: dict = field(default_factory=dict)
    integers: frozenset = frozenset()
    hints: dict = field(default_factory=dict)  # name → a suggestion for a binder that shadows it

    def builtin_meaning(self, name: str) -> str | None:
        from .model import BUILTIN_FUNCTIONS
        if name in self.functions:
            return f"the function {name} defined in this file"
        if name in BUILTIN_FUNCTIONS:
            return f"the built-in function {name}"
        if name in CONSTANTS:
            return "the constant π"
        return None

    def meaning(self, name: str) -> str | None:
        """What `name` already means in this block (None: nothing)."""
        return self.declared.get(name) or self.builtin_meaning(name)

    def is_declared(self, name: str) -> bool:
        return name in self.declared


def check_binder(name: str, pos: Pos, names: Names, what: str, bound: frozenset = frozenset()) -> None:
    """A quantifier, Σ index, `let` script or parameter may not reuse a name that already means
    something here: that would give one name two meanings in one rule."""
    taken = names.meaning(name)
    if taken is None and name in bound:
        taken = "a quantifier or summation index already bound here"
    if taken is None:
        return
    hint = names.hints.get(name, "choose another name for the {what}").format(what=what)
    raise DeriveDeclarationError(f"the {what} '{name}' would hide {taken}: {hint}", pos)


def check_declared_name(name: str, pos: Pos, names: Names, what: str) -> None:
    """A declared quantity (input, node, size, `let`, loss) may not be named like a built-in."""
    taken = names.builtin_meaning(name)
    if taken is not None:
        raise DeriveDeclarationError(f"{what} '{name}' would hide {taken}: choose another name", pos)


# ---------------------------------------------------------------- resolving an expression


def resolve(expr: s.Expr, names: Names, bound: frozenset) -> s.Expr:
    """`expr` with every meaning decided (see the module docstring); `bound` holds the
    quantifier variables, sizes and other whole-number names in scope."""
    if isinstance(expr, s.BinOp) and expr.op == "/":
        partial = _d_notation(expr, names, bound)
        if partial is not None:
            return partial
    if isinstance(expr, s.Transpose) and expr.written == "^T" and ("T" in bound or names.meaning("T")):
        what = names.meaning("T") or "a quantifier or summation index here"
        raise DeriveDeclarationError(f"^T is a transpose mark, but T is also {what}: write ^{{T}} for T, "
                                     f"ᵀ for a transpose", expr.pos)
    if _power_by_undeclared_t(expr, names, bound):
        raise DeriveDeclarationError("^{T} is a power by T, and T is not declared here: for a transpose write "
                                     "^T, ^\\top or ᵀ", expr.pos)
    if isinstance(expr, s.Name) and expr.id == EULER and expr.id not in bound and names.meaning(expr.id) is None:
        return s.Call("exp", (s.Num(Fraction(1), expr.pos),), 0, expr.pos)  # Euler's number, e = exp(1)
    if isinstance(expr, s.Summation):
        inner = bound
        if expr.index is not None:
            check_binder(expr.index.id, expr.index.pos, names, "summation index", bound)
            inner = bound | {expr.index.id}
        low = None if expr.low is None else resolve(expr.low, names, bound)
        high = None if expr.high is None else resolve(expr.high, names, bound)
        return replace(expr, body=resolve(expr.body, names, inner), low=low, high=high)
    if isinstance(expr, s.Sub):
        sub = split_scripts(expr, bound)
        if isinstance(sub.base, s.Name) and sub.base.id in KRONECKER:
            kronecker = _kronecker(sub, names)
            if kronecker is not None:
                return replace(kronecker, args=tuple(resolve(a, names, bound) for a in kronecker.args))
        for item in sub.items:
            if isinstance(item, s.Name) and item.id not in bound and names.is_declared(item.id):
                raise DeriveDeclarationError(
                    f"'{item.id}' is used as an index, but it is {names.declared[item.id]}: "
                    f"name the index differently", item.pos)
        base = sub.base if isinstance(sub.base, s.Name) and sub.base.id == EULER else resolve(sub.base, names, bound)
        return replace(sub, base=base, items=tuple(resolve(i, names, bound) for i in sub.items))
    return s.map_children(expr, lambda child: resolve(child, names, bound))


def _power_by_undeclared_t(expr: s.Expr, names: Names, bound: frozenset) -> bool:
    """`(W^{l+1})^{T}` in a graph or network that declares no T: LaTeX's transpose, written as a power."""
    return (isinstance(expr, s.Sup) and isinstance(expr.arg, s.Name) and expr.arg.id == "T"
            and names.kind != "scalar" and "T" not in bound and names.meaning("T") is None)


def two_scripts(raw: str | None, bound: frozenset = frozenset()) -> bool:
    """Is an unbraced subscript two indices? `jk`, `1k`: yes (a letter in two characters), unless
    `jk` is one bound name (a quantifier); `12`: no, here (derive.evaluate splits W₁₂ of a matrix)."""
    return raw is not None and len(raw) == 2 and not raw.isdigit() and raw not in bound


def split_scripts(sub: s.Sub, bound: frozenset = frozenset()) -> s.Sub:
    """`w_jk` → indices j, k (`w_1k` → 1, k), as `two_scripts` says."""
    if len(sub.items) != 1 or not two_scripts(sub.raw, bound):
        return sub
    return replace(sub, items=s.script_indices(sub))


def _kronecker(sub: s.Sub, names: Names) -> s.Call | None:
    """δ_ij with δ not declared: Kronecker's delta. In a graph that declares the other
    spelling (delta / δ), the twins would mean two things: bad input."""
    name = sub.base.id  # type: ignore[union-attr]
    items = sub.items
    if len(items) == 1 and sub.raw is not None and len(sub.raw) == 2:
        items = s.script_indices(sub)  # δ₁₂, δ_12: Kronecker's delta always takes two indices
    if names.kind == "network":  # δˡ has a layer; δ_ij without one is Kronecker's
        return s.Call("kronecker", items, 0, sub.pos) if len(items) == 2 else None
    if names.is_declared(name):
        return None  # the declared quantity, indexed
    twin = next(t for t in KRONECKER if t != name)
    if names.is_declared(twin):
        raise DeriveNameError(f"'{name}' and '{twin}' are one name, and '{twin}' is {names.declared[twin]} "
                              f"here: write {twin}_… for it, kronecker(i, j) for Kronecker's delta", sub.pos)
    if len(items) != 2:
        return None  # not Kronecker's delta: validation reports what it is
    return s.Call("kronecker", items, 0, sub.pos)


def _head(expr: s.Expr) -> s.Name | None:
    """The name under a chain of scripts: `dw` in `dw^l_jk`."""
    while isinstance(expr, (s.Sub, s.Sup)):
        expr = expr.base
    return expr if isinstance(expr, s.Name) else None


def _strip_d(expr: s.Expr) -> s.Expr:
    if isinstance(expr, s.Name):
        return s.Name(expr.id[1:], expr.pos)
    assert isinstance(expr, (s.Sub, s.Sup))
    return replace(expr, base=_strip_d(expr.base))


def _looks_like_d(head: s.Name, names: Names, bound: frozenset, alone: bool) -> bool:
    """Is `head` a d-spelling (`dx`, `dJ`: d and one letter; `d` itself when `alone`) with no
    meaning of its own here? (`delta/dist` is a quotient of two names, not a derivative.)"""
    name = head.id
    if name in bound or names.meaning(name):
        return False
    return (alone and name == "d") or (len(name) == 2 and name.startswith("d") and name[1].isalpha())


def _leftmost_factor(expr: s.Expr) -> s.Expr:
    """`d` in `d (x^2)` or `d x^2` (a product, leftmost first)."""
    while isinstance(expr, s.BinOp) and expr.op == "*":
        expr = expr.left
    return expr


def _refuse_d_quotient(expr: s.BinOp, names: Names, bound: frozenset) -> None:
    """In a scalar rule, a quotient whose denominator is spelled like a derivative's (`dx`, or
    a product led by a free `d`: `\\frac{d\\, x^2}{d x}`, `d (x^2)/dx`) is bad input: read as
    variables d, dx, it would "prove" `d (x^2)/dx = x d (x)/dx`."""
    below, head = _leftmost_factor(expr.right), _head(expr.right)
    if (isinstance(below, s.Name) and below.id == "d" and _looks_like_d(below, names, bound, alone=True)) or (
            head is not None and _looks_like_d(head, names, bound, alone=False)):
        raise DeriveNameError("this quotient is spelled like a derivative (… / dx), but in a rule of free "
                              "variables it would read as a quotient of variables such as d and dx: write "
                              "diff(e, x) for the derivative (or name the variables otherwise)", expr.pos)


def _d_notation(expr: s.BinOp, names: Names, bound: frozenset) -> s.Partial | None:
    """`dJ/da` (also `dJ/dw_1`, `dL/dh^t`): the derivative ∂J/∂a, where J and a are declared
    quantities and neither dJ nor da is itself a name with a meaning here. A quotient that
    only looks like one (`dy/dx`, `d/dx` of undeclared names) is bad input: read as two
    variables, `d/dx (x x) = x d/dx x` would be "proved"."""
    top, bottom = _head(expr.left), _head(expr.right)
    if top is not None and bottom is not None and _looks_like_d(top, names, bound, alone=True) and \
            _looks_like_d(bottom, names, bound, alone=False) and (
            names.kind == "scalar" or not any(names.is_declared(h.id[1:]) for h in (top, bottom))):
        raise DeriveNameError(f"{top.id}/{bottom.id} reads as a quotient of two variables {top.id} and "
                              f"{bottom.id}, not a derivative: write diff(e, {bottom.id[1:]}) (or f'(x) for a "
                              f"function, dJ/da in a graph where J and a are declared)", expr.pos)
    if names.kind == "scalar":
        _refuse_d_quotient(expr, names, bound)
        return None
    if top is None or bottom is None:
        return None
    for head in (top, bottom):
        if len(head.id) < 2 or not head.id.startswith("d") or head.id in bound or names.meaning(head.id):
            return None
        if not names.is_declared(head.id[1:]) or head.id[1:] in names.integers:
            return None  # dT/da with T a size, dL/dW with L the last layer: not quantities
    num, den = _strip_d(expr.left), _strip_d(expr.right)
    return s.Partial(resolve(num, names, bound), resolve(den, names, bound), expr.pos, "d")


# ---------------------------------------------------------------- free indices


def unbound_names(expr: s.Expr, names: Names, bound: frozenset) -> list:
    """The `Name`s in `expr` that nothing binds: not declared, built in, in `bound`, or bound
    by a Σ inside `expr` (what a `let` body may not have: the use site would bind them)."""
    if isinstance(expr, s.Name):
        return [] if expr.id in bound or names.meaning(expr.id) else [expr]
    if isinstance(expr, s.Summation) and expr.index is not None:
        inner = bound | {expr.index.id}
        return unbound_names(expr.body, names, inner) + [n for lim in (expr.low, expr.high) if lim is not None
                                                         for n in unbound_names(lim, names, bound)]
    return [n for child in s.children(expr) for n in unbound_names(child, names, bound)]


def _name_nodes(expr) -> list:
    if isinstance(expr, s.Name):
        return [expr]
    return [n for child in s.children(expr) for n in _name_nodes(child)]


def free_indices(expr: s.Expr, bound: frozenset) -> list:
    """The index names a subscript in `expr` uses that no Σ in it (nor `bound`) binds."""
    out = []
    if isinstance(expr, s.Summation):
        inner = bound | {expr.index.id} if expr.index is not None else bound
        return free_indices(expr.body, inner) + [n for lim in (expr.low, expr.high) if lim is not None
                                                 for n in free_indices(lim, bound)]
    if isinstance(expr, s.Call) and expr.func == "kronecker":
        items = expr.args
        return [i for i in items if isinstance(i, s.Name) and i.id not in bound]
    if isinstance(expr, s.Sub):
        out = [n for i in expr.items for n in _name_nodes(i) if n.id not in bound]
        return out + free_indices(expr.base, bound)
    for child in s.children(expr):
        out += free_indices(child, bound)
    return out


__all__ = [
    "CONSTANTS",
    "KRONECKER",
    "NETWORK_QUANTITIES",
    "Names",
    "check_binder",
    "check_declared_name",
    "free_indices",
    "resolve",
    "split_scripts",
    "substitute",
    "two_scripts",
    "unbound_names",
]
