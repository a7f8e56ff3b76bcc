"""cli.py: exit codes 0 / 1 / 2, located bad-input messages without tracebacks, --json,
folders, -k, --help. Run in-process through `main` (plus one real subprocess)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from derive.cli import EXIT_BAD_INPUT, EXIT_FAILED, EXIT_OK, main

ROOT = Path(__file__).resolve().parent.parent

NET = ("network n {{\n"
       "    layers {sizes}\n"
       "    activation σ\n"
       "    loss C = {loss}\n"
       "{rules}"
       "}}\n")


def network(rules: str = "", sizes: str = "2, 3, 2", loss: str = "½‖y − aᴸ‖²") -> str:
    return NET.format(sizes=sizes, loss=loss, rules="".join(f"    {r}\n" for r in rules.splitlines()))


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def run(capsys, *args: str) -> tuple:
    """(exit code, stdout, stderr) of `derive check ARGS` run in this process, no time limit."""
    code = main(["check", "--timeout", "none", *map(str, args)])
    out, err = capsys.readouterr()
    return code, out, err


def run_json(capsys, *args: str) -> tuple:
    code, out, err = run(capsys, "--json", *args)
    return code, json.loads(out), err


CARET = re.compile(r"^\s*\^$", re.MULTILINE)


# ---------------------------------------------------------------- exit codes 0 and 1


def test_exit_0_when_every_verdict_is_as_expected(tmp_path, capsys):
    path = write(tmp_path, "ok.deriv", "rule good: tanh(t) = 2σ(2t) − 1\n"
                                       "wrong rule bad: σ(−t) = σ(t)\n")
    code, out, err = run(capsys, path)
    assert code == EXIT_OK == 0
    assert "good" in out and "bad" in out
    assert f"{path}:1" in out and f"{path}:2" in out
    assert "FAIL" not in out
    assert err == ""


def test_exit_1_for_a_rule_marked_wrong_that_is_true(tmp_path, capsys):
    path = write(tmp_path, "f.deriv", "rule fine: σ(−t) = 1 − σ(t)\n"
                                      "wrong rule oops: σ'(t) = σ(t)(1 − σ(t))\n")
    code, out, err = run(capsys, path)
    assert code == EXIT_FAILED == 1
    assert "oops" in out and "FAIL" in out
    assert "Traceback" not in out + err


def test_exit_1_for_a_true_looking_rule_that_is_wrong(tmp_path, capsys):
    path = write(tmp_path, "f.deriv", "rule dtanh: tanh'(t) = 1 − tanh(t)\n")
    code, out, err = run(capsys, path)
    assert code == EXIT_FAILED
    assert "dtanh" in out and "refuted" in out and "FAIL" in out


def test_exit_1_for_a_wrong_network_rule(tmp_path, capsys):
    path = write(tmp_path, "net.deriv", network("rule BP1: δᴸ = aᴸ − y"))
    code, data, _ = run_json(capsys, path)
    assert code == EXIT_FAILED
    (item,) = data
    assert (item["rule"], item["verdict"], item["expected"]) == ("BP1", "refuted", "proved")


# ---------------------------------------------------------------- exit code 2: bad input


BAD_INPUTS = {
    # name: (text, line, column, words in the message)
    "syntax error": ("rule ok: t = t\nrule r: (a + b = a\n", 2, 16, "syntax error"),
    "stray character": ("rule r: a $ b = 1\n", 1, 11, "'$'"),
    "unknown name": (network("rule r: δᴸ = q ⊙ σ'(zᴸ)"), 5, 18, "unknown name 'q'"),
    "vector loss": (network(loss="y − aᴸ"), 4, 14, "scalar"),
    "layer index out of range": (network("rule r: ∂C/∂W^3 = 0"), 5, 17, "out of range"),
    "non-numeric size": (network(sizes="2, x, 2"), 2, 15, "layer size"),
}


@pytest.mark.parametrize("case", sorted(BAD_INPUTS))
def test_exit_2_on_bad_input_with_location_and_caret(tmp_path, capsys, case):
    text, line, column, words = BAD_INPUTS[case]
    path = write(tmp_path, "bad.deriv", text)
    code, out, err = run(capsys, path)
    assert code == EXIT_BAD_INPUT == 2
    assert f"{path}:{line}:{column}: " in err
    assert words in err
    assert "    " + text.splitlines()[line - 1] in err.splitlines()  # the offending source line
    carets = CARET.findall(err)
    assert len(carets) == 1
    assert len(carets[0]) - len("    ") == column  # under the right column
    assert "Traceback" not in out + err


def test_bad_input_in_json_is_an_error_object(tmp_path, capsys):
    text, line, column, words = BAD_INPUTS["unknown name"]
    path = write(tmp_path, "bad.deriv", text)
    code, data, err = run_json(capsys, path)
    assert code == EXIT_BAD_INPUT
    (item,) = data
    assert item["verdict"] == "error"
    assert item["file"] == str(path)
    assert item["rule"] is None and item["expected"] is None
    assert (item["line"], item["column"]) == (line, column)
    assert f"{path}:{line}:{column}:" in item["detail"] and words in item["detail"]
    assert "Traceback" not in err


def test_one_bad_file_does_not_hide_the_others(tmp_path, capsys):
    good = write(tmp_path, "a_good.deriv", "rule g: σ(−t) = 1 − σ(t)\n")
    bad = write(tmp_path, "b_bad.deriv", "rule r: 1 = = 2\n")
    code, data, _ = run_json(capsys, good, bad)
    assert code == EXIT_BAD_INPUT
    assert [(d["file"], d["verdict"]) for d in data] == [(str(good), "proved"), (str(bad), "error")]


def test_missing_path_exits_2(tmp_path, capsys):
    missing = tmp_path / "nowhere.deriv"
    code, out, err = run(capsys, missing)
    assert code == EXIT_BAD_INPUT
    assert str(missing) in err and "no such file" in err
    assert "Traceback" not in out + err


def test_missing_path_next_to_a_good_file_still_exits_2(tmp_path, capsys):
    good = write(tmp_path, "good.deriv", "rule g: t = t\n")
    code, data, _ = run_json(capsys, good, tmp_path / "gone.deriv")
    assert code == EXIT_BAD_INPUT
    assert {d["verdict"] for d in data} == {"proved", "error"}


def test_folder_without_rule_files_exits_2(tmp_path, capsys):
    write(tmp_path, "notes.txt", "rule r: t = t\n")
    code, out, err = run(capsys, tmp_path)
    assert code == EXIT_BAD_INPUT
    assert "no .deriv files" in err


def test_file_that_is_not_utf8_exits_2(tmp_path, capsys):
    path = tmp_path / "binary.deriv"
    path.write_bytes(b"rule r: t = \xff\xfe\n")
    code, out, err = run(capsys, path)
    assert code == EXIT_BAD_INPUT
    assert str(path) in err and "UTF-8" in err
    assert "Traceback" not in out + err


def test_utf8_file_with_a_byte_order_mark_is_read(tmp_path, capsys):
    path = tmp_path / "bom.deriv"
    path.write_bytes("\ufeffrule r: σ(−t) = 1 − σ(t)\n".encode("utf-8"))
    code, data, _ = run_json(capsys, path)
    assert code == EXIT_OK
    assert [d["rule"] for d in data] == ["r"]


# ---------------------------------------------------------------- --json


def test_json_output_has_one_object_per_rule_with_the_documented_keys(tmp_path, capsys):
    path = write(tmp_path, "ok.deriv", "rule good: tanh(t) = 2σ(2t) − 1\n"
                                       "wrong rule bad: σ(−t) = σ(t)\n")
    code, data, err = run_json(capsys, path)
    assert code == EXIT_OK
    assert isinstance(data, list) and len(data) == 2
    for item in data:
        assert {"file", "rule", "verdict", "expected", "detail"} <= set(item)
        assert item["file"] == str(path)
    good, bad = data
    assert (good["rule"], good["verdict"], good["expected"]) == ("good", "proved", "proved")
    assert (bad["rule"], bad["verdict"], bad["expected"]) == ("bad", "refuted", "refuted")
    assert bad["counterexample"]["inputs"]  # the exact point is in the JSON too
    assert err == ""


# ---------------------------------------------------------------- folders and -k


def test_folders_are_searched_recursively_for_deriv_files(tmp_path, capsys):
    write(tmp_path, "top.deriv", "rule top: t = t\n")
    write(tmp_path, "sub/deeper/inner.deriv", "rule inner: σ(−t) = 1 − σ(t)\n")
    write(tmp_path, "sub/readme.txt", "rule r: 1 = = 2\n")  # not a .deriv file: ignored
    write(tmp_path, "sub/rules.deriv.bak", "rule r: 1 = = 2\n")
    code, data, _ = run_json(capsys, tmp_path)
    assert code == EXIT_OK
    assert sorted(d["rule"] for d in data) == ["inner", "top"]
    assert {Path(d["file"]).name for d in data} == {"top.deriv", "inner.deriv"}


def test_a_folder_named_like_a_rule_file_is_searched_not_read(tmp_path, capsys):
    write(tmp_path, "top.deriv", "rule top: t = t\n")
    write(tmp_path, "archive.deriv/inner.deriv", "rule inner: σ(−t) = 1 − σ(t)\n")
    code, data, err = run_json(capsys, tmp_path)
    assert code == EXIT_OK
    assert sorted(d["rule"] for d in data) == ["inner", "top"]
    assert "Traceback" not in err


def test_dash_k_selects_rules_by_name(tmp_path, capsys):
    path = write(tmp_path, "k.deriv", "rule alpha_one: t = t\n"
                                      "rule beta: tanh'(t) = 1 − tanh(t)\n"  # wrong: must not run
                                      "rule alpha_two: σ(−t) = 1 − σ(t)\n")
    code, data, _ = run_json(capsys, "-k", "alpha", path)
    assert code == EXIT_OK
    assert [d["rule"] for d in data] == ["alpha_one", "alpha_two"]
    code, data, _ = run_json(capsys, "-k", "beta", path)
    assert code == EXIT_FAILED
    assert [d["rule"] for d in data] == ["beta"]


def test_dash_k_selects_network_rules(tmp_path, capsys):
    path = write(tmp_path, "n.deriv", network("rule BP3: for l in 1..L: ∂C/∂bˡ = δˡ\n"
                                              "wrong rule BP1_noσ: δᴸ = aᴸ − y"))
    code, data, _ = run_json(capsys, "-k", "BP3", path)
    assert code == EXIT_OK
    assert [(d["rule"], d["verdict"]) for d in data] == [("BP3", "proved")]


# ---------------------------------------------------------------- help


def test_check_help_exits_0_and_mentions_the_exit_codes(capsys):
    with pytest.raises(SystemExit) as info:
        main(["check", "--help"])
    assert info.value.code == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "Exit 0" in out and "1 otherwise" in out and "2 on bad input" in out
    assert "--json" in out and "--timeout" in out and "-k" in out


def test_top_level_help_exits_0(capsys):
    with pytest.raises(SystemExit) as info:
        main(["--help"])
    assert info.value.code == 0
    assert "check" in capsys.readouterr().out


def test_no_command_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as info:
        main([])
    assert info.value.code == 2
    assert "usage" in capsys.readouterr().err


# ---------------------------------------------------------------- default time limit


def test_default_timeout_runs_each_rule_in_a_child(tmp_path, capsys):
    path = write(tmp_path, "ok.deriv", "rule good: σ'(t) = σ(t)(1 − σ(t))\n"
                                       "wrong rule bad: tanh(t) = 2σ(t) − 1\n")
    code = main(["check", "--json", str(path)])  # default --timeout: forked children
    data = json.loads(capsys.readouterr().out)
    assert code == EXIT_OK
    assert [(d["rule"], d["verdict"]) for d in data] == [("good", "proved"), ("bad", "refuted")]


def test_command_line_in_a_subprocess_reports_bad_input_without_a_traceback(tmp_path):
    write(tmp_path, "good.deriv", "rule good: tanh(t) = 2σ(2t) − 1\nwrong rule bad: σ(−t) = σ(t)\n")
    bad = write(tmp_path, "bad.deriv", network(sizes="2, x, 2"))
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    proc = subprocess.run([sys.executable, "-m", "derive.cli", "check", str(tmp_path)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stdout + proc.stderr
    assert f"{bad}:2:15: " in proc.stderr
    assert CARET.search(proc.stderr)
    good = tmp_path / "good.deriv"
    assert f"{good}:1" in proc.stdout and f"{good}:2" in proc.stdout  # the good file was still checked


# ---------------------------------------------------------------- --numeric and derive cost


def test_numeric_option_adds_a_line_of_evidence_per_rule(tmp_path, capsys):
    path = write(tmp_path, "n.deriv", network("rule BP1: δᴸ = (aᴸ − y) ⊙ σ'(zᴸ)"))
    code, out, err = run(capsys, "--numeric", path)
    assert code == EXIT_OK
    assert "↳ numeric: central differences" in out and "numeric evidence, not a proof" in out
    code, items, err = run_json(capsys, "--numeric", path)
    assert "largest relative error" in items[0]["numeric"]


def test_cost_counts_passes_for_finite_differences_and_backprop(tmp_path, capsys):
    path = write(tmp_path, "n.deriv", network(sizes="2, 3, 2"))
    code = main(["cost", str(path)])
    out, err = capsys.readouterr()
    assert code == EXIT_OK and not err
    row = next(line for line in out.splitlines() if line.startswith("n "))
    assert "17" in row.split()  # P = 2·3 + 3 + 3·2 + 2
    assert "18 (P+1)" in row and "34 (2P)" in row and "1 forward + 1 backward" in row


def test_cost_of_a_file_with_bad_input_exits_2(tmp_path, capsys):
    path = write(tmp_path, "bad.deriv", "network n {\n layers 2, 0\n}\n")
    assert main(["cost", str(path)]) == EXIT_BAD_INPUT
    out, err = capsys.readouterr()
    assert "bad.deriv:2:" in err and "^" in err


# ---------------------------------------------------------------- odd inputs and options (issue 9)


@pytest.mark.parametrize("value", ["nan", "inf", "-1", "0", "abc", "", "-inf", "1e999"])
@pytest.mark.parametrize("command", [["check"], ["latex", "-o", "out.tex"]])
def test_a_bad_timeout_is_a_usage_error_exit_2(tmp_path, capsys, command, value):
    path = write(tmp_path, "ok.deriv", "rule r: t = t\n")
    with pytest.raises(SystemExit) as e:
        main([command[0], f"--timeout={value}", str(path), *command[1:]])
    assert e.value.code == EXIT_BAD_INPUT
    err = capsys.readouterr().err
    assert "argument --timeout:" in err and "seconds" in err and "Traceback" not in err


def test_timeout_none_means_no_limit(tmp_path, capsys):
    path = write(tmp_path, "ok.deriv", "rule r: t = t\n")
    assert main(["check", "--timeout", "none", str(path)]) == EXIT_OK


def _crash_free(capsys, *args) -> tuple:
    code = main([*map(str, args)])
    out, err = capsys.readouterr()
    assert "Traceback" not in err + out and "Process ForkProcess" not in err
    return code, out, err


@pytest.mark.parametrize("text, where, what", [
    ("rule r: " + " + ".join(["x"] * 500) + " = 500 x\n", "1:", "nested more than"),
    ("rule r: " + " ".join(["x"] * 500) + " = x^500\n", "1:", "nested more than"),
    ("rule r: " + " * ".join(["x"] * 400) + " = x^400\n", "1:", "nested more than"),
    ("rule r: " + "σ(" * 200 + "x" + ")" * 200 + " = 1\n", "1:", "nested more than"),
    ("rule r: " + "-" * 3000 + "x = x\n", "1:", "nested more than"),
    ("rule r: " + "1" * 5000 + " x = x\n", "1:9", "more than 1000 digits"),
    ("rule r: x^" + "9" * 4400 + " = x\n", "1:11", "more than 1000 digits"),
    ("graph g {\n  input a = 1/0\n  y = 2 a\n  rule r: y = 2 a\n}\n", "2:13", "division by zero"),
    ("graph g {\n  input a = " + "7" * 4400 + "\n  y = 2 a\n  rule r: y = 2 a\n}\n", "2:13", "more than 1000 digits"),
])
def test_inputs_that_crashed_are_located_bad_input(tmp_path, capsys, text, where, what):
    path = write(tmp_path, "odd.deriv", text)
    code, out, err = _crash_free(capsys, "check", "--timeout", "none", path)
    assert code == EXIT_BAD_INPUT
    assert f"odd.deriv:{where}" in err and what in err and CARET.search(err)


def test_deep_parentheses_are_read(tmp_path, capsys):
    path = write(tmp_path, "deep.deriv", "rule r: " + "(" * 3000 + "x" + ")" * 3000 + " = x\n")
    assert _crash_free(capsys, "check", "--timeout", "none", path)[0] == EXIT_OK


@pytest.mark.parametrize("make, message", [
    (lambda d: Path("/dev/zero"), "not a regular file"),
    (lambda d: Path("/dev/null"), "not a regular file"),
    (lambda d: (d / "bin.deriv").write_bytes(b"rule r: t = t\n\0\1\2") and d / "bin.deriv", "binary file"),
    (lambda d: (d / "big.deriv").write_bytes(b"# x\n" * 300_000) and d / "big.deriv", "more than 1000000 bytes"),
    (lambda d: (d / "latin.deriv").write_bytes("rule r: t = t # é\n".encode("latin-1")) and d / "latin.deriv",
     "not a UTF-8 text file"),
])
def test_files_that_are_not_rule_files_exit_2(tmp_path, capsys, make, message):
    path = make(tmp_path)
    code, out, err = _crash_free(capsys, "check", path)
    assert code == EXIT_BAD_INPUT and f"{path}: error: " in err and message in err


def test_a_fifo_is_refused_without_blocking(tmp_path, capsys):
    fifo = tmp_path / "pipe.deriv"
    os.mkfifo(fifo)
    code, out, err = _crash_free(capsys, "check", fifo)
    assert code == EXIT_BAD_INPUT and "not a regular file" in err


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads any file")
def test_an_unreadable_file_exits_2(tmp_path, capsys):
    path = write(tmp_path, "locked.deriv", "rule r: t = t\n")
    path.chmod(0)
    code, out, err = _crash_free(capsys, "check", path)
    assert code == EXIT_BAD_INPUT and "cannot read" in err


def test_an_empty_file_has_no_rules(tmp_path, capsys):
    path = write(tmp_path, "empty.deriv", "")
    code, out, err = _crash_free(capsys, "check", "--timeout", "none", path)
    assert code == EXIT_OK and "0 rules" in out


@pytest.mark.parametrize("text", ["", " ", "::", "[", "\\", "*", "σ", "r" * 5000, "\t"])
def test_dash_k_with_odd_text_only_selects(tmp_path, capsys, text):
    path = write(tmp_path, "ok.deriv", "rule r: t = t\n")
    code, out, err = _crash_free(capsys, "check", "--timeout", "none", "-k", text, path)
    assert code == EXIT_OK


def test_sizes_too_large_exit_2_at_once_naming_the_limit(tmp_path, capsys):
    path = write(tmp_path, "big.deriv", network(sizes="1000, 1000"))
    code, out, err = _crash_free(capsys, "check", path)
    assert code == EXIT_BAD_INPUT
    assert "big.deriv:2:5: error: too large to check" in err and "entries in derive.limits.LIMITS" in err


@pytest.mark.parametrize("output, message", [
    ("somefolder/", "names a folder"), ("somefolder", "names a folder"),
    ("out.unknownsuffix", "cannot tell the format"), ("out", "cannot tell the format"),
])
@pytest.mark.parametrize("command", ["latex", "graph"])
def test_latex_and_graph_refuse_an_output_they_cannot_write(tmp_path, capsys, monkeypatch, command, output, message):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "somefolder").mkdir()
    write(tmp_path, "g.deriv", "graph g {\n  input a\n  y = 2 a\n  rule r: y = 2 a\n}\n")
    code, out, err = _crash_free(capsys, command, "g.deriv", "-o", output)
    assert code == EXIT_BAD_INPUT and f"{output}: error: " in err and message in err


def test_latex_to_an_unwritable_place_exits_2(tmp_path, capsys):
    write(tmp_path, "f.deriv", "rule r: t = t\n")
    blocker = write(tmp_path, "file", "")
    code, out, err = _crash_free(capsys, "latex", tmp_path / "f.deriv", "-o", blocker / "out.tex", "--timeout", "none")
    assert code == EXIT_BAD_INPUT and "cannot write" in err


def test_latex_leaves_no_child_traceback_on_stderr(tmp_path, capfd, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("a bug in a step check")

    monkeypatch.setattr("derive.steps.check_step", broken)  # runs in the forked child that checks the steps
    path = write(tmp_path, "f.deriv", "rule r: tanh(t) = 2σ(2t) − 1\nundefined rule u: relu'(0) = 0\n")
    code = main(["latex", str(path), "-o", str(tmp_path / "o.tex"), "--timeout", "60"])
    out, err = capfd.readouterr()
    assert code == EXIT_OK and err == "", err
    text = (tmp_path / "o.tex").read_text(encoding="utf-8")
    assert "RuntimeError: a bug in a step check" in text
    assert "(marked undefined)" in text and "(marked wrong)" not in text


@pytest.mark.parametrize("command", [["check"], ["cost"], ["latex", "-o", "o.tex"], ["graph", "-o", "o.svg"]])
def test_an_empty_path_is_a_usage_error_not_the_current_folder(capsys, command):
    with pytest.raises(SystemExit) as e:
        main([command[0], "", *command[1:]])
    assert e.value.code == EXIT_BAD_INPUT and "an empty path" in capsys.readouterr().err


def test_a_tiny_timeout_ends_cleanly(tmp_path, capsys):
    path = write(tmp_path, "ok.deriv", network("rule BP1: δᴸ = (aᴸ − y) ⊙ σ'(zᴸ)"))
    code, out, err = _crash_free(capsys, "check", "--timeout=1e-9", path)
    assert code in (EXIT_FAILED, EXIT_BAD_INPUT)
    assert "time limit of 1e-09 s" in out + err
