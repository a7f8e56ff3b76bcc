"""Functions with no body: `function f(t)` is any differentiable function (derive.generic).

A rule using f is proved only when its difference is 0 with f, f′ … at each argument as
independent values *and* it is proved (audit included) at each concrete instance of f; one
instance with a counterexample refutes it, and the counterexample names the function chosen.
"""

import json

import pytest
import sympy as sp

from derive.cli import main
from derive.errors import DeriveError
from derive.functions import FunctionTable, Generic
from derive.model import load
from derive.zero import is_identically_zero, opaque_calls
from tests.conftest import verdicts_of

FG = "function f(t)\nfunction g(t)\n"


def outcome(text: str) -> dict:
    return {name: v.verdict for name, v in verdicts_of(text).items()}


def test_chain_product_quotient_and_square_are_proved_for_every_f():
    vs = verdicts_of(FG + "rule chain: diff(f(g(x)), x) = f'(g(x)) g'(x)\n"
                          "rule product: diff(f(x) g(x), x) = f'(x) g(x) + f(x) g'(x)\n"
                          "rule quotient: diff(f(x)/g(x), x) = (f'(x) g(x) − f(x) g'(x)) / g(x)^2\n"
                          "rule square: diff(f(x)^2, x) = 2 f(x) f'(x)\n"
                          "rule sigma_f: diff(σ(f(x)), x) = σ(f(x)) (1 − σ(f(x))) f'(x)\n")
    for name in ("chain", "product", "quotient", "square", "sigma_f"):
        v = vs[name]
        assert v.verdict == "proved", (name, v.detail)
        assert "for every differentiable" in str(v.scope) and "for every differentiable" in v.detail
        assert "also proved with 4 instances" in v.detail and "audit:" in v.detail
    assert str(vs["square"].scope).endswith("; for every differentiable f")  # g is not used there
    assert "f, g" in str(vs["chain"].scope)


def test_second_derivative_chain_rule_is_proved():
    v = verdicts_of(FG + "rule d2: diff(diff(f(g(x)), x), x) = f''(g(x)) g'(x)^2 + f'(g(x)) g''(x)\n")["d2"]
    assert v.verdict == "proved", v.detail


@pytest.mark.parametrize("rule", [
    "diff(f(g(x)), x) = f'(x) g'(x)",  # f' at the wrong argument
    "diff(f(g(x)), x) = f'(g(x))",  # the inner derivative missing
    "diff(f(x) g(x), x) = f'(x) g(x) − f(x) g'(x)",  # a flipped sign
    "diff(f(x)/g(x), x) = (f(x) g'(x) − f'(x) g(x)) / g(x)^2",  # the quotient rule upside down
    "diff(f(x)^2, x) = 2 f'(x)",  # a factor missing
    "diff(f(g(x)), x) = g'(f(x)) f'(x)",  # f and g swapped: two instances never share a body
])
def test_wrong_calculus_rules_are_refuted_naming_the_function(rule):
    v = verdicts_of(FG + f"wrong rule w: {rule}\n")["w"]
    assert v.verdict == "refuted", v.detail
    cx = v.counterexample
    assert cx is not None and cx.functions and cx.functions[0].startswith("f(t) = ")
    assert str(cx).startswith("with f(t) = ") and "left = " in str(cx) and "inputs x=" in str(cx)
    assert str(v.scope).split("; ")[-1].startswith("with f(t) = ")


def test_a_rule_true_for_one_function_only_is_refuted_by_another():
    vs = verdicts_of("function f(t)\nwrong rule exp: f'(x) = f(x)\nwrong rule cubic: f''(x) = 2 x\n")
    assert vs["exp"].verdict == "refuted"
    # f'' = 2x holds for the first instance (t³/3 − t + 1/2): the next one refutes it
    assert vs["cubic"].verdict == "refuted" and vs["cubic"].counterexample.functions == ("f(t) = exp(t/2)",)


def test_counterexample_json_names_the_function(tmp_path, capsys):
    path = tmp_path / "w.deriv"
    path.write_text("function f(t)\nwrong rule w: diff(f(3 x), x) = f'(3 x)\n", encoding="utf-8")
    assert main(["check", "--json", str(path)]) == 0
    item = json.loads(capsys.readouterr().out)[0]
    assert item["verdict"] == "refuted" and item["counterexample"]["functions"] == ["f(t) = t^3/3 - t + 1/2"]
    assert item["scope"]["functions"] == ["with f(t) = t^3/3 - t + 1/2"]


def test_graph_node_through_a_generic_function():
    text = ("function f(t)\nfunction h(s, t)\ngraph g {\n  input a, b\n  u = f(a b)\n  v = h(u, a)\n"
            "  rule du: du/da = f'(a b) b\n  rule dvdu: ∂v/∂u = h'(f(a b), a)\n"
            "  wrong rule du_bad: du/da = f'(a b)\n  wrong rule du_at: du/da = f'(a) b\n}\n")
    vs = verdicts_of(text)
    assert vs["du"].verdict == "proved" and "for every differentiable" in str(vs["du"].scope)
    assert vs["dvdu"].verdict == "proved", vs["dvdu"].detail
    for name in ("du_bad", "du_at"):
        assert vs[name].verdict == "refuted" and vs[name].counterexample.functions[0].startswith("f(t) = ")


