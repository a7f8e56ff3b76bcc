"""No input, however mangled, gets a traceback or an internal error: only verdicts or a
located bad-input message. Seeded mutations of the shipped proofs, plus known oddities."""

import random

import pytest

from derive.api import check_source
from derive.errors import DeriveError
from tests.conftest import PROOFS

CORPUS = [p.read_text(encoding="utf-8") for p in sorted(PROOFS.rglob("*.deriv"))]
TOKENS = ["σ", "(", ")", "t", "^", "_", "{", "}", "l", "L", "+", "−", "*", "/", "⊙", "ᵀ", "Σ", "∂", "‖", "²",
          "ˡ", "ⱼ", "[", "]", ",", "1", "0", "½", "'", "δ", "a", "W", "w", "x", "y", "=", "softmax", "log", " ",
          "\n", "..", ":", "for", "in", "rule", "wrong", "network", "layers", "loss", "assume", "let", "hadamard"]


def _mutant(rng: random.Random) -> str:
    lines = rng.choice(CORPUS).splitlines()
    k = rng.randrange(len(lines))
    line = lines[k]
    for _ in range(rng.randint(1, 3)):
        at = rng.randrange(len(line) + 1)
        if rng.random() < 0.4 and line:
            line = line[:at] + line[at + 1:]
        else:
            line = line[:at] + rng.choice(TOKENS) + line[at:]
    lines[k] = line
    return "\n".join(lines)


def _assert_clean(text: str) -> None:
    try:
        verdicts = check_source(text, "mutant.deriv", timeout=30)
    except DeriveError as e:
        assert str(e).startswith("mutant.deriv")
        return
    for v in verdicts:
        assert v.how != "internal", f"{v.rule}: {v.detail}\n{v.evidence}\n--- input ---\n{text}"


@pytest.mark.parametrize("seed", range(40))
def test_mutated_proofs_give_verdicts_or_located_errors(seed):
    _assert_clean(_mutant(random.Random(seed)))


@pytest.mark.parametrize("text", [
    "rule r: exp(exp(exp(exp(t)))) = 1",  # a counterexample too large to print as an integer
    "rule r: t = 1/0",
    "rule r: x^y^z = 1",
    "rule r: [1, 2]ᵀ = [1, 2]",
    "rule r: softmax(t) = 1",
    "rule r: log(t) = log(−t)",
    "rule r: ‖[t, 1]‖ = 0",
])
def test_odd_rules(text):
    _assert_clean(text)
