"""pytest_plugin.py: rule files as tests, run with pytester on temporary .deriv files.

Most runs are in-process (fast, and they use the derive under test), with only this
plugin loaded (`-p`, no other installed plugins: quicker, and the same everywhere). The
pytest-xdist run is a subprocess that loads plugins as a user's pytest does, with this
checkout first on PYTHONPATH so that its workers import it too.
"""

from __future__ import annotations

import glob
import os
import shutil

import pytest

from derive import pytest_plugin
from derive.model import load
from derive.verify import Verdict
from tests.conftest import PROOFS, ROOT, mlp

PROVED = "rule r: tanh(t) = 2σ(2t) − 1\n"
REFUTED = "rule dtanh: tanh'(t) = 1 − tanh(t)\n"


def _deriv(pytester, text: str, name: str = "rules"):
    return pytester.makefile(".deriv", **{name: text})


def test_the_plugin_is_active_without_configuration(request):
    # registered through the pytest11 entry point of the installed package
    assert request.config.pluginmanager.get_plugin("derive") is pytest_plugin


def test_a_proved_rule_passes(pytester):
    _deriv(pytester, PROVED)
    result = pytester.runpytest("-v")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["rules.deriv::r PASSED*"])


def test_a_refuted_rule_fails_with_the_rule_and_the_counterexample(pytester):
    _deriv(pytester, PROVED + REFUTED)
    result = pytester.runpytest()
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines([
        "*_ rule dtanh _*",
        "rules.deriv:2: rule dtanh: refuted (counterexample), expected proved",
        "  rule:    rule dtanh: tanh'(t) = 1 − tanh(t)",
        "  values:  left side = *, right side = *(interval arithmetic at 60 digits)",
        "  inputs:  t = *",
    ])
    assert "Traceback" not in result.stdout.str() and "verify.py" not in result.stdout.str()


def test_a_network_counterexample_names_the_entry_and_the_inputs(pytester):
    _deriv(pytester, mlp('rule "BP1 without σ\'": δᴸ = aᴸ − y'))
    result = pytester.runpytest()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["  rule:    rule \"BP1 without σ'\": δᴸ = aᴸ − y    (in mlp)",
                                 "  scope:   sizes 2,3,2", "  at:      entry *", "  inputs:  x_1 = *"])


def test_expected_wrong_rules_pass_when_refuted_and_fail_when_proved(pytester):
    _deriv(pytester, "wrong rule w: tanh'(t) = 1 − tanh(t)\nwrong rule t: 2t = t + t\n")
    result = pytester.runpytest("-v")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["rules.deriv::w PASSED*", "rules.deriv::t FAILED*",
                                 "rules.deriv:2: rule t: unexpectedly proved (symbolic): it is marked wrong"])


def test_a_syntax_error_is_one_failing_item_with_line_col_and_caret(pytester):
    _deriv(pytester, PROVED + "rule s: σ(t = 1\n" + REFUTED)
    result = pytester.runpytest()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*_ bad input _*", "rules.deriv:2:*: syntax error: *", "    rule s: σ(t = 1",
                                 "*^", "FAILED rules.deriv::bad input*"])
    assert "Traceback" not in result.stdout.str()


def test_a_declaration_error_found_while_compiling_is_one_failing_item(pytester):
    # The loss is a vector here, which only compiling the network finds out.
    _deriv(pytester, "network n {\n    layers 2, 2\n    activation σ\n    loss C = y − aᴸ\n"
                     "    rule BP1: δᴸ = (aᴸ − y) ⊙ σ'(zᴸ)\n}\n")
    result = pytester.runpytest("-v")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["rules.deriv::bad input FAILED*", "rules.deriv:4:*"])


def test_a_broken_file_does_not_stop_the_others(pytester):
    _deriv(pytester, "rule oops: = 1\n", name="broken")
    _deriv(pytester, PROVED, name="fine")
    pytester.runpytest().assert_outcomes(passed=1, failed=1)


def test_k_selects_rules_by_name(pytester):
    _deriv(pytester, mlp("rule BP1: δᴸ = (aᴸ − y) ⊙ σ'(zᴸ)\n"
                         "rule BP2: for l in 1..L-1: δˡ = ((W^{l+1})ᵀ δ^{l+1}) ⊙ σ'(zˡ)") + REFUTED)
    result = pytester.runpytest("-v", "-k", "BP2")
    result.assert_outcomes(passed=1, deselected=2)
    result.stdout.fnmatch_lines(["rules.deriv::BP2 PASSED*"])
    pytester.runpytest("-k", "not dtanh").assert_outcomes(passed=2, deselected=1)


