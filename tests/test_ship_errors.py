"""Shipping errors are quick and precise: connection refused said as such within seconds, 413
splits the batch, 429/503 honour Retry-After, the summary counts spans, batches and attempts."""

from __future__ import annotations

import os
import select
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.otlp_receiver import OtlpReceiver

from otel_jsonl.cli import main
from otel_jsonl.demo import run_demo

FAST = ["--timeout", "2", "--retry-backoff", "0.1"]


@pytest.fixture(autouse=True)
def no_otlp_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No OTLP variable from the outer environment leaks into a test."""
    for name in list(os.environ):
        if name.startswith("OTEL_EXPORTER_OTLP"):
            monkeypatch.delenv(name)


@pytest.fixture
def demo_file(tmp_path: Path) -> Path:
    """A demo trace with two runs (ten spans)."""
    path = tmp_path / "demo.jsonl"
    run_demo(path, run_id="aaaa0001")
    run_demo(path, run_id="aaaa0002")
    return path


@pytest.fixture
def receiver() -> Iterator[OtlpReceiver]:
    """A receiver on a free loopback port."""
    with OtlpReceiver() as r:
        yield r


def closed_port() -> int:
    """A loopback port nothing listens on."""
    dead = OtlpReceiver().start()
    dead.stop()
    assert dead.refuses()
    return dead.port


@pytest.mark.parametrize("protocol", ["http/protobuf", "grpc"])
def test_nothing_listening_is_connection_refused_at_once(
    demo_file: Path, protocol: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """With nothing listening, one attempt ends in seconds (not the SDK's 10 s of inner
    retries) and the error says "connection refused"."""
    port = closed_port()
    began = time.monotonic()
    rc = main(
        [
            "convert",
            str(demo_file),
            "--endpoint",
            f"http://127.0.0.1:{port}",
            "--protocol",
            protocol,
            "--retries",
            "0",
        ]
    )
    elapsed = time.monotonic() - began
    err = capsys.readouterr().err
    assert rc == 1
    assert "connection refused" in err.lower()
    assert "Failed to export spans batch due to timeout" not in err
    assert elapsed < 5, f"took {elapsed:.1f} s to report a refused connection"


def test_refused_is_reported_while_still_retrying(demo_file: Path, tmp_path: Path) -> None:
    """With the default retries the first refusal is printed at once, before the backoff
    waits, so a user sees what is wrong within seconds."""
    port = closed_port()
    proc = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "otel-jsonl"),
            "convert",
            str(demo_file),
            "--endpoint",
            f"http://127.0.0.1:{port}",
            "--retry-backoff",
            "30",
        ],
        stderr=subprocess.PIPE,
        env={k: v for k, v in os.environ.items() if not k.startswith("OTEL_")},
    )
    try:
        assert proc.stderr is not None
        fd = proc.stderr.fileno()
        seen = ""
        deadline = time.monotonic() + 6
        while "connection refused" not in seen.lower() and time.monotonic() < deadline:
            ready, _, _ = select.select([fd], [], [], 0.1)
            if ready:
                chunk = os.read(fd, 4096)
                if not chunk:
                    break
                seen += chunk.decode("utf-8", "replace")
    finally:
        proc.kill()
        proc.wait(timeout=10)
        if proc.stderr is not None:
            proc.stderr.close()
    assert "connection refused" in seen.lower(), seen
    assert "retrying" in seen


def test_413_splits_the_batch(
    demo_file: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """A receiver that refuses large bodies with 413 gets the batch in halves until each
    part fits: every span arrives exactly once, exit 0."""
    with OtlpReceiver() as probe:
        assert main(["convert", str(demo_file), "--endpoint", probe.endpoint, "-q"]) == 0
        whole = probe.log[0][1]
    with OtlpReceiver(max_body=whole // 3) as small:
        rc = main(["convert", str(demo_file), "--endpoint", small.endpoint, *FAST])
        err = capsys.readouterr().err
        assert rc == 0, err
        ids = small.span_ids()
        assert len(ids) == len(set(ids)) == 10
        statuses = [status for _, _, status in small.log]
        assert statuses[0] == 413
        assert statuses.count(200) >= 3
        assert all(size <= whole // 3 for _, size, status in small.log if status == 200)
    assert "sent 10 spans" in err
    assert "split" in err


def test_413_on_a_single_span_fails_without_retrying(
    demo_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A span too large on its own is given up at once (413 is not transient): the batch is
    halved down to single spans, each tried once; exit 1 and the error names the status."""
    with OtlpReceiver(max_body=10) as tiny:
        rc = main(["convert", str(demo_file), "--endpoint", tiny.endpoint, "--retries", "3"])
        err = capsys.readouterr().err
        assert rc == 1
        assert "413" in err
        assert "10 of 10 spans could not be sent" in err
        # halving ten spans down to one each is 19 requests; a re-send would add more
        assert tiny.requests == 19
    assert "Traceback" not in err


