"""render.py: the text table and the JSON list say the same thing."""

import json

from derive.errors import DeriveSyntaxError, Pos
from derive.render import render_failure, render_json, render_text, summary
from derive.scope import Scope
from derive.verify import Counterexample, Verdict


def _verdicts():
    cx = Counterexample("l=1, entry 2", (2, 3, 2), (("x_1", "1/2"),), "0.5", "0.25")
    both, declared = Scope("sizes", sizes=((2, 3, 2), (3, 2, 3))), Scope("sizes", sizes=((2, 3, 2),))
    return [
        Verdict("f.deriv", "BP1", 3, 5, "mlp", "proved", "proved", "symbolic", "difference is identically 0", 0.1,
                scope=both),
        Verdict("f.deriv", "BP2_noT", 4, 5, "mlp", "refuted", "refuted", "counterexample", str(cx), 0.2, cx,
                scope=declared),
        Verdict("f.deriv", "bad", 5, 5, None, "proved", "refuted", "counterexample", "left = 1, right = 2", 0.0,
                scope=Scope("all values", variables=("t",))),
    ]


def test_text_table_marks_each_rule_and_summarises():
    text = render_text(_verdicts())
    lines = text.splitlines()
    assert lines[0].split()[:4] == ["place", "rule", "verdict", "how"]
    assert any("BP1" in line and "ok" in line for line in lines)
    assert any("bad" in line and "FAIL" in line for line in lines)
    # the scope in brackets before the detail (or alone, with the detail below): sizes said once
    assert lines[1].endswith("ok    [sizes 2,3,2 and 3,2,3] difference is identically 0")
    assert lines[2].endswith("ok    [sizes 2,3,2]")
    assert "    ↳ at l=1, entry 2: left = 0.5, right = 0.25; inputs x_1=1/2" in lines
    assert lines[4].endswith("FAIL  [all real t]")
    assert lines[-1] == "3 rules: 1 proved, 2 refuted; 1 not as expected"


def test_json_has_the_documented_fields():
    error = DeriveSyntaxError("unexpected '='", Pos(2, 7), filename="g.deriv")
    items = json.loads(render_json(_verdicts(), [error]))
    assert [i["verdict"] for i in items] == ["proved", "refuted", "refuted", "error"]
    for item in items:
        assert {"file", "rule", "verdict", "expected", "detail"} <= set(item)
    assert items[1]["counterexample"]["inputs"] == {"x_1": "1/2"}
    assert items[3]["rule"] is None and items[3]["line"] == 2 and "g.deriv:2:7" in items[3]["detail"]
    assert items[0]["scope"] == {"kind": "sizes", "sizes": [[2, 3, 2], [3, 2, 3]], "failed_sizes": [],
                                 "variables": [], "given": {}, "assumptions": [], "region": "", "conditions": [],
                                 "functions": [],
                                 "text": "sizes 2,3,2 and 3,2,3"}
    assert items[3]["scope"]["kind"] == "nothing" and items[3]["scope"]["text"] == "nothing checked"


def test_summary_counts_bad_files():
    assert summary([], [DeriveSyntaxError("x", Pos(1, 1))]) == "0 rules: none; 1 file with bad input"


def test_failure_report_gives_the_rule_as_written_and_the_counterexample():
    # only the lines the verdicts point at (4 and 5) matter here
    source = "network mlp {\n    layers 2, 3, 2\n    rule BP1: …\n    wrong rule BP2_noT: δˡ = W δ\nrule bad: t = 2t\n"
    refuted, failing = _verdicts()[1], _verdicts()[2]
    lines = render_failure(refuted, source).splitlines()
    assert lines[0] == "f.deriv:4: rule BP2_noT: refuted (counterexample), expected refuted"
    assert lines[1:] == ["  rule:    wrong rule BP2_noT: δˡ = W δ    (in mlp)", "  scope:   sizes 2,3,2",
                         "  at:      l=1, entry 2", "  values:  left side = 0.5, right side = 0.25",
                         "  inputs:  x_1 = 1/2"]
    assert render_failure(failing, source).splitlines() == [
        "f.deriv:5: rule bad: refuted (counterexample), expected proved",
        "  rule:    rule bad: t = 2t",
        "  scope:   all real t",
        "  detail:  left = 1, right = 2"]


def test_failure_report_keeps_a_caret_and_names_any_verdict():
    error = str(DeriveSyntaxError("unexpected '='", Pos(1, 9), filename="g.deriv", source_line="rule r: = 1"))
    v = Verdict("g.deriv", "a b", 1, 1, None, "proved", "undefined", "kink", error)
    lines = render_failure(v).splitlines()
    assert lines[0] == 'g.deriv:1: rule "a b": undefined (kink), expected proved'
    assert lines[1:] == ["  detail:  g.deriv:1:9: syntax error: unexpected '='", "               rule r: = 1",
                         "                       ^"]


def test_failure_report_wraps_long_inputs():
    cx = Counterexample("", None, tuple((f"w_{i}", "-13/10") for i in range(20)), "1", "2")
    v = Verdict("f.deriv", "r", 1, 1, None, "proved", "refuted", "counterexample", str(cx), 0.0, cx)
    lines = render_failure(v).splitlines()
    assert lines[1].startswith("  values:  left side = 1, right side = 2")
    inputs = lines[2:]
    assert len(inputs) > 1 and all(len(line) <= 100 for line in inputs)
    assert " ".join(line.strip() for line in inputs).removeprefix("inputs:  ") == ", ".join(
        f"w_{i} = -13/10" for i in range(20))
