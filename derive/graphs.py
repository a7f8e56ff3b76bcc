"""Derivation: declared forward computations → a scalar graph whose partials SymPy derives.

A network or a computation graph compiles to a `ScalarGraph`: one node per scalar
(zˡⱼ, aˡⱼ, C; or u, v, J), each defined from its parents by the declared formula.
`derive_partials` is the chain rule done mechanically, one step at a time:

    ∂T/∂n = Σ_{children c of n} ∂T/∂c · ∂c/∂n        (∂c/∂n = sympy.diff of c's definition)

`D[T, n]` stands for ∂T/∂n as an opaque symbol, so a rule that relates δˡ to δˡ⁺¹ is
checked on a small expression: expand δˡ one step and the δˡ⁺¹ symbols on both sides
meet, whatever the depth of the network (the textbook proof, done mechanically). Every
expansion is an identity, so a difference that vanishes at any stage vanishes.

Coordinates. A network's independent inputs are x, y, Wˡ, bˡ. Since bˡ ↔ zˡ is a
bijection (bˡ = zˡ − Wˡaˡ⁻¹), values are written in x, y, Wˡ, zˡ instead: aˡ = f(zˡ)
stays small, and an identity holds for every (x, W, b, y) exactly when it holds for every
(x, W, z, y). Derivatives are still those of the declared computation (∂/∂bˡ is taken
with W, x fixed, through zˡ = Wˡaˡ⁻¹ + bˡ).

The numeric side evaluates the same graph at a sample point in high precision
(forward values, then adjoints), for counterexamples and evidence; verify compares those
adjoints with central differences of the forward pass alone — an independent route that
guards the chain-rule machinery itself.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import sympy as sp

from . import numeric
from .errors import DeriveDeclarationError, Pos
from .evaluate import Evaluator, Keys, ShapeMismatch
from .functions import NOT_REAL_HINT, FunctionTable, is_not_real_comparison, not_real_value
from .kinks import substitute, without_abs
from .model import Graph, Network


@dataclass
class Node:
    key: Any
    symbol: sp.Symbol
    parents: tuple
    definition: sp.Expr | None  # in terms of the parents' symbols; None for an input
    base: sp.Expr  # value in base coordinates
    order: int
    label: str


@dataclass
class ScalarGraph:
    """Scalars and how each is computed from others; the chain rule over them."""

    functions: FunctionTable
    nodes: dict = field(default_factory=dict)  # key → Node, in topological order
    children: dict = field(default_factory=dict)
    opaque: dict = field(default_factory=dict)  # D symbol → (target, source)
    _d_symbols: dict = field(default_factory=dict)
    _partials: dict = field(default_factory=dict)
    _reach: dict = field(default_factory=dict)
    _base_map: dict | None = None
    _expanded: dict = field(default_factory=dict)
    _base_partials: dict = field(default_factory=dict)
    _by_symbol: dict = field(default_factory=dict)  # node symbol → key
    _has_pieces: bool | None = None

    def add(self, key, symbol, parents=(), definition=None, base=None, label=None) -> Node:
        node = Node(key, symbol, tuple(parents), definition, symbol if base is None else base, len(self.nodes),
                    label or str(symbol))
        if key in self.nodes:
            self._base_map = None  # a node replaced: the map is rebuilt when next needed
        self.nodes[key] = node
        self._by_symbol[symbol] = key
        self._note_base(node)
        self._has_pieces = None
        self.children[key] = []
        for p in node.parents:
            self.children[p].append(key)
        return node

    def key_of(self, symbol: sp.Symbol):
        """The key of the node whose symbol this is (None for a symbol of no node)."""
        return self._by_symbol.get(symbol)

    def keys_in(self, expr: sp.Expr) -> list:
        """The keys of the nodes whose symbols occur in `expr`, in node order."""
        return sorted((self._by_symbol[x] for x in expr.free_symbols if x in self._by_symbol),
                      key=lambda k: self.nodes[k].order)

    def set_base(self, key, base) -> None:
        self.nodes[key].base = base
        self._note_base(self.nodes[key])

    def _note_base(self, node: Node) -> None:
        """Keep the map of `to_base` up to date with one node (not rebuilt for every node
        added: compiling stays linear in the number of nodes)."""
        if self._base_map is None:
            return
        if node.base != node.symbol:
            self._base_map[node.symbol] = node.base
        else:
            self._base_map.pop(node.symbol, None)

    # ------------------------------------------------------------ chain rule

    def reaches(self, source, target) -> bool:
        """Does `target` depend on `source`?"""
        if source == target:
            return True
        memo = self._reach.setdefault(target, {})
        if source not in memo:
            memo[source] = any(self.reaches(c, target) for c in self.children[source])
        return memo[source]

    def local_partial(self, child, parent) -> sp.Expr:
        """∂child/∂parent from the child's definition, in node symbols (cached)."""
        key = (child, parent)
        if key not in self._partials:
            node = self.nodes[child]
            # |e| as a piecewise: its derivative is NaN at e = 0, not sign(0) = 0 (derive.kinks)
            definition, symbol = without_abs(node.definition), self.nodes[parent].symbol
            if isinstance(definition, sp.Add):  # term by term, only the terms that contain it
                self._partials[key] = sp.Add(*[sp.diff(term, symbol) for term in definition.args
                                               if symbol in term.free_symbols])
            else:
                self._partials[key] = sp.diff(definition, symbol)
        return self._partials[key]

    def to_base(self, expr: sp.Expr) -> sp.Expr:
        """Rewrite node symbols as their values in base coordinates."""
        if self._base_map is None:
            self._base_map = {n.symbol: n.base for n in self.nodes.values() if n.base != n.symbol}
        return expr.xreplace(self._base_map)

    def base_partial(self, child, parent) -> sp.Expr:
        """∂child/∂parent in base coordinates (cached)."""
        key = (child, parent)
        if key not in self._base_partials:
            self._base_partials[key] = self.to_base(self.local_partial(child, parent))
        return self._base_partials[key]

    def d(self, target, source) -> sp.Expr:
        """∂target/∂source as an opaque symbol (1 or 0 where that is known at once)."""
        if source == target:
            return sp.Integer(1)
        if not self.reaches(source, target):
            return sp.Integer(0)
        key = (target, source)
        if key not in self._d_symbols:
            sym = sp.Symbol(f"∂{self.nodes[target].label}/∂{self.nodes[source].label}")
            self._d_symbols[key] = sym
            self.opaque[sym] = key
        return self._d_symbols[key]

    def expand_once(self, target, source) -> sp.Expr:
        """One chain-rule step: ∂T/∂n = Σ_c ∂T/∂c · ∂c/∂n over the children c of n."""
        if source == target:
            return sp.Integer(1)
        terms = [self.d(target, c) * self.base_partial(c, source)
                 for c in self.children[source] if self.reaches(c, target)]
        return sp.Add(*terms)

    def derive_partials(self, expr: sp.Expr):
        """Yield `expr` with its opaque ∂ symbols expanded one at a time, the one farthest
        from its target first, until none is left; each yield is equal to `expr`."""
        yield expr
        while True:
            pending = [sym for sym in expr.free_symbols if sym in self.opaque]
            if not pending:
                return
            sym = min(pending, key=lambda x: self.nodes[self.opaque[x][1]].order)
            expr = expr.xreplace({sym: self.expand_once(*self.opaque[sym])})
            yield expr

    def at_given(self, stage: sp.Expr, fixed: dict) -> sp.Expr | None:
        """A stage of `derive_partials` with the given values put in (`kinks.substitute`),
        or None when that removes a ∂ symbol not yet expanded: its factor 0 at the point
        (2a at a = 0) would hide a derivative that may not exist there (∂J/∂u of a step at
        u = a² = 0), so it must be expanded, and its Kinks decided, first."""
        if not fixed:
            return stage
        substituted = substitute(stage, fixed)
        opaque = stage.free_symbols & set(self.opaque)
        return None if opaque - substituted.free_symbols else substituted

    # ------------------------------------------------------------ numbers

    def expanded(self, expr: sp.Expr) -> sp.Expr:
        """`expr` with defined functions unfolded (cached: the same partials recur)."""
        if expr not in self._expanded:
            self._expanded[expr] = self.functions.expand_definitions(expr)
        return self._expanded[expr]

    def has_pieces(self) -> bool:
        """Is some node defined piecewise (ReLU, max, `a if c else b`), functions unfolded?
        Only then can a derivative in this graph have pieces."""
        if self._has_pieces is None:
            self._has_pieces = any(self.expanded(n.definition).has(sp.Piecewise)
                                   for n in self.nodes.values() if n.definition is not None)
        return self._has_pieces

    def forward(self, inputs: dict, dps: int, ctx=numeric.MP, shift: tuple | None = None) -> dict:
        """Node symbol → value at a sample point (`inputs`: input key → exact Fraction),
        computed from the definitions alone, in mpmath context `ctx` (floating point or
        intervals). Raises numeric.Undefined where a node has no real value there.
        `shift` = (node key, exact delta) moves that node's value (an input, or an inner
        node such as zˡⱼ: what depends on it is computed from the moved value)."""
        values: dict = {}
        with numeric.precision(ctx, dps):
            for node in self.nodes.values():
                if node.definition is None:
                    value = numeric.exact(inputs[node.key], ctx)
                else:
                    value = numeric.value_at(self.expanded(node.definition), values, dps, ctx)
                    if value is None:
                        raise numeric.Undefined(f"{node.label} is undefined at this point")
                if shift is not None and node.key == shift[0]:
                    value += numeric.exact(shift[1], ctx)
                values[node.symbol] = value
        return values

    def adjoints(self, target, values: dict, dps: int, ctx=numeric.MP) -> dict:
        """∂target/∂n for every node n that target depends on, by one reverse sweep."""
        with numeric.precision(ctx, dps):
            adj = {target: ctx.mpf(1)}
            for key in reversed(list(self.nodes)):
                if key == target or not self.reaches(key, target):
                    continue
                total = ctx.mpf(0)
                for c in self.children[key]:
                    if c in adj:
                        partial = numeric.value_at(self.expanded(self.local_partial(c, key)), values, dps, ctx)
                        if partial is None:
                            raise numeric.Undefined(f"∂{self.nodes[c].label}/∂{self.nodes[key].label} is undefined")
                        total += adj[c] * partial
                adj[key] = total
        return adj

    def input_keys(self) -> list:
        return [k for k, n in self.nodes.items() if n.definition is None]


