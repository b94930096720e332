"""Shipping over OTLP/HTTP: retries against a failing receiver, summaries, exit codes, env vars."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult
from support.otlp_receiver import OtlpReceiver

from otel_jsonl.cli import main
from otel_jsonl.demo import run_demo
from otel_jsonl.otel import ship as otlp
from otel_jsonl.otel.to_spans import events_to_spans
from otel_jsonl.read.lines import read_events

FAST = ["--timeout", "0.5", "--retry-backoff", "0.1"]


@pytest.fixture
def demo_file(tmp_path: Path) -> Path:
    """A demo trace with two runs."""
    path = tmp_path / "demo.jsonl"
    run_demo(path, run_id="aaaa0001")
    run_demo(path, run_id="aaaa0002")
    return path


@pytest.fixture
def receiver() -> Iterator[OtlpReceiver]:
    """A receiver on a free loopback port."""
    with OtlpReceiver() as r:
        yield r


def expected_ids(path: Path) -> list[tuple[str, str]]:
    """(trace id, span id) of every span the converter makes from ``path``."""
    return [
        (f"{s.context.trace_id:032x}", f"{s.context.span_id:016x}")
        for s in events_to_spans(read_events(path))
        if s.context is not None
    ]


def test_send_delivers_every_span_once(
    demo_file: Path, receiver: OtlpReceiver, capsys: pytest.CaptureFixture[str]
) -> None:
    """All spans arrive exactly once and the summary counts them."""
    rc = main(["convert", str(demo_file), "--endpoint", receiver.endpoint, *FAST])
    err = capsys.readouterr().err
    assert rc == 0, err
    want = expected_ids(demo_file)
    assert sorted(receiver.span_ids()) == sorted(want)
    assert len(set(receiver.span_ids())) == len(want)
    assert f"sent {len(want)} spans in 1 batch to {receiver.endpoint} (1 attempt, 0 failed)" in err


def test_bare_endpoint_gets_the_traces_path(demo_file: Path, receiver: OtlpReceiver) -> None:
    """An endpoint without a path is sent to /v1/traces."""
    rc = main(["convert", str(demo_file), "--endpoint", f"http://127.0.0.1:{receiver.port}", "-q"])
    assert rc == 0
    assert len(receiver.span_ids()) == len(expected_ids(demo_file))


def test_failing_then_refusing_then_recovering_receiver(
    demo_file: Path, receiver: OtlpReceiver, capsys: pytest.CaptureFixture[str]
) -> None:
    """503 twice, then connection refused, then back: every span arrives exactly once."""
    receiver.fail_next(2)
    done = threading.Event()

    def outage() -> None:
        deadline = time.monotonic() + 20
        while receiver.failed_requests < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        receiver.stop()
        assert receiver.refuses()
        time.sleep(0.8)
        receiver.start()
        done.set()

    thread = threading.Thread(target=outage, daemon=True)
    thread.start()
    rc = main(
        [
            "convert",
            str(demo_file),
            "--endpoint",
            receiver.endpoint,
            "--batch-size",
            "4",
            "--retries",
            "10",
            *FAST,
        ]
    )
    thread.join(timeout=30)
    err = capsys.readouterr().err
    assert done.is_set()
    assert rc == 0, err
    want = expected_ids(demo_file)
    got = receiver.span_ids()
    assert len(got) == len(set(got)) == len(want)
    assert set(got) == set(want)
    assert "0 failed)" in err
    assert receiver.requests > 3  # 503 twice, refused, then the batches
    assert "retrying in" in err
    assert "Traceback" not in err


def test_receiver_that_never_recovers(demo_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A dead endpoint: exit 1, a clear message, no traceback, nothing counted as sent."""
    dead = OtlpReceiver().start()
    dead.stop()
    rc = main(["convert", str(demo_file), "--endpoint", dead.endpoint, "--retries", "2", *FAST])
    err = capsys.readouterr().err
    n = len(expected_ids(demo_file))
    assert rc == 1
    assert f"otel-jsonl: error: {n} of {n} spans could not be sent to {dead.endpoint}" in err
    assert "sent 0 spans" in err
    assert "Traceback" not in err
    assert "Transient error" not in err.split("last error:")[0]


def test_503_forever_reports_failure(
    demo_file: Path, receiver: OtlpReceiver, capsys: pytest.CaptureFixture[str]
) -> None:
    """A receiver that answers 503 to everything: exit 1, all spans failed, none kept."""
    receiver.fail_next(10_000)
    rc = main(["convert", str(demo_file), "--endpoint", receiver.endpoint, "--retries", "1", *FAST])
    err = capsys.readouterr().err
    assert rc == 1
    assert receiver.span_ids() == []
    assert "could not be sent" in err
    assert "Traceback" not in err


def test_sending_twice_gives_the_same_span_ids(demo_file: Path, receiver: OtlpReceiver) -> None:
    """A re-ship produces the same trace and span ids (a backend dedupes, not duplicates)."""
    assert main(["convert", str(demo_file), "--endpoint", receiver.endpoint, "-q"]) == 0
    first = receiver.span_ids()
    assert main(["convert", str(demo_file), "--endpoint", receiver.endpoint, "-q"]) == 0
    assert receiver.span_ids()[len(first) :] == first


