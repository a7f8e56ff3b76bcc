"""Syntax tree → model: typed, validated declarations ready for derivation.

The model knows what every name means where it stands. It checks, before any SymPy
work, what can be checked statically: unknown names, function arity, sizes that are not
positive integers, layer indices outside the network (for every value a rule's
quantifiers give them), a network without a loss. All of these are bad input
(`DeriveError`, exit 2). Shape mismatches inside a rule are *not* bad input: a rule
that multiplies a 2×3 matrix by a 2×1 vector is a wrong claim, refuted by verify.

Expressions stay syntax nodes (`derive.syntax`); what the model adds is the context
(`Scope`) in which they are read.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field, replace
from fractions import Fraction

from . import syntax as s
from .errors import DeriveDeclarationError, DeriveError, DeriveNameError, Pos
from .functions import BUILTIN_ALIASES
from .limits import within
from .resolve import (
    CONSTANTS,
    NETWORK_QUANTITIES,
    Names,
    check_binder,
    check_declared_name,
    resolve,
    two_scripts,
    unbound_names,
)
from .vocabulary import Expected

# Names with a layer superscript in a network, and the layers each exists at.
# γˡ: the per-unit parameters of a two-argument activation (PReLU's slopes γˡⱼ), inputs like bˡ.
LAYERED = {"a": "a", "z": "z", "W": "W", "w": "W", "b": "b", "δ": "δ", "delta": "δ", "γ": "γ", "gamma": "γ"}
BUILTIN_FUNCTIONS = {  # name → arity (None: any number ≥ 1); their meaning is in derive.functions
    "exp": 1, "log": 1, "ln": 1, "sqrt": 1, "tanh": 1, "σ": 1, "sigma": 1, "softplus": 1,
    "softmax": 1, "sum": 1, "norm": 1, "grad": 2, "diff": 2, "kronecker": 2, "erf": 1,
    "relu": 1, "ReLU": 1, "lrelu": 2, "leakyrelu": 2, "prelu": 2, "PReLU": 2, "elu": 2, "ELU": 2,
    "hardσ": 1, "hardsigmoid": 1, "hardlogistic": 1, "hardtanh": 1, "swish": 1, "silu": 1, "SiLU": 1,
    "gelu": 1, "GELU": 1,
    "gelutanh": 1, "max": None, "min": None,
}
# Built-ins the model and evaluator read themselves (a derivative, a Kronecker delta, a sum over
# entries, summation bounds): a file cannot redefine them.
STRUCTURAL_FUNCTIONS = ("sum", "norm", "grad", "diff", "kronecker", "softmax", "max", "min")


def spellings(name: str) -> set:
    """Every spelling of a built-in function's name (σ, sigma), or just `name`."""
    canonical = BUILTIN_ALIASES.get(name, name)
    return {canonical} | {n for n, c in BUILTIN_ALIASES.items() if c == canonical}


NO_DERIVATIVE = ("sum", "norm", "grad", "diff", "kronecker", "softmax", "max", "min")  # f' means nothing
VECTOR_FUNCTIONS = {"softmax"}  # act on a whole vector, not entry by entry


@dataclass(frozen=True)
class Function:
    """A user-defined function `f(t, …) = body`. Named like a built-in (`function σ(t) =
    1/(1 + exp(-t))`, as textbooks write), it is a claim that it *is* that built-in: verify
    shows the two equal (else bad input), and the name keeps the built-in's one meaning."""

    name: str
    params: tuple
    body: s.Expr | None  # None: `function f(t)`, any differentiable function
    pos: Pos
    builtin: bool = False  # named like a built-in function: checked equal to it, never replacing it


@dataclass(frozen=True)
class Quantifier:
    var: str
    low: int
    high: int
    pos: Pos


@dataclass(frozen=True)
class Rule:
    name: str
    quantifiers: tuple  # of Quantifier, with concrete integer bounds
    lhs: s.Expr
    rhs: s.Expr
    expected: Expected  # proved; refuted for a rule marked `wrong`; undefined for one marked `undefined`
    pos: Pos
    context: str | None  # name of the graph/network it belongs to, None for scalar rules
    series: tuple | None = None  # (variable, point expr, order) for a Taylor claim `lhs ≈ rhs at v = p order n`

    @property
    def layer_assignments(self) -> list[dict]:
        """Every combination of quantifier values (one dict per instance)."""
        out: list[dict] = [{}]
        for q in self.quantifiers:
            out = [dict(a, **{q.var: v}) for a in out for v in range(q.low, q.high + 1)]
        return out


@dataclass(frozen=True)
class GraphInput:
    """One declared input quantity: a scalar (`shape` None), a vector (n, 1) or a matrix,
    possibly a member of a family (`x^t`)."""

    name: str
    member: int | None
    shape: tuple | None
    value: Fraction | None  # scalars only: `input a = 5`
    pos: Pos
    matrix: bool = False  # declared with two dimensions (W[2,1] is a matrix, x[2] a vector)


@dataclass(frozen=True)
class GraphNode:
    """One definition, for one value of its quantifiers: a whole quantity (`entry` None)
    or one entry of it."""

    name: str
    member: int | None
    entry: tuple | None  # (i,) or (i, j)
    expr: s.Expr  # with aliases expanded
    env: dict  # sizes and quantifier values the expression is read with
    pos: Pos


@dataclass(frozen=True)
class Graph:
    """A computation graph: inputs (with optional values) and nodes defined in order,
    each a scalar, a vector or a matrix, alone or as a member of a family (hᵗ)."""

    name: str
    inputs: tuple  # of GraphInput
    nodes: tuple  # of GraphNode
    assumptions: tuple  # of syntax.Equation
    rules: tuple
    pos: Pos
    sizes: dict = field(default_factory=dict)  # `size T = 3`
    declarations: tuple = ()  # the syntax of its sizes, inputs, definitions and `let`s, in file order (for display)

    @property
    def names(self) -> set:
        return {i.name for i in self.inputs} | {n.name for n in self.nodes}

    @property
    def families(self) -> set:
        """Names declared with a member superscript (hᵗ): there ^ is a member, not a power."""
        return {i.name for i in self.inputs if i.member is not None} | \
            {n.name for n in self.nodes if n.member is not None}


@dataclass(frozen=True)
class Network:
    """A dense feed-forward network: zˡ = Wˡaˡ⁻¹ + bˡ, aˡ = fˡ(zˡ), a⁰ = x, loss C(aᴸ, y)."""

    name: str
    sizes: tuple  # n⁰ … nᴸ
    also_sizes: tuple | None  # a second size set for size-generic rules, None: none
    activations: tuple  # f¹ … fᴸ (function names)
    loss_name: str
    loss: s.Expr
    aliases: dict  # name → expr
    assumptions: tuple
    rules: tuple
    pos: Pos

    @property
    def depth(self) -> int:
        return len(self.sizes) - 1

    @property
    def integers(self) -> dict:
        """The whole-number names its rules are read with: L, the last layer (unless the loss
        is named L; then layers are written as numbers). Decided here, read everywhere."""
        return {} if self.loss_name == "L" else {"L": self.depth}


