"""The credential families the redactor knows: how each candidate is verified on the original
bytes (formats, checksums, key names, placeholders).

One scan finds the candidates (:mod:`.secret_scan`: one ``bytes.translate``, one regular
expression, both in C): a secret-named key before a ``:`` or ``=`` (``password``, ``*_KEY``,
``x-api-key``, ``Authorization``, ``Cookie``, ...), a URL with user info, a token prefix
(``sk-``, ``ghp_``, ``AKIA``, ``eyJ``, ...), ``Bearer`` or ``-----BEGIN``. Each candidate is
verified by the family's exact format (prefix and boundaries, lengths, GitHub's and npm's CRC32
checksums, word and placeholder checks) and gives (start, end, kind) spans. Standard library
only.
"""

from __future__ import annotations

import re

from .secret_accel import accelerated_candidates, stops_finder
from .secret_checks import (
    UUID,
    bare_end,
    checksum_ok,
    is_placeholder,
    json_string_end,
    key_kind,
    lazy_compile,
    plausible,
    randomish,
)
from .secret_scan import (
    DENSE_MIN,
    DENSE_STOPS,
    FOLD_TABLE,
    dense_candidates,
    find_candidates,
    scan,
)

__all__ = ["FAMILIES", "accelerated", "candidates", "find_secrets", "use_accelerator"]
__all__ += ["verify_candidates"]
__all__ += ["find_secrets_stdlib", "verify_key"]

TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover - typing is not imported at run time (start-up cost)
    from .secret_accel import Stops

Span = tuple[int, int, str]

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

_RUN = 20  # every token-shaped family is a run of at least 20 of [A-Za-z0-9_-]
_RUN_RX = lazy_compile(rb"[A-Za-z0-9_\-]*")
_TOKEN_BYTES = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")


# -- exact formats, matched on the original bytes at a candidate --------------------------------

_TOKEN_RX = rb"""
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
    """
_TOKEN: list[re.Pattern[bytes]] = []  # compiled on first use, like the scans
# Families of a fixed length: a letter or digit right after the match means it is something else.
_FIXED = frozenset({"npm_token", "github_token", "aws_access_key_id", "google_api_key"})
# Families whose body must look random (the prefix alone is too short to be sure).
_RANDOM_BODY = frozenset(
    {"openai_key", "anthropic_key", "huggingface_token", "gitlab_token", "slack_token"}
)

# The first letters of the prefixed families (sk- rk_ whsec_ hf_ gsk_ xai- SG. npm_ pypi- ya29.
# xox xapp- gh github_pat_ glpat- AKIA ASIA AIza eyJ).
_ALNUM = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")

_PEM = lazy_compile(
    rb"-----BEGIN ([A-Z0-9 ]{0,40})PRIVATE KEY( BLOCK)?-----"
    rb"(?:[A-Za-z0-9+/=:, \t\r\n-]|\\[rn]|\\\\[rn])*?"
    rb"(?:-----END [A-Z0-9 ]{0,40}PRIVATE KEY(?: BLOCK)?-----|(?=[\"']|$))"
)
_USERINFO = lazy_compile(rb"//([^/\s\"'\\@:]{0,256}):([^/\s\"'\\@]{1,256})@")
_SLACK_HOOK = lazy_compile(
    rb"//hooks\.slack\.com/services/T[A-Z0-9]+/B[A-Z0-9]+/([A-Za-z0-9]{16,})"
)
_NAME_BYTES = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-")
_QUOTE_BYTES = frozenset(b"\"'\\ ")
_SCHEME = lazy_compile(
    rb"(?i:basic|bearer|token|digest|negotiate|ntlm|apikey|api-key|key|sso-key|hmac|"
    rb"aws4-hmac-sha256|otp)[ \t]+"
)
_EMPTY_SPANS: list[tuple[int, int, str]] = []

# -- verifiers: (data, marker position) -> spans, or None --------------------------------------