# ---------------------------------------------------------------- contexts


class _BaseContext:
    """What both contexts share: the graph, the names, the tensors of keys."""

    def __init__(self, kind: str, graph: ScalarGraph, functions: FunctionTable, tensors: dict,
                 aliases: dict | None = None, loss_name: str = "C"):
        self.kind = kind
        self.graph = graph
        self.functions = functions
        self.tensors = tensors  # (kind, layer) → Keys
        self.aliases = aliases or {}
        self.loss_name = loss_name

    def keys(self, name: str, layer, pos: Pos) -> Keys:
        key = (name, layer)
        if key not in self.tensors:
            raise DeriveDeclarationError(f"{name}^{layer} does not exist", pos)
        return self.tensors[key]

    def alias(self, name: str):
        return self.aliases.get(name)

    def is_node(self, name: str) -> bool:
        return (name, None) in self.tensors

    def is_family(self, name: str) -> bool:
        """Is `name` declared with members (hᵗ)? Then name^t is a member, not a power."""
        return self.kind == "graph" and any(k[0] == name and k[1] is not None for k in self.tensors)

    def loss_key(self):
        return "C"


class SymbolicContext(_BaseContext):
    """Atoms are base-coordinate expressions; derivatives are opaque ∂ symbols."""

    def __init__(self, *args, variables: dict | None = None, **kw):
        super().__init__(*args, **kw)
        self.variables = variables if variables is not None else {}

    def variable(self, name: str, pos: Pos) -> sp.Expr:
        if self.kind != "scalar":
            raise DeriveDeclarationError(f"unknown name '{name}'", pos)
        if name not in self.variables:
            self.variables[name] = sp.Symbol(name, real=True)
        return self.variables[name]

    def value(self, key) -> sp.Expr:
        return self.graph.nodes[key].base

    def derivative(self, target, source) -> sp.Expr:
        return self.graph.d(target, source)


