"""Rules about functions with no body: `function f(t)` is any differentiable function.

A rule that uses such an f is a claim for every differentiable f. It is checked two ways:

- at instances: f is given each of a fixed list of concrete bodies in turn (t ↦ t³/3 − t + 1/2,
  t ↦ exp(t/2), t ↦ σ(t), t ↦ t² + 1; products and sums of these for more arguments; two
  such functions never get the same body), and the rule is checked at each as any rule is: the
  exact screen, the prover and the independent audit. A counterexample at an instance refutes
  the claim, and names the function chosen (`f(t) = exp(t/2)`).
- for every f: the rule is derived with f an undefined SymPy function (`functions.Generic`:
  f′, f″, ∂₂f … by SymPy's chain rule), and the zero test takes each call f(u), f′(u) … at each
  distinct argument as an independent real symbol (`zero.opaque_calls`). A difference that is
  0 then is 0 for every f: the identity is algebraic in those values.

*Proved* needs both: shown for every f, and proved (audit included) at every instance. Shown at
every instance but not for every f (the values may be related: f′ = f holds for f = exp), the
verdict is *undecided*, never proved.
"""

from __future__ import annotations

import time
from dataclasses import replace

from . import syntax as s
from .errors import DeriveError
from .limits import run_limited
from .model import Document, Rule, load
from .scope import DEFINED
from .verify import (
    DEFAULTS,
    CompiledDocument,
    Verdict,
    _claims,
    _prove,
    _Target,
    _Undefined,
    check_rule,
)
from .vocabulary import How, Outcome

# One-argument instances: a polynomial with f ≠ f′ ≠ f″, an exponential (f′ = f/2), the logistic
# σ (f′ = f(1 − f)), and a positive even polynomial. `{0}` is the parameter.
UNARY = ("{0}^3/3 - {0} + 1/2", "exp({0}/2)", "σ({0})", "{0}^2 + 1")


def _body(k: int, params: tuple) -> str:
    """The k-th instance body for a function of `params` (one or more)."""
    k %= len(UNARY)
    if len(params) == 1:
        return UNARY[k].format(params[0])
    first, rest = params[0], params[1:]
    if k == 0:  # not a sum of functions of one argument each
        return f"{UNARY[0].format(first)} + " + " * ".join(params)
    if k == 1:
        return " * ".join([f"({UNARY[1].format(first)})"] + [f"({UNARY[3].format(p)})" for p in rest])
    if k == 2:
        return f"σ({' + '.join(params)} - {rest[0]}^2/2)"
    return " + ".join([UNARY[3].format(first)] + [f"({UNARY[0].format(p)})" for p in rest])


def generic_names(doc: Document) -> list:
    """The functions with no body, in file order."""
    return [name for name, fn in doc.functions.items() if fn.body is None]


def instances(doc: Document, count: int = len(UNARY)) -> list:
    """[(("f(t) = …", …), document with each generic function given a body)], `count` of them.
    The j-th generic function gets body k + j at instance k: two never share a body."""
    names = generic_names(doc)
    out = []
    for k in range(count):
        functions, shown = dict(doc.functions), []
        for j, name in enumerate(names):
            fn = doc.functions[name]
            body = _body(k + j, fn.params)
            text = f"function {name}({', '.join(fn.params)}) = {body}\n"
            made = load(text, "<instance>").functions[name]
            functions[name] = replace(fn, body=made.body)
            shown.append(f"{name}({', '.join(fn.params)}) = {body}")
        out.append((tuple(shown), replace(doc, functions=functions)))
    return out


def _calls(node) -> set:
    """The names of the functions called anywhere in a model or syntax object."""
    if isinstance(node, s.Call):
        return {node.func} | _calls(node.args)
    if isinstance(node, (list, tuple)):
        return set().union(*map(_calls, node)) if node else set()
    if isinstance(node, dict):
        return _calls(tuple(node.values()))
    if hasattr(node, "__dataclass_fields__"):
        return set().union(*(_calls(getattr(node, f)) for f in node.__dataclass_fields__))
    return set()


def used_generic(rule: Rule, doc: Document) -> list:
    """The functions with no body the rule depends on (through its graph's definitions and the
    bodies of the functions it calls), in file order."""
    called = _calls((rule, doc.graphs.get(rule.context) if rule.context is not None else None))
    seen: set = set()
    while called - seen:
        name = (called - seen).pop()
        seen.add(name)
        fn = doc.functions.get(name)
        if fn is not None and fn.body is not None:
            called |= _calls(fn.body)
    return [name for name in generic_names(doc) if name in seen]


def _shown_for_every_f(rule: Rule, compiled: CompiledDocument) -> bool:
    """Is every entry of the rule's difference 0 with f, f′ … opaque (see the module doc)?"""
    for target_compiled in compiled.targets_for(rule):
        target = _Target(target_compiled, [])
        target.claims = _claims(rule, target_compiled, target.variables)
        if not target.claims:
            return False
        for claim in target.claims:
            try:
                if _prove(target, claim) is None:
                    return False
            except _Undefined:
                return False
    return True


