"""api.py: check_source/check_file give a Report; assert_rule/assert_proved raise an
AssertionError holding render_failure's report (the one the pytest plugin shows)."""

from __future__ import annotations

import pytest

import derive
from derive.api import Report, assert_proved, assert_rule, check_source
from derive.render import render_failure
from tests.conftest import mlp

PROVED = "rule r: tanh(t) = 2σ(2t) − 1"
REFUTED = "rule dtanh: tanh'(t) = 1 − tanh(t)"


def test_the_public_names_are_exported_and_documented():
    for name in ("check_file", "check_source", "assert_rule", "assert_proved", "Report", "Verdict",
                 "Counterexample", "DeriveError"):
        assert name in derive.__all__ and getattr(derive, name).__doc__, name
    assert derive.assert_rule is assert_rule
    with pytest.raises(AttributeError):
        derive.render_failure  # noqa: B018  (internal, not exported)


def test_report_lookup_and_failures():
    report = check_source(f"{PROVED}\n{REFUTED}\n", timeout=None)
    assert isinstance(report, Report) and len(report) == 2 and not report.ok
    assert report["r"].verdict == "proved" and report[1].rule == "dtanh"
    assert [v.rule for v in report.failures] == ["dtanh"]
    with pytest.raises(KeyError):
        report["missing"]


def test_assert_rule_returns_the_report_when_every_verdict_is_expected():
    report = assert_rule(f"{PROVED}\nwrong {REFUTED}\n", timeout=None)
    assert [v.verdict for v in report] == ["proved", "refuted"]


def test_assert_rule_raises_the_plugins_report():
    text = f"{PROVED}\n{REFUTED}\n"
    with pytest.raises(AssertionError) as raised:
        assert_rule(text, timeout=None)
    failure = check_source(text, timeout=None).failures[0]
    message = str(raised.value)
    assert message.startswith(render_failure(failure, text))  # one formatter, not a copy
    assert "left side = " in message and "inputs:  t = " in message
    assert message.endswith("2 rules: 1 proved, 1 refuted; 1 not as expected")


def test_assert_rule_on_a_network_counterexample_gives_its_inputs():
    with pytest.raises(AssertionError, match=r"(?s)scope:   sizes 2,3,2\n  at:      entry \d\n.*inputs:  x_1 = "):
        assert_rule(mlp("rule BP1: δᴸ = aᴸ − y"), timeout=None)


def test_assert_rule_takes_a_path(tmp_path):
    path = tmp_path / "notes.deriv"
    path.write_text(REFUTED + "\n", encoding="utf-8")
    with pytest.raises(AssertionError, match=r"notes\.deriv:1: rule dtanh: refuted \(counterexample\)"):
        assert_rule(path, timeout=None)


def test_bad_input_is_an_assertion_error_with_line_col_and_caret():
    with pytest.raises(AssertionError) as raised:
        assert_rule("rule s: σ(t = 1\n", timeout=None)
    lines = str(raised.value).splitlines()
    assert lines[0].startswith("<input>:1:") and "syntax error" in lines[0]
    assert lines[1].strip() == "rule s: σ(t = 1" and lines[2].strip() == "^"


def test_assert_proved_ignores_the_wrong_marking():
    with pytest.raises(AssertionError, match=r"rule dtanh: refuted \(counterexample\), expected proved"):
        assert_proved(f"wrong {REFUTED}\n", timeout=None)
    assert assert_proved("wrong rule t: 2t = t + t", timeout=None)["t"].verdict == "proved"


def test_all_lists_exactly_the_lazily_imported_names():
    assert set(derive.__all__) == set(derive._PUBLIC) | {"__version__"}
