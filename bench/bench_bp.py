"""Benchmark: derive vs. the naive SymPy way of checking backpropagation (BP1–BP4).

Run from the repository root:

    python bench/bench_bp.py                       # all five networks, naive cap 120 s
    python bench/bench_bp.py --sizes 2,3,2         # one network (repeat --sizes for more)
    python bench/bench_bp.py --naive-cap 30        # a shorter cap for the naive way
    python bench/bench_bp.py --skip-naive          # derive only

Run from a checkout, the script benchmarks that checkout's `derive` (it puts the
repository root first on the import path), never an installed copy; outside a checkout
it uses the installed package (`pip install .`).

What it measures, for dense MLPs with a sigmoid activation on every layer and the
quadratic loss C = ½‖y − aᴸ‖²:

* derive, one size: wall time of `derive.model.load` + `derive.verify.check_document`
  on a document holding Nielsen's BP1–BP4 as rules, with `also layers none`, so that
  derive checks the network at exactly the given sizes. Every verdict must be 'proved'.
* derive, default: the same document without `also layers none`, so derive also checks
  its default second size set (the full cost a user pays by default).
* naive: the whole loss C(x, W, b, y) composed into one SymPy expression with
  σ(t) = 1/(1 + exp(−t)) written out; for every parameter p (every entry of every Wˡ and
  bˡ) `sympy.diff(C, p)` is compared with the BP3/BP4 hand formula (δᴸ = (aᴸ − y) ⊙ σ'(zᴸ),
  δˡ = ((Wˡ⁺¹)ᵀδˡ⁺¹) ⊙ σ'(zˡ), ∂C/∂bˡ = δˡ, ∂C/∂Wˡ = δˡ(aˡ⁻¹)ᵀ, σ'(t) = σ(t)(1 − σ(t)))
  in the same variables, via `sympy.simplify(diff − formula) == 0`. It runs in a forked
  child and is killed at a total time cap; a capped run is reported as a lower bound
  together with the number of parameters finished, and so is the ratio.

The SymPy cache is cleared before every measurement, and Lark's one-time grammar
build is done (and its time printed) before the first derive measurement.
"""

from __future__ import annotations

import argparse
import os
import sys

import sympy as sp

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
# bench_common puts this checkout first on the import path (never an installed derive).
from bench_common import (  # noqa: E402
    naive_cell,
    print_environment,
    print_table,
    prove_all,
    ratio_cell,
    run_naive,
    sigma,
    sigma_prime,
    warm_parser,
)

DEFAULT_SIZES = [(2, 2, 1), (2, 3, 2), (4, 8, 8, 4), (16, 32, 32, 10), (784, 30, 10)]


# ---------------------------------------------------------------- derive


def document(sizes: tuple, one_size: bool) -> str:
    also = "    also layers none\n" if one_size else ""
    return (
        "network mlp {\n"
        f"    layers {', '.join(map(str, sizes))}\n"
        "    activation σ\n"
        "    loss C = ½‖y − aᴸ‖²\n"
        f"{also}"
        "    rule BP1: δ^L = ∂C/∂a^L ⊙ σ'(z^L)\n"
        "    rule BP2: for l in 1..L-1: δ^l = ((W^{l+1})ᵀ δ^{l+1}) ⊙ σ'(z^l)\n"
        "    rule BP3: for l in 1..L: ∂C/∂b^l = δ^l\n"
        "    rule BP4: for l in 1..L: ∂C/∂W^l = δ^l (a^{l-1})ᵀ\n"
        "}\n"
    )


def refusal(sizes: tuple) -> str:
    """Why derive refuses the network at once (a limit of derive.limits.LIMITS), or ""."""
    from derive.errors import DeriveError
    from derive.model import load
    try:
        load(document(sizes, True), "bench.deriv")
    except DeriveError as e:
        if "too large to check" in e.message:
            return e.message.split("(", 1)[-1].split(" in derive", 1)[0]  # the limit's name
        raise
    return ""


def run_derive(sizes: tuple, one_size: bool) -> tuple:
    """(seconds, document) for load + check_document; exits non-zero unless all proved."""
    which = "one size" if one_size else "default sizes"
    seconds, doc, _ = prove_all(document(sizes, one_size), f"layers {sizes_text(sizes)} ({which})")
    return seconds, doc


# ---------------------------------------------------------------- naive


