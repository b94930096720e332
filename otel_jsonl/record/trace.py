"""``Trace``: the standard-library recorder an agent loop calls once per step.

The article's twelve lines, kept in shape (``Trace(path)``, ``trace.step(kind, **fields)``,
``trace.close()``) and made safe: one ``write`` per line on an ``O_APPEND`` descriptor, values
capped to a blob store, secrets redacted, files ``0600``, and never an exception into the loop.
Imports only the standard library (orjson is used when installed).
"""

from __future__ import annotations

import itertools
import os
import time

from .writer import LineWriter

TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover - typing is not imported at run time (start-up cost)
    from collections.abc import AsyncIterable, Callable, Iterable
    from pathlib import Path
    from types import TracebackType
    from typing import IO, Any

    from typing_extensions import Unpack

    from .llm_call import RecordedStream
    from .writer import WriterOptions
    from .writer_types import WriterOptionsKw

__all__ = ["RESERVED_KEYS", "Trace"]

#: Keys the recorder sets on every line; a field with one of these names is stored with a
#: trailing underscore (``seq_``) rather than overwrite it.
RESERVED_KEYS = frozenset({"ts", "run", "seq", "kind"})


def new_run_id() -> str:
    """Eight random hex characters (the article's ``str(uuid.uuid4())[:8]``, without importing
    uuid)."""
    return os.urandom(4).hex()


_HEX_AND_DASH = frozenset("0123456789abcdefABCDEF-")


def _plain_run_id(run_id: str) -> bool:
    """True for a run id of hex digits and dashes (generated ones, UUIDs): no secret family
    has a form made of those alone."""
    return len(run_id) <= 64 and _HEX_AND_DASH.issuperset(run_id)


