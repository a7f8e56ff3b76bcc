"""The front end's guards: inputs that once crashed, were silently misread or were proved
must be bad input (exit 2, file:line:col, a caret, a hint), and true rules next to them
keep their verdicts. One section per class of input, several variants each."""

from __future__ import annotations

import pytest

from derive.api import check_source
from derive.cli import EXIT_BAD_INPUT, EXIT_OK, main
from derive.errors import DeriveError
from derive.limits import LIMITS, seconds
from derive.model import load
from tests.conftest import verdicts_of


def bad(text: str, filename: str = "f.deriv") -> DeriveError:
    """The error `check_source` raises for `text` (reading, validating or compiling it)."""
    with pytest.raises(DeriveError) as info:
        check_source(text, filename, timeout=None)
    return info.value


def located(error: DeriveError, line: int, column: int) -> str:
    """`str(error)`, checked to point at line:column with the source line and a caret."""
    shown = str(error)
    head, source, caret = shown.splitlines()
    assert head.startswith(f"f.deriv:{line}:{column}: error: "), shown
    assert caret == "    " + " " * (column - 1) + "^", shown
    return shown


NETWORK = ("network n {{\n layers 2, 3, 3\n activation σ\n loss C = ½‖y − aᴸ‖²\n{extra}\n"
           " rule r: δᴸ = (aᴸ − y) ⊙ σ'(zᴸ)\n}}\n")


def network(extra: str = "") -> str:
    return NETWORK.format(extra=extra)


# ---------------------------------------------------------------- 1. comparisons of values that are not real


@pytest.mark.parametrize("side, shown", [
    ("sqrt(-1)", "I, not a real number"),
    ("log(-1)", "I*pi, not a real number"),
    ("1/0", "complex infinity"),
    ("log(0)", "complex infinity"),
    ("0/0", "undefined (0/0)"),
    ("x + sqrt(-1)", "x + I, not a real number"),
    ("2 sqrt(-4)", "4*I, not a real number"),
])
def test_a_condition_with_a_side_that_is_not_real_is_bad_input(side, shown):
    text = f"function h(x) = x if x > {side} else 0\nrule r4: h(x) = x\n"
    error = bad(text)
    assert shown in error.message and "a condition compares real numbers" in error.message
    located(error, 1, 26)


def test_either_side_of_a_condition_and_any_operator():
    for condition, column in (("sqrt(-1) > x", 22), ("x <= log(-2)", 27), ("x ≥ 1/0", 26), ("1/0 < x", 22)):
        error = bad(f"function h(x) = 1 if {condition} else 0\n")
        located(error, 1, column)


def test_a_graph_node_comparing_a_value_that_is_not_real_is_bad_input():
    text = "graph g {\n input a\n u = a if a > sqrt(-1) else 0\n rule r: du/da = 1\n}\n"
    located(bad(text), 3, 15)


@pytest.mark.parametrize("given, node", [
    ("input a = -1", "u = a if sqrt(a) > 0 else 0"),
    ("input a = -4", "u = 1 if log(a) < 1 else 0"),
    ("input a = 0", "u = 1 if 1/a > 1 else 0"),
])
def test_a_comparison_that_the_given_values_make_non_real_is_bad_input(given, node):
    text = f"graph g {{\n {given}\n {node}\n rule r: du/da = 0\n}}\n"
    error = bad(text)
    located(error, 3, 2)
    assert f"a = {given.split('= ')[1]}" in error.message


def test_a_comparison_made_non_real_through_another_node_is_bad_input():
    text = "graph g {\n input a = -1\n u = sqrt(a)\n v = a if u > 0 else 0\n rule r: dv/da = 1\n}\n"
    located(bad(text), 4, 2)


@pytest.mark.parametrize("call", [
    "h(x, sqrt(-1))", "relu(sqrt(-1))", "relu'(sqrt(-1))", "max(x, sqrt(-1))", "min(log(-1), x)",
    "hardtanh(1/0)", "k(-4)", "k'(-4)", "lrelu(sqrt(-1), x) + lrelu(x, 1)",
])
def test_a_call_that_compares_a_value_that_is_not_real_is_bad_input_in_a_rule(call):
    text = ("function h(x, c) = x if x > c else 0\nfunction k(x) = x if sqrt(x) > 1 else 0\n"
            f"rule r: {call} = 1\n")
    [v] = check_source(text, "f.deriv", timeout=None)
    assert (v.verdict, v.how) == ("error", "bad input"), v.detail
    assert "f.deriv:3:9: error: this call of " in v.detail and "compares a value that is " in v.detail
    assert "a condition compares real numbers" in v.detail and v.detail.endswith("^")


