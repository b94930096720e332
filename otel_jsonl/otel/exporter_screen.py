"""The secret screen of the span exporter's step lines, on what the span brought only.

The writer screens every line whole (:meth:`~otel_jsonl.record.redact.Redactor.redact_bytes`).
On a span's step line most of the bytes, and most of the scan's stops (every ``:`` ``_`` ``-``
``=`` and a few capitals and digits), are the exporter's own: its JSON keys, hex ids, numbers,
the span kind. None of them can be where a secret starts: the scan's candidates are a
secret-named key before a separator, a token prefix, a URL with user info, ``Bearer`` or a
private key block, and what the scan reads around a stop never crosses a string's quotes into
such bytes (``tests/test_exporter_screen.py`` checks the exporter's keys, hex ids and numbers
have no candidate, and that lines come out the same bytes either way).

:class:`LineScreen` gathers the rest (every value the span brought, encoded as it is in the
line; the line's keys once per shape of line) and runs the one scan
(:func:`~otel_jsonl.record.secret_scan.scan`) over it. No candidate there means none in the
line: the writer skips its screen. A candidate, or a value orjson will not encode, and the
writer screens the whole line as always, so redaction gives the same bytes. The messages, the
response id and the token counts are scanned on every line; the values that are the same on
most calls (model, provider, request parameters, attribute names and what moved where, the
scope) are scanned together once and remembered while they stay the same.
"""

from __future__ import annotations

from collections.abc import Callable
from operator import itemgetter
from typing import Any, NamedTuple

from ..record.secret_scan import FOLD_TABLE, scan
from ..record.secrets import accelerated

__all__ = ["LineScreen", "line_screen"]

#: Keys of a step line whose values the exporter makes from the span's numbers: hex ids
#: (``span_to_events`` formats them), times and step numbers.
_OURS = frozenset(
    ["ts", "run", "seq", "trace_id", "span_id", "parent_id", "start", "step", "duplicate_of"]
)
#: Keys whose values are the same on many lines (the model, the provider, request
#: parameters, the scope, attribute names): scanned once, remembered. The response id, the
#: token counts and the messages differ from call to call: scanned on every line.
_ALIKE = frozenset(
    ["kind", "operation", "model", "response_model", "provider", "finish_reason", "request"]
)
#: The same in ``otel``; and its keys with numbers as values.
_OTEL_OURS = frozenset(["ns", "flags", "parent_remote", "dropped"])
_OTEL_ALIKE = frozenset(["name", "kind", "attrs", "moved", "scope", "resource"])
#: Remembered pieces: at most _MEMO_MAX of them, each at most _MEMO_LEN bytes (under 2 MB).
_MEMO_LEN = 2048
_MEMO_MAX = 1024
_MAX_SHAPES = 256

#: A shape not seen yet (None is a shape seen, whose lines are screened whole).
_UNKNOWN: Any = object()

_Getter = Callable[[dict[str, Any]], tuple[Any, ...]]


def _getter(keys: list[str]) -> _Getter | None:
    """The values of ``keys`` as a tuple (one C call)."""
    if not keys:
        return None
    if len(keys) == 1:
        key = keys[0]
        return lambda d: (d[key],)
    return itemgetter(*keys)


class _Shape(NamedTuple):
    """What to scan of the lines with given keys (and ``otel`` keys): values scanned on every
    line, values remembered once clean."""

    each: _Getter | None
    alike: _Getter | None
    otel_each: _Getter | None
    otel_alike: _Getter | None


def line_screen() -> LineScreen | None:
    """A LineScreen, or None when the secret scan runs with its compiled prefilter: that scans
    the whole line in about the time the LineScreen takes to encode the span's strings."""
    return None if accelerated() else LineScreen()


class LineScreen:
    """Decides whether a step line can skip the writer's secret screen (see the module)."""

    def __init__(self) -> None:
        #: Encoded pieces seen clean lately.
        self.memo: set[bytes] = set()
        #: By the keys of a line and of its ``otel``: what to scan (None: a key itself may be
        #: where a secret is, the whole line is screened).
        self.shapes: dict[tuple[tuple[str, ...], tuple[str, ...]], _Shape | None] = {}
        self.rx = scan()[0]
        import orjson  # the exporter makes a LineScreen only when the codec uses orjson

        self._dumps = orjson.dumps

    def clean(self, event: dict[str, Any]) -> bool:
        """True when the line of ``event`` (a step line with ``otel``) holds no candidate
        for the built-in secret families; False when it may, or its shape is not known."""
        otel = event.get("otel")
        if type(otel) is not dict:
            return False  # not a span's step line as span_to_events makes them
        key = (tuple(event), tuple(otel))
        shape = self.shapes.get(key, _UNKNOWN)
        if shape is _UNKNOWN:
            shape = self._shape(key)
        if shape is None:
            return False
        dumps = self._dumps
        try:
            alike = b""
            if shape.alike is not None or shape.otel_alike is not None:
                alike = dumps(
                    (
                        shape.alike(event) if shape.alike is not None else (),
                        shape.otel_alike(otel) if shape.otel_alike is not None else (),
                    )
                )
                if alike in self.memo:
                    alike = b""
            each = dumps(
                (
                    shape.each(event) if shape.each is not None else (),
                    shape.otel_each(otel) if shape.otel_each is not None else (),
                )
            )
        except (TypeError, ValueError):
            return False  # orjson refuses it: the line took the careful path
        # Each value as the line has it, after a byte that is no letter (``[`` or ``,`` here,
        # ``:`` there); nothing the scan looks for crosses a string's quotes.
        data = each + b"\n" + alike if alike else each
        if self.rx.search(data.translate(FOLD_TABLE)) is not None:
            return False
        if alike and len(alike) <= _MEMO_LEN:
            if len(self.memo) >= _MEMO_MAX:
                self.memo.clear()
            self.memo.add(alike)
        return True

    def _shape(self, key: tuple[tuple[str, ...], tuple[str, ...]]) -> _Shape | None:
        keys, otel_keys = key
        # The keys themselves (the exporter's field names), each quoted and followed by ``:``.
        names: bytes = self._dumps([dict.fromkeys(keys, 0), dict.fromkeys(otel_keys, 0)])
        shape = None
        if self.rx.search(names.translate(FOLD_TABLE)) is None:
            shape = _Shape(
                _getter([k for k in keys if k not in _OURS and k not in _ALIKE and k != "otel"]),
                _getter([k for k in keys if k in _ALIKE]),
                _getter([k for k in otel_keys if k not in _OTEL_OURS and k not in _OTEL_ALIKE]),
                _getter([k for k in otel_keys if k in _OTEL_ALIKE]),
            )
        if len(self.shapes) >= _MAX_SHAPES:
            self.shapes.clear()
        self.shapes[key] = shape
        return shape
