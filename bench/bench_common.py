"""What the benchmarks share: derive from this checkout, timing derive on a generated
document, the naive SymPy check in a capped child, and the printed table.

Imported by bench_bp.py and bench_layers.py before they import derive: it puts the
repository root first on the import path when run from a checkout, so a benchmark
measures that checkout's `derive`, never an installed copy.
"""

from __future__ import annotations

import os
import platform
import sys
import time

import sympy as sp
from sympy.core.cache import clear_cache

_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FROM_CHECKOUT = os.path.isfile(os.path.join(_ROOT, "derive", "__init__.py"))
if FROM_CHECKOUT:
    sys.path.insert(0, _ROOT)

import derive  # noqa: E402
from derive.errors import DeriveError  # noqa: E402
from derive.limits import run_limited  # noqa: E402
from derive.model import load  # noqa: E402
from derive.verify import check_document  # noqa: E402

DERIVE_TIMEOUT = 600  # seconds per rule; rules run in a forked child


def print_environment() -> None:
    print(f"python {platform.python_version()} ({platform.python_implementation()}), sympy {sp.__version__}")
    print(f"derive {getattr(derive, '__version__', '?')} from "
          + ("this checkout" if FROM_CHECKOUT else "the installed package"))


def warm_parser() -> float:
    """Build Lark's parser once (a per-process cost, independent of what is measured)."""
    started = time.perf_counter()
    from derive import syntax
    syntax.parser()
    return time.perf_counter() - started


def prove_all(text: str, what: str) -> tuple:
    """(seconds, document, verdicts) for load + check_document of `text`; exits non-zero
    unless every rule is proved (`what` names the run in the message)."""
    clear_cache()
    started = time.perf_counter()
    try:
        doc = load(text, "bench.deriv")
        verdicts = check_document(doc, timeout=DERIVE_TIMEOUT)
    except DeriveError as e:
        sys.exit(f"derive rejected the document for {what}:\n{e}")
    seconds = time.perf_counter() - started
    bad = [v for v in verdicts if v.verdict != "proved"]
    if bad or not verdicts:
        lines = [f"derive did not prove every rule for {what}:"]
        lines += [f"  {v.rule}: {v.verdict} ({v.how}) {v.detail}" for v in bad] or ["  no verdicts at all"]
        sys.exit("\n".join(lines))
    return seconds, doc, verdicts


# ---------------------------------------------------------------- naive


def sigma(t):
    return 1 / (1 + sp.exp(-t))


def sigma_prime(t):
    return sigma(t) * (1 - sigma(t))


def _naive_work(problem, send) -> None:
    clear_cache()
    loss, pairs = problem()
    send(("total", len(pairs)))
    for entry, formula in pairs:
        zero = sp.simplify(sp.diff(loss, entry) - formula) == 0
        send(("done", zero))


def run_naive(problem, cap: float, what: str, total=None) -> dict:
    """The naive check in a forked child, killed at `cap` seconds in all: `problem()`
    gives (loss, [(entry, hand formula)]), and `simplify(diff(loss, entry) − formula)`
    must be 0 for each. `total` is the entry count to report if the child is stopped
    before it sends its own."""
    outcome = run_limited(lambda send: _naive_work(problem, send), cap)
    total = next((n for kind, n in outcome.messages if kind == "total"), total)
    results = [zero for kind, zero in outcome.messages if kind == "done"]
    if not outcome.completed and not outcome.timed_out:
        sys.exit(f"the naive check for {what} crashed (exit code {outcome.exitcode})")
    return {"seconds": outcome.seconds, "done": len(results), "total": total,
            "nonzero": sum(not zero for zero in results), "capped": not outcome.completed}


# ---------------------------------------------------------------- the table


def naive_cell(result: dict | None, unit: str) -> str:
    if result is None:
        return "skipped"
    if result["capped"]:
        shown = f"{result['seconds']:.0f}" if result["seconds"] >= 10 else f"{result['seconds']:.1f}"
        total = "?" if result["total"] is None else result["total"]
        return f"> {shown} s ({result['done']}/{total} {unit})"
    zeros = "all 0" if result["nonzero"] == 0 else f"{result['nonzero']}/{result['total']} NOT 0"
    return f"{result['seconds']:.2f} ({zeros})"


def ratio_cell(result: dict | None, derive_seconds: float) -> str:
    if result is None:
        return "-"
    ratio = result["seconds"] / derive_seconds
    text = f"{ratio:.1f}" if ratio < 10 else f"{ratio:.0f}"
    return f"> {text}×" if result["capped"] else f"{text}×"


def print_table(headers: list, rows: list, left_columns: int = 1) -> None:
    """Columns padded to their widest cell; the first `left_columns` left-aligned, the rest right."""
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]
    right = [i >= left_columns for i in range(len(headers))]

    def line(cells):
        return "  ".join(c.rjust(w) if r else c.ljust(w) for c, w, r in zip(cells, widths, right)).rstrip()

    print(line(headers))
    print("  ".join("-" * w for w in widths))
    for row in rows:
        print(line(row))
