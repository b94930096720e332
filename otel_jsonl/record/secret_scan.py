"""The scan of the redactor: where in a line a secret of any family may be, found by one
``bytes.translate`` and one regular expression (or, in a line dense with stops, one reversal and
two), all in C. What is found there is judged by :mod:`.secrets`. Standard library only.
"""

from __future__ import annotations

import itertools
import re

TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover - typing is not imported at run time (start-up cost)
    from collections.abc import Iterable
    from typing import Any

__all__ = [
    "FOLD_TABLE",
    "Leaf",
    "dense_candidates",
    "dense_scan",
    "find_candidates",
    "forward_candidates",
    "is_dense",
    "scan",
]

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


# -- lines dense with stops: the line reversed, key stops and token stops apart ----------------

_KEY_STOPS = b":="
_TOKEN_STOPS = b"-_ABGJ9Zz"  # z: AIza reads backwards from it (z is rare in text)
DENSE_FOLD = bytes(
    58
    if c in _KEY_STOPS
    else 59
    if c in _TOKEN_STOPS
    else 34
    if c == 92  # a backslash as a quote: ``\\"`` is two quotes before a key's stop
    else c + 32
    if 65 <= c <= 90
    else c
    for c in range(256)
)


#: The scans of a dense line: the key scan, the token scan, what each token leaf is.
Scans = tuple[re.Pattern[bytes], re.Pattern[bytes], list[Leaf]]
DENSE_MIN = 512  # a shorter line: one pass is cheaper, whatever its stops
DENSE_STOPS = 8  # stops in the middle 256 bytes


def _emit_forward(node: dict[str, Any]) -> str:
    """A trie of literals (read forwards in the reversed line) as nested alternations: one
    alternative per next byte, which ``re`` skips on a single compare; leaves marked first
    (a format read before any longer name) are tried before the children, the others after."""
    leaves = node.get("", [])
    alts = [tail for tail, first in leaves if first]
    alts += [re.escape(atom) + _emit_forward(child) for atom, child in sorted(node.items()) if atom]
    alts += [tail for tail, first in leaves if not first]
    return alts[0] if len(alts) == 1 else "(?:" + "|".join(alts) + ")"


def _dense_variants(text: str, exact: bool = False) -> list[str]:
    """``text`` folded, once per spelling: a letter whose capital is folded may be either
    (``PASSWD`` is ``p;sswd``), as ``re`` skips a literal alternative far quicker than a set."""
    folded = text.encode("ascii").translate(DENSE_FOLD).decode("ascii")
    options = [(c, ";") if c in "abgjz" and not exact else (c,) for c in folded]
    return ["".join(seq) for seq in itertools.product(*options)]


def _trie(seqs: list[tuple[str, str, bool]]) -> str:
    """The sequences (bytes before the stop, then the leaf's regex, first or not) as one trie
    read from the stop backwards."""
    trie: dict[str, Any] = {}
    for text, tail, first in seqs:
        node = trie
        for atom in reversed(text):  # the bytes before the stop, nearest first
            node = node.setdefault(atom, {})
        node.setdefault("", []).append((tail, first))
    return _emit_forward(trie)


def _build_dense() -> Scans:
    # Keys: up to two quotes between name and separator (one op, possessive: none, ``"``,
    # ``\\"``, ``'`` or a space, checked exactly in Python), then the name's last letters.
    tails = sorted({v for name in _KEY_TAILS for v in _dense_variants(name[-_TAIL_LETTERS:])})
    quote = "[\"'\\x20]{0,2}+"
    keys = re.compile((":" + quote + _trie([(t, "", False) for t in tails])).encode("ascii"))
    named: list[Leaf] = []

    def leaf(what: str, offset: int, tail: str = "") -> str:
        named.append((what, offset))
        return f"{tail}(?P<l{len(named) - 1}>)"

    seqs = []
    for prefix in _PREFIXES:
        # No letter or digit before the prefix: ``task-`` and ``whisk-`` stop here.
        seqs.append((prefix, leaf("token", len(prefix), "(?![a-z0-9])"), False))
    for prefix in _DOTTED:
        # ``SG.`` and ``ya29.``: the dot after the stop is before it in the reversed line.
        back = re.escape(prefix[::-1])
        seqs.append((prefix, leaf("token", len(prefix), f"(?![a-z0-9])(?<=\\.;{back})"), True))
    # Formats that start at a stop but read backwards from a later one, reported at their
    # first byte: AKIA/ASIA from their last A, AIza from its z, a key block from the G of
    # ``-----BEGIN``, a Slack webhook from the B of its ``/B…/`` part back to ``//hooks``.
    for head in (";ki", ";si"):
        seqs.append((head, leaf("akia", 3), True))
    seqs.append((";i", leaf("aiza", 2, "(?<=a;i;)"), True))
    pem = "-----BEGIN ".encode("ascii").translate(DENSE_FOLD).decode("ascii")
    seqs.append((pem[:7], leaf("pem", 7, f"(?<={re.escape(pem[::-1])})"), True))
    hook = "[a-z0-9;]+t/secivres/moc\\.kcals\\.skooh//[:;]" + leaf("hook", 0)
    seqs.append(("/", hook, True))
    tokens = re.compile((";" + _trie(seqs)).encode("ascii"))
    leaves = [("", 0)] * (tokens.groups + 1)  # by group number, as ``Match.lastindex`` gives
    for name, number in tokens.groupindex.items():
        leaves[number] = named[int(name[1:])]
    return keys, tokens, leaves