class Trace:
    """Records the steps of one run as JSON lines appended to ``path``.

    Every line has ``ts`` (Unix seconds), ``run`` (``run_id``, eight random hex characters
    unless given), ``seq`` (0, 1, 2, ... per run) and ``kind``, then the step's fields.
    ``step()`` returns once the line is in the file (the OS has it; ``fsync`` decides when it
    reaches the disk), and never raises: a failed step is counted in :attr:`dropped` and
    logged once. ``strict=True`` (for tests) raises instead.

    Use as a context manager to close in ``finally``: an exception escaping the block is
    recorded as an ``error`` step and re-raised.

    Give ``path`` (created ``0600``) or ``stream`` (an open binary or text file object that
    the caller closes; capped values are only truncated unless ``blob_dir`` is given).

    ``clock`` is the time source (``time.time``). The writing options are those of
    :class:`~otel_jsonl.record.writer.WriterOptions`, as an ``options`` object or as keywords:
    ``cap`` bytes per string value (0 = off) with full values in ``blob_dir`` (default
    ``blobs/`` beside the trace); ``redact`` (default on) and ``redact_patterns``; ``fsync``
    ``"never"``, ``"close"`` (default), ``"line"`` or every N lines; ``strict``;
    ``follow_symlinks`` (a link at ``path`` is refused unless True) and ``insecure_dirs``
    (``"refuse"`` or ``"warn"`` for a directory others may write to). Capped values that
    could not be kept in a blob (a device, a stream) are counted in :attr:`cut`.
    """

    def __init__(
        self,
        path: str | os.PathLike[str] | None = None,
        *,
        stream: IO[Any] | None = None,
        run_id: str | None = None,
        clock: Callable[[], float] = time.time,
        options: WriterOptions | None = None,
        **overrides: Unpack[WriterOptionsKw],
    ) -> None:
        if run_id is not None and (not isinstance(run_id, str) or not run_id):
            raise ValueError(f"run_id must be a non-empty string, got {run_id!r}")
        self.run_id = run_id if run_id is not None else new_run_id()
        self._clock = clock
        self._seq = itertools.count()
        self._writer = LineWriter(path, stream=stream, options=options, **overrides)
        # The per-step fast path, bound once: ``step`` is the recorder's whole cost.
        self._write_event = self._writer.write_event
        self._next_seq = self._seq.__next__
        #: Whether a line's ``ts``, ``run`` and ``seq`` can hold no secret (the clock is
        #: ``time.time``, the run id hex digits and dashes), so the screen may skip them.
        self._header = clock is time.time and _plain_run_id(self.run_id)

    @property
    def path(self) -> Path | None:
        """The trace file (None when writing to a stream)."""
        return self._writer.path

    @property
    def options(self) -> WriterOptions:
        """How this trace writes its lines (cap, blobs, redaction, fsync, strict)."""
        return self._writer.options

    # -- recording -------------------------------------------------------------------------

    def step(self, kind: str, /, **fields: Any) -> int | None:
        """Append one step; return its ``seq``, or None when it could not be written.

        An ``llm_call`` given ``response=`` (an OpenAI Responses ``Response``, a Gemini
        ``GenerateContentResponse``, a ``ChatCompletion`` or an Anthropic ``Message``, or its
        dict) is recorded as its fields: model, provider, response id, output, finish reason and
        usage (:func:`~otel_jsonl.record.llm_call.llm_call_fields`); other fields given win.
        """
        try:
            if kind == "llm_call" and "response" in fields:
                from .llm_call import llm_call_fields  # on first use: start-up stays small

                fields = {**llm_call_fields(fields.pop("response")), **fields}
            seq = self._next_seq()
            if RESERVED_KEYS.isdisjoint(fields):
                event = {
                    "ts": self._clock(),
                    "run": self.run_id,
                    "seq": seq,
                    "kind": kind,
                    **fields,
                }
            else:
                event = {"ts": self._clock(), "run": self.run_id, "seq": seq, "kind": kind}
                for key, value in fields.items():
                    event[key + "_" if key in RESERVED_KEYS else key] = value
        except Exception as exc:  # broad: a failing clock or response must not break the loop
            self._writer.record_failure(exc)
            return None
        return seq if self._write_event(event, self._header) else None

    def stream(
        self, stream: Iterable[Any] | AsyncIterable[Any], /, **fields: Any
    ) -> RecordedStream:
        """Wrap a stream (sync or async) of OpenAI Responses events, Gemini chunks or Chat
        Completions chunks: iterate it as before (``for`` / ``async for``); when it ends its
        response is one ``llm_call`` (see :meth:`step`), ``fields`` added."""
        from .llm_call import record_stream

        return record_stream(self, stream, **fields)

    def error(self, exc: BaseException, /, **fields: Any) -> int | None:
        """Record an exception as an ``error`` step (type, message, traceback)."""
        try:
            import traceback

            tb = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
            return self.step(
                "error", type=type(exc).__name__, message=str(exc), traceback=tb, **fields
            )
        except Exception as inner:  # broad: formatting a traceback may fail; never raise
            self._writer.record_failure(inner)
            return None

    # -- state -----------------------------------------------------------------------------

    @property
    def dropped(self) -> int:
        """How many steps (or closes) failed and were not written."""
        return self._writer.dropped

    @property
    def cut(self) -> int:
        """How many capped values were cut with no blob kept (no blob store beside a device
        or stream, or the store failed); the steps themselves were written."""
        return self._writer.cut

    @property
    def last_error(self) -> BaseException | None:
        """The last failure, if any (for diagnostics; it was not raised)."""
        return self._writer.last_error

    @property
    def closed(self) -> bool:
        """True once :meth:`close` was called."""
        return self._writer.closed

    def flush(self) -> None:
        """fsync the file now (every returned step is already in the OS's hands)."""
        self._writer.flush()

    def close(self) -> None:
        """Close the file (fsync first, unless ``fsync="never"``); twice is safe."""
        self._writer.close()

    def __enter__(self) -> Trace:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            if exc is not None:
                self.error(exc)
        finally:
            self.close()

    def __repr__(self) -> str:
        state = "closed" if self.closed else "open"
        return f"<Trace run={self.run_id} path={str(self.path)!r} {state} dropped={self.dropped}>"
