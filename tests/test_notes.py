"""notes.py: Markdown and LaTeX notes checked in place, at the notes' own lines."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys

import pytest

from derive.cli import main
from derive.errors import DeriveError
from derive.notes import annotate, check_notes, has_derive, read_notes
from tests.conftest import ROOT

COURSE = ROOT / "examples" / "course" / "notes"

NETWORK = """network mlp {
    layers 2, 3, 2
    activation σ
    loss C = ½‖y − aᴸ‖²
}"""

MD = f"""# Notes

```derive
{NETWORK}
```

Prose.

<!-- derive: BP1 -->
$$
\\delta^L = (a^L - y) \\odot \\sigma'(z^L).
$$

<!-- derive: wrong BP1_linear -->
$$ \\delta^L = a^L - y $$

<!-- derive: BP3 for l in 1..L -->
$$\\frac{{\\partial C}}{{\\partial b^l_j}}
   = \\delta^l_j ,$$
"""


def _at(text: str, snippet: str) -> tuple:
    """(line, column) of the first occurrence of `snippet` in `text`, 1-based."""
    index = text.index(snippet)
    line = text.count("\n", 0, index) + 1
    return line, index - (text.rfind("\n", 0, index) + 1) + 1


def _verdicts(text: str, name: str) -> dict:
    return {v.rule: v for v in check_notes(text, name, timeout=None)}


def test_markdown_verdicts_are_at_the_equations_lines_and_columns():
    verdicts = _verdicts(MD, "n.md")
    assert [(v.verdict, v.expected) for v in verdicts.values()] == [
        ("proved", "proved"), ("refuted", "refuted"), ("proved", "proved")]
    assert (verdicts["BP1"].line, verdicts["BP1"].column) == _at(MD, "\\delta^L = (a^L")
    assert (verdicts["BP1_linear"].line, verdicts["BP1_linear"].column) == _at(MD, "\\delta^L = a^L - y")
    assert (verdicts["BP3"].line, verdicts["BP3"].column) == _at(MD, "\\frac")
    assert all(v.file == "n.md" and v.context == "mlp" for v in verdicts.values())


def test_the_course_notes_give_their_verdicts_at_their_lines():
    bp34 = {"BP3": "\\frac{\\partial C}{\\partial b", "BP4": "\\frac{\\partial C}{\\partial w"}
    for name, snippets in (("backprop.md", {"BP1": "\\delta^L = (a^L", "BP2": "\\delta^l = \\left( (W", **bp34,
                                            "BP2_without_transpose": "\\delta^l = \\left( W"}),
                           ("backprop.tex", {"BP1": "\\delta^L = (a^L", "BP2": "\\delta^l &= \\left( (W", **bp34,
                                             "BP2_without_transpose": "\\delta^l = \\left( W"})):
        text = (COURSE / name).read_text(encoding="utf-8")
        report = check_notes(text, name, timeout=None)
        assert report.ok and len(report) == 5
        for rule, snippet in snippets.items():
            assert (report[rule].line, report[rule].column) == _at(text, snippet), (name, rule)
        assert report["BP2_without_transpose"].verdict == "refuted"
        assert [v.verdict for v in report].count("proved") == 4


TEX = r"""\documentclass{article}
\usepackage{amsmath}
\usepackage{verbatim}
\newenvironment{derive}{\comment}{\endcomment}
\begin{document}
% derive: network mlp {
% derive:     layers 2, 3, 2
% derive:     activation σ
% derive:     loss C = ½‖y − aᴸ‖²
% derive: }
The error
\begin{equation}
  \delta^L = (a^L - y) \odot \sigma'(z^L). \label{derive:BP1}
\end{equation}
and
\begin{align}
  \frac{\partial C}{\partial b^l_j} &= \delta^l_j, \label{derive:BP3 for l in 1..L} \nonumber \\
  x &= y \\
  \frac{\partial C}{\partial w^l_{jk}} &= a^{l-1}_k \delta^l_j. \label{derive:BP4 for l in 1..L}