_DENSE: list[Scans] = []
# A URL's user info (``scheme://user:pass@``) or a Slack webhook after a stop (the folded line,
# forwards): looked for only where the line holds an ``@`` or a webhook, and tried at a key's
# stop followed by ``//`` (a URL there is a URL, not the key's value).
_URL = re.compile(rb"//(?:[^/\s\"'\\@]{0,256}@|hooks\.slack\.com/)")
# What comes first at a key's stop, as one scan of every stop would try it: AKIA/ASIA/AIza,
# Bearer or a key block starting there (none of which a separator can start) hides the key.
_AHEAD = re.compile(
    rb"[Kk][Ii][:=\-_ABGJ9]|[Ss][Ii][:=\-_ABGJ9]|[Ii][Zz]a|[Ee]a[Rr][Ee][Rr] "
    rb"|[:=\-_ABGJ9]{5}[Ee][:=\-_ABGJ9][Ii][Nn] "
)
_START = {"akia": "token", "aiza": "token", "pem": "pem"}
# The quotes a key name may end with before its stop (as the forward scan reads them).
_QUOTES = re.compile(rb"(?:[^\"'\\ ]|^)(?:|\"|'|\\\"| )\Z")


def dense_scan() -> Scans:
    """The scans of a line dense with stops (over the folded line reversed) and what each leaf
    of the token scan is (built on first use)."""
    if not _DENSE:
        _DENSE.append(_build_dense())
    return _DENSE[0]


def dense_candidates(data: bytes) -> list[tuple[int, str, int]]:
    """:func:`find_candidates` in a line dense with stops: the key stops and the token stops
    (folded apart) scanned apart, in the folded line reversed."""
    keys, tokens, leaves = dense_scan()
    folded = data.translate(DENSE_FOLD)
    rev = bytearray(folded)
    rev.reverse()
    km = keys.search(rev)
    tm = tokens.search(rev)
    urls = b"@" in data
    bearer = data.find(b"Bearer ") if b"B" in data else -1
    if km is None and tm is None and not urls and bearer < 0:
        return []  # the common case: nothing at all
    last = len(data) - 1
    found: dict[int, tuple[int, str, int]] = {}  # stop -> (rank, what, offset)
    while km is not None:
        j = km.start()
        pos = last - j
        if folded.startswith(b"//", pos + 1) and _URL.match(folded, pos + 1):
            _put(found, pos, 0, "url", 0)
        elif _QUOTES.search(data, max(0, pos - 3), pos) and not _AHEAD.match(data, pos + 1):
            _put(found, pos, 2, "key", 0)
        km = keys.search(rev, j + 1)
    while tm is not None:
        j = tm.start()
        pos = last - j
        what, offset = leaves[tm.lastindex or 0]
        if what == "hook":  # its stop is the ``:`` before ``//hooks``, where the match ends
            _put(found, last - tm.end() + 1, 0, "url", 0)
        elif what in _START:  # AKIA, AIza and a key block are reported at their first byte
            if what != "aiza" or data[pos] in b"zZ":
                _put(found, pos - offset, 1, _START[what], 0)
        else:
            _put(found, pos, 2, what, offset)
        tm = tokens.search(rev, j + 1)
    while bearer >= 0:  # ``Bearer`` reads forwards from its B: found apart, exactly
        _put(found, bearer, 1, "bearer", 0)
        bearer = data.find(b"Bearer ", bearer + 1)
    if urls:
        u = _URL.search(folded)
        while u is not None:
            pos = u.start() - 1
            if pos >= 0 and folded[pos] in b":;" and data[pos] not in b";Zz":
                _put(found, pos, 0, "url", 0)
            u = _URL.search(folded, u.start() + 1)
    return [(pos, found[pos][1], found[pos][2]) for pos in sorted(found)]


def _put(found: dict[int, tuple[int, str, int]], pos: int, rank: int, what: str, off: int) -> None:
    """Keep at ``pos`` the candidate of the lowest rank (the family one scan of every stop
    would try first there: a URL, then a format starting at the stop, then a name or prefix)."""
    old = found.get(pos)
    if old is None or rank < old[0]:
        found[pos] = (rank, what, off)


def find_candidates(data: bytes) -> list[tuple[int, str, int]]:
    """The stops in ``data`` where a family may be, ascending: (position of the stop, what,
    offset back from it to the start of the candidate). At most one per stop.

    One scan forwards costs the least in a line with few stops (most lines): a stop costs tens
    of nanoseconds there (``re`` reads a name backwards through nested lookbehinds), the line
    one translate and one pass. A line of 512 bytes or more dense with stops (JSON arguments,
    code, listings: one in 32 bytes or more in its middle 256 bytes) is scanned reversed
    instead (:func:`dense_candidates`), where a stop costs a third of that, for two passes
    more."""
    folded = data.translate(FOLD_TABLE)
    if is_dense(folded):
        return dense_candidates(data)
    return forward_candidates(folded)


def forward_candidates(folded: bytes) -> list[tuple[int, str, int]]:
    """:func:`find_candidates` by the one scan forwards, in a line folded by ``FOLD_TABLE``."""
    rx, leaves = scan()
    found = []
    m = rx.search(folded)
    while m is not None:
        pos = m.start()
        found.append((pos, *leaves[m.lastindex or 0]))
        m = rx.search(folded, pos + 1)
    return found


def is_dense(folded: bytes) -> bool:
    """True for a folded line of 512 bytes or more with a stop in 32 bytes or more in its
    middle 256 bytes (a count there costs a twentieth of a scan of 4 KB)."""
    n = len(folded)
    return n >= DENSE_MIN and folded.count(58, n // 2 - 128, n // 2 + 128) >= DENSE_STOPS
