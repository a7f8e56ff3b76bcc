"""Derivations, step by step, every step checked: what `derive latex` prints.

For one rule, the derivation is a chain of expressions for one entry of the rule (where
a refuted rule's counterexample is, else the first entry; verify checks all of them):

    left side as written
      = … one chain-rule step: ∂T/∂n = Σ_c ∂T/∂c · ∂c/∂n, over n's children c (and, in a
          network, their whole layer, so the terms that vanish are seen to vanish)
      = … the vanishing terms dropped
      = … the local derivatives ∂c/∂n substituted (from SymPy's diff of c's definition)
      = … (repeated until the expression meets the right side)
      = right side as written

Each consecutive pair of lines is checked by the verifier's own means: the difference
is shown ≡ 0 symbolically (chain rule expanded, `zero.is_identically_zero`) → *checked*;
otherwise the numeric screen, whose certified counterexample marks the step *wrong*;
otherwise *unverified*. A renderer must show the last two as such, never as a plain "=".

Lines hold SymPy expressions in the compiled graph's symbols: node symbols (z²₁, a²₁,
u), opaque ∂ symbols (`ScalarGraph.d`), and for display only unevaluated `Derivative`,
`Subs` (σ'(z)) and `UnevaluatedExpr` (3·2), which `doit()` turns into values before any
check. `Derivation.notation` says what each symbol is (a node, ∂T/∂n, δˡⱼ) so a renderer
can write it in the file's notation without parsing symbol names.
"""

from __future__ import annotations

import logging
import random
from dataclasses import dataclass, field
from typing import Any

import sympy as sp

from . import syntax as s
from .errors import DeriveError
from .evaluate import Evaluator, ShapeMismatch, instances
from .functions import BUILTIN_ALIASES, BUILTIN_BODIES
from .graphs import Compiled, SymbolicContext
from .limits import run_limited
from .model import Document, Rule, int_value, load
from .verify import (
    DEFAULTS,
    CompiledDocument,
    Counterexample,
    Verdict,
    _Claim,
    _claims,
    _clearly_nonzero,
    _entries,
    _points,
    _Refuted,
    _screen,
    _Target,
    check_document,
)
from .vocabulary import Outcome
from .zero import is_identically_zero

log = logging.getLogger(__name__)

MAX_EXPANSIONS = 8  # chain-rule steps shown before the last line is checked in one go


@dataclass(frozen=True)
class Script:
    """A scalar in the file's notation: name, layer (superscript) and indices (subscript)."""

    name: str
    layer: int | None = None
    indices: tuple = ()


@dataclass(frozen=True)
class PartialOf:
    """∂top/∂bottom."""

    top: Script
    bottom: Script


@dataclass
class StepCheck:
    """How a line was shown to follow from the one before it."""

    status: str  # "checked" | "wrong" | "unverified"
    detail: str
    counterexample: Counterexample | None = None


@dataclass
class Line:
    """One line of a derivation: `expr` (checked), shown as `written` (the file's syntax) if set."""

    expr: sp.Expr
    reason: str
    check: StepCheck | None = None  # None for the first line
    written: s.Expr | None = None


@dataclass
class Derivation:
    """A rule, its verdict, and the checked chain of one of its entries."""

    rule: Rule
    verdict: Verdict | None
    kind: str  # "scalar" | "graph" | "network"
    declaration: Any  # the Network or Graph the rule belongs to (None for scalar rules)
    instance: str  # which entry the chain is for ("" when the rule has one)
    entries: int  # how many entries verify checks at the first size set
    sizes: tuple | None
    lines: list = field(default_factory=list)
    notation: dict = field(default_factory=dict)  # Symbol → Script | PartialOf
    note: str = ""  # why there is no chain (a shape mismatch)
    functions: tuple = ()  # (name, parameter names, body) of the defined functions it uses
    target: object = None  # what the steps were checked against (for check_step on more lines)

    @property
    def ok(self) -> bool:
        """True when every step shown is checked (none wrong, none unverified)."""
        return all(line.check is None or line.check.status == "checked" for line in self.lines)

    @property
    def flagged(self) -> list:
        """The lines whose step is wrong or unverified."""
        return [line for line in self.lines if line.check is not None and line.check.status != "checked"]

    def _repr_markdown_(self) -> str:  # Jupyter
        from .latex import derivation_markdown  # the render stage: imported when shown

        return derivation_markdown(self)