@dataclass
class Document:
    filename: str
    source: str = ""  # the text, so later stages can show the line an error points at
    functions: dict = field(default_factory=dict)  # name → Function
    rules: list = field(default_factory=list)  # scalar rules
    graphs: dict = field(default_factory=dict)
    networks: dict = field(default_factory=dict)

    def all_rules(self) -> list:
        out = list(self.rules)
        for g in self.graphs.values():
            out.extend(g.rules)
        for n in self.networks.values():
            out.extend(n.rules)
        return sorted(out, key=lambda r: (r.pos.line, r.pos.column))


# ---------------------------------------------------------------- integer expressions


def int_value(expr: s.Expr, env: dict, what: str) -> int:
    """Value of an integer expression (sizes, layer indices, bounds) in `env`."""
    if isinstance(expr, s.Num):
        if expr.value.denominator != 1:
            raise DeriveDeclarationError(f"{what} must be a whole number, not {expr.value}", expr.pos)
        return int(expr.value)
    if isinstance(expr, s.Name):
        if expr.id in env:
            return env[expr.id]
        raise DeriveDeclarationError(f"{what} must be a whole number; '{expr.id}' is not one here", expr.pos)
    if isinstance(expr, s.Neg):
        return -int_value(expr.operand, env, what)
    if isinstance(expr, s.BinOp) and expr.op in "+-*":
        a, b = int_value(expr.left, env, what), int_value(expr.right, env, what)
        return a + b if expr.op == "+" else a - b if expr.op == "-" else a * b
    if isinstance(expr, s.Call) and expr.func in ("max", "min") and expr.args and not expr.primes:
        # Σ_{p=max(1,i-2)}^{min(4,i)}: the bounds of a full convolution
        values = [int_value(a, env, what) for a in expr.args]
        return max(values) if expr.func == "max" else min(values)
    raise DeriveDeclarationError(f"{what} must be a whole number", expr.pos)


# ---------------------------------------------------------------- scopes


@dataclass
class Scope:
    """What names mean in one place: used by the validator here and the evaluator later."""

    kind: str  # "scalar" | "graph" | "network"
    functions: dict
    graph: Graph | None = None
    network: Network | None = None
    layer_env: dict = field(default_factory=dict)  # quantifier values, and L
    quantifiers: tuple = ()  # the rule's quantifiers (model.Quantifier), for messages
    ranges: dict = field(default_factory=dict)  # quantifier → (low, high) where all its layers exist (messages)

    def is_function(self, name: str) -> bool:
        return name in self.functions or name in BUILTIN_FUNCTIONS

    def arity(self, name: str) -> int | None:
        """How many arguments `name` takes (None: any number, max and min)."""
        if name in self.functions:
            return len(self.functions[name].params)
        return BUILTIN_FUNCTIONS[name]


def _validate(expr: s.Expr, scope: Scope, bound: set) -> None:
    """Walk an expression and reject what cannot mean anything in `scope`."""
    v = lambda e, b=bound: _validate(e, scope, b)  # noqa: E731
    if isinstance(expr, s.Num):
        return
    if isinstance(expr, s.Name):
        _validate_name(expr, scope, bound)
        return
    if isinstance(expr, s.Call):
        if not scope.is_function(expr.func):
            raise DeriveNameError(f"unknown function '{expr.func}' (a name directly followed by '(' is a call: "
                                  f"for a product, write {expr.func} (…) with a space)", expr.pos)
        arity = scope.arity(expr.func)
        if arity is not None and len(expr.args) != arity:
            raise DeriveDeclarationError(
                f"{expr.func} takes {arity} argument(s), got {len(expr.args)}", expr.pos)
        if expr.primes and expr.func in NO_DERIVATIVE and expr.func not in scope.functions:
            raise DeriveDeclarationError(f"{expr.func}' is not defined: use ∂ or diff(...)", expr.pos)
        for a in expr.args:
            if expr.func == "kronecker":  # indices: whole numbers in a scalar rule, else maybe component indices
                if scope.kind == "scalar":
                    int_value(a, dict(scope.layer_env, **{b: 0 for b in bound}), "an index of Kronecker's δ")
                continue
            v(a)
        return
    if isinstance(expr, s.BinOp):
        v(expr.left)
        v(expr.right)
        return
    if isinstance(expr, (s.Neg, s.Transpose, s.Norm)):
        v(expr.operand)
        return
    if isinstance(expr, s.Vector):
        for i in expr.items:
            v(i)
        return
    if isinstance(expr, s.Summation):
        for limit in (expr.low, expr.high):
            if limit is not None:
                _validate_bound(limit, scope, bound)
        _sum_within_limits(expr, scope)
        if expr.index is not None:
            v(expr.body, bound | {expr.index.id})
        else:
            v(expr.body)
        return
    if isinstance(expr, s.Partial):
        v(expr.num)
        v(expr.den)
        return
    if isinstance(expr, (s.Cases, s.Piece, s.Condition)):
        for child in s.children(expr):
            v(child)
        return
    if isinstance(expr, s.Sup):
        if _layered_name(expr.base, scope):
            _check_layer(expr, scope, bound)
            return
        v(expr.base)
        v(expr.arg)
        return
    if isinstance(expr, s.Sub):
        v(expr.base)
        for item in expr.items:
            _validate_index(item, scope, bound)
        return
    raise DeriveDeclarationError(f"unsupported expression {type(expr).__name__}", expr.pos)  # pragma: no cover


def _layered_name(base: s.Expr, scope: Scope) -> bool:
    if scope.kind == "graph":
        return isinstance(base, s.Name) and scope.graph is not None and base.id in scope.graph.families
    return scope.kind == "network" and isinstance(base, s.Name) and base.id in LAYERED


def _check_layer(expr: s.Sup, scope: Scope, bound: set) -> None:
    if scope.kind == "graph":  # a family member: which members exist is checked when evaluated
        _validate_index(expr.arg, scope, bound)
        return
    net = scope.network
    assert net is not None
    kind = LAYERED[expr.base.id]  # type: ignore[union-attr]
    layer = int_value(expr.arg, scope.layer_env, "a layer index")
    low = 0 if kind == "a" else 1
    if not low <= layer <= net.depth:
        name = expr.base.id  # type: ignore[union-attr]
        raise DeriveDeclarationError(f"layer index out of range: {name}^{layer} does not exist ({name} has layers "
                                     f"{_layers_text(low, net)}){_quantifier_hint(expr.arg, scope)}",
                                     expr.pos)
    if kind == "γ" and scope.arity(net.activations[layer - 1]) != 2:
        raise DeriveDeclarationError(f"layer {layer} has no parameters γ: its activation "
                                     f"{net.activations[layer - 1]} takes one argument", expr.pos)


def _layer_text(layer: int, net: "Network") -> str:
    """An upper layer bound as a rule would write it: L, L-1 where L names the last layer, else the number."""
    if not net.integers or layer not in (net.depth, net.depth - 1):
        return str(layer)
    return "L" if layer == net.depth else "L-1"


