"""An independent numeric audit of a proof: both sides of a rule, at random points, by a
route that shares nothing with the prover beyond the model.

verify proves a rule with SymPy (compiled graphs, the chain rule, a zero test). Before it
reports *proved*, this module evaluates the rule's two sides again, from the model
(`derive.model`) and the syntax nodes (`derive.syntax`) straight to mpmath numbers:

- its own table of the built-in functions, written in mpmath; user functions by their
  bodies; piecewise functions (`a if c else b`, relu, max, …) evaluated as written;
- a network by its forward pass zˡ = Wˡaˡ⁻¹ + bˡ, aˡ = fˡ(zˡ), a⁰ = x, then the loss as
  written; a graph by its definitions, in dependency order;
- every derivative (∂T/∂n, dJ/da, grad, diff, f'(e), f''(e), δˡ := ∂C/∂zˡ) by central
  differences of that forward computation (or of the function) in high precision, one
  entry at a time; where the one-sided differences disagree the derivative does not
  exist there (a kink, a tie), and the point is skipped rather than guessed;
- a series claim by the Taylor coefficients of a polynomial fitted to each side near the
  point (at points around it, not at it).

Nothing here imports derive.evaluate, derive.graphs, derive.functions or derive.zero.
The audit is evidence, not a proof: it cannot catch a rule that both routes misread the
same way (the model is shared), and a false rule that agrees at every sampled point
passes it. What it guarantees is that *proved* is never reported for a rule whose two
sides, as written, differ at a point it evaluated.
"""

from __future__ import annotations

import collections
import itertools
import random
from collections.abc import Mapping, MutableMapping
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import mpmath

from . import syntax as s
from .errors import DeriveError
from .model import BUILTIN_FUNCTIONS, LAYERED, Rule, int_value

BASE_DPS = 60  # digits for values; each level of nested differences works with 1.5× more
STEP_DIGITS = 20  # h = 10^-20 at the outermost difference (10^-30, … inside)
KINK = mpmath.mpf("1e-10")  # one-sided differences this far apart (relative): no derivative
TOLERANCE = mpmath.mpf("1e-12")  # relative difference counted as a disagreement
FLOOR = mpmath.mpf("1e-30")  # ... above this absolute noise
MAX_DEPTH = 3  # nested differences supported (f'' inside diff inside …)
POINTS = 3  # random points per size set


class Unsupported(Exception):
    """A construct the audit cannot read (or reads with other shapes than the prover)."""


class Undefined(Exception):
    """No real value at this point (division by 0, log of a negative, a kink, a tie)."""


class _NotYet(Exception):
    """A graph definition needs a quantity not computed yet (dependency ordering)."""


# ---------------------------------------------------------------- values


@dataclass
class Mat:
    """A rows × cols matrix of mpmath numbers, row-major; vectors are columns."""

    rows: int
    cols: int
    data: list
    matrix: bool = False  # a matrix quantity (Wˡ) even when one of its sizes is 1: w_jk has two indices

    def at(self, i: int, j: int):  # 0-based
        return self.data[i * self.cols + j]

    def map(self, fn) -> Mat:
        return Mat(self.rows, self.cols, [fn(v) for v in self.data])

    @property
    def shape(self) -> tuple:
        return (self.rows, self.cols)

    def T(self) -> Mat:
        return Mat(self.cols, self.rows, [self.at(i, j) for j in range(self.cols) for i in range(self.rows)])


_EMPTY = object()  # the value of an empty sum: 0 of whatever shape it is added to


def _is_mat(v) -> bool:
    return isinstance(v, Mat)


def _shape(v) -> str:
    return f"{v.rows}×{v.cols}" if _is_mat(v) else "a scalar"


def _one(v):
    """A 1×1 matrix (aᵀb) is the scalar it holds."""
    return v.data[0] if _is_mat(v) and v.shape == (1, 1) else v


def _against(v, other):
    """A 1×1 matrix met by a tensor of another shape acts as the scalar it is: (aᵀa) + a."""
    return v.data[0] if _is_mat(v) and v.shape == (1, 1) and _is_mat(other) and other.shape != (1, 1) else v


def too_large(v) -> bool:
    """Is |v| beyond 2^8192? exp, σ, … of it has an exponent too large to hold, or takes
    minutes: no value at this point (as for a division by zero)."""
    return mpmath.isinf(v) or (v != 0 and mpmath.mag(v) > 8192)


def _real(v):
    if isinstance(v, mpmath.mpc):
        if v.imag != 0:
            raise Undefined("not a real number")
        v = v.real
    if not mpmath.isfinite(v):
        raise Undefined("not finite")
    return v


# ---------------------------------------------------------------- built-in functions, in mpmath


def _sigma(t):
    return 1 / (1 + mpmath.exp(-t))


def _log(t):
    if t <= 0:
        raise Undefined("log of a number ≤ 0")
    return mpmath.log(t)


def _sqrt(t):
    if t < 0:
        raise Undefined("sqrt of a negative number")
    return mpmath.sqrt(t)


def _gelutanh(t):
    return t / 2 * (1 + mpmath.tanh(mpmath.sqrt(2 / mpmath.pi) * (t + mpmath.mpf(44715) / 1000000 * t**3)))


BUILTINS = {
    "exp": mpmath.exp, "log": _log, "sqrt": _sqrt, "tanh": mpmath.tanh, "erf": mpmath.erf,
    "σ": _sigma,
    "softplus": lambda t: mpmath.log(1 + mpmath.exp(t)),
    "relu": lambda t: t if t > 0 else mpmath.mpf(0),
    "lrelu": lambda t, g: t if t > 0 else g * t,
    "prelu": lambda t, g: t if t > 0 else g * t,
    "elu": lambda t, g: t if t > 0 else g * (mpmath.exp(t) - 1),
    "hardσ": lambda t: mpmath.mpf(0) if t < -2 else t / 4 + mpmath.mpf(1) / 2 if t < 2 else mpmath.mpf(1),
    "hardtanh": lambda t: mpmath.mpf(-1) if t < -1 else t if t < 1 else mpmath.mpf(1),
    "swish": lambda t: t * _sigma(t),
    "gelu": lambda t: t / 2 * (1 + mpmath.erf(t / mpmath.sqrt(2))),
    "gelutanh": _gelutanh,
}
ALIASES = {"sigma": "σ", "ln": "log", "ReLU": "relu", "leakyrelu": "lrelu", "PReLU": "prelu", "ELU": "elu",
           "hardsigmoid": "hardσ", "hardlogistic": "hardσ", "silu": "swish", "SiLU": "swish", "GELU": "gelu"}


# ---------------------------------------------------------------- differences

_depth = [0]  # how many numeric derivatives are being taken around the current evaluation
_scale = [1.0]  # > 1 on a re-check: more digits and another step


def _level_digits(depth: int) -> tuple:
    factor = 1.5 ** depth * _scale[0]
    return int(BASE_DPS * factor), int(STEP_DIGITS * factor)


def derivative(f, x0, order: int = 1, value=None):
    """The `order`-th derivative of the scalar function f at x0 by central differences,
    nested for order > 1. Raises Undefined where one-sided differences disagree (no
    derivative there) or the function is undefined nearby. `value`: f(x0), if known."""
    if order > 1:
        return derivative(lambda t: derivative(f, t, order - 1), x0)
    if _depth[0] >= MAX_DEPTH:
        raise Unsupported("derivatives nested too deep for the audit")
    dps, step = _level_digits(_depth[0] + 1)
    _depth[0] += 1
    try:
        with mpmath.workdps(dps):
            h = mpmath.mpf(10) ** (-step)
            x0 = mpmath.mpf(x0)
            fp, fm = f(x0 + h), f(x0 - h)
            f0 = f(x0) if value is None else value
            if _is_mat(fp) or _is_mat(f0) or _is_mat(fm):
                raise Unsupported("a derivative of a matrix-valued expression by a scalar")
            central = (fp - fm) / (2 * h)
            forward, backward = (fp - f0) / h, (f0 - fm) / h
            if abs(forward - backward) > KINK * (1 + abs(central)):
                raise Undefined("no derivative here (one-sided differences disagree)")
            return central
    finally:
        _depth[0] -= 1