def naive_problem(sizes: tuple) -> tuple:
    """(C, [(parameter symbol, hand formula for ∂C/∂parameter)]) in the variables x, W, b, y."""
    depth = len(sizes) - 1
    x = sp.Matrix([sp.Symbol(f"x_{i}") for i in range(1, sizes[0] + 1)])
    y = sp.Matrix([sp.Symbol(f"y_{i}") for i in range(1, sizes[-1] + 1)])
    W, b = {}, {}
    for l in range(1, depth + 1):
        W[l] = sp.Matrix(sizes[l], sizes[l - 1], lambda j, k, l=l: sp.Symbol(f"W{l}_{j + 1}{k + 1}"))
        b[l] = sp.Matrix([sp.Symbol(f"b{l}_{j}") for j in range(1, sizes[l] + 1)])
    # Forward pass, fully composed: nothing is a symbol except x, W, b, y.
    a, z = {0: x}, {}
    for l in range(1, depth + 1):
        z[l] = W[l] * a[l - 1] + b[l]
        a[l] = z[l].applyfunc(sigma)
    C = sp.Rational(1, 2) * sum(((y - a[depth])[i]) ** 2 for i in range(sizes[-1]))
    # The hand formulas, in the same variables.
    delta = {depth: (a[depth] - y).multiply_elementwise(z[depth].applyfunc(sigma_prime))}
    for l in range(depth - 1, 0, -1):
        delta[l] = (W[l + 1].T * delta[l + 1]).multiply_elementwise(z[l].applyfunc(sigma_prime))
    pairs = []
    for l in range(1, depth + 1):
        grad_W = delta[l] * a[l - 1].T
        for j in range(sizes[l]):
            for k in range(sizes[l - 1]):
                pairs.append((W[l][j, k], grad_W[j, k]))
        for j in range(sizes[l]):
            pairs.append((b[l][j], delta[l][j]))
    return C, pairs


def count_params(sizes: tuple) -> int:
    return sum(sizes[l] * sizes[l - 1] + sizes[l] for l in range(1, len(sizes)))


def run_naive_mlp(sizes: tuple, cap: float) -> dict:
    return run_naive(lambda: naive_problem(sizes), cap, f"layers {sizes_text(sizes)}", count_params(sizes))


def sizes_text(sizes: tuple) -> str:
    return "[" + ",".join(map(str, sizes)) + "]"


def parse_sizes(text: str) -> tuple:
    try:
        sizes = tuple(int(s) for s in text.replace(" ", "").split(",") if s)
    except ValueError:
        raise argparse.ArgumentTypeError(f"sizes must be comma-separated integers, not {text!r}") from None
    if len(sizes) < 3 or any(n < 1 for n in sizes):  # BP2 needs a hidden layer (l in 1..L-1)
        raise argparse.ArgumentTypeError(f"need at least three positive layer sizes (input, hidden, "
                                         f"output), not {text!r}")
    return sizes


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=parse_sizes, action="append", metavar="N,N,...",
                    help="layer sizes of one network, e.g. 2,3,2 (repeatable; default: "
                         + " ".join(",".join(map(str, s)) for s in DEFAULT_SIZES) + ")")
    ap.add_argument("--naive-cap", type=float, default=120.0, metavar="SECONDS",
                    help="total time cap for the naive way, per network (default 120)")
    ap.add_argument("--skip-naive", action="store_true", help="measure derive only")
    args = ap.parse_args(argv)
    networks = args.sizes or DEFAULT_SIZES

    print_environment()
    print(f"activation σ on every layer, loss C = ½‖y − aᴸ‖²; derive rules BP1–BP4; "
          f"naive cap {args.naive_cap:g} s" + (" (naive skipped)" if args.skip_naive else ""))
    print(f"one-time Lark grammar build before timing: {warm_parser():.2f} s")
    print(flush=True)

    headers = ["network sizes", "#params", "derive s (one size)", "derive s (default, two sizes)",
               "naive s", "ratio naive/derive(one size)"]
    rows, second = [], []
    refused = []
    for sizes in networks:
        naive = None if args.skip_naive else run_naive_mlp(sizes, args.naive_cap)
        limit = refusal(sizes)
        if limit:  # refused at once as too large to check: no time to compare
            refused.append(f"{sizes_text(sizes)} by the limit {limit!r} of derive.limits.LIMITS")
            rows.append([sizes_text(sizes), str(count_params(sizes)), "refused", "refused",
                         naive_cell(naive, "params"), "-"])
            continue
        one, _ = run_derive(sizes, one_size=True)
        default, doc = run_derive(sizes, one_size=False)
        also = doc.networks["mlp"].also_sizes
        second.append(f"{sizes_text(sizes)} also at {sizes_text(also)}" if also else
                      f"{sizes_text(sizes)} (no second size)")
        rows.append([sizes_text(sizes), str(count_params(sizes)), f"{one:.2f}", f"{default:.2f}",
                     naive_cell(naive, "params"), ratio_cell(naive, one)])
        print(f"  measured {sizes_text(sizes)}", file=sys.stderr, flush=True)
    print_table(headers, rows)
    print()
    print("derive: all rules proved in every run (BP1–BP4, every layer and entry).")
    if refused:
        print("derive refused as too large to check: " + "; ".join(refused) + ".")
    print("derive default second size sets: " + "; ".join(second) + ".")
    if any(r[4].endswith("NOT 0)") for r in rows):
        print("naive: simplify(diff − formula) did not reduce to 0 for some parameters (see 'NOT 0').")
    return 0


if __name__ == "__main__":
    sys.exit(main())
