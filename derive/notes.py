"""Notes checked in place: a Markdown (.md) or LaTeX (.tex) lecture note whose derive blocks
hold declarations and whose tagged display equations are rules.

The notes are turned into the .deriv text the rest of the pipeline reads (`generate`), with
a map from each place in that text back to the notes; the parsed tree's positions are then
moved into the notes (`load_notes`), so every message, verdict and caret of the ordinary
pipeline points at the notes' own lines. Nothing here decides what a formula means.

Markdown: a fenced ```` ```derive ```` block holds declarations and rules, as a .deriv file
does; a `$$ … $$` display after a line `<!-- derive: TAG -->` is a rule (in a blockquote or
list item, both in the same one).
LaTeX: a `derive` environment or lines starting `% derive:` hold declarations; an
`equation` or `multline` (or each row of an `align`/`gather`) with `\\label{derive:TAG}` is a rule.
Every derive tag is read or is bad input: none is skipped.

TAG is `[wrong|undefined] NAME [in BLOCK | top-level] [for i in a..b: …]` (in a LaTeX label
`:` may stand for a space: `derive:wrong:BP1`): `wrong`/`undefined` as in a .deriv file; the
rule belongs to the network or graph BLOCK, else to the nearest block declared above it in
the notes, else (or with `top-level`) it stands alone; `for …` quantifies it.
"""

from __future__ import annotations

import bisect
import dataclasses
import re
import unicodedata
from dataclasses import dataclass, field

from lark import Token, Tree

from .errors import DeriveError, DeriveSyntaxError, Pos

SUFFIXES = (".md", ".tex")

# What makes a notes file one for derive (`derive check` on a folder and the pytest plugin look for it).
_MARKERS = {".tex": re.compile(r"\\begin\{derive\}|^\s*%\s*derive:|\\label\s*\{\s*derive:", re.MULTILINE)}


def suffix_of(filename: str) -> str:
    lower = str(filename).lower()
    return next((s for s in SUFFIXES if lower.endswith(s)), "")


def has_derive(text: str, filename: str) -> bool:
    """Does this notes file hold a derive block or a derive tag (read or not: one that cannot be
    read is bad input, so such a file is checked)?"""
    if suffix_of(filename) == ".md":
        return any(fence is not None or _MD_MARK.search(_without_code_spans(row))
                   for _, row, fence in _markdown_rows(text))
    pattern = _MARKERS.get(suffix_of(filename))
    return bool(pattern and pattern.search(text))


# ---------------------------------------------------------------- what the notes hold


@dataclass
class Tagged:
    """A tagged display equation: the rule `name` as the notes write it."""

    name: str
    name_pos: Pos  # where the name is written in the tag
    expect: str  # "", "wrong" or "undefined"
    block: str | None  # `in BLOCK`
    block_pos: Pos | None
    top_level: bool
    quantifiers: str  # "for l in 1..L-1:" or ""
    quantifiers_pos: Pos | None
    anchor: Pos  # the first character of the equation: where its verdict is reported
    lines: list  # (notes line, blanked text of that whole line) for each line of the equation
    end: int  # offset in the notes just after the equation (annotate puts a mark there)
    after: int  # offset of the end of the line that closes the display (annotate puts a footnote after it)


@dataclass
class Notes:
    filename: str
    text: str  # NFC, as every position refers to
    suffix: str
    chunks: list = field(default_factory=list)  # (notes line, column offset, text) per declaration line
    equations: list = field(default_factory=list)


class _Lines:
    def __init__(self, text: str):
        self.starts = [0] + [m.end() for m in re.finditer("\n", text)]

    def pos(self, offset: int) -> Pos:
        i = bisect.bisect_right(self.starts, offset) - 1
        return Pos(i + 1, offset - self.starts[i] + 1)


