"""The Python entry points: check a file or a text, get a `Report` (a list of `Verdict`s);
or assert, inside an ordinary test function, that its rules get the verdicts they expect."""

from __future__ import annotations

import dataclasses
import os
import stat
from pathlib import Path

from .errors import DeriveError
from .limits import LIMITS, seconds, time_box
from .model import load
from .render import render_failure, summary
from .syntax import parser
from .verify import DEFAULTS, Verdict, check_document
from .vocabulary import Expected


class Report(list):
    """The verdicts of one checked file or text, in file order (a `list` of `Verdict`).

    >>> r = check_source("rule r: tanh(t) = 2σ(2t) − 1", timeout=None)
    >>> r.ok, r["r"].verdict, len(r)
    (True, 'proved', 1)
    """

    def __init__(self, verdicts=(), filename: str = "<input>", source: str = ""):
        super().__init__(verdicts)
        self.filename = filename
        self.source = source
        self._derivations: list | None = None
        self.notes = False  # the text is Markdown or LaTeX notes (derive.notes), not .deriv text

    @property
    def ok(self) -> bool:
        """True when every rule got the verdict its file expects."""
        return all(v.ok for v in self)

    @property
    def failures(self) -> list:
        """The verdicts that are not what the file expects."""
        return [v for v in self if not v.ok]

    def __getitem__(self, key):
        # r["BP2"] finds a rule by name; integers and slices index as in a list.
        if isinstance(key, str):
            for v in self:
                if v.rule == key:
                    return v
            raise KeyError(key)
        return super().__getitem__(key)

    @property
    def derivations(self) -> list:
        """Each rule's checked derivation (`steps.Derivation`), made on first use and kept:
        it re-checks every step, and Jupyter asks for the HTML and the Markdown form alike."""
        if self._derivations is None:
            from .notes import load_notes
            from .steps import derive_document  # derivations are only made when asked for

            names = {v.rule for v in self}
            model = load_notes if self.notes else load
            self._derivations = [] if not self.source else [
                d for d in derive_document(model(self.source, self.filename), list(self)) if d.rule.name in names]
        return self._derivations

    # Jupyter: a Report in a cell shows its verdicts and each rule's checked derivation.
    def _repr_markdown_(self) -> str:
        from .latex import report_markdown  # the render stage

        return report_markdown(self)

    def _repr_html_(self) -> str:
        from .latex import report_html

        return report_html(self)


def check_source(text: str, filename: str = "<input>", timeout: float | None = DEFAULTS["timeout"],
                 select=None, numeric: bool = False) -> Report:
    """Check every rule in `text` (.deriv syntax). Raises `DeriveError` on bad input.
    `numeric=True` also compares every derived gradient with central differences
    (`Verdict.numeric`, evidence only).

    >>> [v.verdict for v in check_source("rule r: tanh(t) = 2σ(2t) − 1", timeout=None)]
    ['proved']
    """
    timeout = time_limit(timeout)
    parser()  # built once per process: start-up, not a part of this file's time
    # Parsing, validation and compiling run here, under the same time limit as each rule.
    with time_box(timeout, filename):
        doc = load(text, filename)
        try:
            verdicts: list[Verdict] = check_document(doc, timeout=timeout, select=select,
                                                     settings={"numeric": numeric} if numeric else None)
        except DeriveError as e:  # raised while compiling declarations: point into the text
            raise e.located(filename, text) from None
        except RecursionError:
            raise DeriveError("too deeply nested to check (Python's recursion limit)", filename=filename) from None
    return Report(verdicts, filename=filename, source=text)


def time_limit(timeout) -> float | None:
    """A time limit given to the API: None (no limit) or a positive finite number of
    seconds; anything else (0, a negative number, nan, inf) is a ValueError."""
    if timeout is None:
        return None
    if isinstance(timeout, str):
        raise TypeError(f"a time limit is a number of seconds or None, not {timeout!r}")
    return seconds(timeout)


