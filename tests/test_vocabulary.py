"""vocabulary.py: verdict, how and expected are closed sets; each prints as its plain text,
an unknown value is an error where it is made, and every table over one names every member."""

from __future__ import annotations

import dataclasses
import json

import pytest

from derive.render import _DETAIL_BELOW, _MARKED, marked, render_failure, render_json, render_text
from derive.verify import Verdict
from derive.vocabulary import Expected, How, Outcome, exhaustive, lookup
from tests.conftest import verdicts_of


def _verdict(**changes) -> Verdict:
    v = Verdict("f.deriv", "r", 1, 1, None, "proved", "proved", "symbolic", "difference ≡ 0")
    return dataclasses.replace(v, **changes)


def test_members_print_and_compare_as_their_plain_text():
    assert Outcome.PROVED == "proved" and f"{How.TIME_LIMIT}" == "time limit" and str(Expected.UNDEFINED) == "undefined"
    assert f"{Outcome.ERROR:>7}" == "  error"
    assert json.dumps([Outcome.REFUTED, How.MEMORY_LIMIT]) == '["refuted", "memory limit"]'


def test_the_vocabularies_are_the_documented_ones():
    assert [m.value for m in Outcome] == ["proved", "refuted", "undecided", "undefined", "error"]
    assert [m.value for m in Expected] == ["proved", "refuted", "undefined"]
    assert {"symbolic", "counterexample", "shape", "kink", "time limit", "memory limit", "unproved", "bad input",
            "internal", "audit", "unaudited"} == {m.value for m in How}


def test_a_verdict_holds_members_and_refuses_unknown_values():
    v = _verdict()
    assert v.verdict is Outcome.PROVED and v.how is How.SYMBOLIC and v.expected is Expected.PROVED
    for field, value in (("verdict", "provd"), ("how", "magic"), ("expected", "undecided")):
        with pytest.raises(ValueError):
            _verdict(**{field: value})


def test_json_prints_plain_strings():
    [item] = json.loads(render_json([_verdict()]))
    assert (item["verdict"], item["how"], item["expected"]) == ("proved", "symbolic", "proved")


def test_a_table_over_a_vocabulary_must_name_every_member():
    assert set(_MARKED) == set(Expected) and set(_DETAIL_BELOW) == set(Outcome)
    with pytest.raises(TypeError, match="missing"):
        exhaustive(Expected, {"proved": "", "refuted": ""})
    with pytest.raises(TypeError):
        exhaustive(Expected, {"proved": "", "refuted": "", "undefined": "", "maybe": ""})
    with pytest.raises(ValueError, match="not a outcome: 'maybe'"):
        lookup(Outcome, _DETAIL_BELOW, "maybe")


def test_undefined_rules_are_shown_as_marked_undefined_not_marked_wrong():
    text = "undefined rule u: relu'(0) = 0\nwrong rule w: t = 2t\nrule p: t = t\n"
    verdicts = list(verdicts_of(text).values())
    table = render_text(verdicts)
    assert "undefined (marked undefined)" in table and "refuted (marked wrong)" in table
    assert "undefined (marked wrong)" not in table
    assert [marked(v.expected) for v in verdicts] == [" (marked undefined)", " (marked wrong)", ""]


def test_an_undefined_rule_that_is_proved_says_what_it_is_marked():
    v = _verdict(expected="undefined")
    assert "unexpectedly proved (symbolic): it is marked undefined" in render_failure(v)
    assert "it is marked wrong" in render_failure(_verdict(expected="refuted"))
