"""The README's example shows real output: rerun it and compare, timings aside."""

import re
import subprocess
import sys

from tests.conftest import ROOT


def _without_times(text: str) -> list:
    return [re.sub(r"\d+\.\d\ds", "_s", line).rstrip() for line in text.strip().splitlines()]


def test_readme_example_output_is_what_derive_prints():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    shown = readme.split("`derive check examples/readme.deriv`", 1)[1].split("```", 2)[1]
    result = subprocess.run([sys.executable, "-m", "derive.cli", "check", "examples/readme.deriv"], cwd=ROOT,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 1  # as the README says: dtanh is wrong and not marked so
    assert _without_times(result.stdout) == _without_times(shown)


def test_readme_example_file_is_the_one_shown():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    example = (ROOT / "examples" / "readme.deriv").read_text(encoding="utf-8")
    assert example.strip() in readme
