"""How the redactor judges a candidate: key names (which ones hold secrets, and how surely),
placeholders and words that are not secrets, random-looking bodies, GitHub's and npm's
checksums, and where a JSON or bare value ends. Standard library only.
"""

from __future__ import annotations

import re
import zlib

TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover - typing is not imported at run time (start-up cost)
    from typing import Any, AnyStr

__all__ = [
    "UUID",
    "bare_end",
    "checksum_ok",
    "is_placeholder",
    "json_string_end",
    "key_kind",
    "lazy_compile",
    "plausible",
    "randomish",
]

_B62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


class _LazyPattern:
    """A regular expression compiled on first use (Python compiles one in tenths of a
    millisecond, and these are only needed once a candidate is found)."""

    __slots__ = ("_args", "_rx")

    def __init__(self, pattern: str | bytes, flags: int) -> None:
        self._args = (pattern, flags)
        self._rx: re.Pattern[Any] | None = None

    def __getattr__(self, name: str) -> Any:
        rx = self._rx
        if rx is None:
            rx = self._rx = re.compile(*self._args)
        return getattr(rx, name)


def lazy_compile(pattern: AnyStr, flags: int = 0) -> re.Pattern[AnyStr]:
    """``re.compile``, deferred to the pattern's first use."""
    return _LazyPattern(pattern, flags)  # type: ignore[return-value]  # a stand-in, as typed


_CAMEL = lazy_compile(r"(?<=[a-z0-9])(?=[A-Z])")

# Key-name rules: the last segment of the name (snake_case, kebab-case and camelCase split).
_PASSWORD_TAILS = frozenset({"password", "passwd", "pwd", "passphrase"})
_STRONG_KEY_HEADS = frozenset(
    {
        "api",
        "apikey",
        "secret",
        "access",
        "private",
        "encryption",
        "encrypt",
        "signing",
        "sign",
        "master",
        "account",
        "subscription",
        "client",
        "auth",
        "app",
        "license",
        "service",
        "shared",
        "webhook",
        "deploy",
        "ssh",
        "session",
        "hmac",
        "admin",
        "root",
        "storage",
        "consumer",
    }
)
_WEAK_TOKEN_HEADS = frozenset(
    {"next", "page", "continuation", "cursor", "max", "input", "output", "total", "num", "csrf"}
)
_PLACEHOLDER_WORDS = frozenset(
    {
        "changeme",
        "change_me",
        "replace_me",
        "replaceme",
        "password",
        "secret",
        "token",
        "example",
        "dummy",
        "none",
        "null",
        "redacted",
        "undefined",
        "your_api_key",
        "your-api-key",
        "your_api_key_here",
        "your-api-key-here",
        "api_key",
        "apikey",
        "xxx",
        "true",
        "false",
    }
)


def is_placeholder(value: bytes) -> bool:
    """True for ``sk-...``, ``YOUR_API_KEY``, ``$VAR``, ``${VAR}``, ``<key>``, ``xxxx`` runs."""
    v = value.strip(b"\"'\\ ")
    if not v:
        return True
    first = v[:1]
    if first in (b"$", b"%", b"<", b"{", b"[", b"*", b"#") or v.endswith((b"...", b"\xe2\x80\xa6")):
        return True
    low = v.lower()
    if low.decode("utf-8", "replace") in _PLACEHOLDER_WORDS:
        return True
    if b"your" in low and (b"key" in low or b"token" in low or b"secret" in low):
        return True
    if low.startswith((b"process.env", b"os.environ", b"env.", b"secrets.")):
        return True
    # A run of five identical characters (xxxxx, *****, 00000) marks a made-up value.
    run = 1
    for i in range(1, len(v)):
        run = run + 1 if v[i] == v[i - 1] else 1
        if run >= 5:
            return True
    return False


