"""Rotation and retention: size and daily rotation (fake clock), keep N files / D days, gzip,
several processes appending to one path, and readers over rotated sets."""

from __future__ import annotations

import gzip
import json
import os
import stat
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from otel_jsonl.read.fileset import expand_sources, order_files, read_files, set_members
from otel_jsonl.read.lines import read_events
from otel_jsonl.record.rotate import (
    RotatingFile,
    RotationPolicy,
    apply_retention,
    rotated_files,
    rotated_name,
)

DAY = 86400.0
#: 2026-11-29 23:59:00 UTC
T0 = 1795996740.0


class FakeClock:
    """A clock the test moves by hand."""

    def __init__(self, now: float = T0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def write(rf: RotatingFile, data: bytes) -> None:
    with rf.target(len(data)) as fd:
        os.write(fd, data)


def line(run: str, seq: int, pad: int = 0, ts: float = T0) -> bytes:
    event = {"ts": ts, "run": run, "seq": seq, "kind": "note", "pad": "x" * pad}
    return (json.dumps(event) + "\n").encode()


def all_lines(active: Path) -> list[bytes]:
    out: list[bytes] = []
    for p in set_members(active):
        opener = gzip.open if p.name.endswith(".gz") else open
        with opener(p, "rb") as fh:
            out.extend(fh.read().splitlines(keepends=True))
    return out


def test_size_rotation_keeps_lines_whole_and_in_order(tmp_path: Path) -> None:
    """max_bytes: no file exceeds it, no line is split, the set reads back in write order."""
    path = tmp_path / "agent.jsonl"
    rf = RotatingFile(path, RotationPolicy(max_bytes=1000))
    written = [line("r", i, pad=i % 40) for i in range(200)]
    for data in written:
        write(rf, data)
    rf.close()
    members = set_members(path)
    assert len(members) > 5 and members[-1] == path
    for p in members:
        assert p.stat().st_size <= 1000
        assert p.read_bytes().endswith(b"\n")
        assert stat.S_IMODE(p.stat().st_mode) == 0o600
    assert all_lines(path) == written
    assert rf.rotations == len(members) - 1


def test_a_line_larger_than_the_limit_goes_whole_into_a_fresh_file(tmp_path: Path) -> None:
    """A write bigger than max_bytes is not split: it starts a file of its own."""
    path = tmp_path / "t.jsonl"
    rf = RotatingFile(path, RotationPolicy(max_bytes=100))
    small, big = line("r", 0), line("r", 1, pad=500)
    write(rf, small)
    write(rf, big)
    rf.close()
    assert [p.read_bytes() for p in set_members(path)] == [small, big]


def test_rotated_names_sort_in_time_order_even_when_the_clock_stands_still(
    tmp_path: Path,
) -> None:
    """Rotations in the same microsecond (or with the clock stepping back) still get names
    that sort in rotation order."""
    path = tmp_path / "t.jsonl"
    clock = FakeClock()
    rf = RotatingFile(path, RotationPolicy(max_bytes=10), clock=clock)
    for i in range(6):
        if i == 4:
            clock.now -= 3600  # the clock steps back
        write(rf, line("r", i))
    rf.close()
    rotated = rotated_files(path)
    assert len(rotated) == 5
    names = [f.path.name for f in rotated]
    assert names == sorted(names) and len(set(names)) == 5
    assert all_lines(path) == [line("r", i) for i in range(6)]


def test_daily_rotation_with_a_fake_clock(tmp_path: Path) -> None:
    """daily: the first write of a new UTC day starts a new file; the rotated file is named
    for the moment of its rotation."""
    path = tmp_path / "t.jsonl"
    clock = FakeClock(T0)
    rf = RotatingFile(path, RotationPolicy(daily=True), clock=clock)
    write(rf, line("a", 0))
    clock.now = T0 + 30  # 23:59:30, same day
    write(rf, line("a", 1))
    clock.now = T0 + 61  # 00:00:01 the next day
    write(rf, line("a", 2))
    clock.now = T0 + 61 + DAY  # and the day after
    write(rf, line("a", 3))
    rf.close()
    rotated = rotated_files(path)
    assert [f.path.name for f in rotated] == [
        "t.20261130T000001.000000Z.jsonl",
        "t.20261201T000001.000000Z.jsonl",
    ]
    assert rotated[0].path.read_bytes() == line("a", 0) + line("a", 1)
    assert rotated[1].path.read_bytes() == line("a", 2)
    assert path.read_bytes() == line("a", 3)


def test_daily_does_not_rotate_an_empty_file(tmp_path: Path) -> None:
    """A day with nothing written leaves no empty rotated file behind."""
    path = tmp_path / "t.jsonl"
    clock = FakeClock(T0)
    rf = RotatingFile(path, RotationPolicy(daily=True), clock=clock)
    with rf.target(0):
        pass  # opens the file, writes nothing
    clock.now += DAY
    write(rf, line("a", 0))
    rf.close()
    assert rotated_files(path) == []
    assert path.read_bytes() == line("a", 0)


def test_retention_keeps_the_newest_n_files(tmp_path: Path) -> None:
    """keep_files=2: only the two newest rotated files remain, with the active file."""
    path = tmp_path / "t.jsonl"
    clock = FakeClock()
    rf = RotatingFile(path, RotationPolicy(max_bytes=10, keep_files=2), clock=clock)
    for i in range(6):
        clock.now += 1
        write(rf, line("r", i))
    rf.close()
    assert all_lines(path) == [line("r", i) for i in (3, 4, 5)]


def test_retention_by_age_with_a_fake_clock(tmp_path: Path) -> None:
    """keep_days=2: rotated files rotated more than two days ago are deleted."""
    path = tmp_path / "t.jsonl"
    clock = FakeClock()
    rf = RotatingFile(path, RotationPolicy(daily=True, keep_days=2), clock=clock)
    for i in range(5):
        write(rf, line("r", i))
        clock.now += DAY
    write(rf, line("r", 5))
    rf.close()
    # Rotations happened at days 1..5 after T0; the last at T0 + 5 days: files rotated at
    # days 3, 4, 5 are within two days of it.
    assert [f.when for f in rotated_files(path)] == [T0 + 3 * DAY, T0 + 4 * DAY, T0 + 5 * DAY]
    assert all_lines(path) == [line("r", i) for i in (2, 3, 4, 5)]
    assert apply_retention(path, RotationPolicy(keep_days=2), T0 + 7.5 * DAY) != []
    assert all_lines(path) == [line("r", 5)]


def test_gzip_of_rotated_files(tmp_path: Path) -> None:
    """compress: rotated files become .gz (0600), the active file stays plain, and the set
    reads back the same bytes."""
    path = tmp_path / "t.jsonl"
    rf = RotatingFile(path, RotationPolicy(max_bytes=300, compress=True))
    written = [line("r", i, pad=20) for i in range(40)]
    for data in written:
        write(rf, data)
    rf.close()
    # Compression runs beside the writer; a last pass catches what a busy pass skipped.
    for f in rotated_files(path):
        assert f.compressed, f.path
        assert stat.S_IMODE(f.path.stat().st_mode) == 0o600
    assert not path.name.endswith(".gz")
    assert all_lines(path) == written
    assert [ln.event for ln in read_files(set_members(path))] == [json.loads(d) for d in written]


def test_readers_over_a_rotated_set_give_the_events_of_the_unrotated_file(
    tmp_path: Path,
) -> None:
    """The same lines written once with and once without rotation (plain and .gz) read back as
    the same events through a directory, a glob and the list of files."""
    one = tmp_path / "one" / "t.jsonl"
    many = tmp_path / "many" / "t.jsonl"
    plain = RotatingFile(one, RotationPolicy())
    rot = RotatingFile(many, RotationPolicy(max_bytes=700, compress=True))
    for i in range(120):
        data = line(f"run{i % 3}", i // 3, pad=(i * 7) % 50)
        write(plain, data)
        write(rot, data)
    plain.close()
    rot.close()
    expected = [ln.event for ln in read_events(one)]
    assert len(rotated_files(many)) > 3
    by_dir = expand_sources([str(many.parent)])
    by_glob = expand_sources([str(many.parent / "t*")])
    assert by_dir == by_glob == [str(p) for p in set_members(many)]
    assert [ln.event for ln in read_files(by_dir)] == expected


def test_order_files_puts_sets_in_time_order(tmp_path: Path) -> None:
    """Stamped names by time, logrotate's numbers highest first, the active file last; a file
    both plain and .gz is read once."""
    names = [
        "a.jsonl",
        "a.20261201T000000.000000Z.jsonl.gz",
        "a.20261130T000000.000000Z.jsonl",
        "a.20261130T000000.000000Z.jsonl.gz",
        "b.jsonl.1",
        "b.jsonl",
        "b.jsonl.2.gz",
    ]
    ordered = [p.name for p in order_files([tmp_path / n for n in names])]
    assert ordered == [
        "a.20261130T000000.000000Z.jsonl",
        "a.20261201T000000.000000Z.jsonl.gz",
        "a.jsonl",
        "b.jsonl.2.gz",
        "b.jsonl.1",
        "b.jsonl",
    ]


def test_rotated_name_forms() -> None:
    """UTC names end in Z; a name without an extension still gets its stamp."""
    assert rotated_name("d/t.jsonl", T0).name == "t.20261129T235900.000000Z.jsonl"
    assert rotated_name("d/trace", T0).name == "trace.20261129T235900.000000Z"


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({}, None),
        (
            {"OTEL_JSONL_ROTATE_MAX_MB": "1.5", "OTEL_JSONL_ROTATE_KEEP_FILES": "3"},
            RotationPolicy(max_bytes=1572864, keep_files=3),
        ),
        (
            {
                "OTEL_JSONL_ROTATE_DAILY": "true",
                "OTEL_JSONL_ROTATE_KEEP_DAYS": "7",
                "OTEL_JSONL_ROTATE_GZIP": "1",
            },
            RotationPolicy(daily=True, keep_days=7.0, compress=True),
        ),
    ],
)
def test_policy_from_environment(env: dict[str, str], expected: RotationPolicy | None) -> None:
    """OTEL_JSONL_ROTATE_* describe the policy of the exporters' zero-argument form."""
    assert RotationPolicy.from_env(env) == expected


