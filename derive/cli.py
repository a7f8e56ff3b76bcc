"""The `derive` command: check rule files and notes and report verdicts (`derive check`), or show
what backprop saves over finite differences (`derive cost`).

Exit codes: 0 when every verdict is the one the file expects, 1 otherwise, 2 on bad
input (a file that does not parse or declares something impossible), 3 when a program
that `derive latex --pdf` or `derive graph` needs (pdflatex/latexmk, dot) is missing.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from . import __version__
from .api import check_source, read_rule_file
from .cost import document_costs, render_costs
from .errors import DeriveError
from .limits import LIMITS, seconds, time_box
from .model import load
from .notes import SUFFIXES as NOTES
from .notes import annotate, check_notes, has_derive
from .render import render_json, render_text
from .verify import DEFAULTS
from .vocabulary import How

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT, EXIT_MISSING_PROGRAM = 0, 1, 2, 3


def rule_files(paths: list, notes: bool = False) -> list:
    """The .deriv files named or found (recursively, sorted) under the given paths; with
    `notes`, also the .md and .tex notes found there that hold a derive block or tag."""
    found = []
    for p in map(Path, paths):
        if p.is_dir():
            found.extend(sorted(f for f in p.rglob("*") if f.is_file() and (
                f.suffix == ".deriv" or notes and f.suffix in NOTES and _is_notes(f))))
        else:
            found.append(p)
    return found


def _is_notes(path: Path) -> bool:
    """A .md or .tex file found in a folder: checked when it holds a derive block or tag."""
    try:
        return has_derive(path.read_text(encoding="utf-8-sig", errors="replace")[:LIMITS["file_bytes"]], path.name)
    except OSError:
        return False


def path_argument(text: str) -> str:
    """A PATH argument: not empty (an empty one would be read as the current folder)."""
    if not text.strip():
        raise argparse.ArgumentTypeError("an empty path")
    return text


def timeout_option(text: str) -> float | None:
    """--timeout S: a positive finite number of seconds, or none (argparse: a bad value is exit 2)."""
    try:
        return seconds(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="derive",
        description="Check hand-stated neural-network calculus rules against derivations made with SymPy.",
        epilog="example: derive check proofs/    exit codes: 0 every verdict as the file expects, "
               "1 otherwise, 2 bad input, 3 a needed program (pdflatex, dot) missing")
    parser.add_argument("--version", action="version", version=f"derive {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    check = sub.add_parser("check", help="check rule files (.deriv) and notes (.md, .tex); a verdict per rule",
                           description="Check every rule in the given .deriv files, Markdown or LaTeX notes "
                                       "(their derive blocks and tagged display equations) or folders. Each rule is "
                                       "proved (symbolically), refuted (with a counterexample or a shape "
                                       "mismatch) or undecided (time limit, or not shown). Exit 0 when every "
                                       "verdict is the expected one, 1 otherwise, 2 on bad input.")
    check.add_argument("paths", nargs="+", metavar="PATH", type=path_argument,
                       help="rule files, notes (.md, .tex) or folders holding *.deriv files "
                            "(and notes with a derive block)")
    check.add_argument("--annotate", metavar="OUT", type=path_argument,
                       help="write the notes (.md, .tex) back to OUT with a mark per checked equation: ✓ proved, "
                            "✗ refuted (a footnote holds the counterexample), ? otherwise; OUT is a file for "
                            "one notes file, else a folder (written when no file has bad input)")
    check.add_argument("--json", action="store_true", help="print a JSON list of verdicts instead of a table")
    check.add_argument("--timeout", type=timeout_option, default=DEFAULTS["timeout"], metavar="S",
                       help=f"time limit in seconds per rule, and for reading and compiling each file "
                            f"(default {DEFAULTS['timeout']:g}, at most {LIMITS['timeout_s']}; none: no limit)")
    check.add_argument("-k", dest="select", metavar="TEXT", help="only rules whose name contains TEXT")
    check.add_argument("-v", "--verbose", action="store_true", help="full details, and debug logging")
    check.add_argument("--numeric", action="store_true",
                       help="also compare every derived gradient with central differences at random points "
                            "and report the largest relative error per rule (numeric evidence, never a proof)")
    cost = sub.add_parser("cost", help="forward passes and operations: finite differences against backprop",
                          description="For each network declared in the files: the number of forward passes "
                                      "finite differences need for the gradient (P + 1 one-sided, 2P central) "
                                      "against one forward and one backward pass for backprop, with SymPy "
                                      "operation counts of the derived forward and backward expressions.")
    cost.add_argument("paths", nargs="+", metavar="FILE", type=path_argument,
                      help="rule files or folders holding *.deriv files")
    from . import publish  # the latex and graph commands live in their own module

    publish.add_commands(sub)
    return parser


def _cost(args) -> int:
    """`derive cost FILE…`: a table per file; exit 2 on bad input."""
    status = EXIT_OK
    files = rule_files(args.paths)
    if not files:
        print(DeriveError("no .deriv files found", filename=" ".join(args.paths)), file=sys.stderr)
        return EXIT_BAD_INPUT
    for path in files:
        text = ""
        try:
            with time_box(DEFAULTS["timeout"], str(path)):
                text = read_rule_file(path)
                doc = load(text, str(path))
                print(render_costs(document_costs(doc), str(path)))
        except DeriveError as e:  # compiling may raise too: point into this file
            print(e.located(str(path), text) if text else e, file=sys.stderr)
            status = EXIT_BAD_INPUT
    return status


def _write_annotated(out: Path, annotated: list) -> list:
    """`check --annotate OUT`: the annotated notes written to OUT (a file for one notes file,
    else a folder); the errors (bad input) it met."""
    if not annotated:
        return [DeriveError("--annotate: no notes (.md, .tex) among the files checked", filename=str(out))]
    if len(annotated) > 1 or out.is_dir():
        out.mkdir(parents=True, exist_ok=True)
        targets = [(out / path.name, text) for path, text in annotated]
    else:
        targets = [(out, annotated[0][1])]
    errors = []
    for target, text in targets:
        try:
            target.write_text(text, encoding="utf-8")
        except OSError as e:
            errors.append(DeriveError(f"--annotate: cannot write: {e.strerror or e}", filename=str(target)))
    return errors


def main(argv: list | None = None) -> int:
    try:
        return _main(argv)
    except BrokenPipeError:  # output piped into `head` and closed: not an error of ours
        sys.stderr.close()
        return EXIT_OK
    except KeyboardInterrupt:
        return 130
    except RecursionError:  # a last net: parse refuses deep nesting first (limits.LIMITS["nesting"])
        print("derive: error: the input is too deeply nested to check (Python's recursion limit)", file=sys.stderr)
        return EXIT_BAD_INPUT
    except MemoryError:
        print("derive: error: out of memory while reading or compiling the input", file=sys.stderr)
        return EXIT_BAD_INPUT


def _main(argv: list | None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if getattr(args, "verbose", False) else logging.WARNING,
                        format="%(name)s: %(message)s")
    if args.command == "cost":
        return _cost(args)
    if args.command != "check":
        return args.run(args)
    files = rule_files(args.paths, notes=True)
    verdicts: list = []
    errors: list = []
    annotated: list = []
    for path in files:
        if not path.exists():
            errors.append(DeriveError("no such file or folder", filename=str(path)))
            continue
        check = check_notes if path.suffix in NOTES else check_source
        try:
            text = read_rule_file(path)
            report = check(text, str(path), timeout=args.timeout, numeric=args.numeric,
                           select=(lambda r: args.select in r.name) if args.select else None)
            verdicts.extend(report)
            if args.annotate and path.suffix in NOTES:
                annotated.append((path, annotate(text, str(path), report)))
        except DeriveError as e:
            errors.append(e)
    if args.annotate and not errors:
        errors.extend(_write_annotated(Path(args.annotate), annotated))
    if not files:
        errors.append(DeriveError("no .deriv files (or notes with a derive block) found",
                                  filename=" ".join(args.paths)))
    if args.json:
        print(render_json(verdicts, errors))
    else:
        print(render_text(verdicts, errors, verbose=args.verbose))
        for error in errors:
            print(error, file=sys.stderr)
    if errors or any(How(v.how) is How.BAD_INPUT for v in verdicts):
        return EXIT_BAD_INPUT
    return EXIT_OK if all(v.ok for v in verdicts) else EXIT_FAILED


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