def taylor(f, x0, order: int) -> list:
    """The Taylor coefficients c₀ … c_{order−1} of f at x0, from polynomials fitted at
    points on each side of x0 (not at it, so a removable singularity there is no obstacle).
    An expansion of order n asks only for n − 1 derivatives, so a function whose pieces
    join smoothly enough at x0 (t² if t > 0 else 0, order 2) has one: each side's fit is
    of a smooth piece. Raises Undefined when two step sizes disagree on a side, or the two
    sides disagree (|t| at 0: no expansion there)."""
    def fit(h, side):
        n = order + 8
        offsets = [side * mpmath.mpf(2 * k + 1) / 2 for k in range(n)]
        values = [f(x0 + h * u) for u in offsets]
        if any(_is_mat(v) for v in values):
            raise Unsupported("a series claim is about scalars")
        A = mpmath.matrix([[u ** p for p in range(len(offsets))] for u in offsets])
        c = mpmath.lu_solve(A, mpmath.matrix(values))
        return [c[k] / h ** k for k in range(order)]

    def agree(first, second):
        return all(abs(a - b) <= mpmath.mpf(10) ** -20 * (1 + abs(a)) for a, b in zip(first, second))

    dps = int(2 * BASE_DPS * _scale[0])
    with mpmath.workdps(dps):
        x0 = mpmath.mpf(x0)
        sides = []
        for side in (1, -1):
            first, second = fit(mpmath.mpf(10) ** -6, side), fit(mpmath.mpf(10) ** -7, side)
            if not agree(first, second):
                raise Undefined("no Taylor expansion here")
            sides.append(second)
        if not agree(*sides):
            raise Undefined("no Taylor expansion here (the two sides differ)")
        return sides[0]


# ---------------------------------------------------------------- functions


class Functions:
    """The functions of one document: the user's (by their bodies) over the built-ins."""

    def __init__(self, user: dict):
        self.user = user  # name → model.Function

    def _resolve(self, name: str):
        # a definition named like a built-in was shown to be it (derive.graphs): the built-in is meant
        if name in self.user and not getattr(self.user[name], "builtin", False):
            return self.user[name]
        canonical = ALIASES.get(name, name)
        if canonical in self.user and not getattr(self.user[canonical], "builtin", False):
            return self.user[canonical]
        if canonical in BUILTINS or canonical in ("max", "min"):
            return canonical
        raise Unsupported(f"unknown function {name}")

    def arity(self, name: str):
        fn = self._resolve(name)
        return BUILTIN_FUNCTIONS.get(fn, 1) if isinstance(fn, str) else len(fn.params)

    def apply(self, name: str, args: list, primes: int = 0):
        if primes:
            rest = args[1:]
            return derivative(lambda u: self.apply(name, [u, *rest]), args[0], primes)
        fn = self._resolve(name)
        if isinstance(fn, str):
            if fn in ("max", "min"):  # as written: the first of the largest (smallest)
                best = args[0]
                for a in args[1:]:
                    best = max(a, best) if fn == "max" else min(a, best)
                return best
            if fn not in ("log", "sqrt") and any(too_large(a) for a in args):
                raise Undefined(f"{fn} of a number too large to compute")
            try:
                return _real(BUILTINS[fn](*args))
            except (ZeroDivisionError, OverflowError, ValueError) as e:
                raise Undefined(str(e)) from None
        if len(args) != len(fn.params):
            raise Unsupported(f"{name} takes {len(fn.params)} argument(s)")
        inner = Interpreter(ScalarWorld(self, dict(zip(fn.params, args))), {})
        value = inner.eval(fn.body)
        if _is_mat(value):
            raise Unsupported("a function body gives a matrix")
        return value


# ---------------------------------------------------------------- references (what ∂ differentiates)


@dataclass(frozen=True)
class Ref:
    """A tensor of scalar keys of a world, row-major."""

    rows: int
    cols: int
    keys: tuple
    scalar: bool = False
    matrix: bool = False  # as Mat.matrix

    def at(self, i: int, j: int):  # 1-based
        return self.keys[(i - 1) * self.cols + (j - 1)]


# ---------------------------------------------------------------- worlds: what names mean at a point


class ScalarWorld:
    """Free variables of a scalar rule (or a function's parameters)."""

    kind = "scalar"

    def __init__(self, functions: Functions, variables: dict, fresh=None):
        self.functions = functions
        self.variables = variables
        self.fresh = fresh  # name → a value, for a variable first met while evaluating (x_i under Σ)

    def variable(self, name: str):
        if name not in self.variables:
            if self.fresh is None:
                raise Unsupported(f"unknown name {name}")
            self.variables[name] = self.fresh(name)
        return self.variables[name]


class _Forward:
    """One forward evaluation of a graph or network: key → scalar value."""

    def __init__(self, model, inputs: dict, override: dict):
        self.model = model
        self.values: MutableMapping = {}
        self.override = override
        for k, v in inputs.items():
            self.values[k] = override.get(k, v)

    def put(self, key, value):
        self.values[key] = self.override.get(key, value)


