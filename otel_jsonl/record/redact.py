"""Secret redaction: find credentials in encoded lines and text, replace each with its kind and
a short fingerprint (``[REDACTED:github_token:3f9a]``).

:class:`Redactor` runs the built-in families (:mod:`.secrets`: three scans that find candidate
positions in C, then a verifier per candidate), your added patterns, an allow-list and an
opt-in PII hook. Works on encoded JSON lines (values inside JSON strings, JSON-escaped quotes
included, dict keys too) and on plain text alike. Standard library only.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping

from .secret_checks import lazy_compile
from .secrets import FAMILIES, find_secrets, verify_key

__all__ = [
    "FAMILIES",
    "PiiHook",
    "Redactor",
    "email_and_phone",
    "fingerprint",
    "redact_text",
]

#: A PII hook: given a text, the (start, end, kind) character spans to redact.
PiiHook = Callable[[str], Iterable[tuple[int, int, str]]]


def fingerprint(secret: bytes, key: bytes = b"") -> str:
    """Four hex characters identifying ``secret``: a BLAKE2b digest of it (keyed when ``key``
    is given), JSON escapes ignored, so the same secret gives the same fingerprint in a line, in
    plain text and in every run."""
    import hashlib  # only when a secret was found: keeps the import of the recorder light

    raw = secret.replace(b"\\", b"")
    return hashlib.blake2b(raw, digest_size=2, key=key, person=b"otel-jsonl").hexdigest()


class Redactor:
    """Finds and replaces secrets in encoded lines and in text.

    ``patterns`` adds patterns (a mapping of name to regular expression, or an iterable of
    regular expressions, named ``custom_N``); each one costs a pass of its own over the line.
    ``defaults=False`` drops the built-in families. ``allow`` lists strings that are never
    redacted (a test key, a well-known example). ``pii`` is an opt-in hook (see
    :data:`PiiHook` and :func:`email_and_phone`) called on the text of every line.
    ``fingerprint_key`` keys the fingerprints (default: plain, equal on every machine).
    A pattern that does not compile raises ``re.error`` here, at construction.
    """

    def __init__(
        self,
        patterns: Mapping[str, str] | Iterable[str] = (),
        *,
        defaults: bool = True,
        allow: Iterable[str] = (),
        pii: PiiHook | None = None,
        fingerprint_key: bytes = b"",
    ) -> None:
        extra = (
            dict(patterns)
            if isinstance(patterns, Mapping)
            else {f"custom_{i}": p for i, p in enumerate(patterns, 1)}
        )
        self.defaults = defaults
        self.custom = bool(extra) or pii is not None
        self._custom = tuple((name, re.compile(rx.encode("utf-8"))) for name, rx in extra.items())
        self._allow = frozenset(a.encode("utf-8") for a in allow)
        self._pii = pii
        self._fp_key = fingerprint_key
        #: True when only the built-in families run (no patterns, allow-list or hook): then a
        #: line with nothing for :func:`find_secrets` needs nothing else.
        self.plain = defaults and not self._custom and pii is None and not self._allow

    @property
    def names(self) -> tuple[str, ...]:
        """The kinds this redactor may write: the built-in families, then the added patterns."""
        builtin = tuple(FAMILIES) if self.defaults else ()
        pii = ("pii",) if self._pii is not None else ()
        return builtin + tuple(name for name, _ in self._custom) + pii

    # -- finding ---------------------------------------------------------------------------

    def find(self, data: bytes, text: bool = False) -> list[tuple[int, int, str]]:
        """The secrets in ``data`` as sorted, non-overlapping (start, end, kind) byte spans.
        ``data`` is an encoded JSON line, or plain text when ``text`` is true."""
        return self._merged(data, find_secrets(data, text) if self.defaults else [])

    def _merged(self, data: bytes, spans: list[tuple[int, int, str]]) -> list[tuple[int, int, str]]:
        """The built-in families' ``spans`` with the custom patterns' added, sorted, overlaps
        and allowed strings dropped."""
        for name, rx in self._custom:
            for cm in rx.finditer(data):
                if cm.end() > cm.start():
                    spans.append((cm.start(), cm.end(), name))
        if not spans:
            return []
        spans.sort()
        out: list[tuple[int, int, str]] = []
        last = -1
        for s, e, kind in spans:
            if s < last:
                continue
            if self._allow and data[s:e] in self._allow:
                continue
            out.append((s, e, kind))
            last = e
        return out

    # -- replacing -------------------------------------------------------------------------

    def redact_bytes(self, data: bytes, text: bool = False, start: int = 0) -> tuple[bytes, int]:
        """Return ``data`` (an encoded JSON line, or plain text when ``text`` is true) with
        secrets replaced, and how many were replaced. ``start``: the built-in families may skip
        the bytes before it, known to hold no secret (added patterns and the PII hook see the
        whole line)."""
        found = find_secrets(data, text, start) if self.defaults else []
        if self.plain and not found:
            # The default redactor and no secret: the scans and nothing else.
            return data, 0
        spans = self._merged(data, found)  # (the line is scanned once, secret or not)
        if spans:
            data = self._replace(data, spans)
        if self._pii is not None:
            data, n = self._apply_pii(data)
            return data, len(spans) + n
        return data, len(spans)

    def _replace(self, data: bytes, spans: list[tuple[int, int, str]]) -> bytes:
        parts = []
        at = 0
        for s, e, kind in spans:
            parts.append(data[at:s])
            fp = fingerprint(data[s:e], self._fp_key)
            parts.append(f"[REDACTED:{kind}:{fp}]".encode("ascii"))
            at = e
        parts.append(data[at:])
        return b"".join(parts)

    def _apply_pii(self, data: bytes) -> tuple[bytes, int]:
        assert self._pii is not None
        text = data.decode("utf-8", "replace")
        found = sorted(
            (s, e, k)
            for s, e, k in self._pii(text)
            if 0 <= s < e <= len(text) and '"' not in text[s:e] and "\\" not in text[s:e]
        )
        if not found:
            return data, 0
        parts = []
        at = 0
        n = 0
        for s, e, kind in found:
            if s < at:
                continue
            parts.append(text[at:s])
            fp = fingerprint(text[s:e].encode("utf-8"), self._fp_key)
            parts.append(f"[REDACTED:{kind}:{fp}]")
            at = e
            n += 1
        parts.append(text[at:])
        return "".join(parts).encode("utf-8"), n

    def redact_text(self, text: str) -> str:
        """Return ``text`` with secrets replaced."""
        raw = text.encode("utf-8", "surrogatepass")
        red, n = self.redact_bytes(raw, text=True)
        return red.decode("utf-8", "surrogatepass") if n else text

    def redact_value(self, value: object) -> object:
        """A copy of a JSON-native value with every string redacted, dict keys included, and the
        values of secret-named keys (``{"password": "hunter2"}``) judged by their key."""
        if isinstance(value, str):
            return self.redact_text(value)
        if isinstance(value, dict):
            out: dict[str, object] = {}
            for k, v in value.items():
                key = str(k)
                if isinstance(v, str) and self.defaults:
                    v = self._by_key(key, v)
                out[self.redact_text(key)] = self.redact_value(v)
            return out
        if isinstance(value, (list, tuple)):
            return [self.redact_value(v) for v in value]
        return value

    def _by_key(self, key: str, value: str) -> str:
        """Redact ``value`` as ``"key": "value"`` would be in a line (``{"password": "x"}``,
        ``{"Authorization": "Basic ..."}``)."""
        head = ('"' + key.replace("\\", "\\\\").replace('"', '\\"') + '":"').encode("utf-8")
        raw = value.encode("utf-8", "surrogatepass")
        plain = b'"' not in raw and b"\\" not in raw
        body = raw if plain else raw.replace(b"\\", b"\\\\").replace(b'"', b'\\"')
        spans = verify_key(head + body + b'"', len(head) - 2)
        if not spans:
            return value
        if not plain:  # offsets moved with the escapes: the whole value goes
            spans = [(len(head), len(head) + len(body), spans[0][2])]
        parts = []
        at = 0
        for s, e, kind in spans:
            s, e = s - len(head), e - len(head)
            if s < at or e > len(raw):
                continue
            if self._allow and raw[s:e] in self._allow:
                continue
            parts.append(raw[at:s])
            parts.append(f"[REDACTED:{kind}:{fingerprint(raw[s:e], self._fp_key)}]".encode())
            at = e
        parts.append(raw[at:])
        return b"".join(parts).decode("utf-8", "surrogatepass")


# -- an example PII hook ------------------------------------------------------------------------

_EMAIL = lazy_compile(r"[A-Za-z0-9._%+\-]{1,64}@[A-Za-z0-9.\-]{1,253}\.[A-Za-z]{2,24}")
_PHONE = lazy_compile(r"(?<![\w+])\+?[0-9][0-9 ().\-]{7,18}[0-9](?![\w])")


def email_and_phone(text: str) -> list[tuple[int, int, str]]:
    """An example PII hook, standard library only: e-mail addresses and phone numbers (8 to 15
    digits, with ``+``, spaces, dots, dashes or parentheses). Pass it as ``pii=`` to
    :class:`Redactor`, or wrap Presidio the same way (see docs/recorder.md)."""
    found = [(m.start(), m.end(), "email") for m in _EMAIL.finditer(text)]
    for m in _PHONE.finditer(text):
        digits = sum(ch.isdigit() for ch in m.group())
        if 8 <= digits <= 15:
            found.append((m.start(), m.end(), "phone"))
    return found


_DEFAULT: Redactor | None = None


def redact_text(text: str) -> str:
    """Redact ``text`` with the built-in families."""
    global _DEFAULT
    if _DEFAULT is None:
        _DEFAULT = Redactor()
    return _DEFAULT.redact_text(text)
