"""`ship`: following rotating files into an OTLP receiver through crashes (SIGKILL) and a
backend that refuses for a while, resuming from the checkpoint; one-shot shipping; status."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import textwrap
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from opentelemetry.sdk.trace import ReadableSpan
from support.otlp_receiver import OtlpReceiver

from otel_jsonl import RotationPolicy, Trace
from otel_jsonl.cli import main
from otel_jsonl.otel.ship import RetryPolicy, Shipper, ShipReport, make_span_exporter
from otel_jsonl.otel.ship_files import FileShipper
from otel_jsonl.otel.to_spans import events_to_spans
from otel_jsonl.read.fileset import read_files, set_members
from otel_jsonl.record.rotate import rotated_files

BATCH = 40


@pytest.fixture
def receiver() -> Iterator[OtlpReceiver]:
    """A receiver on a free loopback port."""
    with OtlpReceiver() as r:
        yield r


def expected_ids(active: Path) -> list[tuple[str, str]]:
    """(trace id, span id) of every span the converter makes from the whole set."""
    return [
        (f"{s.context.trace_id:032x}", f"{s.context.span_id:016x}")
        for s in events_to_spans(read_files(set_members(active)))
        if s.context is not None
    ]


def wait_for(predicate: object, timeout: float = 30.0) -> bool:
    """Poll ``predicate`` (a callable) until true or ``timeout`` seconds (bounded)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return True
        time.sleep(0.05)
    return False


_WRITER = textwrap.dedent(
    """
    import sys, threading, time
    from otel_jsonl import RotationPolicy, Trace
    path, seconds = sys.argv[1], float(sys.argv[2])
    policy = RotationPolicy(max_bytes=12_000, compress=True)
    end = time.monotonic() + seconds
    def work(name):
        n = 0
        while time.monotonic() < end:
            t = Trace(path, run_id=f"{name}-{n}", rotate=policy, fsync="never")
            t.step("input", messages=[{"role": "user", "content": f"task {n}"}])
            for i in range(3):
                t.step("llm_call", model="m", content=f"thinking {i}", usage={"input_tokens": 5})
                t.step("tool_call", name="search", id=f"c{i}", args={"q": i})
                time.sleep(0.004)
                t.step("tool_result", id=f"c{i}", output="x" * 200)
            t.step("final", text="done")
            t.close()
            n += 1
    threads = [threading.Thread(target=work, args=(f"w{k}",)) for k in range(2)]
    for th in threads: th.start()
    for th in threads: th.join()
    """
)


def _ship_cmd(path: Path, endpoint: str, checkpoint: Path, *extra: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "otel_jsonl",
        "ship",
        str(path),
        "--endpoint",
        endpoint,
        "--checkpoint",
        str(checkpoint),
        "--batch-size",
        str(BATCH),
        "--flush-interval",
        "0.1",
        "--poll-interval",
        "0.05",
        "--timeout",
        "1",
        "--max-backoff",
        "0.3",
        "--status",
        "0",
        "-q",
        *extra,
    ]


