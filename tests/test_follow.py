"""Following a set of trace files like tail -F: growth, rotation (plain and gzip), truncation,
atomic replace, resuming from a position, checkpoints; and show -f across a rotation."""

from __future__ import annotations

import json
import os
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import otel_jsonl.read.follow as follow_module
from otel_jsonl.otel.checkpoint import load_checkpoint, save_checkpoint
from otel_jsonl.read.follow import (
    Follower,
    Position,
    fingerprint,
    follow_events,
)
from otel_jsonl.record.rotate import compress_file, rotated_name

_open: list[Follower] = []


@pytest.fixture(autouse=True)
def _close_followers() -> Iterator[None]:
    yield
    while _open:
        _open.pop().close()


def closing(f: Follower) -> Follower:
    """Close ``f`` when the test ends."""
    _open.append(f)
    return f


def line(i: int, run: str = "r") -> bytes:
    return (json.dumps({"ts": 1.0 + i, "run": run, "seq": i, "kind": "note"}) + "\n").encode()


def append(path: Path, data: bytes) -> None:
    with path.open("ab") as fh:
        fh.write(data)


def drain(f: Follower) -> list[bytes]:
    out: list[bytes] = []
    for _ in range(20):
        got = f.poll()
        if not got:
            break
        out.extend(g.raw for g in got)
    return out


def test_growth_and_a_partial_line(tmp_path: Path) -> None:
    """Complete lines are handed out as they come; a line without its newline waits."""
    path = tmp_path / "t.jsonl"
    append(path, line(0) + line(1)[:10])
    f = closing(Follower(path))
    assert drain(f) == [line(0)]
    append(path, line(1)[10:] + line(2))
    assert drain(f) == [line(1), line(2)]
    pos = f.position
    assert pos is not None and pos.offset == path.stat().st_size


def test_rotation_by_rename_finishes_the_old_file_first(tmp_path: Path) -> None:
    """The path renamed away and a new file started: the rest of the old file, then the new."""
    path = tmp_path / "t.jsonl"
    append(path, line(0))
    f = closing(Follower(path))
    assert drain(f) == [line(0)]
    append(path, line(1))  # written before the rotation, not read yet
    path.rename(rotated_name(path, 1000.0))
    append(path, line(2))
    assert drain(f) == [line(1), line(2)]
    assert f.rotations == 1


def test_rotation_then_compression_before_the_follower_looks(tmp_path: Path) -> None:
    """A rotated file compressed before the follower reached its end is finished through the
    open descriptor, and the follower goes on with the next file."""
    path = tmp_path / "t.jsonl"
    append(path, line(0))
    f = closing(Follower(path))
    assert drain(f) == [line(0)]
    append(path, line(1))
    rotated = rotated_name(path, 1000.0)
    path.rename(rotated)
    compress_file(rotated)
    append(path, line(2))
    assert drain(f) == [line(1), line(2)]


def test_truncation_reads_again_from_the_top(tmp_path: Path) -> None:
    """copytruncate: a file shorter than what was read is read again from its start."""
    path = tmp_path / "t.jsonl"
    append(path, line(0) + line(1))
    f = closing(Follower(path))
    assert drain(f) == [line(0), line(1)]
    with path.open("r+b") as fh:
        fh.truncate(0)
    append(path, line(5))
    assert drain(f) == [line(5)]
    assert any("truncated" in n for n in f.notes)


def test_atomic_replace_is_followed(tmp_path: Path) -> None:
    """A new file renamed over the path (atomic replace) is read from its start."""
    path = tmp_path / "t.jsonl"
    append(path, line(0))
    f = closing(Follower(path))
    assert drain(f) == [line(0)]
    tmp = tmp_path / "new.tmp"
    tmp.write_bytes(line(7) + line(8))
    os.replace(tmp, path)
    assert drain(f) == [line(7), line(8)]


def test_resume_from_a_position_in_a_rotated_and_compressed_file(tmp_path: Path) -> None:
    """A position names its file by fingerprint: after the file was rotated and gzipped, a
    new follower resumes right after it, then reads the newer files."""
    path = tmp_path / "t.jsonl"
    append(path, line(0) + line(1) + line(2))
    f = closing(Follower(path))
    got = f.poll()
    assert [g.raw for g in got] == [line(0), line(1), line(2)]
    pos = got[1].position
    f.close()
    rotated = rotated_name(path, 1000.0)
    path.rename(rotated)
    compress_file(rotated)
    append(path, line(3))
    g = closing(Follower(path, start=pos))
    assert drain(g) == [line(2), line(3)]
    assert fingerprint(rotated.with_name(rotated.name + ".gz")) == pos.fingerprint


