"""Secret redaction: one scan finds candidates for every credential family, verifiers confirm.

The screen looks at each byte of a line once: ``bytes.translate`` folds the line (letters to
lower case, the bytes that anchor a credential, ``- _ . : =`` and the capitals ``A`` and ``B``,
to one marker byte), then a single compiled regular expression, whose search starts from that
literal marker, finds the positions where some family may start: a key name before a ``:`` or
``=`` (``password``, ``*_KEY``, ``x-api-key``, ``Authorization``, ``Cookie``, ...), a token prefix
before its separator (``sk-``, ``ghp_``, ``glpat-``, ``SG.``, ...), ``AKIA``/``ASIA``/``AIza``, a
JWT's ``.eyJ``, a PEM ``-----BEGIN``, a URL with user info, ``Bearer``. A line with no such
position costs those two C passes. Each candidate is then verified on the original bytes by the
family's exact format (lengths, boundaries, GitHub's and npm's CRC32 checksums, placeholder and
word checks) and only the secret is replaced, with its kind and a short fingerprint:
``[REDACTED:github_token:3f9a]``.

Works on encoded JSON lines (values inside JSON strings, JSON-escaped quotes included) and on
plain text alike. Standard library only.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Callable, Iterable, Mapping
from typing import Any

__all__ = [
    "FAMILIES",
    "PiiHook",
    "Redactor",
    "email_and_phone",
    "fingerprint",
    "redact_text",
]

#: The built-in kinds a redacted value may carry, with the shape each one stands for.
FAMILIES: dict[str, str] = {
    "openai_key": "sk-…, sk-proj-…, sk-svcacct-…, sk-admin-… with a random body",
    "anthropic_key": "sk-ant-api03-…, sk-ant-admin01-…",
    "stripe_key": "sk_live_…, rk_live_…, sk_test_…, rk_test_…",
    "stripe_webhook_secret": "whsec_…",
    "huggingface_token": "hf_…",
    "groq_key": "gsk_…",
    "xai_key": "xai-…",
    "sendgrid_key": "SG.<22>.<43>",
    "npm_token": "npm_ + 30 + CRC32 checksum",
    "pypi_token": "pypi-…",
    "google_oauth_token": "ya29.…",
    "slack_token": "xoxb-, xoxp-, xoxa-, xoxr-, xoxs-, xoxe-, xapp-",
    "slack_webhook": "https://hooks.slack.com/services/T…/B…/<secret>",
    "github_token": "ghp_, gho_, ghu_, ghs_, ghr_ + 30 + CRC32 checksum; github_pat_…",
    "gitlab_token": "glpat-…",
    "aws_access_key_id": "AKIA… / ASIA… + 16",
    "google_api_key": "AIza + 35",
    "jwt": "eyJ….eyJ….<signature>",
    "private_key": "-----BEGIN … PRIVATE KEY----- blocks (PEM, OpenSSH, PGP), in JSON too",
    "url_password": "the password in scheme://user:password@host (database URLs too)",
    "password": "the value of password / passwd / pwd / passphrase / *_PASS keys",
    "secret": "the value of secret / client_secret / *_SECRET keys",
    "token": "the value of access_token / *_TOKEN / PRIVATE-TOKEN keys (bare token: random only)",
    "api_key": "the value of api_key / x-api-key / *_KEY / AccountKey keys (bare key: random only)",
    "authorization": "the credential after Authorization: (Basic, Bearer, Token, ...)",
    "bearer_token": "the token after a bare Bearer",
    "cookie": "the values in Cookie: / Set-Cookie:",
    "credential": "the value of credential(s) keys",
    "signature": "the value of sig= / signature= in URLs and connection strings",
}

#: A PII hook: given a text, the (start, end, kind) character spans to redact.
PiiHook = Callable[[str], Iterable[tuple[int, int, str]]]

# Key names whose value is a secret, found by their last letters before a ``:`` or ``=`` (then
# judged exactly in Python), and the quotes that may sit between a name and its separator:
# none, JSON, Python repr, a space, JSON inside a JSON string (once or twice).
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
_QUOTES = ("", '"', "'", " ", '\\"', '\\\\\\"')
_TAIL_LETTERS = 4
_WINDOW = 6

# Every token-shaped family is a run of at least this many characters of [A-Za-z0-9_-].
_RUN = 20
_RUN_TABLE = bytes(
    ord("x") if chr(c).isascii() and (chr(c).isalnum() or chr(c) in "_-") else ord(" ")
    for c in range(256)
)
_RUN_NEEDLE = b"x" * _RUN


def _atoms(text: str) -> list[str]:
    """One regex atom per character (the scans run on the lower-cased line)."""
    return [re.escape(c) for c in text.lower()]


def _trie_regex(seqs: Iterable[tuple[str, ...]]) -> str:
    """An alternation of equal-length atom sequences as a trie, so that the regex engine leaves
    a position after an atom or two instead of trying every alternative."""
    trie: dict[str, Any] = {}
    for seq in seqs:
        node = trie
        for tok in seq:
            node = node.setdefault(tok, {})

    def emit(node: dict[str, Any]) -> str:
        if not node:
            return ""
        alts = [tok + emit(child) for tok, child in sorted(node.items())]
        return alts[0] if len(alts) == 1 else "(?:" + "|".join(alts) + ")"

    return emit(trie)


def _key_lookbehind(sep: str) -> str:
    """One lookbehind, true right after ``sep`` when a secret-named key (its last letters and
    closing quotes) ends there: a trie over the last ``_WINDOW`` characters."""
    seqs: set[tuple[str, ...]] = set()
    for tail in _KEY_TAILS:
        for q in _QUOTES:
            atoms = _atoms(tail[-_TAIL_LETTERS:]) + [re.escape(ch) for ch in q] + [re.escape(sep)]
            while len(atoms) < _WINDOW:
                atoms.insert(0, ".")
            seqs.add(tuple(atoms[-_WINDOW:]))
    return f"(?<={_trie_regex(seqs)})"


# ``:`` starts a key context (JSON, headers, YAML) or a URL; ``=`` a key context (env files,
# query strings, connection strings). Each scan starts from its literal, so the engine only
# stops at the separators.
_COLON = re.compile(
    (
        ":(?://(?:[^/\\s\"'\\\\@]{0,256}@|hooks\\.slack\\.com/)(?P<url>)|"
        + _key_lookbehind(":")
        + "(?P<key>))"
    ).encode("ascii")
)
_EQUALS = re.compile(("=" + _key_lookbehind("=")).encode("ascii"))

# -- exact formats, matched on the original bytes at a candidate --------------------------------

_TOKEN = re.compile(
    rb"""
    (?P<anthropic_key>sk-ant-[a-z]{2,8}[0-9]{0,3}-[A-Za-z0-9_\-]{20,})
   |(?P<openai_key>sk-(?:proj-|svcacct-|admin-|None-)?[A-Za-z0-9_\-]{20,})
   |(?P<stripe_key>[sr]k_(?:live|test)_[A-Za-z0-9]{16,})
   |(?P<stripe_webhook_secret>whsec_[A-Za-z0-9+/=]{24,})
   |(?P<huggingface_token>hf_[A-Za-z0-9]{30,})
   |(?P<groq_key>gsk_[A-Za-z0-9]{40,})
   |(?P<xai_key>xai-[A-Za-z0-9]{40,})
   |(?P<sendgrid_key>SG\.[A-Za-z0-9_\-]{16,32}\.[A-Za-z0-9_\-]{16,64})
   |(?P<npm_token>npm_[A-Za-z0-9]{36})
   |(?P<pypi_token>pypi-[A-Za-z0-9_\-]{50,})
   |(?P<google_oauth_token>ya29\.[A-Za-z0-9_\-]{20,})
   |(?P<slack_token>xox[abposre]-[A-Za-z0-9\-]{10,}|xapp-[A-Za-z0-9\-]{20,})
   |(?P<github_token>gh[pousr]_[A-Za-z0-9]{36}|github_pat_[A-Za-z0-9]{22}_[A-Za-z0-9]{59})
   |(?P<gitlab_token>glpat-[A-Za-z0-9_\-.]{20,})
   |(?P<aws_access_key_id>A(?:KIA|SIA)[A-Z0-9]{16})
   |(?P<google_api_key>AIza[A-Za-z0-9_\-]{35})
   |(?P<jwt>eyJ[A-Za-z0-9_\-]{8,}\.eyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]*)
    """,
    re.VERBOSE,
)
# Families of a fixed length: a letter or digit right after the match means it is something else.
_FIXED = frozenset({"npm_token", "github_token", "aws_access_key_id", "google_api_key"})
# Families whose body must look random (the prefix alone is too short to be sure).
_RANDOM_BODY = frozenset(
    {"openai_key", "anthropic_key", "huggingface_token", "gitlab_token", "slack_token"}
)

_ALNUM = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")
_B62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

_PEM = re.compile(
    rb"-----BEGIN ([A-Z0-9 ]{0,40})PRIVATE KEY( BLOCK)?-----"
    rb"(?:[A-Za-z0-9+/=:, \t\r\n-]|\\[rn]|\\\\[rn])*?"
    rb"(?:-----END [A-Z0-9 ]{0,40}PRIVATE KEY(?: BLOCK)?-----|(?=[\"']|$))"
)
_USERINFO = re.compile(rb"//([^/\s\"'\\@:]{0,256}):([^/\s\"'\\@]{1,256})@")
_SLACK_HOOK = re.compile(rb"//hooks\.slack\.com/services/T[A-Z0-9]+/B[A-Z0-9]+/([A-Za-z0-9]{16,})")
_BEARER = re.compile(rb"Bearer[ \t]+([A-Za-z0-9\-._~+/]{8,}=*)")
_KEY_BEFORE = re.compile(rb"([A-Za-z0-9_.\-]{1,64})((?:\\{1,3})?[\"']?[ ]?)\Z")
_SCHEME = re.compile(
    rb"(?i:basic|bearer|token|digest|negotiate|ntlm|apikey|api-key|key|sso-key|hmac|"
    rb"aws4-hmac-sha256|otp)[ \t]+"
)
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_EMPTY_SPANS: list[tuple[int, int, str]] = []

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


def fingerprint(secret: bytes, key: bytes = b"") -> str:
    """Four hex characters identifying ``secret``: a BLAKE2b digest of it (keyed when ``key``
    is given), JSON escapes ignored, so the same secret gives the same fingerprint in a line, in
    plain text and in every run."""
    import hashlib  # only when a secret was found: keeps the import of the recorder light

    raw = secret.replace(b"\\", b"")
    return hashlib.blake2b(raw, digest_size=2, key=key, person=b"otel-jsonl").hexdigest()


def _is_placeholder(value: bytes) -> bool:
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


_RUNS = re.compile(rb"[A-Za-z0-9]{8,}")
_UUID = re.compile(rb"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


def _randomish(body: bytes) -> bool:
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


def _plausible(value: bytes) -> bool:
    """A value after ``key: `` in prose that may be a secret: no placeholder, four characters
    or more, and a digit, a symbol or mixed case (``hunter2``, not ``pending``)."""
    if len(value) < 4 or _is_placeholder(value):
        return False
    return not (value.isalpha() and (value.islower() or value.isupper() or value.istitle()))


def _b62(n: int) -> str:
    out = ""
    while n:
        n, r = divmod(n, 62)
        out = _B62[r] + out
    return out.rjust(6, "0")


def _checksum_ok(token: bytes) -> bool:
    """GitHub's and npm's token checksum: the last six characters are the CRC32 of the 30
    random ones before them, in base62."""
    body, check = token[-36:-6], token[-6:]
    return _b62(zlib.crc32(body)) == check.decode("ascii", "replace")


def _key_kind(name: str, uppercase_env: bool) -> tuple[str, str] | None:
    """(kind, strength) for a key name, strength ``strong`` (any value is a secret), ``weak``
    (only a random-looking value is) or ``auth``/``cookie``/``sig`` (their own rules)."""
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


def _json_string_end(data: bytes, i: int, quote: bytes) -> int:
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


_BARE_END = re.compile(rb"[\s\"'\\,;&<>(){}\[\]]")


def _bare_end(data: bytes, i: int) -> int:
    m = _BARE_END.search(data, i)
    return m.end() - 1 if m else len(data)


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
        self._plain = defaults and not self._custom and pii is None and not self._allow

    @property
    def names(self) -> tuple[str, ...]:
        """The kinds this redactor may write: the built-in families, then the added patterns."""
        builtin = tuple(FAMILIES) if self.defaults else ()
        pii = ("pii",) if self._pii is not None else ()
        return builtin + tuple(name for name, _ in self._custom) + pii

    # -- finding ---------------------------------------------------------------------------

    def find(self, data: bytes) -> list[tuple[int, int, str]]:
        """The secrets in ``data`` as sorted, non-overlapping (start, end, kind) byte spans."""
        spans: list[tuple[int, int, str]] = []
        if self.defaults:
            spans = _find_builtin(data)
        for name, rx in self._custom:
            for cm in rx.finditer(data):
                if cm.end() > cm.start():
                    spans.append((cm.start(), cm.end(), name))
        if not spans:
            return _EMPTY_SPANS
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

    def redact_bytes(self, data: bytes) -> tuple[bytes, int]:
        """Return ``data`` with secrets replaced, and how many were replaced."""
        if self._plain:
            # The default redactor: straight to the scans (a line with no secret costs them
            # and nothing else).
            found = _find_builtin(data)
            if not found:
                return data, 0
        spans = self.find(data)
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
        red, n = self.redact_bytes(raw)
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
        spans = _verify_key(head + body + b'"', len(head) - 2)
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


# -- verifiers: (data, marker position) -> spans, or None --------------------------------------


def _token_at(data: bytes, start: int) -> list[tuple[int, int, str]] | None:
    if start > 0 and data[start - 1] in _ALNUM:
        return None
    m = _TOKEN.match(data, start)
    if m is None:
        return None
    kind = m.lastgroup
    assert kind is not None
    end = m.end()
    if kind in _FIXED and end < len(data) and data[end] in _ALNUM:
        return None
    token = m.group()
    if _is_placeholder(token[token.find(b"_" if kind == "github_token" else token[:0]) :]):
        return None
    if kind in ("github_token", "npm_token") and not token.startswith(b"github_pat_"):
        if not _checksum_ok(token) and not _randomish(token[4:]):
            return None
    elif kind in _RANDOM_BODY:
        body = token[token.rfind(b"-", 0, 16) + 1 :] if kind != "huggingface_token" else token[3:]
        if not _randomish(body):
            return None
    return [(start, end, kind)]


def _verify_key(data: bytes, pos: int) -> list[tuple[int, int, str]] | None:
    """A secret-named key before the separator at ``pos``, and its value after it."""
    km = _KEY_BEFORE.search(data, max(0, pos - 72), pos)
    if km is None:
        return None
    name = km.group(1).decode("ascii")
    quotes = km.group(2)
    sep = data[pos]
    env = name.isupper() and "_" in name
    rule = _key_kind(name, env)
    if rule is None:
        return None
    kind, strength = rule
    if strength == "sig" and sep != 61:
        return None  # signature= in URLs and connection strings, not a JSON "signature"
    n = len(data)
    i = pos + 1
    while i < n and data[i] in (32, 9):
        i += 1
    json_key = quotes.rstrip(b" ") in (b'"', b'\\"') and sep == 58
    # Where the value starts and ends.
    if data.startswith(b'\\"', i):
        start = i + 2
        end = data.find(b'\\"', start)
        end = n if end < 0 else end
    elif data[i : i + 1] == b'"':
        start = i + 1
        end = _json_string_end(data, start, b'"')
    elif data[i : i + 1] == b"'":
        start = i + 1
        end = data.find(b"'", start)
        end = n if end < 0 else end
    else:
        if json_key and quotes.startswith(b'"'):
            return None  # a JSON number, object or array: its own keys are looked at
        start = i
        multiword = strength in ("auth", "cookie")
        end = _line_end(data, start) if multiword else _bare_end(data, start)
    if end <= start:
        return None
    value = data[start:end]
    strict_context = sep == 61 or json_key or quotes.rstrip(b" ").endswith((b'"', b"'"))
    if strength == "auth":
        return _verify_auth(data, start, end, kind, strict_context)
    if strength == "cookie":
        return _verify_cookie(data, start, end)
    family = _token_at(data, start)
    if family and family[0][1] == end:
        return family
    if _is_placeholder(value):
        return None
    if strength == "weak":
        if len(value) < 16 or b" " in value or not _randomish(value) or _UUID.fullmatch(value):
            return None
    elif strength in ("strong", "sig") and not strict_context and not _plausible(value):
        return None
    if b"[REDACTED:" in value:
        return None
    return [(start, end, kind)]


def _line_end(data: bytes, i: int) -> int:
    """End of a header value in text: a quote, a newline (raw or JSON-escaped) or the end."""
    m = re.compile(rb"[\"'\r\n]|\\[nr\"]").search(data, i)
    return m.start() if m else len(data)


def _verify_auth(
    data: bytes, start: int, end: int, kind: str, strict: bool
) -> list[tuple[int, int, str]] | None:
    sm = _SCHEME.match(data, start, end)
    cred_start = sm.end() if sm else start
    cm = re.compile(rb"[^\s\"'\\,;]+").match(data, cred_start, end)
    if cm is None:
        return None
    cred = cm.group()
    family = _token_at(data, cred_start)
    if family and family[0][1] == cm.end():
        return family
    if _is_placeholder(cred) or b"[REDACTED:" in cred:
        return None
    if sm is None:
        # No scheme: the whole value must be one plausible credential, not a phrase.
        rest = data[cm.end() : end].strip()
        if rest or len(cred) < 6 or not _plausible(cred):
            return None
    elif len(cred) < 6 or (cred.isalpha() and cred.islower()):
        return None
    return [(cred_start, cm.end(), kind)]


def _verify_cookie(data: bytes, start: int, end: int) -> list[tuple[int, int, str]] | None:
    spans = []
    attrs = (b"path", b"domain", b"expires", b"max-age", b"samesite", b"secure", b"httponly")
    for pm in re.compile(rb"([A-Za-z0-9_.\-]+)=([^;\s\"'\\]+)").finditer(data, start, end):
        if pm.group(1).lower() in attrs or _is_placeholder(pm.group(2)):
            continue
        if b"[REDACTED:" in pm.group(2):
            continue
        spans.append((pm.start(2), pm.end(2), "cookie"))
    return spans or None


def _verify_url(data: bytes, pos: int) -> list[tuple[int, int, str]] | None:
    hook = _SLACK_HOOK.match(data, pos + 1)
    if hook is not None:
        return [(hook.start(1), hook.end(1), "slack_webhook")]
    m = _USERINFO.match(data, pos + 1)
    if m is None:
        return None
    secret = m.group(2)
    family = _token_at(data, m.start(2))
    if family and family[0][1] == m.end(2):
        return family
    if _is_placeholder(secret) or b"[REDACTED:" in secret:
        return None
    return [(m.start(2), m.end(2), "url_password")]


_PEM_HEAD = re.compile(rb"-----BEGIN [A-Z0-9 ]{0,40}PRIVATE KEY(?: BLOCK)?-----")


def _verify_run(data: bytes, start: int, end: int, pem: bool) -> list[tuple[int, int, str]] | None:
    """A run of 20 or more token characters: a prefixed token, a JWT, a bare Bearer token, or a
    line of a private key's body."""
    if data[start - 1 : start] == b".":
        # A prefix that ends with a dot (ya29., SG.) is cut off the run.
        head = start - 1
        while head > 0 and data[head - 1] in _ALNUM and start - head < 6:
            head -= 1
        found = _token_at(data, head)
        if found:
            return found
    if data[start - 1 : start] == b"." and data.startswith(b"eyJ", start):
        # The payload of a JWT whose header is shorter than a run.
        head = start - 1
        while head > 0 and (data[head - 1] in _ALNUM or data[head - 1] in (45, 95)):
            head -= 1
        found = _token_at(data, head) if data.startswith(b"eyJ", head) else None
        if found:
            return found
    if data[max(0, start - 7) : start] == b"Bearer ":
        token = data[start:end]
        if not _is_placeholder(token) and _randomish(token):
            return [(start, end, "bearer_token")]
    begin = data.rfind(b"-----BEGIN ", max(0, start - 16384), start) if pem else -1
    if begin >= 0:
        header = _PEM_HEAD.match(data, begin)
        if header is not None:
            m = _PEM.match(data, begin)
            if m is not None and m.end() >= end:
                return [(begin, m.end(), "private_key")]
    return None


