"""Verdicts: every rule is proved, refuted with a counterexample, or left undecided.

For one rule, at each size set it is checked at and for each value of its quantifiers
and free indices, both sides are evaluated into *claims* (one scalar equation per
entry). Then:

1. Screen: each claim is evaluated at a few exact random points in 30-digit precision.
   A clear difference is re-evaluated at the same exact point with interval arithmetic;
   if the two sides' enclosures are disjoint the rule is **refuted**, with the point, both
   sides' values and the entry. Enclosures contain the true values, so rounding noise
   can never refute a true rule.
2. Prove: the difference, with derivatives as opaque ∂ symbols, is expanded by the chain
   rule one step at a time (`ScalarGraph.derive_partials`); after each step
   `zero.is_identically_zero` tries to show it is 0. Shown → **proved**.
3. Otherwise **undecided**, with the numeric evidence, never "proved". A rule that runs
   past its time limit is undecided too, and says so.

Piecewise rules (ReLU, max, hard-tanh, …) are proved region by region, with the piece
fixed (`derive.regions`), and screened at a point inside every region as well as at
random points, so a claim wrong on one region only is refuted there. A claim about a
point where a derivative does not exist (relu'(0)) is **undefined** (how: "kink"):
neither proved nor refuted; a file expects that with `undefined rule`.

A rule whose sides do not fit together (shapes, an index outside its range) is refuted
with both shapes named. Before any verdict on a network or graph, the chain-rule
machinery is cross-checked against central differences of the forward pass.
"""

from __future__ import annotations

import logging
import random
import time
import traceback
from dataclasses import asdict, dataclass, field
from fractions import Fraction

import mpmath
import sympy as sp

from . import audit, numdiff, numeric
from . import syntax as s
from .errors import DeriveError
from .evaluate import Evaluator, ShapeMismatch, describe_shape, instances
from .graphs import Compiled, build_functions, compile_graph, compile_network, compile_scalar
from .limits import run_limited
from .model import Document, Rule
from .regions import CannotSplit, split
from .zero import zero_regions

log = logging.getLogger(__name__)

# One table of defaults, read by the CLI, the API and (later) the pytest options.
DEFAULTS = {
    "timeout": 60.0,  # seconds per rule
    "screen_points": 3,  # random points per claim before trying a proof
    "screen_dps": 30,  # digits for the screen
    "confirm_dps": 60,  # digits to confirm a counterexample
    "screen_tolerance": 1e-12,  # relative difference that makes a candidate
    "confirm_tolerance": 1e-30,  # ... and that confirms it
    "seed": 20261123,
    "numeric": False,  # also compare every derived gradient with central differences (--numeric)
}


@dataclass(frozen=True)
class Counterexample:
    """Concrete exact inputs at which the two sides of a rule differ."""

    instance: str  # which layer / component / entry
    sizes: tuple | None
    inputs: tuple  # ((label, exact value as text), …)
    lhs: str
    rhs: str
    certified: str = ""  # how the difference was made certain (interval arithmetic, …)

    def __str__(self) -> str:
        where = ", ".join(x for x in (self.instance, f"sizes {', '.join(map(str, self.sizes))}" if self.sizes
                                      else "") if x)
        point = "; inputs " + ", ".join(f"{k}={v}" for k, v in self.inputs) if self.inputs else ""
        how = f" ({self.certified})" if self.certified else ""
        return f"{'at ' + where + ': ' if where else ''}left = {self.lhs}, right = {self.rhs}{how}{point}"


@dataclass
class Verdict:
    """The result of checking one rule."""

    file: str
    rule: str
    line: int
    column: int
    context: str | None
    expected: str  # "proved", "refuted" (a rule marked `wrong`) or "undefined" (marked `undefined`)
    verdict: str  # "proved" | "refuted" | "undecided" | "undefined" | "error"
    how: str  # "symbolic" | "counterexample" | "shape" | "kink" | "time limit" | "unproved" | "bad input" | "internal"
    detail: str
    seconds: float = 0.0
    counterexample: Counterexample | None = None
    evidence: str = ""
    numeric: str = ""  # with --numeric: derived gradients against central differences (evidence only)

    @property
    def ok(self) -> bool:
        return self.verdict == self.expected

    def to_dict(self) -> dict:
        d = asdict(self)
        if self.counterexample is not None:
            d["counterexample"] = asdict(self.counterexample)
            d["counterexample"]["inputs"] = dict(self.counterexample.inputs)
        return d