def _token_at(data: bytes, start: int) -> list[tuple[int, int, str]] | None:
    if start > 0 and data[start - 1] in _ALNUM:
        return None
    if not _TOKEN:
        _TOKEN.append(re.compile(_TOKEN_RX, re.VERBOSE))
    m = _TOKEN[0].match(data, start)
    if m is None:
        return None
    kind = m.lastgroup
    assert kind is not None
    end = m.end()
    if kind in _FIXED and end < len(data) and data[end] in _ALNUM:
        return None
    token = m.group()
    if is_placeholder(token[token.find(b"_" if kind == "github_token" else token[:0]) :]):
        return None
    if kind in ("github_token", "npm_token") and not token.startswith(b"github_pat_"):
        if not checksum_ok(token) and not randomish(token[4:]):
            return None
    elif kind in _RANDOM_BODY:
        body = token[token.rfind(b"-", 0, 16) + 1 :] if kind != "huggingface_token" else token[3:]
        if not randomish(body):
            return None
    return [(start, end, kind)]


def _value_at(
    data: bytes, pos: int, structural: bool, text: bool, strength: str
) -> tuple[int, int] | None:
    """Where the value after the separator at ``pos`` starts and ends: a JSON string (escaped
    or not), a quoted string, a header value to the end of its line, or (end -1) a bare value
    for the caller to end. None when there is no string value to look at."""
    n = len(data)
    i = pos + 1
    while i < n and data[i] in (32, 9):
        i += 1
    if data.startswith(b'\\"', i):
        end = data.find(b'\\"', i + 2)
        return i + 2, n if end < 0 else end
    if data[i : i + 1] == b'"':
        if not (text or structural):
            return None  # in a line, this quote closes the string the separator sits in
        return i + 1, json_string_end(data, i + 1, b'"')
    if data[i : i + 1] == b"'":
        end = data.find(b"'", i + 1)
        return i + 1, n if end < 0 else end
    if structural:
        return None  # a JSON number, object or array: its own keys are looked at
    if strength in ("auth", "cookie"):
        return i, _line_end(data, i)
    return i, -1


def verify_key(data: bytes, pos: int, text: bool = False) -> list[tuple[int, int, str]] | None:
    """A secret-named key before the separator at ``pos``, and its value after it. In an
    encoded line (``text=False``) a bare ``"`` after a separator inside a string ends that
    string, so it opens no value."""
    # Walk back over the quotes, then over the name (a regex searching backwards would try
    # every start position).
    end_name = pos
    while end_name > 0 and pos - end_name < 4 and data[end_name - 1] in _QUOTE_BYTES:
        end_name -= 1
    start_name = end_name
    while start_name > 0 and end_name - start_name < 64 and data[start_name - 1] in _NAME_BYTES:
        start_name -= 1
    if start_name == end_name:
        return None
    name = data[start_name:end_name].decode("ascii")
    quotes = data[end_name:pos]
    sep = data[pos]
    env = name.isupper() and "_" in name
    rule = key_kind(name, env)
    if rule is None:
        return None
    kind, strength = rule
    if strength == "sig" and sep != 61:
        return None  # signature= in URLs and connection strings, not a JSON "signature"
    json_key = quotes.rstrip(b" ") in (b'"', b'\\"') and sep == 58
    where = _value_at(data, pos, json_key and quotes.startswith(b'"'), text, strength)
    if where is None:
        return None
    start, end = where
    if end == -1:
        query = sep == 58 or data[max(0, start_name - 1) : start_name] in (b"?", b"&")
        end = bare_end(data, start, query)
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
    if is_placeholder(value):
        return None
    if strength == "weak":
        if len(value) < 16 or b" " in value or not randomish(value) or UUID.fullmatch(value):
            return None
    elif strength in ("strong", "sig") and not strict_context and not plausible(value):
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
    if is_placeholder(cred) or b"[REDACTED:" in cred:
        return None
    if sm is None:
        # No scheme: the whole value must be one plausible credential, not a phrase.
        rest = data[cm.end() : end].strip()
        if rest or len(cred) < 6 or not plausible(cred):
            return None
    elif len(cred) < 6 or (cred.isalpha() and cred.islower()):
        return None
    return [(cred_start, cm.end(), kind)]


