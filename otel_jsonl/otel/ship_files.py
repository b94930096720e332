"""Shipping trace files to an OTLP backend as they grow: follow, convert, send, checkpoint.

:class:`FileShipper` follows each path's set of files (the active file and its rotated files,
by fingerprint and offset, like ``tail -F``: see :mod:`otel_jsonl.read.follow`), turns lines
into spans as they come (:class:`~otel_jsonl.otel.to_spans.SpanConverter`), and sends them in
bounded batches through a :class:`~otel_jsonl.otel.ship.Shipper`. After each batch the backend
accepted, the checkpoint file records, per path, two positions:

* ``acked``: every span completed by a line up to here was accepted;
* ``resume``: where to start reading again so the converter rebuilds the state of every run
  still open at ``acked`` (the first line of the oldest such run; ``acked`` itself when none).

A restart reads from ``resume`` and drops the spans completed up to ``acked``, so after a crash
only the batch in flight (sent, accepted, not yet recorded) is sent again, with the same ids:
ids derive from run and step (:mod:`otel_jsonl.otel.ids`). While the backend is down the batch
is retried with backoff and nothing more is read: the file is the buffer, memory stays bounded
by one batch and the converter's open runs. A run with no ``final`` is closed (its root span
sent) after ``idle_timeout`` seconds without a line. Without ``follow`` every set is read to
its end once, open runs are closed, and the call returns (``convert --endpoint``).
"""

from __future__ import annotations

import os
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan

from ..read.follow import (
    FollowedLine,
    Follower,
    Position,
)
from ..read.lines import Problem, decode_line
from ..schema import check_required
from .checkpoint import Checkpoint, CheckpointBusyError, starting_point
from .ids import root_span_id
from .otlp_json import sdk_spans
from .otlp_logs import line_to_record
from .ship import Shipper
from .ship_status import ShipStatus
from .to_spans import SpanConverter

__all__ = ["CheckpointBusyError", "FileShipper", "ShipStatus"]
#: Resource lines remembered per path for the checkpoint.
MAX_RESOURCES = 64
#: Notes kept in the status.
MAX_NOTES = 100
#: Lines read from one set before the others get a turn.
READ_CHUNK = 512


class _Set:
    """One followed path: its follower, converter, open entries and checkpoint."""

    def __init__(self, key: str, follower: Follower, converter: SpanConverter) -> None:
        self.key = key
        self.follower = follower
        self.converter = converter
        # Entries the converter still holds state for ("r" + run, "s" + span id), in the
        # order of their first line, with the position before that line.
        self.open: OrderedDict[str, Position] = OrderedDict()
        self.last_seen: dict[str, float] = {}
        self.suppress_until: Position | None = None
        self.limit_seen = False
        self.stalls = 0
        self.resume: Position | None = None
        self.acked: Position | None = None
        self.last_pos: Position | None = None
        # Resource lines seen (by id): kept in the checkpoint, since a restart may begin
        # after the line that declared a resource its spans refer to.
        self.resources: dict[str, dict[str, Any]] = {}


class _Pending:
    """A span, or a log record (``log``), waiting to be sent, and where its line was."""

    __slots__ = ("acked", "log", "resume", "set", "span", "ts")

    def __init__(
        self, span: Any, set_: _Set, resume: Position, acked: Position, ts: float, log: bool
    ) -> None:
        self.log = log
        self.span = span
        self.set = set_
        self.resume = resume
        self.acked = acked
        self.ts = ts