# ---------------------------------------------------------------- builders


@dataclass
class Compiled:
    """A declaration compiled at one size: its graph and the tensors rules refer to."""

    kind: str
    graph: ScalarGraph
    tensors: dict
    aliases: dict
    loss_name: str
    sizes: tuple | None
    given: dict  # input key → Fraction fixed by the file (graph inputs with values)
    assumptions: dict  # input symbol → expression (solved assumptions)
    sample_ranges: dict  # input key → (low, high) for random sampling
    layer_env: dict = field(default_factory=dict)  # integer names rules are read with: L, sizes
    audit_source: Any = None  # (audit.Target, the document's functions): what derive.audit reads instead
    assumed: tuple = ()  # the `assume` equations as written, for a verdict's scope (derive.scope)
    # The chain-rule cross-check of this graph (derive.verify): None not yet done, "" passed,
    # otherwise why it failed. Done once per compiled graph, before any rule is checked on it.
    cross_checked: str | None = None

    def symbolic(self, variables: dict | None = None) -> SymbolicContext:
        return SymbolicContext(self.kind, self.graph, self.graph.functions, self.tensors, self.aliases,
                               self.loss_name, variables=variables)

    def fixed(self) -> dict:
        """Input symbols with values the file gives or its assumptions determine."""
        g = self.graph
        fixed = {g.nodes[k].symbol: sp.Rational(v.numerator, v.denominator) for k, v in self.given.items()}
        fixed.update(self.assumptions)
        return fixed

    def sample(self, rng: random.Random) -> dict:
        """Exact random inputs, honouring given values and solved assumptions."""
        point = {}
        for key in self.graph.input_keys():
            if key in self.given:
                point[key] = self.given[key]
                continue
            low, high = self.sample_ranges.get(key, (-2, 2))
            point[key] = Fraction(rng.randint(low * 10, high * 10), 10)
            if point[key] == 0:
                point[key] = Fraction(rng.choice((-3, 3)), 10)
        for sym, solution in self.assumptions.items():
            key = self.graph.key_of(sym)
            exact = solution.xreplace({self.graph.nodes[k].symbol: numeric.sympy_number(v) for k, v in point.items()})
            # kept exact (8π/5, sqrt(-2) where the assumption has no real value): a rounded
            # value would break the assumption, and a counterexample must satisfy it exactly
            point[key] = Fraction(int(exact.p), int(exact.q)) if exact.is_Rational else exact
        return point


