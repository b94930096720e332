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
