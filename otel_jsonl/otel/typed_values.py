"""OTel attribute values as JSON values with their types kept (see :mod:`.mapping`): strings,
booleans, integers and finite floats as they are, arrays as arrays (read back as tuples, as the
SDK stores them), and one-key objects for what JSON cannot hold: ``{"float": "NaN" |
"Infinity" | "-Infinity"}``, ``{"bytes": "<base64>"}``, ``{"map": {...}}``."""

from __future__ import annotations

import base64
import math
from collections.abc import Mapping, Sequence
from typing import Any

from opentelemetry.util.types import Attributes

__all__ = ["decode_attrs", "encode_attrs"]

_NONFINITE = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}


def _encode_value(value: Any) -> Any:
    t = type(value)
    if t is str or t is int or t is bool:
        return value
    if t is tuple:
        for v in value:
            if type(v) is not str:
                return [_encode_value(v) for v in value]
        return list(value)  # strings (finish reasons, most arrays): as they are
    if isinstance(value, float) and not math.isfinite(value):
        return {"float": "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")}
    if isinstance(value, (str, bool, int, float)) or value is None:
        return value
    if isinstance(value, (bytes, bytearray)):
        return {"bytes": base64.b64encode(bytes(value)).decode("ascii")}
    if isinstance(value, Mapping):
        return {"map": {str(k): _encode_value(v) for k, v in value.items()}}
    if isinstance(value, Sequence):
        return [_encode_value(v) for v in value]
    return str(value)


def _decode_value(value: Any) -> Any:
    if isinstance(value, list):
        return tuple(_decode_value(v) for v in value)
    if isinstance(value, dict) and len(value) == 1:
        if "float" in value:
            return _NONFINITE.get(value["float"], math.nan)
        if "bytes" in value:
            return base64.b64decode(value["bytes"])
        if "map" in value and isinstance(value["map"], dict):
            return {k: _decode_value(v) for k, v in value["map"].items()}
    return value


def encode_attrs(attrs: Attributes | Mapping[str, Any] | None) -> dict[str, Any]:
    """OTel attributes as JSON values, types kept (see the module docstring)."""
    if not attrs:
        return {}
    # A loop, not a comprehension calling _encode_value for each: most values are strings,
    # integers or booleans, kept as they are without a call.
    out: dict[str, Any] = {}
    for k, v in attrs.items():
        t = type(v)
        out[k] = v if t is str or t is int or t is bool else _encode_value(v)
    return out


def decode_attrs(attrs: Mapping[str, Any] | None) -> dict[str, Any]:
    """The inverse of :func:`encode_attrs` (arrays come back as tuples)."""
    if not attrs:
        return {}
    return {k: _decode_value(v) for k, v in attrs.items()}
