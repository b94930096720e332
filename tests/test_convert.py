"""Events to spans: recorder and article lines become GenAI spans with deterministic ids."""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
from google.protobuf import json_format
from hypothesis import example, given, note, settings
from hypothesis import strategies as st
from opentelemetry.proto.trace.v1.trace_pb2 import TracesData
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.trace import SpanKind
from opentelemetry.trace.status import StatusCode
from support.otlp_receiver import OtlpReceiver

from otel_jsonl.cli import main
from otel_jsonl.demo import run_demo
from otel_jsonl.otel.ids import root_span_id, span_id_for_step, trace_id_for_run
from otel_jsonl.otel.to_spans import SpanConverter, events_to_spans
from otel_jsonl.read.lines import read_events

# --- the article's recorder, copied as it was written, with `**fields` fixed -----------------


class ArticleTrace:
    """The article's twelve-line recorder (its `step` signature lost `**`; fixed here)."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.f = self.path.open("a", buffering=1)  # line-buffered
        self.run_id = str(uuid.uuid4())[:8]

    def step(self, kind: str, **fields: Any) -> None:
        self.f.write(
            json.dumps({"ts": time.time(), "run": self.run_id, "kind": kind, **fields}) + "\n"
        )

    def close(self) -> None:
        self.f.close()


def write_article_trace(path: Path) -> str:
    """Run the article's loop shape against a scripted model; return the run id."""
    trace = ArticleTrace(path)
    turns = [
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "call_a",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": '{"city": "Lisbon"}'},
                },
                {
                    "id": "call_b",
                    "type": "function",
                    "function": {"name": "book_hotel", "arguments": '{"city": "Lisbon"}'},
                },
            ],
        },
        {"role": "assistant", "content": "Sunny; the hotel is down.", "tool_calls": None},
    ]
    handlers = {"get_weather": lambda city: f"{city}: 21C"}
    for turn, msg in enumerate(turns):
        usage = {"prompt_tokens": 40 + turn, "completion_tokens": 7, "total_tokens": 47 + turn}
        trace.step("llm_call", turn=turn, content=msg, usage=usage)
        if not msg["tool_calls"]:
            trace.step("final", text=msg["content"])
            break
        for tc in msg["tool_calls"]:
            try:
                output = handlers[tc["function"]["name"]](**json.loads(tc["function"]["arguments"]))
            except Exception as e:
                output = f"error: {e}"
                trace.step("error", tool=tc["function"]["name"], err=str(e))
            trace.step(
                "tool_call",
                name=tc["function"]["name"],
                args=json.loads(tc["function"]["arguments"]),
            )
            trace.step("tool_result", id=tc["id"], output=output[:4000])
    trace.close()
    return trace.run_id


def by_name(spans: list[ReadableSpan]) -> dict[str, ReadableSpan]:
    """Spans keyed by name (names are unique in these traces)."""
    return {s.name: s for s in spans}


# --- tests ----------------------------------------------------------------------------------


def test_article_format_becomes_an_agent_trace(tmp_path: Path) -> None:
    """Article lines: one trace, an invoke_agent root, chat and execute_tool children."""
    path = tmp_path / "article.jsonl"
    run = write_article_trace(path)
    spans = list(events_to_spans(read_events(path)))
    names = by_name(spans)
    assert sorted(s.name for s in spans) == [
        "chat",
        "chat",
        "execute_tool book_hotel",
        "execute_tool get_weather",
        "invoke_agent",
    ]
    assert {s.context.trace_id for s in spans} == {trace_id_for_run(run)}  # type: ignore[union-attr]
    root = next(s for s in spans if s.parent is None)
    assert root.name == "invoke_agent"
    assert root.context.span_id == root_span_id(run)  # type: ignore[union-attr]
    assert all(s.parent.span_id == root_span_id(run) for s in spans if s is not root)  # type: ignore[union-attr]
    chats = [
        s for s in spans if s.attributes and s.attributes.get("gen_ai.operation.name") == "chat"
    ]
    assert [s.attributes["gen_ai.usage.input_tokens"] for s in chats] == [40, 41]  # type: ignore[index]
    assert all(s.kind is SpanKind.CLIENT for s in chats)
    first_out = json.loads(chats[0].attributes["gen_ai.output.messages"])  # type: ignore[index, arg-type]
    assert first_out[0]["parts"][0] == {
        "type": "tool_call",
        "id": "call_a",
        "name": "get_weather",
        "arguments": {"city": "Lisbon"},
    }
    assert first_out[0]["finish_reason"] == "tool_call"
    weather = names["execute_tool get_weather"]
    assert weather.attributes["gen_ai.tool.call.id"] == "call_a"  # type: ignore[index]
    assert weather.attributes["gen_ai.tool.call.result"] == "Lisbon: 21C"  # type: ignore[index]
    assert weather.status.status_code is StatusCode.UNSET
    hotel = names["execute_tool book_hotel"]
    # The article logs the error before the tool_call: it lands on that tool's span.
    assert hotel.status.status_code is StatusCode.ERROR
    assert [e.name for e in hotel.events] == ["exception"]
    assert hotel.events[0].attributes["exception.message"] == "'book_hotel'"  # type: ignore[index]
    assert hotel.attributes["gen_ai.tool.call.id"] == "call_b"  # type: ignore[index]
    assert root.attributes["output.value"] == "Sunny; the hotel is down."  # type: ignore[index]
    for span in spans:
        assert span.start_time <= span.end_time  # type: ignore[operator]
        assert root.start_time <= span.start_time  # type: ignore[operator]