def _layers_text(low: int, net: "Network") -> str:
    return f"{low}..L, L = {net.depth}" if net.integers else f"{low}..{net.depth}"


def _quantifier_hint(arg: s.Expr, scope: Scope) -> str:
    """For a layer out of range at one value of a rule's quantifier (for l in 1..L+1: δˡ, or
    δ^{l+1} with l up to L): that value, and the range over which every layer the rule names exists."""
    used = s.names_in(arg)
    mine = [q for q in scope.quantifiers if q.var in used]
    if len(mine) != 1:
        return ""
    q = mine[0]
    net = scope.network
    assert net is not None
    at = f" at {q.var} = {scope.layer_env.get(q.var)} (for {q.var} in {q.low}..{q.high}, line {q.pos.line})"
    fits = scope.ranges.get(q.var)
    if fits is None:
        return at
    return f"{at}: write for {q.var} in {fits[0]}..{_layer_text(fits[1], net)}, where every layer " \
           f"this rule names exists"


def _layer_ranges(sides: list, quantifiers: tuple, net: "Network", env: dict) -> dict:
    """Per quantifier, the whole range of values at which every layer index the rule writes
    with it alone (δˡ, W^{l+1}) exists, when that is one range (for messages)."""
    layered: list = []

    def walk(e) -> None:
        if isinstance(e, s.Sup) and isinstance(e.base, s.Name) and e.base.id in LAYERED:
            layered.append((0 if LAYERED[e.base.id] == "a" else 1, e.arg))
        for child in s.children(e):
            walk(child)

    for side in sides:
        walk(side)
    ranges = {}
    for q in quantifiers:
        exprs = [(low, arg) for low, arg in layered if q.var in s.names_in(arg)
                 and s.names_in(arg) <= {q.var} | set(env)]
        if not exprs:
            continue
        fits = []
        for value in range(q.low - net.depth - 3, q.high + net.depth + 4):
            try:
                if all(low <= int_value(arg, dict(env, **{q.var: value}), "") <= net.depth for low, arg in exprs):
                    fits.append(value)
            except DeriveError:
                break
        else:
            if fits and fits == list(range(fits[0], fits[-1] + 1)):
                ranges[q.var] = (fits[0], fits[-1])
    return ranges


def _validate_index(item: s.Expr, scope: Scope, bound: set) -> None:
    if isinstance(item, s.Num):
        return
    if isinstance(item, s.Name):
        return  # a component index variable (free: quantified over its range; or bound by Σ)
    _validate(item, scope, bound)


def _validate_bound(item: s.Expr, scope: Scope, bound: set) -> None:
    """A summation bound: an integer expression, where max/min are allowed (int_value)."""
    if isinstance(item, s.Call) and item.func in ("max", "min"):
        for a in item.args:
            _validate_bound(a, scope, bound)
        return
    _validate_index(item, scope, bound)


def _validate_name(expr: s.Name, scope: Scope, bound: set) -> None:
    name = expr.id
    if name in bound or name in scope.layer_env or name in CONSTANTS:
        return
    if scope.is_function(name):
        raise DeriveDeclarationError(f"'{name}' is a function: call it, as in {name}(t)", expr.pos)
    if scope.kind == "scalar":
        return  # free variables of a scalar rule stand for every real value
    if scope.kind == "graph":
        g = scope.graph
        assert g is not None
        names = g.names
        if name in names or name in g.sizes:
            return
        known = ", ".join(dict.fromkeys([*(i.name for i in g.inputs), *(n.name for n in g.nodes), *g.sizes]))
        raise DeriveNameError(f"unknown name '{name}' in graph {g.name} (known: {known})", expr.pos)
    net = scope.network
    assert net is not None
    if name in ("x", "y", net.loss_name, "L") or name in net.aliases:
        return
    if name in LAYERED:
        raise DeriveDeclarationError(f"'{name}' needs a layer, as in {name}^l or {name}^L", expr.pos)
    raise DeriveNameError(f"unknown name '{name}' in network {net.name} "
                          f"(known: x, y, {net.loss_name}, L, a^l, z^l, W^l, b^l, δ^l"
                          + "".join(f", {a}" for a in net.aliases) + ")", expr.pos)


# ---------------------------------------------------------------- building


def _quantifiers(decl: s.RuleDecl, env: dict) -> tuple:
    out = []
    for q in decl.quantifiers:
        low = int_value(q.low, env, "a quantifier bound")
        high = int_value(q.high, env, "a quantifier bound")
        if low > high:
            raise DeriveDeclarationError(f"empty range {low}..{high} for {q.var}", q.pos)
        out.append(Quantifier(q.var, low, high, q.pos))
        instances = 1
        for each in out:
            instances *= each.high - each.low + 1
        within(instances, "instances", "the rule's quantifiers would take a number of values of", q.pos)
    return tuple(out)


def _rule(decl: s.RuleDecl, scope: Scope, context: str | None, names: Names, expand=None) -> Rule:
    """A rule with its names resolved (derive.resolve), its `let`s expanded (`expand`, graphs),
    validated for every value of its quantifiers."""
    bound = frozenset(scope.layer_env)
    for q in decl.quantifiers:
        check_binder(q.var, q.pos, names, "quantifier", bound)
        bound |= {q.var}
    quantifiers = _quantifiers(decl, scope.layer_env)
    eq = decl.equation
    # a series variable is bound in both sides (`e^t ≈ … at t = 0` and `… at e = 0` alike)
    side_bound = bound | {eq.var} if isinstance(eq, s.Series) else bound
    sides = [resolve(side, names, side_bound) for side in (eq.lhs, eq.rhs)]
    if expand is not None:
        sides = [expand(side) for side in sides]
    decl = replace(decl, equation=replace(eq, lhs=sides[0], rhs=sides[1]))
    expected = Expected.REFUTED if decl.expect_refuted else Expected.UNDEFINED if decl.expect_undefined \
        else Expected.PROVED
    series = None
    if isinstance(decl.equation, s.Series):
        eq = decl.equation
        if scope.kind != "scalar":
            raise DeriveDeclarationError("a series claim (≈ … at … order …) is about functions of a variable: "
                                         "state it outside graph and network blocks", eq.pos)
        if eq.order < 1:
            raise DeriveDeclarationError("the order of a series claim must be at least 1", eq.pos)
        if scope.is_function(eq.var) or eq.var in CONSTANTS:
            raise DeriveDeclarationError(f"'{eq.var}' is not a variable", eq.pos)
        if eq.var in bound:
            raise DeriveDeclarationError(f"'{eq.var}' is a quantifier of this rule: the series variable needs "
                                         f"a name of its own", eq.pos)
        point = resolve(eq.point, names, bound)
        _validate(point, scope, set())
        series = (eq.var, point, eq.order)
    rule = Rule(decl.name, quantifiers, decl.equation.lhs, decl.equation.rhs, expected, decl.pos, context, series)
    ranges = {} if scope.network is None or not quantifiers else \
        _layer_ranges([rule.lhs, rule.rhs], quantifiers, scope.network, scope.layer_env)
    for assignment in rule.layer_assignments:
        inner = Scope(scope.kind, scope.functions, scope.graph, scope.network, dict(scope.layer_env, **assignment),
                      quantifiers, ranges)
        _validate(rule.lhs, inner, set())
        _validate(rule.rhs, inner, set())
    return rule


