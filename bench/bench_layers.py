"""Benchmark: derive vs. the naive SymPy way for convolution, RNN and regularised-risk rules.

Run from the repository root:

    python bench/bench_layers.py                          # the default cases, naive cap 120 s
    python bench/bench_layers.py --case conv1d:10,3       # one case (repeat --case for more)
    python bench/bench_layers.py --naive-cap 20           # a shorter cap for the naive way
    python bench/bench_layers.py --skip-naive             # derive only

Cases (NAME:SIZES):

* conv1d:N,K — input x[N], kernel w[K], bias b, σ, C = ½ Σ_p (a_p − y_p)² over the
  P = N − K + 1 valid positions; rules: the kernel gradient ∂C/∂w_k = Σ_p δ_p x_(p+k−1)
  and the input gradient (a full convolution of δ with the flipped kernel).
* conv2d:N,K — input X[N,N], kernel K[K,K], bias b, tanh, quadratic cost; rule: the
  kernel gradient ∂C/∂K_mn = Σ_i Σ_j Δ_ij X_(i+m−1, j+n−1).
* rnn:T[,H] — hᵗ = tanh(W hᵗ⁻¹ + U xᵗ + b) unrolled T steps with H units (default 2),
  L = Σ_t ½‖hᵗ − yᵗ‖²; rule: BPTT ∂L/∂W = Σ_t δᵗ (hᵗ⁻¹)ᵀ.
* risk:N[,D] — R = (1/N) Σₙ ½‖σ(W xⁿ + b) − yⁿ‖² + (λ/2)‖W‖² with W[D,D] (default 2);
  rule: ∂R/∂W = (1/N) Σₙ δⁿ (xⁿ)ᵀ + λW.

Run from a checkout, the script benchmarks that checkout's `derive` (it puts the
repository root first on the import path), never an installed copy.

What it measures, per case:

* derive: wall time of `derive.model.load` + `derive.verify.check_document` on the
  generated .deriv text (the graph and the rules above). Every verdict must be 'proved'.
* naive: the loss composed into one SymPy expression in the same inputs (σ(t) =
  1/(1 + exp(−t)) written out, every intermediate substituted); for every entry e the
  rules talk about (every w_k and x_i, every K_mn, every W_jk) `sympy.diff(loss, e)` is
  compared with the hand formula (δ written out in the same inputs) by
  `sympy.simplify(diff − formula) == 0`. It runs in a forked child killed at a total
  time cap; a capped run is reported as a lower bound with the number of entries
  finished, and so is the ratio.

The SymPy cache is cleared before every measurement, and Lark's one-time grammar build
is done (and its time printed) before the first derive measurement.
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

DEFAULT_CASES = ["conv1d:6,3", "conv1d:16,5", "conv2d:4,2", "conv2d:6,3",
                 "rnn:2", "rnn:3", "rnn:4", "risk:2", "risk:3", "risk:2,3"]


def symbols(name: str, n: int) -> list:
    """[name_1, …, name_n]: a 1-based vector written as a 0-based list."""
    return [sp.Symbol(f"{name}_{i}") for i in range(1, n + 1)]


def matrix(name: str, rows: int, cols: int) -> sp.Matrix:
    return sp.Matrix(rows, cols, lambda j, k: sp.Symbol(f"{name}_{j + 1}{k + 1}"))


# ---------------------------------------------------------------- cases
# Each case gives the .deriv text for derive and, for the naive way, the composed loss
# with the (entry, hand formula) pairs, both from the same sizes.


def conv1d_text(n: int, k: int) -> str:
    p = n - k + 1
    return (
        "graph conv1d {\n"
        f"    input x[{n}], w[{k}], b, y[{p}]\n"
        f"    for p in 1..{p}: z_p = Σ_k w_k x_{{p+k-1}} + b\n"
        f"    for p in 1..{p}: a_p = σ(z_p)\n"
        "    C = ½ Σ_p (a_p − y_p)²\n"
        "    let δ_p = ∂C/∂z_p\n"
        f"    rule \"kernel gradient\": for k in 1..{k}: ∂C/∂w_k = Σ_p δ_p x_{{p+k-1}}\n"
        f"    rule \"input gradient\": for i in 1..{n}: "
        f"∂C/∂x_i = Σ_{{p=max(1,i-{k - 1})}}^{{min({p},i)}} δ_p w_{{i-p+1}}\n"
        "}\n"
    )


def conv1d_naive(n: int, k: int) -> tuple:
    p_count = n - k + 1
    x, w, y, b = symbols("x", n), symbols("w", k), symbols("y", p_count), sp.Symbol("b")
    z = [sum(w[q] * x[p + q] for q in range(k)) + b for p in range(p_count)]
    a = [sigma(zp) for zp in z]
    loss = sp.Rational(1, 2) * sum((a[p] - y[p]) ** 2 for p in range(p_count))
    delta = [(a[p] - y[p]) * sigma_prime(z[p]) for p in range(p_count)]
    pairs = [(w[q], sum(delta[p] * x[p + q] for p in range(p_count))) for q in range(k)]
    pairs += [(x[i], sum(delta[p] * w[i - p] for p in range(p_count) if 0 <= i - p < k))
              for i in range(n)]
    return loss, pairs


def conv2d_text(n: int, k: int) -> str:
    p = n - k + 1
    return (
        "graph conv2d {\n"
        f"    input X[{n},{n}], K[{k},{k}], b, Y[{p},{p}]\n"
        f"    for i in 1..{p}: for j in 1..{p}: Z_{{i,j}} = Σ_m Σ_n K_{{m,n}} X_{{i+m-1,j+n-1}} + b\n"
        f"    for i in 1..{p}: for j in 1..{p}: A_{{i,j}} = tanh(Z_{{i,j}})\n"
        "    C = ½ Σ_i Σ_j (A_{i,j} − Y_{i,j})²\n"
        "    let Δ_{i,j} = ∂C/∂Z_{i,j}\n"
        f"    rule \"2-D kernel gradient\": for m in 1..{k}: for n in 1..{k}: "
        "∂C/∂K_{m,n} = Σ_i Σ_j Δ_{i,j} X_{i+m-1,j+n-1}\n"
        "}\n"
    )


def conv2d_naive(n: int, k: int) -> tuple:
    p = n - k + 1
    X, K, Y, b = matrix("X", n, n), matrix("K", k, k), matrix("Y", p, p), sp.Symbol("b")
    Z = sp.Matrix(p, p, lambda i, j: sum(K[m, q] * X[i + m, j + q] for m in range(k) for q in range(k)) + b)
    A = Z.applyfunc(sp.tanh)
    loss = sp.Rational(1, 2) * sum((A[i, j] - Y[i, j]) ** 2 for i in range(p) for j in range(p))
    Delta = sp.Matrix(p, p, lambda i, j: (A[i, j] - Y[i, j]) * (1 - A[i, j] ** 2))
    pairs = [(K[m, q], sum(Delta[i, j] * X[i + m, j + q] for i in range(p) for j in range(p)))
             for m in range(k) for q in range(k)]
    return loss, pairs


def rnn_text(steps: int, units: int = 2) -> str:
    h = units
    return (
        "graph rnn {\n"
        f"    size T = {steps}\n"
        f"    input h^0[{h}], W[{h},{h}], U[{h},{h}], b[{h}]\n"
        f"    for t in 1..T: input x^t[{h}], y^t[{h}]\n"
        "    for t in 1..T: z^t = W h^{t-1} + U x^t + b\n"
        "    for t in 1..T: h^t = tanh(z^t)\n"
        "    L = Σ_{t=1}^{T} ½‖h^t − y^t‖²\n"
        "    let δ^t = ∂L/∂z^t\n"
        "    rule \"BPTT: ∂L/∂W = Σ_t δᵗ (hᵗ⁻¹)ᵀ\": ∂L/∂W = Σ_{t=1}^{T} δ^t (h^{t-1})ᵀ\n"
        "}\n"
    )


def rnn_naive(steps: int, units: int = 2) -> tuple:
    H = units
    W, U = matrix("W", H, H), matrix("U", H, H)
    b = sp.Matrix(symbols("b", H))
    x = {t: sp.Matrix(symbols(f"x{t}", H)) for t in range(1, steps + 1)}
    y = {t: sp.Matrix(symbols(f"y{t}", H)) for t in range(1, steps + 1)}
    h = {0: sp.Matrix(symbols("h0", H))}
    for t in range(1, steps + 1):
        h[t] = (W * h[t - 1] + U * x[t] + b).applyfunc(sp.tanh)
    loss = sum(sp.Rational(1, 2) * sum(e ** 2 for e in h[t] - y[t]) for t in range(1, steps + 1))
    tanh_prime = {t: h[t].applyfunc(lambda e: 1 - e ** 2) for t in range(1, steps + 1)}
    delta = {steps: (h[steps] - y[steps]).multiply_elementwise(tanh_prime[steps])}
    for t in range(steps - 1, 0, -1):
        delta[t] = (h[t] - y[t] + W.T * delta[t + 1]).multiply_elementwise(tanh_prime[t])
    grad = sum((delta[t] * h[t - 1].T for t in range(1, steps + 1)), sp.zeros(H, H))
    return loss, [(W[j, k], grad[j, k]) for j in range(H) for k in range(H)]


def risk_text(samples: int, dim: int = 2) -> str:
    d = dim
    return (
        "graph risk {\n"
        f"    size N = {samples}\n"
        f"    input W[{d},{d}], b[{d}], λ\n"
        f"    for n in 1..N: input x^n[{d}], y^n[{d}]\n"
        "    for n in 1..N: z^n = W x^n + b\n"
        "    for n in 1..N: a^n = σ(z^n)\n"
        "    for n in 1..N: C^n = ½‖a^n − y^n‖²\n"
        "    R = (1/N) Σ_{n=1}^{N} C^n + (λ/2)‖W‖²\n"
        "    let δ^n = ∂C^n/∂z^n\n"
        "    rule \"∂R/∂W = (1/N) Σₙ δⁿ (xⁿ)ᵀ + λW\": ∂R/∂W = (1/N) Σ_{n=1}^{N} δ^n (x^n)ᵀ + λ W\n"
        "}\n"
    )


def risk_naive(samples: int, dim: int = 2) -> tuple:
    d, N = dim, samples
    W, b, lam = matrix("W", d, d), sp.Matrix(symbols("b", d)), sp.Symbol("λ")
    x = {n: sp.Matrix(symbols(f"x{n}", d)) for n in range(1, N + 1)}
    y = {n: sp.Matrix(symbols(f"y{n}", d)) for n in range(1, N + 1)}
    z = {n: W * x[n] + b for n in x}
    a = {n: z[n].applyfunc(sigma) for n in x}
    loss = (sp.Rational(1, N) * sum(sp.Rational(1, 2) * sum(e ** 2 for e in a[n] - y[n]) for n in x)
            + lam / 2 * sum(e ** 2 for e in W))
    delta = {n: (a[n] - y[n]).multiply_elementwise(z[n].applyfunc(sigma_prime)) for n in x}
    grad = sp.Rational(1, N) * sum((delta[n] * x[n].T for n in x), sp.zeros(d, d)) + lam * W
    return loss, [(W[j, k], grad[j, k]) for j in range(d) for k in range(d)]


CASES = {
    # name: (text, naive problem, minimum and maximum number of sizes, what the sizes are)
    "conv1d": (conv1d_text, conv1d_naive, 2, 2, "N,K: input length, kernel length"),
    "conv2d": (conv2d_text, conv2d_naive, 2, 2, "N,K: input N×N, kernel K×K"),
    "rnn": (rnn_text, rnn_naive, 1, 2, "T[,H]: steps, units (default 2)"),
    "risk": (risk_text, risk_naive, 1, 2, "N[,D]: samples, W is D×D (default 2)"),
}


def parse_case(text: str) -> tuple:
    """'conv1d:6,3' → ('conv1d', (6, 3)), checked against the case's needs."""
    name, _, sizes_part = text.partition(":")
    if name not in CASES:
        raise argparse.ArgumentTypeError(f"unknown case {text!r} (known: {', '.join(CASES)})")
    _, _, fewest, most, what = CASES[name]
    try:
        sizes = tuple(int(s) for s in sizes_part.replace(" ", "").split(",") if s)
    except ValueError:
        sizes = ()
    if not fewest <= len(sizes) <= most or any(n < 1 for n in sizes):
        raise argparse.ArgumentTypeError(f"{name} needs {what}, as positive integers, not {text!r}")
    if name.startswith("conv") and sizes[1] > sizes[0]:
        raise argparse.ArgumentTypeError(f"the kernel must fit in the input, not {text!r}")
    return name, sizes