def test_a_rule_whose_comparison_turns_non_real_at_a_given_value_is_bad_input():
    text = "function k(x) = x if sqrt(x) > 1 else 0\ngraph g {\n input a = -4\n u = 2 a\n rule r: k(a) = 0\n}\n"
    [v] = check_source(text, "f.deriv", timeout=None)
    assert (v.verdict, v.how) == ("error", "bad input")
    assert "f.deriv:5:2:" in v.detail and "2*I, not a real number" in v.detail


def test_the_cli_reports_a_non_real_comparison_as_bad_input_without_a_traceback(tmp_path, capsys):
    path = tmp_path / "a4.deriv"
    path.write_text("function h(x) = x if x > sqrt(-1) else 0\nrule r4: h(x) = x\n", encoding="utf-8")
    assert main(["check", "--timeout", "none", str(path)]) == EXIT_BAD_INPUT
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err and "a4.deriv:1:26: error:" in err and "^" in err


def test_real_comparisons_keep_their_verdicts():
    text = ("function h(x) = x if x > sqrt(2) else 0\nfunction k(x) = x if sqrt(x) > 1 else 0\n"
            "rule a: h(3) = 3\nrule b: max(x, sqrt(4)) = max(2, x)\nrule c: k(4) = 4\nwrong rule d: h(1) = 1\n")
    assert {name: v.verdict for name, v in verdicts_of(text).items()} == \
        {"a": "proved", "b": "proved", "c": "proved", "d": "refuted"}


# ---------------------------------------------------------------- 2. functions named like a built-in


@pytest.mark.parametrize("definition, name", [
    ("function exp(t) = t", "exp"),
    ("function sigma(t) = t", "sigma"),
    ("function σ(t) = 1/(1 + exp(t))", "σ"),
    ("function relu(t) = t if t > 0 else 0.01 t", "relu"),
    ("function hardtanh(t) = t", "hardtanh"),
    ("function log(t) = log(t) + 1", "log"),
    ("function tanh(t, u) = t", "tanh"),
    ("function ln(t) = exp(t)", "ln"),
])
def test_a_function_named_like_a_built_in_must_be_the_built_in(definition, name):
    error = bad(definition + "\nrule r: t = t\n")
    assert f"{name} is built in" in error.message and f"e.g. {name}2" in error.message
    located(error, 1, 10)


def test_the_example_that_was_proved_is_bad_input_now():
    error = bad("function exp(t) = t\nrule r5: exp(1) = 1\n")
    assert "exp is built in" in error.message


@pytest.mark.parametrize("definition", [
    "function σ(t) = 1/(1 + exp(-t))",
    "function σ(t) = exp(t)/(1 + exp(t))",
    "function sigma(t) = (1 + tanh(t/2))/2",
    "function σ(t) = σ(t)",
])
def test_textbook_definitions_of_a_built_in_are_accepted(definition):
    v = verdicts_of(definition + "\nrule d: σ'(t) = σ(t)(1 − σ(t))\nwrong rule w: σ'(t) = σ(t)\n")
    assert (v["d"].verdict, v["w"].verdict) == ("proved", "refuted")
    assert "audit:" in v["d"].detail


def test_textbook_definitions_of_many_built_ins_are_accepted_and_keep_one_meaning():
    text = ("function σ(t) = (1 + tanh(t/2))/2\nfunction tanh(t) = 2σ(2t) − 1\n"
            "function softplus(t) = log(1 + exp(t))\nfunction relu(t) = (t + sqrt(t^2))/2\n"
            "function hardtanh(t) = max(-1, min(1, t))\nfunction elu(t, a) = t if t > 0 else a (exp(t) − 1)\n"
            "function gelu(t) = t (1 + erf(t/sqrt(2)))/2\n"
            "rule d: σ'(t) = σ(t)(1 − σ(t))\nrule e: tanh'(t) = 1 − tanh(t)^2\nrule f: softplus'(t) = σ(t)\n"
            "undefined rule g: relu'(0) = 0\n")
    v = verdicts_of(text)
    assert {name: x.verdict for name, x in v.items()} == \
        {"d": "proved", "e": "proved", "f": "proved", "g": "undefined"}
    assert "unaudited" not in v["d"].how  # σ through tanh through σ: one meaning, no loop