# ---------------------------------------------------------------- notation


def _script(key, label: str) -> Script:
    """A graph node key in the file's notation: ("z", 2, 1) → z²₁, ("W", 2, 1, 3) → w²₁₃."""
    if isinstance(key, tuple):
        name = "w" if key[0] == "W" else key[0]
        if len(key) == 2:  # x_i, y_i
            return Script(name, None, (key[1],))
        return Script(name, key[1], tuple(key[2:]))
    return Script(label)


def _graph_script(compiled: Compiled, key, label: str) -> Script:
    """A computation graph's key: "u", ("h", 2) → h², ("z", None, 3, 1) → z₃, ("W", None, 1, 2) → W₁₂."""
    if not isinstance(key, tuple):
        return Script(label)
    if len(key) == 2:
        return Script(key[0], key[1], ())
    name, member, i, j = key
    column = compiled.tensors[(name, member)].cols == 1
    return Script(name, member, (i,) if column else (i, j))


def _notation(compiled: Compiled) -> dict:
    g = compiled.graph
    renamed = _alias_names(compiled)
    if compiled.kind == "graph":
        out: dict = {n.symbol: _graph_script(compiled, k, n.label) for k, n in g.nodes.items()}
    else:
        out = {n.symbol: renamed.get(k) or _script(k, n.label) for k, n in g.nodes.items()}
    for sym, (top, bottom) in g.opaque.items():
        out[sym] = _partial_notation(compiled, top, bottom, renamed)
    return out


def _alias_names(compiled: Compiled) -> dict:
    """Node key → Script for the entries of a layer the file names (`let p = aᴸ` → p₁, p₂, …)."""
    out: dict = {}
    if compiled.kind != "network":
        return out
    env = compiled.layer_env
    for alias, expr in compiled.aliases.items():
        if isinstance(expr, s.Sup) and isinstance(expr.base, s.Name) and expr.base.id in ("a", "z"):
            try:
                layer = int_value(expr.arg, env, "a layer")
            except DeriveError:
                continue
            for key in compiled.graph.nodes:
                if isinstance(key, tuple) and key[:2] == (expr.base.id, layer):
                    out[key] = Script(alias, None, tuple(key[2:]))
    return out


def _partial_notation(compiled: Compiled, top, bottom, renamed: dict):
    g = compiled.graph
    if compiled.kind == "network" and top == "C" and isinstance(bottom, tuple) and bottom[0] == "z":
        return Script("δ", bottom[1], tuple(bottom[2:]))  # δˡⱼ := ∂C/∂zˡⱼ
    if compiled.kind == "graph":
        return PartialOf(_graph_script(compiled, top, g.nodes[top].label),
                         _graph_script(compiled, bottom, g.nodes[bottom].label))
    return PartialOf(renamed.get(top) or _script(top, g.nodes[top].label),
                     renamed.get(bottom) or _script(bottom, g.nodes[bottom].label))


# ---------------------------------------------------------------- checking one step


def plain(expr: sp.Expr) -> sp.Expr:
    """The value of a displayed expression: unevaluated derivatives and products evaluated."""
    if isinstance(expr, sp.Basic) and expr.has(sp.Derivative, sp.Subs, sp.UnevaluatedExpr):
        return expr.doit()
    return expr