def _layer_label(name: str, layer, i: int | None = None, j: int | None = None) -> str:
    sup = "" if layer is None else f"^{layer}"
    if i is None:
        return f"{name}{sup}"
    return f"{name}{sup}_{i}" if j is None else f"{name}{sup}_{i}{j}" if max(i, j) < 10 else f"{name}{sup}_{{{i},{j}}}"


def compile_network(net: Network, sizes: tuple, functions: FunctionTable) -> Compiled:
    """The scalar graph of a dense network at `sizes`: x, W, b → z → a → … → C."""
    g = ScalarGraph(functions)
    tensors: dict = {}
    depth = len(sizes) - 1

    def inputs(name: str, layer, n: int) -> None:
        """A column of input nodes (x, y, bˡ): one symbol per entry."""
        keys = []
        for i in range(1, n + 1):
            label = _layer_label(name, layer, i)
            keys.append(g.add((name, i) if layer is None else (name, layer, i), sp.Symbol(label, real=True),
                              label=label).key)
        tensors[(name, layer)] = Keys(n, 1, tuple(keys), name if layer is None else f"{name}^{layer}")

    inputs("x", None, sizes[0])
    tensors[("a", 0)] = Keys(sizes[0], 1, tensors[("x", None)].entries, "a^0")
    for layer in range(1, depth + 1):
        n, m = sizes[layer], sizes[layer - 1]
        w_keys = []
        for j in range(1, n + 1):
            for k in range(1, m + 1):
                label = _layer_label("w", layer, j, k)
                w_keys.append(g.add(("W", layer, j, k), sp.Symbol(label, real=True), label=label).key)
        tensors[("W", layer)] = Keys(n, m, tuple(w_keys), f"W^{layer}", matrix=True)
        inputs("b", layer, n)
        prev = tensors[("a", layer - 1)].entries
        z_keys = []
        for j in range(1, n + 1):
            label = _layer_label("z", layer, j)
            z = sp.Symbol(label, real=True)
            weighted = sp.Add(*[g.nodes[("W", layer, j, k)].symbol * g.nodes[prev[k - 1]].symbol
                                for k in range(1, m + 1)])
            b = g.nodes[("b", layer, j)].symbol
            parents = [("W", layer, j, k) for k in range(1, m + 1)] + list(prev) + [("b", layer, j)]
            # zˡ is its own base coordinate; bˡ is written through it (see module docstring).
            g.add(("z", layer, j), z, parents, weighted + b, base=z, label=label)
            g.set_base(("b", layer, j), z - g.to_base(weighted))
            z_keys.append(("z", layer, j))
        tensors[("z", layer)] = Keys(n, 1, tuple(z_keys), f"z^{layer}")
        z_syms = [g.nodes[k].symbol for k in z_keys]
        fn = net.activations[layer - 1]
        if fn == "softmax":  # every output depends on every input
            total = sp.Add(*[sp.exp(zs) for zs in z_syms])
            activated = [(sp.exp(zs) / total, z_keys) for zs in z_syms]
        elif functions.arity(fn) == 2:  # PReLU-like: a parameter γˡⱼ per unit, an input like bˡ
            inputs("γ", layer, n)
            gammas = tensors[("γ", layer)].entries
            activated = [(functions.apply(fn, [zs, g.nodes[gk].symbol]), [zk, gk])
                         for zs, zk, gk in zip(z_syms, z_keys, gammas)]
        else:
            activated = [(functions.apply(fn, [zs]), [zk]) for zs, zk in zip(z_syms, z_keys)]
        a_keys = []
        for j, (definition, parents) in enumerate(activated, start=1):
            label = _layer_label("a", layer, j)
            g.add(("a", layer, j), sp.Symbol(label, real=True), parents, definition, base=definition, label=label)
            a_keys.append(("a", layer, j))
        tensors[("a", layer)] = Keys(n, 1, tuple(a_keys), f"a^{layer}")
    inputs("y", None, sizes[-1])
    # Targets are probabilities or labels: sample them in [0, 1].
    sample_ranges = {("y", i): (0, 1) for i in range(1, sizes[-1] + 1)}
    compiled = Compiled("network", g, tensors, dict(net.aliases), net.loss_name, sizes, {}, {}, sample_ranges)

    # The loss, evaluated with aᴸ and y as node symbols, defines node C.
    loss_ctx = _DefinitionContext("network", g, functions, tensors, net.aliases, net.loss_name)
    try:
        loss = Evaluator(loss_ctx, net.integers).eval(net.loss)
    except ShapeMismatch as e:
        raise DeriveDeclarationError(f"ill-shaped loss: {e.message}", e.pos) from None
    if isinstance(loss, sp.MatrixBase):
        if loss.shape != (1, 1):
            raise DeriveDeclarationError(f"the loss must be a scalar, not a {loss.rows}×{loss.cols} matrix",
                                         net.loss.pos)
        loss = loss[0, 0]
    parents = g.keys_in(loss)
    g.add("C", sp.Symbol(net.loss_name), parents, loss, base=g.to_base(loss), label=net.loss_name)
    tensors[("C", None)] = Keys(1, 1, ("C",), net.loss_name, scalar=True)
    compiled.layer_env = dict(net.integers)
    compiled.assumptions = _solve_assumptions(net.assumptions, compiled, compiled.layer_env)
    _real_at_fixed_values(compiled, {"C": net.loss.pos})
    return compiled