@pytest.mark.parametrize("status", [429, 503])
def test_retry_after_is_honoured(
    demo_file: Path, receiver: OtlpReceiver, status: int, capsys: pytest.CaptureFixture[str]
) -> None:
    """A 429 or 503 with Retry-After: 1 is re-sent no sooner than a second later, even with a
    shorter --retry-backoff; every span arrives once."""
    receiver.fail_next(1, status, retry_after="1")
    rc = main(["convert", str(demo_file), "--endpoint", receiver.endpoint, *FAST])
    err = capsys.readouterr().err
    assert rc == 0, err
    assert [s for _, _, s in receiver.log] == [status, 200]
    gap = receiver.log[1][0] - receiver.log[0][0]
    assert gap >= 0.95, f"re-sent after {gap:.2f} s, Retry-After said 1 s"
    assert len(set(receiver.span_ids())) == 10


def test_retry_after_longer_than_the_time_left_gives_up(
    demo_file: Path, receiver: OtlpReceiver, capsys: pytest.CaptureFixture[str]
) -> None:
    """A Retry-After beyond --retry-max-time is not waited for: the batch fails at once with
    the status and the wait it asked for in the message."""
    receiver.fail_next(100, 429, retry_after="3600")
    began = time.monotonic()
    rc = main(
        [
            "convert",
            str(demo_file),
            "--endpoint",
            receiver.endpoint,
            "--retry-max-time",
            "5",
            *FAST,
        ]
    )
    elapsed = time.monotonic() - began
    err = capsys.readouterr().err
    assert rc == 1
    assert "429" in err
    assert "Retry-After" in err
    assert receiver.requests == 1
    assert elapsed < 5


def test_summary_counts_spans_batches_and_attempts(
    demo_file: Path, receiver: OtlpReceiver, capsys: pytest.CaptureFixture[str]
) -> None:
    """Two failed requests then success: spans are counted once, batches once, attempts
    three times (not spans x attempts)."""
    receiver.fail_next(2)
    rc = main(["convert", str(demo_file), "--endpoint", receiver.endpoint, *FAST])
    err = capsys.readouterr().err
    assert rc == 0, err
    assert receiver.requests == 3
    assert f"sent 10 spans in 1 batch to {receiver.endpoint} (3 attempts, 0 failed)" in err


def test_failed_summary_counts_each_span_once(
    demo_file: Path, receiver: OtlpReceiver, capsys: pytest.CaptureFixture[str]
) -> None:
    """A receiver failing every request: ten spans failed in one batch, attempts = 1 + retries."""
    receiver.fail_next(10_000)
    rc = main(["convert", str(demo_file), "--endpoint", receiver.endpoint, "--retries", "2", *FAST])
    err = capsys.readouterr().err
    assert rc == 1
    assert receiver.requests == 3
    assert "sent 0 spans in 0 batches" in err
    assert "(3 attempts, 10 failed in 1 batch)" in err
    assert "10 of 10 spans could not be sent" in err
    assert "503" in err


def test_batch_over_the_sdks_request_limit_is_split(tmp_path: Path) -> None:
    """A batch the SDK exporter refuses to send (over its max_request_size) is halved like a
    413 instead of being re-sent as it is; every span arrives."""
    from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    from otel_jsonl.otel.ship import RetryPolicy, Shipper
    from otel_jsonl.otel.to_spans import events_to_spans
    from otel_jsonl.read.lines import read_events

    path = tmp_path / "demo.jsonl"
    run_demo(path, run_id="cafe0002")
    spans = list(events_to_spans(read_events(path)))
    largest = max(len(encode_spans([s]).SerializeToString()) for s in spans)
    with OtlpReceiver() as receiver:
        exporter = OTLPSpanExporter(endpoint=receiver.endpoint, max_request_size=largest + 200)
        shipper = Shipper(
            exporter, batch_size=len(spans), retry=RetryPolicy(attempts=3, initial_backoff=0)
        )
        shipper.add_all(spans)
        report = shipper.close()
        assert report.spans_sent == len(spans)
        assert report.splits >= 1
        assert len(set(receiver.span_ids())) == len(spans)