_TAG = re.compile(r"""\s*(?:(?P<expect>wrong|undefined)[\s:]+)?(?P<name>[^\s:]+)
                      (?:[\s:]+in[\s:]+(?P<block>[^\s:]+)|[\s:]+(?P<top>top-level))?
                      (?:[\s:]+(?P<for>for\s.*?))?\s*$""", re.VERBOSE | re.DOTALL)


def _tag(text: str, start: int, lines: _Lines, anchor: Pos, where: str) -> dict:
    """Read a tag (the text after `derive:`) starting at offset `start` of the notes."""
    m = _TAG.fullmatch(text)
    if m is None or not text.strip():
        raise DeriveSyntaxError(f"cannot read this derive tag; write {where}", lines.pos(start))
    quantifiers = (m.group("for") or "").rstrip()
    if quantifiers and not quantifiers.endswith(":"):
        quantifiers += ":"
    return {"name": m.group("name"), "name_pos": lines.pos(start + m.start("name")), "expect": m.group("expect") or "",
            "block": m.group("block"), "block_pos": lines.pos(start + m.start("block")) if m.group("block") else None,
            "top_level": bool(m.group("top")), "quantifiers": quantifiers,
            "quantifiers_pos": lines.pos(start + m.start("for")) if m.group("for") else None, "anchor": anchor}


# Written in a display equation but not a part of the formula: blanked (columns kept).
# A row ends at \\ (amsmath: \\* and a [spacing] written right after it belong to it); split,
# aligned and gathered only break a formula into lines.
_ROW_END_TEXT = r"\\\\\*?(?:\[[^\[\]\n]*\])?"
_NOT_FORMULA = re.compile(r"\\label\s*\{[^{}]*\}|\\tag\*?\s*\{[^{}]*\}|\\nonumber\b|\\notag\b|" + _ROW_END_TEXT
                          + r"|\\(?:begin|end)\s*\{(?:split|aligned|gathered)\}(?:\[[tcb]\])?|&|(?<!\\)%[^\n]*")


def _equation(text: str, start: int, end: int, lines: _Lines) -> tuple | None:
    """The blanked lines of the formula at text[start:end], its first character, and the offset
    just after its last one (None: no formula there)."""
    chars = list(text)
    for m in _NOT_FORMULA.finditer(text, start, end):
        for i in range(m.start(), m.end()):
            if chars[i] != "\n":
                chars[i] = " "
    inside = [i for i in range(start, end) if not chars[i].isspace()]
    if not inside:
        return None
    if chars[inside[-1]] in ".,;":  # the sentence's punctuation after a displayed formula
        chars[inside[-1]] = " "
        inside.pop()
        if not inside:
            return None
    first, last = lines.pos(inside[0]), lines.pos(inside[-1])
    blanked = "".join(c if start <= i < end or c == "\n" else " " for i, c in enumerate(chars))
    rows = blanked.split("\n")
    return [(n, rows[n - 1]) for n in range(first.line, last.line + 1)], first, inside[-1] + 1


def read_notes(text: str, filename: str) -> Notes:
    """The declarations and tagged equations of a notes file (raises `DeriveError` on a tag
    that cannot be read or is not followed by an equation)."""
    text = unicodedata.normalize("NFC", text).replace("\r\n", "\n")  # columns and lines as they were
    notes = Notes(filename, text, suffix_of(filename))
    try:
        (_read_markdown if notes.suffix == ".md" else _read_latex)(notes)
    except DeriveError as e:
        raise e.located(filename, text) from None
    return notes


_MD_TAG_HELP = "<!-- derive: NAME -->, <!-- derive: wrong NAME in BLOCK --> or <!-- derive: NAME for l in 1..L-1 -->"
# a tag, a LaTeX label (not read in Markdown) or a derive block that is not at the top level
_MD_MARK = re.compile(r"<!--\s*derive:|\\label\s*\{\s*derive:"
                      r"|^[ >]*(?:(?:[-*+]|\d{1,9}[.)])[ ]+)?[ >]*(?:`{3,}|~{3,})\s*derive\s*$")
