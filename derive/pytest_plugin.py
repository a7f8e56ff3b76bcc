"""pytest plugin: every rule in a .deriv file is a test item.

Installed with derive (entry point `pytest11`, name `derive`; `-p no:derive` turns it off),
so `pytest proofs/` collects each `*.deriv` file and yields one item per rule, node id
`path/file.deriv::rule name`, selectable with `-k`. An item passes when the rule gets the
verdict its file expects (proved; refuted for a `wrong rule`) and fails otherwise, with
`render.render_failure`'s report: the rule as written and what derive found. A file with
bad input is one failing item with the `file:line:col` message and its caret.

This follows pytest's pattern for non-Python tests (doc/en/example/nonpython):
`pytest_collect_file` → a `pytest.File` whose `collect()` yields `pytest.Item`s.

Options: `--derive-timeout S` and the ini setting `derive_timeout` (seconds per rule;
0: no limit), else `verify.DEFAULTS["timeout"]`, as for `derive check`. Each rule is
checked in its own forked child, and a file's declarations are compiled once per process
on collection, so items share no state across pytest-xdist workers.

derive is imported inside the hooks, not at the top: this module is loaded by every
pytest run in an environment where derive is installed, most of which collect no
.deriv file and need not import SymPy.
"""

from __future__ import annotations

import warnings
from collections import Counter

import pytest

SUFFIX = ".deriv"


def pytest_addoption(parser) -> None:
    group = parser.getgroup("derive", "derive rule files (*.deriv)")
    group.addoption("--derive-timeout", type=float, default=None, metavar="S", dest="derive_timeout",
                    help="time limit per rule in seconds (0: none; default: the ini setting derive_timeout, "
                         "else derive's default, as for `derive check`)")
    # A string, parsed below: typed ini values need a newer pytest than derive requires.
    parser.addini("derive_timeout", "time limit per rule in seconds for .deriv files (0: none)", default="")


def pytest_collect_file(file_path, parent):
    if file_path.suffix == SUFFIX:
        return DeriveFile.from_parent(parent, path=file_path)
    return None


_TIMEOUT = pytest.StashKey()


def pytest_configure(config) -> None:
    # Read (and check) the time limit once, so a bad ini value stops the run before any test.
    timeout = config.getoption("derive_timeout")
    text = config.getini("derive_timeout").strip()
    if timeout is None and text:
        try:
            timeout = float(text)
        except ValueError:
            raise pytest.UsageError(f"derive_timeout: not a number of seconds: {text!r}") from None
    config.stash[_TIMEOUT] = timeout


def _timeout(config) -> float:
    """The per-rule time limit: the command line, else the ini setting, else derive's default."""
    if config.stash[_TIMEOUT] is not None:
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
        from .model import load
        from .verify import CompiledDocument

        # The place in messages is the file's node id: the path pytest shows, relative to its rootdir.
        self.filename = self.nodeid
        try:
            self.text = read_rule_file(self.path, self.filename)
            doc = load(self.text, self.filename)
            try:
                self.compiled = CompiledDocument(doc)
            except DeriveError as e:  # raised while compiling declarations: point into the text
                raise e.located(self.filename, self.text) from None
        except DeriveError as e:
            yield BadInputItem.from_parent(self, name="bad input", error=e)
            return
        rules = doc.all_rules()
        for rule, name in zip(rules, _item_names(rules)):
            yield RuleItem.from_parent(self, name=name, rule=rule)


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

        file = self.parent
        with warnings.catch_warnings():
            # Under pytest-xdist the worker has an I/O thread, and Python ≥ 3.12 warns on every
            # fork (limits.py checks each rule in a forked child). The child only computes and
            # writes to its own pipe; were it ever stuck, the time limit would end it and the
            # rule would fail as undecided, never pass. So the warning would only be noise.
            warnings.filterwarnings("ignore", r"This process .* is multi-threaded, use of fork\(\)",
                                    DeprecationWarning)
            verdict = check_rule(self.rule, file.compiled.targets_for(self.rule), file.filename,
                                 _timeout(self.config), source=file.text)
        self.user_properties.extend([("verdict", verdict.verdict), ("how", verdict.how)])  # for --junitxml
        if not verdict.ok:
            raise RuleFailed(verdict)

    def repr_failure(self, excinfo, style=None):
        if isinstance(excinfo.value, RuleFailed):
            from .render import render_failure

            return render_failure(excinfo.value.verdict, self.parent.text)
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
        if excinfo.value is self.error:
            return str(self.error)
        return super().repr_failure(excinfo, style)

    def reportinfo(self):
        line = self.error.pos.line - 1 if self.error.pos else None
        return self.path, line, "bad input"
