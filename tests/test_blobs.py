"""Tests for otel_jsonl.blobs: the content-addressed store."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from otel_jsonl import BlobError, BlobStore


def test_put_get_roundtrip_and_dedupe(tmp_path: Path) -> None:
    """put returns the sha256 name; the same content is stored once; get verifies it."""
    store = BlobStore(tmp_path / "blobs")
    name = store.put(b"hello")
    assert name == hashlib.sha256(b"hello").hexdigest()
    assert store.put(b"hello") == name
    assert [p.name for p in (tmp_path / "blobs").iterdir()] == [name]
    assert store.get(name) == b"hello"


@pytest.mark.parametrize(
    "name",
    ["../etc/passwd", "/etc/passwd", "A" * 64, "a" * 63, "a" * 65, "", "..", "a" * 63 + "/"],
)
def test_bad_names_are_refused_before_any_path_is_built(tmp_path: Path, name: str) -> None:
    """A name that is not 64 lowercase hex never reaches the filesystem."""
    with pytest.raises(BlobError, match="not a sha256 blob name"):
        BlobStore(tmp_path).get(name)


def test_symlink_out_of_the_store_is_refused(tmp_path: Path) -> None:
    """A blob that is a link to a file outside the store is not followed."""
    outside = tmp_path / "secret.txt"
    outside.write_bytes(b"top secret")
    digest = hashlib.sha256(b"top secret").hexdigest()
    store_dir = tmp_path / "blobs"
    store_dir.mkdir()
    (store_dir / digest).symlink_to(outside)
    with pytest.raises(BlobError):
        BlobStore(store_dir).get(digest)


def test_tampered_content_is_refused(tmp_path: Path) -> None:
    """A blob whose content no longer matches its name is an error."""
    store = BlobStore(tmp_path)
    name = store.put(b"original")
    os.chmod(tmp_path / name, 0o600)
    (tmp_path / name).write_bytes(b"tampered")
    with pytest.raises(BlobError, match="does not match"):
        store.get(name)


def test_missing_blob_is_a_clear_error(tmp_path: Path) -> None:
    """Asking for a blob that is not there names the store."""
    with pytest.raises(BlobError, match="is not in the blob store"):
        BlobStore(tmp_path).get("0" * 64)


# --- packs: the recorder's capped values, appended to one file per writer ----------------------


def _pack_files(store_dir: Path) -> list[Path]:
    return sorted(store_dir.glob("pack-*.pack"))


def test_recorder_appends_new_capped_values_to_one_pack(tmp_path: Path) -> None:
    """A hundred new capped values make one pack file (0600, in a 0700 blobs/), no file per
    value; a fresh store, as the readers open it, resolves every one of them."""
    from otel_jsonl import Trace, read_events

    values = [f"{i:04d} " + "v" * 300 for i in range(100)]
    with Trace(tmp_path / "t.jsonl", cap=64, strict=True) as t:
        for value in values:
            t.step("tool_result", output=value)
    store_dir = tmp_path / "blobs"
    (pack,) = _pack_files(store_dir)
    assert [p.name for p in store_dir.iterdir()] == [pack.name]
    assert pack.stat().st_mode & 0o777 == 0o600
    assert store_dir.stat().st_mode & 0o777 == 0o700
    refs = [ev for _, ev in read_events(tmp_path / "t.jsonl") if ev["kind"] == "blob_ref"]
    assert len(refs) == 100
    reader = BlobStore(store_dir)
    assert [reader.get_text(ref["sha256"]) for ref in refs] == values


def test_full_replay_restores_values_from_the_pack(tmp_path: Path) -> None:
    """replay(full=True) puts a capped value back from the pack it was appended to."""
    from otel_jsonl import Trace, replay

    big = "the full tool output " * 40
    with Trace(tmp_path / "t.jsonl", run_id="r1", cap=100) as t:
        t.step("input", messages=[{"role": "user", "content": "read it"}])
        t.step("tool_call", id="c1", name="read", args={})
        t.step("tool_result", id="c1", output=big)
        t.step("llm_call", model="m", output=[{"role": "assistant", "content": "done"}])
    capped = replay(tmp_path / "t.jsonl", 3, run="r1")
    full = replay(tmp_path / "t.jsonl", 3, run="r1", full=True)
    assert big not in str(capped)
    assert big in str(full)


def test_files_and_packs_are_read_side_by_side(tmp_path: Path) -> None:
    """A store holding blob files (the earlier form) and packs reads both."""
    store = BlobStore(tmp_path)
    old = store.put(b"written as a file")
    new = store.append(b"appended to a pack")
    store.close()
    reader = BlobStore(tmp_path)
    assert reader.get(old) == b"written as a file"
    assert reader.get(new) == b"appended to a pack"
    assert (tmp_path / old).is_file() and not (tmp_path / new).exists()


def test_reader_sees_entries_appended_after_its_first_look(tmp_path: Path) -> None:
    """A pack still being written is read again from where the reader stopped."""
    writer = BlobStore(tmp_path)
    first = writer.append(b"first")
    reader = BlobStore(tmp_path)
    assert reader.get(first) == b"first"
    second = writer.append(b"second")
    assert reader.get(second) == b"second"
    writer.close()


def test_torn_last_entry_is_skipped_and_the_rest_read(tmp_path: Path) -> None:
    """A pack whose writer died mid-entry keeps its whole entries; the torn one is missing."""
    writer = BlobStore(tmp_path)
    whole = writer.append(b"whole entry")
    torn = writer.append(b"x" * 1000)
    writer.close()
    (pack,) = _pack_files(tmp_path)
    data = pack.read_bytes()
    pack.write_bytes(data[:-500])
    reader = BlobStore(tmp_path)
    assert reader.get(whole) == b"whole entry"
    with pytest.raises(BlobError, match="is not in the blob store"):
        reader.get(torn)


def test_tampered_pack_entry_is_refused(tmp_path: Path) -> None:
    """A pack entry whose bytes no longer match its name is an error, as a file's is."""
    writer = BlobStore(tmp_path)
    name = writer.append(b"original content")
    writer.close()
    (pack,) = _pack_files(tmp_path)
    pack.write_bytes(pack.read_bytes().replace(b"original", b"tampered"))
    with pytest.raises(BlobError, match="does not match"):
        BlobStore(tmp_path).get(name)