def read_rule_file(path, filename: str | None = None) -> str:
    """The text of a rule file (UTF-8, a byte-order mark allowed). A file that cannot be
    read is bad input like any other: `DeriveError` naming it (`filename`, or the path):
    a folder, a device or pipe (/dev/zero would never end), a file larger than
    `LIMITS["file_bytes"]`, a binary file, text that is not UTF-8."""
    name = filename or str(path)
    try:
        info = os.stat(path)
        if stat.S_ISDIR(info.st_mode):
            raise DeriveError("is a folder, not a rule file", filename=name)
        if not stat.S_ISREG(info.st_mode):
            raise DeriveError("not a regular file (a device, a pipe or a socket): not a rule file", filename=name)
        with open(path, "rb") as f:
            data = f.read(LIMITS["file_bytes"] + 1)
    except OSError as e:  # no such file, no permission, …
        raise DeriveError(f"cannot read: {e.strerror or e}", filename=name) from None
    if len(data) > LIMITS["file_bytes"]:
        raise DeriveError(f"too large to check: more than {LIMITS['file_bytes']} bytes "
                          f"(file_bytes in derive.limits.LIMITS)", filename=name)
    if b"\0" in data:
        raise DeriveError("a binary file (it holds NUL bytes), not a rule file", filename=name)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise DeriveError(f"not a UTF-8 text file ({e.reason} at byte {e.start})", filename=name) from None


def check_file(path, timeout: float | None = DEFAULTS["timeout"], select=None, numeric: bool = False) -> Report:
    """Check every rule in the .deriv file at `path`."""
    path = Path(path)
    return check_source(read_rule_file(path), str(path), timeout=timeout, select=select,
                        numeric=numeric)


def _checked(source, timeout) -> Report:
    __tracebackhide__ = True  # pytest: show the caller's line, not this helper
    try:
        # A path is a rule file; a string is the text of one (never a file name: that would be ambiguous).
        if isinstance(source, os.PathLike):
            return check_file(source, timeout=timeout)
        return check_source(source, timeout=timeout)
    except DeriveError as e:  # in a test, bad input is a failed assertion with its located message
        raise AssertionError(str(e)) from None


def _fail_unless_ok(report: Report) -> None:
    __tracebackhide__ = True
    if not report.ok:
        reports = "\n\n".join(render_failure(v, report.source) for v in report.failures)
        raise AssertionError(f"{reports}\n\n{summary(report)}")


def assert_rule(source, timeout: float | None = DEFAULTS["timeout"]) -> Report:
    """Assert that every rule in `source` gets the verdict it expects: proved, or refuted
    for a `wrong rule`. `source` is .deriv text, or a path (`pathlib.Path`) to a rule file.
    Otherwise raise `AssertionError` with the report the pytest plugin shows; bad input
    raises it too, with the `file:line:col` message. Returns the `Report`.

    >>> assert_rule("rule r: tanh(t) = 2σ(2t) − 1").ok
    True
    >>> assert_rule("rule r: tanh'(t) = 1 − tanh(t)")
    Traceback (most recent call last):
    AssertionError: <input>:1: rule r: refuted (counterexample), expected proved
      rule:    rule r: tanh'(t) = 1 − tanh(t)
      scope:   all real t
      values:  left side = 0.150527075818285, right side = 0.0783314455935287  (interval arithmetic at 60 digits)
      inputs:  t = 8/5
    <BLANKLINE>
    1 rule: 1 refuted; 1 not as expected
    """
    __tracebackhide__ = True
    report = _checked(source, timeout)
    _fail_unless_ok(report)
    return report


def assert_proved(source, timeout: float | None = DEFAULTS["timeout"]) -> Report:
    """Like `assert_rule`, but every rule must be proved, even one marked `wrong`. Returns
    the `Report` (verdicts as checked, with the expectations of the text).

    >>> assert_proved("wrong rule r: 2t = t + t")["r"].verdict
    'proved'
    """
    __tracebackhide__ = True
    report = _checked(source, timeout)
    _fail_unless_ok(Report([dataclasses.replace(v, expected=Expected.PROVED) for v in report], report.filename,
                           report.source))
    return report
