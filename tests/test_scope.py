"""Every verdict says over what scope it was reached: which sizes, which region, which
assumptions (derive.scope.Scope, its kind a derive.vocabulary.Extent)."""

import json
from dataclasses import FrozenInstanceError

import pytest

import derive.verify
from derive.cli import main
from derive.render import render_failure, render_text
from derive.scope import Scope
from derive.vocabulary import Extent
from tests.conftest import mlp, verdicts_of

# ---------------------------------------------------------------- the type


def test_scope_text_for_each_kind():
    assert str(Scope("all values", variables=("t",), region="where both sides are defined")) == \
        "all real t where both sides are defined"
    assert str(Scope("sizes", sizes=((2, 3, 2), (3, 2, 3)), assumptions=("Σ y = 1",))) == \
        "sizes 2,3,2 and 3,2,3; assuming Σ y = 1"
    assert str(Scope("sizes", sizes=((2, 3, 2),), failed_sizes=((3, 2, 3),))) == "sizes 2,3,2 only (not 3,2,3)"
    assert str(Scope("sizes", sizes=(("T=3",),))) == "sizes T=3"
    assert str(Scope("point", given=(("a", "5"), ("b", "3")))) == "at a=5, b=3"
    assert str(Scope("point")) == "at the point the rule names"
    assert str(Scope("nothing")) == "nothing checked"
    many = Scope("all values", variables=tuple(f"x_{i}" for i in range(1, 11)))
    assert str(many) == "all real x_1, x_2, x_3, x_4, x_5, x_6, x_7, x_8, …" and len(many.to_dict()["variables"]) == 10


def test_all_sizes_fits_with_side_conditions():
    # reserved for rules proved for every size: the type already carries its side conditions
    scope = Scope(Extent.ALL_SIZES, conditions=("L ≥ 2", "k ≤ n"), assumptions=("Σ y = 1",))
    assert str(scope) == "all sizes with L ≥ 2, k ≤ n; assuming Σ y = 1"
    assert scope.to_dict()["conditions"] == ["L ≥ 2", "k ≤ n"]


def test_scope_is_frozen_and_its_kind_closed():
    scope = Scope("sizes", sizes=((2, 3),))
    assert scope.kind is Extent.SIZES
    with pytest.raises(FrozenInstanceError):
        scope.kind = Extent.POINT  # type: ignore[misc]
    with pytest.raises(ValueError):
        Scope("everywhere")
    assert [m.value for m in Extent] == ["all values", "sizes", "point", "all sizes", "nothing"]


# ---------------------------------------------------------------- filled by verify


def test_scalar_rule_is_proved_for_all_real_values_where_defined():
    v = verdicts_of("rule s: σ'(t) = σ(t)(1 − σ(t))")["s"]
    assert v.verdict == "proved" and v.scope.kind is Extent.ALL_VALUES and v.scope.variables == ("t",)
    assert str(v.scope) == "all real t where both sides are defined"


def test_network_rule_names_both_size_sets_once():
    v = verdicts_of(mlp("rule r: for l in 1..L: ∂C/∂bˡ = δˡ"))["r"]
    assert v.verdict == "proved" and v.scope.kind is Extent.SIZES
    assert v.scope.sizes == ((2, 3, 2), (3, 2, 3)) and not v.scope.failed_sizes
    assert "sizes" not in v.detail  # said once: in the scope


def test_network_rule_refuted_at_the_second_size_set_is_scoped_to_the_declared_sizes():
    # Σ aᴸ = aᴸ (a scalar against a vector) is true at width 1 only
    v = verdicts_of(mlp("rule r: Σ aᴸ = aᴸ", "1, 1"))["r"]
    assert v.verdict == "proved"
    assert v.scope.sizes == ((1, 1),) and v.scope.failed_sizes == ((2, 2),)
    assert str(v.scope) == "sizes 1,1 only (not 2,2)"
    assert "not at sizes 2,2: refuted" in v.detail  # why, in the detail


def test_a_rule_tied_to_the_declared_widths_is_scoped_to_them():
    v = verdicts_of(mlp("rule r: Σ_{k=1}^{2} x_k = Σ x"))["r"]
    assert v.verdict == "proved" and str(v.scope) == "sizes 2,3,2"


def test_assumptions_are_part_of_the_scope():
    text = """network n {
    layers 2, 3
    activation softmax
    loss C = −Σ(y ⊙ log(aᴸ))
    assume Σ y = 1   # y is a distribution
    rule r: ∂C/∂zᴸ = aᴸ − y
    wrong rule w: ∂C/∂zᴸ = y − aᴸ
}
"""
    vs = verdicts_of(text)
    assert vs["r"].verdict == "proved" and vs["r"].scope.assumptions == ("Σ y = 1",)
    assert str(vs["r"].scope) == "sizes 2,3 and 3,2; assuming Σ y = 1"
    # refuted: where the counterexample was found, under the same assumption
    assert vs["w"].verdict == "refuted" and str(vs["w"].scope) == "sizes 2,3; assuming Σ y = 1"