_MD_FENCE = re.compile(r"^\s{0,3}(`{3,}|~{3,})\s*(\S*)")
_QUOTE = re.compile(r"(?:[ ]{0,3}>[ ]?)*")  # the `>` of a blockquote, nested or not
_ITEM = re.compile(r"[ ]{0,3}(?:[-*+]|\d{1,9}[.)])[ ]+")  # a list item's marker
_NO_DISPLAY = ("this derive tag is not followed by a $$ … $$ display equation (blank lines allowed; in a blockquote "
               "or a list item, the display is in the same one)")


def _without_code_spans(row: str) -> str:
    """The row with its `code spans` blanked (a tag written in one is text, not a tag)."""
    return re.sub(r"(`+)(?!`).*?(?<!`)\1(?!`)", lambda m: " " * len(m.group()), row)


def _markdown_rows(text: str):
    """(index, row, the open fence or None) for each row outside a fenced code block; a derive
    block's rows come with its fence (its characters, True)."""
    fence = None
    for i, row in enumerate(text.split("\n")):
        opening = _MD_FENCE.match(row)
        if fence is not None:
            if opening and opening.group(1)[0] == fence[0][0] and len(opening.group(1)) >= len(fence[0]) \
                    and not opening.group(2):
                fence = None
            elif fence[1]:
                yield i, row, fence
            continue
        if opening:
            fence = (opening.group(1), opening.group(2) == "derive")
            continue
        yield i, row, None


def _quote(row: str) -> tuple:
    """(how many `>` a row starts with, the column after them, 0-based)."""
    quote = _QUOTE.match(row)
    return (quote.group().count(">"), quote.end()) if quote else (0, 0)


def _in_container(row: str, depth: int, indent: int) -> str | None:
    """A row inside the blockquote (`depth` `>`) and list item (content `indent` columns in) a tag
    stands in, with those marks blanked (columns kept); all blanks for a blank row; None: outside it."""
    level, end = _quote(row)
    rest = row[end:]
    if not rest.strip():
        return " " * len(row) if level <= depth else None
    if level != depth or len(rest) - len(rest.lstrip(" ")) < indent:
        return None
    return " " * (end + indent) + rest[indent:]


def _read_markdown(notes: Notes) -> None:
    text, lines = notes.text, _Lines(notes.text)
    rows = text.split("\n")
    starts = lines.starts
    view = list(rows)  # the rows with the blockquote and list marks of the displays read blanked
    skip_to = 0
    for i, row, fence in _markdown_rows(text):
        if fence is not None:
            notes.chunks.append((i + 1, 0, row))
            continue
        if i < skip_to:
            continue
        mark = _MD_MARK.search(_without_code_spans(row))
        if mark is None:
            continue
        if not mark.group().startswith(("<", "\\")):
            raise DeriveSyntaxError("a derive block is read at the top level only, not in a blockquote or a list item; "
                                    "write ```derive at the start of a line (at most 3 spaces in)",
                                    lines.pos(starts[i] + len(row) - len(row.lstrip(" >-*+0123456789.)"))))
        if mark.group().startswith("\\"):
            raise DeriveSyntaxError("a derive label is read in LaTeX (.tex) notes only; in Markdown write "
                                    "<!-- derive: NAME --> on the line before the $$ … $$ display",
                                    lines.pos(starts[i] + mark.start()))
        depth, end = _quote(row)
        item = _ITEM.match(row, end)
        indent = item.end() - end if item else 0
        tag = re.compile(r"[ ]*<!--\s*derive:(.*?)-->\s*").fullmatch(row, end + indent)
        where = lines.pos(starts[i] + mark.start())
        if tag is None:
            raise DeriveSyntaxError("a derive tag stands on a line of its own (in a blockquote or a list item: "
                                    f"after its > or -), followed by a $$ … $$ display; write {_MD_TAG_HELP}", where)
        j = i + 1
        while j < len(rows) and _in_container(rows[j], depth, indent) == " " * len(rows[j]):
            j += 1  # blank lines
        inner = _in_container(rows[j], depth, indent) if j < len(rows) else None
        if inner is None or not inner.lstrip().startswith("$$") or _MD_MARK.search(_without_code_spans(inner)):
            raise DeriveSyntaxError(_NO_DISPLAY, where)
        view[j] = inner
        open_at = starts[j] + inner.index("$$")
        close_in = inner.find("$$", inner.index("$$") + 2)
        while close_in < 0:
            j += 1
            inner = _in_container(rows[j], depth, indent) if j < len(rows) else None
            if inner is None:
                raise DeriveSyntaxError("a $$ display equation that is not closed with $$ (in its blockquote or "
                                        "list item)", lines.pos(open_at))
            view[j] = inner
            close_in = inner.find("$$")
        close_at = starts[j] + close_in
        found = _equation("\n".join(view), open_at + 2, close_at, lines)
        if found is None:
            raise DeriveSyntaxError("an empty display equation after a derive tag", lines.pos(open_at))
        eq_lines, first, _ = found
        line_end = starts[j] + len(rows[j])
        info = _tag(tag.group(1), starts[i] + tag.start(1), lines, first, _MD_TAG_HELP)
        notes.equations.append(Tagged(**info, lines=eq_lines, end=close_at, after=line_end))
        skip_to = j + 1  # go on after the line that closes the display


