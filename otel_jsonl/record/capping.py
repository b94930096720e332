"""Capping a line: string values over the cap keep their first bytes, their full text goes to
the blob store, and a ``blob_ref`` line says where. Works on an encoded (and already redacted)
line, so a secret cut in two by the cap is already gone. Standard library only."""

from __future__ import annotations

from . import codec as _codec

TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover - typing is not imported at run time (start-up cost)
    from collections.abc import Callable, Iterable
    from typing import Any

__all__ = ["cap_line", "json_pointer"]

#: Top-level keys that identify a line; they are never capped.
_NEVER_CAPPED = frozenset({"run", "kind", "trace_id", "span_id", "parent_id", "capped"})


def json_pointer(parts: Iterable[str | int]) -> str:
    """RFC 6901 pointer for a path of keys and indexes (``/output``, ``/input/0/parts/1``)."""
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in parts)


def cap_line(line: bytes, cap: int, put_blob: Callable[[bytes], str | None]) -> bytes:
    """The ``blob_ref`` lines of ``line``'s values over ``cap`` UTF-8 bytes, then the line with
    them cut and listed under ``capped``; ``line`` itself when nothing is over the cap.
    ``put_blob`` stores a full value and returns its sha256 (None: no blob kept)."""
    # Work on the JSON-native form, so values inside models and dataclasses are capped too.
    native = _codec.loads(line)
    capped: dict[str, dict[str, Any]] = {}
    if "capped" in native:
        # An event that already carries capped values (re-recorded): keep them.
        capped.update(native["capped"])
    walk = _Walk(cap, put_blob, capped)
    for key, item in native.items():
        if key not in _NEVER_CAPPED and type(item) is not int and type(item) is not float:
            walk.path.append(key)
            new = walk.value(item)
            walk.path.pop()
            if new is not item:
                native[key] = new
    if not capped:
        return line
    native["capped"] = capped
    refs = []
    for pointer, info in capped.items():
        if "sha256" not in info:
            continue  # no blob store (a stream with no blob_dir): nothing to refer to
        ref: dict[str, Any] = {"ts": native.get("ts"), "run": native.get("run")}
        ref["kind"] = "blob_ref"
        if "seq" in native:
            ref["of"] = native["seq"]
        for key in ("trace_id", "span_id"):
            if key in native:
                ref[key] = native[key]
        ref["field"] = pointer
        ref.update(info)
        refs.append(_codec.dumps_line(ref))
    refs.append(_codec.dumps_line(native))
    return b"".join(refs)


class _Walk:
    """One walk over a line's values: the cap, where to put full values, what was capped, and
    the path of keys and indexes to the value being looked at."""

    __slots__ = ("cap", "capped", "path", "put_blob", "quarter")

    def __init__(
        self, cap: int, put_blob: Callable[[bytes], str | None], capped: dict[str, Any]
    ) -> None:
        self.cap = cap
        self.quarter = cap // 4  # a string this short cannot be over the cap in UTF-8
        self.put_blob = put_blob
        self.capped = capped
        self.path: list[str | int] = []

    def value(self, value: Any) -> Any:
        """``value`` with its strings over the cap cut (their full text stored), in place."""
        t = type(value)
        if t is str:
            if len(value) <= self.quarter:
                return value
            raw = value.encode("utf-8", "replace")
            if len(raw) <= self.cap:
                return value
            info: dict[str, Any] = {"size": len(raw)}
            digest = self.put_blob(raw)
            if digest is not None:
                info["sha256"] = digest
            self.capped[json_pointer(self.path)] = info
            return raw[: self.cap].decode("utf-8", "ignore")
        if t is dict:
            items: Iterable[tuple[Any, Any]] = value.items()
        elif t is list:
            items = enumerate(value)
        else:
            return value
        path, quarter = self.path, self.quarter
        for key, item in items:
            if type(item) is str and len(item) <= quarter:
                continue  # the common case, without a call
            path.append(key)
            new = self.value(item)
            path.pop()
            if new is not item:
                value[key] = new
        return value