class _Refuted(Exception):
    def __init__(self, how: str, detail: str, counterexample: Counterexample | None = None):
        super().__init__(detail)
        self.how, self.detail, self.counterexample = how, detail, counterexample


class _Undefined(Exception):
    """The rule speaks of a derivative where it does not exist (a kink, a tie in max)."""


@dataclass
class _Claim:
    instance: str
    lhs: sp.Expr
    rhs: sp.Expr


@dataclass
class _Target:
    """One compiled declaration a rule is checked against, with its sample points."""

    compiled: Compiled
    claims: list
    variables: dict = field(default_factory=dict)  # scalar rules: name → Symbol
    derivatives: list = field(default_factory=list)  # derivatives of functions taken (see Evaluator)


# ---------------------------------------------------------------- claims


def _describe(assignment: dict) -> str:
    return ", ".join(f"{k}={v}" for k, v in assignment.items())


def _series_claims(rule: Rule, compiled: Compiled, variables: dict) -> list:
    """A Taylor claim as one claim per coefficient: the k-th derivatives at the point, / k!."""
    var_name, point_expr, order = rule.series
    ctx = compiled.symbolic(variables)
    ev = Evaluator(ctx, {})
    var = ctx.variable(var_name, rule.pos)
    try:
        left, right, point = ev.eval(rule.lhs), ev.eval(rule.rhs), ev.eval(point_expr)
    except ShapeMismatch as e:
        raise _Refuted("shape", f"{e.message}, at line {e.pos.line}:{e.pos.column}") from None
    if any(isinstance(v, sp.MatrixBase) for v in (left, right, point)):
        raise _Refuted("shape", "a series claim is about scalars")
    claims = []
    for k in range(order):
        coefficient = lambda side: sp.diff(side, var, k).xreplace({var: point}) / sp.factorial(k)  # noqa: E731
        power = f"({var_name} − {point})" if point != 0 else var_name
        claims.append(_Claim(f"coefficient of {power}^{k} at {var_name} = {point}", coefficient(left),
                             coefficient(right)))
    variables.pop(var_name)  # no longer free: the coefficients are taken at the point
    return claims


def _claims(rule: Rule, compiled: Compiled, variables: dict, derivatives: list | None = None) -> list:
    """Both sides of every instance of the rule, entry by entry (and, into `derivatives`,
    the derivatives of functions taken on the way)."""
    if rule.series is not None:
        return _series_claims(rule, compiled, variables)
    ctx = compiled.symbolic(variables)
    out = []
    for layers in rule.layer_assignments:
        env = dict(layers, **compiled.layer_env)
        ev = Evaluator(ctx, env, derivatives)
        try:
            for idx in instances(ev, rule.lhs, rule.rhs):
                where = _describe(dict(layers, **idx))
                left, right = ev.eval(rule.lhs, idx), ev.eval(rule.rhs, idx)
                out.extend(_entries(where, left, right, rule))
        except ShapeMismatch as e:
            at = f" ({_describe(layers)})" if layers else ""
            raise _Refuted("shape", f"{e.message}, at line {e.pos.line}:{e.pos.column}{at}") from None
    return out


def _entries(where: str, left, right, rule: Rule) -> list:
    lm, rm = isinstance(left, sp.MatrixBase), isinstance(right, sp.MatrixBase)
    if lm and left.shape == (1, 1) and not rm:
        left, lm = left[0, 0], False
    if rm and right.shape == (1, 1) and not lm:
        right, rm = right[0, 0], False
    if lm != rm or (lm and left.shape != right.shape):
        raise _Refuted("shape", f"the left side is {describe_shape(left)} but the right side is "
                                f"{describe_shape(right)}" + (f" (at {where})" if where else ""))
    if not lm:
        return [_Claim(where, left, right)]
    claims = []
    for i in range(left.rows):
        for j in range(left.cols):
            entry = f"entry ({i + 1},{j + 1})" if left.cols > 1 else f"entry {i + 1}"
            claims.append(_Claim(", ".join(x for x in (where, entry) if x), left[i, j], right[i, j]))
    return claims