_TEX_TAG_HELP = r"\label{derive:NAME}, \label{derive:wrong:NAME} or \label{derive:NAME in BLOCK}"
_DISPLAY = re.compile(r"\\begin\{(equation|align|gather|multline|flalign|alignat)(\*?)\}(?:\{\d+\})?")
_TEX_MARK = re.compile(r"\\label\s*\{\s*derive:")  # every derive tag of a .tex file starts so
_TEX_LABEL = re.compile(r"\\label\s*\{\s*derive:([^{}]*)\}")
_ROW_END = re.compile(_ROW_END_TEXT)
_READ_IN = (r"derive reads tags in equation, align, gather, multline, flalign and alignat (not eqnarray, "
            r"\[ … \], $$ … $$ or text); write \begin{equation} FORMULA \label{derive:NAME} \end{equation}")
_ACROSS = ("a formula across several rows: this row has no number of its own and stands next to the row "
           "labelled derive:{name}, which derive would check alone; write the formula in one row, in a "
           r"multline, or in an equation with split (they are one formula), or number this row")


def _read_latex(notes: Notes) -> None:
    text, lines = notes.text, _Lines(notes.text)
    rows = text.split("\n")
    inside = False
    for n, row in enumerate(rows, 1):
        if inside:
            if re.match(r"^\s*\\end\{derive\}", row):
                inside = False
            else:
                notes.chunks.append((n, 0, row))
            continue
        if re.match(r"^\s*\\begin\{derive\}\s*$", row):
            inside = True
            continue
        comment = re.match(r"^\s*%\s*derive:\s?", row)
        if comment:
            notes.chunks.append((n, comment.end(), row[comment.end():]))
    if inside:
        raise DeriveSyntaxError(r"a derive environment that is not closed with \end{derive}", lines.pos(len(text)))
    code = re.sub(r"(?<!\\)%[^\n]*", lambda m: " " * len(m.group()), text)  # comments hide no display
    displays = []
    for m in _DISPLAY.finditer(code):
        env = m.group(1) + m.group(2)
        close = code.find(f"\\end{{{env}}}", m.end())
        if close < 0:
            raise DeriveSyntaxError(f"\\begin{{{env}}} is not closed with \\end{{{env}}}", lines.pos(m.start()))
        displays.append((m, close))
    for mark in _TEX_MARK.finditer(code):  # a tag outside the displays derive reads is never skipped
        if not any(m.end() <= mark.start() < close for m, close in displays):
            raise DeriveSyntaxError(f"this derive label is not in a display derive reads: {_READ_IN}",
                                    lines.pos(mark.start()))
        if not _TEX_LABEL.match(code, mark.start()):
            raise DeriveSyntaxError(f"cannot read this derive label; write {_TEX_TAG_HELP}", lines.pos(mark.start()))
    for m, close in displays:
        line_end = text.find("\n", close)
        line_end = len(text) if line_end < 0 else line_end
        # an equation or a multline is one formula (its \\ and a split in it break lines only); the
        # other environments have one formula per row: cut at \\ (and its [spacing])
        if m.group(1) in ("equation", "multline"):
            spans = [(m.end(), close)]
        else:
            cuts = [m.end()] + [k for r in _ROW_END.finditer(code, m.end(), close) for k in (r.start(), r.end())]
            spans = list(zip(cuts[::2], cuts[1::2] + [close], strict=True))
        formulas = []  # (start, end, derive labels, found) per row
        for start, end in spans:
            labels = list(_TEX_LABEL.finditer(code, start, end))
            if len(labels) > 1:
                raise DeriveSyntaxError("a second derive label in one formula; a formula is one rule, with one "
                                        "label", lines.pos(labels[1].start()))
            formulas.append((start, end, labels, _equation(text, start, end, lines)))
        for k, (_, _, labels, found) in enumerate(formulas):
            if not labels:
                continue
            label = labels[0]
            if found is None:
                raise DeriveSyntaxError("an empty equation with a derive label", lines.pos(label.start()))
            for other in (formulas[k - 1] if k else None, formulas[k + 1] if k + 1 < len(formulas) else None):
                if other is None or other[2] or other[3] is None:
                    continue
                if m.group(2) or re.search(r"\\nonumber\b|\\notag\b", code[other[0]:other[1]]):
                    name = " ".join(label.group(1).split())
                    raise DeriveSyntaxError(_ACROSS.format(name=name), other[3][1])
            eq_lines, first, last = found
            info = _tag(label.group(1), label.start(1), lines, first, _TEX_TAG_HELP)
            # annotate's mark goes after the formula (a multline's label may stand on its first row)
            notes.equations.append(Tagged(**info, lines=eq_lines, end=max(label.start(), last), after=line_end))