class NetworkModel:
    """A network at one size set: inputs x, Wˡ, bˡ, (γˡ), y; zˡ, aˡ and the loss C."""

    kind = "network"

    def __init__(self, net, sizes: tuple, functions: Functions):
        self.net, self.sizes, self.functions = net, tuple(sizes), functions
        self.depth = len(sizes) - 1
        self.layer_env = {} if net.loss_name == "L" else {"L": self.depth}
        self.two_arg = [f not in ("softmax",) and functions.arity(f) == 2 for f in net.activations]

    def input_keys(self) -> list:
        keys: list[tuple] = [("x", i) for i in range(1, self.sizes[0] + 1)]
        for l in range(1, self.depth + 1):
            keys += [("W", l, j, k) for j in range(1, self.sizes[l] + 1) for k in range(1, self.sizes[l - 1] + 1)]
            keys += [("b", l, j) for j in range(1, self.sizes[l] + 1)]
            if self.two_arg[l - 1]:
                keys += [("γ", l, j) for j in range(1, self.sizes[l] + 1)]
        return keys + [("y", i) for i in range(1, self.sizes[-1] + 1)]

    def sample_range(self, key) -> tuple:
        return (0, 1) if key[0] == "y" else (-2, 2)

    def given(self) -> dict:
        return {}

    def ref(self, kind: str, layer) -> Ref:
        if kind in ("x", "y"):
            n = self.sizes[0] if kind == "x" else self.sizes[-1]
            return Ref(n, 1, tuple((kind, i) for i in range(1, n + 1)))
        if kind == "C":
            return Ref(1, 1, (("C",),), scalar=True)
        if kind == "a" and layer == 0:
            return self.ref("x", None)
        low = 0 if kind == "a" else 1
        if not (isinstance(layer, int) and low <= layer <= self.depth):
            raise Unsupported(f"{kind}^{layer} does not exist")
        n, m = self.sizes[layer], self.sizes[layer - 1]
        if kind == "W":
            return Ref(n, m, tuple(("W", layer, j, k) for j in range(1, n + 1) for k in range(1, m + 1)), matrix=True)
        if kind == "γ" and not self.two_arg[layer - 1]:
            raise Unsupported(f"layer {layer} has no γ")
        return Ref(n, 1, tuple((kind, layer, j) for j in range(1, n + 1)))

    def forward(self, inputs: dict, override: dict, base: dict | None = None) -> MutableMapping:
        """Every value at `inputs`, with the keys in `override` set to other values; given
        `base` (the values without the override), only the layers from the first one the
        override touches are recomputed."""
        if base is not None and len(override) == 1 and next(iter(override))[0] in self._ONE_ENTRY:
            # The values in `base` as they are, under the few that move (not a copy of them all).
            fw = _Forward(self, {}, override)
            v: MutableMapping = collections.ChainMap(dict(override), base)
            fw.values = v
            self._one_entry(fw, base, next(iter(override)))
            start = self.depth + 1  # every layer is done
        else:
            fw = _Forward(self, inputs, override)
            v = fw.values
            start = 1
        if base is not None and start == 1:
            v.update(base)
            v.update(override)
            start = min((self._layer_of(k) for k in override), default=self.depth + 1)
        a = [v[("a", start - 1, k)] if start > 1 else v[("x", k)] for k in range(1, self.sizes[start - 1] + 1)] \
            if start <= self.depth else []
        for l in range(start, self.depth + 1):
            n = self.sizes[l]
            z = []
            for j in range(1, n + 1):
                fw.put(("z", l, j), mpmath.fsum(v[("W", l, j, k)] * a[k - 1] for k in range(1, len(a) + 1))
                       + v[("b", l, j)])
                z.append(v[("z", l, j)])
            fn = self.net.activations[l - 1]
            if fn == "softmax" and "softmax" not in self.functions.user:
                top = max(z)
                e = [mpmath.exp(t - top) for t in z]
                total = mpmath.fsum(e)
                out = [t / total for t in e]
            elif self.two_arg[l - 1]:
                out = [self.functions.apply(fn, [z[j - 1], v[("γ", l, j)]]) for j in range(1, n + 1)]
            else:
                out = [self.functions.apply(fn, [t]) for t in z]
            for j in range(1, n + 1):
                fw.put(("a", l, j), out[j - 1])
            a = [v[("a", l, j)] for j in range(1, n + 1)]
        if base is not None and set(override) <= {("C",)}:
            return v
        interp = Interpreter(_ForwardView(self, v), dict(self.layer_env))
        loss = interp.eval(self.net.loss)
        if _is_mat(loss):
            if loss.shape != (1, 1):
                raise Unsupported("the loss is not a scalar")
            loss = loss.data[0]
        fw.put(("C",), loss)
        return v


    _ONE_ENTRY = ("x", "W", "b", "γ", "z", "a")

    def _one_entry(self, fw: _Forward, base: dict, key) -> None:
        """The forward pass after one entry `key` moved from its value in `base`, by the
        same sums: a sum Σₖ Wⱼₖ aₖ + bⱼ in which only some terms moved is its value in
        `base` plus the moved terms' changes, so only the rows that moved are touched (a
        derivative by one weight costs the layers after it, not the whole network).
        Layer by layer, `moved` holds aˡ⁻¹'s entries that moved: index → new − old."""
        v = fw.values
        name, l = key[0], self._layer_of(key)

        def a_key(layer, k):
            return ("a", layer, k) if layer > 0 else ("x", k)

        moved: dict = {}
        rows: dict = {}  # zˡ's rows that moved (before any moved aˡ⁻¹): j → new value
        γ_rows: set = set()
        if name == "x":
            moved = {key[1]: v[key] - base[key]}
        elif name == "a":
            moved = {key[2]: v[key] - base[key]}
        elif name == "W":
            j, k = key[2], key[3]
            rows[j] = base[("z", l, j)] + (v[key] - base[key]) * v[a_key(l - 1, k)]
        elif name == "b":
            rows[key[2]] = base[("z", l, key[2])] + (v[key] - base[key])
        elif name == "z":
            rows[key[2]] = v[key]  # put() keeps it
        else:  # γ
            γ_rows.add(key[2])
        weights = v if name == "W" else base  # the weights read below are never the one moved
        for layer in range(l, self.depth + 1):
            n = self.sizes[layer]
            if moved:
                changes = list(moved.items())
                for j in range(1, n + 1):
                    old = rows.get(j, base[("z", layer, j)])
                    fw.put(("z", layer, j), old + mpmath.fdot([(weights[("W", layer, j, k)], d) for k, d in changes]))
                changed = set(range(1, n + 1))
            else:
                for j, value in rows.items():
                    fw.put(("z", layer, j), value)
                changed = set(rows) | γ_rows
            fn = self.net.activations[layer - 1]
            if fn == "softmax" and "softmax" not in self.functions.user:
                z = [v[("z", layer, j)] for j in range(1, n + 1)]
                top = max(z)
                e = [mpmath.exp(t - top) for t in z]
                total = mpmath.fsum(e)
                out = {j: e[j - 1] / total for j in range(1, n + 1)}
            elif self.two_arg[layer - 1]:
                out = {j: self.functions.apply(fn, [v[("z", layer, j)], v[("γ", layer, j)]]) for j in changed}
            else:
                out = {j: self.functions.apply(fn, [v[("z", layer, j)]]) for j in changed}
            moved = {}
            for j, value in out.items():
                fw.put(("a", layer, j), value)
                moved[j] = v[("a", layer, j)] - base[("a", layer, j)]
            rows, γ_rows = {}, set()

    def _layer_of(self, key) -> int:
        """The first layer whose values depend on `key` (depth + 1: only the loss)."""
        name = key[0]
        if name == "x":
            return 1
        if name in ("W", "b", "γ"):
            return key[1]
        if name == "z":
            return key[1]  # put() keeps the overridden zˡⱼ; aˡ is recomputed from it
        if name == "a":
            return key[1] + 1
        return self.depth + 1  # y, C: only the loss


class GraphModel:
    """A computation graph: inputs (some with values) and definitions, whole or entry by entry."""

    kind = "graph"

    def __init__(self, graph, functions: Functions):
        self.graph, self.functions = graph, functions
        self.layer_env = dict(graph.sizes)
        self.shapes: dict = {}  # (name, member) → (rows, cols) or None (scalar)
        self.matrices: set = set()  # inputs declared with two dimensions (W[2,1]): W_21 is two indices
        for i in graph.inputs:
            self.shapes[(i.name, i.member)] = i.shape
            if getattr(i, "matrix", False):
                self.matrices.add((i.name, i.member))
        self.entries: dict = {}  # (name, member) → number of entry definitions
        for n in graph.nodes:
            if n.entry is not None:
                self.entries[(n.name, n.member)] = self.entries.get((n.name, n.member), 0) + 1
        self.names = {i.name for i in graph.inputs} | {n.name for n in graph.nodes}
        self.family_names = {i.name for i in graph.inputs if i.member is not None} | \
            {n.name for n in graph.nodes if n.member is not None}
        self.order: list | None = None  # the nodes in an order where each needs only earlier ones

    def input_keys(self) -> list:
        keys: list[tuple] = []
        for i in self.graph.inputs:
            if i.shape is None:
                keys.append((i.name, i.member))
            else:
                keys += [(i.name, i.member, r, c) for r in range(1, i.shape[0] + 1) for c in range(1, i.shape[1] + 1)]
        return keys

    def sample_range(self, key) -> tuple:
        return (-2, 2)

    def given(self) -> dict:
        return {(i.name, i.member): i.value for i in self.graph.inputs if i.value is not None}

    def is_node(self, name: str) -> bool:
        return name in self.names and (name, None) in self.shapes

    def is_family(self, name: str) -> bool:
        return name in self.family_names

    def ref(self, name: str, member) -> Ref:
        q = (name, member)
        if q not in self.shapes:
            raise _NotYet(q) if self.order is None else Unsupported(f"{name} does not exist")
        shape = self.shapes[q]
        if shape is None:
            return Ref(1, 1, (q,), scalar=True)
        rows, cols = shape
        return Ref(rows, cols, tuple((name, member, r, c) for r in range(1, rows + 1) for c in range(1, cols + 1)),
                   matrix=q in self.matrices)

    def forward(self, inputs: dict, override: dict, base: dict | None = None) -> MutableMapping:
        """Every value at `inputs`, with the keys in `override` set to other values (and
        what depends on them recomputed; given `base`, the values without the override,
        only that is recomputed)."""
        fw = _Forward(self, inputs, override)
        view = _ForwardView(self, fw.values)
        if self.order is None:
            self._first_forward(fw, view)
            return fw.values
        if base is None:
            for node in self.order:
                self._compute(node, fw, view)
            return fw.values
        fw.values.update(base)
        fw.values.update(override)
        dirty = set(override)
        for node, reads, writes in zip(self.order, self.reads, self.writes):
            if reads & dirty:
                self._compute(node, fw, view)
                dirty |= writes
        return fw.values

    def _first_forward(self, fw, view) -> None:
        waiting, order, reads, writes = list(self.graph.nodes), [], [], []
        gathered: dict = {}
        while waiting:
            deferred = []
            for node in waiting:
                view.reads, before = set(), set(fw.values)
                try:
                    self._compute(node, fw, view, gathered)
                except _NotYet:
                    deferred.append(node)
                    continue
                order.append(node)
                reads.append(view.reads)
                writes.append(set(fw.values) - before)
            if len(deferred) == len(waiting):
                raise Unsupported("the graph's definitions cannot be ordered")
            waiting = deferred
        self.order, self.reads, self.writes = order, reads, writes
        view.reads = None

    def _compute(self, node, fw, view, gathered: dict | None = None) -> None:
        value = Interpreter(view, dict(node.env)).eval(node.expr)
        q = (node.name, node.member)
        if node.entry is not None:
            if _is_mat(value):
                if value.shape != (1, 1):
                    raise Unsupported("an entry defined as a matrix")
                value = value.data[0]
            i, j = node.entry if len(node.entry) == 2 else (node.entry[0], 1)
            fw.put((node.name, node.member, i, j), value)
            if gathered is not None:
                got = gathered.setdefault(q, set())
                got.add((i, j))
                if len(got) == self.entries[q]:
                    self.shapes[q] = (max(a for a, _ in got), max(b for _, b in got))
            return
        if _is_mat(value):
            self.shapes[q] = value.shape
            for r in range(value.rows):
                for c in range(value.cols):
                    fw.put((node.name, node.member, r + 1, c + 1), value.at(r, c))
        else:
            self.shapes[q] = None
            fw.put(q, value)


