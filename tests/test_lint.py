"""ruff (pyflakes, pycodestyle, bugbear, isort) and mypy stay clean on the code, with the
configuration in pyproject.toml. Both are in the `test` extra; without them these tests skip."""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _run(tool: str, *args: str) -> subprocess.CompletedProcess:
    """`python -m tool args` from the project root (so pyproject.toml is its configuration),
    with the Python running the tests (so the tool is the one installed next to it)."""
    if importlib.util.find_spec(tool) is None:
        pytest.skip(f"{tool} is not installed (pip install -e '.[test]')")
    return subprocess.run([sys.executable, "-m", tool, *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=600)


def _output(result: subprocess.CompletedProcess) -> str:
    return f"exit {result.returncode}\n{result.stdout}{result.stderr}"


def test_ruff_is_clean():
    result = _run("ruff", "check", "--no-cache", "derive", "tests", "bench")
    assert result.returncode == 0, _output(result)


def test_ruff_configuration_flags_what_it_should(tmp_path):
    """The selected rules are on: an unused import (F), a mutable default (B), unsorted imports (I)
    and a line over 120 characters (E) are each reported."""
    bad = tmp_path / "bad.py"
    bad.write_text("import sys\nimport os\n\n\ndef f(x=[]):\n    return x\n\n\n" + f"y = {'1 + ' * 60}1\n",
                   encoding="utf-8")
    result = _run("ruff", "check", "--no-cache", "--config", str(ROOT / "pyproject.toml"), str(bad))
    assert result.returncode == 1, _output(result)
    for code in ("F401", "B006", "I001", "E501"):
        assert code in result.stdout, f"{code} not reported\n{_output(result)}"


def test_mypy_is_clean():
    result = _run("mypy")
    assert result.returncode == 0, _output(result)
    # the configuration's `files` is the whole package: every module of derive/ was checked
    checked = re.search(r"no issues found in (\d+) source files", result.stdout)
    assert checked is not None, _output(result)
    assert int(checked.group(1)) >= len(list((ROOT / "derive").glob("*.py"))), _output(result)