# ---------------------------------------------------------------- the .deriv text and its map


class _Map:
    """Where each place of the generated text is in the notes: per generated line, segments
    (first column, last column + 1, notes Pos of the first column, copied?)."""

    def __init__(self):
        self.lines: list = []

    def add(self, segments: list) -> None:
        self.lines.append(segments)

    def pos(self, pos: Pos) -> Pos:
        if not 1 <= pos.line <= len(self.lines) or not self.lines[pos.line - 1]:
            return pos
        segments = self.lines[pos.line - 1]
        for g0, g1, where, copied in segments:
            if g0 <= pos.column < g1:
                return Pos(where.line, where.column + pos.column - g0) if copied else where
        g0, _, where, copied = segments[-1]  # past the end of the line: after its last copied text
        return Pos(where.line, where.column + pos.column - g0) if copied else where


def _rule_lines(eq: Tagged) -> list:
    """The generated lines of one tagged equation: (text, segments)."""
    parts = [((eq.expect + " ") if eq.expect else "", eq.anchor, False), ("rule ", eq.anchor, False),
             (eq.name, eq.name_pos, True), (": ", eq.anchor, False)]
    if eq.quantifiers:
        parts += [(eq.quantifiers, eq.quantifiers_pos or eq.anchor, True), (" ", eq.anchor, False)]
    out = []
    for k, (number, row) in enumerate(eq.lines):
        text, segments, column = "", [], 1
        if k == 0:
            for piece, where, copied in parts:
                if piece:
                    segments.append((column, column + len(piece), where, copied))
                    text += piece
                    column += len(piece)
        segments.append((column, column + len(row) + 1, Pos(number, 1), True))
        text += row
        if k + 1 < len(eq.lines):
            text += " \\"  # a continued line: the grammar reads `\` and a newline as a blank
        out.append((text, segments))
    return out


