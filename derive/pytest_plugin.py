"""pytest plugin: every rule in a .deriv file is a test item.

Installed with derive (entry point `pytest11`, name `derive`; `-p no:derive` turns it off),
so `pytest proofs/` collects each `*.deriv` file and yields one item per rule, node id
`path/file.deriv::rule name`, selectable with `-k`. An item passes when the rule gets the
verdict its file expects (proved; refuted for a `wrong rule`) and fails otherwise, with
`render.render_failure`'s report: the rule as written and what derive found. A file with
bad input is one failing item with the `file:line:col` message and its caret.

Notes (derive.notes) are collected too: a Markdown (.md) or LaTeX (.tex) file that holds a
derive block or a tagged equation gives one item per rule, at the notes' own lines; a .md or
.tex file without one (a README) is never read further. The ini setting `derive_notes = false`
turns this off.

This follows pytest's pattern for non-Python tests (doc/en/example/nonpython):
`pytest_collect_file` → a `pytest.File` whose `collect()` yields `pytest.Item`s.

Options: `--derive-timeout S` and the ini setting `derive_timeout` (seconds per rule;
none: no limit), else `verify.DEFAULTS["timeout"]`, as for `derive check`. Each rule is
checked in its own forked child, and a file's declarations are compiled once per process
on collection, so items share no state across pytest-xdist workers.

derive is imported inside the hooks, not at the top: this module is loaded by every
pytest run in an environment where derive is installed, most of which collect no
.deriv file and need not import SymPy.
"""

from __future__ import annotations

import warnings
from collections import Counter
from typing import cast

import pytest

SUFFIX = ".deriv"


def pytest_addoption(parser) -> None:
    group = parser.getgroup("derive", "derive rule files (*.deriv)")
    group.addoption("--derive-timeout", default=None, metavar="S", dest="derive_timeout",
                    help="time limit in seconds per rule, and for reading and compiling each file (none: no "
                         "limit; default: the ini setting derive_timeout, else derive's default, as for "
                         "`derive check`)")
    # A string, parsed below: typed ini values need a newer pytest than derive requires.
    parser.addini("derive_timeout", "time limit per rule in seconds for .deriv files (none: no limit)", default="")
    parser.addini("derive_notes", "collect Markdown (.md) and LaTeX (.tex) notes that hold a derive block or a "
                                  "tagged equation: true (the default) or false", default="true")


def pytest_collect_file(file_path, parent):
    if file_path.suffix == SUFFIX:
        return DeriveFile.from_parent(parent, path=file_path)
    if file_path.suffix in NOTES_SUFFIXES and _notes_wanted(parent.config) and _is_notes(file_path):
        return NotesFile.from_parent(parent, path=file_path)
    return None


NOTES_SUFFIXES = (".md", ".tex")  # derive.notes.SUFFIXES, without importing derive for every file


def _notes_wanted(config) -> bool:
    return config.stash.get(_NOTES, True)


def _is_notes(path) -> bool:
    """A notes file for derive: it holds a derive block or a tagged equation (one that only
    shows such a block inside another code block, as a README may, is not)."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError):
        return False
    from .errors import DeriveError
    from .notes import has_derive, read_notes

    if not has_derive(text, path.name):
        return False
    try:
        notes = read_notes(text, path.name)
    except DeriveError:
        return True  # a tag that cannot be read: collected, so its message is shown
    return bool(notes.chunks or notes.equations)


_TIMEOUT: pytest.StashKey[float | None | str] = pytest.StashKey()
_NOTES: pytest.StashKey[bool] = pytest.StashKey()


def pytest_configure(config) -> None:
    # Read (and check) the time limit once, so a bad value stops the run before any test.
    from .limits import seconds

    option = config.getoption("derive_timeout")
    text = config.getini("derive_timeout").strip()
    where, value = ("--derive-timeout", option) if option is not None else ("derive_timeout", text)
    timeout: float | None | str = "default"
    if value:
        try:
            timeout = seconds(value)
        except ValueError as e:
            raise pytest.UsageError(f"{where}: {e}") from None
    config.stash[_TIMEOUT] = timeout
    notes = config.getini("derive_notes").strip().lower()
    if notes not in ("true", "false"):
        raise pytest.UsageError(f"derive_notes: write true or false, not {notes!r}")
    config.stash[_NOTES] = notes == "true"


def _timeout(config) -> float | None:
    """The per-rule time limit: the command line, else the ini setting, else derive's default."""
    if config.stash[_TIMEOUT] != "default":
        return config.stash[_TIMEOUT]
    from .verify import DEFAULTS

    return DEFAULTS["timeout"]


def _item_names(rules: list) -> list:
    """Item names: the rule's name; `name[block]` where blocks of one file share a rule name
    (node ids must be unique; `file::name` still selects them all, as for parameters)."""
    count = Counter(r.name for r in rules)
    # pytest splits a command-line node id at "::" (before any "["), so a rule name holding
    # "::" would not select its own item; every other character keeps its meaning.
    return [(f"{r.name}[{r.context or 'top level'}]" if count[r.name] > 1 else r.name).replace("::", ": :")
            for r in rules]