def test_article_format_converts_ships_and_imports(tmp_path: Path) -> None:
    """The article's file: convert to OTLP JSON, send over OTLP/HTTP, import back."""
    path = tmp_path / "article.jsonl"
    write_article_trace(path)
    out = tmp_path / "article.otlp.json"
    assert main(["convert", str(path), "-o", str(out), "-q"]) == 0
    lines = out.read_bytes().splitlines()
    assert lines
    for line in lines:
        json_format.Parse(line, TracesData())
    with OtlpReceiver() as receiver:
        assert main(["convert", str(path), "--endpoint", receiver.endpoint, "-q"]) == 0
        assert len(receiver.span_ids()) == 5
    back = tmp_path / "imported.jsonl"
    assert main(["import", str(out), "-o", str(back), "-q"]) == 0
    kinds = [line.event["kind"] for line in read_events(back) if line.event["kind"] != "resource"]
    assert sorted(kinds) == sorted(
        [
            "llm_call",
            "llm_call",
            "tool_call",
            "tool_result",
            "tool_call",
            "tool_result",
            "input",
            "final",
            "error",
        ]
    )


def test_demo_trace_spans(tmp_path: Path) -> None:
    """Recorder lines: input/final on the root, models, tokens, paired tool spans."""
    path = tmp_path / "demo.jsonl"
    run_demo(path, run_id="abcd0001")
    spans = list(events_to_spans(read_events(path)))
    assert len(spans) == 5
    root = spans[-1]
    assert root.name == "invoke_agent travel-demo"
    assert root.attributes["gen_ai.agent.name"] == "travel-demo"  # type: ignore[index]
    assert "Lisbon" in root.attributes["input.value"]  # type: ignore[index, operator]
    assert json.loads(root.attributes["gen_ai.system_instructions"])[0]["type"] == "text"  # type: ignore[index, arg-type]
    chats = [s for s in spans if s.name == "chat fake-travel-1"]
    assert len(chats) == 2
    assert chats[0].attributes["gen_ai.request.model"] == "fake-travel-1"  # type: ignore[index]
    assert chats[0].attributes["gen_ai.provider.name"] == "otel-jsonl-fake"  # type: ignore[index]
    assert chats[0].attributes["gen_ai.response.finish_reasons"] == ("tool_call",) or chats[
        0
    ].attributes["gen_ai.response.finish_reasons"] == ["tool_call"]  # type: ignore[index]
    tools = [s for s in spans if s.name.startswith("execute_tool")]
    assert [s.attributes["gen_ai.tool.call.id"] for s in tools] == ["call_1", "call_2"]  # type: ignore[index]
    events = [line.event for line in read_events(path)]
    seq = {e.get("id"): e["seq"] for e in events if e["kind"] == "tool_call"}
    assert tools[0].context.span_id == span_id_for_step("abcd0001", seq["call_1"])  # type: ignore[union-attr]
    call_ts = next(e["ts"] for e in events if e.get("id") == "call_1" and e["kind"] == "tool_call")
    result_ts = next(
        e["ts"] for e in events if e.get("id") == "call_1" and e["kind"] == "tool_result"
    )
    assert tools[0].start_time == round(call_ts * 1e9)
    assert tools[0].end_time == round(result_ts * 1e9)
    # An llm_call starts where the previous step ended.
    first_call = next(e for e in events if e["kind"] == "llm_call")
    assert chats[0].start_time == round(first_call["start"] * 1e9)


