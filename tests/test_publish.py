"""publish.py: `derive latex` and `derive graph` — files written, exit codes, located bad
input, and a clear message when a needed program is missing."""

from __future__ import annotations

import pytest

from derive.cli import EXIT_BAD_INPUT, EXIT_FAILED, EXIT_MISSING_PROGRAM, EXIT_OK, main
from tests.conftest import PROOFS, require_program


def test_latex_writes_tex_and_md(tmp_path, capsys):
    src = tmp_path / "r.deriv"
    src.write_text("rule ok: tanh(t) = 2σ(2t) − 1\n", encoding="utf-8")
    assert main(["latex", str(src), "-o", str(tmp_path / "out.tex"), "--timeout", "none"]) == EXIT_OK
    assert r"\begin{align*}" in (tmp_path / "out.tex").read_text(encoding="utf-8")
    assert main(["latex", str(src), "-o", str(tmp_path / "out.md"), "--timeout", "none"]) == EXIT_OK
    assert "\\begin{aligned}" in (tmp_path / "out.md").read_text(encoding="utf-8")


def test_latex_exit_1_when_a_verdict_is_not_as_expected(tmp_path, capsys):
    src = tmp_path / "r.deriv"
    src.write_text("rule bad: tanh'(t) = 1 − tanh(t)\n", encoding="utf-8")
    assert main(["latex", str(src), "-o", str(tmp_path / "out.tex"), "--timeout", "none"]) == EXIT_FAILED
    assert r"\flag{wrong step}" in (tmp_path / "out.tex").read_text(encoding="utf-8")


def test_bad_input_is_located_exit_2(tmp_path, capsys):
    src = tmp_path / "bad.deriv"
    src.write_text("rule r: σ(t) = = 1\n", encoding="utf-8")
    assert main(["latex", str(src), "-o", str(tmp_path / "out.tex")]) == EXIT_BAD_INPUT
    assert main(["graph", str(src), "-o", str(tmp_path / "out.svg")]) == EXIT_BAD_INPUT
    err = capsys.readouterr().err
    assert f"{src}:1:16" in err and "^" in err and "Traceback" not in err
    assert not (tmp_path / "out.tex").exists()


def test_graph_without_a_block_or_with_an_unknown_name(tmp_path, capsys):
    src = tmp_path / "s.deriv"
    src.write_text("rule r: σ(t) = σ(t)\n", encoding="utf-8")
    assert main(["graph", str(src), "-o", str(tmp_path / "g.svg")]) == EXIT_BAD_INPUT
    assert "declares no graph and no network" in capsys.readouterr().err


def test_missing_programs_are_named(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))  # nothing to find
    src = PROOFS / "computation_graph.deriv"
    assert main(["latex", str(src), "-o", str(tmp_path / "o.tex"), "--pdf"]) == EXIT_MISSING_PROGRAM
    assert "'pdflatex' was not found" in capsys.readouterr().err
    assert main(["graph", str(src), "-o", str(tmp_path / "g.svg")]) == EXIT_MISSING_PROGRAM
    assert "'dot' was not found" in capsys.readouterr().err


def test_pdf_with_graphs(tmp_path, capsys):
    require_program("pdflatex", "DERIVE_NO_TEX")
    require_program("dot", "DERIVE_NO_GRAPHVIZ")
    out = tmp_path / "j.tex"
    code = main(["latex", str(PROOFS / "computation_graph.deriv"), "-o", str(out), "--pdf", "--with-graphs",
                 "--timeout", "none"])
    assert code == EXIT_OK, capsys.readouterr()
    assert (tmp_path / "j.pdf").stat().st_size > 10_000
    assert (tmp_path / "j-1-J.pdf").exists() and r"\includegraphics" in out.read_text(encoding="utf-8")


@pytest.mark.parametrize("option", [["--graph", "J"], ["--rule", "dJ/db = 6"]])
def test_graph_svg(tmp_path, capsys, option):
    require_program("dot", "DERIVE_NO_GRAPHVIZ")
    out = tmp_path / "j.svg"
    assert main(["graph", str(PROOFS / "computation_graph.deriv"), *option, "-o", str(out)]) == EXIT_OK
    assert "∂J/∂b = 6" in out.read_text(encoding="utf-8")


def test_markdown_with_graphs_links_svg_pictures(tmp_path, capsys):
    require_program("dot", "DERIVE_NO_GRAPHVIZ")
    out = tmp_path / "j.md"
    assert main(["latex", str(PROOFS / "computation_graph.deriv"), "-o", str(out), "--with-graphs",
                 "--timeout", "none"]) == EXIT_OK
    assert "![graph J](j-1-J.svg)" in out.read_text(encoding="utf-8")
    assert "∂J/∂b = 6" in (tmp_path / "j-1-J.svg").read_text(encoding="utf-8")
