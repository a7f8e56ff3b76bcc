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