def test_follow_survives_rotation_kills_and_a_refusing_backend(
    tmp_path: Path, receiver: OtlpReceiver
) -> None:
    """A writer appends runs across rotations (rename + gzip) while the shipper is SIGKILLed
    twice and the backend refuses (503) for a while: every span id of the set arrives, nothing
    else, duplicates at most one batch per crash; a second start sends nothing."""
    rng = random.Random()
    seed = rng.randrange(1 << 30)
    rng.seed(seed)
    path = tmp_path / "traces" / "agent.jsonl"
    checkpoint = tmp_path / "state" / "ship.json"
    writer = subprocess.Popen([sys.executable, "-c", _WRITER, str(path), "4"])
    cmd = _ship_cmd(path, receiver.endpoint, checkpoint, "--follow")
    try:
        assert wait_for(path.exists, 10)
        shipper = subprocess.Popen(cmd)
        time.sleep(rng.uniform(0.6, 1.2))
        shipper.kill()  # SIGKILL
        shipper.wait(10)
        sent = receiver.requests
        shipper = subprocess.Popen(cmd)
        assert wait_for(lambda: receiver.requests > sent, 20)
        receiver.fail_next(10**9)  # refuse everything for a while
        time.sleep(rng.uniform(1.0, 1.5))
        receiver.fail_next(0)
        time.sleep(rng.uniform(0.2, 0.8))
        shipper.kill()
        shipper.wait(10)
        shipper = subprocess.Popen(cmd)
        assert writer.wait(60) == 0
        want = set(expected_ids(path))
        arrived = wait_for(lambda: want <= set(receiver.span_ids()), 60)
        missing = sorted(want - set(receiver.span_ids()))
        assert arrived, f"seed {seed}: {len(missing)} of {len(want)} never came: {missing[:4]}"
        shipper.send_signal(signal.SIGTERM)
        assert shipper.wait(20) == 0
    finally:
        for proc in (writer, shipper):
            if proc.poll() is None:
                proc.kill()
                proc.wait(10)
    got = receiver.span_ids()
    assert len(rotated_files(path)) >= 3, "the writer rotated"
    assert any(f.compressed for f in rotated_files(path))
    assert set(got) == want, f"seed {seed}"
    duplicates = sum(n - 1 for n in Counter(got).values())
    assert duplicates <= 2 * BATCH, f"seed {seed}: {duplicates} duplicates"
    assert receiver.failed_requests > 0
    state = json.loads(checkpoint.read_text())
    assert oct(checkpoint.stat().st_mode & 0o777) == "0o600"
    assert set(state["sets"]) == {str(path)}

    before = len(got)
    again = subprocess.run(cmd[: cmd.index("--follow")] + cmd[cmd.index("--follow") + 1 :])
    assert again.returncode == 0
    assert len(receiver.span_ids()) == before


def _trace(path: Path, run: str, steps: int, final: bool = True, **kw: object) -> None:
    t = Trace(path, run_id=run, fsync="never", **kw)  # type: ignore[arg-type]
    t.step("input", messages=[{"role": "user", "content": "go"}])
    for i in range(steps):
        t.step("llm_call", model="m", content=f"step {i}")
    if final:
        t.step("final", text="ok")
    t.close()


def _file_shipper(path: Path, endpoint: str, **kw: object) -> FileShipper:
    exporter = make_span_exporter(endpoint, timeout=1)
    shipper = Shipper(exporter, endpoint=endpoint, retry=RetryPolicy(attempts=1))
    return FileShipper([path], shipper, **kw)  # type: ignore[arg-type]


def test_one_shot_reads_a_rotated_set_as_one(tmp_path: Path, receiver: OtlpReceiver) -> None:
    """Without --follow the whole set (rotated, gzipped, active) is sent once; a run that
    crosses a rotation becomes one trace with one root."""
    path = tmp_path / "t.jsonl"
    policy = RotationPolicy(max_bytes=600, compress=True)
    for n in range(5):
        _trace(path, f"run{n}", 4, rotate=policy)
    assert len(rotated_files(path)) >= 3
    code = main(["ship", str(path), "--endpoint", receiver.endpoint, "-q", "--timeout", "1"])
    assert code == 0
    want = expected_ids(path)
    assert sorted(receiver.span_ids()) == sorted(want)
    assert len(want) == 5 * 5


def test_a_run_without_final_is_closed_after_the_idle_timeout(
    tmp_path: Path, receiver: OtlpReceiver
) -> None:
    """Children go as they come; the root of a run that never ends goes after idle_timeout."""
    path = tmp_path / "t.jsonl"
    _trace(path, "open-run", 3, final=False)
    runner = _file_shipper(path, receiver.endpoint, idle_timeout=0.3, poll_interval=0.02)
    import threading

    thread = threading.Thread(target=runner.run)
    thread.start()
    try:
        assert wait_for(lambda: len(receiver.span_ids()) >= 2, 10)
        assert wait_for(lambda: len(receiver.span_ids()) == 4, 10)
    finally:
        runner.stop()
        thread.join(10)
    assert sorted(receiver.span_ids()) == sorted(expected_ids(path))
    runner.shipper.close()


