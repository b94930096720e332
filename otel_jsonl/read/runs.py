"""Runs: reading one run, numbering its steps, and the one run summary that ``runs``,
``stats``, ``show`` and the HTML view share.

A step's number is its ``seq`` when the line has one, else its 0-based position among the
steps of its run. Meta lines (``blob_ref``, ``resource``) are not steps (their number is -1).

Content that arrived as log records is joined onto its model call here, at read time,
wherever the ``log`` lines sit in the file (:func:`join_steps`, through
:func:`otel_jsonl.genai.logs.join_logs`): a joined ``log`` line leaves the steps for the meta
lines, and its content is on the ``llm_call``. Standard library only.
"""

from __future__ import annotations

import os
from array import array
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import IO, Any, NamedTuple, cast

from ..exceptions import RunNotFoundError
from ..genai.logs import join_logs, log_key
from ..schema import META_KINDS, check_required, usage_of
from .lines import (
    Line,
    Plain,
    ReadReport,
    decode_line,
    display_name,
    open_source,
    paused_gc,
    read_events,
)

__all__ = [
    "RunEvents",
    "RunSummary",
    "Step",
    "iter_run_steps",
    "join_steps",
    "list_runs",
    "read_run",
    "step_events",
    "summarize_runs",
    "tokens_of",
    "tool_names_in_output",
]


class Step(NamedTuple):
    """One step of a run: its step number, the line it was read from, and the event."""

    step: int
    lineno: int
    event: dict[str, Any]


class RunEvents(Plain):
    """The events of one run, in file order, with their step numbers (``steps``), and its
    ``meta`` lines: ``blob_ref`` and ``resource`` lines (their ``step`` is -1), and the
    ``log`` lines whose content was joined onto a step (they keep their number)."""

    _FIELDS = ("path", "run", "steps", "meta")

    def __init__(
        self,
        path: str,
        run: str,
        steps: list[Step] | None = None,
        meta: list[Step] | None = None,
    ) -> None:
        self.path = path
        self.run = run
        self.steps: list[Step] = [] if steps is None else steps
        self.meta: list[Step] = [] if meta is None else meta


def step_events(events: Iterable[tuple[int, dict[str, Any]]]) -> Iterator[Step]:
    """Number the steps of a stream of (lineno, event): ``seq`` when present, else the 0-based
    position among the steps of the event's run. Meta lines get step -1."""
    counters: dict[str, int] = {}
    for lineno, ev in events:
        if ev["kind"] in META_KINDS:
            yield Step(-1, lineno, ev)
            continue
        run = ev["run"]
        n = counters.get(run, 0)
        counters[run] = n + 1
        seq = ev.get("seq")
        yield Step(seq if isinstance(seq, int) and not isinstance(seq, bool) else n, lineno, ev)


def read_run(
    source: str | os.PathLike[str] | IO[bytes] | Sequence[str | os.PathLike[str]],
    run: str | None = None,
    *,
    report: ReadReport | None = None,
) -> RunEvents:
    """Read one run of a trace: ``run``, or the only run in the file. ``source`` may be a list
    of files read as one (a rotated set, see :func:`~otel_jsonl.read.fileset.read_files`).

    Raises :class:`RunNotFoundError` when ``run`` is not in the file, when the file has no
    events, or when ``run`` is None and the file holds several runs (the message lists them);
    :class:`~otel_jsonl.exceptions.TraceFormatError` on a bad line. A torn last line is skipped
    (and noted in ``report``).
    """
    report = report if report is not None else ReadReport()
    if isinstance(source, (list, tuple)):
        from .fileset import read_files

        name = display_name(source[0]) if source else "<none>"
        lines = read_files(source, run=run, report=report)
    else:
        one = cast("str | os.PathLike[str] | IO[bytes]", source)
        name = display_name(one)
        lines = read_events(one, run=run, report=report)
    runs: dict[str, RunEvents] = {}
    with paused_gc():
        for st in step_events(lines):
            rid = st.event["run"]
            r = runs.get(rid)
            if r is None:
                r = runs[rid] = RunEvents(name, rid)
            (r.meta if st.step < 0 else r.steps).append(st)
    if not runs:
        if run is not None:
            raise RunNotFoundError(f"{name}: no run {run!r}")
        raise RunNotFoundError(f"{name}: no events")
    if len(runs) > 1:
        listed = ", ".join(list(runs)[:10]) + (", ..." if len(runs) > 10 else "")
        raise RunNotFoundError(
            f"{name}: {len(runs)} runs ({listed}); choose one with run=... (--run)"
        )
    found = next(iter(runs.values()))
    with paused_gc():  # the join allocates among the run's objects: no collector walks them
        found.steps, joined = join_steps(found.steps)
    found.meta.extend(joined)
    return found