def _limited(work, timeout: float | None) -> tuple:
    """(work()'s bool, or None when it did not end; why not), in a child process under a time
    limit. An error in the work is never a proof: (None, what it was)."""
    if timeout is None or timeout <= 0:
        try:
            return work(), ""
        except Exception as e:  # noqa: BLE001 - a bug in derive: not shown, never proved
            return None, f"the proof for every function ended with {type(e).__name__}: {e}"
    outcome = run_limited(lambda send: send(work()), timeout)
    if outcome.messages:
        return outcome.messages[0], ""
    if outcome.timed_out:
        return None, "time limit hit"
    error = f"{outcome.error.kind}: {outcome.error.message}" if outcome.error is not None else "no result"
    return None, f"the proof for every function ended ({error})"


def _with_functions(verdict: Verdict, shown: tuple, lead: str = "with") -> Verdict:
    phrase = f"{lead} " + ", ".join(shown)
    cx = verdict.counterexample
    if cx is not None and verdict.detail == str(cx):
        cx = replace(cx, functions=tuple(shown))
        detail = str(cx)
    else:
        cx = replace(cx, functions=tuple(shown)) if cx is not None else None
        detail = f"{phrase}: {verdict.detail}"
    return replace(verdict, counterexample=cx, scope=replace(verdict.scope, functions=(phrase,)), detail=detail)


def check_generic_rule(rule: Rule, doc: Document, generic: CompiledDocument | None, at: list,
                       timeout: float | None, settings: dict | None) -> Verdict:
    """The verdict on a rule that uses functions with no body (see the module doc)."""
    filename, source = doc.filename, doc.source
    started = time.perf_counter()
    used = used_generic(rule, doc)
    if not used:  # a rule about no function with no body: as any rule (every instance is the same)
        return check_rule(rule, at[0][1].targets_for(rule), filename, timeout, settings, source=source)
    verdicts = []
    for every, compiled in at:
        shown = tuple(x for x in every if x.split("(", 1)[0] in used)
        v = check_rule(rule, compiled.targets_for(rule), filename, timeout, settings, source=source)
        if v.verdict in (Outcome.REFUTED, Outcome.ERROR):
            return replace(_with_functions(v, shown), seconds=time.perf_counter() - started)
        verdicts.append((shown, v))
    first = verdicts[0][1]
    names = ", ".join(used)
    elapsed = time.perf_counter() - started
    if all(v.verdict is Outcome.UNDEFINED for _, v in verdicts):
        return replace(first, seconds=elapsed)
    if any(v.verdict is not Outcome.PROVED for _, v in verdicts):
        shown, v = next((s, v) for s, v in verdicts if v.verdict is not Outcome.PROVED)
        how = v.how if v.verdict is Outcome.UNDECIDED else How.UNPROVED
        out = _with_functions(replace(v, verdict=Outcome.UNDECIDED, how=how), shown)
        return replace(out, seconds=elapsed)
    remaining = None if timeout is None or timeout <= 0 else max(1.0, timeout - elapsed)
    if generic is None:
        shown_all, why = None, "derive could not compile it with the functions left open"
    else:
        shown_all, why = _limited(lambda: _shown_for_every_f(rule, generic), remaining)
    elapsed = time.perf_counter() - started
    listed = "; ".join(", ".join(shown) for shown, _ in verdicts)
    if shown_all is not True:
        why = why or "not shown for every function"
        how = How.TIME_LIMIT if why == "time limit hit" else How.UNPROVED
        return replace(first, verdict=Outcome.UNDECIDED, how=how,
                       detail=(f"proved with {listed} ({len(verdicts)} instances), {why}: the values of {names} "
                               f"and its derivatives may be related"), seconds=elapsed,
                       scope=replace(first.scope, functions=(f"only with {listed}",)))
    audited = sum(int(v.detail.rsplit("audit: ", 1)[1].split()[0]) for _, v in verdicts
                  if "audit: " in v.detail and v.detail.rsplit("audit: ", 1)[1].split()[0].isdigit())
    detail = (f"difference ≡ 0 for every differentiable {names} (each value of {names} and its derivatives, "
              f"at each argument, an independent symbol); also proved with {len(verdicts)} instances "
              f"({listed}); audit: {audited} points agree")
    # the instances' regions left out are theirs (f's zeros): for every f, where both sides are defined
    region = DEFINED if first.scope.region else ""
    return replace(first, detail=detail, seconds=elapsed,
                   scope=replace(first.scope, region=region, functions=(f"for every differentiable {names}",)))


class GenericDocument:
    """A document with functions with no body, compiled at each instance and with f opaque."""

    def __init__(self, doc: Document):
        self.doc = doc
        self.instances = [(shown, CompiledDocument(d)) for shown, d in instances(doc)]
        self.generic: CompiledDocument | None
        try:
            self.generic = CompiledDocument(doc)
        except DeriveError:
            raise
        except Exception:  # noqa: BLE001 - not compiled with f opaque: instances only, never proved
            self.generic = None

    def check(self, rule: Rule, timeout: float | None, settings: dict | None = None) -> Verdict:
        return check_generic_rule(rule, self.doc, self.generic, self.instances, timeout, settings)


def has_generic(doc: Document) -> bool:
    return any(fn.body is None for fn in doc.functions.values())


def check_generic_document(doc: Document, timeout: float | None = DEFAULTS["timeout"], select=None,
                           settings: dict | None = None) -> list:
    """`verify.check_document` for a document with functions with no body."""
    checker = GenericDocument(doc)
    return [checker.check(r, timeout, settings) for r in doc.all_rules() if select is None or select(r)]


__all__ = ["UNARY", "GenericDocument", "check_generic_document", "check_generic_rule", "generic_names", "has_generic",
           "instances"]