def _sizes(exprs: tuple, what: str) -> tuple:
    sizes = []
    for e in exprs:
        if not isinstance(e, s.Num) or e.value.denominator != 1:
            raise DeriveDeclarationError(f"{what}: a layer size must be a positive whole number", e.pos)
        if e.value < 1:
            raise DeriveDeclarationError(f"{what}: a layer size must be at least 1, not {e.value}", e.pos)
        sizes.append(within(int(e.value), "size", f"{what}: a layer width of", e.pos))
    return tuple(sizes)


def _sum_within_limits(expr: s.Summation, scope: Scope) -> None:
    """Refuse a Σ with more terms than limits.LIMITS["instances"], where its range is known here."""
    if expr.low is None or expr.high is None:
        return
    try:
        terms = int_value(expr.high, scope.layer_env, "") - int_value(expr.low, scope.layer_env, "") + 1
    except DeriveError:
        return  # a bound that depends on an index bound further out: evaluated later, under the time limit
    within(terms, "instances", "a sum Σ would have a number of terms of", expr.pos)


def _network_within_limits(sizes: tuple, what: str, pos: Pos) -> None:
    """Refuse, before anything is compiled, a network too large to check (limits.LIMITS)."""
    for layer in range(1, len(sizes)):
        within(sizes[layer] * sizes[layer - 1], "entries", f"{what} {', '.join(map(str, sizes))}: W^{layer} would "
               f"have {sizes[layer]}×{sizes[layer - 1]} entries, that is", pos)
    scalars = sizes[0] + sizes[-1] + sum(sizes[i] * sizes[i - 1] + 4 * sizes[i] for i in range(1, len(sizes)))
    within(scalars, "scalars", f"{what} {', '.join(map(str, sizes))}: the network's scalar quantities "
           f"(x, y, W^l, b^l, z^l, a^l, δ^l) would number", pos)


def default_also_sizes(sizes: tuple) -> tuple:
    """A second, different size set for rules that must hold at every size: each layer
    one wider when small, one narrower when large (keeps the cost bounded)."""
    return tuple(n + 1 if n < 3 else n - 1 for n in sizes)


def _network(decl: s.NetworkDecl, functions: dict) -> Network:
    sizes = also = None
    activations: dict[int, str] = {}
    loss = None
    aliases: dict = {}
    assumptions = []
    rule_decls = []
    also_given = False
    also_pos = decl.pos
    for item in decl.items:
        if isinstance(item, (s.LayersDecl, s.LossDecl, s.AlsoLayersDecl)):
            what = {s.LayersDecl: "layers", s.LossDecl: "loss", s.AlsoLayersDecl: "also layers"}[type(item)]
            if any(isinstance(other, type(item)) for other in decl.items[:decl.items.index(item)]):
                raise DeriveDeclarationError(f"network {decl.name} declares its {what} twice", item.pos)
        if isinstance(item, s.LayersDecl):
            sizes = _sizes(item.sizes, "layers")
            if len(sizes) < 2:
                raise DeriveDeclarationError("a network needs at least an input and an output layer", item.pos)
            _network_within_limits(sizes, "layers", item.pos)
        elif isinstance(item, s.AlsoLayersDecl):
            also_given, also_pos = True, item.pos
            also = None if item.sizes is None else _sizes(item.sizes, "also layers")
            if also is not None and len(also) > 1:
                _network_within_limits(also, "also layers", item.pos)
        elif isinstance(item, s.LossDecl):
            loss = item
        elif isinstance(item, s.AliasDecl):
            if item.params is not None:
                raise DeriveDeclarationError("a `let` with scripts (let δ^t = …) belongs in a graph block; a network "
                                             "already has δˡ", item.pos)
            if item.name in aliases:
                raise DeriveDeclarationError(f"'{item.name}' is defined twice", item.pos)
            aliases[item.name] = item
        elif isinstance(item, s.Assumption):
            assumptions.append(item.equation)
        elif isinstance(item, s.RuleDecl):
            rule_decls.append(item)
    if sizes is None:
        raise DeriveDeclarationError(f"network {decl.name} declares no layers (add e.g. `layers 2, 3, 2`)", decl.pos)
    depth = len(sizes) - 1
    # L names the last layer, unless the file names its loss L (as some courses do):
    # then layers are written as numbers.
    env = {} if loss is not None and loss.name == "L" else {"L": depth}
    names = _network_names(decl.name, loss, env, functions)
    for item in aliases.values():
        check_declared_name(item.name, item.pos, names, "the `let` name")
        if item.name in names.declared:
            raise DeriveDeclarationError(f"`let {item.name}` would hide {names.declared[item.name]}: "
                                         f"choose another name", item.pos)
    for item in aliases.values():
        names.declared[item.name] = f"the `let` name {item.name} (line {item.pos.line})"
    lets = {name: replace(item, expr=_let_body(item, names, frozenset(env))) for name, item in aliases.items()}
    _expand_lets(lets)  # a cycle is bad input; a network's `let`s are read where they are used
    aliases = {name: item.expr for name, item in lets.items()}
    for item in decl.items:
        if isinstance(item, s.ActivationDecl):
            if item.func not in functions and item.func not in BUILTIN_FUNCTIONS:
                raise DeriveNameError(f"unknown activation function '{item.func}'", item.pos)
            arity = len(functions[item.func].params) if item.func in functions else BUILTIN_FUNCTIONS[item.func]
            # A second argument is a per-unit parameter γˡⱼ, learned like bˡ (PReLU).
            if arity not in (1, 2) or item.func in ("sum", "norm", "max", "min", "grad", "diff", "kronecker"):
                raise DeriveDeclarationError(f"'{item.func}' is not an activation function (it must take one "
                                             f"argument, or two: the second a per-unit parameter γ)", item.pos)
            low = 1 if item.low is None else int_value(item.low, env, "a layer index")
            high = depth if item.high is None else int_value(item.high, env, "a layer index")
            for bound, e in ((low, item.low), (high, item.high)):
                if not 1 <= bound <= depth:
                    raise DeriveDeclarationError(f"layer index out of range: {bound} (layers are 1..{depth})",
                                                 (e.pos if e is not None else item.pos))
            for layer in range(low, high + 1):
                activations[layer] = item.func
    missing = [layer for layer in range(1, depth + 1) if layer not in activations]
    if missing:
        raise DeriveDeclarationError(f"network {decl.name}: no activation for layer(s) "
                                     f"{', '.join(map(str, missing))} (add e.g. `activation σ`)", decl.pos)
    if loss is None:
        raise DeriveDeclarationError(f"network {decl.name} declares no loss (add e.g. `loss C = ½‖y − aᴸ‖²`)",
                                     decl.pos)
    if also is not None and len(also) != len(sizes):
        raise DeriveDeclarationError(f"also layers must list {len(sizes)} sizes, as layers does "
                                     f"(rules may name layers by number)", also_pos)
    if not also_given:
        also = default_also_sizes(sizes)
    if also == sizes:
        also = None
    whole = frozenset(env)
    assumptions = [replace(a, lhs=resolve(a.lhs, names, whole), rhs=resolve(a.rhs, names, whole))
                   for a in assumptions]
    net = Network(decl.name, sizes, also, tuple(activations[i] for i in range(1, depth + 1)), loss.name,
                  resolve(loss.expr, names, whole), aliases, tuple(assumptions), (), decl.pos)
    scope = Scope("network", functions, network=net, layer_env=env)
    _validate(net.loss, scope, set())
    _no_derivatives(net.loss, "a loss")
    for a in assumptions:
        _validate(a.lhs, scope, set())
        _validate(a.rhs, scope, set())
        for side in (a.lhs, a.rhs):
            _of_inputs(side, _network_derived(net, env), "x, y, Wˡ, bˡ" + (", γˡ" if any(
                BUILTIN_FUNCTIONS.get(f) == 2 or (f in functions and len(functions[f].params) == 2)
                for f in net.activations) else ""))
    for expr in aliases.values():
        _validate(expr, scope, set())
    rules = tuple(_rule(r, scope, decl.name, names) for r in rule_decls)
    return Network(net.name, net.sizes, net.also_sizes, net.activations, net.loss_name, net.loss, net.aliases,
                   net.assumptions, rules, net.pos)