def test_generic_inside_piecewise_functions():
    text = ("function f(t)\nfunction r(t) = f(t) if t > 0 else t\n"
            "rule relu_chain: diff(relu(f(x)), x) = relu'(f(x)) f'(x)\n"
            "rule r_pos: r(x) + relu(x) = r(x) + relu(x)\n"
            "wrong rule relu_bad: diff(relu(f(x)), x) = f'(x)\n"
            "wrong rule r_bad: r'(x) = f'(x)\n")
    vs = verdicts_of(text)
    assert vs["relu_chain"].verdict == "proved", vs["relu_chain"].detail
    # proved for every f: the instances' own regions (where f(x) = 0) are not the scope's
    assert "2*x**3" not in str(vs["relu_chain"].scope)
    assert vs["r_pos"].verdict == "proved"
    assert vs["relu_bad"].verdict == "refuted" and vs["r_bad"].verdict == "refuted"


def test_opaque_calls_are_consistent_and_never_prove_a_relation_between_values():
    x, y = sp.symbols("x y", real=True)
    table = FunctionTable()
    table.define_generic("f", 1)

    def f(a):
        return table.apply("f", [a])

    def df(a):
        return table.apply("f", [a], 1)

    # the same derivative reached two ways is one expression, hence one atom
    assert sp.diff(f(x**2), x) == 2 * x * df(x**2)
    assert is_identically_zero(sp.diff(f(x**2), x) - 2 * x * df(x**2), table)
    assert not is_identically_zero(df(x) - f(x), table)  # true for exp, not for every f
    assert not is_identically_zero(f(x) - f(y), table)
    assert not is_identically_zero(df(x**2) - df(x) * 2 * x, table)
    atoms = opaque_calls(f(x) * df(x) + f(x) - df(y))
    assert not atoms.has(Generic) and len(atoms.free_symbols) == 3


def test_generic_function_bad_input():
    with pytest.raises(DeriveError, match="f takes 1 argument"):
        load("function f(t)\nrule r: f(x, y) = 1\n")
    with pytest.raises(DeriveError, match="h takes 2 argument"):
        load("function h(s, t)\nrule r: h(x) = 1\n")
    for name in ("σ", "sigma", "relu", "exp", "tanh"):
        with pytest.raises(DeriveError, match="cannot take the name of the built-in"):
            load(f"function {name}(t)\nrule r: x = x\n")
    with pytest.raises(DeriveError, match="a function cannot be named u"):  # a graph's node
        load("function u(t)\ngraph g {\n  input a\n  u = 2 a\n}\n")
    with pytest.raises(DeriveError, match="would hide"):  # a parameter named like a built-in
        load("function f(exp)\nrule r: x = x\n")
    with pytest.raises(DeriveError, match="networks do not take one yet"):
        load("function f(t)\nnetwork n {\n layers 2, 2\n activation f\n loss C = ½‖y − aᴸ‖²\n}\n")


def test_generic_function_bad_input_through_the_cli(tmp_path, capsys):
    path = tmp_path / "b.deriv"
    path.write_text("function f(t)\nrule r: f(x, y) = 1\n", encoding="utf-8")
    assert main(["check", str(path)]) == 2
    err = capsys.readouterr()
    text = err.out + err.err
    assert "b.deriv:2:9" in text and "Traceback" not in text


def test_file_with_a_generic_function_checks_other_rules_as_usual():
    vs = verdicts_of("function f(t)\nrule plain: σ'(t) = σ(t)(1 − σ(t))\nwrong rule bad: tanh(t) = t\n")
    assert vs["plain"].verdict == "proved" and "every differentiable" not in str(vs["plain"].scope)
    assert vs["bad"].verdict == "refuted" and not vs["bad"].counterexample.functions


def test_true_at_every_instance_but_not_shown_for_every_f_is_undecided(monkeypatch):
    from derive import generic

    monkeypatch.setattr(generic, "UNARY", ("exp({0})", "2 exp({0})"))  # f' = f at every instance
    v = verdicts_of("function f(t)\nrule r: f'(x) = f(x)\n")["r"]
    assert v.verdict == "undecided" and v.how == "unproved"
    assert "not shown for every function" in v.detail and "f(t) = exp(t)" in v.detail
    assert str(v.scope).endswith("only with f(t) = exp(t); f(t) = 2 exp(t); f(t) = exp(t); f(t) = 2 exp(t)")


def test_taylor_claims_about_any_f():
    vs = verdicts_of("function f(t)\nrule t1: f(x) ≈ f(0) + f'(0) x at x = 0 order 2\n"
                     "wrong rule t0: f(x) ≈ f(0) at x = 0 order 2\n")
    assert vs["t1"].verdict == "proved" and vs["t0"].verdict == "refuted"


def test_a_call_under_a_binder_is_never_an_atom():
    from derive.zero import NotOpaque

    x, s = sp.symbols("x s", real=True)
    table = FunctionTable()
    table.define_generic("f", 1)
    series = sp.Subs(sp.Derivative(table.apply("f", [s]), s), s, 0)
    with pytest.raises(NotOpaque):
        opaque_calls(series * x)
    assert not is_identically_zero(series, table)  # never "0" by replacing f(s) with a constant
