"""Shared helpers for derive's tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from derive.api import check_source

pytest_plugins = ["pytester"]  # tests/test_pytest_plugin.py runs pytest on temporary rule files

ROOT = Path(__file__).resolve().parent.parent
PROOFS = ROOT / "proofs"


@pytest.fixture
def pytester(pytester, monkeypatch):
    """pytester whose `runpytest` loads the derive plugin and no other installed plugin."""
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
    run = pytester.runpytest
    monkeypatch.setattr(pytester, "runpytest", lambda *args, **kw: run("-p", "derive.pytest_plugin", *args, **kw))
    return pytester


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


def require_program(program: str, variable: str) -> str:
    """The path of an outside program a test needs. Missing, the test fails (CI installs
    it: .ci/run) — unless `variable` is set, which says this machine lacks it on purpose."""
    import os
    import shutil

    found = shutil.which(program)
    if found is None:
        if os.environ.get(variable):
            pytest.skip(f"{program} not installed ({variable} is set)")
        pytest.fail(f"{program} is not installed: install it (see .ci/run) or set {variable}=1 to skip")
    return found