class DeriveFile(pytest.File):
    """A .deriv file: parsed and compiled once, then one item per rule in file order."""

    def collect(self):
        from .api import read_rule_file
        from .errors import DeriveError
        from .generic import GenericDocument, has_generic
        from .limits import time_box
        from .syntax import parser
        from .verify import CompiledDocument, cross_check_all

        # The place in messages is the file's node id: the path pytest shows, relative to its rootdir.
        self.filename = self.nodeid
        self.text = ""
        parser()  # built once per process: start-up, not a part of this file's time
        try:
            with time_box(_timeout(self.config), self.filename):  # reading and compiling, as for `derive check`
                self.text = read_rule_file(self.path, self.filename)
                doc = self.load(self.text)
                try:
                    self.compiled = CompiledDocument(doc)
                    self.generic = GenericDocument(doc) if has_generic(doc) else None  # `function f(t)`
                except DeriveError as e:  # raised while compiling declarations: point into the text
                    raise e.located(self.filename, self.text) from None
                # Once per graph, here: every rule's check (a forked child) inherits the result.
                cross_check_all(list({id(c): c for r in doc.all_rules()
                                      for c in self.compiled.targets_for(r)}.values()))
        except DeriveError as e:
            yield BadInputItem.from_parent(self, name="bad input", error=e)
            return
        except RecursionError:
            error = DeriveError("too deeply nested to check (Python's recursion limit)", filename=self.filename)
            yield BadInputItem.from_parent(self, name="bad input", error=error)
            return
        except Exception as e:  # noqa: BLE001 - a bug in derive: this file's one failing item, never the whole session's end
            yield BadInputItem.from_parent(self, name="internal error", error=e)
            return
        rules = doc.all_rules()
        for rule, name in zip(rules, _item_names(rules)):
            yield RuleItem.from_parent(self, name=name, rule=rule)


    def load(self, text: str):
        from .model import load

        return load(text, self.filename)


class NotesFile(DeriveFile):
    """A Markdown or LaTeX notes file (derive.notes): its tagged equations and the rules of its
    derive blocks are the items, at the notes' own lines."""

    def load(self, text: str):
        from .notes import load_notes

        doc = load_notes(text, self.filename)
        self.text = doc.source  # the notes as every position refers to them
        return doc


class RuleFailed(Exception):
    """A rule did not get the verdict its file expects."""

    def __init__(self, verdict):
        super().__init__(verdict.rule)
        self.verdict = verdict


class RuleItem(pytest.Item):
    """One rule: passes when its verdict is the one its file expects (`Verdict.ok`)."""

    def __init__(self, *, rule, **kwargs):
        super().__init__(**kwargs)
        self.rule = rule

    def runtest(self) -> None:
        from .verify import check_rule

        file = cast(DeriveFile, self.parent)
        with warnings.catch_warnings():
            # Under pytest-xdist the worker has an I/O thread, and Python ≥ 3.12 warns on every
            # fork (limits.py checks each rule in a forked child). The child only computes and
            # writes to its own pipe; were it ever stuck, the time limit would end it and the
            # rule would fail as undecided, never pass. So the warning would only be noise.
            warnings.filterwarnings("ignore", r"This process .* is multi-threaded, use of fork\(\)",
                                    DeprecationWarning)
            if file.generic is not None:  # functions with no body: at instances and for every f
                verdict = file.generic.check(self.rule, _timeout(self.config))
            else:
                verdict = check_rule(self.rule, file.compiled.targets_for(self.rule), file.filename,
                                     _timeout(self.config), source=file.text)
        self.user_properties.extend([("verdict", str(verdict.verdict)), ("how", str(verdict.how)),
                                     ("scope", str(verdict.scope))])  # for --junitxml
        if not verdict.ok:
            raise RuleFailed(verdict)

    def repr_failure(self, excinfo, style=None):
        if isinstance(excinfo.value, RuleFailed):
            from .render import render_failure

            return render_failure(excinfo.value.verdict, cast(DeriveFile, self.parent).text)
        return super().repr_failure(excinfo, style)  # a bug in derive keeps its traceback

    def reportinfo(self):
        return self.path, self.rule.pos.line - 1, f"rule {self.rule.name}"


class BadInputItem(pytest.Item):
    """A file that does not parse or declares something impossible: one failing item."""

    def __init__(self, *, error, **kwargs):
        super().__init__(**kwargs)
        self.error = error

    def runtest(self) -> None:
        raise self.error

    def repr_failure(self, excinfo, style=None):
        from .errors import DeriveError

        if excinfo.value is self.error and isinstance(self.error, DeriveError):
            return str(self.error)
        return super().repr_failure(excinfo, style)  # a bug in derive keeps its traceback

    def reportinfo(self):
        pos = getattr(self.error, "pos", None)
        return self.path, pos.line - 1 if pos else None, self.name
