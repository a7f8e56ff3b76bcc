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
from .limits import LIMITS, time_box
from .model import load
from .pictures import picture, pictures
from .steps import derive_source
from .syntax import parser
from .verify import DEFAULTS
from .vocabulary import How

TEX_HINT = "install TeX Live (Debian: apt-get install texlive-latex-base)"
DOT_HINT = "install Graphviz (Debian: apt-get install graphviz)"


LATEX_SUFFIXES = {".tex": "tex", ".md": "md", ".markdown": "md"}
GRAPH_SUFFIXES = (".svg", ".pdf", ".png", ".dot", ".gv")


def timeout_option(text: str):
    from .cli import timeout_option as option  # one definition, the CLI's

    return option(text)


def path_argument(text: str) -> str:
    from .cli import path_argument as argument

    return argument(text)


def _output(out: str, suffixes, formats: str, given_format: bool = False) -> str | None:
    """Why OUT cannot be written to (a folder, an unknown suffix), or None."""
    path = Path(out)
    if out.endswith(("/", "\\")) or path.is_dir():
        return f"{out}: error: -o names a folder; give a file to write ({formats})"
    if path.exists() and not path.is_file():
        return f"{out}: error: -o names something that is not a regular file; give a file to write ({formats})"
    if not given_format and path.suffix.lower() not in suffixes:
        what = f"suffix {path.suffix!r}" if path.suffix else "no suffix"
        return f"{out}: error: cannot tell the format to write from {what}: use {formats}"
    return None


def _write_error(out, e: OSError) -> str:
    return f"{out}: error: cannot write: {e.strerror or e}"


def add_commands(sub) -> None:
    latex = sub.add_parser("latex", help="write the checked derivation of every rule as LaTeX (or Markdown)",
                           description="Write a document with, per rule, the definitions, the rule, its "
                                       "derivation with every step checked, and the verdict (a refuted "
                                       "rule's counterexample as a table). Exit codes as for check; 3 when "
                                       "a needed program is missing.")
    latex.add_argument("paths", nargs="+", metavar="PATH", type=path_argument,
                       help="rule files or folders holding *.deriv files")
    latex.add_argument("-o", "--output", required=True, metavar="OUT", type=path_argument,
                       help="the file to write (out.tex, out.md)")
    latex.add_argument("--format", choices=("tex", "md"), default=None,
                       help="tex (default) or md: Markdown with $…$ math; default from OUT's suffix")
    latex.add_argument("--pdf", action="store_true", help="also compile the LaTeX to PDF (pdflatex or latexmk)")
    latex.add_argument("--with-graphs", action="store_true",
                       help="include a picture of every graph and network (needs Graphviz's dot)")
    latex.add_argument("--timeout", type=timeout_option, default=DEFAULTS["timeout"], metavar="S",
                       help=f"time limit in seconds per rule check, and for reading and compiling each file "
                            f"(default {DEFAULTS['timeout']:g}, at most {LIMITS['timeout_s']}; none: no limit)")
    latex.add_argument("-k", dest="select", metavar="TEXT", help="only rules whose name contains TEXT")
    latex.set_defaults(run=run_latex)
    graph = sub.add_parser("graph", help="draw a computation graph or a network's layer graph (Graphviz)",
                           description="Draw the computation graph (inputs, operations, forward values and "
                                       "backward derivatives) or a network's layer graph with δ flowing "
                                       "back. The format follows OUT's suffix: .svg, .pdf, .png or .dot.")
    graph.add_argument("path", metavar="FILE", type=path_argument, help="a .deriv file")
    which = graph.add_mutually_exclusive_group()
    which.add_argument("--graph", metavar="NAME", help="the graph or network to draw (default: the first)")
    which.add_argument("--rule", metavar="NAME", help="draw the graph or network this rule belongs to")
    graph.add_argument("-o", "--output", required=True, metavar="OUT", type=path_argument,
                       help="the file to write (out.svg)")
    graph.set_defaults(run=run_graph)


def _missing(program: str, hint: str) -> int:
    from .cli import EXIT_MISSING_PROGRAM

    print(f"derive: '{program}' was not found on PATH: {hint}", file=sys.stderr)
    return EXIT_MISSING_PROGRAM


def run_latex(args) -> int:
    from .cli import EXIT_BAD_INPUT, EXIT_FAILED, EXIT_OK, rule_files

    problem = _output(args.output, LATEX_SUFFIXES, ".tex or .md, or --format", args.format is not None)
    if problem:
        print(problem, file=sys.stderr)
        return EXIT_BAD_INPUT
    out = Path(args.output)
    fmt = args.format or LATEX_SUFFIXES[out.suffix.lower()]
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
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        print(_write_error(out, e), file=sys.stderr)
        return EXIT_BAD_INPUT
    documents, images, bad = [], {}, False
    parser()  # built once per process: start-up, not a part of any file's time
    select = (lambda r: args.select in r.name) if args.select else None
    for path in files:
        try:
            with time_box(args.timeout, str(path)):  # reading and compiling; each rule check has its own limit
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
    try:
        out.write_text(render_latex(documents, images) if fmt == "tex" else render_markdown(documents, images),
                       encoding="utf-8")
    except OSError as e:
        print(_write_error(out, e), file=sys.stderr)
        return EXIT_BAD_INPUT
    print(f"wrote {out}")
    if args.pdf and compiler is not None:  # compiler is None only without --pdf (returned above)
        code = compile_pdf(out, compiler)
        if code:
            return code
    verdicts = [d.verdict for _, ds in documents for d in ds if d.verdict is not None]
    if any(How(v.how) is How.BAD_INPUT for v in verdicts):  # as for check
        return EXIT_BAD_INPUT
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
    from .cli import EXIT_BAD_INPUT, EXIT_FAILED, EXIT_OK

    path = Path(args.path)
    problem = _output(args.output, GRAPH_SUFFIXES, ", ".join(GRAPH_SUFFIXES))
    if problem:
        print(problem, file=sys.stderr)
        return EXIT_BAD_INPUT
    text = ""
    try:
        with time_box(DEFAULTS["timeout"], str(path)):
            text = read_rule_file(path)
            doc = load(text, str(path))
            pic = picture(doc, graph=args.graph, rule=args.rule)
    except DeriveError as e:  # compiling may raise too: point into this file
        print(e.located(str(path), text) if text else e, file=sys.stderr)
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
    except OSError as e:
        print(_write_error(out, e), file=sys.stderr)
        return EXIT_BAD_INPUT
    except (graphviz.CalledProcessError, RuntimeError) as e:  # dot itself failed
        print(f"{out}: error: Graphviz could not draw it: {e}", file=sys.stderr)
        return EXIT_FAILED
    print(f"wrote {out}")
    return EXIT_OK
