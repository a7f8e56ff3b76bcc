"""Verdicts → text for people (a table) and JSON for machines.

One function per format; both read the same `Verdict` fields, so what a person sees and
what CI parses never disagree.
"""

from __future__ import annotations

import json
import shutil
import sys
import textwrap
from collections.abc import Sequence

from .errors import DeriveError
from .scope import NOTHING
from .vocabulary import Expected, Extent, How, Outcome, exhaustive, lookup

_MARK = {True: "ok", False: "FAIL"}
# How each verdict's detail is shown in the table: beside it (cut to the terminal's width), or below it.
_DETAIL_BELOW = exhaustive(Outcome, {"proved": False, "refuted": True, "undecided": True, "undefined": True,
                                     "error": True})
# How each expectation shows beside the verdict in the table (every `Expected` is named).
_MARKED = exhaustive(Expected, {"proved": "", "refuted": " (marked wrong)", "undefined": " (marked undefined)"})


def marked(expected) -> str:
    """How an expectation shows beside a verdict: "" for proved, " (marked wrong)", " (marked undefined)"."""
    return lookup(Expected, _MARKED, expected)


def _short(text: str, width: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: max(0, width - 1)] + "…"


def render_text(verdicts: list, errors: Sequence = (), verbose: bool = False) -> str:
    """A table: place, rule, verdict, how, seconds, ok/FAIL, then the scope in brackets (over
    what the verdict was reached) and the detail. The detail of a rule that is not proved (its
    counterexample, shapes or evidence) gets lines of its own.
    `errors` (files with bad input) are only counted here: the CLI prints them to stderr."""
    # On a terminal, a proved rule's detail is cut to the width; in a log or a pipe it is kept whole.
    width = shutil.get_terminal_size((120, 20)).columns if sys.stdout.isatty() else None
    rows = []
    for v in verdicts:
        verdict = Outcome(v.verdict) + marked(v.expected)
        rows.append((f"{v.file}:{v.line}", v.rule, verdict, v.how, f"{v.seconds:.2f}s", _MARK[v.ok]))
    out = []
    if rows:
        head = ("place", "rule", "verdict", "how", "time", "")
        cols = [max(len(r[i]) for r in rows + [head]) for i in range(len(head))]
        used = sum(cols) + 2 * len(cols)
        fmt = lambda r: "  ".join(c.ljust(w) for c, w in zip(r, cols)) + "  "  # noqa: E731
        out.append((fmt(head) + "detail").rstrip())
        for v, r in zip(verdicts, rows):
            scope = f"[{v.scope}]"
            if not lookup(Outcome, _DETAIL_BELOW, v.verdict):
                line = f"{scope} {v.detail}"
                out.append(fmt(r) + (line if verbose or width is None else _short(line, max(30, width - used))))
            elif How(v.how) is How.BAD_INPUT:  # a located message with its caret: keep its lines
                out.append(fmt(r) + scope)
                out.extend("    " + line for line in v.detail.splitlines())
            else:
                out.append(fmt(r) + scope)
                detail = v.detail if verbose or width is None else _short(v.detail, 400)
                out.append("    ↳ " + detail)
            if v.numeric:  # --numeric: finite differences, on a line of their own
                out.append("    ↳ numeric: " + v.numeric)
    out.append(summary(verdicts, errors))
    return "\n".join(out)


def summary(verdicts: list, errors: Sequence = ()) -> str:
    counts: dict = {}
    for v in verdicts:
        counts[v.verdict] = counts.get(v.verdict, 0) + 1
    parts = [f"{n} {k}" for k, n in sorted(counts.items())]
    bad = sum(not v.ok for v in verdicts)
    line = f"{len(verdicts)} rule{'s' if len(verdicts) != 1 else ''}: " + (", ".join(parts) or "none")
    if verdicts:
        line += "; all as expected" if not bad else f"; {bad} not as expected"
    if errors:
        line += f"; {len(errors)} file{'s' if len(errors) != 1 else ''} with bad input"
    return line


def render_failure(verdict, source: str = "") -> str:
    """Why one rule did not get the verdict its file expects, for a person reading a test
    failure: the place, the verdict against the expectation, the rule as written (its line
    in `source`, the file's text), and what derive found (both sides' values and the exact
    inputs of a counterexample, or the detail). The pytest plugin and `derive.assert_rule`
    both show this text.

    >>> from derive.verify import Verdict
    >>> from derive.scope import Scope
    >>> v = Verdict("f.deriv", "r", 1, 1, None, "refuted", "proved", "symbolic", "difference ≡ 0; 1 entry",
    ...             scope=Scope("all values", variables=("t",), region="where both sides are defined"))
    >>> print(render_failure(v, "wrong rule r: 2t = t + t"))
    f.deriv:1: rule r: unexpectedly proved (symbolic): it is marked wrong
      rule:    wrong rule r: 2t = t + t
      scope:   all real t where both sides are defined
      detail:  difference ≡ 0; 1 entry
    """
    name = verdict.rule if verdict.rule.isidentifier() else f'"{verdict.rule}"'
    if Outcome(verdict.verdict) is Outcome.PROVED and Expected(verdict.expected) is not Expected.PROVED:
        outcome = f"unexpectedly proved ({verdict.how}): it is {marked(verdict.expected).strip(' ()')}"
    else:
        outcome = f"{verdict.verdict} ({verdict.how}), expected {verdict.expected}"
    lines = [f"{verdict.file}:{verdict.line}: rule {name}: {outcome}"]
    source_lines = source.splitlines()
    if 1 <= verdict.line <= len(source_lines):
        where = f"    (in {verdict.context})" if verdict.context else ""
        lines.append(f"  rule:    {source_lines[verdict.line - 1].strip()}{where}")
    if verdict.scope.kind is not Extent.NOTHING:  # bad input or a bug: the detail says so
        lines.append(f"  scope:   {verdict.scope}")
    cx = verdict.counterexample
    if cx is None:
        detail = verdict.detail.splitlines() or [""]  # a bad-input message keeps its caret line
        lines.append(f"  detail:  {detail[0]}")
        lines.extend("           " + line for line in detail[1:])
        return "\n".join(lines)
    if cx.instance:  # its size set is the scope, above
        lines.append(f"  at:      {cx.instance}")
    certified = f"  ({cx.certified})" if cx.certified else ""
    lines.append(f"  values:  left side = {cx.lhs}, right side = {cx.rhs}{certified}")
    inputs = ", ".join(f"{k} = {v}" for k, v in cx.inputs) or "none"
    lines.extend(textwrap.wrap(inputs, 100, initial_indent="  inputs:  ", subsequent_indent=" " * 11,
                               break_on_hyphens=False))
    return "\n".join(lines)


def render_json(verdicts: list, errors: Sequence = ()) -> str:
    """A JSON list of objects: file, rule, verdict, expected, detail, scope (an object with its
    `text`), and the rest. A file with bad input is one object with scope `nothing`."""
    items = [v.to_dict() for v in verdicts]
    for e in errors:
        assert isinstance(e, DeriveError)
        items.append({"file": e.filename, "rule": None, "line": e.pos.line if e.pos else None,
                      "column": e.pos.column if e.pos else None, "verdict": Outcome.ERROR, "expected": None,
                      "how": How.BAD_INPUT, "detail": str(e), "scope": NOTHING.to_dict()})
    return json.dumps(items, indent=2, ensure_ascii=False)
