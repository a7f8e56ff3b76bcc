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
fixed (`derive.regions`), tie sets (a comparison exactly 0) included, and screened at a
point inside every region as well as at random points, so a claim wrong on one region
only is refuted there; on a tie the point is exact (x = 0, x = π) and the pieces are
fixed as they are there. A claim about a point where a derivative does not exist
(relu'(0), |t|'(0), sqrt'(0), a jump; decided by one-sided limits, `derive.kinks`) is
**undefined** (how: "kink"): neither proved nor refuted; a file expects that with
`undefined rule`. Nothing checked is never a proof: a rule with no entries, or whose
entries were defined at no point screened, is not proved (undefined when a side exists
nowhere, undecided when no point was found).

Every verdict carries its scope (`derive.scope.Scope`): the size sets it holds at (and
those it does not), the assumptions, and the values left out where a side has no value.

A rule whose sides do not fit together (shapes, an index outside its range) is refuted
with both shapes named. Before any verdict on a network or graph, the chain-rule
machinery is cross-checked against central differences of the forward pass.
"""

from __future__ import annotations

import logging
import random
import time
import traceback
from dataclasses import asdict, dataclass, field, replace
from fractions import Fraction

import mpmath
import sympy as sp

from . import audit, kinks, numdiff, numeric
from . import syntax as s
from .errors import DeriveDeclarationError, DeriveError
from .evaluate import Evaluator, ShapeMismatch, describe_shape, instances
from .functions import NOT_REAL_HINT, UndecidedTie, WrittenKink, is_not_real_comparison, not_real_value
from .graphs import Compiled, build_functions, compile_graph, compile_network, compile_scalar
from .limits import LIMITS, run_limited
from .model import Document, Rule, default_also_sizes
from .regions import CannotSplit, fix, split, undefined_at
from .scope import DEFINED, NOTHING, Scope, over
from .vocabulary import Expected, Extent, How, Outcome
from .zero import NowhereDefined, without_constant_arguments, zero_regions_excluded

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
    functions: tuple = ()  # the function chosen for each one with no body: ("f(t) = exp(t/2)", …)

    def __str__(self) -> str:  # the size set is the verdict's scope (Verdict.scope), not repeated here
        where = self.instance
        point = "; inputs " + ", ".join(f"{k}={v}" for k, v in self.inputs) if self.inputs else ""
        how = f" ({self.certified})" if self.certified else ""
        chosen = f"with {', '.join(self.functions)}: " if self.functions else ""
        return f"{chosen}{'at ' + where + ': ' if where else ''}left = {self.lhs}, right = {self.rhs}{how}{point}"


@dataclass
class Verdict:
    """The result of checking one rule."""

    file: str
    rule: str
    line: int
    column: int
    context: str | None
    expected: Expected  # proved; refuted (a rule marked `wrong`); undefined (marked `undefined`)
    verdict: Outcome  # proved | refuted | undecided | undefined | error
    how: How  # see derive.vocabulary
    detail: str
    seconds: float = 0.0
    counterexample: Counterexample | None = None
    evidence: str = ""
    numeric: str = ""  # with --numeric: derived gradients against central differences (evidence only)
    scope: Scope = NOTHING  # over what the verdict was reached (derive.scope): sizes, region, assumptions

    def __post_init__(self) -> None:  # plain text is accepted; anything outside the vocabularies is an error
        self.expected, self.verdict, self.how = Expected(self.expected), Outcome(self.verdict), How(self.how)

    @property
    def ok(self) -> bool:
        return self.verdict == self.expected

    def to_dict(self) -> dict:
        d = asdict(self)
        if self.counterexample is not None:
            d["counterexample"] = asdict(self.counterexample)
            d["counterexample"]["inputs"] = dict(self.counterexample.inputs)
        d["scope"] = self.scope.to_dict()
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
    checked: set = field(default_factory=set)  # indices of the claims defined at some point screened
    undefined: str = ""  # a point screened where a side of some claim has no value (for the scope)
    written: bool = False  # a scalar rule taking no derivative: its ties are read as written (`regions.split`)


# ---------------------------------------------------------------- claims


def _describe(assignment: dict) -> str:
    return ", ".join(f"{k}={v}" for k, v in assignment.items())


def _series_claims(rule: Rule, compiled: Compiled, variables: dict) -> list:
    """A Taylor claim as one claim per coefficient: the k-th derivatives at the point, / k!."""
    var_name, point_expr, order = rule.series  # type: ignore[misc]  # a series rule: never None here
    ctx = compiled.symbolic(variables)
    ev = Evaluator(ctx, {})
    var = ctx.variable(var_name, rule.pos)
    try:
        left, right, point = ev.eval(rule.lhs), ev.eval(rule.rhs), ev.eval(point_expr)
    except ShapeMismatch as e:
        raise _Refuted("shape", f"{e.message}, at line {e.pos.line}:{e.pos.column}") from None
    left, right, point = (v[0, 0] if isinstance(v, sp.MatrixBase) and v.shape == (1, 1) else v
                          for v in (left, right, point))
    if any(isinstance(v, sp.MatrixBase) for v in (left, right, point)):
        raise _Refuted("shape", "a series claim is about scalars")
    claims = []
    expanded = {id(side): compiled.graph.functions.expand_definitions(side) for side in (left, right)}
    for k in range(order):
        # the k-th derivative at the point: by one-sided limits where pieces meet or the value
        # is 0/0 (a removable singularity such as (exp(x) − 1)/x), NaN where it does not exist
        coefficient = lambda side, k=k: kinks.value_of_derivative(  # noqa: E731
            expanded[id(side)], var, point, k, extend=True) / sp.factorial(k)
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
    if lm != rm:  # a scalar side broadcasts, as in `aᴸ − aᴸ = 0`: `T = s` means T − s = 0, entry by entry
        left, right = (left, sp.Matrix(left.rows, left.cols, [right] * len(left))) if lm else \
            (sp.Matrix(right.rows, right.cols, [left] * len(right)), right)
        lm = rm = True
    if lm and left.shape != right.shape:
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
        self.inputs = inputs  # graph input key → Fraction (a SymPy number where an assumption gives one)
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


def _fraction_text(v) -> str:
    """An exact input for people: a Fraction, or a SymPy number (an assumption's 8π/5)."""
    if not isinstance(v, Fraction):
        return sp.sstr(v)
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
        full = g.expanded(kinks.substitute(full, compiled.fixed()))
        if not full.has(sp.Piecewise):
            continue
        try:
            regions = split(full, rng)
        except CannotSplit:
            continue
        for region in regions:
            if not region.witness or region.ties:
                continue  # a tie's point is checked exactly, by _exact_screen
            inputs = compiled.sample(rng) if g.nodes else {}
            variables = _sample_variables(target, rng)
            for sym, value in region.witness:
                if sym in variables:
                    variables[sym] = value
                elif g.key_of(sym) is not None:
                    inputs[g.key_of(sym)] = value
            points.append(_Point(target, inputs, variables, region.describe()))
    return points


def _full(target: _Target, side: sp.Expr) -> sp.Expr:
    """A claim's side with every ∂ symbol expanded by the chain rule, in the inputs (graph)
    or variables (scalar rule), defined functions unfolded and given values put in."""
    g = target.compiled.graph
    *_, full = g.derive_partials(side)
    fixed = target.compiled.fixed()
    return g.expanded(kinks.substitute(full, fixed) if fixed else full)


def _exact_screen(target: _Target, rng: random.Random, settings: dict) -> set:
    """Each claim at an exact point of each region of its pieces (each tie set g = 0, and
    each open region, where a derivative on a flat tie leaves numbers undefined), with the
    pieces fixed as they are there, and, for a claim without pieces, at one exact point (a graph's
    given values): the one route that decides a comparison exactly on its boundary, where
    the numeric screen sees only "too near a kink". Raises _Refuted on disjoint interval
    enclosures; returns the indices of the claims that were defined at a point checked.
    Scalar rules and graphs (a network's claims are too large to expand in full)."""
    compiled = target.compiled
    if compiled.kind == "network":
        return set()
    g = compiled.graph
    checked = set()
    free = _free_inputs(target)
    for index, claim in enumerate(target.claims):
        if free and not (g.has_pieces() or g.expanded(claim.lhs - claim.rhs).has(sp.Piecewise)):
            continue  # no piece, many points: the numeric screen's random points do this
        lhs, rhs = _full(target, claim.lhs), _full(target, claim.rhs)
        difference = lhs - rhs
        if difference.has(sp.Piecewise):
            try:
                # every region: a tie's exact point, and an open region's where a derivative on a
                # flat tie (relu′(u), u ≡ 0 there) leaves numbers undefined
                regions = [r for r in split(difference, rng, target.written) if r.witness is not None and r.defined]
            except CannotSplit:
                continue
        elif difference.free_symbols:
            continue  # nothing a random point of the numeric screen does not do
        else:
            regions = [None]
        for region in regions:
            left, right = (lhs, rhs) if region is None else (fix(lhs, region.signs), fix(rhs, region.signs))
            point = dict(region.witness) if region is not None else {}
            others = (left.free_symbols | right.free_symbols) - set(point)
            point.update({sym: Fraction(rng.randint(-20, 20), 10) or Fraction(3, 10)
                          for sym in sorted(others, key=str)})
            exact = {k: sp.Rational(v.numerator, v.denominator) if isinstance(v, Fraction) else v
                     for k, v in point.items()}
            if target.written and region is not None and region.ties and \
                    any(undefined_at(side, region.signs, exact) for side in (lhs, rhs)):
                continue  # a side as written has no value at the tie (relu(x)/x at x = 0): no point to compare
            try:
                lv = numeric.value_at(left.xreplace(exact), {}, settings["confirm_dps"], numeric.IV)
                rv = numeric.value_at(right.xreplace(exact), {}, settings["confirm_dps"], numeric.IV)
            except numeric.Unsupported:
                continue
            if lv is None or rv is None:
                continue
            checked.add(index)
            if numeric.disjoint(lv, rv):
                inputs = tuple((_label(g, sym), _fraction_text(v) if isinstance(v, Fraction) else str(v))
                               for sym, v in sorted(point.items(), key=lambda kv: str(kv[0])))
                where = ", ".join(x for x in (claim.instance, region and f"region {region.describe()}") if x)
                cx = Counterexample(where, compiled.sizes, inputs, numeric.show(numeric.midpoint(lv)),
                                    numeric.show(numeric.midpoint(rv)),
                                    f"interval arithmetic at {settings['confirm_dps']} digits, pieces fixed exactly")
                raise _Refuted("counterexample", str(cx), cx)
    return checked


def _side_nowhere_defined(target: _Target, claim: _Claim) -> bool:
    """Is a side of the claim NaN on every region of its pieces (a derivative on a tie that
    holds everywhere)? Scalar rules and graphs only."""
    if target.compiled.kind == "network":
        return False
    for side in (claim.lhs, claim.rhs):
        full = _full(target, side)
        if full in (sp.nan, sp.zoo):
            return True
        if full.has(sp.Piecewise):
            try:
                regions = split(full, written=target.written)
            except CannotSplit:
                continue
            if regions and not any(r.defined for r in regions):
                return True
    return False


def _label(g, sym) -> str:
    key = g.key_of(sym)
    return str(sym) if key is None else g.nodes[key].label


def _sample_variables(target: _Target, rng: random.Random) -> dict:
    """Exact random values in [-2, 2] (never 0) for a scalar rule's variables."""
    return {sym: Fraction(rng.randint(-20, 20), 10) or Fraction(3, 10) for sym in target.variables.values()}


def _free_inputs(target: _Target) -> bool:
    """Does the target have inputs not fixed by the file (so more than one point to try)?"""
    compiled = target.compiled
    return bool(target.variables) or any(k not in compiled.given and compiled.graph.nodes[k].symbol
                                         not in compiled.assumptions for k in compiled.graph.input_keys())


def _points(target: _Target, rng: random.Random, count: int, wide: bool = False) -> list:
    """`count` distinct random points; `wide`: a scalar rule's variables mostly in [-10, 10]
    and [-100, 100] (a domain such as x > 5 lies outside the usual [-2, 2])."""
    compiled = target.compiled
    points, seen = [], set()
    for attempt in range(count * 4):
        inputs = compiled.sample(rng) if compiled.graph.nodes else {}
        variables = _sample_variables(target, rng)
        if wide and attempt % 3:
            scale = 10 ** (attempt % 3)  # [-10, 10] and [-100, 100] by turns
            variables = {sym: Fraction(rng.randint(-100 * scale, 100 * scale), 10) or Fraction(7, 10)
                         for sym in variables}
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
        for index, claim in enumerate(target.claims):
            lv = point.evaluate(claim.lhs, settings["screen_dps"])
            rv = point.evaluate(claim.rhs, settings["screen_dps"])
            if lv is None or rv is None:
                if not target.undefined:
                    target.undefined = ", ".join(f"{k}={v}" for k, v in point.describe())
                continue
            defined = True
            target.checked.add(index)
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


def _cross_check(target: _Target, point: _Point, rng: random.Random) -> bool:
    """Chain rule vs central differences of the forward pass alone, along a random direction.
    False: nothing to compare (no graph, no free input, or undefined at this point)."""
    compiled = target.compiled
    g = compiled.graph
    if compiled.kind == "scalar" or not g.nodes:
        return False
    final = "C" if compiled.kind == "network" else list(g.nodes)[-1]
    free = [k for k in g.input_keys() if k not in compiled.given]
    if not free:
        return False
    direction = {k: Fraction(rng.randint(-10, 10), 10) for k in free}
    # The central difference errs by about h² f‴/6: a steep function (exp(10^16 a)) needs a
    # far smaller step and more digits; only if that finer step disagrees too is it an error.
    for dps, h in ((80, Fraction(1, 10**25)), (240, Fraction(1, 10**75))):
        try:
            node_values, _ = point.values(dps)
            adjoints = g.adjoints(final, node_values, dps)
        except numeric.Undefined:
            return False  # nothing to compare at a point where the graph is undefined

        def moved(sign, dps=dps, h=h):
            inputs = dict(point.inputs)
            for k in free:
                inputs[k] = inputs[k] + sign * h * direction[k]
            return g.forward(inputs, dps)[g.nodes[final].symbol]

        with mpmath.workdps(dps):
            along = mpmath.fsum(adjoints.get(k, 0) * numeric.exact(direction[k]) for k in free)
            try:
                central = (moved(1) - moved(-1)) / (2 * numeric.exact(h))
            except numeric.Undefined:
                return False  # the point sits on the edge of the graph's domain
            if numeric.relative_difference(along, central) <= mpmath.mpf("1e-20"):
                return True
    raise RuntimeError(f"chain-rule cross-check failed for {final}: backprop gives "
                       f"{numeric.show(along)}, central differences {numeric.show(central)}")


CROSS_CHECK_POINTS = 5  # random points tried for the cross-check of a graph, until one is defined


def _cross_check_result(compiled: Compiled, settings: dict) -> str:
    """The chain-rule cross-check of one compiled graph at a random point of its own where
    the graph is defined (the same for every rule on it): "" when it passed, otherwise why
    it failed."""
    target = _Target(compiled, [])
    rng = random.Random(f"{settings['seed']}:cross-check")
    try:
        for point in _points(target, rng, CROSS_CHECK_POINTS):  # until one where the graph is defined
            if _cross_check(target, point, rng):
                break
    except RuntimeError as e:
        return str(e)
    return ""


def _cross_checked(compiled: Compiled, settings: dict) -> None:
    """Raise RuntimeError unless the chain-rule machinery of `compiled` passed its
    cross-check. Done once per compiled graph: `cross_check_all` does it in the parent
    before the rules' children are forked (they inherit the result); where it has not
    been done (or could not be), it is done here."""
    if compiled.cross_checked is None:
        compiled.cross_checked = _cross_check_result(compiled, settings)
    if compiled.cross_checked:
        raise RuntimeError(compiled.cross_checked)


def cross_check_all(compiled: list, settings: dict | None = None) -> None:
    """Cross-check each compiled graph of `compiled` once, in this process, and keep the
    result on it: the rules checked on it later (each in a child forked from here) inherit
    it, and the local derivatives it computed, instead of redoing them. It is work on the
    declarations, like compiling: call it where compiling is time-limited (`time_box`). A
    failed cross-check is kept too: every rule on that graph then gets the error verdict.
    One that ends in an error of derive is left undone: each rule then does it itself, in
    its own child, and reports the error."""
    settings = dict(DEFAULTS, **(settings or {}))
    for c in compiled:
        if c.cross_checked is not None or c.kind == "scalar" or not c.graph.nodes:
            continue
        try:
            c.cross_checked = _cross_check_result(c, settings)
        except Exception:  # left undone: the rule's own check reports it
            log.debug("cross-check left to the rules", exc_info=True)


# ---------------------------------------------------------------- finite differences (--numeric)


def _finite_differences(targets: list, rng: random.Random, count: int = 3) -> str:
    """Every derived gradient of the rule against central differences, at random points."""
    compared: set = set()  # (target, key, source) of graph derivatives, (target, index) of scalar ones
    largest, points_used = mpmath.mpf(0), 0
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
    """(chain-rule steps, (regions, regions left out)) after which the claim's difference is
    shown to be 0 on every region where it exists, or None. Raises _Undefined for a claim at
    a kink, or one that exists on no region."""
    compiled = target.compiled
    g = compiled.graph
    fixed = compiled.fixed()
    kink = ("a derivative in this rule does not exist at the point it names "
            "(a kink of a piecewise function, or a tie in max)" + (f", at {claim.instance}" if claim.instance else ""))
    for steps, stage in enumerate(g.derive_partials(claim.lhs - claim.rhs)):
        stage = g.at_given(stage, fixed)
        if stage is None:
            continue  # a given value's factor 0 would remove a ∂ not yet expanded
        if g.expanded(stage) in (sp.nan, sp.zoo):
            return _prove_at_kink(target, claim, kink)
        if stage.free_symbols & set(g.opaque) and _clearly_nonzero(g.expanded(stage)):
            continue  # not yet: the exact test would fail here; expand further
        try:
            shown = zero_regions_excluded(stage, g.functions, target.written)
        except NowhereDefined:
            if stage.free_symbols & set(g.opaque):
                continue  # a ∂ symbol still opaque may yet make it defined
            return _prove_at_kink(target, claim, kink)
        if shown is not None:
            if shown[1] and _tie_may_have_a_value(target, claim):
                return None
            return steps, shown
    return None


def _tie_may_have_a_value(target: _Target, claim: _Claim) -> bool:
    """Is a tie left out as undefined (x = 1/3 of a rule in x alone) where both sides may
    have values that differ? A side NaN there as the chain rule gives it (1/(2√u)·u′·(x − 1/3)
    with u = relu(x − 1/3)) may still have a derivative: (x − 1/3)·√relu(x − 1/3) has 0 at
    1/3, the common limit from both sides. So each side's value there is its value, or else
    the common finite limit of the side beside it; when both have one and they differ, the
    tie is not left out unseen: the claim is not proved."""
    sides = [_full(target, side) for side in (claim.lhs, claim.rhs)]
    variables = set().union(*(e.free_symbols for e in sides))
    if len(variables) != 1 or not any(e.has(sp.Piecewise) for e in sides):
        return False
    (v,) = variables
    points = []
    for full in sides:
        try:
            regions = split(full) if full.has(sp.Piecewise) else []
        except CannotSplit:
            return True
        for region in regions:
            if region.defined or not region.ties or region.witness is None:
                continue
            p = dict(region.witness).get(v)
            if p is not None:
                points.append(sp.Rational(p.numerator, p.denominator) if isinstance(p, Fraction) else p)
    for p in dict.fromkeys(points):
        values = [_value_or_limit(full, v, p) for full in sides]
        if any(value is False for value in values):
            return True  # not decided
        if all(value is not None for value in values) and not kinks._same(*values):
            return True
    return False


def _value_or_limit(full: sp.Expr, v: sp.Symbol, p: sp.Expr):
    """A side's value at v = p, else (a derivative taken by `diff`, whose function is
    continuous there or has no derivative there at all) its common finite limit from both
    sides, the chain rule's products with a factor u′ ≡ 0 beside p made 0; else None;
    False if undecided."""
    try:
        value = kinks.substitute(full, {v: p})
        if not value.has(sp.Piecewise, UndecidedTie) and kinks._finite(value):
            return value
        if full.has(WrittenKink):
            return None  # x·relu′(x) as written is no derivative of anything: no value at 0
        signs = tuple((g, 0) for g in sorted(_compared(full), key=str) if g.xreplace({v: p}) == 0)
        left, right = (kinks.one_sided_limit(without_constant_arguments(
            full, tuple((g, kinks._sign_beside(g, v, p, side)) for g, _ in signs)), v, p, side)
            for side in (-1, 1))
    except (kinks.Undecided, CannotSplit, ValueError, TypeError, NotImplementedError, ArithmeticError):
        return False
    return left if left is not None and right is not None and kinks._same(left, right) else None


def _compared(e: sp.Expr) -> set:
    """The compared expressions g (normalised) of e's pieces."""
    from .regions import _key

    return {_key(c)[0] for c in e.atoms(sp.Gt, sp.Ge, sp.Lt, sp.Le)}


def _prove_at_kink(target: _Target, claim: _Claim, kink: str) -> tuple | None:
    """A graph's claim at its given point, where the chain rule meets a kink (NaN): each
    ∂T/∂n with n a given input is decided as a derivative of one variable by one-sided
    limits (`kinks`): T continuous in n at the point, and the chain-rule expression for
    ∂T/∂n having equal finite limits from both sides. Then the claim is proved, or refuted
    at the point; any other ∂ (by an inner node, by a free input), or limits that do not
    agree, leave it undefined (raises _Undefined)."""
    compiled = target.compiled
    g = compiled.graph
    fixed = compiled.fixed()
    difference = claim.lhs - claim.rhs
    values = {}
    for sym in sorted(difference.free_symbols & set(g.opaque), key=str):
        node, source = g.opaque[sym]
        u = g.nodes[source].symbol
        if g.nodes[source].definition is not None or u not in fixed or u in compiled.assumptions:
            raise _Undefined(kink)
        others = {k: v for k, v in fixed.items() if k != u}
        *_, chain = g.derive_partials(sym)
        along = g.expanded(chain).xreplace(others)
        value = g.expanded(g.nodes[node].base).xreplace(others)
        try:
            continuous = kinks.derivative_at(value, u, fixed[u], 0)
            left = kinks.one_sided_limit(along, u, fixed[u], -1)
            right = kinks.one_sided_limit(along, u, fixed[u], 1)
        except kinks.Undecided:
            raise _Undefined(kink) from None
        if continuous is sp.nan or left is None or right is None or sp.expand(left - right) != 0:
            raise _Undefined(kink)
        values[sym] = left
    sides = [g.expanded(kinks.substitute(side.xreplace(values), fixed)) for side in (claim.lhs, claim.rhs)]
    if any(side.has(sp.nan, sp.zoo) or side.free_symbols for side in sides):
        raise _Undefined(kink)
    target.checked.add(next(i for i, c in enumerate(target.claims) if c is claim))
    if zero_regions_excluded(sides[0] - sides[1], g.functions) is not None:
        return 0, (1, 0)
    try:
        left, right = (numeric.value_at(side, {}, int(DEFAULTS["confirm_dps"]), numeric.IV) for side in sides)
    except numeric.Unsupported:
        return None
    if left is not None and right is not None and numeric.disjoint(left, right):
        cx = Counterexample(", ".join(x for x in (claim.instance, "the kink (derivatives as one-sided limits)") if x),
                            compiled.sizes,
                            tuple((_label(g, k), str(v)) for k, v in sorted(fixed.items(), key=lambda kv: str(kv[0]))),
                            numeric.show(numeric.midpoint(left)), numeric.show(numeric.midpoint(right)),
                            f"interval arithmetic at {DEFAULTS['confirm_dps']} digits")
        raise _Refuted("counterexample", str(cx), cx)
    return None


# ---------------------------------------------------------------- one rule


def _check(rule: Rule, compiled: list, settings: dict, report, notes: dict) -> tuple:
    """(verdict, how, detail, counterexample) for one rule; `report` receives evidence,
    `notes` the finite-difference comparison when settings ask for it."""
    rng = random.Random(f"{settings['seed']}:{rule.name}")
    targets = [_Target(c, []) for c in compiled]
    for target in targets:
        # The derivatives taken are compared only with --numeric; any taken keeps ties' values
        # from being read as written (a derivative's formula is no expression written)
        taken: list = []
        target.claims = _claims(rule, target.compiled, target.variables, taken)
        if settings["numeric"]:
            target.derivatives = taken
        target.written = (target.compiled.kind == "scalar" and rule.series is None and not taken
                          and not target.compiled.graph.functions.differentiates)
    notes["variables"] = tuple(targets[0].variables)  # a scalar rule's variables, for the scope
    if rule.series is not None and targets[0].claims:  # "coefficient of x^0 at x = 0": the point
        notes["point"] = (tuple(targets[0].claims[0].instance.rsplit(" at ", 1)[-1].split(" = ", 1)),)
    if settings["numeric"]:
        notes["numeric"] = _finite_differences(targets, random.Random(f"{settings['seed']}:fd:{rule.name}"))
    n = sum(len(t.claims) for t in targets)
    if n == 0:  # a proof about no entry at all is not a proof
        return (Outcome.UNDECIDED, How.UNPROVED, "nothing to check: the rule has no entries", None, "")
    checked_points, largest = 0, mpmath.mpf(0)
    for target in targets:
        points = _region_points(target, rng) + _points(target, rng, settings["screen_points"])
        _cross_checked(target.compiled, settings)
        used, diff = _screen(target, points, settings)
        target.checked |= _exact_screen(target, rng, settings)
        checked_points += used
        largest = max(largest, diff)
    evidence = (f"numeric: {sum(len(t.claims) for t in targets)} entries agree at {checked_points} exact "
                f"random point(s), largest relative difference {mpmath.nstr(largest, 3)}")
    report(evidence)
    most_steps, most_regions, excluded, unproved = 0, 1, 0, []
    for target in targets:
        for claim in target.claims:
            proof = _prove(target, claim)
            if proof is None:
                unproved.append(claim.instance or "the rule")
            else:
                most_steps, most_regions = max(most_steps, proof[0]), max(most_regions, proof[1][0])
                excluded = max(excluded, proof[1][1])
    if unproved or any(len(t.checked) < len(t.claims) for t in targets):
        # Not proved, or proved about entries never seen defined: look further, wider.
        for target in targets:
            more = _points(target, random.Random(f"{settings['seed']}:more:{rule.name}"), 30, wide=True)
            used, diff = _screen(target, more, settings)
            checked_points += used
            largest = max(largest, diff)
    evidence = (f"numeric: {n} entries agree at {checked_points} exact "
                f"random point(s), largest relative difference {mpmath.nstr(largest, 3)}")
    nowhere = [c.instance or "the rule" for t in targets for i, c in enumerate(t.claims) if i not in t.checked]
    if nowhere and not unproved:
        at = f" ({nowhere[0]})" if nowhere[0] != "the rule" else ""
        if all(not _free_inputs(t) for t in targets):
            raise _Undefined(f"the rule's sides have no value at the point it names{at}")
        if all(_side_nowhere_defined(t, c) for t in targets for i, c in enumerate(t.claims) if i not in t.checked):
            raise _Undefined(f"a side of this rule has no value anywhere{at}: a derivative at a kink or tie "
                             f"that holds at every point")
        return (Outcome.UNDECIDED, How.UNPROVED,
                (f"no point was found where {len(nowhere)} of {n} entries are defined (first: {nowhere[0]}): "
                 f"a proof over no point proves nothing; {evidence}"), None, evidence)
    if unproved:
        return (Outcome.UNDECIDED, How.UNPROVED,
                f"not shown symbolically for {len(unproved)} of {n} entries (first: {unproved[0]}); {evidence}",
                None, evidence)
    # Never "proved" without the independent audit (derive.audit) agreeing at its points.
    checked = _audit(rule, targets, settings)
    if checked.disagreement:
        return (Outcome.ERROR, How.AUDIT, f"the proof is contradicted by the independent audit, {checked.disagreement}",
                None, evidence)
    if checked.unaudited:
        return (Outcome.UNDECIDED, How.UNAUDITED, f"shown symbolically, but {checked.unaudited}; {evidence}",
                None, evidence)
    shown = _Proof(most_steps, most_regions, n, bool(excluded), checked.points)
    notes["proof"] = shown
    notes["region"] = _region(targets, most_regions, bool(excluded), checked.undefined)
    return (Outcome.PROVED, How.SYMBOLIC, shown.detail(), None, evidence)


@dataclass
class _Proof:
    """What a proof took, to be told in the verdict (and summed over size sets)."""

    steps: int  # chain-rule steps, at most
    regions: int  # regions of a piecewise claim, at most
    entries: int
    excluded: bool  # regions where a derivative does not exist were left out
    audited: int  # points where the independent audit agreed

    def merged(self, other: "_Proof") -> "_Proof":
        return _Proof(max(self.steps, other.steps), max(self.regions, other.regions), self.entries + other.entries,
                      self.excluded or other.excluded, self.audited + other.audited)

    def detail(self) -> str:
        """How the proof went; where it holds (sizes, regions left out) is the verdict's scope."""
        n = self.entries
        steps = f" after {self.steps} chain-rule step{'s' if self.steps > 1 else ''}" if self.steps else ""
        regions = f" on each region ({self.regions}{' at most' if n > 1 else ''}, pieces fixed)" \
            if self.regions > 1 else ""
        agree = f"audit: {self.audited} point{'s agree' if self.audited != 1 else ' agrees'}"
        return f"difference ≡ 0{regions}{steps}; {n} entr{'y' if n == 1 else 'ies'}; {agree}"


def _region(targets: list, regions: int, excluded: bool, audited: str = "") -> str:
    """Where a proof holds, beyond the sizes: ties included, or the regions left out because a
    side has no value there, named where a side's pieces show them (scalar rules and graphs:
    an open region such as t + 1 > 0 is named, so a rule proved only on the rest says so), or a
    point screened where a side had no value, or one where the audit found a side, read as
    written, without a value (`audited`: "x=1 (division by zero)"). "" when nothing is to be said."""
    open_regions: list = []
    ties: list = []
    for target in targets:
        g = target.compiled.graph
        if target.compiled.kind == "network":
            continue  # too large to expand in full: the count of regions left out must do
        for claim in target.claims:
            for side in (claim.lhs, claim.rhs):
                if not (g.has_pieces() or g.expanded(side).has(sp.Piecewise)):
                    continue
                full = _full(target, side)
                if not full.has(sp.Piecewise):
                    continue
                try:
                    pieces = split(full, written=target.written)
                except CannotSplit:
                    continue
                for region in pieces:
                    if not region.defined:
                        where = region.describe().replace(", ", " and ")
                        found = ties if region.ties else open_regions
                        if where not in found:
                            found.append(where)
    # a point named only where it is short (a network's has every weight)
    undefined = next((t.undefined for t in targets if t.undefined and t.undefined.count("=") <= 4), "")
    if undefined:
        point = f"a side is undefined at {undefined}, for one"
    elif audited and audited.count("=") <= 4:
        point = f"a side as written has no value at {audited}, for one"
    else:
        point = ""
    if open_regions:
        named = " or ".join((open_regions + ties)[:3]) + (" or …" if len(open_regions + ties) > 3 else "")
        return f"{DEFINED}, so not on {named} (a region left out)"
    if ties:
        named = " or ".join(ties[:3]) + (" or …" if len(ties) > 3 else "")
        return f"{DEFINED}, so not on {named}" + (f"; {point}" if point else "")
    if excluded:
        return f"{DEFINED} (regions where a side is undefined left out)" + (f"; {point}" if point else "")
    if point:
        return f"{DEFINED}: {point}"
    return "ties included" if regions > 1 else ""


def _audit(rule: Rule, targets: list, settings: dict) -> audit.Result:
    """The audit of a rule about to be reported proved, at every size set it was proved at."""
    sources = [t.compiled.audit_source for t in targets]
    if any(source is None for source in sources):
        return audit.Result(unaudited="the audit has no model for this rule (compiled outside CompiledDocument)")
    return audit.audit_rule(rule, [target for target, _ in sources], sources[0][1], str(settings["seed"]))


def _check_sizes(rule: Rule, compiled: list, settings: dict, report, notes: dict) -> tuple:
    """The verdict at the declared sizes (the first compiled set) stands; every other size
    set (a network's second one) may only add information. A rule proved at the declared
    sizes is checked at the others: proved there too, the verdict covers them all; refuted,
    undecided or ill-shaped there, it stays proved *at the declared sizes*, and the detail
    names the size set where it fails and how. (A rule about a network holds for the
    network declared; `Σ_{k=1}^{2} x_k = Σ x` is true at width 2 and false at width 3.)"""
    first = _check(rule, compiled[:1], settings, report, notes)
    if len(compiled) == 1 or first[0] != Outcome.PROVED:
        return first
    proof = notes.pop("proof", None)
    failures, held, failed = [], [compiled[0]], []  # the size sets it holds at, and those it does not
    quiet = dict(settings, numeric=False)  # finite differences (--numeric) are at the declared sizes
    for other in compiled[1:]:
        sizes = ",".join(map(str, other.sizes or ()))
        other_notes: dict = {}
        try:
            verdict, how, detail, _, _ = _check(rule, [other], quiet, lambda evidence: None, other_notes)
        except _Refuted as r:
            verdict, how, detail = Outcome.REFUTED, r.how, r.detail
        except _Undefined as u:
            verdict, how, detail = Outcome.UNDEFINED, How.KINK, str(u)
        except DeriveError as e:
            verdict, how, detail = Outcome.ERROR, How.BAD_INPUT, f"{e.message} (line {e.pos})" if e.pos else e.message
        if verdict == Outcome.ERROR and how in (How.AUDIT, How.INTERNAL):
            # derive itself failed at the other sizes (the prover contradicted by the audit, or a
            # bug): its proof at the declared sizes cannot be trusted either.
            notes["sizes"] = [other]
            return (verdict, how, f"at sizes {sizes}: {detail}" if how is How.INTERNAL else detail, None, first[4])
        if verdict == Outcome.PROVED and proof is not None and "proof" in other_notes:
            proof = proof.merged(other_notes["proof"])
            held.append(other)
            notes["region"] = notes.get("region") or other_notes.get("region", "")
        else:
            failures.append(f"not at sizes {sizes}: {verdict} ({how}), {detail}")
            failed.append(other)
    notes["sizes"], notes["failed"] = held, failed  # the scope: "sizes 2,3,2 only (not 3,2,3)"
    if not failures and proof is not None:
        return (Outcome.PROVED, How.SYMBOLIC, proof.detail(), None, first[4])
    detail = proof.detail() if proof is not None else first[2]
    return (Outcome.PROVED, first[1], f"{detail}; " + "; ".join(failures), None, first[4])


def _scope(compiled: list, verdict: Outcome, how: How, notes: dict) -> Scope:
    """Over what a verdict was reached: for *proved* the size sets it holds at (and those it
    does not) and its region; for *refuted* where the counterexample was found (the declared
    sizes: other size sets never refute); otherwise what was tried; nothing for bad input or a
    bug in derive."""
    if how in (How.BAD_INPUT, How.INTERNAL):
        return NOTHING
    scope = over(notes.get("sizes") or compiled[:1], notes.get("variables"), notes.get("point", ()))
    if verdict != Outcome.PROVED or scope.kind is Extent.POINT:
        return scope
    region = notes.get("region", "")
    if scope.kind is Extent.ALL_VALUES and not region.startswith(DEFINED):
        region = DEFINED + (f", {region}" if region else "")
    return replace(scope, failed_sizes=tuple(tuple(c.sizes) for c in notes.get("failed", ()) if c.sizes),
                   region=region)


def check_rule(rule: Rule, compiled: list, filename: str, timeout: float | None = None,
               settings: dict | None = None, source: str = "") -> Verdict:
    """Check one rule against its compiled declaration(s), under a time limit (seconds;
    None or ≤ 0: no limit, run in this process)."""
    settings = dict(DEFAULTS, **(settings or {}))
    started = time.perf_counter()

    def run(report) -> Verdict:
        notes: dict = {}
        try:
            verdict, how, detail, cx, evidence = _check_sizes(rule, compiled, settings, report, notes)
        except _Refuted as r:
            verdict, how, detail, cx, evidence = Outcome.REFUTED, r.how, r.detail, r.counterexample, ""
        except _Undefined as u:
            verdict, how, detail, cx, evidence = Outcome.UNDEFINED, How.KINK, str(u), None, ""
        except DeriveError as e:
            verdict, how, detail, cx, evidence = (Outcome.ERROR, How.BAD_INPUT, str(e.located(filename, source)),
                                                  None, "")
        except MemoryError:  # the child's memory cap (limits.LIMITS["memory_mb"]) was hit
            verdict, how, detail, cx, evidence = Outcome.UNDECIDED, How.MEMORY_LIMIT, _memory(), None, ""
        except RecursionError:
            verdict, how, detail, cx, evidence = (Outcome.ERROR, How.BAD_INPUT,
                                                  "too deeply nested to check (Python's recursion limit)", None, "")
        except Exception as e:  # a bug in derive must never look like a verdict
            if isinstance(e, TypeError) and is_not_real_comparison(e):
                # a comparison that became one of non-real values on the way (the definitions
                # and calls are checked as they are read; this is the net under them)
                error = DeriveDeclarationError(f"this rule makes a comparison of a value that is "
                                               f"{not_real_value(e)}: {NOT_REAL_HINT}", rule.pos)
                return Verdict(filename, rule.name, rule.pos.line, rule.pos.column, rule.context, rule.expected,
                               Outcome.ERROR, How.BAD_INPUT, str(error.located(filename, source)),
                               time.perf_counter() - started, None, "", notes.get("numeric", ""))
            log.debug("internal error", exc_info=True)
            verdict, how, detail, cx, evidence = (Outcome.ERROR, How.INTERNAL, f"{type(e).__name__}: {e}", None,
                                                  traceback.format_exc(limit=3))
        return Verdict(filename, rule.name, rule.pos.line, rule.pos.column, rule.context, rule.expected, verdict,
                       how, detail, time.perf_counter() - started, cx, evidence, notes.get("numeric", ""),
                       _scope(compiled, verdict, how, notes))

    if timeout is None or timeout <= 0:
        return run(lambda evidence: None)
    return _run_limited(run, rule, filename, timeout, started, over(compiled[:1]))


def _run_limited(run, rule: Rule, filename: str, timeout: float, started: float, tried: Scope) -> Verdict:
    """Run `run` in a forked child so a runaway SymPy call can be stopped at the limit
    (`tried`: the scope of a verdict the child could not give, what was being tried)."""
    outcome = run_limited(lambda send: send(("result", run(lambda evidence: send(("evidence", evidence))))),
                          timeout - (time.perf_counter() - started))
    results = [payload for kind, payload in outcome.messages if kind == "result"]
    if results:
        return results[0]
    evidence = next((payload for kind, payload in reversed(outcome.messages) if kind == "evidence"), "")
    elapsed = time.perf_counter() - started
    if outcome.timed_out:
        detail = f"time limit of {timeout:g} s hit" + (f"; {evidence}" if evidence
                                                       else " before the numeric screen ended")
        return Verdict(filename, rule.name, rule.pos.line, rule.pos.column, rule.context, rule.expected,
                       Outcome.UNDECIDED, How.TIME_LIMIT, detail, elapsed, None, evidence, scope=tried)
    if outcome.error is not None and outcome.error.out_of_memory:
        return Verdict(filename, rule.name, rule.pos.line, rule.pos.column, rule.context, rule.expected,
                       Outcome.UNDECIDED, How.MEMORY_LIMIT, _memory() + (f"; {evidence}" if evidence else ""),
                       elapsed, None, evidence, scope=tried)
    ended = f"{outcome.error.kind}: {outcome.error.message}" if outcome.error is not None else \
        f"exit code {outcome.exitcode}"
    return Verdict(filename, rule.name, rule.pos.line, rule.pos.column, rule.context, rule.expected, Outcome.ERROR,
                   How.INTERNAL, f"the checking process ended unexpectedly ({ended})", elapsed, None, evidence)


def _memory() -> str:
    return f"memory limit of {LIMITS['memory_mb']:g} MB per rule hit (memory_mb in derive.limits.LIMITS)"


# ---------------------------------------------------------------- documents


class CompiledDocument:
    """A document's functions and declarations compiled at every size its rules need."""

    def __init__(self, doc: Document):
        self.doc = doc
        self.functions = build_functions(doc.functions)
        self.scalar = compile_scalar(self.functions)
        self.graphs = {name: compile_graph(g, self.functions) for name, g in doc.graphs.items()}
        self.networks = {}
        self.skipped: dict = {}  # network name → why its automatic second size set is not checked
        for name, net in doc.networks.items():
            sets = [compile_network(net, net.sizes, self.functions)]
            if net.also_sizes:
                try:
                    sets.append(compile_network(net, net.also_sizes, self.functions))
                except DeriveError as e:
                    # Declared for its own widths (a loss naming aᴸ_3, assume y_3 = 0): the automatic
                    # second size set only adds information, it cannot make a valid declaration bad
                    # input; the rules' details say it was skipped. A second size set the file chose
                    # (`also layers`) must fit.
                    if net.also_sizes != default_also_sizes(net.sizes):
                        raise
                    at = f" (line {e.pos.line})" if e.pos is not None else ""
                    self.skipped[name] = f"the second size set was skipped: {e.message}{at}"
            self.networks[name] = sets
        for name, c in self.graphs.items():  # the `assume` equations as written, for the verdicts' scope
            c.assumed = _as_written(doc.graphs[name].assumptions, doc.source)
        for name, sets in self.networks.items():
            for c in sets:
                c.assumed = _as_written(doc.networks[name].assumptions, doc.source)
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


def _as_written(equations: tuple, source: str) -> tuple:
    """Each equation's text in the source, from its position to the end of its line (comment cut)."""
    lines = source.splitlines()
    texts = []
    for eq in equations:
        line = lines[eq.pos.line - 1] if eq.pos and 1 <= eq.pos.line <= len(lines) else ""
        texts.append(" ".join(line[eq.pos.column - 1:].split("#", 1)[0].split()) if line else "an assumption")
    return tuple(texts)


def _size_generic(rule: Rule) -> bool:
    """Is a rule worth checking at a network's second size set? Not where it is written for
    the declared widths: a literal component index (x_2, w_1k), a sum with a literal upper
    bound (Σ_{k=1}^{2}), a vector literal. Only a shortcut: a rule checked there anyway keeps
    its verdict at the declared sizes (`_check_sizes`)."""

    def names_in(e) -> bool:
        return isinstance(e, s.Name) or any(names_in(child) for child in s.children(e))

    def literal_index(e) -> bool:
        if isinstance(e, s.Sub) and any(isinstance(i, s.Num) for i in e.items):
            return True
        if isinstance(e, s.Sub) and e.raw is not None and any(ch.isdigit() for ch in e.raw):
            return True  # w_1k, x₂
        if isinstance(e, s.Summation) and e.high is not None and not names_in(e.high):
            return True  # Σ_{k=1}^{2}: a width written as a number
        if isinstance(e, s.Vector):
            return True  # [a, b]: a vector of one fixed length
        return any(literal_index(child) for child in s.children(e))

    return not (literal_index(rule.lhs) or literal_index(rule.rhs))


def check_document(doc: Document, timeout: float | None = DEFAULTS["timeout"], select=None,
                   settings: dict | None = None) -> list:
    """Verdicts for every rule of a document (in file order). Raises DeriveError on bad
    declarations (a loss of the wrong shape, an unusable assumption)."""
    from .generic import check_generic_document, has_generic  # it builds on this module
    if has_generic(doc):  # `function f(t)`: any differentiable f
        return check_generic_document(doc, timeout, select, settings)
    compiled = CompiledDocument(doc)
    rules = [r for r in doc.all_rules() if select is None or select(r)]
    cross_check_all(list({id(c): c for r in rules for c in compiled.targets_for(r)}.values()), settings)
    verdicts = []
    for r in rules:
        verdict = check_rule(r, compiled.targets_for(r), doc.filename, timeout, settings, source=doc.source)
        skipped = compiled.skipped.get(r.context) if r.context is not None else None
        if skipped is not None and _size_generic(r):  # it would have been checked there too
            verdict = replace(verdict, detail=f"{verdict.detail}; {skipped}" if verdict.detail else skipped)
        verdicts.append(verdict)
    return verdicts