# ---------------------------------------------------------------- numbers


class _Point:
    """One exact sample point of a target, evaluated lazily at a given precision."""

    def __init__(self, target: _Target, inputs: dict, variables: dict, region: str = ""):
        self.target = target
        self.inputs = inputs  # graph input key → Fraction
        self.variables = variables  # scalar variable Symbol → Fraction
        self.region = region  # where the point was chosen, for a piecewise claim
        self._cache: dict = {}

    def values(self, dps: int, ctx=numeric.MP):
        """(node and variable values, adjoint cache) at `dps` digits; raises Undefined."""
        key = (dps, ctx is numeric.IV)
        if key not in self._cache:
            g = self.target.compiled.graph
            node_values = g.forward(self.inputs, dps, ctx) if g.nodes else {}
            with numeric.precision(ctx, dps):
                for sym, v in self.variables.items():
                    node_values[sym] = numeric.exact(v, ctx)
            self._cache[key] = (node_values, {})
        return self._cache[key]

    def evaluate(self, expr: sp.Expr, dps: int, ctx=numeric.MP):
        """The value of a claim's side here (an interval in the IV context), or None where
        it is undefined. Raises numeric.Unsupported for intervals of unknown functions."""
        g = self.target.compiled.graph
        try:
            node_values, adjoints = self.values(dps, ctx)
            env = dict(node_values)
            for sym in expr.free_symbols:
                if sym in g.opaque:
                    target, source = g.opaque[sym]
                    if target not in adjoints:
                        adjoints[target] = g.adjoints(target, node_values, dps, ctx)
                    env[sym] = adjoints[target].get(source, ctx.mpf(0))
        except numeric.Undefined:
            return None
        return numeric.value_at(g.expanded(expr), env, dps, ctx)

    def describe(self) -> tuple:
        g = self.target.compiled.graph
        items = [(g.nodes[k].label, _fraction_text(v)) for k, v in self.inputs.items()]
        items += [(str(sym), _fraction_text(v)) for sym, v in self.variables.items()]
        return tuple(items)


def _fraction_text(v: Fraction) -> str:
    return str(v.numerator) if v.denominator == 1 else f"{v.numerator}/{v.denominator}"


def _region_points(target: _Target, rng: random.Random) -> list:
    """A point inside each region of each piecewise claim (scalar rules and graphs; a
    network's regions are left to its random points)."""
    compiled = target.compiled
    if compiled.kind == "network":
        return []
    g = compiled.graph
    points = []
    for claim in target.claims:
        if not (g.has_pieces() or g.expanded(claim.lhs - claim.rhs).has(sp.Piecewise)):
            continue  # no piece anywhere: expanding the chain rule in full would find none
        *_, full = g.derive_partials(claim.lhs - claim.rhs)
        full = g.expanded(full.xreplace(compiled.fixed()))
        if not full.has(sp.Piecewise):
            continue
        try:
            regions = split(full, rng)
        except CannotSplit:
            continue
        for region in regions:
            if not region.witness:
                continue
            inputs = compiled.sample(rng) if g.nodes else {}
            variables = _sample_variables(target, rng)
            for sym, value in region.witness:
                if sym in variables:
                    variables[sym] = value
                elif g.key_of(sym) is not None:
                    inputs[g.key_of(sym)] = value
            points.append(_Point(target, inputs, variables, region.describe()))
    return points


def _sample_variables(target: _Target, rng: random.Random) -> dict:
    """Exact random values in [-2, 2] (never 0) for a scalar rule's variables."""
    return {sym: Fraction(rng.randint(-20, 20), 10) or Fraction(3, 10) for sym in target.variables.values()}


def _points(target: _Target, rng: random.Random, count: int) -> list:
    compiled = target.compiled
    points, seen = [], set()
    for _ in range(count * 4):
        inputs = compiled.sample(rng) if compiled.graph.nodes else {}
        variables = _sample_variables(target, rng)
        key = (tuple(sorted(inputs.items(), key=str)), tuple(sorted(variables.items(), key=str)))
        if key in seen:
            continue
        seen.add(key)
        points.append(_Point(target, inputs, variables))
        if len(points) == count:
            break
    return points