\end{align}
A scalar mistake:
\begin{derive}
function g(t) = t
\end{derive}
\begin{equation}
  \tanh'(t) = 1 - \tanh(t) \label{derive:wrong:dtanh top-level}
\end{equation}
\end{document}
"""


def test_latex_equations_and_align_rows_are_rules_at_their_lines():
    verdicts = _verdicts(TEX, "n.tex")
    assert list(verdicts) == ["BP1", "BP3", "BP4", "dtanh"]  # the unlabelled align row is prose
    assert (verdicts["BP1"].line, verdicts["BP1"].column) == _at(TEX, "\\delta^L")
    assert (verdicts["BP3"].line, verdicts["BP3"].column) == _at(TEX, "\\frac{\\partial C}{\\partial b")
    assert (verdicts["BP4"].line, verdicts["BP4"].column) == _at(TEX, "\\frac{\\partial C}{\\partial w")
    assert all(v.ok for v in verdicts.values())
    assert verdicts["dtanh"].context is None and verdicts["dtanh"].verdict == "refuted"
    assert verdicts["BP4"].context == "mlp"


@pytest.mark.parametrize("text, name, snippet, message", [
    (MD.replace("\\odot \\sigma'(z^L).", "\\odot \\sigma'(z^L) +"), "n.md", "$$\n\n<!-- derive: wrong",
     "syntax error: unexpected end of line"),
    (MD.replace("(a^L - y) \\odot", "(a^L - q) \\odot"), "n.md", "q) \\odot", "unknown name 'q'"),
    (MD.replace("activation σ", "activation σ σ"), "n.md", "σ\n    loss", "unexpected 'σ'"),
    (MD.replace("<!-- derive: BP1 -->", "<!-- derive: BP1 in nn -->"), "n.md", "nn -->",
     "no network or graph named 'nn'"),
    (MD.replace("<!-- derive: BP1 -->", "<!-- derive: BP3 -->"), "n.md", "\\frac", "defined twice"),
    (MD.replace("   = \\delta^l_j ,$$", "   = \\delta^l_j \\frob ,$$"), "n.md", "\\frob",
     "unknown LaTeX command \\frob"),
    (TEX.replace("\\delta^l_j, \\label", "\\delta^l_j \\frob, \\label"), "n.tex", "\\frob", "unknown LaTeX command"),
    (TEX.replace("layers 2, 3, 2", "layers 2, , 2"), "n.tex", ", 2\n", "syntax error"),
])
def test_bad_input_points_into_the_notes_with_a_caret(text, name, snippet, message):
    with pytest.raises(DeriveError) as caught:
        check_notes(text, name, timeout=None)
    error = caught.value
    line, column = _at(text, snippet)
    if snippet.startswith("$$\n"):  # the end of the equation's last line
        line, column = line - 1, len(text.splitlines()[line - 2]) + 1
    assert (error.pos.line, error.pos.column) == (line, column), str(error)
    assert message in str(error)
    shown = str(error).splitlines()
    assert shown[0].startswith(f"{name}:{line}:{column}:")
    assert shown[1] == "    " + text.splitlines()[line - 1]  # the notes' own line, then the caret under the column
    assert shown[2] == "    " + " " * (column - 1) + "^"


def test_a_tag_without_an_equation_is_bad_input_at_the_tag():
    text = "```derive\nrule r: t = t\n```\n\n<!-- derive: lonely -->\nJust prose.\n"
    with pytest.raises(DeriveError, match="not followed by a \\$\\$") as caught:
        read_notes(text, "n.md")
    assert caught.value.pos.line == 5


def test_tagged_equations_go_to_the_nearest_block_above_or_the_one_named():
    text = f"""```derive
{NETWORK}
network tanh_net {{
    layers 2, 2, 1
    activation tanh
    loss C = ½‖y − aᴸ‖²
}}
```

<!-- derive: BP1 in mlp -->
$$ \\delta^L = (a^L - y) \\odot \\sigma'(z^L) $$

<!-- derive: BP1_tanh -->
$$ \\delta^L = (a^L - y) \\odot \\tanh'(z^L) $$