def case_label(case: tuple) -> str:
    name, sizes = case
    return f"{name}:{','.join(map(str, sizes))}"


# ---------------------------------------------------------------- derive


def run_derive(case: tuple) -> tuple:
    """(seconds, number of rules) for load + check_document; exits non-zero unless all proved."""
    name, sizes = case
    seconds, _, verdicts = prove_all(CASES[name][0](*sizes), case_label(case))
    return seconds, len(verdicts)


# ---------------------------------------------------------------- naive


def run_naive_case(case: tuple, cap: float) -> dict:
    name, sizes = case
    return run_naive(lambda: CASES[name][1](*sizes), cap, case_label(case))


def entry_count(case: tuple) -> int:
    """How many derivative entries the rules cover (without building the naive problem)."""
    name, sizes = case
    if name == "conv1d":
        return sizes[0] + sizes[1]
    if name == "conv2d":
        return sizes[1] ** 2
    width = sizes[1] if len(sizes) > 1 else 2
    return width * width


RULES = {
    "conv1d": "kernel + input gradient",
    "conv2d": "kernel gradient",
    "rnn": "BPTT ∂L/∂W",
    "risk": "∂R/∂W",
}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--case", type=parse_case, action="append", metavar="NAME:SIZES",
                    help="one case, e.g. conv1d:6,3, conv2d:4,2, rnn:3 or rnn:3,2, risk:2 or risk:4,3 "
                         "(repeatable; default: " + " ".join(DEFAULT_CASES) + ")")
    ap.add_argument("--naive-cap", type=float, default=120.0, metavar="SECONDS",
                    help="total time cap for the naive way, per case (default 120)")
    ap.add_argument("--skip-naive", action="store_true", help="measure derive only")
    args = ap.parse_args(argv)
    cases = args.case or [parse_case(c) for c in DEFAULT_CASES]

    print_environment()
    print(f"naive cap {args.naive_cap:g} s per case" + (" (naive skipped)" if args.skip_naive else ""))
    print(f"one-time Lark grammar build before timing: {warm_parser():.2f} s")
    print(flush=True)

    headers = ["case", "rules", "#entries", "derive s", "naive s", "ratio naive/derive"]
    rows = []
    for case in cases:
        seconds, _ = run_derive(case)
        naive = None if args.skip_naive else run_naive_case(case, args.naive_cap)
        rows.append([case_label(case), RULES[case[0]], str(entry_count(case)), f"{seconds:.2f}",
                     naive_cell(naive, "entries"), ratio_cell(naive, seconds)])
        print(f"  measured {case_label(case)}", file=sys.stderr, flush=True)
    sys.stderr.flush()
    print_table(headers, rows, left_columns=2)
    print()
    print("derive: every rule proved in every run (every quantifier instance and entry).")
    if any(r[4].endswith("NOT 0)") for r in rows):
        print("naive: simplify(diff − formula) did not reduce to 0 for some entries (see 'NOT 0').")
    return 0


if __name__ == "__main__":
    sys.exit(main())
