"""What the OTLP transport saw on each attempt, so the shipper can say it and act on it.

The SDK's OTLP/HTTP exporter sends through a ``requests.Session`` it accepts as an argument.
:class:`RecordingSession` is that session: it records each request's outcome (status code,
``Retry-After``, or the connection error, classified: connection refused, TLS, timeout) in an
:class:`Attempts`, and turns the transient failures into errors the SDK does not retry on its
own, so one ``export()`` is one request and the shipper's retry (with the wait the server asked
for) is the only one. It also keeps an explicit CA file (``--certificate`` or
``OTEL_EXPORTER_OTLP_CERTIFICATE``) from being overridden by ``REQUESTS_CA_BUNDLE`` /
``CURL_CA_BUNDLE``, which ``requests`` otherwise lets win over a session's ``verify``
(psf/requests#3829). For gRPC, :func:`probe` checks that something listens before an attempt,
so a refused connection is said at once instead of after the gRPC exporter's own retries.
"""

from __future__ import annotations

import email.utils
import math
import re
import socket
import time
import urllib.parse
from dataclasses import dataclass, field
from typing import Any

import requests

__all__ = ["Attempts", "Outcome", "RecordingSession", "probe", "retry_after_seconds"]

#: Statuses OTLP/HTTP says to retry (opentelemetry-proto, otlp.md "Retryable Response Codes").
RETRYABLE_STATUSES = frozenset({429, 502, 503, 504})


@dataclass(frozen=True)
class Outcome:
    """One failed attempt: the HTTP status (None when no answer came), the wait the server
    asked for (``Retry-After``, seconds), whether a retry may help, and what to tell the user."""

    message: str
    status: int | None = None
    retry_after: float | None = None
    retryable: bool = True


@dataclass
class Attempts:
    """Shared by the session (or the gRPC probe) and the shipper: how many requests were
    made, and the outcome of the last one that failed (None after a success)."""

    count: int = 0
    last: Outcome | None = None
    probe_address: tuple[str, int] | None = None
    timeout: float = 10.0
    history: list[Outcome] = field(default_factory=list)

    def failed(self, outcome: Outcome) -> None:
        """Record a failed attempt."""
        self.last = outcome
        self.history.append(outcome)
        del self.history[:-20]


def retry_after_seconds(value: str | None, now: float | None = None) -> float | None:
    """``Retry-After`` in seconds: delay-seconds or an HTTP-date (RFC 9110 10.2.3); None when
    absent or unreadable."""
    if value is None:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        current = time.time() if now is None else now
        return max(0.0, when.timestamp() - current)
    return max(0.0, seconds) if math.isfinite(seconds) else None


class _Handled(Exception):
    """Raised to the SDK exporter for a failure the shipper handles: not one of the
    ``requests`` connection errors, so the SDK does not retry it by itself."""


def _chain(exc: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    todo: list[BaseException] = [exc]
    while todo and len(seen) < 20:
        item = todo.pop()
        if any(item is s for s in seen):
            continue
        seen.append(item)
        todo.extend(a for a in getattr(item, "args", ()) if isinstance(a, BaseException))
        for nxt in (item.__cause__, item.__context__, getattr(item, "reason", None)):
            if isinstance(nxt, BaseException):
                todo.append(nxt)
    return seen


def classify(exc: BaseException, url: str, timeout: float | None) -> Outcome:
    """An Outcome for an exception ``requests`` raised."""
    where = urllib.parse.urlsplit(url).netloc or url
    chain = _chain(exc)
    text = " ".join(str(e) for e in chain)
    if isinstance(exc, requests.exceptions.SSLError) or "SSL" in type(exc).__name__:
        match = re.search(r"certificate verify failed[^)'\"]*", text)
        reason = match.group(0).strip() if match else str(exc).split("(Caused by")[-1].strip()
        # A certificate the client does not trust will not be trusted on the next try.
        permanent = match is not None
        return Outcome(f"TLS error with {where}: {reason}", retryable=not permanent)
    if any(isinstance(e, ConnectionRefusedError) for e in chain) or "Connection refused" in text:
        return Outcome(f"connection refused by {where} (is anything listening there?)")
    if isinstance(exc, requests.exceptions.Timeout) or any(
        isinstance(e, (TimeoutError, socket.timeout)) for e in chain
    ):
        limit = f" after {timeout:g} s" if timeout else ""
        return Outcome(f"{where} timed out{limit} (no answer; the limit is --timeout)")
    if any(isinstance(e, ConnectionResetError) for e in chain):
        return Outcome(f"connection reset by {where}")
    first = str(exc).split("(Caused by")[0].strip() or type(exc).__name__
    return Outcome(f"cannot reach {where}: {first}")


class RecordingSession(requests.Session):
    """A requests session that records every attempt in ``attempts`` (see the module)."""

    def __init__(self, attempts: Attempts) -> None:
        super().__init__()
        self.attempts = attempts

    def merge_environment_settings(
        self, url: Any, proxies: Any, stream: Any, verify: Any, cert: Any
    ) -> Any:
        settings = super().merge_environment_settings(url, proxies, stream, verify, cert)
        if isinstance(self.verify, str) and verify in (None, True):
            # An explicit CA file wins over REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE.
            settings["verify"] = self.verify
        return settings

    def request(self, method: Any, url: Any, *args: Any, **kwargs: Any) -> Any:
        self.attempts.count += 1
        timeout = kwargs.get("timeout")
        try:
            response = super().request(method, url, *args, **kwargs)
        except requests.exceptions.RequestException as exc:
            outcome = classify(exc, str(url), timeout if isinstance(timeout, float) else None)
            self.attempts.failed(outcome)
            raise _Handled(outcome.message) from exc
        status = response.status_code
        if 200 <= status < 300:
            self.attempts.last = None
            return response
        wait = retry_after_seconds(response.headers.get("Retry-After"))
        message = f"HTTP {status} {response.reason or ''}".rstrip()
        if status == 413:
            message += " (the request is larger than the receiver accepts)"
        outcome = Outcome(
            message, status=status, retry_after=wait, retryable=status in RETRYABLE_STATUSES
        )
        self.attempts.failed(outcome)
        if outcome.retryable:
            raise _Handled(message)
        return response


def probe(attempts: Attempts) -> Outcome | None:
    """Connect to ``attempts.probe_address`` (gRPC): an Outcome when nothing listens there,
    None when a connection was made (or there is nothing to probe)."""
    if attempts.probe_address is None:
        return None
    host, port = attempts.probe_address
    try:
        with socket.create_connection((host, port), timeout=min(attempts.timeout, 3.0)):
            return None
    except ConnectionRefusedError:
        return Outcome(f"connection refused by {host}:{port} (is anything listening there?)")
    except OSError:
        return None  # name or route problems: let the exporter try and say what it saw