def test_a_position_whose_file_is_gone_starts_at_the_oldest_left(tmp_path: Path) -> None:
    """Retention deleted the checkpoint's file: start at the oldest file, and say so."""
    path = tmp_path / "t.jsonl"
    append(path, line(4))
    f = closing(Follower(path, start=Position("0" * 32, 10, "gone.jsonl")))
    assert drain(f) == [line(4)]
    assert any("gone" in n for n in f.notes)


def test_checkpoint_is_atomic_and_private(tmp_path: Path) -> None:
    """save_checkpoint writes 0600 and replaces the old one whole; load reads it back."""
    cp = tmp_path / "state" / "cp.json"
    assert load_checkpoint(cp) == {}
    save_checkpoint(cp, {"version": 1, "sets": {"a": 1}})
    save_checkpoint(cp, {"version": 1, "sets": {"a": 2}})
    assert load_checkpoint(cp) == {"version": 1, "sets": {"a": 2}}
    assert stat.S_IMODE(cp.stat().st_mode) == 0o600
    assert [p.name for p in cp.parent.iterdir()] == ["cp.json"]


def test_a_broken_checkpoint_is_a_clear_error(tmp_path: Path) -> None:
    """A checkpoint that is not JSON is refused with its name."""
    cp = tmp_path / "cp.json"
    cp.write_text("{half")
    with pytest.raises(ValueError, match="not a checkpoint"):
        load_checkpoint(cp)


def test_show_follow_reads_on_across_a_rotation(tmp_path: Path) -> None:
    """follow_events keeps yielding after the file is rotated (it went silent before)."""
    path = tmp_path / "t.jsonl"
    append(path, line(0))
    notes: list[str] = []
    steps = iter(range(100))

    def sleep(_: float) -> None:
        n = next(steps)
        if n == 0:
            path.rename(rotated_name(path, 1000.0))
            append(path, line(1))
        elif n == 1:
            with path.open("r+b") as fh:
                fh.truncate(0)
            append(path, line(2))

    events = list(follow_events(path, max_polls=4, sleep=sleep, on_note=notes.append))
    assert [e.event["seq"] for e in events] == [0, 1, 2]
    assert any("truncated" in n for n in notes)


@settings(max_examples=30, deadline=None)
@given(
    script=st.lists(
        st.tuples(st.sampled_from(["append", "rotate", "rotate+gzip", "poll"]), st.integers(1, 4)),
        max_size=25,
    )
)
def test_a_follower_sees_every_line_once_in_order(script: list[tuple[str, int]]) -> None:
    """For any interleaving of appends, rotations (plain or gzipped) and polls, the follower
    hands out every line once, in the order written."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "t.jsonl"
        path.touch()
        written: list[bytes] = []
        clock = 1000.0
        with Follower(path) as f:
            seen = drain(f)
            for action, n in script:
                if action == "append":
                    data = [line(len(written) + i) for i in range(n)]
                    append(path, b"".join(data))
                    written.extend(data)
                elif action.startswith("rotate") and path.stat().st_size:
                    clock += n
                    target = rotated_name(path, clock)
                    path.rename(target)
                    path.touch()
                    if action.endswith("gzip"):
                        compress_file(target)
                else:
                    seen.extend(drain(f))
            seen.extend(drain(f))
        assert seen == written


def _rotate_and_gzip(path: Path, when: float) -> Path:
    """Rotate ``path`` the way RotatingFile does (rename to a stamped name, then gzip)."""
    target = rotated_name(path, when)
    path.rename(target)
    return compress_file(target)


def test_a_rotation_between_the_listing_and_the_opening_skips_no_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The writer rotates (and gzips) the next file between the follower's look at the
    directory and its opening of that file by name: that file is still read, in order (it
    was skipped: the follower opened the newer file that had taken the active name)."""
    path = tmp_path / "t.jsonl"
    append(path, line(0))
    f = closing(Follower(path))
    assert drain(f) == [line(0)]
    append(path, line(1))
    _rotate_and_gzip(path, 1000.0)
    append(path, line(2))  # the next file, still active when the follower lists the set
    real = follow_module.set_members
    rotated: list[Path] = []

    def listing_then_rotation(active: str | os.PathLike[str]) -> list[Path]:
        members = real(active)
        if not rotated:  # once, right after the first look
            rotated.append(_rotate_and_gzip(path, 1001.0))
            append(path, line(3))
        return members

    monkeypatch.setattr(follow_module, "set_members", listing_then_rotation)
    assert drain(f) == [line(1), line(2), line(3)]
    assert rotated


