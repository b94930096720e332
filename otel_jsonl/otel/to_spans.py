"""Events to spans: the lines of a trace file become OpenTelemetry ``ReadableSpan`` objects.

Two kinds of lines, one stream:

* **Exporter lines** (they carry an ``otel`` block) go back through
  :func:`otel_jsonl.mapping.events_to_span`, which rebuilds exactly the span they came from
  (ids, parent, name, kind, nanosecond times, status, typed attributes, events, links, scope,
  resource). A span split over two lines (``tool_call`` + ``tool_result``, ``input`` + ``final``)
  has its ``otel`` block on the second line; the first waits for it.
* **Recorder lines** (the :class:`~otel_jsonl.Trace` recorder's, or the article's twelve-line
  format) have no ids and second-resolution times. A run becomes a trace whose root is an
  ``invoke_agent`` span (the run's ``input`` and ``final``); each step becomes a child span
  (``llm_call`` a ``chat`` span, a ``tool_call`` and its ``tool_result`` one ``execute_tool`` span,
  other kinds a span named after them); ``error`` steps set ERROR status and add an
  ``exception`` event to the span they belong to. Spans carry the current GenAI attributes
  (``gen_ai.operation.name``, ``gen_ai.request.model``, ``gen_ai.usage.*``,
  ``gen_ai.input.messages`` / ``gen_ai.output.messages``, ``gen_ai.tool.*``).

Ids are derived from the run and the step (:mod:`otel_jsonl.otel.ids`), so converting or
shipping a file twice gives the same spans. Times: a step with ``start`` starts then, otherwise
at the previous step's ``ts`` in its run (the first step at its own ``ts``); it ends at ``ts``.
An ``execute_tool`` span runs from its ``tool_call`` to its ``tool_result``.

Memory (streaming; runs may interleave when several processes append to one file): a span is
emitted as soon as it is complete, except that the last completed step of each open run is held
until the run's next line (so an ``error`` line right after it can still mark it). Per open run
the converter keeps its ids and times, its ``input`` attributes, that one held span, and its
``tool_call`` lines still waiting for a ``tool_result`` (at most ``max_pending_tools``; beyond
that the oldest is emitted unpaired). A run's root span is emitted when its ``final`` arrives,
and the run's state is then dropped (a small record of up to ``max_finished_runs`` finished runs
is kept so that late lines of the same run keep consistent ids); runs that never reach ``final``
are closed at the end of input, or, beyond ``max_open_runs`` open runs, the least recently seen
is closed early. Exporter lines wait only for their span's second line (at most
``max_pending_spans`` waiting); the ``error`` lines the exporter derives from a span's status
follow its ``otel`` line and are skipped (the span already holds them).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable, Iterator, KeysView, Mapping
from typing import Any

from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import Event, ReadableSpan
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from opentelemetry.trace import SpanContext, SpanKind, TraceFlags
from opentelemetry.trace.status import Status, StatusCode
from orjson import dumps

from .._version import __version__
from ..genai import attributes as ga
from ..genai.names import EXCEPTION_EVENT
from ..genai.plain_steps import plain_llm_attributes
from ..read.lines import Line
from ..schema import META_KINDS
from . import mapping
from .drafts import ConvertStats, Draft, RunState
from .drafts import ns as _ns
from .ids import (
    default_resource,
    is_hex_id,
    root_span_id,
    span_id_for_step,
    step_ids,
    step_span_id,
    trace_id_for_run,
)
from .otlp_json import AnySpan, EncodedSpan, sdk_spans

__all__ = [
    "ConvertStats",
    "SpanConverter",
    "default_resource",
    "events_to_spans",
    "root_span_id",
    "span_id_for_step",
    "trace_id_for_run",
]

#: Instrumentation scope of spans built from recorder lines.
SCOPE = InstrumentationScope("otel_jsonl.convert", __version__)
_SAMPLED = TraceFlags(TraceFlags.SAMPLED)

#: Kinds folded into other spans rather than becoming spans of their own.
_NOT_SPANS = META_KINDS | {"log"}


class SpanConverter:
    """Turns a stream of events into spans, one :meth:`feed` at a time (see the module doc).

    ``resource`` is the resource of spans built from recorder lines (default
    :func:`default_resource`); ``resource_attrs`` are merged into every span's resource,
    exporter spans included (e.g. ``openinference.project.name``). With ``encoded``, the spans
    of recorder lines come as :class:`~otel_jsonl.otel.otlp_json.EncodedSpan` objects (already
    OTLP JSON, no SDK span built), which only the OTLP JSON writers take: for a file output.
    """

    def __init__(
        self,
        *,
        resource: Resource | None = None,
        resource_attrs: Mapping[str, Any] | None = None,
        max_pending_tools: int = 1000,
        max_open_runs: int = 100_000,
        max_finished_runs: int = 10_000,
        max_pending_spans: int = 100_000,
        encoded: bool = False,
    ) -> None:
        self.encoded = encoded
        self.extra = Resource(dict(resource_attrs)) if resource_attrs else None
        base = resource if resource is not None else default_resource()
        self.resource = base.merge(self.extra) if self.extra is not None else base
        self.max_pending_tools = max_pending_tools
        self.max_open_runs = max_open_runs
        self.max_finished_runs = max_finished_runs
        self.max_pending_spans = max_pending_spans
        self.stats = ConvertStats()
        self._runs: OrderedDict[str, RunState] = OrderedDict()
        self._finished: OrderedDict[str, tuple[int, int]] = OrderedDict()
        # exporter path: resource lines by id, and first halves waiting for their otel line.
        self._resources: dict[str, Resource] = {}
        self._merged: dict[int, Resource] = {}
        self._waiting: OrderedDict[str, list[dict[str, Any]]] = OrderedDict()
        # span ids of exporter spans emitted lately, so their trailing error lines are skipped.
        self._emitted: OrderedDict[str, None] = OrderedDict()

    # -- public ---------------------------------------------------------------------------

    def feed(self, event: Mapping[str, Any] | Line) -> list[AnySpan]:
        """Take one event; return the spans it completed (possibly none)."""
        ev: Mapping[str, Any] = event.event if isinstance(event, Line) else event
        self.stats.lines += 1
        out: list[AnySpan] = []
        kind = ev.get("kind")
        if kind == "resource":
            self._add_resource(ev)
            return out
        otel = ev.get("otel")
        if (
            otel is not None  # (before the Mapping check, which is slow for every line)
            and isinstance(otel, Mapping)
            and isinstance(ev.get("trace_id"), str)
            and isinstance(ev.get("span_id"), str)
        ):
            self._exporter_line(ev, out)
            return out
        span_id = ev.get("span_id")
        if isinstance(span_id, str) and isinstance(ev.get("trace_id"), str):
            if span_id in self._emitted:
                # An exporter span's derived lines (its error lines come after its otel line).
                return out
            # Possibly the first half of an exporter span; it waits for its otel line.
            if kind in ("tool_call", "input") or span_id in self._waiting:
                self._wait(span_id, dict(ev), out)
                return out
        if kind in _NOT_SPANS:
            return out
        self._recorder_line(ev, out)
        return out

    @property
    def open_runs(self) -> int:
        """How many runs are open (their root span not emitted yet)."""
        return len(self._runs)

    def finish(self) -> list[AnySpan]:
        """End of input: emit everything still open (runs without ``final``, unpaired tools)."""
        out: list[AnySpan] = []
        while self._waiting:
            _, lines = self._waiting.popitem(last=False)
            for ev in lines:
                if ev.get("kind") not in _NOT_SPANS:
                    self._recorder_line(ev, out)
        while self._runs:
            _, state = self._runs.popitem(last=False)
            self._close_run(state, out)
        return out

    def open_run_ids(self) -> KeysView[str]:
        """The runs whose state is held now (a live view; for a follower's checkpoint)."""
        return self._runs.keys()

    def waiting_spans(self) -> KeysView[str]:
        """Span ids of exporter first halves waiting for their ``otel`` line (a live view)."""
        return self._waiting.keys()

    def close_run(self, run: str) -> list[AnySpan]:
        """Close one open run now, as the end of input would (its held span, unpaired tools,
        and its root span unless it was already emitted); for runs idle too long."""
        out: list[AnySpan] = []
        state = self._runs.pop(run, None)
        if state is not None:
            self._close_run(state, out)
        return out

    # -- exporter lines --------------------------------------------------------------------

    def _add_resource(self, ev: Mapping[str, Any]) -> None:
        rid = ev.get("id")
        if isinstance(rid, str):
            self._resources[rid] = mapping.resource_from_event(dict(ev))

    def _wait(self, span_id: str, ev: dict[str, Any], out: list[AnySpan]) -> None:
        self._waiting.setdefault(span_id, []).append(ev)
        while len(self._waiting) > self.max_pending_spans:
            _, lines = self._waiting.popitem(last=False)
            self.stats.notes.append(f"span {span_id}: its otel line never came")
            for line in lines:
                self._recorder_line(line, out)

    def _exporter_line(self, ev: Mapping[str, Any], out: list[AnySpan]) -> None:
        span_id = ev.get("span_id")
        lines = self._waiting.pop(span_id, []) if isinstance(span_id, str) else []
        lines.append(dict(ev))
        if isinstance(span_id, str):
            self._emitted[span_id] = None
            if len(self._emitted) > 4096:  # its error lines follow it in the same write
                self._emitted.popitem(last=False)
        span: ReadableSpan = mapping.events_to_span(lines, self._resources)
        if self.extra is not None:
            span = self._with_extra_resource(span)
        self.stats.exporter_spans += 1
        self.stats.spans += 1
        out.append(span)

    def _with_extra_resource(self, span: ReadableSpan) -> ReadableSpan:
        assert self.extra is not None
        key = id(span.resource)
        merged = self._merged.get(key)
        if merged is None:
            merged = self._merged[key] = span.resource.merge(self.extra)
        return mapping.replace_span(span, resource=merged)

    # -- recorder lines --------------------------------------------------------------------

    def _new_state(self, run: str, ev: Mapping[str, Any], out: list[AnySpan]) -> RunState:
        tid = ev.get("trace_id")
        trace_id = int(tid, 16) if isinstance(tid, str) and is_hex_id(tid, 32) else None
        done = self._finished.pop(run, None)
        if done is not None:
            # A late line of a run whose root was already emitted: same ids, no second root.
            state = RunState(run, trace_id or trace_id_for_run(run), done[0], done[1])
            state.finished = True
        else:
            state = RunState(run, trace_id or trace_id_for_run(run))
            self.stats.runs += 1
        self._runs[run] = state
        while len(self._runs) > self.max_open_runs:
            _, oldest = self._runs.popitem(last=False)
            self._close_run(oldest, out)
        return state

    def _recorder_line(self, ev: Mapping[str, Any], out: list[AnySpan]) -> None:
        # The hot path of a conversion: the usual types are taken as they are, anything
        # else goes through the general conversions (str(), _ns), with the same result.
        run = ev["run"]
        if type(run) is not str:
            run = str(run)
        kind = ev["kind"]
        if type(kind) is not str:
            kind = str(kind)
        t = ev["ts"]
        ts = round(t * 1e9) if type(t) is float and 0.0 <= t < 1.8e10 else _ns(t)
        state = self._runs.get(run)
        if state is None:
            state = self._new_state(run, ev, out)
        else:
            self._runs.move_to_end(run)
        position = state.position
        state.position += 1
        raw_start = ev.get("start")
        if isinstance(raw_start, (int, float)) and type(raw_start) is not bool:
            start = _ns(raw_start)
        else:
            start = state.prev_ns if state.prev_ns is not None else ts
        if start > ts:
            start = ts
        state.prev_ns = ts
        if state.first_ns is None or start < state.first_ns:
            state.first_ns = start
        if ts > state.last_ns:
            state.last_ns = ts
        seq = ev.get("seq")
        if not isinstance(seq, int):
            seq = None

        if kind == "error":
            self.stats.errors += 1
            self._error(state, ev, ts, out)
            return
        # Any other line releases the held span: no error line followed it.
        if state.held is not None:
            out.append(self._build(state, state.held))
            state.held = None
        if kind == "tool_result":
            # Its ids only matter when no tool_call waits for it (a sha256 saved per result);
            # passed as values: a closure would make them cells on every line's path.
            self._tool_result(state, ev, (run, seq, position), start, ts, out)
            return
        if kind == "input":
            self._input(state, ev)
            return
        if kind == "final":
            self._final(state, ev, ts)
            self._close_run(state, out)
            self._runs.pop(run, None)
            return
        if "span_id" in ev or "parent_id" in ev:
            span_id, parent_id = step_ids(ev, run, seq, position, state.root.span_id)
        else:
            span_id, parent_id = step_span_id(state.step_key, seq, position), state.root.span_id
        if kind == "tool_call":
            self._tool_call(state, ev, span_id, parent_id, ts, out)
            return
        state.held = self._step_span(kind, ev, span_id, parent_id, start, ts, seq)

    def _input(self, state: RunState, ev: Mapping[str, Any]) -> None:
        name = ga.input_attributes(state.root.attrs, ev)
        if name is not None:
            state.root.name = name

    def _final(self, state: RunState, ev: Mapping[str, Any], ts: int) -> None:
        ga.final_attributes(state.root.attrs, ev)
        state.last_ns = max(state.last_ns, ts)

    def _close_run(self, state: RunState, out: list[AnySpan]) -> None:
        if state.held is not None:
            out.append(self._build(state, state.held))
            state.held = None
        for draft in list(state.tools.values()) + list(state.untagged_tools):
            self.stats.unpaired_tool_calls += 1
            out.append(self._build(state, draft))
        state.tools.clear()
        state.untagged_tools.clear()
        for _name, err in state.pending_errors:
            self._mark(state.root, err)
        state.pending_errors.clear()
        if not state.finished:
            root = state.root
            root.start = state.first_ns if state.first_ns is not None else state.last_ns
            root.end = max(state.last_ns, root.start)
            out.append(self._build(state, root, root=True))
            state.finished = True
        self._finished[state.run] = (state.position, state.prev_ns or state.last_ns)
        while len(self._finished) > self.max_finished_runs:
            self._finished.popitem(last=False)

    def _tool_call(
        self,
        state: RunState,
        ev: Mapping[str, Any],
        span_id: int,
        parent_id: int,
        ts: int,
        out: list[AnySpan],
    ) -> None:
        name = ev.get("name")
        name = name if isinstance(name, str) and name else "tool"
        raw_start = ev.get("start")
        start = _ns(raw_start) if isinstance(raw_start, (int, float)) else ts
        call_id = ev.get("id")
        attrs = ga.tool_attributes(name, call_id, ev)
        draft = Draft(
            f"execute_tool {name}", span_id, parent_id, SpanKind.INTERNAL, start, ts, attrs
        )
        draft.seq = ev.get("seq")
        draft.tool_name = name
        # Errors the article logged before this call, naming this tool.
        for i, (tool, err) in enumerate(state.pending_errors):
            if tool == name:
                self._mark(draft, err)
                del state.pending_errors[i]
                break
        if isinstance(call_id, str) and call_id and call_id not in state.tools:
            state.tools[call_id] = draft
        else:
            state.untagged_tools.append(draft)
        if len(state.tools) + len(state.untagged_tools) > self.max_pending_tools:
            oldest = state.untagged_tools.popleft() if state.untagged_tools else None
            if oldest is None:
                _, oldest = state.tools.popitem(last=False)
            self.stats.unpaired_tool_calls += 1
            out.append(self._build(state, oldest))

    def _tool_result(
        self,
        state: RunState,
        ev: Mapping[str, Any],
        step: tuple[str, int | None, int],
        start: int,
        ts: int,
        out: list[AnySpan],
    ) -> None:
        call_id = ev.get("id")
        draft: Draft | None = None
        if isinstance(call_id, str) and call_id in state.tools:
            draft = state.tools.pop(call_id)
        elif state.untagged_tools:
            draft = state.untagged_tools.popleft()
            ga.set_tool_call_id(draft.attrs, call_id)
        if draft is None:
            self.stats.unpaired_tool_results += 1
            name = ev.get("name")
            name = name if isinstance(name, str) and name else "tool"
            span_id, parent_id = step_ids(ev, *step, state.root.span_id)
            draft = Draft(
                f"execute_tool {name}",
                span_id,
                parent_id,
                SpanKind.INTERNAL,
                start,
                ts,
                ga.tool_attributes(name, call_id, None),
            )
            draft.seq = ev.get("seq")
            draft.tool_name = name
        draft.end = max(ts, draft.start)
        ga.tool_result_attributes(draft.attrs, ev)
        if ev.get("is_error") is True:
            draft.status = Status(StatusCode.ERROR, _short(ev.get("output")))
        # Held, like any step: an error line right after it still marks it.
        state.held = draft
        _ = out

    def _step_span(
        self,
        kind: str,
        ev: Mapping[str, Any],
        span_id: int,
        parent_id: int,
        start: int,
        ts: int,
        seq: Any,
    ) -> Draft:
        if kind == "llm_call":
            name, attrs = plain_llm_attributes(ev) or ga.llm_attributes(ev)
            return Draft(name, span_id, parent_id, SpanKind.CLIENT, start, ts, attrs, seq)
        name, attrs, client = ga.step_attributes(kind, ev)
        span_kind = SpanKind.CLIENT if client else SpanKind.INTERNAL
        return Draft(name, span_id, parent_id, span_kind, start, ts, attrs, seq)

    def _error(self, state: RunState, ev: Mapping[str, Any], ts: int, out: list[AnySpan]) -> None:
        step = ev.get("step")
        sid = ev.get("span_id")
        tool = ev.get("tool")
        tool = tool if isinstance(tool, str) and tool else None
        candidates = [state.held, *state.tools.values(), *state.untagged_tools]
        target: Draft | None = None
        for draft in candidates:
            if draft is None:
                continue
            by_step = isinstance(step, int) and not isinstance(step, bool) and draft.seq == step
            by_id = isinstance(sid, str) and is_hex_id(sid, 16) and draft.span_id == int(sid, 16)
            if by_step or by_id:
                target = draft
                break
        if target is None and tool is not None and step is None:
            # The demo logs a tool's error between its tool_call and tool_result.
            for draft in reversed([*state.tools.values(), *state.untagged_tools]):
                if draft.tool_name == tool:
                    target = draft
                    break
            if target is None:
                # The article logs it before the tool_call: mark the next call of that tool.
                state.pending_errors.append((tool, ev))
                return
        self._mark(target if target is not None else state.root, ev, ts)

    def _mark(self, draft: Draft, ev: Mapping[str, Any], ts: int | None = None) -> None:
        attrs, status = ga.exception_attributes(ev)
        when = ts if ts is not None else _ns(ev["ts"])
        draft.events.append(Event(EXCEPTION_EVENT, attrs, when))
        draft.status = Status(StatusCode.ERROR, status)

    def _build(self, state: RunState, draft: Draft, *, root: bool = False) -> AnySpan:
        self.stats.spans += 1
        if self.encoded:
            # Encoded to bytes now: the span's dicts die young (cheap to free, never walked by
            # the cyclic collector), and the batch's line only splices the bytes in.
            otlp = dumps(draft.encode(state.trace_hex, root=root))
            # Only the OTLP JSON writers take it (see the class doc).
            return EncodedSpan(self.resource, SCOPE, otlp)
        context = SpanContext(state.trace_id, draft.span_id, False, _SAMPLED)
        parent = None if root else SpanContext(state.trace_id, draft.parent_id, False, _SAMPLED)
        return ReadableSpan(
            name=draft.name,
            context=context,
            parent=parent,
            resource=self.resource,
            attributes=draft.attrs,
            events=tuple(draft.events),
            kind=draft.kind,
            status=draft.status or Status(StatusCode.UNSET),
            start_time=draft.start,
            end_time=draft.end,
            instrumentation_scope=SCOPE,
        )


def _short(value: Any) -> str:
    text = value if isinstance(value, str) else ga.json_text(value)
    return text if len(text) <= 200 else text[:197] + "..."


def events_to_spans(
    lines: Iterable[Mapping[str, Any] | Line],
    *,
    resource: Resource | None = None,
    resource_attrs: Mapping[str, Any] | None = None,
    stats: ConvertStats | None = None,
) -> Iterator[ReadableSpan]:
    """Yield the spans of a stream of events (dicts, or :class:`~otel_jsonl.reader.Line`),
    streaming: see the module docstring for ids, times, and what is held in memory."""
    converter = SpanConverter(resource=resource, resource_attrs=resource_attrs)
    if stats is not None:
        converter.stats = stats
    for line in lines:
        yield from sdk_spans(converter.feed(line))
    yield from sdk_spans(converter.finish())
