"""Syntax expressions → SymPy scalars and matrices, in a context that says what the
atoms (variables, network quantities, derivatives) are.

The same evaluator serves the declarations (a loss, a graph node) and both sides of a
rule; only the context changes. A *symbolic* context answers with symbols and derived
expressions, a *numeric* one with high-precision numbers at a sample point (see
`derive.graphs`). Shapes are checked as the expression is built: a product of a 2×3 by
a 2×1 matrix raises `ShapeMismatch`, which verify reports as a refutation naming both
shapes. Vectors are column matrices; indices are 1-based, as in the textbooks.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any, Protocol, cast

import sympy as sp

from . import syntax as s
from .errors import DeriveDeclarationError, Pos
from .functions import NOT_REAL_HINT, Cases, NotReal, compare, describe_not_real, is_not_real_comparison, not_real_value
from .kinks import without_abs
from .model import LAYERED, int_value

CONSTANTS = {"π": sp.pi, "pi": sp.pi}  # the values of resolve.CONSTANTS: names that are numbers, not variables


class ShapeMismatch(Exception):
    """A rule combines tensors whose shapes do not fit: the claim is wrong as written."""

    def __init__(self, message: str, pos: Pos):
        super().__init__(message)
        self.message = message
        self.pos = pos


@dataclass(frozen=True)
class Keys:
    """A tensor of graph-node keys (what ∂ differentiates), row-major, 1-based access."""

    rows: int
    cols: int
    entries: tuple
    label: str
    scalar: bool = False  # a scalar quantity (the loss, a graph node), not a 1×1 matrix
    matrix: bool = False  # declared as a matrix (Wˡ), whatever its shape: `w_21` is an entry (2,1)

    @property
    def shape(self) -> tuple:
        return (self.rows, self.cols)

    def at(self, i: int, j: int = 1) -> Any:
        return self.entries[(i - 1) * self.cols + (j - 1)]


class Context(Protocol):  # pragma: no cover - documentation of the interface
    kind: str
    functions: Any

    def variable(self, name: str, pos: Pos) -> sp.Expr: ...
    def keys(self, name: str, layer: int | None, pos: Pos) -> Keys: ...
    def value(self, key: Any) -> sp.Expr: ...
    def derivative(self, target: Any, source: Any) -> sp.Expr: ...
    def alias(self, name: str) -> s.Expr | None: ...
    def loss_key(self) -> Any: ...


def shape_of(v) -> tuple:
    return v.shape if isinstance(v, sp.MatrixBase) else ()


def describe_shape(v) -> str:
    if isinstance(v, sp.MatrixBase):
        return f"{v.rows}×{v.cols}"
    return "a scalar"


def _is_matrix(v) -> bool:
    return isinstance(v, sp.MatrixBase)


def _as_scalar_if_1x1(v):
    return v[0, 0] if _is_matrix(v) and v.shape == (1, 1) else v


class Evaluator:
    """Evaluate syntax expressions in a context, with quantifier values `layer_env`."""

    def __init__(self, ctx, layer_env: dict, derivatives: list | None = None):
        self.ctx = ctx
        self.layer_env = dict(layer_env)
        # Given a list (only for --numeric), every derivative of a function taken on the way is
        # recorded in it for finite-difference evidence (derive.numdiff), as
        # (derivative, function, variable, order, where) — the first two expressions in `variable`.
        self.derivatives = derivatives

    # ------------------------------------------------------------ entry points

    def eval(self, expr: s.Expr, idx: dict | None = None):
        return self._eval(expr, idx or {})

    def free_indices(self, lhs: s.Expr, rhs: s.Expr) -> list:
        """Component index variables a rule leaves free, with their ranges:
        [(name, high, pos)], in order of first use (the left side first)."""
        found: dict = {}
        uses = [use for side in (lhs, rhs) for use in self._index_uses(side, frozenset())]
        for name, sub, position in uses:
            if name in found:
                continue
            found[name] = (self._range_at(sub, position, {k: 1 for k in found}), sub.pos)
            self._same_range(name, found[name][0], sub, uses, {k: 1 for k in found})
        return [(name, high, pos) for name, (high, pos) in found.items()]

    def _same_range(self, name: str, high: int, first: s.Sub, uses: list, idx: dict) -> None:
        """Every use of an index must give it one range: x_j = a¹_j with x of width 2 and a¹
        of width 3 compares nothing sensible, whichever side is read first (a rule read by
        its first use only would leave a¹_3 unchecked, or fail at j = 3 the other way round).
        Uses whose range cannot be read on their own (it depends on another index) are skipped."""
        for other_name, sub, position in uses:
            if other_name != name or sub is first:
                continue
            try:
                other = self._range_at(sub, position, idx)
            except (ShapeMismatch, DeriveDeclarationError):
                continue
            if other != high:
                raise ShapeMismatch(f"the index {name} runs over 1..{high} at {first.pos.line}:{first.pos.column} "
                                    f"but over 1..{other} here", sub.pos)

    # ------------------------------------------------------------ index analysis

    def _split(self, sub: s.Sub, base) -> tuple:
        """The index expressions of a subscript. Letters (`w_jk`) were split by derive.resolve;
        two digits (`12`) are two indices for a matrix (declared as one, as Wˡ is even where a
        layer has width 1, or with more than one column) and a number otherwise. The shape
        alone must not decide: W² of `layers 2, 1, 2` is 2×1."""
        if sub.raw is not None and len(sub.raw) == 2 and sub.raw.isdigit() and len(sub.items) == 1 \
                and (base.cols > 1 or getattr(base, "matrix", False)):
            return s.script_indices(sub)
        return sub.items

    def _scalar_variable(self, expr) -> bool:
        """In a scalar rule, `x_1`, `x_i`, `x_{i+1}` are variables of their own (x_1 and x_2
        distinct), not entries of a tensor: there are no tensors to index."""
        if self.ctx.kind != "scalar" or not isinstance(expr, s.Sub):
            return False
        base = expr.base.base if isinstance(expr.base, s.Sup) else expr.base  # x²₁ is (x₁)², as (x²)₁ is
        return isinstance(base, s.Name) and base.id not in CONSTANTS and base.id not in self.layer_env

    def _subscripted_variable(self, expr: s.Sub, idx: dict):
        """The variable a subscripted name stands for in a scalar rule, its index read as an
        integer expression (bound indices and quantifiers by value, free names as integer
        symbols), so x_{i+1} and x_{1+i} are one variable, and Σ_{i=1}^{2} x_i is x_1 + x_2."""
        items = s.script_indices(expr) if expr.raw is not None and len(expr.raw) == 2 \
            and not expr.raw.isdigit() and len(expr.items) == 1 else expr.items
        env = dict(self.layer_env, **idx)
        values = [_integer_expr(item, env) for item in items]
        base = cast(s.Name, expr.base).id  # the callers checked: _scalar_variable
        if base in ("δ", "delta") and len(values) == 2:  # Kronecker δ_ij, as everywhere
            if not all(v.is_Integer for v in values):
                raise DeriveDeclarationError("δ_ij (Kronecker) needs indices with values here (bound by Σ or a "
                                             "quantifier); a free index of a scalar rule has none", expr.pos)
            return sp.Integer(1 if values[0] == values[1] else 0)
        parts = [str(v) for v in values]
        text = ",".join(parts)
        name = f"{base}_{text}" if len(parts) == 1 and (text.isdigit() or text.isidentifier()) \
            else f"{base}_{{{text}}}"
        return self.ctx.variable(name, expr.pos)

    def _index_uses(self, expr, bound: frozenset, outer=None):
        """Yield (index name, Sub node, axis) for every bare index variable in a subscript
        that is not bound inside `expr` (`bound`) nor outside it (`outer`: the quantifiers)."""
        outer = self.layer_env if outer is None else outer
        if isinstance(expr, s.Sub):
            yield from self._index_uses(expr.base, bound, outer)
            if self._scalar_variable(expr):
                return
            for axis, item in enumerate(expr.items):
                if isinstance(item, s.Name) and item.id not in bound and item.id not in outer:
                    yield item.id, expr, axis
            return
        if isinstance(expr, s.Summation):
            inner = bound | {expr.index.id} if expr.index is not None else bound
            yield from self._index_uses(expr.body, inner, outer)
            return
        if isinstance(expr, s.Call) and expr.func == "kronecker":
            return
        for child in s.children(expr):
            yield from self._index_uses(child, bound, outer)

    def _range_at(self, sub: s.Sub, axis: int, idx: dict) -> int:
        base = self._tensor_for_index(sub.base, idx)
        if not _is_matrix(base) and not isinstance(base, Keys):
            raise ShapeMismatch("a scalar cannot be indexed", sub.pos)
        rows, cols = base.shape
        split = self._split(sub, base)
        if len(split) == 1:
            if cols == 1:
                return rows
            if rows == 1:
                return cols
            raise ShapeMismatch(f"a {rows}×{cols} matrix needs two indices", sub.pos)
        return rows if axis == 0 else cols

    def _tensor_for_index(self, base: s.Expr, idx: dict):
        refs = self._refs(base, idx, strict=False)
        if refs is not None:
            return refs
        return self._eval(base, idx)

    def _summation_range(self, expr: s.Summation, idx: dict) -> int:
        assert expr.index is not None
        if self.ctx.kind == "scalar":
            raise DeriveDeclarationError(f"in a scalar rule a sum over '{expr.index.id}' needs its bounds, as in "
                                         f"Σ_{{{expr.index.id}=1}}^{{3}} (there is no tensor to take them from)",
                                         expr.pos)
        uses = list(self._index_uses(expr.body, frozenset(), outer=frozenset()))  # Σ_k hides a quantifier k
        for name, sub, axis in uses:
            if name == expr.index.id:
                high = self._range_at(sub, axis, dict(idx, **{name: 1}))
                self._same_range(name, high, sub, uses, dict(idx, **{name: 1}))
                return high
        k = expr.index.id
        raise DeriveDeclarationError(f"the summation index '{k}' is not used as a subscript, so its range is "
                                     f"unknown: give it bounds, as in Σ_{{{k}=1}}^{{3}}, or sum over the entries "
                                     f"it indexes, as in Σ_{k} x_{k}", expr.index.pos)

    # ------------------------------------------------------------ references (what ∂ differentiates)

    def _layer(self, sup: s.Sup, idx: dict) -> int:
        return int_value(sup.arg, self._scope(idx), "a layer index")

    def _scope(self, idx: dict) -> dict:
        """Whole-number names in scope: quantifiers and sizes, then the Σ indices and free
        component indices inside them (an inner binding hides an outer one, as written)."""
        return dict(self.layer_env, **idx)

    def _is_member(self, expr: s.Expr) -> bool:
        """h^t in a graph that declares a family h: a member, not a power."""
        return isinstance(expr, s.Sup) and self.ctx.kind == "graph" and isinstance(expr.base, s.Name) \
            and self.ctx.is_family(expr.base.id)

    def _refs(self, expr: s.Expr, idx: dict, strict: bool = True):
        """The graph keys an expression names (a quantity, an entry, a node), or None."""
        ctx = self.ctx
        if isinstance(expr, s.Sup) and isinstance(expr.base, s.Name) and self._is_member(expr):  # (types for mypy)
            return ctx.keys(expr.base.id, int_value(expr.arg, self._scope(idx), "a member index"),
                            expr.pos)
        if isinstance(expr, s.Sup) and ctx.kind == "network" and isinstance(expr.base, s.Name) \
                and expr.base.id in LAYERED:
            kind, layer = LAYERED[expr.base.id], self._layer(expr, idx)
            if kind == "δ":  # δˡ has zˡ's shape, but is a derivative, not a node to differentiate
                if strict:
                    raise DeriveDeclarationError("∂ of δ is not supported: write ∂C/∂z instead", expr.pos)
                z = ctx.keys("z", layer, expr.pos)
                return Keys(z.rows, z.cols, z.entries, f"δ^{layer}")
            return ctx.keys(kind, layer, expr.pos)
        if isinstance(expr, s.Name):
            if ctx.kind == "network":
                if expr.id in ("x", "y"):
                    return ctx.keys(expr.id, None, expr.pos)
                if expr.id == ctx.loss_name:
                    return ctx.keys("C", None, expr.pos)
                alias = ctx.alias(expr.id)
                if alias is not None:
                    return self._refs(alias, idx, strict)
            if ctx.kind == "graph" and ctx.is_node(expr.id):
                return ctx.keys(expr.id, None, expr.pos)
            if ctx.kind == "scalar":
                return None
        if isinstance(expr, s.Sub):
            base = self._refs(expr.base, idx, strict)
            if isinstance(base, Keys):
                i, j = self._entry(expr, base, idx)
                return Keys(1, 1, (base.at(i, j),), self._entry_label(base, i, j))
        if strict:
            raise DeriveDeclarationError("∂ needs a named quantity here (a node, a^l, z^l, W^l, b^l, x, y, "
                                         "an entry of one, or the loss)", expr.pos)
        return None

    def _entry(self, sub: s.Sub, base, idx: dict) -> tuple:
        items = self._split(sub, base)
        values = [self._index_value(item, idx) for item in items]
        rows, cols = base.shape
        label = base.label if isinstance(base, Keys) else "the tensor"
        if len(values) == 1 and sub.raw is not None and len(sub.raw) == 2 and sub.raw.isdigit() \
                and not 1 <= values[0] <= rows * cols:
            values = [int(sub.raw[0]), int(sub.raw[1])]  # (V W)_11 of a 1×1 product: no entry 11, so (1,1)
        if len(values) == 1:
            if cols == 1:
                i, j = values[0], 1
            elif rows == 1:
                i, j = 1, values[0]
            else:
                raise ShapeMismatch(f"{label} is a {rows}×{cols} matrix: it needs two indices", sub.pos)
        elif len(values) == 2:
            i, j = values
        else:
            raise ShapeMismatch(f"{label} takes at most two indices", sub.pos)
        if not (1 <= i <= rows and 1 <= j <= cols):
            where = f"{i}" if cols == 1 else f"{i},{j}"
            raise ShapeMismatch(f"{label}_{where} does not exist: {label} is {rows}×{cols}", sub.pos)
        return i, j

    def _entry_label(self, base: Keys, i: int, j: int) -> str:
        return f"{base.label}_{i}" if base.cols == 1 and not base.matrix else f"{base.label}_{i}{j}" if max(i, j) < 10 \
            else f"{base.label}_{{{i},{j}}}"

    def _index_value(self, item: s.Expr, idx: dict) -> int:
        return int_value(item, self._scope(idx), "an index")

    # ------------------------------------------------------------ evaluation

    def _eval(self, expr: s.Expr, idx: dict):  # noqa: C901 - one branch per node type
        ctx = self.ctx
        if isinstance(expr, s.Num):
            return sp.Rational(expr.value.numerator, expr.value.denominator)
        if isinstance(expr, s.Name):
            return self._eval_name(expr, idx)
        if isinstance(expr, s.Neg):
            return -self._eval(expr.operand, idx)
        if isinstance(expr, s.BinOp):
            return self._binop(expr, idx)
        if isinstance(expr, s.Transpose):
            v = self._eval(expr.operand, idx)
            return v.T if _is_matrix(v) else v
        if isinstance(expr, s.Vector):
            return self._literal(expr, idx)
        if isinstance(expr, s.Norm):
            v = self._eval(expr.operand, idx)
            if not _is_matrix(v):
                return sp.Abs(v)
            return sp.sqrt(sum(e**2 for e in v))
        if isinstance(expr, s.Summation):
            if expr.index is None:
                v = self._eval(expr.body, idx)
                return sum(v) if _is_matrix(v) else v
            if expr.low is not None:  # Σ_{t=1}^{T}
                env = self._scope(idx)
                # the grammar writes both bounds or neither
                low, high = int_value(expr.low, env, "a summation bound"), int_value(cast(s.Expr, expr.high), env,
                                                                                    "a summation bound")
            else:
                low, high = 1, self._summation_range(expr, idx)
            terms = [self._eval(expr.body, dict(idx, **{expr.index.id: k})) for k in range(low, high + 1)]
            if not terms:
                return self._empty_sum(expr, low, idx)
            return self._sum(terms, expr.pos)
        if isinstance(expr, s.Partial):
            return self._partial(expr.num, expr.den, expr.pos, idx)
        if isinstance(expr, s.Sup):
            if ctx.kind == "network" and isinstance(expr.base, s.Name) and expr.base.id in LAYERED:
                return self._quantity(expr, idx)
            if self._is_member(expr):
                return self._values(self._refs(expr, idx))
            base = self._eval(expr.base, idx)
            return self._power(base, self._eval(expr.arg, idx), expr.pos, self._label(expr.base, idx))
        if isinstance(expr, s.Sub):
            if self._scalar_variable(expr):
                if isinstance(expr.base, s.Sup):  # x²₁: entry 1 of x², as for a tensor: (x₁)²
                    inner = s.Sub(expr.base.base, expr.items, expr.raw, expr.pos)
                    return self._power(self._subscripted_variable(inner, idx), self._eval(expr.base.arg, idx),
                                       expr.pos)
                return self._subscripted_variable(expr, idx)
            base = self._eval(expr.base, idx)
            if not _is_matrix(base):
                raise ShapeMismatch("a scalar cannot be indexed", expr.pos)
            label = self._label(expr.base, idx)
            refs = self._refs(expr.base, idx, strict=False) if self.ctx.kind != "scalar" else None
            keys = Keys(base.rows, base.cols, (), label, matrix=isinstance(refs, Keys) and refs.matrix)
            i, j = self._entry(expr, keys, idx)
            return base[i - 1, j - 1]
        if isinstance(expr, s.Call):
            return self._call(expr, idx)
        if isinstance(expr, s.Cases):
            return self._cases(expr, idx)
        raise DeriveDeclarationError(f"cannot evaluate {type(expr).__name__}", expr.pos)  # pragma: no cover

    def _literal(self, expr: s.Vector, idx: dict):
        """`[a, b]` is a column vector of scalars; `[[a, b], [c, d]]`, rows of equal length
        written as literal vectors, is a matrix. Anything else (a ragged or deeper nesting, a
        tensor as an entry) has no meaning here: bad input, saying how to write a matrix."""
        how = "write a vector as [a, b] (scalar entries) and a matrix row by row as [[a, b], [c, d]]"
        if any(isinstance(i, s.Vector) for i in expr.items):
            rows = []
            for row in expr.items:
                if not isinstance(row, s.Vector):
                    raise DeriveDeclarationError(f"a matrix literal's rows must all be written [a, b, …]: {how}",
                                                 row.pos)
                if len(row.items) != len(expr.items[0].items):  # type: ignore[attr-defined]
                    raise DeriveDeclarationError(f"the rows of a matrix literal must have one length (the first "
                                                 f"has {len(expr.items[0].items)}, this one "  # type: ignore[attr-defined]
                                                 f"{len(row.items)}): {how}", row.pos)
                rows.append([self._literal_entry(item, idx, how) for item in row.items])
            return sp.Matrix(rows)
        return sp.Matrix([self._literal_entry(item, idx, how) for item in expr.items])

    def _literal_entry(self, item: s.Expr, idx: dict, how: str):
        if isinstance(item, s.Vector):
            raise DeriveDeclarationError(f"a literal nested deeper than a matrix: {how}", item.pos)
        value = _as_scalar_if_1x1(self._eval(item, idx))
        if _is_matrix(value):
            raise DeriveDeclarationError(f"an entry of a vector or matrix literal must be a scalar, this one is "
                                         f"{describe_shape(value)} (vectors are not stacked): {how}", item.pos)
        return value

    def _empty_sum(self, expr: s.Summation, low: int, idx: dict):
        """An empty sum (Σ_{k=1}^{0}) is the zero of the shape its terms would have, so it
        adds to them and to its context (Σ_t Σ_{k<t} W, with an empty inner sum at t = 1).
        The shape is read from the body at the low bound; where that means nothing (an
        index past a width), it is a scalar 0, which adds to any shape as 0 does."""
        assert expr.index is not None
        try:
            sample = self._eval(expr.body, dict(idx, **{expr.index.id: low}))
        except (ShapeMismatch, DeriveDeclarationError):
            return sp.Integer(0)
        if _is_matrix(sample):
            return sp.zeros(sample.rows, sample.cols)
        return sp.Integer(0)

    def _cases(self, expr: s.Cases, idx: dict):
        """`a if c else b` → a `Cases` (piecewise, derivative undefined between pieces)."""
        pieces = []
        for piece in expr.pieces:
            cond = piece.condition
            left, right = _as_scalar_if_1x1(self._eval(cond.left, idx)), _as_scalar_if_1x1(self._eval(cond.right, idx))
            value = _as_scalar_if_1x1(self._eval(piece.value, idx))
            for v, node in ((left, cond.left), (right, cond.right), (value, piece.value)):
                if _is_matrix(v):
                    raise ShapeMismatch(f"a piecewise definition compares and gives scalars, got "
                                        f"{describe_shape(v)}", node.pos)
            try:
                relation = compare(cond.op, left, right)
            except NotReal as e:
                node = cond.left if e.value is left else cond.right
                raise DeriveDeclarationError(f"this side of the comparison is {describe_not_real(e.value)}: "
                                             f"{NOT_REAL_HINT}", node.pos) from None
            pieces.append((value, relation))
        otherwise = _as_scalar_if_1x1(self._eval(expr.otherwise, idx))
        if _is_matrix(otherwise):
            raise ShapeMismatch(f"a piecewise definition gives scalars, got {describe_shape(otherwise)}",
                                expr.otherwise.pos)
        return Cases(*pieces, (otherwise, True))

    def _label(self, expr: s.Expr, idx: dict) -> str:
        if isinstance(expr, s.Name):
            return expr.id
        if isinstance(expr, s.Sup) and isinstance(expr.base, s.Name):
            layer = self._layer(expr, idx) if (self.ctx.kind == "network" and expr.base.id in LAYERED) \
                or self._is_member(expr) else None
            return f"{expr.base.id}^{layer}" if layer is not None else expr.base.id
        return "the tensor"

    def _eval_name(self, expr: s.Name, idx: dict):
        ctx = self.ctx
        if expr.id in idx:
            return sp.Integer(idx[expr.id])
        if expr.id in self.layer_env:
            return sp.Integer(self.layer_env[expr.id])
        if ctx.kind == "network":
            alias = ctx.alias(expr.id)
            if alias is not None:
                return self._eval(alias, idx)
        refs = self._refs(expr, idx, strict=False)
        if refs is not None:
            return self._values(refs)
        if expr.id in CONSTANTS:
            return CONSTANTS[expr.id]
        return ctx.variable(expr.id, expr.pos)

    def _values(self, keys: Keys):
        """The values of named nodes: a scalar for the loss and graph nodes, else a matrix."""
        if keys.scalar:
            return self.ctx.value(keys.entries[0])
        return sp.Matrix(keys.rows, keys.cols, [self.ctx.value(k) for k in keys.entries])

    def _quantity(self, expr: s.Sup, idx: dict):
        layer = self._layer(expr, idx)
        kind = LAYERED[expr.base.id]  # type: ignore[union-attr]
        if kind == "δ":  # δˡ is defined as ∂C/∂zˡ
            z = self.ctx.keys("z", layer, expr.pos)
            loss = self.ctx.loss_key()
            return sp.Matrix(z.rows, 1, [self.ctx.derivative(loss, k) for k in z.entries])
        return self._values(self.ctx.keys(kind, layer, expr.pos))

    def _partial(self, num: s.Expr, den: s.Expr, pos: Pos, idx: dict):
        ctx = self.ctx
        if ctx.kind == "scalar":
            variable = self._eval(den, idx)
            if not isinstance(variable, sp.Symbol):
                raise DeriveDeclarationError("∂…/∂v in a scalar rule needs a variable name below the bar", den.pos)
            f = self._eval(num, idx)
            derivative = without_abs(f).diff(variable)  # |e|' is NaN at e = 0, not sign(0) = 0
            if self.derivatives is not None:
                self.derivatives.append((derivative, f, variable, 1, variable))
            return derivative
        top, bottom = self._refs(num, idx), self._refs(den, idx)
        if top.shape == (1, 1):
            t = top.entries[0]
            if bottom.shape == (1, 1):
                return ctx.derivative(t, bottom.entries[0])
            return sp.Matrix(bottom.rows, bottom.cols, [ctx.derivative(t, k) for k in bottom.entries])
        if top.cols == 1 and bottom.cols == 1:  # Jacobian of a vector by a vector
            return sp.Matrix(top.rows, bottom.rows, lambda i, j: ctx.derivative(top.entries[i], bottom.entries[j]))
        raise DeriveDeclarationError(f"∂ of a {top.rows}×{top.cols} by a {bottom.rows}×{bottom.cols} is not supported "
                                     f"(a scalar by anything, or a vector by a vector): write it entry by entry, "
                                     f"as ∂a_j/∂w_jk", pos)

    def _call(self, expr: s.Call, idx: dict):
        name = expr.func
        if name == "grad" or name == "diff":
            return self._partial(expr.args[0], expr.args[1], expr.pos, idx)
        if name == "kronecker":
            i, j = (self._index_value(a, idx) for a in expr.args)
            return sp.Integer(1 if i == j else 0)
        args = [self._eval(a, idx) for a in expr.args]
        if name == "sum":
            return sum(args[0]) if _is_matrix(args[0]) else args[0]
        if name == "norm":
            return sp.sqrt(sum(e**2 for e in args[0])) if _is_matrix(args[0]) else sp.Abs(args[0])
        if name == "softmax":
            v = args[0]
            if not _is_matrix(v) or v.cols != 1:
                raise ShapeMismatch(f"softmax takes a column vector, got {describe_shape(v)}", expr.pos)
            exps = [sp.exp(e) for e in v]
            total = sp.Add(*exps)
            return sp.Matrix([e / total for e in exps])
        if name in ("max", "min") and len(args) == 1 and _is_matrix(args[0]):
            # max(v) of one tensor is its largest entry, as sum(v) is the sum of its entries
            # (max-pooling); ties between entries are ties of that max (no derivative there)
            return self._apply(name, list(args[0]), 0, expr)
        if any(_is_matrix(a) and a.shape != (1, 1) for a in args):  # max(wᵀx, z): the 1×1 one is a scalar
            args = [_as_scalar_if_1x1(a) for a in args]
        matrices = [(a, node) for a, node in zip(args, expr.args) if _is_matrix(a)]
        if matrices:  # entrywise, as σ(zˡ), σ'(zˡ), prelu(zˡ, γˡ), min(0, zˡ) are meant; scalars broadcast
            shape = matrices[0][0].shape
            for a, node in matrices:
                if a.shape != shape:
                    raise ShapeMismatch(f"{name} applies entrywise to tensors of one shape, got "
                                        f"{describe_shape(matrices[0][0])} and {describe_shape(a)}", node.pos)
            return sp.Matrix(shape[0], shape[1], lambda i, j: self._apply(
                name, [a[i, j] if _is_matrix(a) else a for a in args], expr.primes, expr))
        return self._apply(name, args, expr.primes, expr)  # f'(t, γ): the derivative by t

    def _apply(self, name: str, args: list, primes: int, call: s.Call):
        functions = self.ctx.functions
        try:
            if primes and self.derivatives is not None:
                u = sp.Dummy("u", real=True)
                self.derivatives.append((functions.apply(name, [u, *args[1:]], primes),
                                         functions.apply(name, [u, *args[1:]]), u, primes, args[0]))
            result = functions.apply(name, args, primes)
            if functions.compares(name):  # its comparisons, with these arguments put in, must be real
                functions.expand_definitions(result)
            return result
        except TypeError as e:
            if not is_not_real_comparison(e):
                raise
            raise DeriveDeclarationError(f"this call of {name}{chr(39) * primes} compares a value that is "
                                         f"{not_real_value(e)}: {NOT_REAL_HINT}", call.pos) from None

    # ------------------------------------------------------------ operators with shapes

    def _binop(self, expr: s.BinOp, idx: dict):
        left = self._eval(expr.left, idx)
        if expr.op == "^":
            return self._power(left, self._eval(expr.right, idx), expr.pos, self._label(expr.left, idx))
        right = self._eval(expr.right, idx)
        if expr.op in "+-":
            return self._add(left, right if expr.op == "+" else -right, expr)
        if expr.op == "*":
            return self._multiply(left, right, expr.pos)
        if expr.op == "/":
            return self._divide(left, right, expr.pos)
        if expr.op == "⊙":
            return self._hadamard(left, right, expr.pos)
        raise DeriveDeclarationError(f"unknown operator {expr.op}", expr.pos)  # pragma: no cover

    def _add(self, left, right, expr):
        left, right = _scalar_against(left, right), _scalar_against(right, left)
        if _is_matrix(left) and _is_matrix(right):
            if left.shape != right.shape:
                raise ShapeMismatch(f"cannot add a {describe_shape(left)} and a {describe_shape(right)}", expr.pos)
            return left + right
        if _is_matrix(left):  # scalar broadcast over a tensor, as in 1 − aᴸ
            return left.applyfunc(lambda e: e + right)
        if _is_matrix(right):
            return right.applyfunc(lambda e: left + e)
        return left + right

    def _sum(self, terms, pos):
        """Σ is repeated +: a scalar term broadcasts (an empty inner sum's 0 among matrices),
        tensors of two shapes do not add."""
        total = terms[0]
        for t in terms[1:]:
            total, t = _scalar_against(total, t), _scalar_against(t, total)
            if _is_matrix(total) and _is_matrix(t) and total.shape != t.shape:
                raise ShapeMismatch(f"the terms of a sum have different shapes ({describe_shape(total)} and "
                                    f"{describe_shape(t)})", pos)
            if _is_matrix(total) != _is_matrix(t):  # a scalar term broadcasts over the tensor
                tensor, scalar = (total, t) if _is_matrix(total) else (t, total)
                total = sp.Matrix(tensor.rows, tensor.cols, [e + scalar for e in tensor])
            else:
                total = total + t
        return total

    def _multiply(self, left, right, pos):
        if _is_matrix(left) and _is_matrix(right):
            if left.cols != right.rows:
                if left.shape == (1, 1) or right.shape == (1, 1):  # a 1×1 result acts as a scalar
                    return (left[0, 0] * right) if left.shape == (1, 1) else (left * right[0, 0])
                raise ShapeMismatch(f"cannot multiply a {describe_shape(left)} by a {describe_shape(right)} "
                                    f"matrix", pos)
            return left * right
        return left * right

    def _divide(self, left, right, pos):
        """A tensor by a scalar; entrywise for two tensors of one shape (y / aᴸ) and for a
        scalar by a tensor (1 / aᴸ), as + and − broadcast; a 1×1 matrix is a scalar."""
        left, right = _scalar_against(left, right), _scalar_against(right, left)
        if _is_matrix(left) and _is_matrix(right):
            if left.shape != right.shape:
                raise ShapeMismatch(f"cannot divide a {describe_shape(left)} by a {describe_shape(right)} matrix "
                                    f"(division is entrywise, for equal shapes)", pos)
            return sp.Matrix(left.rows, left.cols, lambda i, j: left[i, j] / right[i, j])
        if _is_matrix(right):
            return right.applyfunc(lambda e: left / e)
        return left / right

    def _hadamard(self, left, right, pos):
        left, right = _scalar_against(left, right), _scalar_against(right, left)
        if _is_matrix(left) and _is_matrix(right):
            if left.shape != right.shape:
                raise ShapeMismatch(f"⊙ needs equal shapes, got {describe_shape(left)} and {describe_shape(right)}",
                                    pos)
            return left.multiply_elementwise(right)
        return left * right

    def _power(self, base, exponent, pos, label: str = "the tensor"):
        exponent = _as_scalar_if_1x1(exponent)  # 2^(wᵀx): a 1×1 result is a scalar
        if _is_matrix(exponent):
            raise ShapeMismatch("an exponent must be a scalar", pos)
        if _is_matrix(base) and base.rows > 1 and base.cols > 1:
            raise DeriveDeclarationError(matrix_power_message(label, exponent, base.rows, base.cols), pos)
        if _is_matrix(base):  # elementwise, as (y − a)² is meant for a vector
            return base.applyfunc(lambda e: e**exponent)
        return base**exponent


def matrix_power_message(label: str, exponent, rows: int, cols: int) -> str:
    """Why a power of a matrix (more than one row and column) is bad input: a reader takes
    W² as W W and W⁻¹ as the inverse, derive would take them entrywise. A vector's v² is
    entrywise, as documented. (derive.audit refuses it with this message too.)"""
    w = "M" if label == "the tensor" else label  # (Wᵀ)², (W + W)²: M stands for the matrix
    inverse = "; derive has no matrix inverse" if exponent == -1 else ""
    return (f"a power of a {rows}×{cols} matrix is ambiguous ({w}^{exponent}: the matrix power, or "
            f"entrywise?): write {w} {w} for the matrix product, {w} ⊙ {w} for entrywise{inverse}")


def _scalar_against(v, other):
    """A 1×1 matrix (aᵀb) met by a tensor of another shape acts as the scalar it is."""
    if _is_matrix(v) and v.shape == (1, 1) and _is_matrix(other) and other.shape != (1, 1):
        return v[0, 0]
    return v


def _integer_expr(item: s.Expr, env: dict) -> sp.Expr:
    """An index of a subscripted scalar variable as an integer expression: bound names by
    value, free names as integer symbols (x_i, x_{i+1})."""
    if isinstance(item, s.Num):
        if item.value.denominator != 1:
            raise DeriveDeclarationError(f"an index must be a whole number, not {item.value}", item.pos)
        return sp.Integer(int(item.value))
    if isinstance(item, s.Name):
        return sp.Integer(env[item.id]) if item.id in env else sp.Symbol(item.id, integer=True)
    if isinstance(item, s.Neg):
        return -_integer_expr(item.operand, env)
    if isinstance(item, s.BinOp) and item.op in "+-*":
        a, b = _integer_expr(item.left, env), _integer_expr(item.right, env)
        return a + b if item.op == "+" else a - b if item.op == "-" else a * b
    raise DeriveDeclarationError("an index of a subscripted variable must be a whole-number expression "
                                 "(x_1, x_i, x_{i+1})", item.pos)


def instances(evaluator: Evaluator, lhs: s.Expr, rhs: s.Expr):
    """Every assignment of a rule's free component indices, as dicts (name → value)."""
    free = evaluator.free_indices(lhs, rhs)
    names = [f[0] for f in free]
    ranges = [range(1, f[1] + 1) for f in free]
    return [dict(zip(names, combo)) for combo in itertools.product(*ranges)]
