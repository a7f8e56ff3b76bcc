"""bench/bench_layers.py works: derive proves the generated documents at tiny sizes, the
naive way's hand formulas agree with SymPy's own derivative, bad cases are refused.
Nothing here is timed."""

import importlib.util
import os
import subprocess
import sys

import pytest
import sympy as sp

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCRIPT = os.path.join(ROOT, "bench", "bench_layers.py")
TINY = ["conv1d:4,2", "conv2d:3,2", "rnn:2,1", "risk:1"]


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("bench_layers", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_script_runs_derive_only_at_tiny_sizes():
    args = [sys.executable, SCRIPT, "--skip-naive"] + [a for c in TINY for a in ("--case", c)]
    done = subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    table_rows = [line for line in done.stdout.splitlines() if line.split(" ")[0] in TINY]
    assert [row.split()[0] for row in table_rows] == TINY
    assert all("skipped" in row for row in table_rows)


def at_a_point(expr, seed: int):
    """expr at exact rational values of all its symbols, to 30 digits (tanh and exp make
    simplify slow on the RNN, so the helper's formulas are checked at points)."""
    values = {s: sp.Rational((7 * seed + 3 * i) % 11 - 5, 4) for i, s in
              enumerate(sorted(expr.free_symbols, key=str))}
    return expr.evalf(30, subs=values)


@pytest.mark.parametrize("case", TINY)
def test_naive_hand_formulas_are_the_derivatives(bench, case):
    name, sizes = bench.parse_case(case)
    loss, pairs = bench.CASES[name][1](*sizes)
    assert len(pairs) == bench.entry_count((name, sizes))
    for entry, formula in pairs:
        for seed in (1, 2):
            assert abs(at_a_point(sp.diff(loss, entry) - formula, seed)) < 1e-25


def test_naive_check_notices_a_wrong_formula(bench):
    loss, pairs = bench.conv1d_naive(3, 2)
    entry, formula = pairs[0]  # ∂C/∂w_1
    assert sp.simplify(sp.diff(loss, entry) - formula) == 0
    assert sp.simplify(sp.diff(loss, entry) - 2 * formula) != 0


def test_generated_text_follows_the_sizes(bench):
    text = bench.conv1d_text(6, 3)
    assert "input x[6], w[3], b, y[4]" in text
    assert "Σ_{p=max(1,i-2)}^{min(4,i)}" in text
    assert "size T = 4" in bench.rnn_text(4)
    assert "input W[3,3]" in bench.risk_text(2, 3)


@pytest.mark.parametrize("bad", ["conv1d:2,3", "conv1d:6", "rnn:0", "pool:2", "risk:x"])
def test_bad_cases_are_refused(bench, bad, capsys):
    with pytest.raises(SystemExit) as exit_info:
        bench.main(["--skip-naive", "--case", bad])
    assert exit_info.value.code == 2
    assert bad in capsys.readouterr().err