# ---------------------------------------------------------------- 3. function names a block declares


@pytest.mark.parametrize("name, what", [
    ("z", "the quantity zˡ"), ("a", "the quantity aˡ"), ("W", "the quantity Wˡ"), ("b", "the quantity bˡ"),
    ("δ", "the quantity δˡ"), ("delta", "the quantity deltaˡ"), ("γ", "the quantity γˡ"),
    ("x", "the input x"), ("y", "the target y"), ("L", "the last layer L"), ("C", "the loss C"),
    ("p", "the `let` name p"),
])
@pytest.mark.parametrize("before", [True, False])
def test_a_function_may_not_take_a_name_a_network_declares(name, what, before):
    block = network(" let p = aᴸ")
    definition = f"function {name}(t) = t\n"
    text = definition + block if before else block + definition
    error = bad(text)
    assert f"{what} of network n" in error.message and "name the function differently" in error.message
    located(error, 1 if before else text.count("\n"), 10)


@pytest.mark.parametrize("name, what", [("a", "an input"), ("u", "a node"), ("T", "a size"), ("q", "a `let` name")])
def test_a_function_may_not_take_a_name_a_graph_declares(name, what):
    text = (f"function {name}(t) = t\ngraph g {{\n size T = 2\n input a, v[2]\n u = a v_1\n let q = u\n"
            f" rule r: du/da = v_1\n}}\n")
    error = bad(text)
    assert f"{what} of graph g" in error.message
    located(error, 1, 10)


def test_a_parameter_may_not_be_named_like_its_function():
    for text, column in (("function f(f) = 2 f\n", 12), ("function sigma(t, σ) = t\n", 19)):
        error = bad(text)
        assert "itself" in error.message
        located(error, 1, column)


def test_a_repeated_parameter_is_pointed_at():
    located(bad("function f(t, u, t) = t\n"), 1, 18)


def test_parameters_are_local_to_their_function():
    text = "function f(x) = x^2\nfunction g(z) = 2 z\n" + network() + "rule s: f(3) + g(1) = 11\n"
    v = verdicts_of(text)
    assert (v["r"].verdict, v["s"].verdict) == ("proved", "proved")


# ---------------------------------------------------------------- 4. assumptions relate inputs


@pytest.mark.parametrize("assumption, column, what", [
    ("assume zᴸ_1 = 0", 9, "z^2, which the network computes"),
    ("assume y_1 = aᴸ_1", 15, "a^2, which the network computes"),
    ("assume y_1 = a^1_1", 15, "a^1, which the network computes"),
    ("assume δᴸ_1 = 0", 9, "δ^2, which the network computes"),
    ("assume C = 1", 9, "the loss C"),
    ("assume y_1 = ∂C/∂y_2", 15, "a derivative"),
    ("assume y_1 = grad(C, y_2)", 15, "a derivative"),
    ("assume Σ p = 1", 11, "the `let` name p, which stands for a^2"),
])
def test_an_assumption_naming_a_computed_quantity_is_bad_input(assumption, column, what):
    text = network(f" let p = aᴸ\n {assumption}")
    error = bad(text)
    assert "relates inputs only" in error.message and what in error.message, error.message
    located(error, 6, column)


@pytest.mark.parametrize("assumption, column, what", [
    ("assume u = 1", 9, "the node u"),
    ("assume a = q", 13, "the `let` name q, which stands for the node u"),
    ("assume a = du/db", 13, "a derivative"),
])
def test_a_graph_assumption_naming_a_node_is_bad_input(assumption, column, what):
    text = f"graph g {{\n input a, b\n u = a b\n let q = u\n {assumption}\n rule r: du/da = b\n}}\n"
    error = bad(text)
    assert what in error.message
    located(error, 5, column)


@pytest.mark.parametrize("assumption", ["assume Σ y = 1", "assume y_1 = x_1", "assume y_1 = a⁰_1 + 1"])
def test_assumptions_about_inputs_keep_working(assumption):
    assert verdicts_of(network(f" {assumption}"))["r"].verdict == "proved"


def test_an_assumption_naming_an_entry_missing_at_the_second_sizes_skips_them():
    [v] = check_source(network(" assume y_3 = 0"), "f.deriv", timeout=None)
    assert v.verdict == "proved" and v.scope.sizes == ((2, 3, 3),)
    assert "the second size set was skipped" in v.detail and "y_3 does not exist" in v.detail


