"""Recorded text on a terminal: escape sequences and control characters stripped, widths in
terminal cells (CJK and emoji take two) so columns align."""

from __future__ import annotations

import json
import unicodedata
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from otel_jsonl.analyze.textwidth import clean, cut, pad, width
from otel_jsonl.cli import main

HOSTILE = [
    "\x1b]0;pwned\x07",  # OSC: set the window title
    "\x1b]8;;http://evil.example/\x1b\\link\x1b]8;;\x1b\\",  # OSC 8 hyperlink
    "\x1b[2J\x1b[H",  # clear the screen, cursor home
    "\x1b[31mred\x1b[0m",
    "\x9b2J",  # C1 CSI
    "\x1bc",  # full reset
    "a\u202etxt.exe",  # right-to-left override
    "bell\x07 and back\x08space and del\x7f",
    "\x1bP1$qm\x1b\\",  # DCS
]


@pytest.mark.parametrize("text", HOSTILE)
def test_clean_leaves_no_escape_or_control_character(text: str) -> None:
    """After clean(), nothing a terminal would act on is left."""
    out = clean(text)
    assert "\x1b" not in out
    assert all(
        unicodedata.category(ch) not in ("Cc",) and ch not in "\u202a\u202b\u202c\u202d\u202e"
        for ch in out
    ), repr(out)


def test_clean_keeps_ordinary_text_and_the_visible_part() -> None:
    """Printable text (CJK, emoji with joiners) is kept as it is; the visible words of an
    escaped text stay."""
    for text in ["hello", "日本語のテキスト", "👩‍💻 done", "naïve café", "tab\tstop"]:
        assert clean(text) == text.replace("\t", " ")
    assert clean("\x1b[31mred\x1b[0m") == "red"
    assert clean("\x1b]0;pwned\x07after") == "after"


@given(st.text())
def test_clean_never_leaves_an_escape(text: str) -> None:
    """For any text, clean() leaves no ESC, no C0/C1 control and no bidi override."""
    out = clean(text)
    assert not any(
        ch == "\x1b" or ord(ch) < 0x20 or 0x7F <= ord(ch) <= 0x9F or 0x202A <= ord(ch) <= 0x202E
        for ch in out
    )


@pytest.mark.parametrize(
    ("text", "cells"),
    [
        ("abc", 3),
        ("日本語", 6),
        ("ｆｕｌｌ", 8),
        ("한국어", 6),
        ("e\u0301", 1),  # e + combining acute
        ("👍", 2),
        ("👍🏽", 2),  # skin tone modifier
        ("👩‍💻", 2),  # ZWJ sequence
        ("❤️", 1),  # text-presentation heart + VS16: most terminals draw one cell
        ("", 0),
    ],
)
def test_width_in_terminal_cells(text: str, cells: int) -> None:
    """Wide and fullwidth characters and emoji take two cells, combining marks none."""
    assert width(text) == cells


@given(st.text(), st.integers(min_value=1, max_value=40))
def test_cut_fits_and_never_splits(text: str, cells: int) -> None:
    """cut() never exceeds the cells it is given and keeps a prefix of the text."""
    out = cut(text, cells)
    assert width(out) <= max(cells, 1)
    body = out[:-1] if out.endswith("…") and out != text else out
    assert text.startswith(body)


def test_pad_aligns_by_cells() -> None:
    """pad() fills to the same number of cells whatever the script."""
    assert {width(pad(t, 12)) for t in ["run-1", "日本語", "👩‍💻x"]} == {12}


def write_trace(path: Path, events: list[dict[str, object]]) -> None:
    """Write events as JSON lines (escapes kept as JSON escapes, as a recorder writes them)."""
    path.write_text("".join(json.dumps(e, ensure_ascii=False) + "\n" for e in events))