@pytest.mark.parametrize(
    "env",
    [
        {"OTEL_JSONL_ROTATE_MAX_MB": "big"},
        {"OTEL_JSONL_ROTATE_DAILY": "sometimes"},
        {"OTEL_JSONL_ROTATE_KEEP_FILES": "2.5"},
        {"OTEL_JSONL_ROTATE_KEEP_DAYS": "-1"},
    ],
)
def test_bad_policy_variables_are_named(env: dict[str, str]) -> None:
    """A bad variable is a ValueError naming it."""
    with pytest.raises(ValueError, match=next(iter(env))):
        RotationPolicy.from_env(env)


@pytest.mark.parametrize(
    "kwargs", [{"max_bytes": -1}, {"keep_files": 1.5}, {"keep_days": -2}, {"max_bytes": True}]
)
def test_bad_policy_arguments_fail_at_construction(kwargs: dict[str, object]) -> None:
    """Negative or non-integral limits are refused when the policy is made."""
    with pytest.raises(ValueError):
        RotationPolicy(**kwargs)  # type: ignore[arg-type]


_CHILD = textwrap.dedent(
    """
    import sys, threading
    from otel_jsonl import RotationPolicy, Trace
    path, proc = sys.argv[1], sys.argv[2]
    policy = RotationPolicy(max_bytes=64 * 1024, compress=True)
    t = Trace(path, run_id="p" + proc, fsync="never", rotate=policy)
    def work(thread):
        for i in range(250):
            t.step("tool_result", thread=thread, i=i, output=("x" * (i * 37 % 5000)))
    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for th in threads: th.start()
    for th in threads: th.join()
    t.close()
    print(t.dropped, t._writer._rotating.rotations)
    """
)