def _find_builtin(data: bytes) -> list[tuple[int, int, str]]:
    """Every built-in family in ``data``: three scans (token runs, ``:``, ``=``), each finding
    candidate positions in C, and a verifier per candidate."""
    spans: list[tuple[int, int, str]] = []
    last_end = 0
    runs = data.translate(_RUN_TABLE)
    start = runs.find(_RUN_NEEDLE)
    pem: bool | None = None
    while start >= 0:
        end = runs.find(b" ", start)
        if end < 0:
            end = len(runs)
        if start >= last_end:
            found = _token_at(data, start)
            if not found:
                if pem is None:
                    pem = b"-----BEGIN " in data
                found = _verify_run(data, start, end, pem)
            if found:
                spans.extend(found)
                last_end = max(e for _, e, _ in found)
        start = runs.find(_RUN_NEEDLE, max(end, last_end))
    low = data.lower()
    for scan in (_COLON, _EQUALS):
        if scan is _EQUALS and b"=" not in data:
            continue
        c = scan.search(low)
        while c is not None:
            pos = c.start()
            verify = _verify_url if c.lastgroup == "url" else _verify_key
            found = verify(data, pos)
            if found:
                spans.extend(found)
            c = scan.search(low, c.end())
    return spans


# -- an example PII hook ------------------------------------------------------------------------

_EMAIL = re.compile(r"[A-Za-z0-9._%+\-]{1,64}@[A-Za-z0-9.\-]{1,253}\.[A-Za-z]{2,24}")
_PHONE = re.compile(r"(?<![\w+])\+?[0-9][0-9 ().\-]{7,18}[0-9](?![\w])")


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