def test_graph_at_its_given_point():
    text = """graph J {
    input a = 5, b = 3, c = 2
    u = b c
    v = a + u
    J = 3v
    rule r: dJ/db = 6
    wrong rule w: dJ/db = 3
}
"""
    vs = verdicts_of(text)
    for name, verdict in (("r", "proved"), ("w", "refuted")):
        v = vs[name]
        assert v.verdict == verdict and v.scope.kind is Extent.POINT
        assert v.scope.given == (("a", "5"), ("b", "3"), ("c", "2")) and str(v.scope) == "at a=5, b=3, c=2"


def test_graph_with_named_sizes_and_free_inputs():
    text = """graph G {
    size T = 2
    for t in 1..T: input x^t
    J = Σ_{t=1}^{T} (x^t)²
    rule r: dJ/dx^1 = 2x^1
}
graph H {
    input a = 2, b
    J = a b
    rule h: dJ/db = a
}
"""
    vs = verdicts_of(text)
    assert vs["r"].scope.kind is Extent.SIZES and str(vs["r"].scope) == "sizes T=2"
    assert vs["h"].scope.kind is Extent.ALL_VALUES and vs["h"].scope.given == (("a", "2"),)
    assert str(vs["h"].scope) == "all real b where both sides are defined; with a=2"


def test_derivative_and_series_at_a_point():
    vs = verdicts_of("rule d: relu'(2) = 1\nrule s: σ(x) ≈ x/4 + 1/2 at x = 0 order 2\n"
                     "undefined rule k: relu'(0) = 0\n")
    assert str(vs["d"].scope) == "at the point the rule names" and vs["d"].scope.kind is Extent.POINT
    assert vs["s"].scope.kind is Extent.POINT and str(vs["s"].scope) == "at x=0"
    assert vs["k"].verdict == "undefined" and vs["k"].scope.kind is Extent.POINT


def test_refuted_scalar_rule_is_scoped_to_the_values_searched():
    v = verdicts_of("rule r: tanh'(t) = 1 − tanh(t)")["r"]
    assert v.verdict == "refuted" and v.scope.kind is Extent.ALL_VALUES and str(v.scope) == "all real t"
    assert v.counterexample.inputs[0][0] == "t"


def test_refuted_network_rule_is_scoped_to_the_size_set_of_its_counterexample():
    v = verdicts_of(mlp("wrong rule r: Σ_{k=1}^{2} x_k = Σ x", "3, 2"))["r"]
    assert v.verdict == "refuted" and v.scope.sizes == ((3, 2),) == (v.counterexample.sizes,)
    assert "sizes" not in v.detail  # the counterexample's text leaves its size set to the scope


def test_undecided_says_what_was_tried():
    v = verdicts_of("rule logs: log(2 + exp(t)) − log(1 + exp(t)/2) = log(2)")["logs"]
    assert v.verdict == "undecided" and str(v.scope) == "all real t"