def test_converting_twice_gives_the_same_ids(tmp_path: Path) -> None:
    """Ids depend only on the file: two conversions give identical OTLP JSON."""
    path = tmp_path / "demo.jsonl"
    run_demo(path)
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    assert main(["convert", str(path), "-o", str(a), "-q"]) == 0
    assert main(["convert", str(path), "-o", str(b), "-q"]) == 0
    assert a.read_bytes() == b.read_bytes()


def test_interleaved_runs_give_the_same_spans(tmp_path: Path) -> None:
    """Two processes appending to one file: the spans equal those of the separate runs."""
    one, two = tmp_path / "one.jsonl", tmp_path / "two.jsonl"
    run_demo(one, run_id="run00001")
    run_demo(two, run_id="run00002")
    a = [line.event for line in read_events(one)]
    b = [line.event for line in read_events(two)]
    mixed = [e for pair in zip(a, b, strict=False) for e in pair]

    def key(s: ReadableSpan) -> tuple[Any, ...]:
        return (s.context.span_id, s.name, s.start_time, s.end_time, dict(s.attributes or {}))  # type: ignore[union-attr]

    separate = sorted(map(key, [*events_to_spans(a), *events_to_spans(b)]), key=lambda k: k[0])
    together = sorted(map(key, events_to_spans(mixed)), key=lambda k: k[0])
    assert together == separate


def test_error_with_step_marks_that_span() -> None:
    """An error line naming a step's seq sets ERROR and an exception event on that span."""
    lines = [
        {"ts": 1.0, "run": "r", "seq": 0, "kind": "llm_call", "model": "m"},
        {
            "ts": 1.5,
            "run": "r",
            "seq": 1,
            "kind": "error",
            "type": "RateLimit",
            "message": "slow down",
            "step": 0,
            "traceback": "tb",
        },
        {"ts": 2.0, "run": "r", "seq": 2, "kind": "final", "text": "done"},
    ]
    spans = list(events_to_spans(lines))
    chat = next(s for s in spans if s.name == "chat m")
    assert chat.status.status_code is StatusCode.ERROR
    assert chat.status.description == "RateLimit: slow down"
    (event,) = chat.events
    assert dict(event.attributes or {}) == {
        "exception.type": "RateLimit",
        "exception.message": "slow down",
        "exception.stacktrace": "tb",
    }
    assert event.timestamp == 1_500_000_000
    root = next(s for s in spans if s.parent is None)
    assert root.status.status_code is StatusCode.UNSET


def test_error_without_a_target_marks_the_root() -> None:
    """A run-level error (no step, no tool) lands on the invoke_agent span."""
    lines = [
        {"ts": 1.0, "run": "r", "kind": "input", "messages": [{"role": "user", "content": "hi"}]},
        {"ts": 2.0, "run": "r", "kind": "error", "type": "Crash", "message": "boom"},
    ]
    (root,) = list(events_to_spans(lines))
    assert root.status.status_code is StatusCode.ERROR
    assert root.events[0].attributes["exception.type"] == "Crash"  # type: ignore[index]
    assert root.attributes["input.value"] == "hi"  # type: ignore[index]


def test_unpaired_tool_calls_are_bounded() -> None:
    """Beyond max_pending_tools waiting tool_calls, the oldest is emitted unpaired."""
    conv = SpanConverter(max_pending_tools=2)
    out = []
    for i in range(5):
        out += conv.feed(
            {"ts": float(i), "run": "r", "kind": "tool_call", "name": f"t{i}", "id": f"c{i}"}
        )
    assert [s.name for s in out] == ["execute_tool t0", "execute_tool t1", "execute_tool t2"]
    rest = conv.finish()
    assert [s.name for s in rest] == ["execute_tool t3", "execute_tool t4", "invoke_agent"]
    assert conv.stats.unpaired_tool_calls == 5