def test_a_backend_down_for_the_whole_one_shot_keeps_the_place(
    tmp_path: Path, receiver: OtlpReceiver, capsys: pytest.CaptureFixture[str]
) -> None:
    """One-shot against a refusing backend: exit 1, the checkpoint does not move, and the
    next start sends everything."""
    path = tmp_path / "t.jsonl"
    _trace(path, "a", 2)
    cp = tmp_path / "cp.json"
    receiver.fail_next(10**9)
    args = ["ship", str(path), "--endpoint", receiver.endpoint, "--checkpoint", str(cp)]
    runner_args = [*args, "--timeout", "0.5", "-q"]
    # give_up_after is the library's; the CLI keeps its default, so use the library here.
    runner = _file_shipper(path, receiver.endpoint, checkpoint=cp, follow=False, give_up_after=0.5)
    status = runner.run()
    runner.shipper.close()
    assert status.waiting > 0 and status.spans_sent == 0
    assert not cp.exists()
    receiver.fail_next(0)
    assert main(runner_args) == 0
    assert sorted(receiver.span_ids()) == sorted(expected_ids(path))
    capsys.readouterr()


def test_status_line_says_what_happened() -> None:
    """The status line names sent spans, lag, spans waiting and a down backend."""
    from otel_jsonl.otel.ship_files import ShipStatus

    s = ShipStatus(spans_sent=10, batches_sent=1, lines=30, lag=2.5, waiting=4)
    s.down_since, s.last_error = 100.0, "503 Service Unavailable"
    assert s.line(now=160.0) == (
        "sent 10 spans in 1 batch; read 30 lines; lag 2.5s; 4 spans waiting; "
        "backend down for 60s (503 Service Unavailable)"
    )