def _verify_cookie(data: bytes, start: int, end: int) -> list[tuple[int, int, str]] | None:
    spans = []
    attrs = (b"path", b"domain", b"expires", b"max-age", b"samesite", b"secure", b"httponly")
    for pm in re.compile(rb"([A-Za-z0-9_.\-]+)=([^;\s\"'\\]+)").finditer(data, start, end):
        if pm.group(1).lower() in attrs or is_placeholder(pm.group(2)):
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
    if is_placeholder(secret) or b"[REDACTED:" in secret:
        return None
    return [(m.start(2), m.end(2), "url_password")]


_ESCAPE = lazy_compile(rb"\\.", re.DOTALL)


def _inside_string(data: bytes, start: int, end: int) -> bool:
    """True when replacing ``data[start:end]`` keeps an encoded line valid: the span neither
    starts nor ends inside an escape sequence and holds no closing quote."""
    before = start
    while before > 0 and data[before - 1] == 92:
        before -= 1
    if (start - before) % 2:
        return False  # the span starts with an escaped character
    return b'"' not in _ESCAPE.sub(b"", data[start:end]) and not (
        (len(data[start:end]) - len(data[start:end].rstrip(b"\\"))) % 2
    )


def _run_end(data: bytes, i: int) -> int:
    """Where the run of token bytes ([A-Za-z0-9_-]) starting at ``i`` ends."""
    return int(_RUN_RX.match(data, i).end())  # type: ignore[union-attr]


def _prefixed(data: bytes, start: int) -> list[tuple[int, int, str]] | None:
    """A prefixed token (or a JWT) starting at ``start``, where a run of 20 or more token
    bytes starts: at the start of the run, or after the dot of ``SG.`` and ``ya29.``."""
    found = _token_at(data, start) if start >= 0 else None
    if not found:
        return None
    kind = found[0][2]
    if kind in ("sendgrid_key", "google_oauth_token"):
        dot = data.index(b".", start)
        return found if _run_end(data, dot + 1) - dot - 1 >= _RUN else None
    if start > 0 and data[start - 1] in _TOKEN_BYTES:
        return None  # inside a longer run (``my_sk-...``): not where a token starts
    if _run_end(data, start) - start >= _RUN:
        return found
    if kind == "jwt":  # a short header: its payload is the run
        dot = data.index(b".", start)
        return found if _run_end(data, dot + 1) - dot - 1 >= _RUN else None
    return None


def _bearer(data: bytes, pos: int) -> list[tuple[int, int, str]] | None:
    """The token after a bare ``Bearer `` (a run of 20 or more token bytes)."""
    start = pos + 7
    if not data.startswith(b"Bearer ", pos) or start >= len(data):
        return None
    end = _run_end(data, start)
    if end - start < _RUN:
        return None
    found = _prefixed(data, start)
    if found:
        return found
    token = data[start:end]
    if not is_placeholder(token) and randomish(token):
        return [(start, end, "bearer_token")]
    return None


_PEM_HEAD = lazy_compile(rb"-----BEGIN [A-Z0-9 ]{0,40}PRIVATE KEY(?: BLOCK)?-----")
_PEM_BODY = lazy_compile(rb"[A-Za-z0-9_\-]{20}")


def _pem(data: bytes, pos: int) -> list[tuple[int, int, str]] | None:
    """A private key block (PEM, OpenSSH, PGP) from its ``-----BEGIN`` line, with a body."""
    if _PEM_HEAD.match(data, pos) is None:
        return None
    m = _PEM.match(data, pos)
    if m is None or _PEM_BODY.search(data, pos, m.end()) is None:
        return None
    return [(pos, m.end(), "private_key")]


def _key(data: bytes, pos: int, text: bool) -> list[tuple[int, int, str]] | None:
    """A secret-named key before the separator at ``pos`` (``:`` after no quote or a quote,
    ``=`` after no quote or a space), and its value."""
    sep = data[pos]
    before = data[pos - 1] if pos else 0
    if sep == 58:
        if before == 32:
            return None
    elif sep != 61 or before in (34, 39):
        return None
    return verify_key(data, pos, text)


