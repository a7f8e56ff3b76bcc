"""The `derive latex` and `derive graph` commands: checked derivations as a document
(LaTeX, optionally compiled to PDF, or Markdown) and pictures of graphs and networks.

Outside programs are looked up, never assumed: `--pdf` needs pdflatex (or latexmk),
pictures need Graphviz's `dot`; a missing one is named in a one-line message, exit 3.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import graphviz

from .api import read_rule_file
from .errors import DeriveError
from .latex import render_latex, render_markdown
from .model import load
from .pictures import pictures, picture
from .steps import derive_source
from .verify import DEFAULTS

TEX_HINT = "install TeX Live (Debian: apt-get install texlive-latex-base)"
DOT_HINT = "install Graphviz (Debian: apt-get install graphviz)"


def add_commands(sub) -> None:
    latex = sub.add_parser("latex", help="write the checked derivation of every rule as LaTeX (or Markdown)",
                           description="Write a document with, per rule, the definitions, the rule, its "
                                       "derivation with every step checked, and the verdict (a refuted "
                                       "rule's counterexample as a table). Exit codes as for check; 3 when "
                                       "a needed program is missing.")
    latex.add_argument("paths", nargs="+", metavar="PATH", help="rule files or folders holding *.deriv files")
    latex.add_argument("-o", "--output", required=True, metavar="OUT", help="the file to write (out.tex, out.md)")
    latex.add_argument("--format", choices=("tex", "md"), default=None,
                       help="tex (default) or md: Markdown with $…$ math; default from OUT's suffix")
    latex.add_argument("--pdf", action="store_true", help="also compile the LaTeX to PDF (pdflatex or latexmk)")
    latex.add_argument("--with-graphs", action="store_true",
                       help="include a picture of every graph and network (needs Graphviz's dot)")
    latex.add_argument("--timeout", type=float, default=DEFAULTS["timeout"], metavar="S",
                       help=f"time limit per rule check in seconds (default {DEFAULTS['timeout']:g}; 0: none)")
    latex.add_argument("-k", dest="select", metavar="TEXT", help="only rules whose name contains TEXT")
    latex.set_defaults(run=run_latex)
    graph = sub.add_parser("graph", help="draw a computation graph or a network's layer graph (Graphviz)",
                           description="Draw the computation graph (inputs, operations, forward values and "
                                       "backward derivatives) or a network's layer graph with δ flowing "
                                       "back. The format follows OUT's suffix: .svg, .pdf, .png or .dot.")
    graph.add_argument("path", metavar="FILE", help="a .deriv file")
    which = graph.add_mutually_exclusive_group()
    which.add_argument("--graph", metavar="NAME", help="the graph or network to draw (default: the first)")
    which.add_argument("--rule", metavar="NAME", help="draw the graph or network this rule belongs to")
    graph.add_argument("-o", "--output", required=True, metavar="OUT", help="the file to write (out.svg)")
    graph.set_defaults(run=run_graph)


def _missing(program: str, hint: str) -> int:
    from .cli import EXIT_MISSING_PROGRAM

    print(f"derive: '{program}' was not found on PATH: {hint}", file=sys.stderr)
    return EXIT_MISSING_PROGRAM


def run_latex(args) -> int:
    from .cli import EXIT_BAD_INPUT, EXIT_FAILED, EXIT_OK, rule_files

    out = Path(args.output)
    fmt = args.format or ("md" if out.suffix.lower() in (".md", ".markdown") else "tex")
    if args.pdf and fmt != "tex":
        print("derive: --pdf needs LaTeX output (--format tex)", file=sys.stderr)
        return EXIT_BAD_INPUT
    compiler = shutil.which("pdflatex") or shutil.which("latexmk")
    if args.pdf and compiler is None:
        return _missing("pdflatex", "--pdf needs pdflatex or latexmk; " + TEX_HINT)
    if args.with_graphs and shutil.which("dot") is None:
        return _missing("dot", "--with-graphs needs it; " + DOT_HINT)
    files = rule_files(args.paths)
    if not files:
        print(f"{' '.join(args.paths)}: error: no .deriv files found", file=sys.stderr)
        return EXIT_BAD_INPUT
    out.parent.mkdir(parents=True, exist_ok=True)
    documents, images, bad = [], {}, False
    select = (lambda r: args.select in r.name) if args.select else None
    for path in files:
        try:
            text = read_rule_file(path)
            derivations = derive_source(text, str(path), timeout=args.timeout, select=select)
        except DeriveError as e:
            print(e, file=sys.stderr)
            bad = True
            continue
        documents.append((str(path), derivations))
        if args.with_graphs:
            images[str(path)] = _draw_all(load(text, str(path)), out, len(documents), fmt)
    if bad:
        return EXIT_BAD_INPUT
    out.write_text(render_latex(documents, images) if fmt == "tex" else render_markdown(documents, images),
                   encoding="utf-8")
    print(f"wrote {out}")
    if args.pdf:
        code = compile_pdf(out, compiler)
        if code:
            return code
    verdicts = [d.verdict for _, ds in documents for d in ds if d.verdict is not None]
    return EXIT_OK if all(v.ok for v in verdicts) else EXIT_FAILED


def _draw_all(doc, out: Path, number: int, fmt: str) -> list:
    """Pictures of the file's blocks beside OUT: PDF for LaTeX, SVG for Markdown."""
    suffix = "pdf" if fmt == "tex" else "svg"
    made = []
    for pic in pictures(doc):
        target = out.with_name(f"{out.stem}-{number}-{pic.digraph.name}.{suffix}")
        pic.save(target)
        made.append((pic.title, target.name))
    return made


def compile_pdf(tex: Path, compiler: str) -> int:
    """Run pdflatex (or latexmk -pdf) in the document's folder; print its first error."""
    from .cli import EXIT_FAILED

    if Path(compiler).name == "latexmk":
        command = [compiler, "-pdf", "-interaction=nonstopmode", "-halt-on-error", tex.name]
    else:
        command = [compiler, "-interaction=nonstopmode", "-halt-on-error", tex.name]
    done = subprocess.run(command, cwd=tex.parent.resolve(), capture_output=True, text=True, errors="replace")
    if done.returncode != 0:
        lines = done.stdout.splitlines()
        first = next((i for i, line in enumerate(lines) if line.startswith("!")), max(0, len(lines) - 10))
        print(f"derive: {Path(compiler).name} failed on {tex}:\n" + "\n".join(lines[first:first + 8]),
              file=sys.stderr)
        return EXIT_FAILED
    print(f"wrote {tex.with_suffix('.pdf')}")
    return 0


def run_graph(args) -> int:
    from .cli import EXIT_BAD_INPUT, EXIT_OK

    path = Path(args.path)
    try:
        doc = load(read_rule_file(path), str(path))
        pic = picture(doc, graph=args.graph, rule=args.rule)
    except DeriveError as e:
        print(e, file=sys.stderr)
        return EXIT_BAD_INPUT
    except LookupError as e:
        print(f"{path}: error: {e.args[0]}", file=sys.stderr)
        return EXIT_BAD_INPUT
    out = Path(args.output)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        pic.save(out)
    except graphviz.ExecutableNotFound:
        return _missing("dot", DOT_HINT)
    print(f"wrote {out}")
    return EXIT_OK