_RUNS = lazy_compile(rb"[A-Za-z0-9]{8,}")
UUID = lazy_compile(rb"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


def randomish(body: bytes) -> bool:
    """True when ``body`` looks generated: a run of eight letters and digits or more that mixes
    two of upper case, lower case and digits (not words and numbers joined by separators, like
    ``learn-model-selection-2024`` or ``user:123:profile``)."""
    for m in _RUNS.finditer(body):
        run = m.group()
        upper = lower = digit = False
        for c in run:
            if 65 <= c <= 90:
                upper = True
            elif 97 <= c <= 122:
                lower = True
            else:
                digit = True
        if upper + lower + digit >= 2:
            return True
    return False


def plausible(value: bytes) -> bool:
    """A value after ``key: `` in prose that may be a secret: no placeholder, four characters
    or more, and a digit, a symbol or mixed case (``hunter2``, not ``pending``)."""
    if len(value) < 4 or is_placeholder(value):
        return False
    return not (value.isalpha() and (value.islower() or value.isupper() or value.istitle()))


def _b62(n: int) -> str:
    out = ""
    while n:
        n, r = divmod(n, 62)
        out = _B62[r] + out
    return out.rjust(6, "0")


def checksum_ok(token: bytes) -> bool:
    """GitHub's and npm's token checksum: the last six characters are the CRC32 of the 30
    random ones before them, in base62."""
    body, check = token[-36:-6], token[-6:]
    return _b62(zlib.crc32(body)) == check.decode("ascii", "replace")


_KINDS: dict[tuple[str, bool], tuple[str, str] | None] = {}  # key_kind's answers, by name
_KINDS_MAX = 4096


def key_kind(name: str, uppercase_env: bool) -> tuple[str, str] | None:
    """(kind, strength) for a key name, strength ``strong`` (any value is a secret), ``weak``
    (only a random-looking value is) or ``auth``/``cookie``/``sig`` (their own rules).
    Remembered by name: the same few names come back on every line (about 1.7 µs saved)."""
    key = (name, uppercase_env)
    try:
        return _KINDS[key]
    except KeyError:
        pass
    if len(_KINDS) >= _KINDS_MAX:
        _KINDS.clear()
    kind = _KINDS[key] = _key_kind(name, uppercase_env)
    return kind


def _key_kind(name: str, uppercase_env: bool) -> tuple[str, str] | None:
    snake = _CAMEL.sub("_", name).lower().replace("-", "_").replace(".", "_")
    parts = [p for p in snake.split("_") if p]
    if not parts:
        return None
    tail = parts[-1]
    head = parts[-2] if len(parts) > 1 else ""
    if tail in _PASSWORD_TAILS or (tail == "pass" and head):
        return "password", "strong"
    if tail.endswith(("password", "passwd")):
        return "password", "strong"
    if tail == "secret" or tail.endswith("secret"):
        return "secret", "strong"
    if tail in ("token", "accesstoken", "authtoken", "apitoken"):
        if not head and tail == "token":
            return "token", "weak"
        if head in _WEAK_TOKEN_HEADS:
            return "token", "weak"
        return "token", "strong"
    if tail == "key" or tail.endswith(("apikey", "accountkey")):
        if tail != "key" or head in _STRONG_KEY_HEADS or uppercase_env:
            return "api_key", "strong"
        return "api_key", "weak"
    if tail in ("authorization", "auth"):
        return "authorization", "auth"
    if tail == "cookie":
        return "cookie", "cookie"
    if tail in ("credential", "credentials"):
        return "credential", "strong"
    if tail in ("sig", "signature"):
        return "signature", "sig"
    return None


def json_string_end(data: bytes, i: int, quote: bytes) -> int:
    """Index of the closing ``quote`` (``"`` or ``\\"``) of a string whose content starts at i."""
    n = len(data)
    if quote == b'"':
        while i < n:
            j = data.find(b'"', i)
            if j < 0:
                return n
            k = j
            while k > i and data[k - 1] == 92:  # backslash
                k -= 1
            if (j - k) % 2 == 0:
                return j
            i = j + 1
        return n
    j = data.find(quote, i)
    return n if j < 0 else j


_BARE_END = lazy_compile(rb"[\s\"'\\,;&<>(){}\[\]]")
_ASSIGNED_END = lazy_compile(rb"[\s\"'\\;]")


def bare_end(data: bytes, i: int, query: bool = True) -> int:
    """Where an unquoted value starting at ``i`` ends: at a space, a quote, an escape or a
    delimiter; a value assigned outside a query string (``DB_PASSWORD=a&b,c``) ends only at a
    space, a quote, an escape or ``;``."""
    m = (_BARE_END if query else _ASSIGNED_END).search(data, i)
    return m.end() - 1 if m else len(data)