def test_open_runs_are_bounded() -> None:
    """Beyond max_open_runs, the least recently seen run is closed (its root emitted)."""
    conv = SpanConverter(max_open_runs=2)
    emitted = []
    for run in ("a", "b", "c"):
        emitted += conv.feed({"ts": 1.0, "run": run, "kind": "llm_call"})
    roots = [s for s in emitted if s.parent is None]
    assert [s.context.span_id for s in roots] == [root_span_id("a")]  # type: ignore[union-attr]
    assert conv.open_runs == 2


def test_final_emits_the_root_and_frees_the_run() -> None:
    """A run's root span comes out when its final arrives; nothing of it is kept open."""
    conv = SpanConverter()
    conv.feed({"ts": 1.0, "run": "r", "kind": "llm_call"})
    out = conv.feed({"ts": 2.0, "run": "r", "kind": "final", "text": "x"})
    assert [s.name for s in out] == ["chat", "invoke_agent"]
    assert conv.open_runs == 0
    assert conv.finish() == []


def test_32_hex_run_is_the_trace_id() -> None:
    """A run that is already a trace id (the exporter's runs) is used as it is."""
    run = "4bf92f3577b34da6a3ce929d0e0e4736"
    assert trace_id_for_run(run) == int(run, 16)
    assert trace_id_for_run("1a2b3c4d") != trace_id_for_run("1a2b3c4e")


def test_malformed_lines_are_reported_and_the_rest_converts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Bad lines print file:line: reason; the other lines still convert; exit 1."""
    path = tmp_path / "demo.jsonl"
    run_demo(path, run_id="abcd0002")
    lines = path.read_text().splitlines()
    lines.insert(2, "{not json")
    lines.insert(4, '{"ts": "x", "run": "abcd0002", "kind": "llm_call"}')
    path.write_text("\n".join(lines) + "\n")
    out = tmp_path / "out.json"
    rc = main(["convert", str(path), "-o", str(out)])
    err = capsys.readouterr().err
    assert rc == 1
    assert f"{path}:3: not valid JSON" in err
    assert f"{path}:5: 'ts' must be a number of seconds, got string" in err
    assert "2 bad lines skipped" in err
    spans = sum(
        len(ss["spans"])
        for line in out.read_text().splitlines()
        for rs in json.loads(line)["resourceSpans"]
        for ss in rs["scopeSpans"]
    )
    assert spans == 5


def test_strict_writes_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """--strict: the first bad line ends the command; the output file is not created."""
    path = tmp_path / "t.jsonl"
    path.write_text('{"ts": 1, "run": "r", "kind": "llm_call"}\n[]\n')
    out = tmp_path / "out.json"
    assert main(["convert", str(path), "-o", str(out), "--strict"]) == 1
    assert f"{path}:2: expected a JSON object, got array" in capsys.readouterr().err
    assert not out.exists()


def test_output_to_stdout(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """-o - writes OTLP JSON lines to stdout and the summary to stderr."""
    path = tmp_path / "t.jsonl"
    path.write_text('{"ts": 1, "run": "r", "kind": "llm_call", "model": "m"}\n')
    assert main(["convert", str(path), "-o", "-", "--resource-attr", "deployment=test"]) == 0
    captured = capsys.readouterr()
    (line,) = captured.out.splitlines()
    data = json.loads(line)
    attrs = {a["key"]: a["value"] for a in data["resourceSpans"][0]["resource"]["attributes"]}
    assert attrs["deployment"] == {"stringValue": "test"}
    assert attrs["service.name"] == {"stringValue": "otel-jsonl"}
    assert "otel-jsonl: convert: 2 spans (1 run) from 1 events; wrote 2 spans to -" in captured.err


def test_import_reports_bad_lines(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """import: a bad OTLP line is printed as file:line: reason, the others import; exit 1."""
    src = tmp_path / "t.jsonl"
    src.write_text('{"ts": 1, "run": "r", "kind": "llm_call", "model": "m"}\n')
    otlp_file = tmp_path / "t.otlp.json"
    assert main(["convert", str(src), "-o", str(otlp_file), "-q"]) == 0
    with otlp_file.open("a") as fh:
        fh.write('{"resourceSpans": 3}\n')
    out = tmp_path / "back.jsonl"
    assert main(["import", str(otlp_file), "-o", str(out)]) == 1
    err = capsys.readouterr().err
    assert f"{otlp_file}:2: malformed OTLP JSON" in err
    kinds = sorted(line.event["kind"] for line in read_events(out))
    assert kinds == ["final", "input", "llm_call", "resource"]


# -- the attribute encoders the converter's speed depends on give what they gave -------------

_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(1 << 80), max_value=1 << 80)
    | st.floats()
    | st.text()
    | st.datetimes(),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(st.text(max_size=5) | st.integers() | st.booleans(), children, max_size=4)
        | st.tuples(children, children)
    ),
    max_leaves=15,
)


@settings(max_examples=300)
@given(_VALUES)
def test_json_text_is_the_json_dumps_it_replaces(value: Any) -> None:
    """json_text (a reused C encoder) gives json.dumps's text byte for byte: NaN, huge
    integers, non-string keys, tuples and objects by str() included."""
    from otel_jsonl.genai.attributes import json_text

    want = json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)
    assert json_text(value) == want


def test_json_text_refuses_a_cycle_as_json_dumps_does() -> None:
    """A value that contains itself raises json's ValueError, and the next call still works."""
    from otel_jsonl.genai.attributes import json_text

    loop: list[Any] = []
    loop.append(loop)
    with pytest.raises(ValueError, match="Circular reference"):
        json_text({"a": loop})
    assert json_text({"a": [1]}) == '{"a":[1]}'