def _screen(target: _Target, points: list, settings: dict) -> tuple:
    """Evaluate every claim at the points; raise _Refuted on a confirmed difference.
    Returns (points where all claims were defined, largest relative difference seen)."""
    with mpmath.workdps(settings["confirm_dps"]):  # compare at the precision of the values
        return _screen_points(target, points, settings)


def _screen_points(target: _Target, points: list, settings: dict) -> tuple:
    largest = mpmath.mpf(0)
    used = 0
    for point in points:
        defined = False
        for claim in target.claims:
            lv = point.evaluate(claim.lhs, settings["screen_dps"])
            rv = point.evaluate(claim.rhs, settings["screen_dps"])
            if lv is None or rv is None:
                continue
            defined = True
            diff = numeric.relative_difference(lv, rv)
            if diff > settings["screen_tolerance"]:
                confirmed = _confirm(point, claim, lv, rv, settings)
                if confirmed is not None:
                    lhs, rhs, certified = confirmed
                    where = ", ".join(x for x in (claim.instance, point.region and f"region {point.region}") if x)
                    cx = Counterexample(where, target.compiled.sizes, point.describe(), lhs, rhs, certified)
                    raise _Refuted("counterexample", str(cx), cx)
            largest = max(largest, diff)
        used += defined
    return used, largest


def _confirm(point: _Point, claim: _Claim, lv, rv, settings: dict):
    """Make a screened difference certain, or drop it: (left, right, how certified) or None.

    Interval arithmetic at the confirming precision encloses each side's true value at the
    exact input; disjoint enclosures prove the sides differ there. Only where an interval
    evaluation is not available (a function mpmath.iv lacks) does a floating-point
    confirmation stand in: 60 digits, stable against the 30-digit values, and it says so."""
    dps = settings["confirm_dps"]
    try:
        left, right = point.evaluate(claim.lhs, dps, numeric.IV), point.evaluate(claim.rhs, dps, numeric.IV)
    except numeric.Unsupported:
        lv2, rv2 = point.evaluate(claim.lhs, dps), point.evaluate(claim.rhs, dps)
        stable = lv2 is not None and rv2 is not None and \
            numeric.relative_difference(lv2, lv) < 1e-20 and numeric.relative_difference(rv2, rv) < 1e-20
        if stable and numeric.relative_difference(lv2, rv2) > settings["confirm_tolerance"]:
            return numeric.show(lv2), numeric.show(rv2), f"{dps}-digit arithmetic (no interval enclosure)"
        return None
    if left is None or right is None or not numeric.disjoint(left, right):
        return None
    return (numeric.show(numeric.midpoint(left)), numeric.show(numeric.midpoint(right)),
            f"interval arithmetic at {dps} digits")


def _cross_check(target: _Target, point: _Point, rng: random.Random) -> None:
    """Chain rule vs central differences of the forward pass alone, along a random direction."""
    compiled = target.compiled
    g = compiled.graph
    if compiled.kind == "scalar" or not g.nodes:
        return
    final = "C" if compiled.kind == "network" else list(g.nodes)[-1]
    free = [k for k in g.input_keys() if k not in compiled.given]
    if not free:
        return
    dps = 80
    direction = {k: Fraction(rng.randint(-10, 10), 10) for k in free}
    try:
        node_values, _ = point.values(dps)
        adjoints = g.adjoints(final, node_values, dps)
    except numeric.Undefined:
        return  # nothing to compare at a point where the graph is undefined
    h = Fraction(1, 10**25)

    def moved(sign):
        inputs = dict(point.inputs)
        for k in free:
            inputs[k] = inputs[k] + sign * h * direction[k]
        return g.forward(inputs, dps)[g.nodes[final].symbol]

    with mpmath.workdps(dps):
        along = mpmath.fsum(adjoints.get(k, 0) * numeric.exact(direction[k]) for k in free)
        try:
            central = (moved(1) - moved(-1)) / (2 * numeric.exact(h))
        except numeric.Undefined:
            return  # the point sits on the edge of the graph's domain
        if numeric.relative_difference(along, central) > mpmath.mpf("1e-20"):
            raise RuntimeError(f"chain-rule cross-check failed for {final}: backprop gives "
                               f"{numeric.show(along)}, central differences {numeric.show(central)}")


