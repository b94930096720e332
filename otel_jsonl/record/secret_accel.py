"""An optional compiled prefilter for the secret scan: Hyperscan, when it is installed.

The scan of :mod:`.secret_scan` runs in ``re``: it stops at every separator and every byte a
prefix may hold, and a line dense with JSON keys or identifiers has one of those every few bytes
(tens of nanoseconds each). Hyperscan looks for what a verifier can accept there, on the original
bytes, in one vectorised pass whose cost hardly depends on the stops: a secret-named key before
``:`` or ``=``, a token prefix in the case its format has, ``Bearer``, ``-----BEGIN``, a URL
with user info, a Slack webhook. It reports the stops where those are; the scan's own pattern is
then tried at those stops alone (``Pattern.match``), so every candidate is one of
:func:`.secret_scan.forward_candidates`, and the candidates it leaves out are ones no verifier
accepts (tests hold both to the same secrets on the corpus and on hypothesis properties). A line
with no such stop costs one call.

Hyperscan is optional (``pip install otel-jsonl[fast]``): without it, or with
``OTEL_JSONL_NO_ACCEL`` set, the scan runs in the standard library alone, with the same verdicts.
It is imported and compiled on the first scan (tens of milliseconds), not at start-up.
"""

from __future__ import annotations

import os
import threading

from .secret_scan import _KEY_TAILS, _TAIL_LETTERS, FOLD_TABLE, scan

TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover - typing is not imported at run time (start-up cost)
    from collections.abc import Callable
    from typing import Any

    #: Where in a line the scan may stop, ascending and distinct (empty: no candidate at all).
    Stops = Callable[[bytes], list[int]]

__all__ = ["accelerated_candidates", "stops_finder"]

# What a candidate must start with to be verified, exactly as the verifiers read it (their
# patterns are case-sensitive): a token's prefix up to the byte the scan stops at, with how many
# bytes back from the end of the match that stop is. A secret-named key, ``Bearer``, a key
# block and a URL's user info follow.
_TOKENS = (
    (rb"(?:sk[\-_]|rk_|hf_|xai-|gsk_|npm_|gh[pousr]_|github_|pypi-|xox[abposre]-|xapp-)", 1),
    (rb"(?:glpat-|whsec_|eyJ)", 1),
    (rb"(?:SG|ya29)\.", 2),  # the stop is the G or the 9
    (rb"A(?:KIA|SIA|Iza)", 4),  # the stop is the first A
    (rb"Bearer ", 7),
    (rb"-----BEGIN ", 11),
    (rb"://hooks\.slack\.com/services/T", len(b"://hooks.slack.com/services/T")),
)
_URL = 0  # the stop of a URL's user info: the last ``://`` before the match's end
_USER_INFO = rb"://[^/\s\"'\\@:]*:[^/\s\"'\\@]*@"  # unbounded: compiles in 1 ms, not 22
# A key's separator is ``:`` or ``=`` (the verifier reads nothing else), after up to one quote
# (``"``, ``'``, ``\"`` or a space), after a name ending in one of the key names' last letters.
_KEY_QUOTE = rb"""(?:"|'|\\"|\x20)?[:=]"""


def _patterns() -> list[tuple[bytes, int, bool]]:
    """The prefilter's patterns: (pattern, where its stop is, caseless). The stop is ``n``
    bytes back from the match's end for ``n > 0``; for ``_URL``, the last ``://`` before it."""
    tails = sorted({name[-_TAIL_LETTERS:].encode("ascii") for name in _KEY_TAILS})
    return [
        (b"(?:" + b"|".join(tails) + b")" + _KEY_QUOTE, 1, True),
        *((rx, back, False) for rx, back in _TOKENS),
        (_USER_INFO, _URL, False),
    ]


def _prefilter(hs: Any) -> Stops:
    """The prefilter's function: the patterns compiled into one Hyperscan database, scanned
    with a scratch space per thread (a scratch serves one scan at a time)."""
    patterns = _patterns()
    backs = [back for _, back, _ in patterns]
    db = hs.Database()
    db.compile(
        expressions=[rx for rx, _, _ in patterns],
        ids=list(range(len(patterns))),
        elements=len(patterns),
        flags=[hs.HS_FLAG_CASELESS if caseless else 0 for _, _, caseless in patterns],
    )
    scan = db.scan
    new_scratch = hs.Scratch
    local = threading.local()

    def hit(i: int, start: int, end: int, flags: int, found: list[int]) -> None:
        back = backs[i]
        found.append(end - back if back else ~end)  # a URL's end, marked: its stop is found after

    def stops(data: bytes) -> list[int]:
        try:
            scratch = local.scratch
        except AttributeError:
            scratch = local.scratch = new_scratch(db)
        found: list[int] = []
        # Positional arguments: parsing keywords costs the binding as much as a 200 B scan.
        scan(data, hit, 0, found, scratch)
        if not found:
            return found
        # A URL's user info holds no ``/``: its ``://`` is the last one before the ``@``.
        found = [pos if pos >= 0 else data.rfind(b"://", 0, ~pos) for pos in found]
        return sorted(set(found)) if len(found) > 1 else found

    stops(b"sk-")  # fail here, at load, rather than on a user's line
    return stops


_LOADED: list[Stops | None] = []
_LOCK = threading.Lock()


def stops_finder() -> Stops | None:
    """The prefilter's function (bytes -> stops), or None: Hyperscan not installed, switched
    off with ``OTEL_JSONL_NO_ACCEL``, or failing to load (the scan then runs in ``re``)."""
    if _LOADED:
        return _LOADED[0]
    with _LOCK:
        if not _LOADED:
            _LOADED.append(_load())
    return _LOADED[0]


def _load() -> Stops | None:
    if os.environ.get("OTEL_JSONL_NO_ACCEL"):
        return None
    try:
        import hyperscan

        return _prefilter(hyperscan)
    except Exception:  # broad: no accelerator (not installed, no CPU support) means re
        return None


# How far the scan's pattern reads around a stop: back, a key name's last letters, its quotes
# and the byte before a prefix (at most about 10 bytes); ahead, a URL's user info (``://``, up
# to 256 bytes, ``@``). A window of the line that wide, folded alone, gives the same match.
_BEHIND = 32
_AHEAD = 300
_WINDOW = _BEHIND + _AHEAD


def accelerated_candidates(
    data: bytes, stops: list[int], start: int = 0, windowed: bool | None = None
) -> list[tuple[int, str, int]]:
    """The candidates of :func:`.secret_scan.forward_candidates` at the prefilter's stops: the
    scan's own pattern tried at each stop from ``start`` on (its lookbehinds read before it),
    in the line folded whole, or (``windowed``; by default for a long line with few stops) in a
    window of the line around each stop, folded alone (folding 64 KB costs about 70 µs, a
    window a third of a microsecond)."""
    rx, leaves = scan()
    match = rx.match
    if windowed is None:
        windowed = len(stops) * _WINDOW < len(data)
    folded = b"" if windowed else data.translate(FOLD_TABLE)
    found = []
    for pos in stops:
        if pos < start:
            continue
        if windowed:
            lo = pos - _BEHIND if pos > _BEHIND else 0
            m = match(data[lo : pos + _AHEAD].translate(FOLD_TABLE), pos - lo)
        else:
            m = match(folded, pos)
        if m is not None:
            found.append((pos, *leaves[m.lastindex or 0]))
    return found
