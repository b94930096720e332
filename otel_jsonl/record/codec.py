"""JSON encoding and decoding for event lines: orjson when installed, the stdlib otherwise.

Both paths produce the same text for JSON-native values: compact separators, UTF-8, no ASCII
escaping. Non-finite floats, which JSON cannot hold, are written as the strings ``"NaN"``,
``"Infinity"`` and ``"-Infinity"`` (the proto3 JSON spelling OTLP uses too), so a NaN stays
visible instead of turning into ``null``. Values JSON cannot hold are converted by
:func:`jsonable`, never rejected.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime
import enum
import json
import math
import os
import uuid
from collections.abc import Mapping
from pathlib import PurePath
from typing import Any

_orjson: Any
try:  # orjson is an accelerator: every feature works without it.
    if os.environ.get("OTEL_JSONL_NO_ORJSON"):
        raise ImportError("disabled by OTEL_JSONL_NO_ORJSON")
    import orjson as _orjson
except ImportError:
    _orjson = None

HAVE_ORJSON = _orjson is not None

__all__ = ["HAVE_ORJSON", "dumps", "dumps_line", "jsonable", "loads"]


def jsonable(value: Any) -> Any:
    """Return a JSON-native stand-in for a value JSON cannot hold.

    pydantic models give ``model_dump(mode="json")``, dataclasses ``asdict``, dates
    ``isoformat()``, bytes their UTF-8 text (or ``base64:...`` when not UTF-8), sets and tuples
    lists, enums their value, and anything else its ``repr``.
    """
    dump = getattr(value, "model_dump", None)
    if callable(dump):
        try:
            return dump(mode="json")
        except Exception:  # broad: a broken model_dump must not break recording
            return repr(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    if isinstance(value, (datetime.datetime, datetime.date, datetime.time)):
        return value.isoformat()
    if isinstance(value, (bytes, bytearray, memoryview)):
        raw = bytes(value)
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            return "base64:" + base64.b64encode(raw).decode("ascii")
    if isinstance(value, (set, frozenset)):
        return sorted(value, key=repr)
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, (uuid.UUID, PurePath)):
        return str(value)
    if isinstance(value, Mapping):
        return {str(k): v for k, v in value.items()}
    to_dict = getattr(value, "to_dict", None)
    if callable(to_dict):
        try:
            return to_dict()
        except Exception:  # broad: same as model_dump above
            return repr(value)
    return repr(value)


def _nonfinite_name(value: float) -> str:
    return "NaN" if value != value else ("Infinity" if value > 0 else "-Infinity")


def _finite(value: Any) -> Any:
    """Copy of ``value`` with non-finite floats spelled as strings (``"NaN"``, ...)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else _nonfinite_name(value)
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


def _default(obj: Any) -> Any:
    return jsonable(obj)


# One encoder, built once: json.dumps() with non-default options builds a new one per call.
_ENCODER = json.JSONEncoder(
    ensure_ascii=False, separators=(",", ":"), allow_nan=False, default=_default
)
_ENCODER_NAN = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), default=_default)

# The C encoder behind _ENCODER, built once: JSONEncoder.encode() builds a new one on every
# call, which is half the cost of a small line. No circular-reference markers here; a cycle
# ends in RecursionError and takes the slow path below, which reports it as before.
_C_ENCODE: Any = None
_make_encoder: Any = getattr(json.encoder, "c_make_encoder", None)
if _make_encoder is not None:  # pragma: no branch - CPython has it
    _C_ENCODE = _make_encoder(
        None, _default, json.encoder.encode_basestring, None, ":", ",", False, False, False
    )


def _dumps_std(value: Any) -> bytes:
    if _C_ENCODE is not None:
        try:
            text = "".join(_C_ENCODE(value, 0))
            return text.encode("utf-8")
        except (ValueError, TypeError, RecursionError, UnicodeEncodeError):
            pass  # non-finite floats, odd keys, cycles, lone surrogates: the careful path
    try:
        text = _ENCODER.encode(value)
    except ValueError:
        # Non-finite floats, or a circular reference: sanitise and try once more.
        text = _ENCODER_NAN.encode(_finite(value))
    except TypeError:
        # Non-string dict keys of a type json refuses (tuples, ...).
        text = _ENCODER.encode(_stringify_keys(value))
    # Lone surrogates cannot be UTF-8: replace rather than fail.
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-8", "replace")


def _stringify_keys(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _stringify_keys(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_stringify_keys(v) for v in value]
    return value


if _orjson is not None:
    _OPTS = _orjson.OPT_NON_STR_KEYS | _orjson.OPT_SERIALIZE_NUMPY
    _OPTS_LINE = _OPTS | _orjson.OPT_APPEND_NEWLINE
    _orjson_dumps = _orjson.dumps
    _JSONEncodeError = _orjson.JSONEncodeError

    def _has_nonfinite(value: Any) -> bool:
        # orjson writes NaN and Infinity as null, so only a line with a null can hide one
        # (found with rfind: twice as quick as ``in`` on these lines, measured);
        # an iterative walk finds it (about 2 us on a typical step). Objects orjson would
        # hand to ``jsonable`` are walked in the form it gives them.
        stack = [value]
        pop, push, extend = stack.pop, stack.append, stack.extend
        budget = 1_000_000  # orjson already refused anything deeper or circular
        while stack and budget:
            budget -= 1
            v = pop()
            t = type(v)
            if t is str or t is int or v is None or t is bool:
                continue
            if t is float or isinstance(v, float):
                if v - v != 0.0:  # NaN - NaN and inf - inf are NaN
                    return True
            elif t is dict:
                extend(v.values())
            elif t is list or t is tuple:
                extend(v)
            elif not isinstance(v, (str, int)):
                push(jsonable(v))
        return False

    def dumps(value: Any) -> bytes:
        """Encode ``value`` as compact UTF-8 JSON."""
        try:
            out: bytes = _orjson_dumps(value, default=jsonable, option=_OPTS)
        except _JSONEncodeError:
            # Integers over 64 bits, lone surrogates, deep recursion: the stdlib copes.
            return _dumps_std(value)
        if out.rfind(b"null") >= 0 and _has_nonfinite(value):
            return _dumps_std(value)
        return out

    def dumps_line(value: Any) -> bytes:
        """Encode ``value`` as one JSON line, newline included."""
        try:
            out: bytes = _orjson_dumps(value, default=jsonable, option=_OPTS_LINE)
        except _JSONEncodeError:
            return _dumps_std(value) + b"\n"
        if out.rfind(b"null") >= 0 and _has_nonfinite(value):
            return _dumps_std(value) + b"\n"
        return out

    loads = _orjson.loads

else:

    def dumps(value: Any) -> bytes:
        """Encode ``value`` as compact UTF-8 JSON."""
        return _dumps_std(value)

    def dumps_line(value: Any) -> bytes:
        """Encode ``value`` as one JSON line, newline included."""
        return _dumps_std(value) + b"\n"

    loads = json.loads