def join_steps(steps: list[Step]) -> tuple[list[Step], list[Step]]:
    """A run's steps with the content of its ``log`` lines joined onto their model calls
    (see :func:`otel_jsonl.genai.logs.join_logs`): the steps without the joined ``log``
    lines, and those lines."""
    events, joined = join_logs([st.event for st in steps])
    if not joined and all(ev is st.event for ev, st in zip(events, steps, strict=True)):
        return steps, []
    kept: list[Step] = []
    gone: list[Step] = []
    for i, (st, ev) in enumerate(zip(steps, events, strict=True)):
        if i in joined:
            gone.append(st)
        else:
            kept.append(st if ev is st.event else Step(st.step, st.lineno, ev))
    return kept, gone


# --- the run summary -------------------------------------------------------------------------


def tokens_of(ev: Mapping[str, Any]) -> tuple[int, int]:
    """Input and output tokens of an event: its ``usage`` (any naming), else top-level
    ``input_tokens``/``output_tokens``."""
    usage = usage_of(ev)
    tin = usage.get("input_tokens")
    tout = usage.get("output_tokens")
    if tin is None and isinstance(ev.get("input_tokens"), int):
        tin = int(ev["input_tokens"])
    if tout is None and isinstance(ev.get("output_tokens"), int):
        tout = int(ev["output_tokens"])
    return tin or 0, tout or 0


def _output_messages(ev: Mapping[str, Any]) -> list[Any]:
    if isinstance(ev.get("content"), Mapping):
        return [ev["content"]]
    out = ev.get("output")
    return out if isinstance(out, list) else [out] if isinstance(out, Mapping) else []


def tool_names_in_output(ev: Mapping[str, Any]) -> list[str]:
    """The tools an ``llm_call``'s output asks for, in any message form (parts, OpenAI
    ``tool_calls``, Anthropic ``tool_use`` blocks)."""
    names: list[str] = []
    for m in _output_messages(ev):
        if not isinstance(m, Mapping):
            continue
        content = m.get("content")
        blocks = m.get("parts") or (content if isinstance(content, list) else [])
        for p in blocks:
            if isinstance(p, Mapping) and p.get("type") in ("tool_call", "tool_use"):
                names.append(str(p.get("name")))
        for c in m.get("tool_calls") or []:
            if isinstance(c, Mapping):
                names.append(str((c.get("function") or {}).get("name")))
    return names


class RunSummary(Plain):
    """One run of a trace file, summed up: what ``runs``, ``stats``, ``show`` and ``view``
    print about a run comes from here.

    A tool call is a ``tool_call`` step (or, in files without them, a tool call in an
    ``llm_call`` output); an error is an ``error`` step or a ``tool_result`` with
    ``is_error``. ``models`` holds input and output tokens per model (``None`` for calls that
    name none), so a price list turns them into a cost. ``from_spans``: some of its lines came
    from spans (written when each span ends, not in step order). ``first_offset``: a byte
    offset at or before the run's first line, ``end_offset``: the byte offset just past its
    last line (both when read with a report). ``joined_logs``: ``log`` lines whose content
    joins a model call of the run (not counted as steps).
    """

    _FIELDS = (
        "run",
        "first_lineno",
        "steps",
        "first_ts",
        "last_ts",
        "kinds",
        "llm_calls",
        "input_tokens",
        "output_tokens",
        "tools",
        "errors",
        "models",
        "from_spans",
        "first_offset",
        "end_offset",
        "joined_logs",
    )

    def __init__(
        self,
        run: str,
        first_lineno: int,
        steps: int = 0,
        first_ts: float = 0.0,
        last_ts: float = 0.0,
        kinds: Counter[str] | None = None,
        llm_calls: int = 0,
        input_tokens: int = 0,
        output_tokens: int = 0,
        tools: Counter[str] | None = None,
        errors: int = 0,
        models: dict[str | None, list[int]] | None = None,
        from_spans: bool = False,
        first_offset: int = 0,
        end_offset: int = 0,
        joined_logs: int = 0,
    ) -> None:
        self.run = run
        self.first_lineno = first_lineno
        self.steps = steps
        self.first_ts = first_ts
        self.last_ts = last_ts
        self.kinds: Counter[str] = Counter() if kinds is None else kinds
        self.llm_calls = llm_calls
        self.input_tokens = input_tokens
        self.output_tokens = output_tokens
        self.tools: Counter[str] = Counter() if tools is None else tools
        self.errors = errors
        self.models: dict[str | None, list[int]] = {} if models is None else models
        self.from_spans = from_spans
        self.first_offset = first_offset
        self.end_offset = end_offset
        self.joined_logs = joined_logs

    @property
    def duration(self) -> float:
        """Seconds from the first step's start to the last step's end."""
        return self.last_ts - self.first_ts


