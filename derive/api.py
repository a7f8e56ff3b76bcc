"""The Python entry points: check a file or a text, get a list of `Verdict`s."""

from __future__ import annotations

from pathlib import Path

from .errors import DeriveError
from .model import load
from .verify import DEFAULTS, check_document


def check_source(text: str, filename: str = "<input>", timeout: float | None = DEFAULTS["timeout"],
                 select=None) -> list:
    """Verdicts for every rule in `text` (.deriv syntax). Raises `DeriveError` on bad input.

    >>> [v.verdict for v in check_source("rule r: tanh(t) = 2σ(2t) − 1", timeout=None)]
    ['proved']
    """
    doc = load(text, filename)
    try:
        return check_document(doc, timeout=timeout, select=select)
    except DeriveError as e:  # raised while compiling declarations: point into the text
        raise e.located(filename, text) from None


def check_file(path, timeout: float | None = DEFAULTS["timeout"], select=None) -> list:
    """Verdicts for every rule in the .deriv file at `path`."""
    path = Path(path)
    return check_source(path.read_text(encoding="utf-8-sig"), str(path), timeout=timeout, select=select)