NAMES = ["σ' = σ(1−σ)", "with 'quotes'", "a [bracket]", "x[1]::y", "per::sec"]


def test_any_rule_name_gives_an_item_selectable_by_its_node_id(pytester):
    _deriv(pytester, "".join(f'rule "{n}": t = t\n' for n in NAMES) + "rule other: t = t\n")
    items = [name.replace("::", ": :") for name in NAMES]  # pytest would split a node id at "::"
    result = pytester.runpytest("-v", *(f"rules.deriv::{item}" for item in items))
    result.assert_outcomes(passed=len(NAMES))
    result.stdout.fnmatch_lines([f"rules.deriv::{glob.escape(item)} PASSED*" for item in items])


def test_rules_sharing_a_name_in_two_blocks_get_the_block_in_their_ids(pytester):
    square = mlp("rule BP1: δᴸ = (aᴸ − y) ⊙ σ'(zᴸ)", sizes="2, 2").replace("network mlp", "network sq")
    _deriv(pytester, mlp("rule BP1: δᴸ = (aᴸ − y) ⊙ σ'(zᴸ)") + square)
    result = pytester.runpytest("-v", "rules.deriv::BP1")
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(["rules.deriv::BP1[[]mlp] PASSED*", "rules.deriv::BP1[[]sq] PASSED*"])
    pytester.runpytest("rules.deriv::BP1[sq]").assert_outcomes(passed=1)


# Parsed and compiled in milliseconds; checked in far more than a second (a 10-term multinomial to the 15th).
SLOW = "rule slow: ((x+y+z+w)^2)^15 = (x^2+y^2+z^2+w^2+2x y+2x z+2x w+2y z+2y w+2z w)^15\n"


def test_the_timeout_option_turns_a_long_check_into_a_time_limit_failure(pytester):
    _deriv(pytester, SLOW)
    result = pytester.runpytest("--derive-timeout", "1")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*: rule slow: undecided (time limit), expected proved",
                                 "  detail:  time limit of 1 s hit*"])


def test_the_ini_setting_sets_the_timeout_and_the_option_overrides_it(pytester):
    _deriv(pytester, SLOW + PROVED)
    pytester.makeini("[pytest]\nderive_timeout = 1\n")
    pytester.runpytest().stdout.fnmatch_lines(["*undecided (time limit)*", "*1 failed, 1 passed*"])
    pytester.makeini("[pytest]\nderive_timeout = soon\n")  # not even read when the option is given
    pytester.runpytest("--derive-timeout", "none", "-k", "not slow").assert_outcomes(passed=1, deselected=1)


def test_a_bad_ini_timeout_is_a_usage_error(pytester):
    _deriv(pytester, PROVED)
    pytester.makeini("[pytest]\nderive_timeout = soon\n")
    result = pytester.runpytest()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*derive_timeout: not a number of seconds: 'soon'*"])


@pytest.mark.parametrize("expected, passed", [("undefined", 1), ("proved", 0)])
def test_a_verdict_the_plugin_does_not_know_passes_only_when_expected(pytester, monkeypatch, expected, passed):
    # Another stage may add verdicts (say "undefined" at a kink): the plugin only asks Verdict.ok.
    def check_rule(rule, targets, filename, timeout, source=""):
        return Verdict(filename, rule.name, rule.pos.line, rule.pos.column, None, expected, "undefined", "kink",
                       "σ is not differentiable here")

    monkeypatch.setattr("derive.verify.check_rule", check_rule)
    _deriv(pytester, PROVED)
    result = pytester.runpytest()
    result.assert_outcomes(passed=passed, failed=1 - passed)
    if not passed:
        result.stdout.fnmatch_lines(["rules.deriv:1: rule r: undefined (kink), expected proved",
                                     "  detail:  σ is not differentiable here"])


