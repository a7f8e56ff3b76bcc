"""End to end: the shipped library. Every rule in proofs/ gets the verdict its file
expects; every wrong-on-purpose rule is refuted with a counterexample or a shape."""

import subprocess
import sys

import pytest

from derive.api import check_file
from tests.conftest import PROOFS

FILES = sorted(PROOFS.rglob("*.deriv"))


@pytest.mark.parametrize("path", FILES, ids=[str(p.relative_to(PROOFS)) for p in FILES])
def test_every_rule_gets_its_expected_verdict(path):
    verdicts = check_file(path, timeout=120)
    assert verdicts, f"{path} has no rules"
    wrong = [f"{v.rule}: {v.verdict} ({v.how}) {v.detail}" for v in verdicts if not v.ok]
    assert not wrong, "\n".join(wrong)
    for v in verdicts:
        if v.expected == "proved":
            assert v.how == "symbolic"
        elif v.expected == "undefined":
            assert v.how == "kink"
        else:
            assert v.how in ("counterexample", "shape")
            if v.how == "counterexample":
                assert v.counterexample is not None and v.counterexample.lhs != v.counterexample.rhs


def test_wrong_folder_holds_the_classic_misprints():
    names = {v.rule for p in sorted((PROOFS / "wrong").glob("*.deriv")) for v in check_file(p, timeout=120)
             if v.expected == "refuted"}
    assert len(names) >= 8
    for required in ("BP2 without the transpose", "BP4 with indices swapped", "σ' = σ(1+σ)",
                     "y − p (sign flipped)", "CE δᴸ with a spurious σ'", "tanh' = 1 − tanh", "dJ/db = 3",
                     "softmax Jacobian without δᵢⱼ"):
        assert required in names


def test_library_covers_the_issue():
    text = "\n".join(p.read_text(encoding="utf-8") for p in FILES)
    for fragment in ("rule BP1:", "rule BP2:", "rule BP3:", "rule BP4:", "rule BP1c:", "rule BP2c:", "rule BP3c:",
                     "rule BP4c:", '"δᴸ = aᴸ − y"', '"∂C/∂zᴸ = p − y"', '"J = 33"', '"dJ/dc = 9"',
                     '"tanh = 2σ(2t) − 1"', '"softmax([z, 0])₁ = σ(z)"', "assume Σ y = 1"):
        assert fragment in text, fragment


def test_cli_checks_the_whole_library():
    result = subprocess.run([sys.executable, "-m", "derive.cli", "check", str(PROOFS)], capture_output=True,
                            text=True, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "all as expected" in result.stdout
    assert "Traceback" not in result.stderr