def compile_graph(graph: Graph, functions: FunctionTable) -> Compiled:
    """The scalar graph of a computation graph: inputs, then nodes in declared order.

    A scalar quantity is one node (key: its name, or (name, member) in a family); a vector
    or matrix is one node per entry (key: (name, member, i, j)). A definition evaluated
    whole gives the quantity its shape; definitions entry by entry (z_p for p in 1..4)
    are gathered into a tensor once the declaration is complete."""
    g = ScalarGraph(functions)
    tensors: dict = {}
    given = {}
    for inp in graph.inputs:
        if inp.shape is None:
            key = inp.name if inp.member is None else (inp.name, inp.member)
            label = _layer_label(inp.name, inp.member)
            g.add(key, sp.Symbol(label, real=True), label=label)
            tensors[(inp.name, inp.member)] = Keys(1, 1, (key,), label, scalar=True)
            if inp.value is not None:
                given[key] = inp.value
        else:
            rows, cols = inp.shape
            _add_tensor_inputs(g, tensors, inp.name, inp.member, rows, cols, matrix=inp.matrix)
    compiled = Compiled("graph", g, tensors, {}, "", None, given, {}, {}, dict(graph.sizes))
    # Definitions are equations, not statements: z^t may use h^{t-1} declared on a later
    # line. Each is compiled once what it uses exists; none left that can be → a cycle.
    expected = Counter((n.name, n.member) for n in graph.nodes if n.entry is not None)
    gathered: dict = {}  # (name, member) → {(i, j): key}, for definitions entry by entry
    waiting = list(graph.nodes)
    where: dict = {}  # node key → the position of its definition
    while waiting:
        deferred = []
        ctx = _DefinitionContext("graph", g, functions, tensors, {}, "",
                                 later={(n.name, n.member) for n in waiting})
        for node in waiting:
            try:
                definition = Evaluator(ctx, node.env).eval(node.expr)
            except _NotYetDefined:
                deferred.append(node)
                continue
            except ShapeMismatch as e:
                raise DeriveDeclarationError(f"ill-shaped node: {e.message}", e.pos) from None
            before = len(g.nodes)
            _define(g, tensors, node, definition, gathered, expected)
            where.update((key, node.pos) for key in list(g.nodes)[before:])
        if len(deferred) == len(waiting):
            node = deferred[0]
            raise DeriveDeclarationError(f"{_layer_label(node.name, node.member)} cannot be computed: its "
                                         f"definition depends on itself (a cycle of definitions)", node.pos)
        waiting = deferred
    compiled.assumptions = _solve_assumptions(graph.assumptions, compiled, compiled.layer_env)
    _real_at_fixed_values(compiled, where)
    return compiled


