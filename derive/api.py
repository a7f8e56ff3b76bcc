"""The Python entry points: check a file or a text, get a `Report` (a list of `Verdict`s)."""

from __future__ import annotations

from pathlib import Path

from .errors import DeriveError
from .model import load
from .verify import DEFAULTS, Verdict, check_document


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

    # Jupyter: a Report in a cell shows its verdicts and each rule's checked derivation.
    def _repr_markdown_(self) -> str:
        from .latex import report_markdown  # the render stage

        return report_markdown(self)

    def _repr_html_(self) -> str:
        from .latex import report_html

        return report_html(self)


def check_source(text: str, filename: str = "<input>", timeout: float | None = DEFAULTS["timeout"],
                 select=None) -> Report:
    """Check every rule in `text` (.deriv syntax). Raises `DeriveError` on bad input.

    >>> [v.verdict for v in check_source("rule r: tanh(t) = 2σ(2t) − 1", timeout=None)]
    ['proved']
    """
    doc = load(text, filename)
    try:
        verdicts: list[Verdict] = check_document(doc, timeout=timeout, select=select)
    except DeriveError as e:  # raised while compiling declarations: point into the text
        raise e.located(filename, text) from None
    return Report(verdicts, filename=filename, source=text)


def check_file(path, timeout: float | None = DEFAULTS["timeout"], select=None) -> Report:
    """Check every rule in the .deriv file at `path`."""
    path = Path(path)
    return check_source(path.read_text(encoding="utf-8-sig"), str(path), timeout=timeout, select=select)