class _ForwardView:
    """Values during a forward pass (for the loss and graph definitions): no derivatives."""

    def __init__(self, model, values: Mapping):
        self.model, self.values = model, values
        self.functions = model.functions
        self.kind = model.kind
        self.reads: set | None = None  # the keys read, while a graph's order is being found

    def value(self, key):
        if key not in self.values:
            raise _NotYet(key)
        if self.reads is not None:
            self.reads.add(key)
        return self.values[key]

    def derivative(self, target, source):
        raise Unsupported("a derivative inside a declaration")


class PointWorld:
    """A graph or network at one point: forward values, and derivatives by differences."""

    def __init__(self, model, inputs: dict):
        self.model, self.inputs = model, inputs
        self.functions = model.functions
        self.kind = model.kind
        self.values = model.forward(inputs, {})
        self._derivatives: dict = {}

    def value(self, key):
        if key not in self.values:
            raise Unsupported(f"no value for {key}")
        return self.values[key]

    def derivative(self, target, source):
        """∂target/∂source: perturb source's value, recompute everything after it, read target."""
        if (target, source) not in self._derivatives:
            if source not in self.values:
                raise Unsupported(f"no quantity {source}")
            model, inputs, base = self.model, self.inputs, self.values

            def at(t):
                return model.forward(inputs, {source: t}, base)[target]

            self._derivatives[(target, source)] = derivative(at, self.values[source], value=self.values[target])
        return self._derivatives[(target, source)]


# ---------------------------------------------------------------- the interpreter


_noise = [mpmath.mpf(0)]  # the largest rounding error a cancelling sum has left in the value


def _plus(a, b):
    """a + b, noting what rounding may have left when most digits cancel: (X + 1)² − X²
    for a huge X is rounding noise until the digits suffice, and a difference found
    in noise proves nothing."""
    total = a + b
    if a and b and (a < 0) != (b < 0):
        big = max(mpmath.mag(a), mpmath.mag(b))
        if not total or big - mpmath.mag(total) > 20:
            _noise[0] = max(_noise[0], mpmath.ldexp(1, big - mpmath.mp.prec + 2))
    return total


def _polynomial(item, env: dict) -> dict:
    """An index as a polynomial with integer coefficients: {(names…): coefficient}; names
    with a value in `env` by value, others as symbols (x_{i+1} and x_{1+i} are one variable)."""
    if isinstance(item, s.Num):
        if item.value.denominator != 1:
            raise Unsupported("an index that is not a whole number")
        return {(): int(item.value)} if item.value else {}
    if isinstance(item, s.Name):
        return {(): env[item.id]} if item.id in env else {(item.id,): 1}
    if isinstance(item, s.Neg):
        return {k: -v for k, v in _polynomial(item.operand, env).items()}
    if isinstance(item, s.BinOp) and item.op in "+-*":
        a, b = _polynomial(item.left, env), _polynomial(item.right, env)
        out: dict = {}
        if item.op == "*":
            for ka, va in a.items():
                for kb, vb in b.items():
                    k = tuple(sorted(ka + kb))
                    out[k] = out.get(k, 0) + va * vb
        else:
            out = dict(a)
            for k, v in b.items():
                out[k] = out.get(k, 0) + (v if item.op == "+" else -v)
        return {k: v for k, v in out.items() if v}
    raise Unsupported("an index of a subscripted variable that is not a whole-number expression")


def _scripted_name(expr: s.Sub, env: dict) -> str:
    """The variable a subscripted name stands for in a scalar rule: x_1, x_{1,2}, x_{i+1}
    (free index names as symbols)."""
    base: Any = expr.base  # a Name (checked by the callers)
    items = s.script_indices(expr) if expr.raw is not None and len(expr.raw) == 2 and not expr.raw.isdigit() \
        and len(expr.items) == 1 else expr.items
    parts = []
    for item in items:
        poly = _polynomial(item, env)
        if set(poly) <= {()}:
            parts.append(str(poly.get((), 0)))
        else:
            parts.append("{" + "+".join(f"{v}*{'*'.join(k) or '1'}" for k, v in sorted(poly.items())) + "}")
    return f"{base.id}_" + ",".join(parts)


_COMPARE = {">": lambda a, b: a > b, ">=": lambda a, b: a >= b, "<": lambda a, b: a < b, "<=": lambda a, b: a <= b}