def check_step(target: _Target, before: sp.Expr, after: sp.Expr, rng: random.Random,
               settings: dict | None = None) -> StepCheck:
    """Does `after` follow from `before`? Shown ≡ 0 → checked; certified numeric
    difference → wrong; neither → unverified. The same means verify uses for rules.

    >>> [d] = derive_source("rule r: tanh(t) = 2σ(2t) − 1", timeout=None)
    >>> t = sp.Symbol("t", real=True)
    >>> check_step(d.target, sp.tanh(t), 2 * sp.tanh(t), random.Random(0)).status
    'wrong'
    """
    settings = dict(DEFAULTS, **(settings or {}))
    compiled = target.compiled
    g = compiled.graph
    fixed = compiled.fixed()
    # As verify does for rules: the numeric screen first (a wrong step is refuted at once,
    # before any costly expansion), then the symbolic proof.
    probe = _Target(compiled, [_Claim("", plain(before), plain(after))], target.variables)
    used = 0
    try:
        if not g.functions.has_generic():  # a function with no body (`function f(t)`) has no value
            used, _ = _screen(probe, _points(probe, rng, settings["screen_points"]), settings)
    except _Refuted as r:
        return StepCheck("wrong", r.detail, r.counterexample)
    difference = g.to_base(plain(before) - plain(after))
    for steps, stage in enumerate(g.derive_partials(difference)):
        if stage.free_symbols & set(g.opaque) and _clearly_nonzero(g.expanded(stage)):
            continue  # as verify does: the exact test cannot succeed at this stage
        at_given = g.at_given(stage, fixed)
        if at_given is not None and is_identically_zero(at_given, g.functions):
            how = f"after {steps} chain-rule step{'s' if steps != 1 else ''}" if steps else "as written"
            return StepCheck("checked", f"difference ≡ 0 {how}")
    return StepCheck("unverified", f"not shown ≡ 0; the two sides agree numerically at {used} exact random "
                                   f"point(s) (evidence, not a proof)")


# ---------------------------------------------------------------- the chain


class _DisplayFunctions:
    """The document's functions, except that f'(e) stays an unevaluated derivative, so a
    rule's sides print as written (σ'(z²₁), not its exponential form)."""

    def __init__(self, functions):
        self._functions = functions

    def __getattr__(self, name):
        return getattr(self._functions, name)

    def apply(self, name: str, args: list, primes: int = 0) -> sp.Expr:
        if primes == 0 or len(args) != 1:
            return self._functions.apply(name, args, primes)
        u = args[0] if isinstance(args[0], sp.Symbol) else sp.Dummy("u", real=True)
        derivative = sp.Derivative(self._functions.apply(name, [u]), (u, primes))
        return derivative if u is args[0] else sp.Subs(derivative, u, args[0])


class _DisplayContext(SymbolicContext):
    """Quantities stay their own symbols (a²₁, not σ(z²₁)): the rule as the file writes it."""

    def value(self, key) -> sp.Expr:
        return self.graph.nodes[key].symbol


def _display_claims(rule: Rule, compiled: Compiled, variables: dict) -> list:
    """Both sides of every entry, in verify's order, with derivatives of functions unevaluated."""
    g = compiled.graph
    ctx = _DisplayContext(compiled.kind, g, _DisplayFunctions(g.functions), compiled.tensors, compiled.aliases,
                          compiled.loss_name, variables=variables)
    out = []
    for layers in rule.layer_assignments:
        ev = Evaluator(ctx, dict(layers, **compiled.layer_env))
        for idx in instances(ev, rule.lhs, rule.rhs):
            out.extend(_entries("", ev.eval(rule.lhs, idx), ev.eval(rule.rhs, idx), rule))
    return out


def _shown_entry(compiled: list, verdict: Verdict | None) -> tuple:
    """(compiled declaration, claim index) to derive: where the rule's counterexample is, if
    it has one (the entry that fails), else the first entry at the declared sizes."""
    cx = verdict.counterexample if verdict is not None else None
    if cx is not None:
        for c in compiled:
            if c.sizes == cx.sizes:
                return c, cx.instance
    return compiled[0], None


def _partial_symbol(g, child, node) -> sp.Expr:
    """∂child/∂node as an opaque symbol, also where it is 0 (to show a vanishing term)."""
    if g.reaches(node, child):
        return g.d(child, node)
    sym = sp.Symbol(f"∂{g.nodes[child].label}/∂{g.nodes[node].label}")
    g.opaque[sym] = (child, node)
    return sym


def _layer_of(g, key) -> list:
    """The nodes of the same layer tensor as `key` (a²₁ → a²₁, a²₂, …); itself elsewhere."""
    if isinstance(key, tuple) and len(key) == 3 and key[0] in ("a", "z"):
        return [k for k in g.nodes if isinstance(k, tuple) and k[:2] == key[:2]]
    return [key]