def test_a_restart_whose_file_rotates_while_it_opens_resumes_in_that_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The checkpoint's file is the active one and is rotated and gzipped between the
    follower's fingerprint of it and its opening by name: the follower resumes in the
    rotated file, not at the same offset of the new active file."""
    path = tmp_path / "t.jsonl"
    append(path, line(0) + line(1) + line(2))
    with Follower(path) as f:
        pos = f.poll()[0].position
    real = follow_module.fingerprint
    rotated: list[Path] = []

    def fingerprint_then_rotation(member: str | os.PathLike[str]) -> str | None:
        found = real(member)
        if not rotated and Path(member) == path:
            rotated.append(_rotate_and_gzip(path, 1000.0))
            append(path, line(3) + line(4) + line(5) + line(6))
        return found

    monkeypatch.setattr(follow_module, "fingerprint", fingerprint_then_rotation)
    g = closing(Follower(path, start=pos))
    assert drain(g) == [line(1), line(2), line(3), line(4), line(5), line(6)]
    assert rotated


@pytest.mark.parametrize(
    ("damage", "reason"),
    [
        ("cut", "gzip file ended early (truncated); the lines before were read"),
        ("corrupt", "not a valid gzip file (CRC check failed"),
    ],
)
def test_a_damaged_gzip_is_a_problem_at_its_line_and_the_next_file_is_read(
    tmp_path: Path, damage: str, reason: str
) -> None:
    """A rotated .gz that is cut short or corrupt: the lines before the damage are handed out,
    the follower says `file:line: reason` (it read on silently as if the file had ended) and
    goes on with the next file of the set."""
    path = tmp_path / "t.jsonl"
    written = [line(i, run=f"run-{i * 7919 % 1000}") for i in range(4000)]
    append(path, b"".join(written))
    gz = _rotate_and_gzip(path, 1000.0)
    data = bytearray(gz.read_bytes())
    if damage == "cut":
        del data[len(data) // 2 :]
    else:
        data[len(data) // 2 : len(data) // 2 + 64] = b"\xff" * 64
    gz.write_bytes(bytes(data))
    append(path, line(9999))
    f = closing(Follower(path))
    got = drain(f)
    assert got[-1] == line(9999)
    n = len(got) - 1
    # What comes before the damage (half way through) is read; a corrupt stream may give a
    # few garbled lines before its check fails (they are bad lines to the reader).
    assert 1000 < n < len(written) and got[:1000] == written[:1000]
    assert [(p.path, p.lineno) for p in f.problems] == [(str(gz), n + 1)]
    assert str(f.problems[0]).startswith(f"{gz}:{n + 1}: {reason}")


def test_a_write_under_way_at_the_rotation_is_read_before_the_next_file(tmp_path: Path) -> None:
    """A writer that checked the path before the rename writes its line after it (holding the
    shared flock RotatingFile writes under): the follower waits for that write and reads the
    line before it moves on to the next file."""
    import fcntl

    path = tmp_path / "t.jsonl"
    append(path, line(0))
    f = closing(Follower(path))
    assert drain(f) == [line(0)]
    fd = os.open(path, os.O_WRONLY | os.O_APPEND)
    try:
        fcntl.flock(fd, fcntl.LOCK_SH)  # the write is under way
        path.rename(rotated_name(path, 1000.0))
        append(path, line(2))
        assert drain(f) == []
        os.write(fd, line(1))
        fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
    assert drain(f) == [line(1), line(2)]


def test_files_that_begin_alike_are_told_apart_by_their_length(tmp_path: Path) -> None:
    """Two rotated .gz files with the same first line (exporter files of older versions): the
    follower, its file compressed meanwhile, goes on after that file (its gzip trailer gives
    its length), not after the older one, which would read the file a second time."""
    path = tmp_path / "t.jsonl"
    header = line(0, run="resource")
    append(path, header + line(1, run="old"))
    _rotate_and_gzip(path, 1000.0)
    append(path, header + line(2) + line(3))
    f = closing(Follower(path))
    assert drain(f) == [header, line(1, run="old"), header, line(2), line(3)]
    _rotate_and_gzip(path, 1001.0)
    append(path, line(4))
    assert drain(f) == [line(4)]
