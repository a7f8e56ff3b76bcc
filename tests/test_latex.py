"""latex.py: the file's notation in math, Unicode text that pdflatex accepts, and every
file in proofs/ compiled by a real pdflatex without a LaTeX error."""

from __future__ import annotations

import re
import subprocess

import pytest

from derive.latex import latex_of, load_rule, name_latex, render_latex, render_markdown, text
from derive.steps import derive_source
from tests.conftest import PROOFS, mlp, require_program

FILES = sorted(PROOFS.rglob("*.deriv"))
ARTEFACTS = re.compile(r"Indexed|Derivative|Subs\(|Dummy|UnevaluatedExpr|\\partial\s*/|\*\*|∂|σ|δ|⊙|ᵀ|−")


@pytest.mark.parametrize("source, expected", [
    ("rule r: δˡ = ((W^{l+1})ᵀ δ^{l+1}) ⊙ σ'(zˡ)",
     r"\left(\left(W^{l + 1}\right)^{\top} \, \delta^{l + 1}\right) \odot \sigma'\left(z^{l}\right)"),
    ("rule r: ∂C/∂wˡⱼₖ = aˡ⁻¹ₖ δˡⱼ", r"a^{l - 1}_{k} \, \delta^{l}_{j}"),
    ("rule r: f = ½‖y − aᴸ‖²", r"\tfrac{1}{2} \, \left\|y - a^{L}\right\|^{2}"),
    ("rule r: f = Σ_k w^{l+1}_kj δ^{l+1}_k", r"\sum_{k} w^{l + 1}_{kj} \, \delta^{l + 1}_{k}"),
])
def test_rules_print_in_the_files_notation(source, expected):
    assert latex_of(load_rule(source).rhs) == expected


def test_derivation_symbols_print_as_scripts_and_deltas():
    [d] = derive_source(mlp("rule BP1: δᴸ = (aᴸ − y) ⊙ σ'(zᴸ)"), timeout=None)
    printed = [latex_of(line.expr, d.notation) for line in d.lines]
    assert printed[0] == r"\delta^{2}_{1}"
    assert r"\frac{\partial C}{\partial a^{2}_{1}} \sigma'\left(z^{2}_{1}\right)" == printed[3]
    assert not any(ARTEFACTS.search(p) for p in printed)


@pytest.mark.parametrize("raw, expected", [
    ("σ' = σ(1−σ)", r"$\sigma$' = $\sigma$(1$-$$\sigma$)"),
    ("δᴸ = aᴸ − y", r"$\delta$$^{L}$ = a$^{L}$ $-$ y"),
    ("50% & #1_x {a}", r"50\% \& \#1\_x \{a\}"),
    ("softmax([z₁, z₂])₁", r"softmax([z$_{1}$, z$_{2}$])$_{1}$"),
    ("ŷ", r"$\hat{y}$"),
])
def test_text_maps_unicode_to_latex(raw, expected):
    assert text(raw) == expected


def test_names_in_math():
    assert [name_latex(n) for n in ("σ", "w1", "ŷ", "loss", "Δ")] == [r"\sigma", "w_{1}", r"\hat{y}", r"\mathit{loss}",
                                                                      r"\Delta"]


def test_every_proof_file_compiles_with_pdflatex(tmp_path):
    pdflatex = require_program("pdflatex", "DERIVE_NO_TEX")
    documents = [(str(path.relative_to(PROOFS.parent)), derive_source(path.read_text(encoding="utf-8"),
                                                                      str(path), timeout=None)) for path in FILES]
    tex = render_latex(documents)
    assert not ARTEFACTS.search(tex.split(r"\begin{document}", 1)[1]), ARTEFACTS.search(tex).group(0)
    (tmp_path / "proofs.tex").write_text(tex, encoding="utf-8")
    done = subprocess.run([pdflatex, "-interaction=nonstopmode", "-halt-on-error", "proofs.tex"], cwd=tmp_path,
                          capture_output=True, text=True, errors="replace", timeout=300)
    errors = [line for line in done.stdout.splitlines() if line.startswith("!")]
    assert done.returncode == 0 and not errors, "\n".join(errors or done.stdout.splitlines()[-20:])
    assert (tmp_path / "proofs.pdf").stat().st_size > 10_000
    # the wrong-on-purpose files show flagged steps and counterexample tables
    assert r"\flag{wrong step}" in tex and r"\textbf{input} & \textbf{value}" in tex


def test_markdown_uses_dollar_math_and_marks_wrong_steps():
    ds = derive_source("rule ok: tanh(t) = 2σ(2t) − 1\nwrong rule bad: tanh'(t) = 1 − tanh(t)\n", timeout=None)
    md = render_markdown([("f.deriv", ds)])
    assert "$$\n\\begin{aligned}" in md and "&\\neq" in md and "**wrong step**" in md
    assert "| $t$ |" in md  # the counterexample table


def test_notebook_display_of_a_report_and_a_derivation():
    import derive

    report = derive.check_source("rule ok: tanh(t) = 2σ(2t) − 1\nrule bad: tanh'(t) = 1 − tanh(t)\n", timeout=None)
    page = report._repr_html_()
    assert page.count("<h4>") == 2 and "<td>refuted</td>" in page and "\\begin{aligned}" in page
    assert "&amp;\\neq" in page and "wrong step" in page
    md = report._repr_markdown_()
    assert md.startswith("| rule | verdict |") and "$$" in md
    [d] = derive_source("rule ok: tanh(t) = 2σ(2t) − 1\n", timeout=None)
    assert d._repr_markdown_().startswith("### ok")


def test_unverified_steps_are_never_printed_as_plain_equalities():
    from derive.latex import derivation_latex, derivation_markdown
    from derive.model import load
    from derive.steps import derive_rule
    from derive.verify import CompiledDocument

    doc = load(mlp("rule BP1: δᴸ = (aᴸ − y) ⊙ σ'(zᴸ)"))
    [rule] = doc.all_rules()
    d = derive_rule(rule, CompiledDocument(doc).targets_for(rule), timeout=1e-6)  # nothing gets checked
    for page in (derivation_latex(d), derivation_markdown(d)):
        assert "&=" not in page and page.count(r"&\overset{?}{=}") == len(d.lines) - 1
        assert "not verified" in page