def test_show_writes_no_escape_sequence_from_recorded_text(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Model output that holds terminal escapes (title, clear screen, C1 CSI) is shown
    without them: show's output has no ESC and no C1 control."""
    path = tmp_path / "t.jsonl"
    write_trace(
        path,
        [
            {"ts": 1.0, "run": "r\x1b]0;x\x07", "seq": 0, "kind": "input", "messages": []},
            {
                "ts": 2.0,
                "run": "r\x1b]0;x\x07",
                "seq": 1,
                "kind": "llm_call",
                "model": "m\x1b[2J",
                "output": [{"role": "assistant", "content": "hi \x1b]0;pwned\x07 \x9b2J there"}],
            },
            {
                "ts": 3.0,
                "run": "r\x1b]0;x\x07",
                "seq": 2,
                "kind": "tool_result",
                "name": "sh\x1b[31m",
                "output": "\x1b[2J\x1b[Hdone",
            },
            {"ts": 4.0, "run": "r\x1b]0;x\x07", "seq": 3, "kind": "error\x1bc", "message": "x"},
        ],
    )
    for argv in (
        ["show", str(path), "--color", "never"],
        ["runs", str(path)],
        ["stats", str(path)],
    ):
        assert main(argv) == 0
        out = capsys.readouterr().out
        assert "\x1b" not in out, (argv, out)
        assert not any(0x80 <= ord(ch) <= 0x9F for ch in out), argv
    assert main(["show", str(path), "--color", "never"]) == 0
    assert "there" in capsys.readouterr().out


def test_runs_table_aligns_cjk_and_emoji_run_ids(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Run ids in CJK and emoji keep the STEPS column at one terminal column on every row."""
    path = tmp_path / "t.jsonl"
    write_trace(
        path,
        [
            {"ts": 1.0, "run": run, "seq": 0, "kind": "final", "text": "x"}
            for run in ["ascii-run", "日本語の実行", "👩‍💻🚀", "e\u0301t\u00e9"]
        ],
    )
    assert main(["runs", str(path)]) == 0
    rows = capsys.readouterr().out.splitlines()
    assert len(rows) == 5
    # Every column after the run id has a fixed width: aligned rows are equally wide in cells.
    assert len({width(row) for row in rows}) == 1, rows


def _cells_one_by_one(text: str) -> int:
    """Width counted character by character (what width() does for any text)."""
    return sum(width(ch) for ch in text) if "\u200d" not in text else width(text)


@given(
    st.text(alphabet=st.characters(max_codepoint=0x7F)) | st.text(),
    st.integers(min_value=0, max_value=40),
)
def test_ascii_fast_paths_agree_with_the_general_count(text: str, cells: int) -> None:
    """Printable ASCII takes the short path in width() and cut(); it agrees with counting the
    characters one by one, and cut() keeps the longest prefix that fits beside the ellipsis."""
    assert width(text) == _cells_one_by_one(text)
    out = cut(text, cells)
    if _cells_one_by_one(text) <= cells:
        assert out == text
    else:
        body = out[: -len("…")]
        assert out.endswith("…") and text.startswith(body)
        assert _cells_one_by_one(body) <= max(0, cells - 1)
        longer = text[: len(body) + 1]
        assert _cells_one_by_one(longer) > max(0, cells - 1) or len(longer) == len(body)


def _cut_by_the_book(text: str, cells: int, ellipsis: str = "…") -> str:
    """cut() as specified: measure the whole text; if it does not fit, keep characters (and
    what a joiner binds to them) while the room left for the ellipsis allows."""
    if width(text) <= cells:
        return text
    room, used, end, i = max(0, cells - width(ellipsis)), 0, 0, 0
    while i < len(text):
        if text[i] == "\u200d":
            i += 2
            end = min(i, len(text))
            continue
        w = width(text[i])
        if used + w > room:
            break
        used += w
        i += 1
        end = i
    return text[:end] + ellipsis


@given(
    text=st.text(
        alphabet=st.sampled_from(list("ab …\u200d\u0301\x07漢字😀👍\ufe0f\u1160\t"))
        | st.characters(),
        max_size=40,
    ),
    cells=st.integers(0, 30),
)
def test_cut_stops_early_but_cuts_as_measuring_the_whole_text_would(text: str, cells: int) -> None:
    """cut() (one pass that stops once the text cannot fit, and an ASCII shortcut) gives the
    same text as measuring the whole text first, and never more than ``cells`` cells."""
    assert cut(text, cells) == _cut_by_the_book(text, cells)
    assert width(cut(text, cells)) <= max(cells, width("…"))