def test_a_bug_in_derive_checked_nothing(monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("broken on purpose")

    monkeypatch.setattr(derive.verify, "_check_sizes", broken)
    v = verdicts_of("rule s: σ'(t) = σ(t)(1 − σ(t))")["s"]
    assert (v.verdict, v.how) == ("error", "internal") and v.scope.kind is Extent.NOTHING


# ---------------------------------------------------------------- regions left out


def test_boundaries_left_out_are_named():
    v = verdicts_of("function step(x) = 1 if x > 0 else 0\nrule r: relu'(x) = step(x)\n")["r"]
    assert v.verdict == "proved" and str(v.scope) == "all real x where both sides are defined, so not on x = 0"
    assert "boundaries excluded" not in v.detail and "x = 0" not in v.detail


def test_ties_included_is_part_of_the_scope():
    v = verdicts_of("rule r: max(x, y) + min(x, y) = x + y")["r"]
    assert v.verdict == "proved" and str(v.scope) == "all real x, y where both sides are defined, ties included"


@pytest.mark.parametrize("rhs", [
    "(max(-1, t) − t)²/(max(-1, t)² − 2t max(-1, t) + t²)",  # 0/0 for every t > −1
    "-t (f(t) − max(-1, t))/(max(-1, t) − f(t))",
])
def test_a_side_undefined_on_an_open_region_is_named(rhs):
    # proved "where both sides are defined" means only t < −1 here: the scope must say so
    lhs = "f'(t)" if rhs.startswith("(") else "f(t)"
    v = verdicts_of(f"function f(t) = min(max(-1, t), t)\nrule r: {lhs} = {rhs}\n")["r"]
    assert v.verdict == "proved"
    assert v.scope.region.startswith("where both sides are defined, so not on t + 1 > 0")
    assert "(a region left out)" in str(v.scope)


def test_a_side_read_as_written_without_a_value_is_named_by_the_audit():
    # SymPy reads sqrt(x)² as x and e/(−e) as −1 before derive sees them: derive's own reading
    # is defined everywhere, but the rule as written is not; the audit, which evaluates it as
    # written, names a random point where a side has no value
    vs = verdicts_of("rule sq: sqrt(x)^2 = x\nfunction f(t) = min(max(-1, t), t)\n"
                     "rule o: f'(t) = -(max(-1, t) − t)/(t − max(-1, t))\n")
    assert vs["sq"].verdict == "proved"
    assert vs["sq"].scope.region.startswith("where both sides are defined: a side as written has no value at x=-")
    assert vs["sq"].scope.region.endswith("(sqrt of a negative number), for one")
    assert vs["o"].verdict == "proved" and "(division by zero), for one" in vs["o"].scope.region


def test_open_region_on_a_graph_is_named():
    text = """graph G {
    input t
    m = max(-1, t)
    J = (m − t)²/(m² − 2 t m + t²)
    rule r: J = 1
}
"""
    v = verdicts_of(text)["r"]
    assert v.verdict == "proved" and "t + 1 > 0" in v.scope.region and "a region left out" in v.scope.region


# ---------------------------------------------------------------- reported everywhere


def test_text_table_shows_the_scope_before_the_detail():
    vs = list(verdicts_of(mlp("rule r: for l in 1..L: ∂C/∂bˡ = δˡ\nwrong rule w: δᴸ = aᴸ − y")).values())
    lines = render_text(vs).splitlines()
    assert "  ok  [sizes 2,3,2 and 3,2,3] difference ≡ 0" in lines[1]
    assert lines[2].endswith("  ok  [sizes 2,3,2]") and lines[3].startswith("    ↳ at ")


def test_json_scope_of_a_rule_and_of_a_bad_input_file(tmp_path, capsys):
    good, bad = tmp_path / "good.deriv", tmp_path / "bad.deriv"
    good.write_text("rule s: σ'(t) = σ(t)(1 − σ(t))\n", encoding="utf-8")
    bad.write_text("rule r: = 1\n", encoding="utf-8")
    assert main(["check", "--json", str(good), str(bad)]) == 2
    items = json.loads(capsys.readouterr().out)
    assert items[0]["scope"] == {"kind": "all values", "sizes": [], "failed_sizes": [], "variables": ["t"],
                                 "given": {}, "assumptions": [], "region": "where both sides are defined",
                                 "conditions": [], "functions": [], "text": "all real t where both sides are defined"}
    assert items[1]["verdict"] == "error" and items[1]["scope"]["kind"] == "nothing"
    assert items[1]["scope"]["text"] == "nothing checked"


def test_failure_report_gives_the_scope():
    text = mlp("rule r: δᴸ = aᴸ − y")
    v = verdicts_of(text)["r"]
    lines = render_failure(v, text).splitlines()
    assert lines[2] == "  scope:   sizes 2,3,2" and lines[3].startswith("  at:      entry ")


def test_pytest_report_gives_the_scope(pytester):
    pytester.makefile(".deriv", rules="rule dtanh: tanh'(t) = 1 − tanh(t)\n")
    result = pytester.runpytest("--junitxml=out.xml")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["  rule:    rule dtanh: tanh'(t) = 1 − tanh(t)", "  scope:   all real t"])
    assert '<property name="scope" value="all real t"' in (pytester.path / "out.xml").read_text(encoding="utf-8")


def test_latex_and_markdown_verdict_lines_give_the_scope(tmp_path):
    source = tmp_path / "r.deriv"
    source.write_text(mlp("rule r: for l in 1..L: ∂C/∂bˡ = δˡ") + "rule s: σ'(t) = σ(t)(1 − σ(t))\n",
                      encoding="utf-8")
    for suffix in ("tex", "md"):
        assert main(["latex", str(source), "-o", str(tmp_path / f"r.{suffix}")]) == 0
    tex = (tmp_path / "r.tex").read_text(encoding="utf-8")
    md = (tmp_path / "r.md").read_text(encoding="utf-8")
    assert "as expected; scope: sizes 2,3,2 and 3,2,3}" in tex
    assert "scope: all real t where both sides are defined" in tex
    assert "**proved by symbolic, as expected; scope: sizes 2,3,2 and 3,2,3**" in md


def test_notebook_tables_give_the_scope():
    from derive.api import check_source

    report = check_source("rule s: σ'(t) = σ(t)(1 − σ(t))", timeout=None)
    assert "| s | proved | symbolic | all real t where both sides are defined | yes |" in report._repr_markdown_()
    assert "<td>all real t where both sides are defined</td>" in report._repr_html_()


def test_a_time_limit_keeps_the_scope_of_what_was_tried():
    # parsed and compiled in milliseconds, checked in far more than 0.5 s (as in test_verify)
    text = "rule slow: ((x+y+z+w)^2)^15 = (x^2+y^2+z^2+w^2+2x y+2x z+2x w+2y z+2y w+2z w)^15"
    v = verdicts_of(text, timeout=0.5)["slow"]
    assert (v.verdict, v.how) == ("undecided", "time limit")
    assert v.scope.kind is Extent.ALL_VALUES and str(v.scope) == "all real values"