def test_env_endpoint_headers_and_compression(
    demo_file: Path, receiver: OtlpReceiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With no -o or --endpoint, OTEL_EXPORTER_OTLP_* choose the endpoint, headers, gzip."""
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", f"http://127.0.0.1:{receiver.port}")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_HEADERS", "x-project-name=from-env")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_COMPRESSION", "gzip")
    assert main(["convert", str(demo_file), "-q"]) == 0
    assert len(receiver.span_ids()) == len(expected_ids(demo_file))
    assert receiver.headers[-1]["x-project-name"] == "from-env"
    assert receiver.headers[-1]["content-encoding"] == "gzip"


def test_cli_headers_add_to_env_headers(
    demo_file: Path, receiver: OtlpReceiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    """-H adds to OTEL_EXPORTER_OTLP_HEADERS; --compression none wins over the env."""
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_HEADERS", "x-a=1")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_COMPRESSION", "gzip")
    args = ["convert", str(demo_file), "--endpoint", receiver.endpoint, "-q"]
    assert main([*args, "-H", "x-b=2", "--compression", "none"]) == 0
    headers = receiver.headers[-1]
    assert (headers["x-a"], headers["x-b"]) == ("1", "2")
    assert "content-encoding" not in headers


def test_nowhere_to_send_is_a_usage_error(
    demo_file: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Without -o, --endpoint or an endpoint variable: exit 2 and say what to give."""
    monkeypatch.delenv("OTEL_EXPORTER_OTLP_ENDPOINT", raising=False)
    monkeypatch.delenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", raising=False)
    assert main(["convert", str(demo_file)]) == 2
    assert "give -o OUT, --endpoint URL" in capsys.readouterr().err


def test_strict_sends_nothing_on_a_bad_line(
    demo_file: Path, receiver: OtlpReceiver, capsys: pytest.CaptureFixture[str]
) -> None:
    """--strict: a bad line anywhere ends the command before anything is sent."""
    with demo_file.open("a") as fh:
        fh.write('{"ts": 1, "run": "x"}\n')
    rc = main(["convert", str(demo_file), "--endpoint", receiver.endpoint, "--strict"])
    err = capsys.readouterr().err
    assert rc == 1
    assert "missing required key 'kind'" in err
    assert receiver.requests == 0


class FlakyExporter(SpanExporter):
    """Fails the first ``failures`` exports, then succeeds; remembers what it was given."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.batches: list[list[ReadableSpan]] = []

    def export(self, spans: object) -> SpanExportResult:
        if self.failures:
            self.failures -= 1
            return SpanExportResult.FAILURE
        self.batches.append(list(spans))  # type: ignore[call-overload]
        return SpanExportResult.SUCCESS


def test_shipper_bounds_batches_and_backs_off(demo_file: Path) -> None:
    """Batches hold at most batch_size spans; waits double; counts add up."""
    spans = list(events_to_spans(read_events(demo_file)))
    waits: list[float] = []
    exporter = FlakyExporter(failures=3)
    shipper = otlp.Shipper(
        exporter,
        batch_size=3,
        retry=otlp.RetryPolicy(attempts=5, initial_backoff=0.5, max_backoff=1.5),
        sleep=waits.append,
    )
    shipper.add_all(spans)
    report = shipper.close()
    assert waits == [0.5, 1.0, 1.5]
    assert all(len(b) <= 3 for b in exporter.batches)
    assert sum(len(b) for b in exporter.batches) == len(spans) == report.spans_sent
    assert (report.batches_retried, report.spans_retried, report.spans_failed) == (3, 9, 0)


def test_shipper_after_a_lost_batch_tries_others_once(demo_file: Path) -> None:
    """Once a batch is given up, later batches get one attempt each (no long stall)."""
    spans = list(events_to_spans(read_events(demo_file)))
    waits: list[float] = []
    exporter = FlakyExporter(failures=10_000)
    shipper = otlp.Shipper(
        exporter, batch_size=4, retry=otlp.RetryPolicy(attempts=3), sleep=waits.append
    )
    shipper.add_all(spans)
    report = shipper.close()
    assert len(waits) == 2
    assert report.spans_failed == len(spans)
    assert report.batches_failed == -(-len(spans) // 4)
    assert not report.ok


def test_shipper_max_time_stops_retrying(demo_file: Path) -> None:
    """No re-send starts after max_time seconds from the batch's first attempt."""
    now = [0.0]
    exporter = FlakyExporter(failures=10_000)
    shipper = otlp.Shipper(
        exporter,
        retry=otlp.RetryPolicy(attempts=100, initial_backoff=10, max_backoff=10, max_time=25),
        sleep=lambda s: now.__setitem__(0, now[0] + s),
        clock=lambda: now[0],
    )
    shipper.add_all(events_to_spans(read_events(demo_file)))
    report = shipper.close()
    assert now[0] == 20
    assert report.batches_retried == 2