def _first_derived(expr: s.Expr, derived) -> str | None:
    """The first thing in `expr` that `derived` names (a computed quantity, a derivative), or None."""
    if isinstance(expr, s.Partial) or (isinstance(expr, s.Call) and expr.func in ("grad", "diff")):
        return "a derivative"
    found = derived(expr)
    if found is not None:
        return found
    for child in s.children(expr):
        found = _first_derived(child, derived)
        if found is not None:
            return found
    return None


def _of_inputs(expr: s.Expr, derived, inputs: str) -> None:
    """An `assume` equation relates inputs only (assume Σ y = 1): the inputs are what the
    checks sample, and an assumption solves for one of them. A computed quantity (zˡ, aˡ,
    δˡ, the loss, a graph node), a `let` standing for one, or a derivative is bad input."""
    def walk(e: s.Expr) -> None:
        found = "a derivative" if isinstance(e, s.Partial) or (isinstance(e, s.Call) and e.func in ("grad", "diff")) \
            else derived(e)
        if found is not None:
            raise DeriveDeclarationError(f"an assumption relates inputs only (here: {inputs}), and this is "
                                         f"{found}: state what follows from the inputs as a rule, and assume "
                                         f"only facts about the inputs, as in assume Σ y = 1", e.pos)
        for child in s.children(e):
            walk(child)

    walk(expr)


def _network_derived(net: "Network", env: dict):
    """`derived` for a network's assumptions: aˡ (l ≥ 1), zˡ, δˡ and the loss are computed,
    x, y, Wˡ, bˡ, γˡ (and a⁰ = x) are inputs; a `let` is what it stands for."""
    def derived(e: s.Expr) -> str | None:
        if isinstance(e, s.Sup) and isinstance(e.base, s.Name) and e.base.id in LAYERED:
            kind = LAYERED[e.base.id]
            layer = int_value(e.arg, env, "a layer index")
            if kind in ("z", "δ") or (kind == "a" and layer != 0):
                return f"{e.base.id}^{layer}, which the network computes"
            return None
        if isinstance(e, s.Name) and e.id == net.loss_name:
            return f"the loss {e.id}"
        if isinstance(e, s.Name) and e.id in net.aliases:
            inner = _first_derived(net.aliases[e.id], derived)
            return None if inner is None else f"the `let` name {e.id}, which stands for {inner}"
        return None

    return derived


def _network_names(network: str, loss, env: dict, functions: dict) -> Names:
    """The names a network declares: x, y, its quantities (aˡ, zˡ, Wˡ/wˡⱼₖ, bˡ, δˡ, γˡ), L, the loss."""
    declared = {"x": "the network's input x", "y": "the network's target y"}
    for q in NETWORK_QUANTITIES:
        declared[q] = f"the network quantity {q}ˡ"
    hints = {q: f"{q} is a network quantity ({q}ˡ); name it differently" for q in NETWORK_QUANTITIES}
    if "L" in env:
        declared["L"] = "the network's last layer L"
        hints["L"] = "L is the network's last layer; name the {what} l"
    if loss is not None:
        if loss.name in declared and loss.name != "L":
            raise DeriveDeclarationError(f"the loss cannot be named {loss.name}: that is {declared[loss.name]}",
                                         loss.pos)
        names = Names("network", functions)
        check_declared_name(loss.name, loss.pos, names, "the loss name")
        declared[loss.name] = f"the loss {loss.name}"
    return Names("network", functions, declared, frozenset(env), hints)


def _let_body(alias: s.AliasDecl, names: Names, bound: frozenset) -> s.Expr:
    """A `let` body with its names resolved; an index it leaves free would be captured by the
    rule that uses it (Σ_j p with `let p = a_j`), so every index must be bound in the body."""
    body = resolve(alias.expr, names, bound)
    free = unbound_names(body, names, bound)
    if free:
        raise DeriveDeclarationError(f"'{free[0].id}' is free in `let {alias.name}`: a `let` body may use only "
                                     f"declared names, its own scripts and the indices it sums over"
                                     + (f" (give it a script: let {alias.name}_{free[0].id} = … or "
                                        f"let {alias.name}^{free[0].id} = …)" if names.kind == "graph" else ""),
                                     free[0].pos)
    return body


def _assignments(quantifiers: tuple, env: dict) -> list:
    """Every combination of values of declaration quantifiers (later bounds may use earlier variables)."""
    out: list = [{}]
    for q in quantifiers:
        grown: list = []
        for a in out:
            inner = dict(env, **a)
            low = int_value(q.low, inner, "a quantifier bound")
            high = int_value(q.high, inner, "a quantifier bound")
            if low > high:
                raise DeriveDeclarationError(f"empty range {low}..{high} for {q.var}", q.pos)
            within(len(grown) + high - low + 1, "instances", "the quantifiers would take a number of values of",
                   q.pos)
            grown.extend(dict(a, **{q.var: v}) for v in range(low, high + 1))
        out = grown
    return out


def _target_indices(target: s.Target) -> tuple:
    if two_scripts(target.raw):  # as in expressions (derive.resolve): z_ij is entry (i, j)
        return s.script_indices(target)
    return target.indices