def _local(g, child, node) -> sp.Expr:
    """∂child/∂node from child's definition, in node symbols; f'(z) kept unevaluated."""
    definition = g.nodes[child].definition
    parent = g.nodes[node].symbol
    if isinstance(definition, sp.Function) and definition.args == (parent,):
        return sp.Derivative(definition, parent)
    softmax = _softmax_output(g, child)
    if softmax is not None:  # ∂pᵢ/∂zⱼ = pᵢ(δᵢⱼ − pⱼ), in the outputs' own symbols
        z_i, outputs = softmax
        p_i = g.nodes[child].symbol
        return p_i * (1 - p_i) if parent == z_i else -p_i * outputs[parent]
    return g.local_partial(child, node)


def _softmax_output(g, child):
    """(its own input zᵢ, {zⱼ: pⱼ}) when `child` is pᵢ = exp(zᵢ)/Σⱼ exp(zⱼ) of a softmax layer."""
    node = g.nodes[child]
    parents = [g.nodes[p].symbol for p in node.parents]
    if len(parents) < 2 or node.definition is None:
        return None
    total = sp.Add(*[sp.exp(z) for z in parents])
    own = [z for z in parents if node.definition == sp.exp(z) / total]
    if not own:
        return None
    outputs = {}
    for other in g.children[node.parents[0]]:
        other_node = g.nodes[other]
        match = [z for z in parents if other_node.definition == sp.exp(z) / total]
        if match:
            outputs[match[0]] = other_node.symbol
    return (own[0], outputs) if len(outputs) == len(parents) else None


def _expansion(g, target, node) -> list:
    """The lines of one chain-rule step for ∂target/∂node: [(expression, reason)]."""
    children = [c for c in g.children[node] if g.reaches(c, target)]
    shown: list = []
    for c in children:
        shown.extend(k for k in _layer_of(g, c) if k not in shown and g.reaches(k, target))
    # ∂c/∂node is the local partial only when node reaches c by the direct edge alone.
    single = {c: not any(other != c and g.reaches(other, c) for other in g.children[node]) for c in children}

    def factor(k):
        return _partial_symbol(g, k, node) if single.get(k, True) else _local(g, k, node)

    lines = []
    chain = sp.Add(*[g.d(target, k) * factor(k) for k in shown])
    if chain != g.d(target, node):  # ∂C/∂aᴸⱼ with C the only child: nothing to expand yet
        lines.append((chain, "chain rule"))
    if len(shown) > len(children):
        lines.append((sp.Add(*[g.d(target, c) * factor(c) for c in children]), "terms that vanish dropped"))
    if any(single.values()):
        lines.append((sp.Add(*[g.d(target, c) * _local(g, c, node) for c in children]), "local derivatives"))
    return lines


def _meets(target: _Target, current: sp.Expr, rhs: sp.Expr) -> bool:
    """Is `current` the right side already, with no further expansion?"""
    compiled = target.compiled
    fixed = compiled.fixed()
    difference = compiled.graph.to_base(plain(current) - plain(rhs))
    at_given = compiled.graph.at_given(difference, fixed)
    return at_given is not None and is_identically_zero(at_given, compiled.graph.functions)


