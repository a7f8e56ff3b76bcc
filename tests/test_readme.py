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


def test_readme_rule_files_as_tests_section_is_real():
    from derive.api import check_source
    from derive.model import load
    from derive.render import render_failure

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Rule files as tests", 1)[1]
    rules = sum(len(load(p.read_text(encoding="utf-8")).all_rules()) for p in (ROOT / "proofs").rglob("*.deriv"))
    assert f"collected {rules} items" in section and f" {rules} passed in " in section
    shown = section.split("(failure section only):", 1)[1].split("```", 2)[1].strip().splitlines()
    text = (ROOT / "examples" / "readme.deriv").read_text(encoding="utf-8")
    dtanh = check_source(text, "examples/readme.deriv", timeout=None, select=lambda r: r.name == "dtanh")[0]
    assert shown[1:] == render_failure(dtanh, text).splitlines()


def test_readme_piecewise_example_output_is_what_derive_prints():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    shown = readme.split("`examples/piecewise.deriv`, checked", 1)[1].split("```", 2)[1]
    result = subprocess.run([sys.executable, "-m", "derive.cli", "check", "examples/piecewise.deriv"], cwd=ROOT,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 1  # relu' = 1 is refuted and not marked wrong
    assert _without_times(result.stdout) == _without_times(shown)


def test_readme_cost_table_is_what_derive_prints():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    shown = readme.split("backprop saves (`examples/readme.deriv`):", 1)[1].split("```", 2)[1]
    result = subprocess.run([sys.executable, "-m", "derive.cli", "cost", "examples/readme.deriv"], cwd=ROOT,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0
    assert result.stdout.strip().splitlines()[1:] == shown.strip().splitlines()