def _expand_aliases(expr: s.Expr, aliases: dict) -> s.Expr:
    """Replace each use of a `let` alias by its definition, binding its script parameters:
    with `let δ^t = ∂L/∂z^t`, δ^{t+1}_j reads ∂L/∂z^{t+1} indexed by j."""
    def params(alias: s.AliasDecl) -> tuple:
        p = alias.params
        if p is None:
            return None, ()
        return p.member, _target_indices(p)

    def bind(alias: s.AliasDecl, member, indices: tuple, where: s.Expr) -> s.Expr:
        want_member, want_indices = params(alias)
        names: dict = {}
        if (want_member is None) != (member is None) or (indices and len(indices) != len(want_indices)):
            raise DeriveDeclarationError(f"'{alias.name}' is defined with other scripts (line {alias.pos.line}): "
                                         f"write them as in its definition", where.pos)
        if want_member is not None:
            names[want_member.id] = member
        for param, value in zip(want_indices, indices):
            names[param.id] = value
        return s.substitute(alias.expr, names)

    def walk(e: s.Expr) -> s.Expr:
        if isinstance(e, s.Sub):
            head, name, member = e.base, None, None
            if isinstance(head, s.Sup) and isinstance(head.base, s.Name) and head.base.id in aliases:
                name, member = head.base.id, walk(head.arg)
            elif isinstance(head, s.Name) and head.id in aliases:
                name = head.id
            if name is not None:
                alias = aliases[name]
                wanted = params(alias)[1]
                if not wanted:  # δ^t_j, p_j: the alias is a whole quantity; index its expansion
                    return s.Sub(bind(alias, member, (), head), tuple(walk(i) for i in e.items), e.raw, e.pos)
                items = s.script_indices(e) if e.raw is not None and len(e.raw) == 2 and len(e.items) == 1 \
                    and len(wanted) == 2 else e.items
                return bind(alias, member, tuple(walk(i) for i in items), e)
        if isinstance(e, s.Sup) and isinstance(e.base, s.Name) and e.base.id in aliases \
                and params(aliases[e.base.id])[0] is not None:
            return bind(aliases[e.base.id], walk(e.arg), (), e)
        if isinstance(e, s.Name) and e.id in aliases:
            alias = aliases[e.id]
            if params(alias) != (None, ()):
                raise DeriveDeclarationError(f"'{alias.name}' is defined with scripts (line {alias.pos.line}): "
                                             f"write them, as in its definition", e.pos)
            return alias.expr
        return s.map_children(e, walk)

    return walk(expr)


def _graph_names(decl: s.GraphDecl, functions: dict, sizes: dict) -> Names:
    """The names a graph declares (sizes, inputs, nodes, `let`s), none named like a built-in."""
    names = Names("graph", functions, {}, frozenset(sizes))
    where = f"graph {decl.name}"
    declared = (("size", decl.sizes), ("input", decl.inputs), ("node", decl.nodes), ("`let` name", decl.aliases))
    for what, items in declared:
        for item in items:
            check_declared_name(item.name, item.pos, names, f"the {what}")
            if what == "`let` name" and item.name in names.declared:
                raise DeriveDeclarationError(f"`let {item.name}` would hide {names.declared[item.name]}: "
                                             f"choose another name", item.pos)
            if what == "size" or item.name not in names.declared:
                names.declared[item.name] = f"{'an' if what == 'input' else 'a'} {what} of {where}"
    return names


def _expand_lets(aliases: dict) -> dict:
    """Each `let` body with the `let`s it uses expanded (a `let` may use another; a cycle is bad input)."""
    done: dict = {}

    def expand(name: str, stack: tuple) -> None:
        if name in done:
            return
        alias = aliases[name]
        if name in stack:
            raise DeriveDeclarationError(f"`let {name}` is defined through itself ("
                                         + " → ".join(stack[stack.index(name):] + (name,)) + ")", alias.pos)
        for used in sorted(s.names_in(alias.expr) & set(aliases)):
            expand(used, stack + (name,))
        done[name] = replace(alias, expr=_expand_aliases(alias.expr, done))

    for name in aliases:
        expand(name, ())
    return {name: done[name] for name in aliases}