def _real_at_fixed_values(compiled: Compiled, where: dict) -> None:
    """Every comparison in a definition must stay one of real numbers once the values the
    file fixes (`input a = -1`, an `assume`) are put in: with a = -1, `u = a if sqrt(a) > 0
    else 0` compares I, which means nothing. Bad input at the definition (`where`: key → Pos)."""
    fixed = compiled.fixed()
    if not fixed:
        return
    g = compiled.graph
    for key, pos in where.items():
        node = g.nodes.get(key)
        if node is None or node.definition is None:
            continue
        value = g.expanded(node.base)
        if not value.has(sp.Piecewise):
            continue
        try:
            value.xreplace(fixed)
        except TypeError as e:
            if not is_not_real_comparison(e):
                raise
            shown = ", ".join(f"{sym} = {v}" for sym, v in fixed.items() if sym in value.free_symbols)
            raise DeriveDeclarationError(f"with the values this file gives ({shown}), a comparison in this "
                                         f"definition compares a value that is {not_real_value(e)}: "
                                         f"{NOT_REAL_HINT}", pos) from None


def _define(g: ScalarGraph, tensors: dict, node, definition, gathered: dict, expected: Counter) -> None:
    """Add the scalar nodes of one compiled definition (a whole quantity or one entry)."""
    quantity = (node.name, node.member)
    if node.entry is not None:
        if isinstance(definition, sp.MatrixBase):
            if definition.shape != (1, 1):
                raise DeriveDeclarationError(f"an entry must be a scalar, not a {definition.rows}×"
                                             f"{definition.cols} matrix", node.expr.pos)
            definition = definition[0, 0]
        i, j = node.entry if len(node.entry) == 2 else (node.entry[0], None)
        label = _layer_label(node.name, node.member, i, j)
        key = (node.name, node.member, i, j or 1)
        _add_defined(g, key, label, definition)
        gathered.setdefault(quantity, {})[(i, j or 1)] = key
        if len(gathered[quantity]) == expected[quantity]:  # the last entry: the tensor is complete
            _gather_entries(tensors, quantity, gathered.pop(quantity), node)
        return
    label = _layer_label(node.name, node.member)
    if isinstance(definition, sp.MatrixBase):
        keys = []
        for i in range(1, definition.rows + 1):
            for j in range(1, definition.cols + 1):
                key = (node.name, node.member, i, j)
                entry_label = _layer_label(node.name, node.member, i, j if definition.cols > 1 else None)
                _add_defined(g, key, entry_label, definition[i - 1, j - 1])
                keys.append(key)
        tensors[quantity] = Keys(definition.rows, definition.cols, tuple(keys), label)
    else:
        scalar_key = node.name if node.member is None else quantity
        _add_defined(g, scalar_key, label, definition)
        tensors[quantity] = Keys(1, 1, (scalar_key,), label, scalar=True)


