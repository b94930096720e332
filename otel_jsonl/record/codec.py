"""JSON encoding and decoding for event lines: orjson when installed, the stdlib otherwise.

Both paths produce the same text for JSON-native values: compact separators, UTF-8, no ASCII
escaping. Non-finite floats, which JSON cannot hold, are written as the strings ``"NaN"``,
``"Infinity"`` and ``"-Infinity"`` (the proto3 JSON spelling OTLP uses too), so a NaN stays
visible instead of turning into ``null``. Values JSON cannot hold are converted by
:func:`jsonable`, never rejected.
"""

from __future__ import annotations

import os

TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover - typing is not imported at run time (start-up cost)
    from typing import Any

    #: True when orjson is installed (and not switched off with ``OTEL_JSONL_NO_ORJSON``).
    HAVE_ORJSON: bool

    def dumps(value: Any) -> bytes:
        """Encode ``value`` as compact UTF-8 JSON."""

    def dumps_line(value: Any) -> bytes:
        """Encode ``value`` as one JSON line, newline included."""

    def dumps_decoded_line(value: Any) -> bytes:
        """:func:`dumps_line` for a value decoded from a line this codec wrote (JSON-native,
        no non-finite floats), skipping the search for them."""

    def loads(data: bytes | bytearray | memoryview | str) -> Any:
        """Decode one JSON document."""

else:

    def __getattr__(name: str) -> object:
        # ``dumps``, ``dumps_line``, ``loads`` and ``HAVE_ORJSON`` are made on first use:
        # importing orjson imports uuid, dataclasses, inspect, datetime and json (about 10 ms,
        # more than the rest of the recorder), which the first step pays instead of the import.
        if name in ("dumps", "dumps_line", "dumps_decoded_line", "loads", "HAVE_ORJSON"):
            _load()
            return globals()[name]
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["HAVE_ORJSON", "dumps", "dumps_decoded_line", "dumps_line", "jsonable", "loads"]
__all__ += ["orjson_module"]


def orjson_module() -> Any:
    """The orjson module this codec encodes with, or None (not installed, or switched off with
    ``OTEL_JSONL_NO_ORJSON``): for the modules that may not import orjson themselves but can
    use it where its bytes are known to be the same."""
    _load()
    return _orjson


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
    # The modules below are imported here, on the first value that needs them: most lines
    # hold JSON-native values only, and start-up stays small.
    import dataclasses
    import datetime
    import enum
    import uuid
    from collections.abc import Mapping
    from pathlib import PurePath

    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    if isinstance(value, (datetime.datetime, datetime.date, datetime.time)):
        return value.isoformat()
    if isinstance(value, (bytes, bytearray, memoryview)):
        raw = bytes(value)
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            import base64

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
        return value if value - value == 0.0 else _nonfinite_name(value)
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


def _default(obj: Any) -> Any:
    return jsonable(obj)


def _encoders() -> tuple[Any, Any]:
    """The careful encoders (non-finite floats refused, and allowed), built on first need:
    ``json`` imports ``re``, which a recorder with orjson never needs."""
    global _ENCODERS
    if _ENCODERS is None:
        import json

        _ENCODERS = (
            json.JSONEncoder(
                ensure_ascii=False, separators=(",", ":"), allow_nan=False, default=_default
            ),
            json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), default=_default),
        )
    return _ENCODERS


_ENCODERS: tuple[Any, Any] | None = None

# The C encoder behind json.JSONEncoder, built once from ``_json`` (the ``json`` package, which
# imports ``re``, is not needed for it): JSONEncoder.encode() builds a new one on every call,
# which is half the cost of a small line. No circular-reference markers here; a cycle ends in
# RecursionError and takes the careful path below, which reports it as before.
_C_ENCODE: Any = None


def _c_encoder() -> Any:
    """The C encoder, made on first use of the standard-library path."""
    global _C_ENCODE
    try:
        from _json import encode_basestring, make_encoder
    except ImportError:  # pragma: no cover - CPython has it
        return None
    _C_ENCODE = make_encoder(None, _default, encode_basestring, None, ":", ",", False, False, False)
    return _C_ENCODE


def _dumps_std(value: Any) -> bytes:
    encode = _C_ENCODE or _c_encoder()
    if encode is not None:
        try:
            return "".join(encode(value, 0)).encode("utf-8")
        except (ValueError, TypeError, RecursionError, UnicodeEncodeError):
            pass  # non-finite floats, odd keys, cycles, lone surrogates: the careful path
    strict, lenient = _encoders()
    text: str
    try:
        text = strict.encode(value)
    except ValueError:
        # Non-finite floats, or a circular reference: sanitise and try once more.
        text = lenient.encode(_finite(value))
    except TypeError:
        # Non-string dict keys of a type json refuses (tuples, ...).
        text = strict.encode(_stringify_keys(value))
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