def test_parts_messages_become_attributes_without_changing_the_event() -> None:
    """An llm_call whose messages are in the parts form gives the attributes to_parts would,
    and its event is left as it was (the converter no longer deep-copies the messages)."""
    import copy

    from otel_jsonl.genai import attributes as ga
    from otel_jsonl.genai.messages import to_parts

    output = [
        {
            "role": "assistant",
            "parts": [
                {"type": "text", "content": "hi"},
                {"type": "tool_call", "id": "c1", "name": "f", "arguments": {"q": [1, 2]}},
            ],
        }
    ]
    ev = {
        "ts": 2.0,
        "run": "r",
        "kind": "llm_call",
        "model": "m",
        "output": output,
        "input": [{"role": "user", "parts": [{"type": "text", "content": "q"}]}],
    }
    before = copy.deepcopy(ev)
    _, attrs = ga.llm_attributes(ev)
    assert ev == before
    got = json.loads(attrs["gen_ai.output.messages"])
    want = [{**to_parts(output[0]), "finish_reason": "tool_call"}]
    assert got == want
    assert json.loads(attrs["gen_ai.input.messages"]) == [to_parts(ev["input"][0])]


def test_spans_encoded_for_a_file_are_the_sdk_spans_bytes(tmp_path: Path) -> None:
    """A file-only conversion encodes spans as it builds them: the same bytes as the SDK spans."""
    import io

    from otel_jsonl.otel.files import convert_lines
    from otel_jsonl.otel.otlp_json import write_otlp_json

    run_demo(tmp_path / "t.jsonl", run_id="abcd0003", latency=0.0)
    write_article_trace(tmp_path / "t.jsonl")
    events: list[dict[str, Any]] = [line.event for line in read_events(tmp_path / "t.jsonl")]
    events += [
        {"ts": 1.0, "run": "e", "seq": 0, "kind": "llm_call", "model": "m", "start": 0.5},
        {"ts": 1.2, "run": "e", "seq": 1, "kind": "error", "type": "E", "message": "m", "step": 0},
        {"ts": 1.3, "run": "e", "seq": 2, "kind": "tool_call", "name": "t", "id": "a", "args": {}},
        {"ts": 1.4, "run": "e", "seq": 3, "kind": "tool_result", "id": "b", "output": [1, 2.5]},
        {"ts": 1.5, "run": "e", "seq": 4, "kind": "tool_result", "id": "a", "is_error": True},
        {"ts": 1.6, "run": "e", "kind": "note", "text": "x", "n": 1 << 70, "ok": True},
        {"ts": 1.7, "run": "e", "kind": "error", "message": "run-level"},
    ]
    spans = list(events_to_spans(events, resource_attrs={"a": "b"}))
    for batch_size in (1, 1000):  # a span a line; all in one line
        encoded, sdk = io.BytesIO(), io.BytesIO()
        result = convert_lines(events, encoded, resource_attrs={"a": "b"}, batch_size=batch_size)
        assert write_otlp_json(spans, sdk, batch_size=batch_size) == result.written > 10
        assert encoded.getvalue() == sdk.getvalue()
        assert b'"code":2' in encoded.getvalue()


