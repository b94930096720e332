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


def cap_event(
    event: dict[str, Any], line: bytes, cap: int, put_blob: Callable[[bytes, str], str | None]
) -> bytes:
    """:func:`cap_line` for a ``line`` just encoded from ``event`` and left as it was by
    redaction: the values are taken from the event (copied where cut, never changed) instead of
    parsed back from the line, which gives the same bytes when the event is JSON-native (exact
    str keys and strings, ints, finite floats, bools, None, dicts, lists, tuples). Anything else
    (a model, a NaN, a lone surrogate, a re-recorded ``capped``) takes :func:`cap_line`."""
    if "capped" in event:
        return cap_line(line, cap, put_blob)
    quarter = cap // 4  # a string this short cannot be over the cap in UTF-8
    found: list[tuple[tuple[str | int, ...], bytes]] = []
    native = dict(event)
    cut: _Cut | None = None
    # The top level inline (a step's fields are mostly strings and numbers): the _Cut walk, with
    # its calls, only for the values that hold others.
    for key, item in event.items():
        t = type(item)
        if t is str:
            if len(item) <= quarter or key in _NEVER_CAPPED:
                continue
            try:
                raw = item.encode("utf-8")
            except UnicodeEncodeError:  # a lone surrogate: the line holds "?" for it
                return cap_line(line, cap, put_blob)
            if len(raw) > cap:
                found.append(((key,), raw))
                native[key] = raw[:cap].decode("utf-8", "ignore")
        elif t is int:
            if not _INT_MIN <= item < _INT_END:  # parsed back as a float by orjson
                return cap_line(line, cap, put_blob)
        elif t is float:
            if item - item != 0.0:  # NaN and infinities are written as strings
                return cap_line(line, cap, put_blob)
        elif t is bool or item is None:
            continue
        else:
            if cut is None:
                cut = _Cut(cap, found)
            try:
                if key in _NEVER_CAPPED:
                    cut.check(item)
                    continue
                cut.path.append(key)
                new = cut.value(item)
                cut.path.pop()
            except _NotNative:
                return cap_line(line, cap, put_blob)
            if new is not item:
                native[key] = new
    if not found:
        return line
    capped: dict[str, dict[str, Any]] = {}
    for keys, raw in found:
        info: dict[str, Any] = {"size": len(raw)}
        first = keys[0]
        if len(keys) == 1 and type(first) is str and "~" not in first and "/" not in first:
            pointer = "/" + first  # a top-level field, the usual case
        else:
            pointer = json_pointer(keys)
        digest = put_blob(raw, pointer)
        if digest is not None:
            info["sha256"] = digest
        capped[pointer] = info
    native["capped"] = capped
    return _with_refs(native, capped)


def cap_line(line: bytes, cap: int, put_blob: Callable[[bytes, str], str | None]) -> bytes:
    """The ``blob_ref`` lines of ``line``'s values over ``cap`` UTF-8 bytes, then the line with
    them cut and listed under ``capped``; ``line`` itself when nothing is over the cap.
    ``put_blob(full, pointer)`` stores a full value and returns its sha256 (None: no blob
    kept)."""
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
    return _with_refs(native, capped)


def _with_refs(native: dict[str, Any], capped: dict[str, dict[str, Any]]) -> bytes:
    """The ``blob_ref`` lines of ``capped`` (those with a blob), then ``native``'s line."""
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
        refs.append(_codec.dumps_decoded_line(ref))
    # JSON-native (decoded from a line, or checked by cap_event): no NaN to look for.
    refs.append(_codec.dumps_decoded_line(native))
    return b"".join(refs)


class _Walk:
    """One walk over a line's values: the cap, where to put full values, what was capped, and
    the path of keys and indexes to the value being looked at."""

    __slots__ = ("cap", "capped", "path", "put_blob", "quarter")

    def __init__(
        self, cap: int, put_blob: Callable[[bytes, str], str | None], capped: dict[str, Any]
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
            pointer = json_pointer(self.path)
            digest = self.put_blob(raw, pointer)
            if digest is not None:
                info["sha256"] = digest
            self.capped[pointer] = info
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


#: The integers orjson reads back as integers (the line holds any integer exactly).
_INT_MIN, _INT_END = -(2**63), 2**64


class _NotNative(Exception):
    """A value the line would not give back as it is: parse the line instead."""


class _Cut:
    """One copy-on-write walk over an event's values: the strings over the cap cut, the full
    values and their paths collected in ``found`` (stored only once the walk has succeeded)."""

    __slots__ = ("cap", "found", "path", "quarter")

    def __init__(self, cap: int, found: list[tuple[tuple[str | int, ...], bytes]]) -> None:
        self.cap = cap
        self.quarter = cap // 4
        self.found = found
        self.path: list[str | int] = []

    @staticmethod
    def check(value: Any) -> None:
        """Raise _NotNative unless ``value`` is a scalar the line gives back as it is."""
        t = type(value)
        if t is float:
            if value - value != 0.0:  # NaN and infinities are written as strings
                raise _NotNative
        elif t is int:
            if not _INT_MIN <= value < _INT_END:  # parsed back as a float by orjson
                raise _NotNative
        elif not (t is str or t is bool or value is None):
            raise _NotNative

    def value(self, value: Any) -> Any:
        """``value``, or a copy of it with its strings over the cap cut."""
        t = type(value)
        if t is str:
            if len(value) <= self.quarter:
                return value
            try:
                raw = value.encode("utf-8")
            except UnicodeEncodeError:  # a lone surrogate: the line holds "?" for it
                raise _NotNative from None
            if len(raw) <= self.cap:
                return value
            self.found.append((tuple(self.path), raw))
            return raw[: self.cap].decode("utf-8", "ignore")
        if t is dict:
            items: Iterable[tuple[Any, Any]] = value.items()
        elif t is list or t is tuple:
            items = enumerate(value)
        else:
            self.check(value)
            return value
        out: Any = None
        path, quarter = self.path, self.quarter
        for key, item in items:
            if t is dict and type(key) is not str:
                raise _NotNative
            ti = type(item)
            if ti is str and len(item) <= quarter:
                continue  # the common case, without a call
            path.append(key)
            new = self.value(item)
            path.pop()
            if new is not item:
                if out is None:
                    out = dict(value) if t is dict else list(value)
                out[key] = new
        if out is None:
            return value
        return out
