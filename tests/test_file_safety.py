"""Files that cannot be hijacked: blob temp files, symlinks at the trace path, directories
others may write to, devices and pipes, and the modes of every file the CLI writes."""

from __future__ import annotations

import logging
import os
import stat
import threading
from pathlib import Path

import pytest

from otel_jsonl import Trace
from otel_jsonl.cli import main
from otel_jsonl.demo import run_demo
from otel_jsonl.record.blobs import BlobStore, _private_group

BIG = "x" * 10_000


def foreign_gid() -> int:
    """A group that is not the user's private group (root may give a directory any group)."""
    if os.getuid() == 0:
        return 1
    for gid in os.getgroups():
        if not _private_group(gid):
            return gid
    pytest.skip("no group other than the user's own to give the directory")


def shared_dir(path: Path, bits: int) -> Path:
    """``path`` made a directory with ``bits``, owned by a group that is not the user's."""
    path.mkdir()
    if bits & 0o020:
        os.chown(path, -1, foreign_gid())
    path.chmod(bits)
    return path


def mode_of(path: Path) -> int:
    """The permission bits of ``path``."""
    return stat.S_IMODE(os.lstat(path).st_mode)


def test_blob_temp_names_are_random_and_links_are_never_written_through(tmp_path: Path) -> None:
    """A symlink planted at every name the old scheme would use (pid, thread) is never
    written through: the victim file keeps its content and the blob is stored."""
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    store_dir = tmp_path / "blobs"
    store_dir.mkdir(mode=0o700)
    data = BIG.encode()
    import hashlib

    digest = hashlib.sha256(data).hexdigest()
    planted = store_dir / f".{digest}.{os.getpid()}.{threading.get_ident()}.tmp"
    planted.symlink_to(victim)
    store = BlobStore(store_dir)
    assert store.put(data) == digest
    assert victim.read_text() == "precious"
    assert store.get(digest) == data
    assert mode_of(store_dir / digest) == 0o600
    leftovers = [p.name for p in store_dir.iterdir() if p.name.endswith(".tmp")]
    assert leftovers == [planted.name]


def test_blob_directory_created_0700(tmp_path: Path) -> None:
    """A new blob directory (and a new trace directory) is created 0700."""
    path = tmp_path / "new" / "run.jsonl"
    with Trace(path, strict=True) as trace:
        trace.step("tool_result", output=BIG)
    assert mode_of(tmp_path / "new") == 0o700
    assert mode_of(tmp_path / "new" / "blobs") == 0o700
    assert mode_of(path) == 0o600


@pytest.mark.parametrize("bits", [0o770, 0o777, 0o707])
def test_group_or_other_writable_blob_directory_is_refused(
    tmp_path: Path, bits: int, caplog: pytest.LogCaptureFixture
) -> None:
    """An existing blobs/ others may write to gets no blob: the step is written with the value
    cut, counted in ``cut``, and the warning names the directory and the switch."""
    blobs = shared_dir(tmp_path / "blobs", bits)
    with caplog.at_level(logging.WARNING, "otel_jsonl"), Trace(tmp_path / "t.jsonl") as trace:
        seq = trace.step("tool_result", output=BIG)
    assert seq == 0
    assert trace.dropped == 0
    assert trace.cut == 1
    assert list(blobs.iterdir()) == []
    text = caplog.text
    assert str(blobs) in text
    assert f"{bits:04o}" in text
    assert 'insecure_dirs="warn"' in text