def test_an_assumption_naming_an_entry_missing_at_the_declared_sizes_is_bad_input():
    error = bad(network(" assume y_4 = 0"))
    assert "does not fit at sizes 2,3,3" in error.message
    located(error, 5, 9)


def test_an_assumption_must_fit_a_second_size_set_the_file_chose():
    error = bad(network(" assume y_3 = 0\n also layers 2, 2, 2"))
    assert "does not fit at sizes 2,2,2" in error.message


def test_the_cli_shows_the_skipped_size_set(tmp_path, capsys):
    path = tmp_path / "y3.deriv"
    path.write_text(network(" assume y_3 = 0"), encoding="utf-8")
    assert main(["check", "--timeout", "none", str(path)]) == EXIT_OK
    out, err = capsys.readouterr()
    assert "second size set was skipped" in out and "Traceback" not in out + err


# ---------------------------------------------------------------- 5. time limits and options


@pytest.mark.parametrize("text", ["1e300", "1e7", "1000001", "1.5e6"])
def test_a_time_limit_longer_than_the_limit_is_refused(text):
    with pytest.raises(ValueError, match="at most 1000000 seconds"):
        seconds(text)


def test_the_longest_time_limit_is_accepted():
    assert seconds("1e6") == LIMITS["timeout_s"] == 1_000_000
    with pytest.raises(ValueError, match="at most"):
        check_source("rule r: t = t", timeout=1e300)


@pytest.mark.parametrize("command", [["check"], ["latex", "-o", "out.tex"]])
@pytest.mark.parametrize("value", ["1e300", "2e6"])
def test_a_huge_timeout_is_a_usage_error(tmp_path, capsys, command, value):
    path = tmp_path / "ok.deriv"
    path.write_text("rule r: t = t\n", encoding="utf-8")
    with pytest.raises(SystemExit) as e:
        main([command[0], "--timeout", value, str(path), *command[1:]])
    err = capsys.readouterr().err
    assert e.value.code == EXIT_BAD_INPUT and "at most 1000000 seconds" in err and "Traceback" not in err


@pytest.mark.parametrize("args, words", [
    (["latex", "{path}", "-o", ""], "an empty path"),
    (["graph", "{path}", "-o", ""], "an empty path"),
    (["latex", "{path}"], "required: -o/--output"),
    (["check", "--timeout", "abc", "{path}"], "not a number of seconds"),
    (["check", "--timeout"], "expected one argument"),
    (["check", "-k"], "expected one argument"),
])
def test_odd_options_are_usage_errors(tmp_path, capsys, args, words):
    path = tmp_path / "ok.deriv"
    path.write_text("rule r: t = t\n", encoding="utf-8")
    with pytest.raises(SystemExit) as e:
        main([a.format(path=path) for a in args])
    err = capsys.readouterr().err
    assert e.value.code == EXIT_BAD_INPUT and words in err and "Traceback" not in err


@pytest.mark.parametrize("command", [["check"], ["cost"], ["latex", "-o", "o.tex"], ["graph", "-o", "o.svg"]])
def test_a_missing_file_is_bad_input(tmp_path, capsys, command):
    code = main([command[0], str(tmp_path / "nofile.deriv"), *command[1:]])
    out, err = capsys.readouterr()
    assert code == EXIT_BAD_INPUT and "nofile.deriv: error:" in err and "Traceback" not in out + err


GIVEN_NETWORK = ("network n {\n layers 2, 2\n activation σ\n loss C = max(sqrt(y_1), 0) + ½‖y − aᴸ‖²\n"
                 " assume y_1 = -1\n rule r: δᴸ = (aᴸ − y) ⊙ σ'(zᴸ)\n}\n")
GIVEN_GRAPH = "graph g {\n input a = -1\n u = a if sqrt(a) > 0 else 0\n rule r: du/da = 1\n}\n"


@pytest.mark.parametrize("command, text, where", [
    (["graph", "-o", "x.svg"], GIVEN_GRAPH, "3:2"),
    (["cost"], GIVEN_NETWORK, "4:11"),
    (["latex", "-o", "x.md"], GIVEN_NETWORK, "4:11"),
    (["latex", "-o", "x.md"], GIVEN_GRAPH, "3:2"),
    (["check"], GIVEN_GRAPH, "3:2"),
])
def test_every_command_points_a_compile_error_into_the_file(tmp_path, capsys, monkeypatch, command, text, where):
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "given.deriv"
    path.write_text(text, encoding="utf-8")
    code = main([command[0], str(path), *command[1:]])
    out, err = capsys.readouterr()
    assert code == EXIT_BAD_INPUT and "Traceback" not in out + err and "<input>" not in err
    assert f"{path}:{where}: error: with the values this file gives" in err and "^" in err