class _Summing:
    """The running totals of :func:`summarize_runs` (tool calls found in outputs are kept
    apart until the end: they count only for runs without ``tool_call`` steps)."""

    def __init__(self) -> None:
        self.runs: dict[str, RunSummary] = {}
        self.from_output: dict[str, Counter[str]] = {}
        self.saw_tool_call: set[str] = set()
        # Per run: model-call span ids, the log lines with content per span id, and the span
        # ids whose output was already searched for tool calls (the call's or a record's).
        self.llm_spans: dict[str, set[str]] = {}
        self.content_logs: dict[str, Counter[str]] = {}
        self.outputs_seen: dict[str, set[str]] = {}

    def _tools_in(self, rid: str, span: Any, ev: Mapping[str, Any]) -> None:
        if not isinstance(span, str):
            self.from_output[rid].update(tool_names_in_output(ev))
            return
        seen = self.outputs_seen.setdefault(rid, set())
        if span not in seen and ev.get("output") is not None:
            seen.add(span)
            self.from_output[rid].update(tool_names_in_output(ev))

    def add(self, lineno: int, ev: Mapping[str, Any], offset: int = 0, end: int = 0) -> None:
        kind = ev["kind"]
        if kind in META_KINDS:
            return
        rid = ev["run"]
        ts = float(ev["ts"])
        start = ev.get("start")
        began = float(start) if isinstance(start, (int, float)) else ts
        s = self.runs.get(rid)
        if s is None:
            s = self.runs[rid] = RunSummary(rid, lineno, first_ts=began, last_ts=ts)
            s.first_offset = offset
            self.from_output[rid] = Counter()
        s.end_offset = end
        if "span_id" in ev:
            s.from_spans = True
        s.steps += 1
        s.kinds[kind] += 1
        s.first_ts = min(s.first_ts, began)
        s.last_ts = max(s.last_ts, ts)
        if kind == "llm_call":
            s.llm_calls += 1
            tin, tout = tokens_of(ev)
            s.input_tokens += tin
            s.output_tokens += tout
            span = ev.get("span_id")
            if isinstance(span, str):
                self.llm_spans.setdefault(rid, set()).add(span)
            self._tools_in(rid, span, ev)
            if tin or tout:
                model = ev.get("model") or ev.get("response_model")
                per = s.models.setdefault(model if isinstance(model, str) else None, [0, 0])
                per[0] += tin
                per[1] += tout
        elif kind == "log" and (key := log_key(ev)) is not None:
            self.content_logs.setdefault(rid, Counter())[key] += 1
            self._tools_in(rid, key, ev)
        elif kind == "tool_call":
            self.saw_tool_call.add(rid)
            s.tools[str(ev.get("name"))] += 1
        elif kind == "error" or (kind == "tool_result" and ev.get("is_error") is True):
            s.errors += 1

    def result(self) -> list[RunSummary]:
        for rid, s in self.runs.items():
            if rid not in self.saw_tool_call:
                s.tools = self.from_output[rid]
            # A log line joined onto its model call (see join_steps) is not a step.
            spans = self.llm_spans.get(rid, set())
            joined = sum(c for k, c in self.content_logs.get(rid, Counter()).items() if k in spans)
            if joined:
                s.joined_logs = joined
                s.steps -= joined
                s.kinds["log"] -= joined
                if not s.kinds["log"]:
                    del s.kinds["log"]
        return list(self.runs.values())


def summarize_runs(
    lines: Iterable[Line | tuple[int, Mapping[str, Any]]], *, report: ReadReport | None = None
) -> list[RunSummary]:
    """Sum up the runs of a stream of (lineno, event), in the order they first appear.

    Give the ``report`` the lines are read with (:func:`read_events`) to note where each run
    lies in the file (``first_offset``, ``end_offset``), so :func:`iter_run_steps` can read one
    run back without holding the others.
    """
    summing = _Summing()
    if report is None:
        for lineno, ev in lines:
            summing.add(lineno, ev)
        return summing.result()
    last_end = 0
    for lineno, ev in lines:
        end = report.bytes_read
        summing.add(lineno, ev, last_end, end)
        last_end = end
    return summing.result()