def _add_tensor_inputs(g: ScalarGraph, tensors: dict, name: str, member, rows: int, cols: int,
                       matrix: bool = False) -> None:
    keys = []
    for i in range(1, rows + 1):
        for j in range(1, cols + 1):
            label = _layer_label(name, member, i, j if cols > 1 else None)
            keys.append(g.add((name, member, i, j), sp.Symbol(label, real=True), label=label).key)
    tensors[(name, member)] = Keys(rows, cols, tuple(keys), _layer_label(name, member), matrix=matrix)


def _add_defined(g: ScalarGraph, key, label: str, definition: sp.Expr) -> None:
    parents = g.keys_in(definition)
    g.add(key, sp.Symbol(label, real=True), parents, definition, base=g.to_base(definition), label=label)


def _gather_entries(tensors: dict, quantity: tuple, entries: dict, node) -> None:
    """The tensor defined entry by entry: every entry of its rows × cols must be there."""
    rows = max(i for i, _ in entries)
    cols = max(j for _, j in entries)
    missing = [(i, j) for i in range(1, rows + 1) for j in range(1, cols + 1) if (i, j) not in entries]
    label = _layer_label(*quantity)
    if missing:
        i, j = missing[0]
        raise DeriveDeclarationError(f"{label} is defined entry by entry, but {label}_{i}"
                                     f"{'' if cols == 1 else ',' + str(j)} is missing "
                                     f"({len(missing)} of {rows * cols} missing)", node.pos)
    keys = tuple(entries[(i, j)] for i in range(1, rows + 1) for j in range(1, cols + 1))
    tensors[quantity] = Keys(rows, cols, keys, label)


class _NotYetDefined(Exception):
    """A definition uses a quantity whose own definition is still waiting to be compiled."""


class _DefinitionContext(_BaseContext):
    """While compiling: atoms are the node symbols themselves (definitions refer to parents)."""

    def __init__(self, *args, later: set | frozenset = frozenset(), **kw):
        super().__init__(*args, **kw)
        self.later = later  # (name, member) of definitions not compiled yet

    def keys(self, name: str, layer, pos: Pos) -> Keys:
        if (name, layer) not in self.tensors and (name, layer) in self.later:
            raise _NotYetDefined(name, layer)
        return super().keys(name, layer, pos)

    def is_node(self, name: str) -> bool:
        return super().is_node(name) or (name, None) in self.later

    def is_family(self, name: str) -> bool:
        return super().is_family(name) or any(k[0] == name and k[1] is not None for k in self.later)

    def variable(self, name, pos):
        raise DeriveDeclarationError(f"unknown name '{name}'", pos)

    def value(self, key):
        return self.graph.nodes[key].symbol

    def derivative(self, target, source):
        raise DeriveDeclarationError("a declaration cannot contain a derivative; state it as a rule")


def _solve_assumptions(equations: tuple, compiled: Compiled, layer_env: dict) -> dict:
    """Solve each assumption (e.g. Σy = 1) for one input it is linear in: that input is then
    determined by the others, in proofs and in sampling alike."""
    solved: dict = {}
    g = compiled.graph
    for eq in equations:
        ctx = _DefinitionContext(compiled.kind, g, g.functions, compiled.tensors, compiled.aliases,
                                 compiled.loss_name)
        ev = Evaluator(ctx, layer_env)
        try:
            lhs, rhs = ev.eval(eq.lhs), ev.eval(eq.rhs)
        except ShapeMismatch as e:  # assume y_3 = 0 where y has two entries
            at = f" at sizes {','.join(map(str, compiled.sizes))}" if compiled.sizes else ""
            raise DeriveDeclarationError(f"this assumption does not fit{at}: {e.message}", e.pos) from None
        if isinstance(lhs, sp.MatrixBase) or isinstance(rhs, sp.MatrixBase):
            raise DeriveDeclarationError("an assumption must be a scalar equation", eq.pos)
        residual = (lhs - rhs).xreplace(solved)
        inputs = [g.nodes[k].symbol for k in reversed(g.input_keys()) if k not in compiled.given]
        for sym in inputs:
            if sym not in residual.free_symbols:
                continue
            poly = sp.Poly(residual, sym) if residual.is_polynomial(sym) else None
            if poly is not None and poly.degree() == 1 and poly.coeffs()[0].is_number and poly.coeffs()[0] != 0:
                solution = -poly.nth(0) / poly.nth(1)  # linear: the one solution
                if solution.is_extended_real is False or solution.has(sp.I, sp.zoo, sp.nan, sp.oo, -sp.oo):
                    raise DeriveDeclarationError(f"this assumption has no real solution for "
                                                 f"{g.nodes[g.key_of(sym)].label} ({sym} = {solution})", eq.pos)
                solved = {k: v.xreplace({sym: solution}) for k, v in solved.items()}
                solved[sym] = solution
                break
        else:
            raise DeriveDeclarationError("cannot use this assumption: it must be linear in some input "
                                         "(as Σ y = 1 is in y)", eq.pos)
    return solved