class FileShipper:
    """Follows trace files and ships their spans (see the module doc).

    ``paths``: active trace files (each with its rotated set), or rotated files on their own
    (``agent.20261130T044802.123456Z.jsonl.gz``: that file only). ``shipper``: the transport (its
    retry policy applies to each attempt; in ``follow`` mode a batch it gives up on is tried
    again with backoff up to ``max_backoff`` seconds, forever, until :meth:`stop`; without
    ``follow``, for ``give_up_after`` seconds, then the run ends with the spans waiting).
    ``log_shipper`` sends the records of ``log`` lines (to the logs endpoint; none: they are not
    sent), in the same batches. ``transform`` rewrites each span before it is sent (a backend's
    own attributes, as the ``--to`` presets give). ``checkpoint``: a file to resume from and
    record progress in (``0600``, written atomically). ``batch_size`` spans per batch at most; a
    batch that is not full goes after ``flush_interval`` seconds. ``on_status`` is called every
    ``status_interval`` seconds and at the end; ``on_problem`` with each bad line (``file:line:
    reason``) and note.
    """

    def __init__(
        self,
        paths: Sequence[str | os.PathLike[str]],
        shipper: Shipper,
        *,
        checkpoint: str | os.PathLike[str] | None = None,
        follow: bool = True,
        batch_size: int = 512,
        flush_interval: float = 1.0,
        idle_timeout: float = 300.0,
        poll_interval: float = 0.1,
        max_backoff: float = 30.0,
        give_up_after: float = 120.0,
        status_interval: float = 60.0,
        resource: Resource | None = None,
        resource_attrs: Mapping[str, Any] | None = None,
        transform: Callable[[ReadableSpan], ReadableSpan] | None = None,
        log_shipper: Shipper | None = None,
        on_status: Callable[[ShipStatus], None] | None = None,
        on_problem: Callable[[str], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
    ) -> None:
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        self.shipper = shipper
        self.log_shipper = log_shipper
        self.resource = resource
        self.transform = transform
        self.follow = follow
        self.batch_size = batch_size
        self.flush_interval = flush_interval
        self.idle_timeout = idle_timeout
        self.poll_interval = poll_interval
        self.max_backoff = max_backoff
        self.give_up_after = give_up_after
        self.status_interval = status_interval
        self.status = ShipStatus()
        self.checkpoint = Path(checkpoint) if checkpoint is not None else None
        self._on_status = on_status
        self._on_problem = on_problem
        self._clock = clock
        self._wall = wall
        self._stop = threading.Event()
        self._pending: list[_Pending] = []
        self._first_pending = 0.0
        self._checkpoint = Checkpoint(checkpoint)
        self._sets: list[_Set] = []
        for raw in paths:
            key = os.path.abspath(os.fspath(raw))
            saved = self._checkpoint.entry(key)
            converter = SpanConverter(resource=resource, resource_attrs=resource_attrs)
            start, suppress, note = starting_point(key, saved)
            if note is not None:
                self._note(note)
            item = _Set(key, Follower(key, start=start), converter)
            for ev in saved.get("resources", ()) if start is not None else ():
                if isinstance(ev, dict) and isinstance(ev.get("id"), str):
                    item.resources[ev["id"]] = ev
                    converter.feed(ev)
            item.suppress_until = suppress
            # Resuming in the file of `acked`: a line of another file comes after it (acked may
            # be that file's end, so no line of it is read at all).
            item.limit_seen = bool(start and suppress and start.fingerprint == suppress.fingerprint)
            item.resume = Position.from_json(saved.get("resume"))
            item.acked = Position.from_json(saved.get("acked"))
            self._sets.append(item)

    # -- control ---------------------------------------------------------------------------

    def stop(self) -> None:
        """Ask :meth:`run` to finish: send what is pending (one try), record it, return."""
        self._stop.set()

    def _note(self, message: str) -> None:
        self.status.notes.append(message)
        del self.status.notes[:-MAX_NOTES]
        if self._on_problem is not None:
            self._on_problem(message)

    # -- the loop ----------------------------------------------------------------------------

    def run(self) -> ShipStatus:
        """Ship until stopped (``follow``) or to the end of every set; return the status.
        Raises :class:`CheckpointBusyError` when another shipper holds the checkpoint."""
        with self._checkpoint.held():
            return self._run()

    def _run(self) -> ShipStatus:
        next_status = self._clock() + self.status_interval
        try:
            while True:
                # Caught up: every set's follower reached the end of what is written now.
                caught_up = True
                read = 0
                for item in self._sets:
                    n = self._read(item)
                    read += n
                    # Without follow, the end is the end of the active file, not a pause of
                    # the follower in a rotation under way (bounded: 50 polls in a row).
                    item.stalls = 0 if n or item.follower.at_end else item.stalls + 1
                    if n >= READ_CHUNK or not (
                        self.follow or item.follower.at_end or item.stalls > 50
                    ):
                        caught_up = False
                    if len(self._pending) >= self.batch_size and not self._flush(final=False):
                        break
                if self._stop.is_set() or self._gave_up:
                    break
                now = self._clock()
                self.status.caught_up = caught_up and not self._pending
                if caught_up:
                    if not self.follow:
                        for item in self._sets:
                            self._finish(item)
                        self._flush(final=True)
                        break
                    self._close_idle(now)
                if (
                    self._pending
                    and (
                        len(self._pending) >= self.batch_size
                        or now - self._first_pending >= self.flush_interval
                        or caught_up
                    )
                    and not self._flush(final=False)
                ):
                    break
                if not self._pending and caught_up:
                    self._mark_caught_up()
                self._update_lag()
                if now >= next_status:
                    next_status = now + self.status_interval
                    self._report()
                if read == 0:
                    self._stop.wait(self.poll_interval)
            if self._stop.is_set() and self._pending and not self._gave_up:
                self._flush(final=True, once=True)
        finally:
            for item in self._sets:
                item.follower.close()
        self.status.caught_up = not self._pending and not self._gave_up
        self._update_lag()
        return self.status

    def _report(self) -> None:
        if self._on_status is not None:
            self._on_status(self.status)

    def _update_lag(self) -> None:
        if self._pending:
            self.status.lag = max(0.0, self._wall() - self._pending[0].ts)
        elif self.status.caught_up:
            self.status.lag = 0.0
        self.status.waiting = len(self._pending)

    # -- reading -----------------------------------------------------------------------------

    def _read(self, item: _Set) -> int:
        lines = item.follower.poll(READ_CHUNK)
        notes = item.follower.notes
        while notes:
            self._note(notes.pop(0))
        now = self._clock()
        for line in lines:
            self._feed(item, line, now)
        for problem in item.follower.problems:  # a damaged .gz, read up to the damage
            self.status.bad_lines += 1
            if self._on_problem is not None:
                self._on_problem(str(problem))
        item.follower.problems.clear()
        return len(lines)

    def _feed(self, item: _Set, line: FollowedLine, now: float) -> None:
        self.status.lines += 1
        after = line.position
        before = Position(after.fingerprint, after.offset - len(line.raw), line.path)
        after = Position(after.fingerprint, after.offset, line.path)
        item.last_pos = after
        raw = line.raw.rstrip(b"\r\n")
        if not raw.strip():
            return
        ev, reason = decode_line(raw)
        if reason is None:
            reason = check_required(ev)
        if reason is not None:
            self.status.bad_lines += 1
            if self._on_problem is not None:
                self._on_problem(str(Problem(line.path, line.lineno, reason)))
            return
        converter = item.converter
        rid = ev.get("id") if ev.get("kind") == "resource" else None
        if isinstance(rid, str) and (len(item.resources) < MAX_RESOURCES or rid in item.resources):
            item.resources[rid] = ev
        spans = sdk_spans(converter.feed(ev))
        run = ev.get("run")
        ts = ev.get("ts")
        ts = float(ts) if isinstance(ts, (int, float)) and not isinstance(ts, bool) else 0.0
        # Keep the open entries in step with the converter's state.
        if isinstance(run, str):
            key = "r" + run
            if run in converter.open_run_ids():
                if key not in item.open:
                    item.open[key] = before
                item.last_seen[run] = now
            elif key in item.open:
                del item.open[key]
                item.last_seen.pop(run, None)
        sid = ev.get("span_id")
        if isinstance(sid, str):
            key = "s" + sid
            if sid in converter.waiting_spans():
                if key not in item.open:
                    item.open[key] = before
            elif key in item.open:
                del item.open[key]
        own_root = root_span_id(run) if isinstance(run, str) else None
        for span in spans:
            ctx = span.context
            if span.parent is None and ctx is not None and ctx.span_id != own_root:
                # Another run's root: the converter closed runs to stay bounded.
                self._sync_open(item)
                break
        # Every line moves the suppression on, those that complete no span too.
        if item.suppress_until is not None and self._suppressed(item, after):
            self.status.spans_suppressed += len(spans)
            return
        if spans:
            self._add(item, spans, after, ts)
        if ev["kind"] == "log" and self.log_shipper is not None:
            self._add(item, [line_to_record(ev, self.resource)], after, ts, log=True)

    @staticmethod
    def _sync_open(item: _Set) -> None:
        runs = item.converter.open_run_ids()
        waiting = item.converter.waiting_spans()
        for key in list(item.open):
            if (key[0] == "r" and key[1:] not in runs) or (
                key[0] == "s" and key[1:] not in waiting
            ):
                del item.open[key]
                item.last_seen.pop(key[1:], None)

    @staticmethod
    def _suppressed(item: _Set, after: Position) -> bool:
        """True for spans completed at ``after`` when the backend accepted them before the
        restart (up to the checkpoint's ``acked``)."""
        limit = item.suppress_until
        if limit is None:
            return False
        if after.fingerprint == limit.fingerprint:
            item.limit_seen = True
            if after.offset >= limit.offset:
                item.suppress_until = None
            return after.offset <= limit.offset
        if item.limit_seen:
            # Past the checkpoint's file (it was truncated or replaced): nothing to drop.
            item.suppress_until = None
            return False
        return True

    def _add(
        self, item: _Set, spans: list[Any], after: Position, ts: float, log: bool = False
    ) -> None:
        resume = next(iter(item.open.values())) if item.open else after
        if not self._pending:
            self._first_pending = self._clock()
        if self.transform is not None and not log:
            spans = [self.transform(span) for span in spans]
        for span in spans:
            self._pending.append(_Pending(span, item, resume, after, ts, log))

    def _close_idle(self, now: float) -> None:
        for item in self._sets:
            idle = [r for r, seen in item.last_seen.items() if now - seen >= self.idle_timeout]
            for run in idle:
                spans = item.converter.close_run(run)
                item.open.pop("r" + run, None)
                item.last_seen.pop(run, None)
                if spans and item.last_pos is not None and item.suppress_until is None:
                    self._add(item, spans, item.last_pos, self._wall())

    def _finish(self, item: _Set) -> None:
        spans = item.converter.finish()
        item.open.clear()
        item.last_seen.clear()
        if spans and item.suppress_until is None:
            pos = item.last_pos or item.follower.position
            if pos is not None:
                self._add(item, spans, pos, self._wall())

    def _mark_caught_up(self) -> None:
        """Nothing pending: when a set also holds no open state, record its read position."""
        changed = False
        for item in self._sets:
            pos = item.last_pos
            if item.open or pos is None or item.suppress_until is not None:
                continue
            if item.acked != pos:
                item.acked = item.resume = pos
                changed = True
        if changed:
            self._save()

    # -- sending -----------------------------------------------------------------------------

    def _flush(self, *, final: bool, once: bool = False) -> bool:
        """Send pending spans (full batches; all of them when ``final``). False when a batch
        was given up on (without ``follow``, after ``give_up_after`` seconds of failures)."""
        while self._pending:
            # A batch never ends inside the spans of one line: the checkpoint records lines.
            n = min(self.batch_size, len(self._pending))
            while n < len(self._pending) and self._pending[n].acked is self._pending[n - 1].acked:
                n += 1
            batch = self._pending[:n]
            spans = [p.span for p in batch if not p.log]
            logs = [p.span for p in batch if p.log]
            backoff = 1.0
            began = self._clock()
            while True:
                if self._send(spans, logs):
                    break
                self.status.failed_attempts += 1
                if self.status.down_since is None:
                    self.status.down_since = self._clock()
                give_up = not self.follow and (self._clock() - began + backoff > self.give_up_after)
                if once or give_up or self._stop.is_set():
                    self.status.waiting = len(self._pending)
                    self._gave_up = not once
                    return False
                self._report_if_due()
                self._stop.wait(backoff)
                backoff = min(backoff * 2, self.max_backoff)
            self.status.down_since = None
            self.status.spans_sent += len(spans)
            self.status.logs_sent += len(logs)
            self.status.batches_sent += 1
            del self._pending[: len(batch)]
            for p in batch:
                p.set.acked = p.acked
                p.set.resume = p.resume
            self._save()
            if not final and len(self._pending) < self.batch_size:
                break
        if self._pending:
            self._first_pending = self._clock()
        return True

    def _send(self, spans: list[ReadableSpan], logs: list[Any]) -> bool:
        """Send a batch's spans and log records (spans again with the records when only the
        records failed: the backend keeps one copy of a span). A logs endpoint that does not
        exist (a trace-only backend) stops the records, with a note, not the shipping."""
        if spans and not self.shipper.send(spans):
            self.status.last_error = self.shipper.report.last_error
            return False
        ship = self.log_shipper
        if not logs or ship is None or ship.send(logs):
            return True
        if ship.report.unsupported:
            self._note(f"{ship.report.endpoint} takes no log records: they are not sent")
            self.log_shipper = None
            return True
        self.status.last_error = ship.report.last_error
        return False

    _last_down_report = 0.0
    _gave_up = False
    _save_failed = False

    def _report_if_due(self) -> None:
        now = self._clock()
        if now - self._last_down_report >= self.status_interval:
            self._last_down_report = now
            self._update_lag()
            self._report()

    def _save(self) -> None:
        if self.checkpoint is None:
            return
        sets: dict[str, dict[str, Any]] = {}
        for item in self._sets:
            if item.acked is None:
                continue
            entry: dict[str, Any] = {"acked": item.acked.to_json()}
            if item.resources:
                entry["resources"] = list(item.resources.values())
            entry["resume"] = (item.resume or item.acked).to_json()
            entry["updated"] = round(self._wall(), 3)
            sets[item.key] = entry
        try:
            self._checkpoint.save(sets, self.shipper.report.endpoint)
        except OSError as exc:
            if not self._save_failed:
                self._note(f"{self.checkpoint}: cannot write the checkpoint: {exc}")
            self._save_failed = True