def _graph(decl: s.GraphDecl, functions: dict) -> Graph:
    sizes: dict = {}
    for size in decl.sizes:
        if size.name in sizes:
            raise DeriveDeclarationError(f"size '{size.name}' declared twice", size.pos)
        value = int_value(size.expr, sizes, "a size")
        if value < 1:
            raise DeriveDeclarationError(f"a size must be at least 1, not {value}", size.pos)
        sizes[size.name] = within(value, "size", f"size {size.name} =", size.pos)
    names = _graph_names(decl, functions, sizes)
    size_names = frozenset(sizes)
    aliases: dict = {}
    for alias in decl.aliases:
        if alias.name in aliases:
            raise DeriveDeclarationError(f"'{alias.name}' is defined twice", alias.pos)
        params: frozenset = frozenset()
        for param in ([alias.params.member] if alias.params and alias.params.member is not None else []) + \
                list(_target_indices(alias.params) if alias.params else ()):
            if not isinstance(param, s.Name):
                raise DeriveDeclarationError("the scripts of a `let` name must be single names, as in "
                                             "let δ^t = ∂L/∂z^t", param.pos)
            check_binder(param.id, param.pos, names, f"`let {alias.name}` script", params | size_names)
            params |= {param.id}
        aliases[alias.name] = replace(alias, expr=_let_body(alias, names, size_names | params))
    aliases = _expand_lets(aliases)

    def member_of(target: s.Target, env: dict):
        return None if target.member is None else int_value(target.member, env, "a member index")

    inputs: list = []
    entries = 0  # of every input so far (limits.LIMITS["scalars"])
    seen: dict = {}  # (name, member) → {entry (None: whole) → "input" | "node"}

    def claim(name: str, member, entry, pos: Pos, kind: str) -> None:
        """Each quantity, member and entry is declared once (a whole quantity, or entry by entry)."""
        claimed = seen.setdefault((name, member), {})
        # the same entry again, any entry of a quantity declared whole, or the whole of one declared by entries
        clashes = [k for k in ((entry, None) if entry is not None else claimed) if k in claimed]
        if clashes:
            what = name + (f"^{member}" if member is not None else "") + \
                (f"_{','.join(map(str, entry))}" if entry else "")
            twice = "declared twice" if kind == claimed[clashes[0]] == "input" else "already defined"
            raise DeriveDeclarationError(f"'{what}' is {twice} in graph {decl.name}", pos)
        if name in sizes or name in aliases:
            raise DeriveDeclarationError(f"'{name}' is already a size or a `let` name in graph {decl.name}", pos)
        claimed[entry] = kind

    def bound_by(quantifiers: tuple) -> frozenset:
        """Sizes and a declaration's quantifier variables, each checked not to hide a name."""
        bound = size_names
        for q in quantifiers:
            check_binder(q.var, q.pos, names, "quantifier", bound)
            bound |= {q.var}
        return bound

    for i in decl.inputs:
        bound_by(i.quantifiers)
        if i.target.indices:
            raise DeriveDeclarationError("an input is declared whole, with its shape: input x[4], W[3,2]", i.pos)
        for a in _assignments(i.quantifiers, sizes):
            env = dict(sizes, **a)
            member = member_of(i.target, env)
            shape = None
            if i.shape is not None:
                dims = [int_value(d, env, "a dimension") for d in i.shape]
                if any(d < 1 for d in dims):
                    raise DeriveDeclarationError("a dimension must be at least 1", i.pos)
                shape = (dims[0], dims[1] if len(dims) > 1 else 1)
                within(shape[0] * shape[1], "entries", f"input {i.name} would have {shape[0]}×{shape[1]} entries, "
                       f"that is", i.pos)
                entries += shape[0] * shape[1]
                within(entries, "scalars", f"graph {decl.name}: its inputs would have a number of entries of", i.pos)
                if i.value is not None:
                    raise DeriveDeclarationError("only a scalar input can be given a value", i.pos)
            claim(i.name, member, None, i.pos, "input")
            inputs.append(GraphInput(i.name, member, shape, i.value, i.pos,
                                     matrix=i.shape is not None and len(i.shape) > 1))
    # Definitions are equations (their order does not matter), so every declared name is
    # known in every definition; graphs.compile_graph orders them and reports cycles.
    declared = Graph(decl.name, tuple(inputs), tuple(
        GraphNode(n.name, None if n.target.member is None else 0, None, n.expr, {}, n.pos) for n in decl.nodes),
        (), (), decl.pos, sizes)
    nodes: list = []
    for n in decl.nodes:
        expr = _expand_aliases(resolve(n.expr, names, bound_by(n.quantifiers)), aliases)
        # In a graph, what validation checks does not depend on the quantifiers' values.
        _validate(expr, Scope("graph", functions, graph=declared,
                              layer_env=dict(sizes, **{q.var: 0 for q in n.quantifiers})), set())
        _no_derivatives(expr, "a graph node")
        for a in _assignments(n.quantifiers, sizes):
            env = dict(sizes, **a)
            member = member_of(n.target, env)
            indices = _target_indices(n.target)
            entry = tuple(int_value(ix, env, "an index") for ix in indices) or None
            if entry is not None and (len(entry) > 2 or min(entry) < 1):
                raise DeriveDeclarationError("an entry is written name_i or name_{i,j}, with indices from 1",
                                             n.target.pos)
            claim(n.name, member, entry, n.pos, "node")
            nodes.append(GraphNode(n.name, member, entry, expr, env, n.pos))
    node_names = {n.name for n in decl.nodes}
    input_names = ", ".join(dict.fromkeys(i.name for i in decl.inputs)) or "none"

    def derived(e: s.Expr) -> str | None:
        """What a graph's node or `let` used in an assumption is (None: it relates inputs only)."""
        if isinstance(e, s.Name) and e.id in node_names:
            return f"the node {e.id}, which the graph computes"
        if isinstance(e, s.Name) and e.id in aliases:
            inner = _first_derived(aliases[e.id].expr, derived)
            return None if inner is None else f"the `let` name {e.id}, which stands for {inner}"
        return None

    def expanded(eq: s.Equation) -> s.Equation:
        sides = [resolve(side, names, size_names) for side in (eq.lhs, eq.rhs)]
        for side in sides:
            _of_inputs(side, derived, input_names)
        lhs, rhs = (_expand_aliases(side, aliases) for side in sides)
        _validate(lhs, Scope("graph", functions, graph=declared, layer_env=dict(sizes)), set())
        _validate(rhs, Scope("graph", functions, graph=declared, layer_env=dict(sizes)), set())
        return s.Equation(lhs, rhs, eq.pos)

    graph = Graph(decl.name, tuple(inputs), tuple(nodes), tuple(expanded(a.equation) for a in decl.assumptions), (),
                  decl.pos, sizes)
    scope = Scope("graph", functions, graph=graph, layer_env=dict(sizes))
    rules = [_rule(r, scope, decl.name, names, lambda e: _expand_aliases(e, aliases)) for r in decl.rules]
    shown = tuple(i for i in decl.items if isinstance(i, (s.SizeDecl, s.InputDecl, s.NodeDecl, s.AliasDecl)))
    return Graph(graph.name, graph.inputs, graph.nodes, graph.assumptions, tuple(rules), decl.pos, sizes, shown)


def build(tree: s.SourceFile, filename: str = "<input>") -> Document:
    """Build the validated model of one parsed file."""
    doc = Document(filename)
    seen_rules: dict = {}

    def note_rule(rule_decl: s.RuleDecl, where: str) -> None:
        if not rule_decl.name.strip():
            raise DeriveDeclarationError("a rule needs a name", rule_decl.pos)
        key = (where, rule_decl.name)
        if key in seen_rules:
            raise DeriveDeclarationError(f"rule '{rule_decl.name}' is defined twice (first at line "
                                         f"{seen_rules[key].line})", rule_decl.pos)
        seen_rules[key] = rule_decl.pos

    blocks: dict = {}
    taken = _block_names(tree)
    for stmt in tree.statements:
        if isinstance(stmt, (s.GraphDecl, s.NetworkDecl)):
            if stmt.name in blocks:  # rules name their block, so block names must be unique
                raise DeriveDeclarationError(f"the name '{stmt.name}' is used twice: it already names a "
                                             f"{blocks[stmt.name][0]} (line {blocks[stmt.name][1].line})", stmt.pos)
            blocks[stmt.name] = ("graph" if isinstance(stmt, s.GraphDecl) else "network", stmt.pos)
        if isinstance(stmt, s.FunctionDecl):
            at = stmt.name_pos or stmt.pos
            if stmt.name in doc.functions:
                raise DeriveDeclarationError(f"function '{stmt.name}' is defined twice", at)
            param_pos = stmt.param_pos or (stmt.pos,) * len(stmt.params)
            for i, param in enumerate(stmt.params):
                if param in stmt.params[:i]:
                    raise DeriveDeclarationError(f"the parameter name '{param}' is repeated: give each parameter "
                                                 f"a name of its own", param_pos[i])
            names = Names("scalar", dict(doc.functions))
            for param, where in zip(stmt.params, param_pos):
                if param == stmt.name or spellings(param) & spellings(stmt.name):
                    raise DeriveDeclarationError(f"the parameter '{param}' would hide the function {stmt.name} "
                                                 f"itself: choose another name for the parameter", where)
                check_binder(param, where, names, "parameter")
            if stmt.name in CONSTANTS:
                raise DeriveDeclarationError(f"a function cannot be named {stmt.name}: it is the constant π", at)
            for spelling in sorted(spellings(stmt.name), key=lambda n: n != stmt.name):
                if spelling in taken:
                    raise DeriveDeclarationError(f"a function cannot be named {stmt.name}: {spelling} is "
                                                 f"{taken[spelling]} (functions are named for the whole file): "
                                                 f"name the function differently, e.g. {stmt.name}fn", at)
            if stmt.name in STRUCTURAL_FUNCTIONS:
                raise DeriveDeclarationError(f"'{stmt.name}' is built in with a meaning of its own (derive reads "
                                             f"{stmt.name}(…) itself): choose another name", at)
            if stmt.body is None:  # `function f(t)`: any differentiable function, never a built-in
                if any(n in BUILTIN_FUNCTIONS for n in spellings(stmt.name)):
                    raise DeriveDeclarationError(f"a function with no body is any differentiable function, so it "
                                                 f"cannot take the name of the built-in {stmt.name}: name it "
                                                 f"differently, e.g. f", at)
                fn = Function(stmt.name, stmt.params, None, at)
            else:
                body = resolve(stmt.body, names, frozenset(stmt.params))
                fn = Function(stmt.name, stmt.params, body, at, builtin=stmt.name in BUILTIN_FUNCTIONS)
                body_scope = Scope("scalar", dict(doc.functions))
                _validate(body, body_scope, set(stmt.params))
                _check_closed(body, set(stmt.params), body_scope)
            # σ and sigma are one name: the definition is both (the spelling written first)
            for spelling in sorted(spellings(stmt.name), key=lambda n: n != stmt.name):
                if spelling != stmt.name and spelling in doc.functions:
                    raise DeriveDeclarationError(f"function '{stmt.name}' is defined twice ('{spelling}' is "
                                                 f"another spelling of it)", at)
                doc.functions[spelling] = replace(fn, name=spelling)
        elif isinstance(stmt, s.RuleDecl):
            note_rule(stmt, "")
            if any(isinstance(t, s.NetworkDecl) for t in tree.statements):
                _not_a_network_rule(stmt)
            doc.rules.append(_rule(stmt, Scope("scalar", doc.functions), None, Names("scalar", doc.functions)))
        elif isinstance(stmt, s.GraphDecl):
            for r in stmt.rules:
                note_rule(r, stmt.name)
            doc.graphs[stmt.name] = _graph(stmt, dict(doc.functions))
        elif isinstance(stmt, s.NetworkDecl):
            for r in stmt.items:
                if isinstance(r, s.RuleDecl):
                    note_rule(r, stmt.name)
            _no_generic_in_network(stmt, doc.functions)
            doc.networks[stmt.name] = _network(stmt, dict(doc.functions))
    return doc


