"""The checkpoint file of ``otel-jsonl ship``: per followed path, where the backend's
acknowledgements stand and where reading must resume, written atomically (``0600``), and a lock
beside it so that two shippers never share one."""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from ..exceptions import OtelJsonlError
from ..read.follow import Position, fingerprint, followed_files
from ..record.fileio import private_temp, write_all

__all__ = [
    "CHECKPOINT_VERSION",
    "Checkpoint",
    "CheckpointBusyError",
    "load_checkpoint",
    "save_checkpoint",
    "starting_point",
]

CHECKPOINT_VERSION = 1


class CheckpointBusyError(OtelJsonlError, RuntimeError):
    """Raised by :meth:`Checkpoint.held` when another shipper holds the checkpoint file."""


class Checkpoint:
    """A checkpoint file (``path``; None keeps nothing). Raises ValueError at construction
    when the file is not a checkpoint of this version."""

    def __init__(self, path: str | os.PathLike[str] | None) -> None:
        self.path = Path(path) if path is not None else None
        self.state: dict[str, Any] = {"version": CHECKPOINT_VERSION, "sets": {}}
        if self.path is not None:
            loaded = load_checkpoint(self.path)
            if loaded:
                if loaded.get("version") != CHECKPOINT_VERSION:
                    raise ValueError(f"{self.path}: unknown checkpoint version")
                self.state = loaded
                self.state.setdefault("sets", {})

    def entry(self, key: str) -> Mapping[str, Any]:
        """What the checkpoint holds for one followed path (``{}`` when nothing)."""
        found = self.state["sets"].get(key)
        return found if isinstance(found, Mapping) else {}

    def save(self, entries: Mapping[str, Mapping[str, Any]], endpoint: str) -> None:
        """Record ``entries`` (by path) and write the file; raises OSError."""
        if self.path is None:
            return
        self.state["sets"].update(entries)
        self.state["endpoint"] = endpoint
        save_checkpoint(self.path, self.state)

    @contextlib.contextmanager
    def held(self) -> Iterator[None]:
        """Hold ``CHECKPOINT.lock`` (released when the process ends, however it ends)."""
        if self.path is None:
            yield
            return
        lock = self.path.with_name(self.path.name + ".lock")
        lock.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(lock, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise CheckpointBusyError(
                    f"{self.path}: another otel-jsonl ship is using this checkpoint"
                ) from None
            yield
        finally:
            os.close(fd)


def load_checkpoint(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The checkpoint in ``path`` (``{}`` when there is none); raises ValueError when the file
    is not a checkpoint."""
    try:
        with open(path, "rb") as fh:
            data = json.loads(fh.read() or b"{}")
    except FileNotFoundError:
        return {}
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path}: not a checkpoint file ({exc.msg})") from None
    if not isinstance(data, dict):
        raise ValueError(f"{path}: not a checkpoint file (not a JSON object)")
    return data


def save_checkpoint(path: str | os.PathLike[str], data: Mapping[str, Any]) -> None:
    """Write ``data`` to ``path`` atomically (a ``0600`` file written aside, fsynced and renamed
    over it), so a crash leaves the old checkpoint or the new one, never half of one."""
    target = Path(path)
    target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    payload = json.dumps(data, sort_keys=True, separators=(",", ":")).encode("utf-8") + b"\n"
    fd, tmp = private_temp(target)
    try:
        try:
            write_all(fd, payload)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    with contextlib.suppress(OSError):
        dfd = os.open(target.parent, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)


def starting_point(
    key: str, saved: Mapping[str, Any]
) -> tuple[Position | None, Position | None, str | None]:
    """Where a shipper of ``key`` resumes with the checkpoint entry ``saved``: the position to
    read from (None: the oldest file of the set), the position up to which the spans completed
    were accepted (None: drop nothing), and a note when the checkpoint's files are gone."""
    resume = Position.from_json(saved.get("resume"))
    acked = Position.from_json(saved.get("acked"))
    if resume is None and acked is None:
        return None, None, None
    present: set[str | None] = set()
    for _ in range(4):  # a file may be renamed (compressed) between listing and reading
        present = {fingerprint(m) for m in followed_files(key)}
        if resume is None or resume.fingerprint in present:
            break
    if resume is not None and resume.fingerprint in present:
        return resume, acked if acked is not None and acked.fingerprint in present else None, None
    if acked is not None and acked.fingerprint in present:
        note = "the checkpoint's resume point is gone; resuming after the last position the "
        return acked, None, f"{key}: {note}backend accepted"
    note = "the files of the checkpoint are gone (rotated away?); starting at the oldest file left"
    return None, None, f"{key}: {note}"