# ---------------------------------------------------------------- finite differences (--numeric)


def _finite_differences(targets: list, rng: random.Random, count: int = 3) -> str:
    """Every derived gradient of the rule against central differences, at random points."""
    largest, compared, points_used = mpmath.mpf(0), set(), 0
    for target in targets:
        g = target.compiled.graph
        pairs = sorted({g.opaque[sym] for claim in target.claims for side in (claim.lhs, claim.rhs)
                        for sym in side.free_symbols if sym in g.opaque}, key=str)
        for point in _points(target, rng, count):
            used = False
            for target_key, source in pairs:
                try:
                    derived, approx = numdiff.graph_central_difference(g, target_key, source, point.inputs)
                except numeric.Undefined:
                    continue
                largest, used = max(largest, numeric.relative_difference(derived, approx)), True
                compared.add((id(target), target_key, source))
            env = {sym: numeric.exact(v) for sym, v in point.variables.items()}
            if g.nodes and target.derivatives:
                try:
                    env.update(point.values(numdiff.DPS)[0])
                except numeric.Undefined:
                    continue
            for index, (derivative, function, variable, order, where) in enumerate(target.derivatives):
                if order > 2:
                    continue
                try:
                    with numeric.precision(numeric.MP, numdiff.DPS):
                        at = numeric.evaluate(g.expanded(where), env) if where is not variable else env[variable]
                    derived, approx = numdiff.scalar_central_difference(
                        g.expanded(derivative), g.expanded(function), variable, order, {**env, variable: at})
                except (numeric.Undefined, numeric.Unsupported, KeyError):
                    continue
                largest, used = max(largest, numeric.relative_difference(derived, approx)), True
                compared.add((id(target), index))
            points_used += used
    if not compared:
        return "no derived gradient in this rule to compare with finite differences"
    return (f"central differences (h = 1e-12, {numdiff.DPS} digits) against {len(compared)} derived "
            f"gradient(s) at {points_used} random point(s): largest relative error {mpmath.nstr(largest, 3)} "
            f"(numeric evidence, not a proof)")


# ---------------------------------------------------------------- proofs


def _clearly_nonzero(expr: sp.Expr) -> bool:
    """Is `expr`, with every symbol (∂ symbols included) an independent variable, clearly
    not 0 at a random point? Then the exact zero test, which treats ∂ symbols as
    independent too, must fail at this stage, and is skipped. Only a shortcut: the last
    stage (no ∂ symbols) is always tested exactly, so skipping can never prove anything."""
    # A fixed seed over the symbols in name order: reproducible, and cheap (printing the
    # expression to seed it cost more than evaluating it).
    rng = random.Random(DEFAULTS["seed"])
    env = {x: mpmath.mpf(rng.randint(-19, 19)) / 10 + mpmath.mpf(1) / 7 for x in sorted(expr.free_symbols, key=str)}
    values = []
    for dps in (30, 60):
        try:
            value = numeric.value_at(expr, env, dps)
        except (numeric.Unsupported, TypeError, ValueError, ArithmeticError):
            return False
        if value is None:
            return False
        values.append(value)
    low, high = values
    return abs(high) > 1e-6 and abs(low - high) < abs(high) / 100


def _prove(target: _Target, claim: _Claim) -> tuple | None:
    """(chain-rule steps, regions) after which the claim's difference is shown to be 0 on
    every region, or None. Raises _Undefined for a claim at a kink."""
    compiled = target.compiled
    g = compiled.graph
    fixed = compiled.fixed()
    for steps, stage in enumerate(g.derive_partials(claim.lhs - claim.rhs)):
        stage = stage.xreplace(fixed) if fixed else stage
        if g.expanded(stage) is sp.nan:
            raise _Undefined("a derivative in this rule does not exist at the point it names "
                             "(a kink of a piecewise function, or a tie in max)"
                             + (f", at {claim.instance}" if claim.instance else ""))
        if stage.free_symbols & set(g.opaque) and _clearly_nonzero(g.expanded(stage)):
            continue  # not yet: the exact test would fail here; expand further
        regions = zero_regions(stage, g.functions)
        if regions is not None:
            return steps, regions
    return None


