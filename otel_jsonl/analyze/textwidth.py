"""Recorded text made safe and measurable for a terminal: escape sequences and control
characters stripped, width counted in terminal cells (wcwidth semantics: East Asian wide and
fullwidth characters and emoji take two cells, combining marks and joiners none).

Recorded model output is untrusted: ``\\x1b]0;...\\x07`` would retitle the user's terminal,
``\\x1b[2J`` clear it, a C1 ``\\x9b`` start a sequence on some terminals, a bidi override reorder
what is shown. :func:`clean` removes all of them; :func:`width`, :func:`cut` and :func:`pad`
measure in cells so CJK text and emoji keep columns aligned. Standard library only
(``unicodedata``).
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

__all__ = ["clean", "cut", "pad", "width"]

# ESC-introduced sequences (ECMA-48): CSI ... final byte, OSC/DCS/SOS/PM/APC ... terminated by
# BEL or ST, and two-character escapes. Their 8-bit C1 forms too (0x9b CSI, 0x9d OSC, ...).
_ESCAPES = re.compile(
    r"""
    (?:\x1b\[|\x9b)[0-?]*[ -/]*[@-~]?             # CSI
    | (?:\x1b[\]PX^_]|[\x90\x98\x9d\x9e\x9f])       # OSC, DCS, SOS, PM, APC ...
      [^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c)?         # ... up to BEL or ST (or the end)
    | \x1b[ -/]*[0-~]?                              # other escapes (ESC c, ESC ( B, ...)
    """,
    re.VERBOSE,
)
# Left over: C0 (but tab, turned to a space), DEL, C1, line and paragraph separators, and
# the bidirectional overrides and isolates (U+202A-202E, U+2066-2069), which reorder the text
# a terminal shows.
_CONTROLS = re.compile("[\x00-\x08\x0a-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def clean(text: str) -> str:
    """``text`` without escape sequences and control characters (tabs become spaces)."""
    if text.isprintable():
        return text  # the common case: nothing to strip (isprintable is false for all above)
    text = _ESCAPES.sub("", text)
    return _CONTROLS.sub("", text.replace("\t", " "))


_PRINTABLE_ASCII = re.compile("[ -~]*")

_ZERO_WIDTH_RANGES = (
    (0x1160, 0x11FF),  # Hangul Jamo medial vowels and final consonants
    (0x200B, 0x200F),  # zero width space, joiners, marks
    (0xFE00, 0xFE0F),  # variation selectors
    (0x1F3FB, 0x1F3FF),  # emoji skin tone modifiers (drawn into the emoji before them)
    (0xE0000, 0xE0FFF),  # tags, variation selectors supplement
)


@lru_cache(maxsize=4096)
def _char_width(ch: str) -> int:
    code = ord(ch)
    if code < 0x300:
        return 1 if code >= 0x20 and not 0x7F <= code < 0xA0 else 0
    for low, high in _ZERO_WIDTH_RANGES:
        if low <= code <= high:
            return 0
    category = unicodedata.category(ch)
    if category in ("Mn", "Me", "Cf", "Cc"):
        return 0
    return 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1


def width(text: str) -> int:
    """Cells ``text`` takes on a terminal. A character after a zero width joiner belongs to
    the emoji sequence before it and takes no cell of its own."""
    if text.isascii():
        if text.isprintable():
            return len(text)  # the common case, at C speed
        return sum(1 for ch in text if " " <= ch <= "~")
    total = 0
    joined = False
    for ch in text:
        if joined:
            joined = False
            continue
        if ch == "\u200d":
            joined = True
            continue
        total += _char_width(ch)
    return total


def cut(text: str, cells: int, ellipsis: str = "…") -> str:
    """``text`` cut to at most ``cells`` cells, ending in ``ellipsis`` when something was cut;
    a wide character is never split."""
    room = max(0, cells - width(ellipsis))
    # The printable ASCII the text begins with is one cell a character: skipped at C speed.
    ascii_head = _PRINTABLE_ASCII.match(text, 0, cells + 1).end()  # type: ignore[union-attr]
    if ascii_head > cells:
        return text[:room] + ellipsis
    if ascii_head == len(text):
        return text
    used, i, n = ascii_head, ascii_head, len(text)
    over = used > room
    end = room if over else 0  # the cut, when there is one: before the first char past room
    # One pass that stops as soon as the text is known not to fit (a long text is not measured
    # to its end), runs of printable ASCII taken whole.
    while i < n:
        ch = text[i]
        i += 1
        if ch == "\u200d":
            i += 1  # the character it joins to the one before takes no cell
            continue
        w = _char_width(ch)
        if not over and used + w > room:
            end, over = i - 1, True
        used += w
        if used > cells:
            return text[:end] + ellipsis
        run = _PRINTABLE_ASCII.match(text, i, i + cells - used + 1).end() - i  # type: ignore[union-attr]
        if run:
            if not over and used + run > room:
                end, over = i + room - used, True
            used += run
            i += run
            if used > cells:
                return text[:end] + ellipsis
    return text


def pad(text: str, cells: int) -> str:
    """``text`` padded with spaces on the right to ``cells`` cells."""
    return text + " " * max(0, cells - width(text))