def test_ship_refuses_stdin_and_directories(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """ship follows files: - and a directory are usage errors (exit 2); without --follow, a
    path that names no file is an error (exit 1: it sent nothing and said nothing)."""
    assert main(["ship", "-", "--endpoint", "http://127.0.0.1:9/v1/traces"]) == 2
    assert main(["ship", str(tmp_path), "--endpoint", "http://127.0.0.1:9/v1/traces"]) == 2
    err = capsys.readouterr().err
    assert "otel-jsonl: error: ship reads files, not stdin" in err
    assert "is a directory" in err
    missing = tmp_path / "nope.jsonl"
    assert main(["ship", str(missing), "--endpoint", "http://127.0.0.1:9/v1/traces"]) == 1
    assert capsys.readouterr().err == f"otel-jsonl: error: {missing}: no such file\n"


def test_checkpoint_position_names_the_file_by_fingerprint(
    tmp_path: Path, receiver: OtlpReceiver
) -> None:
    """The checkpoint records acked and resume positions with the file's fingerprint."""
    path = tmp_path / "t.jsonl"
    _trace(path, "a", 2)
    cp = tmp_path / "cp.json"
    assert main(["ship", str(path), "--endpoint", receiver.endpoint, "--checkpoint", str(cp)]) == 0
    entry = json.loads(cp.read_text())["sets"][os.path.abspath(path)]
    assert entry["acked"]["offset"] == path.stat().st_size
    assert entry["resume"] == entry["acked"]
    assert len(entry["acked"]["fingerprint"]) == 32


def test_status_lines_when_not_on_a_terminal(tmp_path: Path, receiver: OtlpReceiver) -> None:
    """Not on a terminal, --follow prints a status line every --status seconds, saying so when
    the backend is down; SIGTERM ends it with a last line and exit 0 once all is sent."""
    path = tmp_path / "t.jsonl"
    _trace(path, "a", 3)
    receiver.fail_next(10**9)
    cmd = _ship_cmd(path, receiver.endpoint, tmp_path / "cp.json", "--follow")
    cmd = [c for c in cmd if c != "-q"]
    cmd[cmd.index("--status") + 1] = "0.3"
    proc = subprocess.Popen(cmd, stderr=subprocess.PIPE, text=True)
    try:
        assert wait_for(lambda: receiver.failed_requests >= 2, 20)
        time.sleep(0.8)
        receiver.fail_next(0)
        assert wait_for(lambda: len(receiver.span_ids()) == 4, 20)
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
    assert proc.returncode == 0
    lines = [ln for ln in err.splitlines() if ln.startswith("otel-jsonl: ship: ")]
    assert len(lines) >= 3
    assert any("backend down for" in ln and "spans waiting" in ln for ln in lines)
    assert lines[-1].startswith("otel-jsonl: ship: sent 4 spans in 1 batch; read 5 lines")


class _Collecting:
    """A transport that accepts every batch and keeps the spans (a Shipper's send/report)."""

    def __init__(self) -> None:
        self.spans: list[ReadableSpan] = []
        self.report = ShipReport(endpoint="memory")

    def send(self, spans: list[ReadableSpan]) -> bool:
        self.spans.extend(spans)
        return True


def _steps(t: Trace, kinds: str) -> None:
    """Write one step per letter: i(nput), l(lm_call), t(ool call and result), f(inal)."""
    for k in kinds:
        if k == "i":
            t.step("input", messages=[{"role": "user", "content": "go"}])
        elif k == "l":
            t.step("llm_call", model="m", content="thinking")
        elif k == "t":
            t.step("tool_call", name="search", id="c", args={"q": 1})
            t.step("tool_result", id="c", output="found")
        else:
            t.step("final", text="ok")


def _ship_until_caught_up(path: Path, cp: Path, sink: _Collecting) -> None:
    """Follow ``path`` until everything written is read and sent, then stop (as a restart)."""
    import threading

    runner = FileShipper([path], sink, checkpoint=cp, poll_interval=0.01)  # type: ignore[arg-type]
    thread = threading.Thread(target=runner.run)
    thread.start()
    try:
        assert wait_for(lambda: runner.status.caught_up and runner.status.lines > 0, 20)
    finally:
        runner.stop()
        thread.join(20)


def test_a_restart_resuming_in_a_gzipped_file_loses_no_run_when_the_next_one_rotates(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The fixed sequence behind the lost runs of the kill-and-rotate test: ship part of a
    file, stop; the file is rotated and gzipped, the next one written; restart from the
    checkpoint (resuming in the .gz) while the next file is rotated and gzipped just as the
    follower lists the set to leave the .gz. Every span of the run that crosses both
    rotations arrives (the follower skipped the middle file: it opened the newer file that
    had taken the active name)."""
    import otel_jsonl.read.follow as follow_module
    from otel_jsonl.record.rotate import compress_file, rotated_name

    path = tmp_path / "agent.jsonl"
    cp = tmp_path / "cp.json"
    # A writer that reopens the path after a rotation (it never rotates by itself).
    cross = Trace(path, run_id="cross", fsync="never", rotate=RotationPolicy(max_bytes=10**9))
    _steps(cross, "ilt")
    _trace(path, "before", 1)
    first = _Collecting()
    _ship_until_caught_up(path, cp, first)
    path.rename(rotated_name(path, 1000.0))
    compress_file(rotated_name(path, 1000.0))
    _steps(cross, "lt")
    _trace(path, "middle", 2)
    real_members = follow_module.set_members
    rotated: list[Path] = []

    def listing_then_rotation(active: str | os.PathLike[str]) -> list[Path]:
        members = real_members(active)
        frame, leaving = sys._getframe(1), False
        while frame is not None and not leaving:
            leaving = frame.f_code.co_name == "_advance"  # at the end of a file, not at start
            frame = frame.f_back  # type: ignore[assignment]
        if leaving and not rotated:
            target = rotated_name(path, 1001.0)
            path.rename(target)
            rotated.append(compress_file(target))
            _steps(cross, "tf")
        return members

    monkeypatch.setattr(follow_module, "set_members", listing_then_rotation)
    second = _Collecting()
    _ship_until_caught_up(path, cp, second)
    cross.close()
    assert rotated, "the next file was rotated during the restart"
    ids = {(s.context.trace_id, s.context.span_id) for s in first.spans + second.spans}
    want = expected_ids(path)
    assert {(f"{t:032x}", f"{s:016x}") for t, s in ids} == set(want)
    assert len(want) == 6 + 2 + 3  # cross, before, middle


def test_a_restart_after_the_resource_line_keeps_the_resource(tmp_path: Path) -> None:
    """Exporter files declare their resource once at the top: a restart that resumes past that
    line still gives its spans the resource (the checkpoint keeps resource lines)."""
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor

    from otel_jsonl import JsonlSpanExporter

    path = tmp_path / "otel.jsonl"
    provider = TracerProvider(resource=Resource({"service.name": "svc-a"}))
    provider.add_span_processor(SimpleSpanProcessor(JsonlSpanExporter(path)))
    tracer = provider.get_tracer("t")

    def spans(n: int, start: int) -> None:
        for i in range(start, start + n):
            with tracer.start_as_current_span(f"step {i}"):
                pass

    cp = tmp_path / "cp.json"
    spans(3, 0)
    first = _Collecting()
    FileShipper([path], first, checkpoint=cp, follow=False).run()  # type: ignore[arg-type]
    spans(2, 3)
    provider.shutdown()
    second = _Collecting()
    FileShipper([path], second, checkpoint=cp, follow=False).run()  # type: ignore[arg-type]
    assert [s.name for s in first.spans] == ["step 0", "step 1", "step 2"]
    assert [s.name for s in second.spans] == ["step 3", "step 4"]
    assert {s.resource.attributes.get("service.name") for s in second.spans} == {"svc-a"}


def test_two_shippers_never_share_a_checkpoint(
    tmp_path: Path, receiver: OtlpReceiver, capsys: pytest.CaptureFixture[str]
) -> None:
    """While one shipper holds a checkpoint, a second one on it exits 1 and sends nothing."""
    import fcntl

    path = tmp_path / "t.jsonl"
    _trace(path, "a", 1)
    cp = tmp_path / "cp.json"
    fd = os.open(f"{cp}.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        args = ["ship", str(path), "--endpoint", receiver.endpoint, "--checkpoint", str(cp)]
        assert main([*args, "-q"]) == 1
    finally:
        os.close(fd)
    assert "another otel-jsonl ship is using this checkpoint" in capsys.readouterr().err
    assert receiver.requests == 0
    assert main([*args, "-q"]) == 0
    assert len(receiver.span_ids()) == 2


def _log_lines(path: Path) -> int:
    return sum(1 for line in path.read_text().splitlines() if '"kind":"log"' in line)


def test_ship_sends_log_records_once_and_a_trace_only_backend_is_a_note(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`ship` sends the records of log lines to the logs endpoint with the spans, records them
    in the checkpoint (a second start sends nothing), and a backend without a logs endpoint
    gets the spans and one note."""
    from support.log_orders import record_run

    path = tmp_path / "events.jsonl"
    record_run(path, "openai-v2-event-only", "spans-first")
    assert _log_lines(path) >= 2
    cp = tmp_path / "cp.json"
    with OtlpReceiver() as receiver:
        argv = ["ship", str(path), "--endpoint", receiver.endpoint, "--checkpoint", str(cp)]
        assert main([*argv, "--timeout", "2"]) == 0, capsys.readouterr().err
        assert len(receiver.logs) == _log_lines(path)
        assert sorted(receiver.span_ids()) == sorted(expected_ids(path))
        assert "log records" in capsys.readouterr().err
        assert main([*argv, "-q"]) == 0
        assert len(receiver.logs) == _log_lines(path)
    with OtlpReceiver(accept_logs=False) as trace_only:
        argv = ["ship", str(path), "--endpoint", trace_only.endpoint, "--timeout", "2"]
        assert main(argv) == 0
        err = capsys.readouterr().err
        assert "takes no log records" in err
        assert sorted(trace_only.span_ids()) == sorted(expected_ids(path)) and not trace_only.logs
    with OtlpReceiver() as receiver:
        argv = ["ship", str(path), "--endpoint", receiver.endpoint, "--no-logs", "-q"]
        assert main(argv) == 0
        assert not receiver.logs and receiver.span_ids()


@pytest.mark.parametrize("compressed", [True, False], ids=["gz", "plain"])
def test_one_shot_ships_a_rotated_file_on_its_own(
    tmp_path: Path, receiver: OtlpReceiver, compressed: bool
) -> None:
    """`ship agent.<stamp>.jsonl[.gz]` (one-shot) sends the spans of that archive (it read 0
    lines and exited 0); with a checkpoint, a second run sends nothing more."""
    from otel_jsonl.record.rotate import compress_file, rotated_name

    path = tmp_path / "agent.jsonl"
    _trace(path, "a", 3)
    _trace(path, "b", 1)
    archive = rotated_name(path, 1000.0)
    path.rename(archive)
    if compressed:
        archive = compress_file(archive)
    _trace(path, "not-in-the-archive", 1)
    cp = tmp_path / "cp.json"
    argv = ["ship", str(archive), "--endpoint", receiver.endpoint, "--checkpoint", str(cp), "-q"]
    assert main(argv) == 0
    want = [
        (f"{s.context.trace_id:032x}", f"{s.context.span_id:016x}")
        for s in events_to_spans(read_files([archive]))
        if s.context is not None
    ]
    assert len(want) == 4 + 2
    assert sorted(receiver.span_ids()) == sorted(want)
    assert main(argv) == 0
    assert len(receiver.span_ids()) == len(want)


def test_a_damaged_gzip_in_the_set_is_reported_and_the_rest_shipped(
    tmp_path: Path, receiver: OtlpReceiver, capsys: pytest.CaptureFixture[str]
) -> None:
    """A rotated .gz cut short: ship says `file:line: gzip file ended early`, ships what came
    before the cut and the files after it, and exits 1 (a data error)."""
    from otel_jsonl.record.rotate import compress_file, rotated_name

    path = tmp_path / "agent.jsonl"
    for n in range(40):
        _trace(path, f"old-{n}", 3)
    archive = rotated_name(path, 1000.0)
    path.rename(archive)
    gz = compress_file(archive)
    gz.write_bytes(gz.read_bytes()[: gz.stat().st_size // 2])
    _trace(path, "new", 1)
    assert main(["ship", str(path), "--endpoint", receiver.endpoint, "-q"]) == 1
    err = capsys.readouterr().err
    assert f"{gz}:" in err and "gzip file ended early" in err
    got = receiver.span_ids()
    new = {
        (f"{s.context.trace_id:032x}", f"{s.context.span_id:016x}")
        for s in events_to_spans(read_files([path]))
        if s.context is not None
    }
    assert len(new) == 2 and new <= set(got)
    assert len(got) > 10 * 4  # the runs before the cut went too


def test_a_rotating_exporter_set_is_shipped_whole_across_restarts(tmp_path: Path) -> None:
    """Every file of an exporter's rotating set begins with its resource line: a restart from
    the checkpoint still finds the right file and sends every span (a position must not name
    another file of the set that begins the same way)."""
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor

    from otel_jsonl import JsonlSpanExporter

    path = tmp_path / "otel.jsonl"
    policy = RotationPolicy(max_bytes=1500, compress=True)
    provider = TracerProvider(resource=Resource({"service.name": "svc-a"}))
    provider.add_span_processor(SimpleSpanProcessor(JsonlSpanExporter(path, rotate=policy)))
    tracer = provider.get_tracer("t")
    cp = tmp_path / "cp.json"
    sent: list[str] = []
    for part in range(3):
        for i in range(part * 20, part * 20 + 20):
            with tracer.start_as_current_span(f"step {i}"):
                pass
        sink = _Collecting()
        FileShipper([path], sink, checkpoint=cp, follow=False).run()  # type: ignore[arg-type]
        sent.extend(s.name for s in sink.spans)
    provider.shutdown()
    assert len(set_members(path)) >= 6
    assert set(sent) == {f"step {i}" for i in range(60)}
    assert len(sent) == 60


def test_a_restart_whose_checkpoint_is_the_end_of_a_rotated_file_sends_the_next_files(
    tmp_path: Path,
) -> None:
    """Everything shipped (the checkpoint is the end of the file), the file rotated and gzipped,
    a new one written: the next start sends the new spans (it dropped every span after the
    checkpoint, waiting for a line of the checkpoint's file that never came)."""
    from otel_jsonl.record.rotate import compress_file, rotated_name

    path = tmp_path / "agent.jsonl"
    cp = tmp_path / "cp.json"
    _trace(path, "a", 2)
    first = _Collecting()
    FileShipper([path], first, checkpoint=cp, follow=False).run()  # type: ignore[arg-type]
    compress_file(path.rename(rotated_name(path, 1000.0)))
    _trace(path, "b", 2)
    second = _Collecting()
    status = FileShipper([path], second, checkpoint=cp, follow=False).run()  # type: ignore[arg-type]
    assert len(first.spans) == 3
    assert len(second.spans) == 3 and status.spans_suppressed == 0
    assert {s.context.trace_id for s in second.spans} != {s.context.trace_id for s in first.spans}