class Interpreter:
    """Syntax → mpmath numbers and `Mat`s in a world, with integer names `env` (quantifier
    values, L, sizes) and index values `idx`."""

    def __init__(self, world, env: dict):
        self.world = world
        self.env = env
        self.kind = world.kind
        self.functions = world.functions

    # ------------------------------------------------------------ helpers

    def _int(self, expr, idx: dict) -> int:
        return int_value(expr, dict(self.env, **idx), "an index")

    def _model(self):
        return self.world.model

    def _network(self):
        return self.world.model.net

    def _layered(self, expr) -> bool:
        return self.kind == "network" and isinstance(expr, s.Sup) and isinstance(expr.base, s.Name) \
            and expr.base.id in LAYERED

    def _member(self, expr) -> bool:
        return self.kind == "graph" and isinstance(expr, s.Sup) and isinstance(expr.base, s.Name) \
            and self._model().is_family(expr.base.id)

    def _kronecker(self, expr: s.Sub) -> bool:
        if not (isinstance(expr.base, s.Name) and expr.base.id in ("δ", "delta") and self.kind != "scalar"):
            return False
        if self.kind == "graph" and expr.base.id in self._model().names:
            return False  # a declared quantity named δ is that quantity
        return len(self._kronecker_items(expr)) == 2

    @staticmethod
    def _kronecker_items(expr: s.Sub) -> tuple:
        return s.script_indices(expr) if expr.raw is not None and len(expr.raw) == 2 else expr.items

    def _scalar_variable(self, expr) -> bool:
        """x_1, x_i, x_{i+1}, x²₁ in a scalar rule: variables of their own (no tensors to index)."""
        if self.kind != "scalar" or not isinstance(expr, s.Sub):
            return False
        base = expr.base.base if isinstance(expr.base, s.Sup) else expr.base
        return isinstance(base, s.Name) and base.id not in ("π", "pi") and base.id not in self.env

    def _values(self, ref: Ref):
        if ref.scalar:
            return self.world.value(ref.keys[0])
        return Mat(ref.rows, ref.cols, [self.world.value(k) for k in ref.keys], ref.matrix)

    # ------------------------------------------------------------ references

    def refs(self, expr: Any, idx: dict, strict: bool = True):
        model: Any = self._model() if self.kind != "scalar" else None
        if self._member(expr):
            return model.ref(expr.base.id, self._int(expr.arg, idx))
        if self._layered(expr):
            kind = LAYERED[expr.base.id]
            layer = self._int(expr.arg, idx)
            if kind == "δ":
                if strict:
                    raise Unsupported("∂ of δ")
                return model.ref("z", layer)
            return model.ref(kind, layer)
        if isinstance(expr, s.Name) and self.kind == "network":
            if expr.id in ("x", "y"):
                return model.ref(expr.id, None)
            if expr.id == self._network().loss_name:
                return model.ref("C", None)
            if expr.id in self._network().aliases:
                return self.refs(self._network().aliases[expr.id], idx, strict)
        if isinstance(expr, s.Name) and self.kind == "graph" and model.is_node(expr.id):
            return model.ref(expr.id, None)
        if isinstance(expr, s.Sub) and self.kind != "scalar" and not self._kronecker(expr):
            base = self.refs(expr.base, idx, strict)
            if isinstance(base, Ref):
                i, j = self._entry(expr, base.rows, base.cols, idx, base.matrix)
                return Ref(1, 1, (base.at(i, j),))
        if strict:
            raise Unsupported("∂ of something that is not a named quantity")
        return None

    def _split(self, expr: s.Sub, cols: int, matrix: bool = False) -> tuple:
        if expr.raw is not None and len(expr.raw) == 2 and (cols > 1 or matrix):
            return s.script_indices(expr)
        return expr.items

    def _entry(self, expr: s.Sub, rows: int, cols: int, idx: dict, matrix: bool = False) -> tuple:
        values = [self._int(item, idx) for item in self._split(expr, cols, matrix)]
        if len(values) == 1 and expr.raw is not None and len(expr.raw) == 2 and expr.raw.isdigit() \
                and not 1 <= values[0] <= rows * cols:
            values = [int(expr.raw[0]), int(expr.raw[1])]  # (V W)_11 of a 1×1 product: no entry 11, so (1,1)
        if len(values) == 1:
            if cols == 1:
                i, j = values[0], 1
            elif rows == 1:
                i, j = 1, values[0]
            else:
                raise Unsupported("a matrix indexed with one index")
        elif len(values) == 2:
            i, j = values
        else:
            raise Unsupported("more than two indices")
        if not (1 <= i <= rows and 1 <= j <= cols):
            raise Unsupported(f"index ({i},{j}) outside a {rows}×{cols} tensor")
        return i, j

    # ------------------------------------------------------------ free indices

    def _index_uses(self, expr, bound: frozenset, outer=None):
        """(index name, Sub, axis) for each index name in a subscript bound neither inside
        `expr` (`bound`) nor outside it (`outer`: the quantifiers, by default)."""
        outer = self.env if outer is None else outer
        if isinstance(expr, s.Sub):
            yield from self._index_uses(expr.base, bound, outer)
            if self._kronecker(expr) or self._scalar_variable(expr):
                return
            items = expr.items
            if expr.raw is not None and len(expr.raw) == 2 and not expr.raw.isdigit():
                items = s.script_indices(expr)
            for axis, item in enumerate(items):
                if isinstance(item, s.Name) and item.id not in bound and item.id not in outer:
                    yield item.id, expr, axis
            for item in items:
                if not isinstance(item, s.Name):
                    yield from self._index_uses(item, bound, outer)
            return
        if isinstance(expr, s.Summation):
            inner = bound | {expr.index.id} if expr.index is not None else bound
            yield from self._index_uses(expr.body, inner, outer)
            return
        if isinstance(expr, s.Call) and expr.func == "kronecker":
            return
        for child in s.children(expr):
            yield from self._index_uses(child, bound, outer)

    def _range(self, sub: s.Sub, axis: int, idx: dict) -> int:
        base = self.refs(sub.base, idx, strict=False) if self.kind != "scalar" else None
        if base is None:
            base = self.eval(sub.base, idx)
            if not _is_mat(base):
                raise Unsupported("a scalar indexed")
        rows, cols = base.rows, base.cols
        if len(self._split(sub, cols, base.matrix)) == 1:
            if cols == 1:
                return rows
            if rows == 1:
                return cols
            raise Unsupported("a matrix indexed with one index")
        return rows if axis == 0 else cols

    def instances(self, lhs, rhs) -> list:
        """Every assignment of the free component indices of a rule (j, k in δˡⱼ, wˡⱼₖ)."""
        found: dict = {}
        for side in (lhs, rhs):
            for name, sub, axis in self._index_uses(side, frozenset()):
                if name not in found:
                    found[name] = self._range(sub, axis, {k: 1 for k in found} | {name: 1})
        names = list(found)
        return [dict(zip(names, combo)) for combo in itertools.product(*(range(1, found[n] + 1) for n in names))]

    # ------------------------------------------------------------ evaluation

    def eval(self, expr, idx: dict | None = None):
        try:
            return self._eval(expr, idx or {})
        except ZeroDivisionError:
            raise Undefined("division by zero") from None
        except OverflowError:
            raise Undefined("a value too large to compute") from None

    def _eval(self, expr, idx: dict):
        if isinstance(expr, s.Num):
            return mpmath.mpf(expr.value.numerator) / expr.value.denominator
        if isinstance(expr, s.Name):
            return self._name(expr, idx)
        if isinstance(expr, s.Neg):
            v = self._eval(expr.operand, idx)
            return v.map(lambda e: -e) if _is_mat(v) else -v
        if isinstance(expr, s.BinOp):
            return self._binop(expr, idx)
        if isinstance(expr, s.Transpose):
            v = self._eval(expr.operand, idx)
            return v.T() if _is_mat(v) else v
        if isinstance(expr, s.Vector):
            return self._literal(expr, idx)
        if isinstance(expr, s.Norm):
            v = self._eval(expr.operand, idx)
            return mpmath.sqrt(mpmath.fsum(e * e for e in v.data)) if _is_mat(v) else abs(v)
        if isinstance(expr, s.Summation):
            return self._summation(expr, idx)
        if isinstance(expr, s.Partial):
            return self._partial(expr.num, expr.den, idx)
        if isinstance(expr, s.Sup):
            if self._layered(expr):
                return self._quantity(expr, idx)
            if self._member(expr):
                return self._values(self.refs(expr, idx))
            return self._power(self._eval(expr.base, idx), self._eval(expr.arg, idx))
        if isinstance(expr, s.Sub):
            if self._kronecker(expr):
                i, j = (self._int(item, idx) for item in self._kronecker_items(expr))
                return mpmath.mpf(1 if i == j else 0)
            if self._scalar_variable(expr):
                if isinstance(expr.base, s.Sup):  # x²₁ is (x₁)², as (x²)₁ is for a tensor
                    inner = s.Sub(expr.base.base, expr.items, expr.raw, expr.pos)
                    return self._power(self.world.variable(_scripted_name(inner, dict(self.env, **idx))),
                                       self._eval(expr.base.arg, idx))
                return self.world.variable(_scripted_name(expr, dict(self.env, **idx)))  # x_1: a variable
            base = self._eval(expr.base, idx)
            if not _is_mat(base):
                raise Unsupported("a scalar indexed")
            i, j = self._entry(expr, base.rows, base.cols, idx, base.matrix)
            return base.at(i - 1, j - 1)
        if isinstance(expr, s.Call):
            return self._call(expr, idx)
        if isinstance(expr, s.Cases):
            return self._cases(expr, idx)
        raise Unsupported(f"cannot evaluate {type(expr).__name__}")

    def _literal(self, expr: s.Vector, idx: dict):
        """[a, b] is a column of scalars; [[a, b], [c, d]] a matrix, row by row; a 1×1 entry is a scalar."""
        def entry(item):
            v = _one(self._eval(item, idx))
            if _is_mat(v):
                raise Unsupported("a literal with a tensor as an entry")
            return v

        if any(isinstance(i, s.Vector) for i in expr.items):
            rows = expr.items
            if not all(isinstance(r, s.Vector) for r in rows) or len({len(r.items) for r in rows}) != 1:  # type: ignore[attr-defined]
                raise Unsupported("a ragged matrix literal")
            data = [entry(item) for r in rows for item in r.items]  # type: ignore[attr-defined]
            return Mat(len(rows), len(data) // len(rows), data)
        return Mat(len(expr.items), 1, [entry(i) for i in expr.items])

    def _name(self, expr: s.Name, idx: dict):
        name = expr.id
        if name in idx:
            return mpmath.mpf(idx[name])
        if name in self.env:
            return mpmath.mpf(self.env[name])
        if self.kind == "network":
            net = self._network()
            if name == net.loss_name:
                return self.world.value(("C",))
            if name in net.aliases:
                return self._eval(net.aliases[name], idx)
            if name in ("x", "y"):
                return self._values(self._model().ref(name, None))
        if self.kind == "graph" and self._model().is_node(name):
            return self._values(self._model().ref(name, None))
        if name in ("π", "pi"):
            return +mpmath.pi
        if self.kind == "scalar":
            return self.world.variable(name)
        raise Unsupported(f"unknown name {name}")

    def _quantity(self, expr: Any, idx: dict):
        kind = LAYERED[expr.base.id]
        layer = self._int(expr.arg, idx)
        model = self._model()
        if kind == "δ":
            z = model.ref("z", layer)
            return Mat(z.rows, 1, [self.world.derivative(("C",), k) for k in z.keys])
        return self._values(model.ref(kind, layer))

    def _summation(self, expr: Any, idx: dict):
        if expr.index is None:
            v = self._eval(expr.body, idx)
            return mpmath.fsum(v.data) if _is_mat(v) else v
        if expr.low is not None:
            env = dict(self.env, **idx)
            low = int_value(expr.low, env, "a bound")
            high = int_value(expr.high, env, "a bound")
        else:
            low, high = 1, -1
            # Σ_k hides a quantifier k
            for name, sub, axis in self._index_uses(expr.body, frozenset(), outer=frozenset()):
                if name == expr.index.id:
                    high = self._range(sub, axis, dict(idx, **{name: 1}))
                    break
            if high < 0:
                raise Unsupported("a summation index used in no subscript")
        total = _EMPTY
        for k in range(low, high + 1):
            term = self._eval(expr.body, dict(idx, **{expr.index.id: k}))
            total = self._add(total, term)
        if total is _EMPTY:  # the zero of the shape its terms would have (read at the low bound)
            try:
                sample = self._eval(expr.body, dict(idx, **{expr.index.id: low}))
            except (Unsupported, Undefined, DeriveError):
                return mpmath.mpf(0)  # no shape there (an index past a width): 0 adds to any shape
            return Mat(sample.rows, sample.cols, [mpmath.mpf(0)] * len(sample.data)) if _is_mat(sample) \
                else mpmath.mpf(0)
        return total

    def _partial(self, num, den, idx: dict):
        if self.kind == "scalar":
            world = self.world
            if isinstance(den, s.Sub) and self._scalar_variable(den) and isinstance(den.base, s.Name):
                name = _scripted_name(den, dict(self.env, **idx))  # ∂(x_1 x_2)/∂x_1
            elif isinstance(den, s.Name) and den.id not in idx and den.id not in self.env \
                    and den.id not in ("π", "pi"):
                name = den.id
            else:
                raise Unsupported("∂/∂ of something that is not a variable")
            x0 = world.variable(name)

            def at(t):
                inner = Interpreter(ScalarWorld(world.functions, dict(world.variables, **{name: t}), world.fresh),
                                    self.env)
                return inner._eval(num, idx)

            probe = self._eval(num, idx)
            if _is_mat(probe):
                return Mat(probe.rows, probe.cols, [derivative(lambda t, n=n: at(t).data[n], x0)
                                                   for n in range(len(probe.data))])
            return derivative(at, x0)
        top, bottom = self.refs(num, idx), self.refs(den, idx)
        d = self.world.derivative
        if top.rows == top.cols == 1:
            t = top.keys[0]
            if bottom.rows == bottom.cols == 1:
                return d(t, bottom.keys[0])
            return Mat(bottom.rows, bottom.cols, [d(t, k) for k in bottom.keys])
        if top.cols == 1 and bottom.cols == 1:
            return Mat(top.rows, bottom.rows, [d(t, k) for t in top.keys for k in bottom.keys])
        raise Unsupported("∂ of a matrix")

    def _call(self, expr: s.Call, idx: dict):
        name = expr.func
        user = name in self.functions.user
        if name in ("grad", "diff") and not user:
            return self._partial(expr.args[0], expr.args[1], idx)
        if name == "kronecker" and not user:
            i, j = (self._int(a, idx) for a in expr.args)
            return mpmath.mpf(1 if i == j else 0)
        args = [self._eval(a, idx) for a in expr.args]
        if name in ("sum", "max", "min") and not user and len(args) == 1 and _is_mat(args[0]):
            # sum(v), and max(v) / min(v) of one tensor: its largest / smallest entry
            data = args[0].data
            return mpmath.fsum(data) if name == "sum" else self.functions.apply(name, list(data))
        if name == "sum" and not user:
            return args[0]
        if name == "norm" and not user:
            v = args[0]
            return mpmath.sqrt(mpmath.fsum(e * e for e in v.data)) if _is_mat(v) else abs(v)
        if name == "softmax" and not user:
            v = args[0]
            if not _is_mat(v) or v.cols != 1 or expr.primes:
                raise Unsupported("softmax of something that is not a column vector")
            top = max(v.data)
            e = [mpmath.exp(t - top) for t in v.data]
            total = mpmath.fsum(e)
            return Mat(v.rows, 1, [t / total for t in e])
        if any(_is_mat(a) and a.shape != (1, 1) for a in args):  # max(wᵀx, x): the 1×1 one is a scalar
            args = [_one(a) for a in args]
        matrices = [a for a in args if _is_mat(a)]
        if matrices:
            shape = matrices[0].shape
            if any(m.shape != shape for m in matrices):
                raise Unsupported("a function applied to tensors of different shapes")
            n = len(matrices[0].data)
            return Mat(shape[0], shape[1], [self.functions.apply(name, [a.data[k] if _is_mat(a) else a for a in args],
                                                                 expr.primes) for k in range(n)])
        return self.functions.apply(name, args, expr.primes)

    def _cases(self, expr: s.Cases, idx: dict):
        """As written: the first piece whose condition holds, else the last."""
        for piece in expr.pieces:
            c = piece.condition
            left, right = _one(self._eval(c.left, idx)), _one(self._eval(c.right, idx))
            if _is_mat(left) or _is_mat(right):
                raise Unsupported("a comparison of matrices")
            if _COMPARE[c.op](left, right):
                value = _one(self._eval(piece.value, idx))
                break
        else:
            value = _one(self._eval(expr.otherwise, idx))
        if _is_mat(value):
            raise Unsupported("a piecewise matrix")
        return value

    # ------------------------------------------------------------ operators

    def _binop(self, expr: s.BinOp, idx: dict):
        if expr.op == "/" and self.kind == "graph" and isinstance(expr.left, s.Name) \
                and isinstance(expr.right, s.Name):
            top, bottom = expr.left.id, expr.right.id
            model = self._model()
            if top.startswith("d") and bottom.startswith("d") and model.is_node(top[1:]) \
                    and model.is_node(bottom[1:]) and not model.is_node(top):
                pos = expr.pos
                return self._partial(s.Name(top[1:], pos), s.Name(bottom[1:], pos), idx)
        left = self._eval(expr.left, idx)
        right = self._eval(expr.right, idx)
        if expr.op == "^":
            return self._power(left, right)
        if expr.op == "+":
            return self._add(left, right)
        if expr.op == "-":
            return self._add(left, right.map(lambda e: -e) if _is_mat(right) else -right)
        if expr.op == "*":
            return self._multiply(left, right)
        if expr.op == "/":  # entrywise for equal shapes (y / aᴸ) and a scalar by a tensor (1 / aᴸ)
            left, right = _against(left, right), _against(right, left)
            if _is_mat(left) and _is_mat(right):
                if left.shape != right.shape:
                    raise Unsupported(f"a {_shape(left)} divided by a {_shape(right)}")
                return Mat(left.rows, left.cols, [a / b for a, b in zip(left.data, right.data)])
            if _is_mat(right):
                return right.map(lambda e: left / e)
            return left.map(lambda e: e / right) if _is_mat(left) else left / right
        if expr.op == "⊙":
            left, right = _against(left, right), _against(right, left)
            if _is_mat(left) and _is_mat(right):
                if left.shape != right.shape:
                    raise Unsupported("⊙ of different shapes")
                return Mat(left.rows, left.cols, [a * b for a, b in zip(left.data, right.data)])
            return self._multiply(left, right)
        raise Unsupported(f"operator {expr.op}")

    @staticmethod
    def _add(left, right):
        if left is _EMPTY:
            return right
        if right is _EMPTY:
            return left
        left, right = _against(left, right), _against(right, left)
        if _is_mat(left) and _is_mat(right):
            if left.shape != right.shape:
                raise Unsupported(f"a {_shape(left)} plus a {_shape(right)}")
            return Mat(left.rows, left.cols, [_plus(a, b) for a, b in zip(left.data, right.data)])
        if _is_mat(left):
            return left.map(lambda e: _plus(e, right))
        if _is_mat(right):
            return right.map(lambda e: _plus(left, e))
        return _plus(left, right)

    @staticmethod
    def _multiply(left, right):
        if _is_mat(left) and _is_mat(right):
            if left.cols != right.rows:
                if left.shape == (1, 1):
                    return right.map(lambda e: left.data[0] * e)
                if right.shape == (1, 1):
                    return left.map(lambda e: e * right.data[0])
                raise Unsupported(f"a {_shape(left)} times a {_shape(right)}")
            n = left.cols
            return Mat(left.rows, right.cols, [mpmath.fsum(left.at(i, k) * right.at(k, j) for k in range(n))
                                               for i in range(left.rows) for j in range(right.cols)])
        if _is_mat(left):
            return left.map(lambda e: e * right)
        if _is_mat(right):
            return right.map(lambda e: left * e)
        return left * right

    @staticmethod
    def _power(base, exponent):
        exponent = _one(exponent)  # 2^(wᵀx): a 1×1 exponent is a scalar
        if _is_mat(exponent):
            raise Unsupported("a matrix exponent")
        if _is_mat(base) and base.rows > 1 and base.cols > 1:  # bad input, as derive.evaluate says
            raise Unsupported("a power of a matrix (matrix power or entrywise?)")

        def power(b):
            if mpmath.isint(exponent):
                n = int(exponent)
                if n < 0 and b == 0:
                    raise Undefined("0 to a negative power")
                return b ** n
            if b < 0 or (b == 0 and exponent <= 0):
                raise Undefined("a power of a negative number")
            if too_large(exponent):
                raise Undefined("a power too large to compute")
            return _real(b ** exponent)

        return base.map(power) if _is_mat(base) else power(base)


# ---------------------------------------------------------------- points


def _random_value(rng: random.Random, low: int, high: int) -> Fraction:
    """An exact rational in [low, high], not 0, with a denominator unlike the prover's tenths."""
    d = rng.choice((7, 11, 13, 17, 19, 23))
    while True:
        v = Fraction(rng.randint(low * d, high * d), d)
        if v != 0:
            return v


def _solve_assumptions(model, point: dict, equations: tuple, env: dict) -> dict:
    """Make the point satisfy each assumption (Σ y = 1): solve it for the last input entry
    it depends on linearly."""
    if not equations:
        return point
    given = model.given()

    def residual(p, eq):
        world = PointWorld(model, p)
        inter = Interpreter(world, env)
        left, right = inter.eval(eq.lhs), inter.eval(eq.rhs)
        if _is_mat(left) or _is_mat(right):
            raise Unsupported("an assumption that is not a scalar equation")
        return left - right

    solved: set = set()
    for eq in equations:
        for key in reversed(list(point)):
            if key in given or key in solved:
                continue
            v = point[key]
            r0 = residual(point, eq)
            r1 = residual({**point, key: v + 1}, eq)
            r2 = residual({**point, key: v + 2}, eq)
            slope = r1 - r0
            if abs(slope) < mpmath.mpf("1e-20") or abs(r2 - 2 * r1 + r0) > mpmath.mpf("1e-30") * (1 + abs(slope)):
                continue
            point = {**point, key: v - r0 / slope}
            solved.add(key)
            break
        else:
            raise Unsupported("an assumption the audit cannot satisfy")
    for eq in equations:
        if abs(residual(point, eq)) > mpmath.mpf("1e-40"):
            raise Unsupported("an assumption the audit cannot satisfy")
    return point


def _samples(model, rng: random.Random, count: int, special: int) -> list:
    """[(point, random?)]: random points (exact rationals; given values kept), as many as
    4 × `count` for rules undefined at some of them, then `special` more at small whole
    numbers (0 first: boundaries of pieces often sit there)."""
    given = model.given()
    keys = model.input_keys()
    out: list = []
    for n in range(4 * count + special):
        point = {}
        for key in keys:
            if key in given:
                point[key] = given[key]
            elif n < 4 * count:
                point[key] = _random_value(rng, *model.sample_range(key))
            else:
                point[key] = Fraction(0) if n == 4 * count else Fraction(rng.choice((-1, 0, 1, 2)))
        if all(point != p for p, _ in out):
            out.append((point, n < 4 * count))
    return out


def _mp_point(point: dict) -> dict:
    return {k: mpmath.mpf(v.numerator) / v.denominator if isinstance(v, Fraction) else v for k, v in point.items()}


# ---------------------------------------------------------------- comparing


def _close(a, b) -> bool:
    return abs(a - b) <= TOLERANCE * max(abs(a), abs(b)) + FLOOR


def _pairs(left, right) -> list | None:
    """[(entry label, left, right)]; None when the shapes differ."""
    if _is_mat(left) and left.shape == (1, 1) and not _is_mat(right):
        left = left.data[0]
    if _is_mat(right) and right.shape == (1, 1) and not _is_mat(left):
        right = right.data[0]
    if _is_mat(left) and not _is_mat(right):  # aᴸ − aᴸ = 0: every entry is 0
        right = Mat(left.rows, left.cols, [right] * len(left.data))
    if _is_mat(right) and not _is_mat(left):
        left = Mat(right.rows, right.cols, [left] * len(right.data))
    if _is_mat(left) and left.shape != right.shape:
        return None
    if not _is_mat(left):
        return [("", left, right)]
    return [(f"entry ({i + 1},{j + 1})" if left.cols > 1 else f"entry {i + 1}", left.at(i, j), right.at(i, j))
            for i in range(left.rows) for j in range(left.cols)]


def _show(v) -> str:
    return mpmath.nstr(v, 15)


def _label(key, model) -> str:
    """How an input key is written: x_1, W^2_13, b, h^0_2, X_{1,2}."""
    if model.kind == "network":
        name, *rest = key
        if name in ("x", "y"):
            return f"{name}_{rest[0]}"
        layer, *entry = rest
        return f"{name}^{layer}_" + "".join(map(str, entry)) if max(entry) < 10 else \
            f"{name}^{layer}_{{{','.join(map(str, entry))}}}"
    if len(key) == 2:  # a scalar (name, member)
        name, member = key
        return name if member is None else f"{name}^{member}"
    name, member, i, j = key
    sup = "" if member is None else f"^{member}"
    shape = model.shapes.get((name, member))
    one_column = shape is not None and shape[1] == 1 and (name, member) not in model.matrices
    return f"{name}{sup}_{i}" if one_column else f"{name}{sup}_{{{i},{j}}}"


def _text(v) -> str:
    if isinstance(v, Fraction):
        return str(v.numerator) if v.denominator == 1 else f"{v.numerator}/{v.denominator}"
    return _show(v)


# ---------------------------------------------------------------- the audit of one rule


@dataclass
class Result:
    """What the audit found: `agree` (points where every entry agreed), a `disagreement`
    (text naming the point), or a reason it could not evaluate the rule (`unaudited`)."""

    points: int = 0
    disagreement: str = ""
    unaudited: str = ""
    undefined: str = ""  # the first random point where a side had no value, and why (for the verdict's scope)
    notes: list = field(default_factory=list)


@dataclass
class Target:
    """One declaration a rule is audited against: kind, the model object, sizes."""

    kind: str  # "scalar" | "graph" | "network"
    declaration: Any = None  # model.Graph or model.Network
    sizes: tuple | None = None


def _names_in(e) -> list:
    return [e] if isinstance(e, s.Name) else [n for child in s.children(e) for n in _names_in(child)]


def _scalar_names(rule: Rule, functions: Functions) -> list:
    names: list = []

    def walk(e, bound):
        head = e.base.base if isinstance(e, s.Sub) and isinstance(e.base, s.Sup) else getattr(e, "base", None)
        if isinstance(e, s.Sub) and isinstance(head, s.Name) and head.id not in bound:
            for env in rule.layer_assignments:  # x_1, or x_i for each value of a quantifier i
                used = {n.id for item in e.items for n in _names_in(item)}
                if used & (bound - set(env)):
                    continue  # an index bound by a Σ: its variables are met while evaluating
                try:
                    name = _scripted_name(s.Sub(head, e.items, e.raw, e.pos), env)
                except Unsupported:
                    continue
                if name not in names:
                    names.append(name)
            return
        if isinstance(e, s.Name) and e.id not in bound and e.id not in names and e.id not in ("π", "pi") \
                and e.id not in functions.user and e.id not in BUILTIN_FUNCTIONS:
            names.append(e.id)
        if isinstance(e, s.Summation) and e.index is not None:
            bound = bound | {e.index.id}
        for child in s.children(e):
            walk(child, bound)

    quantified = {q.var for q in rule.quantifiers}
    for side in (rule.lhs, rule.rhs) + ((rule.series[1],) if rule.series else ()):
        walk(side, quantified)
    if rule.series:  # the series variable is set by the fit, not sampled
        names = [n for n in names if n != rule.series[0]]
    return names


RECHECK_SCALES = (1.7, 4, 12, 30, 60)  # × BASE_DPS digits (and × the steps' digits) on a re-check


def _stable(a, b) -> bool:
    return abs(a - b) <= mpmath.mpf("1e-20") * max(abs(a), abs(b)) + FLOOR * mpmath.mpf("1e-10")


def _settle(rule: Rule, make_world, env: dict, index: dict, entry: str):
    """Both sides' values of one entry, re-evaluated with more and more digits (and other
    steps) until two successive precisions agree on each, and the two sides either agree
    or differ by far more than any rounding noise a cancellation left: (left, right), or
    None when no precision up to ~3600 digits decides (then nothing is concluded here)."""
    previous = None
    try:
        for scale in RECHECK_SCALES:
            _scale[0] = scale
            _noise[0] = mpmath.mpf(0)
            with mpmath.workdps(int(BASE_DPS * scale)):
                world = make_world()
                left = Interpreter(world, env).eval(rule.lhs, index)
                right = Interpreter(world, env).eval(rule.rhs, index)
                now = {e: (a, b) for e, a, b in (_pairs(left, right) or [])}.get(entry)
                if now is None:
                    return None
                if previous is not None and _stable(previous[0], now[0]) and _stable(previous[1], now[1]) \
                        and (_close(*now) or abs(now[0] - now[1]) > 10**6 * _noise[0]):
                    return now
            previous = now
    except Undefined:
        return None
    finally:
        _scale[0] = 1.0
    return None


def _compare_at(rule: Rule, make_world, env_base: dict, describe, result: Result | None = None) -> tuple:
    """(instances compared, disagreement text or "") of one rule at one point; the first
    point where a side has no value is noted in `result.undefined`."""
    compared = 0
    world = make_world()
    for layers in rule.layer_assignments:
        env = dict(env_base, **layers)  # a quantifier named like L is that quantifier here
        interp = Interpreter(world, env)
        try:
            instances = interp.instances(rule.lhs, rule.rhs)
        except Undefined:
            continue
        for index in instances:
            where = ", ".join(f"{k}={v}" for k, v in {**layers, **index}.items())
            try:
                left, right = interp.eval(rule.lhs, index), interp.eval(rule.rhs, index)
            except Undefined as e:
                if result is not None and not result.undefined:
                    result.undefined = f"{describe()} ({e})"
                continue
            pairs = _pairs(left, right)
            if pairs is None:
                raise Unsupported(f"the audit reads the sides with other shapes ({_shape(left)} and {_shape(right)})"
                                  + (f" at {where}" if where else ""))
            settled = True
            for entry, lv, rv in pairs:
                if not _close(lv, rv):
                    again = _settle(rule, make_world, env, index, entry)
                    if again is None:  # no stable value here (rounding noise): nothing concluded
                        settled = False
                        continue
                    if _close(*again):
                        continue
                    at = ", ".join(x for x in (where, entry) if x)
                    return compared, (f"{'at ' + at + ': ' if at else ''}left = {_show(again[0])}, right = "
                                      f"{_show(again[1])}; inputs {describe()}")
            compared += settled
    return compared, ""


def _series_at(rule: Rule, functions: Functions, variables: dict, describe, fresh=None) -> tuple:
    assert rule.series is not None
    var, point_expr, order = rule.series
    point = Interpreter(ScalarWorld(functions, variables, fresh), {}).eval(point_expr)
    if _is_mat(point):
        raise Unsupported("a series point that is a matrix")

    def side(expr):
        return lambda t: Interpreter(ScalarWorld(functions, dict(variables, **{var: t}), fresh), {}).eval(expr)

    left, right = taylor(side(rule.lhs), point, order), taylor(side(rule.rhs), point, order)
    for k, (a, b) in enumerate(zip(left, right)):
        if abs(a - b) > mpmath.mpf("1e-12") * max(abs(a), abs(b)) + mpmath.mpf("1e-25"):
            power = f"({var} − {_show(point)})" if point != 0 else var
            return 1, (f"at coefficient of {power}^{k} at {var} = {_show(point)}: left = {_show(a)}, right = "
                       f"{_show(b)}" + (f"; inputs {describe()}" if describe() else ""))
    return 1, ""


def audit_rule(rule: Rule, targets: list, user_functions: dict, seed: str = "", points: int = POINTS) -> Result:
    """Evaluate both sides of `rule` at random points of each target (a `Target` per size
    set it was proved at) by the independent route above."""
    functions = Functions(user_functions)
    rng = random.Random(f"audit:{seed}:{rule.name}")
    result = Result()
    saved_depth = _depth[0]
    try:
        with mpmath.workdps(BASE_DPS):
            for target in targets:
                used = _audit_target(rule, target, functions, rng, points, result)
                if result.disagreement:
                    return result
                if used == 0:
                    where = f" at sizes {','.join(map(str, target.sizes))}" if target.sizes else ""
                    result.unaudited = (f"the audit could evaluate the rule at none of its points{where} "
                                        f"(undefined there: a kink, a tie, a division by 0…; "
                                        f"or its value lost in rounding)")
                    return result
                result.points += used
    except (Unsupported, DeriveError) as e:
        result.unaudited = f"the audit cannot evaluate this rule: {e}"
    except RecursionError:
        result.unaudited = "the audit cannot evaluate this rule: nested too deep"
    finally:
        _depth[0] = saved_depth
        _scale[0] = 1.0
    return result


def _audit_target(rule: Rule, target: Target, functions: Functions, rng: random.Random, count: int,
                  result: Result) -> int:
    used = 0
    if target.kind == "scalar":
        names = _scalar_names(rule, functions)
        for span in (2, 10, 100):  # a domain such as x > 5 lies outside [-2, 2]
            used = _audit_scalar(rule, functions, _ScalarModel(names, span), rng, count, result)
            if used or result.disagreement:
                return used
        return used
    model: Any
    if target.kind == "network":
        model = NetworkModel(target.declaration, tuple(target.sizes or ()), functions)
        special = 0
    else:
        model = GraphModel(target.declaration, functions)
        special = 1
    random_used = 0
    for point, is_random in _samples(model, rng, count, special):
        if is_random and random_used >= count:
            continue
        try:
            values = _solve_assumptions(model, _mp_point(point), target.declaration.assumptions,
                                        dict(model.layer_env))
            base = PointWorld(model, values)  # forward values once; derivatives cached per point
        except Undefined:
            continue

        def describe_point(p: dict = point, v: dict = values) -> str:
            shown = {k: (p[k] if v[k] == _mp_point({k: p[k]})[k] else v[k]) for k in v}
            text = ", ".join(f"{_label(k, model)}={_text(x)}" for k, x in shown.items())
            return text + (f" (sizes {','.join(map(str, target.sizes))})" if target.sizes else "")

        def make_world(v=values, first=[base]):  # noqa: B006 - the first call reuses the base world
            if first:
                return first.pop()
            return PointWorld(model, v)

        try:
            # a side without a value is noted at random points only: a whole-number point is
            # often exactly on a kink the proof has named already
            n, bad = _compare_at(rule, make_world, dict(model.layer_env), describe_point, result if is_random else None)
        except Undefined:
            continue
        if bad:
            result.disagreement = bad
            return used
        used += n > 0
        random_used += is_random and n > 0
    return used


def _audit_scalar(rule: Rule, functions: Functions, model, rng: random.Random, count: int, result: Result) -> int:
    """The points of a scalar rule where the audit compared both sides (0: none defined)."""
    used = 0
    random_used = 0
    for number, (point, is_random) in enumerate(_samples(model, rng, count, special=2 if model.span == 2 else 0)):
        if is_random and random_used >= count:
            continue
        values = _mp_point(point)

        def fresh(name: str, p: dict = point, n: int = number, random_point: bool = is_random):
            """A variable first met while evaluating (x_i under Σ): a value of its own at this point."""
            if name not in p:
                pick = random.Random(f"audit:{rule.name}:{model.span}:{n}:{name}")
                p[name] = _random_value(pick, -model.span, model.span) if random_point \
                    else Fraction(0) if n == 4 * count else Fraction(pick.choice((-1, 0, 1, 2)))  # as _samples
            return _mp_point({name: p[name]})[name]

        def describe(p: dict = point) -> str:
            return ", ".join(f"{k}={_text(v)}" for k, v in p.items())

        try:
            if rule.series is not None:
                n, bad = _series_at(rule, functions, values, describe, fresh)
            else:
                n, bad = _compare_at(rule, lambda v=values, f=fresh: ScalarWorld(functions, v, f), {}, describe,
                                     result if is_random else None)  # random points only, as above
        except Undefined:
            continue
        if bad:
            result.disagreement = bad
            return used
        used += n > 0
        random_used += is_random and n > 0
    return used


class _ScalarModel:
    """The free variables of a scalar rule, as the inputs to sample."""

    kind = "scalar"

    def __init__(self, names: list, span: int = 2):
        self.names = names
        self.span = span  # values in [-span, span]

    def input_keys(self) -> list:
        return list(self.names)

    def sample_range(self, key) -> tuple:
        return (-self.span, self.span)

    def given(self) -> dict:
        return {}


__all__ = [
    "Functions",
    "GraphModel",
    "Interpreter",
    "NetworkModel",
    "PointWorld",
    "Result",
    "ScalarWorld",
    "Target",
    "Undefined",
    "Unsupported",
    "audit_rule",
    "derivative",
    "taylor",
]