# ---------------------------------------------------------------- one rule


def _check(rule: Rule, compiled: list, settings: dict, report, notes: dict) -> tuple:
    """(verdict, how, detail, counterexample) for one rule; `report` receives evidence,
    `notes` the finite-difference comparison when settings ask for it."""
    rng = random.Random(f"{settings['seed']}:{rule.name}")
    targets = [_Target(c, []) for c in compiled]
    for target in targets:
        # The derivatives taken are recorded only when they will be compared (--numeric).
        target.claims = _claims(rule, target.compiled, target.variables,
                                target.derivatives if settings["numeric"] else None)
    if settings["numeric"]:
        notes["numeric"] = _finite_differences(targets, random.Random(f"{settings['seed']}:fd:{rule.name}"))
    checked_points, largest = 0, mpmath.mpf(0)
    for target in targets:
        points = _region_points(target, rng) + _points(target, rng, settings["screen_points"])
        if points:
            _cross_check(target, points[0], rng)
        used, diff = _screen(target, points, settings)
        checked_points += used
        largest = max(largest, diff)
    evidence = (f"numeric: {sum(len(t.claims) for t in targets)} entries agree at {checked_points} exact "
                f"random point(s), largest relative difference {mpmath.nstr(largest, 3)}")
    report(evidence)
    most_steps, most_regions, unproved = 0, 1, []
    for target in targets:
        for claim in target.claims:
            proof = _prove(target, claim)
            if proof is None:
                unproved.append(claim.instance or "the rule")
            else:
                most_steps, most_regions = max(most_steps, proof[0]), max(most_regions, proof[1])
    sizes = " and ".join(",".join(map(str, t.compiled.sizes)) for t in targets if t.compiled.sizes)
    at = f" at sizes {sizes}" if sizes else ""
    n = sum(len(t.claims) for t in targets)
    if unproved:
        return ("undecided", "unproved",
                f"not shown symbolically for {len(unproved)} of {n} entries (first: {unproved[0]}); {evidence}",
                None, evidence)
    steps = f" after {most_steps} chain-rule step{'s' if most_steps > 1 else ''}" if most_steps else ""
    regions = f" on each region ({most_regions}{' at most' if n > 1 else ''}, pieces fixed; boundaries excluded)" \
        if most_regions > 1 else ""
    # Never "proved" without the independent audit (derive.audit) agreeing at its points.
    checked = _audit(rule, targets, settings)
    if checked.disagreement:
        return ("error", "audit", f"the proof is contradicted by the independent audit, {checked.disagreement}",
                None, evidence)
    if checked.unaudited:
        return ("undecided", "unaudited", f"shown symbolically, but {checked.unaudited}; {evidence}", None, evidence)
    agree = f"audit: {checked.points} point{'s' if checked.points != 1 else ''} agree"
    return ("proved", "symbolic", f"difference ≡ 0{regions}{steps}; {n} entr{'y' if n == 1 else 'ies'}{at}; {agree}",
            None, evidence)


def _audit(rule: Rule, targets: list, settings: dict) -> audit.Result:
    """The audit of a rule about to be reported proved, at every size set it was proved at."""
    sources = [t.compiled.audit_source for t in targets]
    if any(source is None for source in sources):
        return audit.Result(unaudited="the audit has no model for this rule (compiled outside CompiledDocument)")
    return audit.audit_rule(rule, [target for target, _ in sources], sources[0][1], str(settings["seed"]))


