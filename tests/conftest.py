"""Shared helpers for derive's tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from derive.api import check_source

pytest_plugins = ["pytester"]  # tests/test_pytest_plugin.py runs pytest on temporary rule files

ROOT = Path(__file__).resolve().parent.parent
PROOFS = ROOT / "proofs"


def verdicts_of(text: str, timeout=None) -> dict:
    """{rule name: Verdict} for a .deriv text, checked in-process (no time limit)."""
    return {v.rule: v for v in check_source(text, "test.deriv", timeout=timeout)}


MLP = """network mlp {{
    layers {sizes}
    activation σ
    loss C = ½‖y − aᴸ‖²
{rules}
}}
"""


def mlp(rules: str, sizes: str = "2, 3, 2") -> str:
    return MLP.format(sizes=sizes, rules="\n".join("    " + r for r in rules.strip().splitlines()))


@pytest.fixture
def proofs_dir() -> Path:
    return PROOFS
