"""The one scan of the redactor: where in a line a secret of any family may be, found by one
``bytes.translate`` and one regular expression, both in C. What is found there is judged by
:mod:`.secrets`. Standard library only.
"""

from __future__ import annotations

import itertools
import re

TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover - typing is not imported at run time (start-up cost)
    from collections.abc import Iterable
    from typing import Any

__all__ = ["FOLD_TABLE", "Leaf", "scan"]

# Every candidate of every family sits at one of a few bytes: a separator (``:`` ``=``), the
# punctuation of a prefix (``sk-``, ``hf_``, ``-----BEGIN``), or a rare capital or digit in one
# (``AKIA``/``ASIA``/``AIza``, ``Bearer``, ``SG.``, ``eyJ``, ``ya29.``). One ``translate`` folds
# them all into ``:`` (and upper case into lower case), so that one regular expression that
# starts with the literal ``:`` finds every candidate: ``re`` then compares bytes to ``:`` in its
# tight C loop (a pattern starting with a set of bytes is five to ten times slower: it calls a
# set test per byte), and at each ``:`` reads the bytes before it against a trie of key names
# and prefixes built backwards, so that most stops fail on the first byte or two. The folded
# bytes keep their offsets: each candidate is verified on the original bytes.
_FOLDED = b"=-_ABGJ9"
FOLD_TABLE = bytes(
    ord(":") if c in _FOLDED else (c + 32 if 65 <= c <= 90 else c) for c in range(256)
)
_FOLDED_PEM = b"-----BEGIN ".translate(FOLD_TABLE)

# Key names whose value is a secret, by their last letters before a separator (then judged
# exactly in Python), and the quotes that may sit between a name and its separator: none,
# JSON, Python repr or JSON inside a JSON string before `:`, none or a space before `=`.
_KEY_TAILS = (
    "password",
    "passwd",
    "pwd",
    "pass",
    "passphrase",
    "secret",
    "token",
    "key",
    "auth",
    "authorization",
    "cookie",
    "credential",
    "credentials",
    "sig",
    "signature",
)
_KEY_QUOTES = {58: ("", '"', "'", '\\"'), 61: ("", " ")}  # "password": / password = ...
_TAIL_LETTERS = 6  # "zation", not "tion": "operation" and "temperature" are no candidates
# Token prefixes by the letters before their folded byte: ``sk-`` and ``sk_live_`` are ``sk``,
# ``eyJ`` is ``ey``, ``SG.`` is ``s`` (then a dot), ``ya29.`` is ``ya2`` (then a dot).
_PREFIXES = (
    "sk", "rk", "hf", "xai", "gsk", "npm", "ghp", "gho", "ghu", "ghs", "ghr", "github", "pypi",
    "xoxa", "xoxb", "xoxp", "xoxo", "xoxs", "xoxr", "xoxe", "xapp", "glpat", "whsec", "ey",
)  # fmt: skip
_DOTTED = ("s", "ya2")

#: What a candidate of the scan is, by the number of its leaf group: (what, offset back from
#: the folded byte to the start of the candidate).
Leaf = tuple[str, int]


def _reverse_trie(seqs: Iterable[tuple[tuple[str, ...], str]]) -> dict[str, Any]:
    """A trie of byte sequences read backwards from the folded byte; leaves hold regex tails."""
    trie: dict[str, Any] = {}
    for seq, leaf in seqs:
        node = trie
        for atom in reversed(seq):
            node = node.setdefault(atom, {})
        node.setdefault("", []).append(leaf)
    return trie


def _emit(node: dict[str, Any]) -> str:
    """The trie as nested lookbehinds of two bytes each: the byte before the one just matched,
    as one alternative per byte that ``re`` skips on a single compare, then its own subtrie,
    so that a stop costs a compare or two unless a name or prefix is really there."""
    leaves = node.get("", [])
    children = [(atom, child) for atom, child in sorted(node.items()) if atom]
    if not children:
        return leaves[0] if len(leaves) == 1 else "(?:" + "|".join(leaves) + ")"
    back = "(?<=(?:" + "|".join(atom + _emit(child) for atom, child in children) + ").)"
    return "(?:" + "|".join([back, *leaves]) + ")" if leaves else back


def _build_scan() -> tuple[re.Pattern[bytes], list[Leaf]]:
    named: list[Leaf] = []

    def leaf(what: str, offset: int, tail: str = "") -> str:
        named.append((what, offset))
        return f"{tail}(?P<l{len(named) - 1}>)"

    def variants(text: str, exact: bool = False) -> list[tuple[str, ...]]:
        # A letter whose capital is folded may be either ("PASSWD" is "p:sswd"): one sequence
        # per spelling, as ``re`` skips a literal alternative far quicker than a set.
        folded = text.encode("ascii").translate(FOLD_TABLE).decode("ascii")
        options = [(c, ":") if c in "abgj" and not exact else (c,) for c in folded]
        return [tuple(re.escape(c) for c in seq) for seq in itertools.product(*options)]

    seqs = []
    for tail in _KEY_TAILS:
        for q in sorted({q for qs in _KEY_QUOTES.values() for q in qs}):
            for seq in variants(tail[-_TAIL_LETTERS:] + q):
                seqs.append((seq, leaf("key", 0)))
    for prefix in _PREFIXES:
        # No letter or digit before the prefix: ``task-`` and ``whisk-`` stop here.
        for seq in variants(prefix, exact=True):
            seqs.append((seq, leaf("token", len(prefix), "(?<![a-z0-9].)")))
    alts = [
        "//(?:[^/\\s\"'\\\\@]{0,256}@|hooks\\.slack\\.com/)" + leaf("url", 0),
        "(?:ki:|si:|iza)" + leaf("token", 0),  # AKIA ASIA AIza
        "earer " + leaf("bearer", 0),
        re.escape(_FOLDED_PEM[1:].decode("ascii")) + leaf("pem", 0),
        *(f"\\.(?<=(?<![a-z0-9]){prefix}:\\.)" + leaf("token", len(prefix)) for prefix in _DOTTED),
        _emit(_reverse_trie(seqs)),
    ]
    rx = re.compile((":(?:" + "|".join(alts) + ")").encode("ascii"), re.DOTALL)
    leaves = [("", 0)] * (rx.groups + 1)  # by group number, as ``Match.lastindex`` gives it
    for name, number in rx.groupindex.items():
        leaves[number] = named[int(name[1:])]
    return rx, leaves


_SCAN: list[tuple[re.Pattern[bytes], list[Leaf]]] = []


def scan() -> tuple[re.Pattern[bytes], list[Leaf]]:
    """The compiled scan and what each of its leaves is (built on first use: compiling the trie
    costs milliseconds, which every command's start-up would pay)."""
    if not _SCAN:
        _SCAN.append(_build_scan())
    return _SCAN[0]