def test_encoded_spans_are_refused_where_sdk_spans_are_needed() -> None:
    """An encoded converter's spans pass to the OTLP JSON writer, and sdk_spans refuses them
    (they cannot be shipped, folded or transformed); an SDK converter's spans pass through."""
    from otel_jsonl.otel.otlp_json import EncodedSpan, sdk_spans

    events: list[dict[str, Any]] = [
        {"ts": 1.0, "run": "e", "seq": 0, "kind": "llm_call", "model": "m", "start": 0.5},
        {"ts": 1.1, "run": "e", "seq": 1, "kind": "final", "output": "ok"},
    ]
    encoded = SpanConverter(encoded=True)
    made = [span for ev in events for span in encoded.feed(ev)] + encoded.finish()
    assert made and all(isinstance(span, EncodedSpan) for span in made)
    with pytest.raises(TypeError, match="encoded span"):
        sdk_spans(made)
    plain = SpanConverter()
    spans = [span for ev in events for span in plain.feed(ev)] + plain.finish()
    assert sdk_spans(spans) == spans
    assert len(spans) == len(made)


def test_step_span_ids_are_the_documented_sha256() -> None:
    """A step's span id is the first 8 bytes of sha256 of the namespaced run and seq/position."""
    import hashlib

    def documented(run: str, key: str) -> int:
        data = f"otel-jsonl/v1\0span\0{run}\0{key}".encode("utf-8", "surrogatepass")
        return int.from_bytes(hashlib.sha256(data).digest()[:8], "big")

    for run in ("r", "é\udc80", "4bf92f3577b34da6a3ce929d0e0e4736"):
        assert span_id_for_step(run, 7) == documented(run, "s7")
        assert span_id_for_step(run, None, 3) == documented(run, "n3")
        assert span_id_for_step(run, -1, 3) == documented(run, "s-1")


_PART = st.dictionaries(
    st.sampled_from(["type", "text", "content", "functionCall", "inline_data", "id"]),
    st.sampled_from(["text", "tool_call", "input_text", "x", 1]),
    max_size=3,
)
_MESSAGE = st.dictionaries(
    st.sampled_from(["role", "parts", "type", "content", "finish_reason", "name"]),
    st.sampled_from(["user", "model", "assistant", "message", "function_call", None])
    | st.lists(_PART, max_size=3),
    max_size=4,
)


@settings(max_examples=400)
@given(_MESSAGE)
@example({"role": "user", "parts": [{"type": "text", "content": "x"}]})
@example({"role": "assistant", "parts": []})
@example({"role": "model", "parts": [{"type": "text", "content": "x"}]})
def test_plain_parts_messages_are_what_form_of_calls_parts(message: dict[str, Any]) -> None:
    """The converter's quick check for recorder messages claims only messages form_of reads
    as parts, and converts them as the full route does."""
    from otel_jsonl.genai import attributes as ga
    from otel_jsonl.genai.messages import form_of

    plain = ga._plain_parts(message)
    note(f"plain: {plain}")
    if plain:
        assert form_of(message) == "parts"
        assert ga._as_parts(message) == {**message, "parts": list(message["parts"])}


_USAGE = st.dictionaries(
    st.sampled_from(
        ["input_tokens", "output_tokens", "total_tokens", "prompt_tokens", "reasoning_tokens"]
    ),
    st.integers(-3, 10**12) | st.booleans() | st.floats() | st.none() | st.text(max_size=2),
    max_size=4,
)


@settings(max_examples=300)
@given(_USAGE)
def test_quick_usage_reads_as_usage_of(usage: dict[str, Any]) -> None:
    """The model-call attributes' quick usage read gives what usage_of gives for every
    token count the attributes carry."""
    from otel_jsonl.genai import attributes as ga
    from otel_jsonl.schema import usage_of

    ev = {"usage": usage}
    keys = [key for key, _ in ga._LLM_USAGE]
    full = usage_of(ev)
    assert {k: v for k, v in ga._usage(ev).items() if k in keys} == {
        k: v for k, v in full.items() if k in keys
    }