def test_the_shipped_library_passes_with_one_item_per_rule_under_xdist(pytester, monkeypatch):
    # `pytest -n 2 proofs/`: a subprocess whose workers import this checkout of derive.
    try:
        import xdist  # noqa: F401
    except ImportError:  # a test dependency: missing, it must fail, not skip
        pytest.fail("pytest-xdist is needed: pip install '.[test]'")

    shutil.copytree(PROOFS, pytester.path / "proofs")
    rules = sum(len(load(p.read_text(encoding="utf-8")).all_rules()) for p in PROOFS.rglob("*.deriv"))
    monkeypatch.delenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD")  # the plugins a user's pytest would load
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    result = pytester.runpytest_subprocess("-n", "2", "-p", "no:cacheprovider", "proofs", timeout=600)
    result.stdout.fnmatch_lines(["*2 workers*"])
    result.assert_outcomes(passed=rules)


def test_the_course_example_runs_as_its_ci_would(pytester):
    shutil.copytree(ROOT / "examples" / "course", pytester.path, dirs_exist_ok=True)
    result = pytester.runpytest("-v")  # its pytest.ini: testpaths = rules notes, derive_timeout = 120
    result.assert_outcomes(passed=12)  # 2 rules in rules/, BP1–BP4 and a wrong BP2 in each of the two notes
    result.stdout.fnmatch_lines(["rules/week3.deriv::BP1 (notes, week 3) PASSED*",
                                 "rules/week3.deriv::BP1 without σ' (exercise 2) PASSED*"])
    for notes in ("backprop.md", "backprop.tex"):
        result.stdout.fnmatch_lines([f"notes/{notes}::{name} PASSED*"
                                     for name in ("BP1", "BP2", "BP3", "BP4", "BP2_without_transpose")])
    workflow = (pytester.path / ".github" / "workflows" / "check-rules.yml").read_text(encoding="utf-8")
    assert "run: pytest\n" in workflow


# ---------------------------------------------------------------- crashes at collection (issue 9)


@pytest.mark.parametrize("text, message", [
    ("rule r: " + " + ".join(["x"] * 500) + " = 500 x\n", "nested more than"),
    ("rule r: " + "1" * 5000 + " x = x\n", "more than 1000 digits"),
    ("graph g {\n  input a = 1/0\n  y = 2 a\n  rule r: y = 2 a\n}\n", "division by zero"),
    (mlp("rule BP1: δᴸ = (aᴸ − y) ⊙ σ'(zᴸ)", sizes="1000, 1000"), "too large to check"),
])
def test_a_file_that_crashed_collection_is_one_failing_item_with_its_located_message(pytester, text, message):
    _deriv(pytester, text, name="odd")
    _deriv(pytester, PROVED, name="fine")
    result = pytester.runpytest("--derive-timeout", "60")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines([f"odd.deriv:*error: *{message}*", "*^"])
    assert "Traceback" not in result.stdout.str() and "INTERNALERROR" not in result.stdout.str()


def test_a_binary_file_is_one_failing_item(pytester):
    (pytester.path / "odd.deriv").write_bytes(b"rule r: t = t\n\0\0")
    _deriv(pytester, PROVED, name="fine")
    result = pytester.runpytest()
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["odd.deriv: error: a binary file*"])


def test_a_bug_at_collection_is_one_failing_item_not_the_end_of_the_session(pytester, monkeypatch):
    def broken(doc):
        raise RuntimeError("a bug while compiling")

    monkeypatch.setattr("derive.verify.CompiledDocument", broken)
    _deriv(pytester, PROVED)
    result = pytester.runpytest()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*RuntimeError: a bug while compiling*"])


@pytest.mark.parametrize("value", ["nan", "inf", "-1", "0", "abc"])
def test_a_bad_timeout_option_is_a_usage_error(pytester, value):
    _deriv(pytester, PROVED)
    result = pytester.runpytest(f"--derive-timeout={value}")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--derive-timeout: *seconds*"])


def test_the_time_limit_covers_compiling_at_collection(pytester, monkeypatch):
    from derive.limits import LIMITS

    monkeypatch.setitem(LIMITS, "entries", 100_000)
    monkeypatch.setitem(LIMITS, "scalars", 100_000)
    _deriv(pytester, mlp("rule BP1: δᴸ = (aᴸ − y) ⊙ σ'(zᴸ)", sizes="150, 150"))
    result = pytester.runpytest("--derive-timeout", "0.2")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*rules.deriv: error: *longer than the time limit of 0.2 s*"])