def _chain(target: _Target, lhs: sp.Expr, rhs: sp.Expr, kind: str, refuted: bool = False) -> list:
    """(expression, reason) pairs from the left side to just before the right side.

    For a refuted rule the two sides never meet, and expanding to the bottom of a deep
    graph (an RNN unrolled in time) would print, and check, dozens of lines: there the
    chain stops once it reaches the depth of the ∂ symbols the right side names."""
    g = target.compiled.graph
    rhs_depth = min((g.nodes[g.opaque[x][1]].order for x in rhs.free_symbols if x in g.opaque), default=None)
    out = []
    current = lhs
    if kind == "scalar" and lhs.has(sp.Derivative, sp.Subs):
        current = plain(lhs)
        out.append((current, "differentiating the definition"))
    for _ in range(MAX_EXPANSIONS):
        if _meets(target, current, rhs):
            break
        pending = [x for x in current.free_symbols if x in g.opaque]
        if not pending:
            break
        sym = min(pending, key=lambda x: g.nodes[g.opaque[x][1]].order)
        t, n = g.opaque[sym]
        if refuted and rhs_depth is not None and g.nodes[n].order >= rhs_depth:
            break
        if not g.reaches(n, t):  # a vanishing ∂ left over: it is 0
            current = current.xreplace({sym: 0})
            out.append((current, "terms that vanish dropped"))
            continue
        for expansion, reason in _expansion(g, t, n):
            out.append((current.xreplace({sym: expansion}), reason))
        current = out[-1][0]
    # A graph with given values: the forward pass and the numbers, when they give a number.
    fixed = target.compiled.fixed()
    inner = {n.symbol for n in g.nodes.values() if n.definition is not None}
    if fixed and not current.free_symbols & set(g.opaque) and g.to_base(plain(current)).xreplace(fixed).is_Rational:
        if current.free_symbols & inner:
            current = g.to_base(plain(current))
            out.append((current, "forward pass"))
        given = {g.nodes[k].symbol: sp.UnevaluatedExpr(sp.Rational(v.numerator, v.denominator))
                 for k, v in target.compiled.given.items()}
        if current.free_symbols & set(given):
            out.append((current.xreplace(given), "at the given values"))
    unfolded = g.functions.expand_definitions(plain(rhs))
    if kind == "scalar" and unfolded != rhs and (not out or unfolded != out[-1][0]):
        out.append((unfolded, "the right side, definitions unfolded"))
    return out


def derive_rule(rule: Rule, compiled: list, verdict: Verdict | None = None, declaration=None,
                settings: dict | None = None, timeout: float | None = DEFAULTS["timeout"],
                functions: tuple = ()) -> Derivation:
    """The checked derivation of one rule against its compiled declaration(s). The steps
    are checked under `timeout` seconds in all (None or ≤ 0: no limit, in this process);
    a step the limit cuts off is unverified, and says so."""
    settings = dict(DEFAULTS, **(settings or {}))
    rng = random.Random(f"{settings['seed']}:steps:{rule.name}")
    first, failing = _shown_entry(compiled, verdict)
    target = _Target(first, [], {})
    derivation = Derivation(rule, verdict, first.kind, declaration, "", 0, first.sizes, functions=functions)
    try:
        claims = _claims(rule, first, target.variables)
        index = next((i for i, c in enumerate(claims) if c.instance == failing), 0)
        shown = _display_claims(rule, first, target.variables)[index]
        lhs, rhs = shown.lhs, shown.rhs
    except _Refuted as r:
        derivation.note = r.detail
        return derivation
    except ShapeMismatch as e:
        derivation.note = e.message
        return derivation
    derivation.entries, derivation.instance = len(claims), claims[index].instance
    single = len(claims) == 1 and not claims[0].instance
    lines = [Line(lhs, "", None, rule.lhs if single else None)]
    refuted = verdict is not None and verdict.verdict == Outcome.REFUTED
    for expr, reason in _chain(target, lhs, rhs, first.kind, refuted):
        lines.append(Line(expr, reason))
    if len(lines) > 1 and lines[-1].expr == rhs:  # the chain ended on the right side as written
        lines.pop()
    last = "the stated rule" + (" (under the file's assumptions)" if first.assumptions else "")
    lines.append(Line(rhs, last, None, rule.rhs if single else None))
    _check_lines(target, lines, rng, settings, timeout)
    derivation.lines = lines
    derivation.target = target
    derivation.notation = _notation(first)
    return derivation


def _check_lines(target: _Target, lines: list, rng: random.Random, settings: dict, timeout: float | None) -> None:
    """Check each line against the one before, in a child process under `timeout` (as
    verify runs rules): what was checked before the limit is kept, the rest is unverified."""
    pairs = list(zip(lines, lines[1:]))

    def work(send):
        for i, (before, line) in enumerate(pairs):
            send((i, check_step(target, before.expr, line.expr, rng, settings)))

    checks: dict = {}
    if timeout is None or timeout <= 0:
        work(lambda message: checks.__setitem__(*message))
        missing = "not checked"
    else:
        outcome = run_limited(work, timeout)
        checks = dict(outcome.messages)
        ended = (f"{outcome.error.kind}: {outcome.error.message}" if outcome.error is not None
                 else f"exit code {outcome.exitcode}")
        missing = (f"not checked: the time limit of {timeout:g} s ran out" if outcome.timed_out
                   else "not checked: the memory limit was hit" if outcome.error is not None and
                   outcome.error.out_of_memory else f"not checked: the checking process ended unexpectedly ({ended})")
    for i, (_, line) in enumerate(pairs):
        line.check = checks.get(i) or StepCheck("unverified", missing)