def test_pack_that_is_a_link_is_not_read(tmp_path: Path) -> None:
    """A pack name planted as a link to a pack elsewhere is not followed."""
    elsewhere = tmp_path / "elsewhere"
    writer = BlobStore(elsewhere)
    name = writer.append(b"outside the store")
    writer.close()
    store_dir = tmp_path / "blobs"
    store_dir.mkdir(mode=0o700)
    (store_dir / "pack-0000000000000000.pack").symlink_to(_pack_files(elsewhere)[0])
    with pytest.raises(BlobError, match="is not in the blob store"):
        BlobStore(store_dir).get(name)


def test_a_file_that_is_not_a_pack_is_ignored(tmp_path: Path) -> None:
    """A file named like a pack without the pack's first line holds nothing to read."""
    digest = hashlib.sha256(b"abc").hexdigest()
    (tmp_path / "pack-0000000000000000.pack").write_bytes(f"{digest} 3\nabc\n".encode())
    with pytest.raises(BlobError, match="is not in the blob store"):
        BlobStore(tmp_path).get(digest)


def test_unpack_gives_a_packed_value_a_file_of_its_own(tmp_path: Path) -> None:
    """unpack writes a packed value to its own 0600 file (for a page to link to) and returns
    it; a name the store does not hold gives None."""
    writer = BlobStore(tmp_path)
    name = writer.append(b"link to me")
    target = writer.unpack(name)
    assert target == tmp_path / name
    assert target.read_bytes() == b"link to me"
    assert target.stat().st_mode & 0o777 == 0o600
    assert writer.unpack("0" * 64) is None
    writer.close()


def test_two_writers_in_one_directory_keep_two_packs(tmp_path: Path) -> None:
    """Two recorders beside each other each append to a pack of their own; both resolve."""
    from otel_jsonl import Trace

    with Trace(tmp_path / "a.jsonl", cap=8) as a, Trace(tmp_path / "b.jsonl", cap=8) as b:
        a.step("tool_result", output="from a " * 10)
        b.step("tool_result", output="from b " * 10)
    assert len(_pack_files(tmp_path / "blobs")) == 2
    store = BlobStore(tmp_path / "blobs")
    for text in ("from a " * 10, "from b " * 10):
        assert store.get_text(hashlib.sha256(text.encode()).hexdigest()) == text


def test_a_failed_append_leaves_that_pack_and_the_next_value_starts_another(
    tmp_path: Path,
) -> None:
    """When an append fails (here: a descriptor that cannot be written), the pack is left
    behind, so no entry follows a torn one; the next value goes to a new pack, and both the
    earlier and the later values resolve."""
    store = BlobStore(tmp_path)
    first = store.append(b"before the failure")
    fd = store._pack_fd
    assert fd is not None
    read_only = os.open(os.devnull, os.O_RDONLY)
    os.dup2(read_only, fd)  # the pack's descriptor now refuses writes
    os.close(read_only)
    with pytest.raises(OSError):
        store.append(b"lost")
    later = store.append(b"after the failure")
    store.close()
    assert len(_pack_files(tmp_path)) == 2
    reader = BlobStore(tmp_path)
    assert reader.get(first) == b"before the failure"
    assert reader.get(later) == b"after the failure"