def test_four_processes_four_threads_rotate_one_path_safely(tmp_path: Path) -> None:
    """4 processes x 4 threads record into one rotating, compressing path: every line is whole
    and present once across the set, each blob_ref sits in the file of its step, and the
    processes shared the rotations."""
    path = tmp_path / "t.jsonl"
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _CHILD, str(path), str(n)], stdout=subprocess.PIPE, text=True
        )
        for n in range(4)
    ]
    rotations = 0
    for p in procs:
        out, _ = p.communicate(timeout=120)
        assert p.returncode == 0
        dropped, rotated = out.split()
        assert dropped == "0"
        rotations += int(rotated)
    members = set_members(path)
    assert rotations == len(members) - 1 > 3
    steps = 0
    for member in members:
        events = [ln.event for ln in read_events(member)]
        here = {(e["run"], e["seq"]) for e in events if e["kind"] != "blob_ref"}
        refs = [e for e in events if e["kind"] == "blob_ref"]
        assert all((r["run"], r["of"]) in here for r in refs)
        steps += len(here)
    assert steps == 4000
    events = [ln.event for ln in read_files(members)]
    for n in range(4):
        seqs = sorted(e["seq"] for e in events if e["run"] == f"p{n}" and e["kind"] != "blob_ref")
        assert seqs == list(range(1000))