def _no_generic_in_network(net: s.NetworkDecl, functions: dict) -> None:
    """A function with no body (`function f(t)`) is for scalar rules and graphs: a network's
    activation, loss and rules may not use it yet (each would need the function's instances
    through the network's compiled form)."""
    generic = {name for name, fn in functions.items() if fn.body is None}
    if not generic:
        return

    def calls(node):
        if isinstance(node, s.Call) and node.func in generic:
            yield node.func, node.pos
        if isinstance(node, (list, tuple)):
            for item in node:
                yield from calls(item)
        elif hasattr(node, "__dataclass_fields__"):
            for name in node.__dataclass_fields__:
                yield from calls(getattr(node, name))

    for item in net.items:
        found = [(item.func, item.pos)] if isinstance(item, s.ActivationDecl) and item.func in generic else []
        for name, pos in found + list(calls(item)):
            raise DeriveDeclarationError(f"'{name}' is a function with no body (any differentiable function): "
                                         f"networks do not take one yet; give it a body, or state the rule "
                                         f"as a scalar rule or in a graph", pos)


def _block_names(tree: s.SourceFile) -> dict:
    """Every name a block of the file declares or reserves → what it is there (for messages):
    a network's x, y, quantities (aˡ, zˡ, Wˡ …), L, loss and `let`s; a graph's sizes,
    inputs, nodes and `let`s. A function (named for the whole file) may not take one."""
    taken: dict = {}
    for stmt in tree.statements:
        if isinstance(stmt, s.NetworkDecl):
            where = f"network {stmt.name}"
            losses = [i for i in stmt.items if isinstance(i, s.LossDecl)]
            names = {"x": "the input x", "y": "the target y", "L": "the last layer L"}
            names.update({q: f"the quantity {q}ˡ" for q in NETWORK_QUANTITIES})
            names.update({i.name: f"the loss {i.name}" for i in losses})
            names.update({i.name: f"the `let` name {i.name}" for i in stmt.items if isinstance(i, s.AliasDecl)})
        elif isinstance(stmt, s.GraphDecl):
            where = f"graph {stmt.name}"
            names = {}
            for what, items in (("size", stmt.sizes), ("input", stmt.inputs), ("node", stmt.nodes),
                                ("`let` name", stmt.aliases)):
                names.update({i.name: f"{'an' if what == 'input' else 'a'} {what}" for i in items})
        else:
            continue
        for name, meaning in names.items():
            taken.setdefault(name, f"{meaning} of {where}")
    return taken


def _not_a_network_rule(rule: s.RuleDecl) -> None:
    """In a file with networks, δˡ, aᴸ, … outside every block are a rule misplaced, not powers."""
    def walk(e):
        if isinstance(e, s.Sup) and isinstance(e.base, s.Name) and e.base.id in LAYERED \
                and any(isinstance(n, s.Name) and n.id in ("l", "L") for n in [e.arg, *s.children(e.arg)]):
            raise DeriveDeclarationError(f"{e.base.id}^… names a network quantity, but this rule is outside "
                                         f"every network block: move it inside the block it is about", e.pos)
        for child in s.children(e):
            walk(child)
    walk(rule.equation.lhs)
    walk(rule.equation.rhs)


def _no_derivatives(expr: s.Expr, what: str) -> None:
    """Declarations define the forward computation; derivatives belong in rules."""
    if isinstance(expr, s.Partial) or (isinstance(expr, s.Call) and expr.func in ("grad", "diff")):
        raise DeriveDeclarationError(f"{what} cannot contain ∂; state derivatives as rules", expr.pos)
    for child in s.children(expr):
        _no_derivatives(child, what)


def _check_closed(expr: s.Expr, params: set, scope: Scope) -> None:
    """A function body may use only its parameters (no free variables)."""
    if isinstance(expr, s.Name) and expr.id not in params and not scope.is_function(expr.id) \
            and expr.id not in CONSTANTS:
        raise DeriveNameError(f"'{expr.id}' is not a parameter of this function", expr.pos)
    if isinstance(expr, s.Sub):  # x_1 is a variable of its own, not an entry of the parameter x
        raise DeriveNameError("a subscripted name is a variable of its own, not a parameter of this function",
                              expr.pos)
    for child in s.children(expr):
        _check_closed(child, params, scope)


def load(text: str, filename: str = "<input>") -> Document:
    r"""Parse and build: the model of a .deriv text. Raises `DeriveError` on bad input.

    >>> doc = load("network n {\n layers 2, 3, 2\n activation σ\n loss C = ½‖y − aᴸ‖²\n}")
    >>> doc.networks["n"].sizes, doc.networks["n"].also_sizes
    ((2, 3, 2), (3, 2, 3))
    """
    text = unicodedata.normalize("NFC", text)  # as syntax.parse reads it: positions refer to this text
    tree = s.parse(text, filename)
    try:
        doc = build(tree, filename)
        doc.source = text
        return doc
    except DeriveError as e:
        raise e.located(filename, text if text.endswith("\n") else text + "\n") from None


__all__ = [
    "BUILTIN_FUNCTIONS",
    "LAYERED",
    "VECTOR_FUNCTIONS",
    "Document",
    "Fraction",
    "Function",
    "Graph",
    "GraphInput",
    "GraphNode",
    "Network",
    "Quantifier",
    "Rule",
    "Scope",
    "int_value",
    "load",
]