def test_insecure_dirs_warn_writes_and_warns(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """insecure_dirs="warn" writes the blob into the group-writable directory and says so."""
    blobs = shared_dir(tmp_path / "blobs", 0o775)
    with (
        caplog.at_level(logging.WARNING, "otel_jsonl"),
        Trace(tmp_path / "t.jsonl", insecure_dirs="warn") as trace,
    ):
        trace.step("tool_result", output=BIG)
    assert trace.cut == 0
    assert len(list(blobs.iterdir())) == 1
    assert "writable by its group" in caplog.text


def test_group_writable_trace_directory_is_refused(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A trace directory writable by others: nothing is written, steps are dropped (never
    raised), and the warning says why and how to allow it."""
    shared = shared_dir(tmp_path / "shared", 0o777)
    with caplog.at_level(logging.WARNING, "otel_jsonl"), Trace(shared / "t.jsonl") as trace:
        assert trace.step("final", text="x") is None
    assert trace.dropped >= 1
    assert not (shared / "t.jsonl").exists()
    assert "writable by others" in caplog.text
    assert "refusing" in caplog.text


def test_group_writable_directory_of_the_users_own_group_is_accepted(tmp_path: Path) -> None:
    """Under umask 002 a new directory is group-writable by the user's private group: that
    is no one else, so it is used without a word."""
    if not _private_group(os.getgid()):
        pytest.skip("the user's primary group is shared with others here")
    own = tmp_path / "own"
    own.mkdir()
    os.chown(own, -1, os.getgid())
    own.chmod(0o775)
    with Trace(own / "t.jsonl", strict=True) as trace:
        assert trace.step("tool_result", output=BIG) == 0
    assert trace.cut == 0
    assert len(list((own / "blobs").iterdir())) == 1


def test_sticky_world_writable_directory_is_accepted(tmp_path: Path) -> None:
    """A sticky world-writable directory (as /tmp) is fine: others cannot rename our files."""
    sticky = tmp_path / "tmp"
    sticky.mkdir()
    sticky.chmod(0o1777)
    with Trace(sticky / "t.jsonl", strict=True) as trace:
        assert trace.step("final", text="x") == 0


def test_symlink_at_the_trace_path_is_not_followed(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A link planted at the trace path to another file: nothing is appended to that file,
    the step is dropped and the warning says it is a symbolic link."""
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    link = tmp_path / "t.jsonl"
    link.symlink_to(victim)
    with caplog.at_level(logging.WARNING, "otel_jsonl"), Trace(link) as trace:
        assert trace.step("final", text="x") is None
    assert victim.read_text() == "precious\n"
    assert "symbolic link" in caplog.text
    assert "follow_symlinks=True" in caplog.text


def test_follow_symlinks_switch_allows_a_link(tmp_path: Path) -> None:
    """follow_symlinks=True appends through the link (the user chose it)."""
    real = tmp_path / "real.jsonl"
    link = tmp_path / "t.jsonl"
    link.symlink_to(real)
    with Trace(link, follow_symlinks=True, strict=True) as trace:
        trace.step("final", text="x")
    assert '"kind":"final"' in real.read_text()


def test_link_to_a_device_is_followed(tmp_path: Path) -> None:
    """A link to a device (as /dev/stdout is) is followed: it cannot be used to make the
    recorder append to someone's file."""
    link = tmp_path / "out"
    link.symlink_to(os.devnull)
    with Trace(link, strict=True) as trace:
        assert trace.step("final", text="x") == 0


def test_existing_trace_file_with_wide_mode_is_warned_about(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """An existing 0644 trace file is appended to, with one warning naming its mode."""
    path = tmp_path / "t.jsonl"
    path.write_text("")
    path.chmod(0o644)
    with caplog.at_level(logging.WARNING, "otel_jsonl"), Trace(path) as trace:
        trace.step("final", text="x")
        trace.step("final", text="y")
    assert trace.dropped == 0
    assert caplog.text.count("has mode 0644") == 1


def test_dev_null_gets_no_blob_directory(tmp_path: Path) -> None:
    """Trace("/dev/null") with a capped value creates no /dev/blobs: the value is cut and
    counted."""
    before = os.path.exists("/dev/blobs")
    with Trace(os.devnull) as trace:
        assert trace.step("tool_result", output=BIG) == 0
    assert trace.cut == 1
    assert trace.dropped == 0
    assert os.path.exists("/dev/blobs") == before


def test_named_pipe_gets_no_blob_directory(tmp_path: Path) -> None:
    """A trace written into a FIFO: capped values are cut and counted, no blobs/ beside it."""
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    got: list[bytes] = []

    def drain() -> None:
        with open(fifo, "rb") as f:
            got.append(f.read())

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    with Trace(fifo) as trace:
        trace.step("tool_result", output=BIG)
    reader.join(timeout=10)
    assert trace.cut == 1
    assert not (tmp_path / "blobs").exists()
    assert b'"capped"' in got[0]


def test_stream_with_no_blob_dir_counts_cut_values() -> None:
    """A stream with no blob_dir: capped values are cut, the step written, ``cut`` counts."""
    import io

    buf = io.BytesIO()
    trace = Trace(stream=buf)
    trace.step("tool_result", output=BIG)
    trace.close()
    assert trace.cut == 1
    assert trace.dropped == 0
    assert b'"size":10000' in buf.getvalue()


@pytest.mark.parametrize("command", ["convert", "import", "view"])
def test_cli_output_files_are_0600(tmp_path: Path, command: str) -> None:
    """convert -o, import -o and view -o write 0600 files, even over an existing 0644 file."""
    src = tmp_path / "demo.jsonl"
    run_demo(src, run_id="f00d0001")
    otlp_file = tmp_path / "demo.otlp.jsonl"
    assert main(["convert", str(src), "-o", str(otlp_file), "-q"]) == 0
    if command == "convert":
        out = tmp_path / "again.otlp.jsonl"
        out.write_text("")
        out.chmod(0o644)
        assert main(["convert", str(src), "-o", str(out), "-q"]) == 0
    elif command == "import":
        out = tmp_path / "back.jsonl"
        assert main(["import", str(otlp_file), "-o", str(out), "-q"]) == 0
    else:
        out = tmp_path / "page.html"
        out.write_text("")
        out.chmod(0o644)
        assert main(["view", str(src), "-o", str(out)]) == 0
    assert mode_of(out) == 0o600


@pytest.mark.parametrize("command", ["convert", "view"])
def test_writing_to_dev_null_leaves_its_mode_alone(
    tmp_path: Path, command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """-o /dev/null works and never chmods the device (run as root, it could)."""
    src = tmp_path / "demo.jsonl"
    run_demo(src, run_id="f00d0002")
    before = mode_of(Path(os.devnull))
    assert main([command, str(src), "-o", os.devnull]) == 0, capsys.readouterr().err
    assert mode_of(Path(os.devnull)) == before


def test_exporter_built_with_no_arguments_takes_the_switches_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """JsonlSpanExporter() (as opentelemetry-instrument builds it) refuses a link at its path,
    and follows it with OTEL_JSONL_FOLLOW_SYMLINKS=true; export() never raises."""
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor

    from otel_jsonl.otel.exporter import JsonlSpanExporter

    real = tmp_path / "real.jsonl"
    link = tmp_path / "link.jsonl"
    link.symlink_to(real)
    monkeypatch.setenv("OTEL_EXPORTER_JSONL_PATH", str(link))
    for follow, written in (("", False), ("true", True)):
        monkeypatch.setenv("OTEL_JSONL_FOLLOW_SYMLINKS", follow)
        exporter = JsonlSpanExporter()
        provider = TracerProvider()
        provider.add_span_processor(SimpleSpanProcessor(exporter))
        with provider.get_tracer("t").start_as_current_span("work"):
            pass
        provider.shutdown()
        assert real.exists() == written
