"""Every error derive reports about its input, with a source position and a caret.

One hierarchy for the whole pipeline: the parser, the model and the deriver raise
`DeriveError` subclasses carrying a `Pos`; the CLI and the pytest plugin print
`str(error)`, which is the `file:line:col: message` line, the source line and a caret.
Nothing downstream needs the raw text again: the error keeps the line it points at.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Pos:
    """A 1-based line and column in a source file."""

    line: int
    column: int

    def __str__(self) -> str:
        return f"{self.line}:{self.column}"


class DeriveError(Exception):
    """Bad input: a message tied to a place in a rule file."""

    kind = "error"

    def __init__(self, message: str, pos: Pos | None = None, *, filename: str = "<input>",
                 source_line: str | None = None):
        super().__init__(message)
        self.message = message
        self.pos = pos
        self.filename = filename
        self.source_line = source_line

    def located(self, filename: str, text: str) -> "DeriveError":
        """Attach the file name and the offending source line (kept for the caret)."""
        self.filename = filename
        if self.pos is not None and self.source_line is None:
            lines = text.splitlines()
            if 1 <= self.pos.line <= len(lines):
                self.source_line = lines[self.pos.line - 1]
        return self

    @property
    def location(self) -> str:
        if self.pos is None:
            return self.filename
        return f"{self.filename}:{self.pos.line}:{self.pos.column}"

    def __str__(self) -> str:
        head = f"{self.location}: {self.kind}: {self.message}"
        if self.pos is None or self.source_line is None:
            return head
        # Tabs keep their width in the caret line so the caret lands under the column.
        prefix = "".join(c if c == "\t" else " " for c in self.source_line[: self.pos.column - 1])
        return f"{head}\n    {self.source_line}\n    {prefix}^"


class DeriveSyntaxError(DeriveError):
    """The text does not follow the grammar."""

    kind = "syntax error"


class DeriveNameError(DeriveError):
    """A name that is not declared where it is used. Its message says so ("unknown name 'q'
    in network n"), so the kind is plain "error", not repeated in front of it."""

    kind = "error"


class DeriveDeclarationError(DeriveError):
    """A declaration that is ill-formed: a bad size, an index out of range, a missing loss."""

    kind = "error"
