"""render.py: the text table and the JSON list say the same thing."""

import json

from derive.errors import DeriveSyntaxError, Pos
from derive.render import render_json, render_text, summary
from derive.verify import Counterexample, Verdict


def _verdicts():
    cx = Counterexample("l=1, entry 2", (2, 3, 2), (("x_1", "1/2"),), "0.5", "0.25")
    return [
        Verdict("f.deriv", "BP1", 3, 5, "mlp", "proved", "proved", "symbolic", "difference is identically 0", 0.1),
        Verdict("f.deriv", "BP2_noT", 4, 5, "mlp", "refuted", "refuted", "counterexample", str(cx), 0.2, cx),
        Verdict("f.deriv", "bad", 5, 5, None, "proved", "refuted", "counterexample", "left = 1, right = 2", 0.0),
    ]


def test_text_table_marks_each_rule_and_summarises():
    text = render_text(_verdicts())
    lines = text.splitlines()
    assert lines[0].split()[:4] == ["place", "rule", "verdict", "how"]
    assert any("BP1" in line and "ok" in line for line in lines)
    assert any("bad" in line and "FAIL" in line for line in lines)
    assert "    ↳ at l=1, entry 2, sizes 2, 3, 2: left = 0.5, right = 0.25; inputs x_1=1/2" in lines
    assert lines[-1] == "3 rules: 1 proved, 2 refuted; 1 not as expected"


def test_json_has_the_documented_fields():
    error = DeriveSyntaxError("unexpected '='", Pos(2, 7), filename="g.deriv")
    items = json.loads(render_json(_verdicts(), [error]))
    assert [i["verdict"] for i in items] == ["proved", "refuted", "refuted", "error"]
    for item in items:
        assert {"file", "rule", "verdict", "expected", "detail"} <= set(item)
    assert items[1]["counterexample"]["inputs"] == {"x_1": "1/2"}
    assert items[3]["rule"] is None and items[3]["line"] == 2 and "g.deriv:2:7" in items[3]["detail"]


def test_summary_counts_bad_files():
    assert summary([], [DeriveSyntaxError("x", Pos(1, 1))]) == "0 rules: none; 1 file with bad input"