def _time_key(ev: Mapping[str, Any]) -> float:
    """Where a step sits on a timeline: a run's final answer and errors at their end, any
    other step at its start."""
    if ev["kind"] in ("final", "error"):
        return float(ev["ts"])
    start = ev.get("start")
    return float(start) if isinstance(start, (int, float)) else float(ev["ts"])


def _run_lines(stream: IO[bytes], summary: RunSummary) -> Iterator[tuple[int, dict[str, Any]]]:
    """(offset, event) of the lines of ``summary``'s run, from where it lies in ``stream``."""
    stream.seek(summary.first_offset)
    offset = summary.first_offset
    while offset < summary.end_offset:
        raw = stream.readline()
        if not raw:
            break
        start, offset = offset, offset + len(raw)
        ev, reason = decode_line(raw.rstrip(b"\r\n"))
        if reason is None and check_required(ev) is None and ev["run"] == summary.run:
            yield start, ev


def iter_run_steps(source: str | os.PathLike[str], summary: RunSummary) -> Iterator[Step]:
    """The steps of one run of a trace file, read back from where :func:`summarize_runs` (with
    a report) found it, without holding the file's other runs: in file order, or, for a run
    whose lines came from spans, in the order they happened (what ``show`` draws). Content of
    ``log`` lines is joined onto its model calls, as :func:`read_run` does.

    Memory: nothing for a run in file order; a time and an offset per step for a run from
    spans (its lines are read again, one by one, in time order); and, for a run with log
    lines to join (``summary.joined_logs``), those lines. Bad lines were reported by the first
    read and are skipped.
    """
    with open_source(source) as stream:
        logs = _joinable_logs(stream, summary) if summary.joined_logs else {}
        if not summary.from_spans:
            for _, st in _numbered(_run_lines(stream, summary)):
                joined = _with_logs(st, logs)
                if joined is not None:
                    yield joined
            return
        keys, offsets, steps = array("d"), array("q"), array("q")
        for offset, st in _numbered(_run_lines(stream, summary)):
            keys.append(_time_key(st.event))
            offsets.append(offset)
            steps.append(st.step)
        for i in sorted(range(len(keys)), key=keys.__getitem__):
            stream.seek(offsets[i])
            ev, _ = decode_line(stream.readline().rstrip(b"\r\n"))
            joined = _with_logs(Step(steps[i], 0, ev), logs)
            if joined is not None:
                yield joined


def _joinable_logs(stream: IO[bytes], summary: RunSummary) -> dict[str, list[dict[str, Any]]]:
    """The run's ``log`` lines with content whose span is one of its model calls, by span."""
    logs: dict[str, list[dict[str, Any]]] = {}
    calls: set[str] = set()
    for _, ev in _run_lines(stream, summary):
        key = log_key(ev)
        if key is not None:
            logs.setdefault(key, []).append(ev)
        elif ev["kind"] == "llm_call" and isinstance(ev.get("span_id"), str):
            calls.add(ev["span_id"])
    return {span: lines for span, lines in logs.items() if span in calls}


def _with_logs(st: Step, logs: Mapping[str, list[dict[str, Any]]]) -> Step | None:
    """``st`` with its log content joined; None for a log line that joins a model call."""
    if not logs:
        return st
    ev = st.event
    span = ev.get("span_id")
    if not isinstance(span, str) or span not in logs:
        return st
    if ev["kind"] == "log" and log_key(ev) is not None:
        return None
    if ev["kind"] != "llm_call":
        return st
    events, _ = join_logs([ev, *logs[span]])
    return Step(st.step, st.lineno, events[0])


def _numbered(lines: Iterable[tuple[int, dict[str, Any]]]) -> Iterator[tuple[int, Step]]:
    """The steps of one run's (offset, event) lines, numbered as :func:`step_events` does."""
    n = 0
    for offset, ev in lines:
        if ev["kind"] in META_KINDS:
            continue
        seq = ev.get("seq")
        yield offset, Step(seq if isinstance(seq, int) and not isinstance(seq, bool) else n, 0, ev)
        n += 1


def list_runs(
    source: str | os.PathLike[str] | IO[bytes],
    *,
    strict: bool = True,
    report: ReadReport | None = None,
) -> list[RunSummary]:
    """The runs in a trace file, summed up (see :class:`RunSummary`)."""
    return summarize_runs(read_events(source, strict=strict, report=report))
