"""Over what a verdict was reached: its scope (which sizes, which region, which assumptions).

Every `Verdict` carries a `Scope`, filled by `derive.verify` for every outcome: for *proved*
where the proof holds, for *refuted* where the counterexample was found, for *undecided*
what was tried, and `nothing` when nothing was checked (bad input, a bug in derive). Its
kind is one of `vocabulary.Extent`; the text (`str(scope)`) is one line, e.g.
`sizes 2,3,2 and 3,2,3; assuming Σ y = 1` or `all real t where both sides are defined`.

(Not to be confused with `derive.model`'s scopes of names: this is the scope of a verdict.)
"""

from __future__ import annotations

from dataclasses import dataclass

from .vocabulary import Extent, exhaustive, lookup

# The phrase a region restriction starts with when it qualifies every value (joined with a space, not "; ").
DEFINED = "where both sides are defined"


@dataclass(frozen=True)
class Scope:
    """Over what a verdict was reached.

    `sizes` are the size sets the verdict holds at: a network's widths ((2, 3, 2), (3, 2, 3)),
    a graph's named sizes (("T=3",),); `failed_sizes` the size sets also checked where it does
    not hold (a rule proved at its declared sizes only). `variables` are the real variables or
    inputs it ranges over (for the text); `given` the values fixed at a point, ((label, value),
    …); `assumptions` the file's `assume` equations as written; `region` a restriction of the
    values ("where both sides are defined, so not on t + 1 > 0 (a region left out)"); `conditions`
    side conditions on symbolic sizes ("L ≥ 2", "k ≤ n"), for `all sizes`; `functions` what a
    function with no body (`function f(t)`) ranged over: ("for every differentiable f",) for a
    proof, ("with f(t) = exp(t/2)",) where a counterexample or a check at instances was found."""

    kind: Extent
    sizes: tuple = ()
    failed_sizes: tuple = ()
    variables: tuple = ()
    given: tuple = ()
    assumptions: tuple = ()
    region: str = ""
    conditions: tuple = ()
    functions: tuple = ()

    def __post_init__(self) -> None:  # plain text is accepted; anything outside the vocabulary is an error
        object.__setattr__(self, "kind", Extent(self.kind))

    def __str__(self) -> str:
        text = lookup(Extent, _HEAD, self.kind)(self)
        if self.region:
            text += (" " if self.region.startswith(DEFINED) else "; ") + self.region
        if self.functions:
            text += "; " + "; ".join(self.functions)
        if self.given and self.kind is not Extent.POINT:
            text += ("; " if self.region else ", ") + "with " + _values(self.given)
        if self.assumptions:
            text += "; assuming " + ", ".join(self.assumptions)
        return text

    def to_dict(self) -> dict:
        """For JSON: every field (sizes as lists, given values as an object) and the one-line `text`."""
        return {"kind": self.kind, "sizes": [list(z) for z in self.sizes],
                "failed_sizes": [list(z) for z in self.failed_sizes], "variables": list(self.variables),
                "given": dict(self.given), "assumptions": list(self.assumptions), "region": self.region,
                "conditions": list(self.conditions), "functions": list(self.functions), "text": str(self)}


def size_text(sizes) -> str:
    """One size set as text: `2,3,2` (a network's widths) or `T=3` (a graph's named sizes)."""
    return ",".join(map(str, sizes))


# How many variables or given values the one-line text names before "…" (JSON has them all).
SHOWN = 8


def _listed(items: list) -> str:
    return ", ".join(items[:SHOWN]) + (", …" if len(items) > SHOWN else "")


def _values(given: tuple) -> str:
    return _listed([f"{k}={v}" for k, v in given])


def _sizes(scope: Scope) -> str:
    text = "sizes " + " and ".join(size_text(z) for z in scope.sizes)
    if scope.failed_sizes:
        text += " only (not " + " or ".join(size_text(z) for z in scope.failed_sizes) + ")"
    return text


# The head of each kind's text.
_HEAD = exhaustive(Extent, {
    "all values": lambda scope: "all real " + (_listed(list(scope.variables)) or "values"),
    "sizes": _sizes,
    "point": lambda scope: "at " + (_values(scope.given) or "the point the rule names"),
    "all sizes": lambda scope: "all sizes" + (" with " + ", ".join(scope.conditions) if scope.conditions else ""),
    "nothing": lambda scope: "nothing checked",
})

NOTHING = Scope(Extent.NOTHING)


def _value_text(v) -> str:
    return str(v.numerator) if v.denominator == 1 else f"{v.numerator}/{v.denominator}"


def _input_names(labels) -> tuple:
    """A graph's input labels by name: x_1, x_2, w^1_11 → x, w (each once, in order)."""
    names: dict = {}
    for label in labels:
        names.setdefault(label.split("_")[0].split("^")[0] or label, None)
    return tuple(names)


def over(compiled: list, variables: tuple | None = None, point: tuple = ()) -> Scope:
    """The scope a rule is checked over at the compiled size sets given (`graphs.Compiled`, one
    per size set): a network's sizes; a graph at its given point (every input given), at its
    named sizes, or for all real values of its free inputs; a scalar rule for all real values
    of its `variables` (None: not known yet), or at a point (none left: a number, or a series'
    point `point`)."""
    first = compiled[0]
    assumptions = tuple(first.assumed)
    if first.kind == "network":
        return Scope(Extent.SIZES, sizes=tuple(tuple(c.sizes) for c in compiled if c.sizes), assumptions=assumptions)
    g = first.graph
    given = tuple((g.nodes[k].label, _value_text(v)) for k, v in first.given.items()) + tuple(point)
    if first.kind == "scalar":
        kind = Extent.ALL_VALUES if variables or variables is None else Extent.POINT
        return Scope(kind, variables=tuple(variables or ()), given=given, assumptions=assumptions)
    free = [g.nodes[k].label for k in g.input_keys()
            if k not in first.given and g.nodes[k].symbol not in first.assumptions]
    if not free:
        return Scope(Extent.POINT, given=given, assumptions=assumptions)
    sizes = tuple(f"{name}={value}" for name, value in first.layer_env.items())
    if sizes:
        return Scope(Extent.SIZES, sizes=(sizes,), variables=_input_names(free), given=given, assumptions=assumptions)
    return Scope(Extent.ALL_VALUES, variables=_input_names(free), given=given, assumptions=assumptions)


__all__ = ["DEFINED", "NOTHING", "Scope", "over", "size_text"]