def _load() -> None:
    """Pick the encoder: orjson when it is installed (an accelerator: every feature works
    without it), else the standard library; bind ``dumps``, ``dumps_line``, ``loads``."""
    global _orjson, _orjson_dumps, _JSONEncodeError, _NEWLINE
    global _OPTS, _OPTS_LINE, _OPTS_FAST, _OPTS_FAST_LINE
    g = globals()
    if "HAVE_ORJSON" in g:
        return
    try:
        if os.environ.get("OTEL_JSONL_NO_ORJSON"):
            raise ImportError("disabled by OTEL_JSONL_NO_ORJSON")
        import orjson
    except ImportError:
        import json

        g.update(dumps=_dumps_std, dumps_line=_dumps_std_line, loads=json.loads)
        g["dumps_decoded_line"] = _dumps_std_line
        g["HAVE_ORJSON"] = False
        return
    _orjson = orjson
    _orjson_dumps = orjson.dumps
    _JSONEncodeError = orjson.JSONEncodeError
    _NEWLINE = orjson.OPT_APPEND_NEWLINE
    # Tried first without OPT_NON_STR_KEYS, which makes every dict slower (measured: a third
    # of a small line's encoding); a dict with a key that is not a string fails fast and is
    # encoded again with it, giving the same text.
    _OPTS_FAST = orjson.OPT_SERIALIZE_NUMPY
    _OPTS_FAST_LINE = _OPTS_FAST | orjson.OPT_APPEND_NEWLINE
    _OPTS = _OPTS_FAST | orjson.OPT_NON_STR_KEYS
    _OPTS_LINE = _OPTS | orjson.OPT_APPEND_NEWLINE
    g.update(dumps=_orjson_dumps_value, dumps_line=_orjson_dumps_line, loads=orjson.loads)
    g["dumps_decoded_line"] = _orjson_dumps_decoded_line
    g["HAVE_ORJSON"] = True


def _dumps_std_line(value: Any) -> bytes:
    encode = _C_ENCODE or _c_encoder()
    if encode is not None:
        try:
            # The newline joined in before encoding: one copy of the line fewer.
            return "".join((*encode(value, 0), "\n")).encode("utf-8")
        except (ValueError, TypeError, RecursionError, UnicodeEncodeError):
            pass  # the careful path, as in _dumps_std
    return _dumps_std(value) + b"\n"


_orjson: Any = None
_orjson_dumps: Any = None
_JSONEncodeError: Any = None
_NEWLINE = 0
_OPTS = _OPTS_LINE = _OPTS_FAST = _OPTS_FAST_LINE = 0


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


def _dumps_careful(value: Any, option: int) -> bytes:
    try:
        out: bytes = _orjson_dumps(value, default=jsonable, option=option)
    except _JSONEncodeError:
        # Integers over 64 bits, lone surrogates, deep recursion: the stdlib copes.
        out = _dumps_std(value)
        return out + b"\n" if option & _NEWLINE else out
    if out.rfind(b"null") >= 0 and _has_nonfinite(value):
        out = _dumps_std(value)
        return out + b"\n" if option & _NEWLINE else out
    return out


def _orjson_dumps_value(value: Any) -> bytes:
    """Encode ``value`` as compact UTF-8 JSON."""
    try:
        out: bytes = _orjson_dumps(value, default=jsonable, option=_OPTS_FAST)
    except _JSONEncodeError:
        return _dumps_careful(value, _OPTS)
    if out.rfind(b"null") >= 0 and _has_nonfinite(value):
        return _dumps_std(value)
    return out


def _orjson_dumps_line(value: Any) -> bytes:
    """Encode ``value`` as one JSON line, newline included."""
    try:
        out: bytes = _orjson_dumps(value, default=jsonable, option=_OPTS_FAST_LINE)
    except _JSONEncodeError:
        return _dumps_careful(value, _OPTS_LINE)
    if len(out) > _FLAT_FIRST and type(value) is dict and _flat_and_finite(value):
        return out
    if out.rfind(b"null") >= 0 and _has_nonfinite(value):
        return _dumps_std(value) + b"\n"
    return out


#: Lines longer than this are first checked for a flat, finite event: the search for ``null``
#: costs about 0.5 ns a byte (2 us on a 4 KB line, four times the encoding), a look at a flat
#: event's few values a fraction of that.
_FLAT_FIRST = 1024


def _flat_and_finite(value: dict[Any, Any]) -> bool:
    """True when every value of ``value`` is a string, an int, a bool, None or a finite float
    (then no ``null`` in its line can hide a NaN); False as soon as one is anything else."""
    for v in value.values():
        t = type(v)
        if t is str or t is int or v is None or t is bool:
            continue
        if t is not float or v - v != 0.0:
            return False
    return True


def _orjson_dumps_decoded_line(value: Any) -> bytes:
    try:
        out: bytes = _orjson_dumps(value, option=_OPTS_FAST_LINE)
    except _JSONEncodeError:
        return _orjson_dumps_line(value)
    return out