def generate(notes: Notes) -> tuple:
    """The .deriv text of the notes and the `_Map` back to them: the declaration lines as
    written, each tagged equation a rule inside its block (before the block's `}`) or at the
    end of the text."""
    from .syntax import parse, parser

    declarations = [(row, [(1, len(row) + 2, Pos(n, offset + 1), True)]) for n, offset, row in notes.chunks]
    text = "".join(row + "\n" for row, _ in declarations)
    where = _Map()
    for _, segments in declarations:
        where.add(segments)
    try:
        parse(text, notes.filename)  # the declarations alone: their errors first, at their place
    except DeriveError as e:
        raise _moved(e, where, notes) from None
    blocks = {}  # name → (notes line of its header, generated line index before which its rules go)
    for tree in parser().parse(text).children:
        if not isinstance(tree, Tree) or tree.data not in ("network", "graph"):
            continue
        name = next(c for c in tree.children if isinstance(c, Token) and c.type == "IDENT")
        items = [c for c in tree.children if isinstance(c, Tree)]
        line = name.line or 1
        insert = text.count("\n", 0, items[-1].meta.end_pos) if items else line
        blocks[str(name)] = (where.pos(Pos(line, name.column or 1)).line, insert)
    inserted: dict = {}
    top = []
    for eq in notes.equations:
        if eq.top_level:
            top.append(eq)
            continue
        if eq.block is not None:
            if eq.block not in blocks:
                known = ", ".join(sorted(blocks)) or "none"
                raise DeriveError(f"no network or graph named '{eq.block}' in the derive blocks of these notes "
                                  f"(declared: {known})", eq.block_pos).located(notes.filename, notes.text)
            block = eq.block
        else:
            above = [(line, name) for name, (line, _) in blocks.items() if line < eq.anchor.line]
            if not above:
                top.append(eq)
                continue
            block = max(above)[1]
        inserted.setdefault(blocks[block][1], []).append(eq)
    out = _Map()
    rows = []
    for index in range(len(declarations) + 1):
        for eq in inserted.get(index, ()):
            for line in _rule_lines(eq):
                rows.append(line[0])
                out.add(line[1])
        if index < len(declarations):
            rows.append(declarations[index][0])
            out.add(declarations[index][1])
    for eq in top:
        for line in _rule_lines(eq):
            rows.append(line[0])
            out.add(line[1])
    return "".join(r + "\n" for r in rows), out


def _moved(e: DeriveError, where: _Map, notes: Notes) -> DeriveError:
    """An error about the generated text, pointing into the notes instead."""
    e.pos, e.source_line = (where.pos(e.pos) if e.pos is not None else None), None
    return e.located(notes.filename, notes.text)


def _moved_tree(node, where: _Map):
    """A copy of a syntax tree with every `Pos` moved into the notes."""
    if isinstance(node, Pos):
        return where.pos(node)
    if isinstance(node, tuple):
        return tuple(_moved_tree(item, where) for item in node)
    if dataclasses.is_dataclass(node) and not isinstance(node, type):
        changes = {f.name: _moved_tree(getattr(node, f.name), where) for f in dataclasses.fields(node) if f.init}
        return dataclasses.replace(node, **changes)
    return node


def load_notes(text: str, filename: str = "<notes>"):
    """The model (`model.Document`) of a notes file, every position in the notes; its
    `source` is the notes' text. Raises `DeriveError` (located in the notes) on bad input."""
    from .model import build
    from .syntax import parse

    notes = read_notes(text, filename)
    if not notes.chunks and not notes.equations:
        raise DeriveError("no derive block and no tagged equation in these notes (Markdown: a ```derive block "
                          "and <!-- derive: NAME --> before a $$ … $$ display; LaTeX: a derive environment or "
                          "% derive: lines, and \\label{derive:NAME} in an equation)", filename=filename)
    generated, where = generate(notes)
    try:
        tree = _moved_tree(parse(generated, filename), where)
    except DeriveError as e:
        raise _moved(e, where, notes) from None
    try:
        doc = build(tree, filename)
    except DeriveError as e:
        e.source_line = None
        raise e.located(filename, notes.text) from None
    doc.source = notes.text
    return doc