def test_latex_exits_2_for_a_rule_with_bad_input_as_check_does(tmp_path, capsys):
    path = tmp_path / "w.deriv"
    path.write_text("function k(x) = x if sqrt(x) > 1 else 0\ngraph g {\n input a = -4\n u = 2 a\n"
                    " rule r: k(a) = 0\n rule s: u = 2 a\n}\n", encoding="utf-8")
    assert main(["check", "--timeout", "none", str(path)]) == EXIT_BAD_INPUT
    assert main(["latex", str(path), "-o", str(tmp_path / "w.md"), "--timeout", "60"]) == EXIT_BAD_INPUT
    assert "a value that is 2*I" in (tmp_path / "w.md").read_text(encoding="utf-8")


# ---------------------------------------------------------------- 6. messages


@pytest.mark.parametrize("text", [
    network(" rule s: C = q"),
    "graph g {\n input a\n u = 2 a\n rule r: dg/da = 2\n}\n",
    "rule r: foo(t) = 1\n",
    network(" assume y_1 = q"),
])
def test_an_unknown_name_is_said_once(text):
    with pytest.raises(DeriveError) as info:
        load(text, "f.deriv")
    head = str(info.value).splitlines()[0]
    assert ": error: unknown " in head and "unknown name: unknown" not in head, head


def test_an_unknown_graph_name_lists_the_known_ones():
    with pytest.raises(DeriveError, match=r"unknown name 'dg' in graph g \(known: a, u\)"):
        load("graph g {\n input a\n u = 2 a\n rule r: dg/da = 2\n}\n")


@pytest.mark.parametrize("rule, column, words", [
    ("for l in 1..L+1: δˡ = δˡ", 27, ["δ^3 does not exist", "at l = 3", "write for l in 1..L"]),
    ("for l in 0..L: δˡ = δˡ", 25, ["δ^0 does not exist", "at l = 0", "write for l in 1..L"]),
    ("for l in 1..L: δ^{l+1} = δˡ", 25, ["δ^3 does not exist", "at l = 2", "write for l in 1..L-1"]),
    ("for l in 1..5: δˡ = δˡ", 25, ["δ^3 does not exist", "write for l in 1..L"]),
    ("δ^5 = aᴸ", 10, ["δ^5 does not exist", "δ has layers 1..L, L = 2"]),
    ("z^0 = x", 10, ["z^0 does not exist", "z has layers 1..L, L = 2"]),
])
def test_a_layer_out_of_range_names_the_problem_and_the_way_to_write_it(rule, column, words):
    text = "network n {\n layers 2, 3, 3\n activation σ\n loss C = ½‖y − aᴸ‖²\n rule r: " + rule + "\n}\n"
    with pytest.raises(DeriveError) as info:
        load(text, "f.deriv")
    for word in words:
        assert word in info.value.message, info.value.message
    located(info.value, 5, column)


def test_a_sum_without_a_range_in_a_definition_says_how_to_give_one():
    error = bad("graph g {\n input x[3]\n J = Σ_k 2\n rule r: J = 6\n}\n")
    assert "give it bounds, as in Σ_{k=1}^{3}" in error.message and "Σ_k x_k" in error.message
    located(error, 3, 8)


def test_a_sum_without_a_range_in_a_rule_says_how_to_give_one():
    [v] = check_source("graph g {\n input x[3]\n J = Σ_k x_k\n rule r: Σ_t t = J\n}\n", "f.deriv", timeout=None)
    assert v.how == "bad input" and "f.deriv:4:12:" in v.detail and "give it bounds, as in Σ_{t=1}^{3}" in v.detail


def test_a_scalar_sum_without_bounds_says_how_to_write_them():
    [v] = check_source("rule s: Σ_k x_k = 1\n", "f.deriv", timeout=None)
    assert v.how == "bad input" and "needs its bounds, as in Σ_{k=1}^{3}" in v.detail


def test_a_parameter_called_like_a_function_says_how_to_write_a_product():
    with pytest.raises(DeriveError) as info:
        load("function elu2(t, a) = t if t > 0 else a(exp(t) − 1)\n", "f.deriv")
    assert "unknown function 'a'" in info.value.message and "write a (…) with a space" in info.value.message
    located(info.value, 1, 39)