<!-- derive: alone top-level -->
$$ \\tanh(t) = 2\\sigma(2t) - 1 $$
"""
    verdicts = _verdicts(text, "n.md")
    assert {k: v.context for k, v in verdicts.items()} == {"BP1": "mlp", "BP1_tanh": "tanh_net", "alone": None}
    assert all(v.verdict == "proved" for v in verdicts.values())


def test_code_blocks_of_another_language_and_untagged_displays_are_prose():
    text = "````markdown\n```derive\nrule r: t = 2t\n```\n<!-- derive: x -->\n````\n\n$$ a = b $$\n"
    notes = read_notes(text, "README.md")
    assert notes.chunks == [] and notes.equations == []
    assert not has_derive(text, "README.md")  # a tag in a code block is text
    with pytest.raises(DeriveError, match="no derive block"):
        check_notes(text, "README.md")


def test_cli_checks_notes_and_reports_notes_lines(tmp_path, capsys):
    (tmp_path / "n.md").write_text(MD.replace("wrong BP1_linear", "BP1_linear"), encoding="utf-8")
    (tmp_path / "README.md").write_text("# no derive here\n", encoding="utf-8")
    (tmp_path / "n.tex").write_text(TEX, encoding="utf-8")
    assert main(["check", str(tmp_path)]) == 1  # BP1_linear is refuted and not marked wrong
    out = capsys.readouterr().out
    line = _at(MD, "\\delta^L = a^L - y")[0]
    assert re.search(rf"n\.md:{line} +BP1_linear +refuted +counterexample", out) and "README" not in out
    assert "7 rules: 5 proved, 2 refuted; 1 not as expected" in out
    assert main(["check", str(tmp_path / "README.md")]) == 2
    assert "no derive block" in capsys.readouterr().err


def test_annotated_markdown_marks_each_equation_and_footnotes_the_counterexample(tmp_path, capsys):
    (tmp_path / "n.md").write_text(MD + "\n<!-- derive: wrong dtanh top-level -->\n$$ \\tanh'(t) = 1 - \\tanh(t) $$\n",
                                   encoding="utf-8")
    assert main(["check", str(tmp_path / "n.md"), "--annotate", str(tmp_path / "out.md")]) == 0
    capsys.readouterr()
    out = (tmp_path / "out.md").read_text(encoding="utf-8")
    lines = out.splitlines()
    bp1 = lines.index("\\delta^L = (a^L - y) \\odot \\sigma'(z^L).")
    assert lines[lines.index("$$", bp1) + 2] == "✓ **BP1** proved"
    assert "✗ **BP1_linear** refuted (marked wrong)[^derive-1]" in lines
    assert "✓ **BP3** proved" in lines
    assert "✗ **dtanh** refuted (marked wrong)[^derive-2]" in lines
    footnote = next(line for line in lines if line.startswith("[^derive-2]: "))
    assert "left side = " in footnote and "inputs t = " in footnote
    assert out.count("<!--") == MD.count("<!--") + 1  # the marks are text, not comments
    assert check_notes(out, "out.md", timeout=None).ok  # the annotated notes still check


def test_annotated_latex_compiles(tmp_path, capsys):
    source = tmp_path / "n.tex"
    source.write_text(TEX, encoding="utf-8")
    assert main(["check", str(source), "--annotate", str(tmp_path / "out.tex")]) == 0
    capsys.readouterr()
    out = (tmp_path / "out.tex").read_text(encoding="utf-8")
    assert out.count("\\qquad\\checkmark") == 3 and out.count("\\qquad\\times") == 1
    assert "\\usepackage{amssymb}" in out.split("\\begin{document}")[0]
    footnote = next(line for line in out.splitlines() if "\\footnotetext" in line)
    assert "dtanh: refuted" in footnote and "left side = " in footnote
    if shutil.which("pdflatex") is None:
        pytest.skip("pdflatex is not installed")
    for name in ("n.tex", "out.tex"):
        result = subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error", name], cwd=tmp_path,
                                capture_output=True, text=True, timeout=120, check=False)
        assert result.returncode == 0, result.stdout[-2000:]
    assert (tmp_path / "out.pdf").stat().st_size > 0


def test_annotate_without_notes_is_bad_input(tmp_path, capsys):
    (tmp_path / "r.deriv").write_text("rule r: t = t\n", encoding="utf-8")
    assert main(["check", str(tmp_path / "r.deriv"), "--annotate", str(tmp_path / "out.md")]) == 2
    assert "no notes" in capsys.readouterr().err


def test_annotate_keeps_the_rest_of_the_notes(tmp_path):
    report = check_notes(MD, "n.md", timeout=None)
    out = annotate(MD, "n.md", report)
    kept = [line for line in out.splitlines() if not line.startswith(("✓", "✗", "[^derive-"))]
    assert [line for line in kept if line] == [line for line in MD.splitlines() if line]


# ---------------------------------------------------------------- pytest collects notes


def test_pytest_collects_notes_with_a_derive_block_and_not_other_markdown(pytester):
    pytester.makefile(".md", notes=MD.replace("wrong BP1_linear", "BP1_linear"))
    pytester.makefile(".tex", lecture=TEX)
    pytester.makefile(".md", README="# A readme\n\n````markdown\n```derive\nrule r: t = 2t\n```\n````\n")
    result = pytester.runpytest("-v")
    result.assert_outcomes(passed=6, failed=1)
    line = _at(MD, "\\delta^L = a^L - y")[0]
    result.stdout.fnmatch_lines(["lecture.tex::BP1 PASSED*", "lecture.tex::dtanh PASSED*"])
    result.stdout.fnmatch_lines(["notes.md::BP1 PASSED*", "notes.md::BP1_linear FAILED*", "notes.md::BP3 PASSED*",
                                 f"notes.md:{line}: rule BP1_linear: refuted (counterexample), expected proved",
                                 "  rule:    $$ \\delta^L = a^L - y $$    (in mlp)"])
    assert "README" not in result.stdout.str()


def test_pytest_reports_bad_input_in_notes_at_the_notes_line(pytester):
    pytester.makefile(".md", notes=MD.replace("(a^L - y) \\odot", "(a^L - q) \\odot"))
    result = pytester.runpytest()
    result.assert_outcomes(failed=1)
    line, column = _at(MD, "y) \\odot")
    result.stdout.fnmatch_lines([f"notes.md:{line}:{column}: error: unknown name 'q'*", "*^"])


def test_derive_notes_false_turns_collection_of_notes_off(pytester):
    pytester.makefile(".md", notes=MD)
    pytester.makefile(".ini", pytest="[pytest]\nderive_notes = false\n")
    result = pytester.runpytest()
    assert result.ret == pytest.ExitCode.NO_TESTS_COLLECTED


def test_a_bad_derive_notes_value_is_a_usage_error(pytester):
    pytester.makefile(".ini", pytest="[pytest]\nderive_notes = maybe\n")
    result = pytester.runpytest()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*derive_notes: write true or false*"])


def test_the_readme_shows_what_derive_check_prints_for_the_course_notes():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    shown = readme.split("`derive check examples/course/notes/`:", 1)[1].split("```", 2)[1]
    result = subprocess.run([sys.executable, "-m", "derive.cli", "check", "examples/course/notes/"], cwd=ROOT,
                            capture_output=True, text=True, timeout=600, check=False)
    assert result.returncode == 0

    def without_times(text: str) -> list:
        return [re.sub(r"\d+\.\d\ds", "_s", line).rstrip() for line in text.strip().splitlines()]

    assert without_times(result.stdout) == without_times(shown)
    assert not has_derive(readme, "README.md")  # the README shows tags in prose: it is not a notes file


def test_undefined_and_wrong_tags_set_the_expected_verdict():
    text = ("<!-- derive: undefined relu_at_0 -->\n$$ \\operatorname{relu}'(0) = 0 $$\n\n"
            "<!-- derive: wrong dtanh -->\n$$ \\tanh'(t) = 1 - \\tanh(t) $$\n\n"
            "<!-- derive: tanh_sigma -->\n$$ \\tanh(t) = 2\\sigma(2t) - 1 $$\n")
    verdicts = _verdicts(text, "n.md")
    assert {k: (v.expected, v.verdict, v.line) for k, v in verdicts.items()} == {
        "relu_at_0": ("undefined", "undefined", 2), "dtanh": ("refuted", "refuted", 5),
        "tanh_sigma": ("proved", "proved", 8)}


@pytest.mark.parametrize("after", ["Prose $$ t = t $$\n", "Prose.\n\n$$ t = t $$\n", ""])
def test_a_markdown_tag_needs_a_display_on_the_next_lines(after):
    with pytest.raises(DeriveError, match="not followed by a \\$\\$") as caught:
        read_notes("<!-- derive: r -->\n" + after, "n.md")
    assert (caught.value.pos.line, caught.value.pos.column) == (1, 1)


# ---------------------------------------------------------------- every derive tag is read or is bad input


def _tex(body: str) -> str:
    return "\\documentclass{article}\n\\usepackage{amsmath}\n\\begin{document}\n" + body + "\n\\end{document}\n"


@pytest.mark.parametrize("display", [
    "\\begin{eqnarray}\n\\tanh'(t) &=& 2 \\label{derive:r}\n\\end{eqnarray}",
    "\\[ \\tanh'(t) = 2 \\label{derive:r} \\]",
    "$$ \\tanh'(t) = 2 \\label{derive:r} $$",
    "Text \\label{derive:r} in a paragraph.",
    "\\begin{equation}\n\\begin{aligned} x \\end{aligned}\n\\end{equation} \\label{ derive:r}",
])
def test_a_derive_label_outside_the_displays_derive_reads_is_bad_input_at_the_label(display):
    text = _tex("\\begin{equation}\n\\tanh'(t) = 1 - \\tanh(t)^2 \\label{derive:ok}\n\\end{equation}\n" + display)
    with pytest.raises(DeriveError, match="derive reads tags in equation, align, gather, multline") as caught:
        read_notes(text, "n.tex")
    line, column = _at(text, display[display.index("\\label"):][:17])
    assert (caught.value.pos.line, caught.value.pos.column) == (line, column)
    assert "write \\begin{equation}" in str(caught.value)


@pytest.mark.parametrize("body, message", [
    ("\\begin{equation}\nt = t \\label{derive:a} \\label{derive:b}\n\\end{equation}", "a second derive label"),
    ("\\begin{align}\nt &= t \\label{derive:a} \\label{derive:b} \\\\\nt &= t\n\\end{align}", "a second derive label"),
    ("\\begin{equation}\nt = t \\label{derive:{a}}\n\\end{equation}", "cannot read this derive label"),
])
def test_a_derive_label_that_cannot_be_read_is_bad_input(body, message):
    with pytest.raises(DeriveError, match=message):
        read_notes(_tex(body), "n.tex")


@pytest.mark.parametrize("skip", ["[0pt]", "[4pt]", "*[-2mm]", "*", "[1ex plus 1pt]"])
def test_row_spacing_after_a_row_end_is_not_a_part_of_the_next_formula(skip):
    text = _tex("\\begin{align}\n\\sigma'(t) &= \\sigma(t)(1-\\sigma(t)) \\label{derive:dsig} \\\\" + skip + "\n"
                "\\left(\\tanh'(t) - 1 + \\tanh(t)\\right) \\cdot 2 &= 0 \\label{derive:dtanh_false} \\\\" + skip
                + "\n\\tanh'(t) &= 1 - \\tanh(t)^2 \\label{derive:dtanh}\n\\end{align}")
    verdicts = _verdicts(text, "n.tex")
    assert {k: (v.verdict, v.line, v.column) for k, v in verdicts.items()} == {
        "dsig": ("proved", 5, 1), "dtanh_false": ("refuted", 6, 1), "dtanh": ("proved", 7, 1)}
    assert "pt" not in verdicts["dtanh_false"].detail and verdicts["dtanh_false"].counterexample.inputs[0][0] == "t"


def test_a_multline_and_a_split_are_one_formula_each():
    text = _tex("\\begin{multline}\n\\sigma'(t) = \\sigma(t)(1-\\sigma(t)) \\label{derive:false_multline} \\\\[2pt]\n"
                "+ \\sigma(t)^2 - \\sigma(t)\n\\end{multline}\n"
                "\\begin{multline}\n\\sigma'(t) = \\sigma(t) \\label{derive:true_multline} \\\\\n"
                "- \\sigma(t)^2\n\\end{multline}\n"
                "\\begin{equation}\n\\begin{split}\n\\tanh'(t) &= 1 \\\\\n"
                "&\\quad - \\tanh(t)^2 \\label{derive:true_split}\n\\end{split}\n\\end{equation}\n"
                "\\begin{equation}\\begin{split}\n\\tanh'(t) &= 1 - \\tanh(t)^2 \\label{derive:false_split} \\\\\n"
                "&\\quad + 2\\tanh(t)\n\\end{split}\\end{equation}")
    verdicts = _verdicts(text, "n.tex")
    assert {k: (v.verdict, v.line) for k, v in verdicts.items()} == {
        "false_multline": ("refuted", 5), "true_multline": ("proved", 9), "true_split": ("proved", 14),
        "false_split": ("refuted", 19)}


@pytest.mark.parametrize("rows, bad", [
    ("\\tanh'(t) &= 1 - \\tanh(t)^2 \\label{derive:r} \\\\\n&\\qquad + 2\\tanh(t) \\nonumber", "&\\qquad"),
    ("\\tanh'(t) &= 1 \\notag \\\\\n&\\qquad - \\tanh(t)^2 \\label{derive:r}", "\\tanh'(t) &= 1"),
    ("\\tanh'(t) &= 1 \\nonumber \\\\\n&\\qquad - \\tanh(t)^2 \\label{derive:r} \\\\\n"
     "\\sigma(t) &= 1 \\label{eq:other}", "\\tanh'(t) &= 1"),
])
@pytest.mark.parametrize("env", ["align", "gather", "flalign", "align*"])
def test_a_labelled_row_next_to_an_unnumbered_row_is_a_formula_across_rows_and_bad_input(rows, bad, env):
    text = _tex(f"\\begin{{{env}}}\n{rows}\n\\end{{{env}}}")
    with pytest.raises(DeriveError, match="a formula across several rows") as caught:
        read_notes(text, "n.tex")
    assert (caught.value.pos.line, caught.value.pos.column) == _at(text, bad.lstrip("&"))


def test_numbered_rows_next_to_a_labelled_row_are_other_formulas():
    text = _tex("\\begin{align}\n\\tanh'(t) &= 1 - \\tanh(t)^2 \\label{derive:r} \\\\\nx &= y \\\\\n"
                "\\sigma'(t) &= \\sigma(t)(1 - \\sigma(t)) \\label{derive:s} \\\\\n &= 2 \\label{eq:not_derive}\n"
                "\\end{align}\n\\begin{align*}\n\\tanh'(t) &= 1 - \\tanh(t)^2 \\label{derive:u} \\\\[3pt]\n\\\\\n"
                "\\end{align*}")
    assert {k: v.verdict for k, v in _verdicts(text, "n.tex").items()} == {"r": "proved", "s": "proved",
                                                                            "u": "proved"}


GRAPH_MD = "```derive\ngraph G {\n  input a = 2, b = 3\n  J = a b\n}\n```\n\n"


@pytest.mark.parametrize("tagged", [
    "> <!-- derive: r -->\n> $$ \\frac{dJ}{da} = 7 $$\n",
    "> <!-- derive: r -->\n>\n> $$\n>   \\frac{dJ}{da}\n> = 7 $$\n",
    ">> <!-- derive: r -->\n>> $$ \\frac{dJ}{da} = 7 $$\n",
    "- <!-- derive: r -->\n  $$ \\frac{dJ}{da} = 7 $$\n",
    "1. <!-- derive: r -->\n\n   $$ \\frac{dJ}{da}\n   = 7 $$\n",
    "- item\n  - <!-- derive: r -->\n    $$ \\frac{dJ}{da} = 7 $$\n",
    "> - <!-- derive: r -->\n>   $$ \\frac{dJ}{da} = 7 $$\n",
])
def test_a_markdown_tag_in_a_blockquote_or_list_item_is_read_at_its_columns(tagged):
    text = GRAPH_MD + tagged
    assert has_derive(tagged, "n.md")
    v = _verdicts(text, "n.md")["r"]
    assert (v.verdict, v.counterexample.rhs if v.counterexample else None) == ("refuted", "7")
    assert (v.line, v.column) == _at(text, "\\frac{dJ}")
    bad = text.replace("\\frac{dJ}{da}", "\\frac{dJ}{da} \\frob")
    with pytest.raises(DeriveError, match="unknown LaTeX command") as caught:  # the caret at the notes' column
        check_notes(bad, "n.md", timeout=None)
    assert (caught.value.pos.line, caught.value.pos.column) == _at(bad, "\\frob")


@pytest.mark.parametrize("tagged, message", [
    ("> <!-- derive: r -->\n$$ \\frac{dJ}{da} = 7 $$\n", "not followed by a \\$\\$"),  # the display is out of the quote
    ("- <!-- derive: r -->\n$$ \\frac{dJ}{da} = 7 $$\n", "not followed by a \\$\\$"),  # ... out of the list item
    ("> <!-- derive: r -->\n> $$ \\frac{dJ}{da}\n= 7 $$\n", "not closed with \\$\\$"),
    ("Prose <!-- derive: r --> more.\n\n$$ \\frac{dJ}{da} = 7 $$\n", "on a line of its own"),
    ("<!-- derive: r --> $$ \\frac{dJ}{da} = 7 $$\n", "on a line of its own"),
    ("<!-- derive: r\n-->\n$$ \\frac{dJ}{da} = 7 $$\n", "on a line of its own"),
    ("> <!-- derive: r -->\n> Prose.\n", "not followed by a \\$\\$"),
    ("$$ \\frac{dJ}{da} = 7 \\label{derive:r} $$\n", "read in LaTeX \\(.tex\\) notes only"),
])
def test_a_markdown_tag_that_cannot_be_read_is_bad_input_at_the_tag(tagged, message):
    text = GRAPH_MD + tagged
    assert has_derive(tagged, "n.md")  # such a file is collected, so its error shows
    with pytest.raises(DeriveError, match=message) as caught:
        read_notes(text, "n.md")
    if "not closed" not in message:
        snippet = "\\label" if "label" in tagged else "<!--"
        assert (caught.value.pos.line, caught.value.pos.column) == _at(text, snippet)


def test_derive_check_and_pytest_collect_notes_whose_only_tags_cannot_be_read(tmp_path, capsys, pytester):
    only = "> <!-- derive: r -->\n$$ t = t $$\n"
    (tmp_path / "n.md").write_text(only, encoding="utf-8")
    assert main(["check", str(tmp_path)]) == 2
    assert "n.md:1:3" in capsys.readouterr().err
    pytester.makefile(".md", notes=only)
    result = pytester.runpytest()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["notes.md:1:3: *not followed by*"])


def test_annotate_marks_a_multline_after_its_last_row():
    text = _tex("\\begin{multline}\n\\sigma'(t) = \\sigma(t) \\label{derive:m} \\\\\n- \\sigma(t)^2\n\\end{multline}")
    out = annotate(text, "n.tex", check_notes(text, "n.tex", timeout=None))
    assert "- \\sigma(t)^2\\qquad\\checkmark\n\\end{multline}" in out


@pytest.mark.parametrize("block", ["> ```derive\n> rule r: t = 2t\n> ```\n", "- ```derive\n  rule r: t = 2t\n  ```\n",
                                   "    ```derive\n    rule r: t = 2t\n    ```\n"])
def test_a_derive_block_in_a_blockquote_or_list_item_is_bad_input(block):
    assert has_derive(block, "n.md")
    with pytest.raises(DeriveError, match="a derive block is read at the top level only") as caught:
        read_notes("Prose.\n\n" + block, "n.md")
    assert (caught.value.pos.line, caught.value.pos.column) == _at("Prose.\n\n" + block, "```derive")