def test_exporter_zero_argument_form_rotates_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """OTEL_JSONL_ROTATE_* rotate the span exporter's file; every file of the set starts with
    the resource line, so each converts on its own with the service name."""
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor

    from otel_jsonl import JsonlSpanExporter
    from otel_jsonl.otel.to_spans import events_to_spans

    path = tmp_path / "otel.jsonl"
    monkeypatch.setenv("OTEL_EXPORTER_JSONL_PATH", str(path))
    monkeypatch.setenv("OTEL_JSONL_ROTATE_MAX_MB", "0.002")  # about 2 KB
    monkeypatch.setenv("OTEL_JSONL_ROTATE_KEEP_FILES", "50")
    exporter = JsonlSpanExporter()
    provider = TracerProvider(resource=Resource({"service.name": "rotating-svc"}))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("t")
    for i in range(30):
        with tracer.start_as_current_span(f"step {i}") as span:
            span.set_attribute("i", i)
    provider.shutdown()
    members = set_members(path)
    assert len(members) > 3
    for member in members:
        events = [ln.event for ln in read_events(member)]
        assert events[0]["kind"] == "resource"
        spans = list(events_to_spans(events))
        assert spans and all(s.resource.attributes["service.name"] == "rotating-svc" for s in spans)
    assert sum(1 for _ in read_files(members) if _.event["kind"] != "resource") == 30


def test_configure_takes_the_rotation_policy(tmp_path: Path) -> None:
    """configure(path, rotate=...) rotates the file its providers write, by size."""
    from otel_jsonl import configure

    path = tmp_path / "app.jsonl"
    tracer_provider, logger_provider = configure(
        path, set_global=False, batch=False, rotate=RotationPolicy(max_bytes=1500)
    )
    tracer = tracer_provider.get_tracer("t")
    for i in range(20):
        with tracer.start_as_current_span(f"work {i}"):
            pass
    logger_provider.shutdown()
    tracer_provider.shutdown()
    members = set_members(path)
    assert len(members) > 2
    names = [ln.event.get("name") for ln in read_files(members) if ln.event["kind"] == "span"]
    assert names == [f"work {i}" for i in range(20)]


@settings(max_examples=40, deadline=None)
@given(
    sizes=st.lists(st.integers(min_value=0, max_value=300), min_size=1, max_size=60),
    limit=st.integers(min_value=1, max_value=2000),
    compress=st.booleans(),
)
def test_any_rotated_set_reads_back_as_the_unrotated_file(
    sizes: list[int], limit: int, compress: bool
) -> None:
    """For any line sizes and size limit, the rotated set (plain or gzip) reads back the same
    events, in the same order, as the one file written without rotation."""
    with tempfile.TemporaryDirectory() as tmp:
        one, many = Path(tmp) / "a" / "t.jsonl", Path(tmp) / "b" / "t.jsonl"
        plain = RotatingFile(one, RotationPolicy())
        rot = RotatingFile(many, RotationPolicy(max_bytes=limit, compress=compress))
        for i, size in enumerate(sizes):
            data = line(f"r{i % 3}", i, pad=size)
            write(plain, data)
            write(rot, data)
        plain.close()
        rot.close()
        members = set_members(many)
        assert [ln.event for ln in read_files(members)] == [ln.event for ln in read_events(one)]
        for member in members[:-1]:
            raw = member.read_bytes()
            if member.name.endswith(".gz"):
                raw = gzip.decompress(raw)
            assert len(raw) <= limit or raw.count(b"\n") == 1


def test_the_receiver_rotates_through_the_writer_options(tmp_path: Path) -> None:
    """serve's receiver takes the rotation policy in its WriterOptions: spans sent over
    OTLP/HTTP land in a rotated set whose every file starts with its resource line."""
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor

    from otel_jsonl.otel.receiver import Receiver
    from otel_jsonl.record import WriterOptions

    path = tmp_path / "served.jsonl"
    options = WriterOptions(rotate=RotationPolicy(max_bytes=2000))
    with Receiver(path, http=("127.0.0.1", 0), grpc=None, options=options) as receiver:
        assert receiver.http_address is not None
        host, port = receiver.http_address
        exporter = OTLPSpanExporter(endpoint=f"http://{host}:{port}/v1/traces", timeout=5)
        provider = TracerProvider(resource=Resource({"service.name": "served"}))
        provider.add_span_processor(SimpleSpanProcessor(exporter))
        tracer = provider.get_tracer("t")
        for i in range(20):
            with tracer.start_as_current_span(f"served {i}"):
                pass
        provider.shutdown()
    members = set_members(path)
    assert len(members) > 2
    for member in members:
        assert next(iter(read_events(member))).event["kind"] == "resource"
    names = [ln.event.get("name") for ln in read_files(members) if "otel" in ln.event]
    assert names == [f"served {i}" for i in range(20)]