def build_functions(functions: dict) -> FunctionTable:
    """The function table of a document: built-ins, then the user's definitions in order.
    A definition named like a built-in must be that built-in (`_is_the_built_in`), which
    then keeps its place in the table: the name has one meaning wherever it is used."""
    table = FunctionTable()
    builtins = FunctionTable()
    shown: set = set()  # built-ins already shown equal (σ and sigma are one definition)
    for fn in functions.values():
        if fn.body is None:  # `function f(t)`: any differentiable function
            table.define_generic(fn.name, len(fn.params))
            continue
        params = tuple(sp.Symbol(p, real=True) for p in fn.params)
        ctx = SymbolicContext("scalar", ScalarGraph(table), table, {}, variables=dict(zip(fn.params, params)))
        try:
            taken: list = []
            body = Evaluator(ctx, {}, taken).eval(fn.body)
            table.differentiates = table.differentiates or bool(taken)
        except ShapeMismatch as e:
            raise DeriveDeclarationError(f"ill-shaped function body: {e.message}", e.pos) from None
        if isinstance(body, sp.MatrixBase):
            raise DeriveDeclarationError(f"a function gives a scalar, this body is a {body.rows}×{body.cols} "
                                         f"matrix", fn.body.pos)
        if fn.builtin:  # a claim that it is the built-in: checked, and the built-in stays (one meaning)
            if builtins.canonical(fn.name) not in shown:
                _is_the_built_in(fn, params, table.expand_definitions(body), builtins)
                shown.add(builtins.canonical(fn.name))
            continue
        table.define(fn.name, params, body)
    return table


def _is_the_built_in(fn, params: tuple, body: sp.Expr, builtins: FunctionTable) -> None:
    """A file may define a function named like a built-in only as that built-in (a textbook's
    `function σ(t) = 1/(1 + exp(-t))`): its body must be shown equal to the built-in's, by the
    zero test rules are proved with, for every value of its parameters. Otherwise the name
    would mean one thing in this file and another in every other: bad input."""
    from .zero import is_identically_zero

    arity = builtins.arity(fn.name)
    rename = f"name yours differently, e.g. {fn.name}2"
    if arity is not None and arity != len(params):
        raise DeriveDeclarationError(f"{fn.name} is built in and takes {arity} argument(s), this definition "
                                     f"{len(params)}: {rename}", fn.pos)
    builtin = builtins.expand_definitions(builtins.apply(fn.name, list(params)))
    try:
        equal = is_identically_zero(body - builtin, builtins)
    except (TypeError, ValueError, ArithmeticError, NotImplementedError):
        equal = False
    if not equal:
        call = f"{fn.name}({', '.join(map(str, params))})"
        meaning = "" if _written(builtin) == call else f" ({call} = {_written(builtin)})"
        raise DeriveDeclarationError(f"{fn.name} is built in{meaning}, and this definition is not shown to be "
                                     f"it: {rename}", fn.pos)


def _written(expr: sp.Expr) -> str:
    """A built-in's body as a file would write it (`t if t > 0 else 0` for a piecewise one)."""
    if isinstance(expr, sp.Piecewise):
        *pieces, (last, _) = expr.args
        return " else ".join([f"{_written(v)} if {sp.sstr(c)}" for v, c in pieces] + [_written(last)])
    return sp.sstr(expr)


def compile_scalar(functions: FunctionTable) -> Compiled:
    """Scalar rules have no graph: their free variables are the inputs."""
    return Compiled("scalar", ScalarGraph(functions), {}, {}, "", None, {}, {}, {})


__all__ = ["ScalarGraph", "Compiled", "compile_network", "compile_graph", "compile_scalar", "build_functions",
           "SymbolicContext"]
