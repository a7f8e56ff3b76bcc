"""derive's closed vocabularies: what a verdict can be, how it was reached, over what
extent, and what a file expects. Each is a `str` enum, so a member compares equal to its plain text and
JSON prints the plain text; an unknown value is an error where it is made (`Outcome("provd")`
raises ValueError), and `exhaustive` makes a table keyed by one of them fail at import
when a member is missing, so no case is silently left out when a member is added.
"""

from __future__ import annotations

import enum


class _Text(str, enum.Enum):
    """A member prints as its plain text (in f-strings and str() alike, on every Python ≥ 3.10)."""

    def __str__(self) -> str:
        return str.__str__(self)

    def __format__(self, spec: str) -> str:
        return str.__format__(str.__str__(self), spec)

    def __repr__(self) -> str:
        return repr(str.__str__(self))


class Outcome(_Text):
    """A rule's verdict."""

    PROVED = "proved"
    REFUTED = "refuted"
    UNDECIDED = "undecided"
    UNDEFINED = "undefined"  # a derivative where it does not exist (a kink)
    ERROR = "error"  # bad input, or a bug in derive: never a verdict on the rule


class How(_Text):
    """How a verdict was reached."""

    SYMBOLIC = "symbolic"  # proved: the difference shown to be 0
    COUNTEREXAMPLE = "counterexample"  # refuted at an exact point
    SHAPE = "shape"  # refuted: the sides' shapes differ
    KINK = "kink"  # undefined
    AUDIT = "audit"  # error: the independent numeric audit disagreed with a proof
    UNAUDITED = "unaudited"  # undecided: a proof the audit could not confirm
    TIME_LIMIT = "time limit"  # undecided
    MEMORY_LIMIT = "memory limit"  # undecided
    UNPROVED = "unproved"  # undecided: not shown either way
    BAD_INPUT = "bad input"  # error
    INTERNAL = "internal"  # error: a bug in derive


class Extent(_Text):
    """The kind of a verdict's scope (`derive.scope.Scope`): over what it was reached."""

    # every real value of the rule's variables (or a graph's inputs) where both sides are defined
    ALL_VALUES = "all values"
    SIZES = "sizes"  # a network or graph rule, at the size sets listed (every real input value there)
    POINT = "point"  # one point: a graph's given input values, a derivative or a series at a number
    ALL_SIZES = "all sizes"  # every size (symbolic sizes, under side conditions such as L ≥ 2): not yet reached
    NOTHING = "nothing"  # nothing was checked: bad input, or a bug in derive


class Expected(_Text):
    """The verdict a file expects for a rule: `rule` proved, `wrong rule` refuted, `undefined rule` undefined."""

    PROVED = "proved"
    REFUTED = "refuted"
    UNDEFINED = "undefined"


def exhaustive(vocabulary: type[_Text], table: dict) -> dict:
    """`table`, checked to have exactly one entry per member of `vocabulary` (else TypeError)."""
    known = {m.value: m for m in vocabulary}
    keys = {known[k] for k in table if k in known}
    missing, extra = set(vocabulary) - keys, [k for k in table if k not in known]
    if missing or extra or len(keys) != len(table):
        raise TypeError(f"a table over {vocabulary.__name__} must name each member once "
                        f"(missing: {sorted(missing)}, unknown: {sorted(map(str, extra))})")
    return {vocabulary(k): v for k, v in table.items()}


def lookup(vocabulary: type[_Text], table: dict, value):
    """`table[value]`, where `value` must be a member of `vocabulary` (its text is accepted):
    an unknown value is a loud error, never a silent default."""
    try:
        return table[vocabulary(value)]
    except ValueError:
        raise ValueError(f"not a {vocabulary.__name__.lower()}: {value!r} "
                         f"(known: {', '.join(m.value for m in vocabulary)})") from None


__all__ = ["Expected", "Extent", "How", "Outcome", "exhaustive", "lookup"]