def _functions_used(doc: Document, rule: Rule, declaration) -> tuple:
    """(name, parameters, body) of each defined function the rule or its block calls: the
    file's own (body as written) and the built-in σ, softplus (body as SymPy)."""
    exprs = [rule.lhs, rule.rhs]
    if declaration is not None and hasattr(declaration, "loss"):
        exprs.append(declaration.loss)
        exprs.extend(s.Call(f, (), 0, rule.pos) for f in declaration.activations)
    elif declaration is not None:
        exprs.extend(n.expr for n in declaration.nodes)
    names: list = []

    def walk(e):
        if isinstance(e, s.Call) and e.func not in names:
            names.append(e.func)
        for child in s.children(e):
            walk(child)

    for e in exprs:
        walk(e)
    out = []
    for name in names:
        if name in doc.functions:
            fn = doc.functions[name]
            out.append((name, fn.params, fn.body))
        elif BUILTIN_ALIASES.get(name, name) in BUILTIN_BODIES:
            params, body = BUILTIN_BODIES[BUILTIN_ALIASES.get(name, name)]
            out.append((name, tuple(str(p) for p in params), body))
    return tuple(out)


def derive_document(doc: Document, verdicts: list | None = None, select=None,
                    timeout: float | None = DEFAULTS["timeout"]) -> list:
    """A checked `Derivation` for every rule of a document (in file order); `verdicts`
    (from `verify.check_document`) are attached by rule position. Raises DeriveError
    on bad declarations, as `check_document` does.

    >>> from derive.model import load
    >>> [d] = derive_document(load("rule r: tanh(t) = 2σ(2t) − 1"))
    >>> [line.reason for line in d.lines], d.ok
    (['', 'the right side, definitions unfolded', 'the stated rule'], True)
    """
    compiled = CompiledDocument(doc)
    by_place = {(v.line, v.column): v for v in verdicts or ()}
    out = []
    for rule in doc.all_rules():
        if select is not None and not select(rule):
            continue
        declaration = doc.graphs.get(rule.context) or doc.networks.get(rule.context)
        try:
            out.append(derive_rule(rule, compiled.targets_for(rule), by_place.get((rule.pos.line, rule.pos.column)),
                                   declaration, timeout=timeout,
                                   functions=_functions_used(doc, rule, declaration)))
        except DeriveError as e:
            raise e.located(doc.filename, doc.source) from None
        except Exception as e:  # a bug in derive: say so in the document, never as a derivation
            log.debug("internal error while deriving %s", rule.name, exc_info=True)
            out.append(Derivation(rule, by_place.get((rule.pos.line, rule.pos.column)), rule.context and (
                "graph" if rule.context in doc.graphs else "network") or "scalar", declaration, "", 0, None,
                note=f"internal error while deriving ({type(e).__name__}: {e})"))
    return out


def derive_source(text: str, filename: str = "<input>", timeout: float | None = DEFAULTS["timeout"],
                  select=None) -> list:
    """Check every rule of a .deriv text (verify, under `timeout` per rule) and derive
    each step by step. Raises DeriveError on bad input, located in the text.

    >>> [d] = derive_source("wrong rule w: σ(−t) = σ(t)", timeout=None)
    >>> [(line.reason, line.check.status) for line in d.lines[1:]]
    [('the right side, definitions unfolded', 'wrong'), ('the stated rule', 'checked')]
    >>> d.verdict.verdict, d.verdict.ok
    ('refuted', True)
    """
    doc = load(text, filename)
    try:
        verdicts = check_document(doc, timeout=timeout, select=select)
        return derive_document(doc, verdicts, select=select, timeout=timeout)
    except DeriveError as e:
        raise e.located(filename, text) from None


__all__ = ["derive_source", "Derivation", "Line", "StepCheck", "Script", "PartialOf", "check_step", "derive_rule",
           "derive_document", "plain"]