def candidates(data: bytes) -> list[tuple[int, str]]:
    """Where the scan stops in ``data`` and what it looks for there (for tests and benches)."""
    return [(pos, what) for pos, what, _ in find_candidates(data)]


def find_secrets(data: bytes, text: bool = False, start: int = 0) -> list[tuple[int, int, str]]:
    """Every built-in family in ``data``: one scan of the folded bytes finds the candidates in
    C (see :func:`.secret_scan.find_candidates`), then each one is verified on the original
    bytes. ``start``: the bytes before it are known to hold no secret and no part of one (the
    recorder's own ``ts``, generated ``run`` and ``seq``); a forward scan begins there.

    With Hyperscan installed, its prefilter finds the stops instead (one vectorised pass, see
    :mod:`.secret_accel`) and the scan's pattern is tried there alone: the same candidates."""
    accel = _ACCEL[0] if _ACCEL else _load_accel()
    if accel is not None:
        stops = accel(data)
        if not stops:
            return _EMPTY_SPANS  # the common case: no candidate at all
        return verify_candidates(data, accelerated_candidates(data, stops, start), text)
    return find_secrets_stdlib(data, text, start)


def find_secrets_stdlib(
    data: bytes, text: bool = False, start: int = 0
) -> list[tuple[int, int, str]]:
    """:func:`find_secrets` by the standard library's ``re`` alone (no accelerator)."""
    folded = data.translate(FOLD_TABLE)
    n = len(data)  # is_dense(folded), inline (a call costs as much as the count)
    if n >= DENSE_MIN and folded.count(58, n // 2 - 128, n // 2 + 128) >= DENSE_STOPS:
        return verify_candidates(data, dense_candidates(data), text)
    rx, leaves = scan()
    m = rx.search(folded, start)
    if m is None:
        return _EMPTY_SPANS  # the common case: no candidate at all
    found_at = []
    while m is not None:
        pos = m.start()
        found_at.append((pos, *leaves[m.lastindex or 0]))
        m = rx.search(folded, pos + 1)
    return verify_candidates(data, found_at, text)


#: The accelerator's function (bytes -> stops), or None: looked up on the first scan.
_ACCEL: list[Stops | None] = []


def _load_accel() -> Stops | None:
    _ACCEL.append(stops_finder())
    return _ACCEL[0]


def accelerated() -> bool:
    """True when the scan runs with the Hyperscan prefilter (loading it on the first call)."""
    return (_ACCEL[0] if _ACCEL else _load_accel()) is not None


def use_accelerator(enabled: bool) -> None:
    """Scan with the optional Hyperscan prefilter (when installed) or with ``re`` alone: for
    tests and benchmarks that compare the two. The verdicts are the same either way."""
    _ACCEL.clear()
    if not enabled:
        _ACCEL.append(None)


def verify_candidates(
    data: bytes, found_at: list[tuple[int, str, int]], text: bool = False
) -> list[tuple[int, int, str]]:
    """The secrets at the candidates of a scan of ``data`` (ascending (stop, what, offset))."""
    if not found_at:
        return _EMPTY_SPANS
    spans: list[tuple[int, int, str]] = []
    last_end = 0  # a token, Bearer or key block found ends here: no token starts inside it
    for pos, what, offset in found_at:
        found = None
        if what == "key":
            found = _key(data, pos, text)
        elif what == "url":
            found = _verify_url(data, pos) if data[pos] == 58 else None
        elif pos - offset >= last_end:
            if what == "token":
                found = _prefixed(data, pos - offset)
            elif what == "bearer":
                found = _bearer(data, pos)
            else:
                found = _pem(data, pos)
            if found:
                last_end = max(last_end, max(e for _, e, _ in found))
        if found:
            spans.extend(found)
    if not text and spans:
        spans = [sp for sp in spans if _inside_string(data, sp[0], sp[1])]
    return spans