def check_notes(text: str, filename: str = "<notes>", timeout=None, select=None, numeric: bool = False):
    """`api.check_source` for a notes file: a `Report` whose verdicts are at the notes' lines."""
    from .api import Report, time_limit
    from .limits import time_box
    from .syntax import parser
    from .verify import check_document

    timeout = time_limit(timeout)
    parser()
    with time_box(timeout, filename):
        doc = load_notes(text, filename)
        try:
            verdicts = check_document(doc, timeout=timeout, select=select,
                                      settings={"numeric": numeric} if numeric else None)
        except DeriveError as e:
            raise e.located(filename, doc.source) from None
    report = Report(verdicts, filename=filename, source=doc.source)
    report.notes = True  # its derivations are made from the notes (Report.derivations)
    return report


# ---------------------------------------------------------------- annotated notes


def _counterexample(v) -> str:
    cx = v.counterexample
    if cx is None:
        return " ".join(v.detail.split())
    inputs = ", ".join(f"{k} = {value}" for k, value in cx.inputs) or "none"
    at = f"at {cx.instance}: " if cx.instance else ""
    return f"{at}left side = {cx.lhs}, right side = {cx.rhs}; inputs {inputs}"


def _words(v) -> str:
    from .render import marked

    return f"{v.rule}: {v.verdict} ({v.how}){marked(v.expected)}"


def annotate(text: str, filename: str, verdicts: list) -> str:
    """The notes with a mark after each checked equation: ✓ proved, ✗ refuted with a footnote
    holding the counterexample, ? otherwise (the footnote says why). A rule that is not as the
    notes expect says so in its footnote."""
    from .render import marked

    notes = read_notes(text, filename)
    by_pos = {(v.line, v.column): v for v in verdicts}
    marks = []  # (offset, text inserted there)
    footnotes = []
    tex = notes.suffix == ".tex"
    per_display: dict = {}
    for eq in notes.equations:
        v = by_pos.get((eq.anchor.line, eq.anchor.column))
        if v is None:
            continue
        verdict = str(v.verdict)
        note = ""
        if verdict != "proved" or not v.ok:
            note = _words(v) + ("" if v.ok else ", not as the notes expect") + ". " + _counterexample(v)
        if tex:
            sign = {"proved": r"\checkmark", "refuted": r"\times"}.get(verdict, "?")
            mark = rf"\qquad{sign}"
            if note:
                k = per_display.setdefault(eq.after, [])
                k.append(note)
                mark += rf"\mbox{{\footnotemark[\numexpr\value{{footnote}}+{len(k)}\relax]}}"
            marks.append((eq.end, mark))
        else:
            sign = {"proved": "✓", "refuted": "✗"}.get(verdict, "?")
            mark = f"\n\n{sign} **{v.rule}** {verdict}{marked(v.expected)}"
            if note:
                footnotes.append(note)
                mark += f"[^derive-{len(footnotes)}]"
            marks.append((eq.after, mark))
    if tex:
        from .latex import text as latex_text

        for after, notes_here in per_display.items():
            marks.append((after, "".join(f"\n\\stepcounter{{footnote}}\\footnotetext{{derive: {latex_text(n)}}}"
                                         for n in notes_here)))
    out = notes.text
    for offset, mark in sorted(marks, key=lambda m: m[0], reverse=True):
        out = out[:offset] + mark + out[offset:]
    if tex and marks and "amssymb" not in out.split("\\begin{document}", 1)[0]:
        out = out.replace("\\begin{document}", "\\usepackage{amssymb}% \\checkmark, for derive's marks\n"
                                               "\\begin{document}", 1)
    if footnotes:
        out = out.rstrip("\n") + "\n\n" + "\n".join(f"[^derive-{k}]: {n}" for k, n in enumerate(footnotes, 1)) + "\n"
    return out
