"""Redaction of well-known secret shapes (API keys, tokens, Authorization values).

Redaction runs on the encoded JSON line, not value by value: a cheap substring test per pattern
decides whether its regular expression runs at all, so a line with no secret costs a few
``bytes.__contains__`` calls. Only the ``secret`` group of a match is replaced, so
``Bearer abc...`` keeps its ``Bearer`` and a reader can still see what was there.
Standard library only.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

__all__ = ["DEFAULT_PATTERNS", "Redactor", "may_hold_builtin_secret", "redact_text"]

#: name -> (regular expression, literal substrings one of which every match contains).
#: A pattern's ``secret`` group, when it has one, is the part replaced.
DEFAULT_PATTERNS: dict[str, tuple[str, tuple[str, ...]]] = {
    "anthropic_key": (r"(?P<secret>sk-ant-[A-Za-z0-9_\-]{16,})", ("sk-ant-",)),
    "openai_key": (
        r"(?P<secret>sk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_\-]{20,})",
        ("sk-",),
    ),
    "aws_access_key_id": (r"(?P<secret>(?:AKIA|ASIA)[0-9A-Z]{16})\b", ("AKIA", "ASIA")),
    "github_token": (
        r"(?P<secret>(?:gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{22,}))",
        ("ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_"),
    ),
    "google_api_key": (r"(?P<secret>AIza[0-9A-Za-z_\-]{35})", ("AIza",)),
    "slack_token": (r"(?P<secret>xox[abposr]-[A-Za-z0-9\-]{15,})", ("xox",)),
    "bearer_token": (
        r"(?i:bearer)\s+(?P<secret>[A-Za-z0-9\-._~+/]{8,}=*)",
        ("Bearer", "bearer", "BEARER"),
    ),
    # "Authorization": "Basic ..." as a JSON key/value, or "Authorization: xyz" inside text.
    "authorization": (
        (
            r"(?i:authorization)(?:\"\s*:\s*\"|\s*[:=]\s*)"
            r"(?:(?i:basic|bearer|token|digest|negotiate)\s+)?"
            r"(?!\[REDACTED)(?!(?i:basic|bearer|token|digest|negotiate)\s)"
            r"(?P<secret>[^\s\"\\,;]{4,})"
        ),
        ("uthorization", "UTHORIZATION"),
    ),
}


#: Every match of a built-in pattern contains a run of at least this many token characters
#: ([A-Za-z0-9_-]) or one of the keywords below. Checked by a test for each pattern.
TOKEN_RUN = 20
KEYWORDS = (b"earer", b"uthorization")  # spelled out in may_hold_builtin_secret, for speed

_RUN_TABLE = bytes(
    ord("x") if chr(c).isascii() and (chr(c).isalnum() or chr(c) in "_-") else ord(" ")
    for c in range(256)
)
_RUN_NEEDLE = b"x" * TOKEN_RUN


# Every token-shaped built-in secret starts with one of these literals.
_TOKEN_START = re.compile(rb"sk-|AKIA|ASIA|gh[pousr]_|github_pat_|AIza|xox[abposr]-")


def may_hold_builtin_secret(data: bytes) -> bool:
    """Cheap screen: False means no built-in pattern can match ``data``.

    A few passes in C over the line instead of one search per pattern: the keywords of the
    ``bearer``/``authorization`` patterns are looked for in the lower-cased line, and every
    other built-in secret is a run of at least ``TOKEN_RUN`` token characters starting with a
    known prefix, so only such runs (found through a byte translation) are searched, each on
    its own few bytes. Long ids (trace ids, response ids) therefore cost a tiny regex search,
    not a scan of the whole line per pattern.
    """
    low = data.lower()
    if b"earer" in low or b"uthorization" in low:
        return True
    runs = data.translate(_RUN_TABLE)
    start = runs.find(_RUN_NEEDLE)
    while start >= 0:
        end = runs.find(b" ", start)
        if end < 0:
            end = len(runs)
        if _TOKEN_START.search(data, start, end):
            return True
        start = runs.find(_RUN_NEEDLE, end)
    return False


def _marker(name: str) -> str:
    return f"[REDACTED:{name}]"


@dataclass(frozen=True)
class _Pattern:
    name: str
    regex_b: re.Pattern[bytes]
    regex_s: re.Pattern[str]
    literals: tuple[bytes, ...]
    replacement: bytes

    def sub_bytes(self, data: bytes) -> tuple[bytes, int]:
        if self.literals and not any(lit in data for lit in self.literals):
            return data, 0
        return self.regex_b.subn(self._repl_b, data)

    def _repl_b(self, m: re.Match[bytes]) -> bytes:
        if "secret" in self.regex_b.groupindex and m.group("secret") is not None:
            whole = m.group(0)
            start = m.start("secret") - m.start(0)
            end = m.end("secret") - m.start(0)
            return whole[:start] + self.replacement + whole[end:]
        return self.replacement

    def sub_text(self, text: str) -> str:
        rep = self.replacement.decode()

        def repl(m: re.Match[str]) -> str:
            if "secret" in self.regex_s.groupindex and m.group("secret") is not None:
                whole = m.group(0)
                start = m.start("secret") - m.start(0)
                end = m.end("secret") - m.start(0)
                return whole[:start] + rep + whole[end:]
            return rep

        return self.regex_s.sub(repl, text)


class Redactor:
    """Replaces secret shapes in encoded lines and in text.

    ``patterns`` adds patterns (a mapping of name to regular expression, or an iterable of
    regular expressions, named ``custom_N``); ``defaults=False`` drops the built-in ones.
    A pattern that does not compile raises ``re.error`` here, at construction.
    """

    def __init__(
        self,
        patterns: Mapping[str, str] | Iterable[str] = (),
        *,
        defaults: bool = True,
    ) -> None:
        compiled: list[_Pattern] = []
        if defaults:
            for name, (rx, lits) in DEFAULT_PATTERNS.items():
                compiled.append(self._compile(name, rx, lits))
        extra = (
            dict(patterns)
            if isinstance(patterns, Mapping)
            else {f"custom_{i}": p for i, p in enumerate(patterns, 1)}
        )
        self.custom = bool(extra)
        for name, rx in extra.items():
            compiled.append(self._compile(name, rx, ()))
        self._patterns = tuple(compiled)
        # With only built-in patterns a cheap screen decides whether any regex runs at all.
        self._screen = not self.custom

    @staticmethod
    def _compile(name: str, rx: str, literals: tuple[str, ...]) -> _Pattern:
        return _Pattern(
            name=name,
            regex_b=re.compile(rx.encode("utf-8")),
            regex_s=re.compile(rx),
            literals=tuple(lit.encode("utf-8") for lit in literals),
            replacement=_marker(name).encode("utf-8"),
        )

    @property
    def names(self) -> tuple[str, ...]:
        """The names of the active patterns, in the order they run."""
        return tuple(p.name for p in self._patterns)

    def redact_bytes(self, data: bytes) -> tuple[bytes, int]:
        """Return ``data`` with secrets replaced, and how many were replaced."""
        if self._screen and not may_hold_builtin_secret(data):
            return data, 0
        total = 0
        for pat in self._patterns:
            data, n = pat.sub_bytes(data)
            total += n
        return data, total

    def redact_text(self, text: str) -> str:
        """Return ``text`` with secrets replaced."""
        for pat in self._patterns:
            text = pat.sub_text(text)
        return text

    def redact_value(self, value: object) -> object:
        """Return a copy of a JSON-native value with every string redacted (keys included)."""
        if isinstance(value, str):
            return self.redact_text(value)
        if isinstance(value, dict):
            return {self.redact_text(str(k)): self.redact_value(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [self.redact_value(v) for v in value]
        return value


_DEFAULT: Redactor | None = None


def redact_text(text: str) -> str:
    """Redact ``text`` with the built-in patterns."""
    global _DEFAULT
    if _DEFAULT is None:
        _DEFAULT = Redactor()
    return _DEFAULT.redact_text(text)