def check_rule(rule: Rule, compiled: list, filename: str, timeout: float | None = None,
               settings: dict | None = None, source: str = "") -> Verdict:
    """Check one rule against its compiled declaration(s), under a time limit (seconds;
    None or ≤ 0: no limit, run in this process)."""
    settings = dict(DEFAULTS, **(settings or {}))
    started = time.perf_counter()

    def run(report) -> Verdict:
        notes: dict = {}
        try:
            verdict, how, detail, cx, evidence = _check(rule, compiled, settings, report, notes)
        except _Refuted as r:
            verdict, how, detail, cx, evidence = "refuted", r.how, r.detail, r.counterexample, ""
        except _Undefined as u:
            verdict, how, detail, cx, evidence = "undefined", "kink", str(u), None, ""
        except DeriveError as e:
            verdict, how, detail, cx, evidence = "error", "bad input", str(e.located(filename, source)), None, ""
        except Exception as e:  # a bug in derive must never look like a verdict
            log.debug("internal error", exc_info=True)
            verdict, how, detail, cx, evidence = ("error", "internal", f"{type(e).__name__}: {e}", None,
                                                  traceback.format_exc(limit=3))
        return Verdict(filename, rule.name, rule.pos.line, rule.pos.column, rule.context, rule.expected, verdict,
                       how, detail, time.perf_counter() - started, cx, evidence, notes.get("numeric", ""))

    if timeout is None or timeout <= 0:
        return run(lambda evidence: None)
    return _run_limited(run, rule, filename, timeout, started)


def _run_limited(run, rule: Rule, filename: str, timeout: float, started: float) -> Verdict:
    """Run `run` in a forked child so a runaway SymPy call can be stopped at the limit."""
    outcome = run_limited(lambda send: send(("result", run(lambda evidence: send(("evidence", evidence))))),
                          timeout - (time.perf_counter() - started))
    results = [payload for kind, payload in outcome.messages if kind == "result"]
    if results:
        return results[0]
    evidence = next((payload for kind, payload in reversed(outcome.messages) if kind == "evidence"), "")
    elapsed = time.perf_counter() - started
    if outcome.timed_out:
        detail = f"time limit of {timeout:g} s hit" + (f"; {evidence}" if evidence else " before the numeric screen ended")
        return Verdict(filename, rule.name, rule.pos.line, rule.pos.column, rule.context, rule.expected,
                       "undecided", "time limit", detail, elapsed, None, evidence)
    return Verdict(filename, rule.name, rule.pos.line, rule.pos.column, rule.context, rule.expected, "error",
                   "internal", f"the checking process ended unexpectedly (exit code {outcome.exitcode})",
                   elapsed, None, evidence)


# ---------------------------------------------------------------- documents


class CompiledDocument:
    """A document's functions and declarations compiled at every size its rules need."""

    def __init__(self, doc: Document):
        self.doc = doc
        self.functions = build_functions(doc.functions)
        self.scalar = compile_scalar(self.functions)
        self.graphs = {name: compile_graph(g, self.functions) for name, g in doc.graphs.items()}
        self.networks = {}
        for name, net in doc.networks.items():
            sets = [compile_network(net, net.sizes, self.functions)]
            if net.also_sizes:
                sets.append(compile_network(net, net.also_sizes, self.functions))
            self.networks[name] = sets
        # What the audit reads instead of the compiled form: the model, at each size set.
        self.scalar.audit_source = (audit.Target("scalar"), doc.functions)
        for name, c in self.graphs.items():
            c.audit_source = (audit.Target("graph", doc.graphs[name]), doc.functions)
        for name, sets in self.networks.items():
            for c in sets:
                c.audit_source = (audit.Target("network", doc.networks[name], c.sizes), doc.functions)

    def targets_for(self, rule: Rule) -> list:
        if rule.context is None:
            return [self.scalar]
        if rule.context in self.graphs:
            return [self.graphs[rule.context]]
        sets = self.networks[rule.context]
        return sets if _size_generic(rule) else sets[:1]


def _size_generic(rule: Rule) -> bool:
    """A rule naming no literal component index holds, if at all, at every size."""

    def literal_index(e) -> bool:
        if isinstance(e, s.Sub) and any(isinstance(i, s.Num) for i in e.items):
            return True
        return any(literal_index(child) for child in s.children(e))

    return not (literal_index(rule.lhs) or literal_index(rule.rhs))


def check_document(doc: Document, timeout: float | None = DEFAULTS["timeout"], select=None,
                   settings: dict | None = None) -> list:
    """Verdicts for every rule of a document (in file order). Raises DeriveError on bad
    declarations (a loss of the wrong shape, an unusable assumption)."""
    compiled = CompiledDocument(doc)
    rules = [r for r in doc.all_rules() if select is None or select(r)]
    return [check_rule(r, compiled.targets_for(r), doc.filename, timeout, settings, source=doc.source)
            for r in rules]
