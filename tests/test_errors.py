"""errors.py: `file:line:col: kind: message`, the source line, and a caret under the column."""

from __future__ import annotations

import pytest

from derive.errors import DeriveDeclarationError, DeriveError, DeriveNameError, DeriveSyntaxError, Pos


def test_pos_prints_line_colon_column():
    assert str(Pos(3, 14)) == "3:14"
    assert Pos(3, 14) == Pos(3, 14) and Pos(3, 14) != Pos(14, 3)


def test_location_with_a_position():
    err = DeriveError("bad", Pos(2, 5), filename="rules.deriv")
    assert err.location == "rules.deriv:2:5"


def test_location_without_a_position_is_the_file_name():
    err = DeriveError("no such file or folder", filename="missing.deriv")
    assert err.location == "missing.deriv"
    assert str(err) == "missing.deriv: error: no such file or folder"


def test_default_file_name():
    err = DeriveError("bad", Pos(1, 1))
    assert err.location == "<input>:1:1"
    assert str(err) == "<input>:1:1: error: bad"  # no source line known: no caret


def test_message_is_kept_apart_from_the_location():
    err = DeriveError("something odd", Pos(1, 2), filename="f.deriv")
    assert err.message == "something odd"
    assert err.args == ("something odd",)


@pytest.mark.parametrize("cls, kind", [
    (DeriveError, "error"),
    (DeriveSyntaxError, "syntax error"),
    (DeriveNameError, "error"),
    (DeriveDeclarationError, "error"),
])
def test_each_kind_names_itself(cls, kind):
    err = cls("msg", Pos(1, 1), filename="f.deriv")
    assert isinstance(err, DeriveError) and isinstance(err, Exception)
    assert str(err).splitlines()[0] == f"f.deriv:1:1: {kind}: msg"


@pytest.mark.parametrize("text", [
    "network n {\n layers 2, 2\n activation σ\n loss C = ½‖y − q‖²\n}\n",  # an unknown name
    "graph g {\n input a\n u = 2 a\n rule r: dg/da = 2\n}\n",  # dg is no name here
    "rule r: foo(t) = 1\n",  # an unknown function
    "network n {\n layers 2, 2\n activation nope\n loss C = ½‖y − aᴸ‖²\n}\n",  # an unknown activation
])
def test_a_message_never_repeats_its_kind(text):
    from derive.model import load

    with pytest.raises(DeriveError) as info:
        load(text, "f.deriv")
    head = str(info.value).splitlines()[0]
    words = head.split(": ", 1)[1]
    assert "unknown name: unknown" not in head and "error: error" not in head, head
    assert words.startswith("error: unknown "), head


def test_caret_under_the_column():
    err = DeriveError("unexpected '='", Pos(1, 13), filename="f.deriv", source_line="rule r: 1 = = 2")
    assert str(err).splitlines() == [
        "f.deriv:1:13: error: unexpected '='",
        "    rule r: 1 = = 2",
        "    " + " " * 12 + "^",
    ]


def test_caret_at_column_one():
    err = DeriveError("x", Pos(4, 1), filename="f.deriv", source_line="oops")
    assert str(err).splitlines()[1:] == ["    oops", "    ^"]


def test_caret_keeps_tabs_so_it_lines_up():
    line = "\t\tloss C = y − aᴸ"
    err = DeriveError("the loss must be a scalar", Pos(7, 12), filename="f.deriv", source_line=line)
    head, source, caret = str(err).splitlines()
    assert head == "f.deriv:7:12: error: the loss must be a scalar"
    assert source == "    " + line
    assert caret == "    \t\t" + " " * 9 + "^"
    # Expanded with the same tab stops, the caret sits right under the 'y' it points at.
    assert caret.expandtabs(8).index("^") == source.expandtabs(8).index("y")


def test_caret_with_a_tab_after_text():
    line = "a\tb"
    err = DeriveError("x", Pos(1, 3), source_line=line)
    caret = str(err).splitlines()[2]
    assert caret == "    " + " \t" + "^"
    assert caret.expandtabs(8).index("^") == ("    " + line).expandtabs(8).index("b")


def test_caret_counts_characters_not_bytes():
    line = "rule r: ∂C/∂Wˡ = δˡ ⊙ q"
    column = line.index("q") + 1
    err = DeriveNameError("unknown name 'q'", Pos(1, column), source_line=line)
    caret = str(err).splitlines()[2]
    assert len(caret) - len("    ") == column


def test_no_position_means_no_caret_even_with_a_source_line():
    err = DeriveError("no .deriv files found", None, filename="dir", source_line="whatever")
    assert str(err) == "dir: error: no .deriv files found"
    assert "^" not in str(err)


def test_located_attaches_the_file_name_and_the_line():
    text = "rule a: t = t\nrule b: tanh(t, t) = 1\nrule c: t = t\n"
    err = DeriveDeclarationError("tanh takes 1 argument(s), got 2", Pos(2, 9))
    assert err.located("x.deriv", text) is err  # returns itself, for `raise e.located(...)`
    assert err.filename == "x.deriv"
    assert err.source_line == "rule b: tanh(t, t) = 1"
    assert str(err).splitlines() == [
        "x.deriv:2:9: error: tanh takes 1 argument(s), got 2",
        "    rule b: tanh(t, t) = 1",
        "            ^",
    ]


def test_located_keeps_a_source_line_already_known():
    err = DeriveError("x", Pos(1, 1), source_line="the original line")
    err.located("y.deriv", "another text\n")
    assert err.source_line == "the original line"
    assert err.filename == "y.deriv"


def test_located_with_a_line_past_the_end_gives_no_caret():
    err = DeriveError("x", Pos(9, 1)).located("z.deriv", "one line\n")
    assert err.source_line is None
    assert str(err) == "z.deriv:9:1: error: x"


def test_located_without_a_position_only_names_the_file():
    err = DeriveError("not a UTF-8 text file").located("bin.deriv", "text\n")
    assert err.source_line is None
    assert str(err) == "bin.deriv: error: not a UTF-8 text file"


def test_located_with_crlf_text():
    err = DeriveError("x", Pos(2, 3)).located("w.deriv", "first\r\nsecond\r\n")
    assert err.source_line == "second"
    assert str(err).splitlines()[2] == "      ^"
