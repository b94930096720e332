"""JSON-string attributes: parse them (fast, and forgiving where orjson is strict), and find
the encoding style that reproduces one byte for byte, so an attribute may be stored parsed on a
line and come back as the very same string. Pure functions."""

from __future__ import annotations

import json
from typing import Any

from ..record import codec as _codec

__all__ = ["JSON_STYLES", "exact_json_style", "loads", "parse_json"]

#: JSON encodings a JSON-string attribute may have been written with (codec name -> dumps
#: options). "json" is compact (util-genai, the Anthropic SDK); "json/s" is ``json.dumps``'s
#: default spacing (OpenLLMetry, OpenInference); "/a" variants escape non-ASCII. A fifth
#: codec, "json/o", is the compact form as orjson writes it (checked first when installed).
JSON_STYLES: dict[str, dict[str, Any]] = {
    "json": {"separators": (",", ":"), "ensure_ascii": False},
    "json/a": {"separators": (",", ":"), "ensure_ascii": True},
    "json/s": {"separators": (", ", ": "), "ensure_ascii": False},
    "json/sa": {"separators": (", ", ": "), "ensure_ascii": True},
}


def loads(raw: str) -> Any:
    """Parse JSON text: orjson when it can (fast), the stdlib for what orjson refuses
    (NaN literals, integers over 64 bits); ValueError when it is not JSON."""
    if _codec.HAVE_ORJSON:
        try:
            return _codec.loads(raw)
        except ValueError:
            pass
    return json.loads(raw)


def parse_json(raw: Any) -> Any:
    if not isinstance(raw, str):
        return raw
    try:
        return loads(raw)
    except ValueError:
        return raw


def exact_json_style(raw: str, parsed: Any) -> str | None:
    """The :data:`JSON_STYLES` codec that re-encodes ``parsed`` to ``raw`` exactly, or None.

    With orjson installed the compact style is checked with orjson first (twenty times faster
    than the stdlib encoder) and recorded as ``json/o``; the stdlib styles are tried after.
    """
    if _codec.HAVE_ORJSON:
        try:
            if _codec.dumps(parsed) == raw.encode("utf-8"):
                return "json/o"
        except UnicodeEncodeError:
            return None
    for name, encode in _ENCODERS.items():
        try:
            if encode(parsed) == raw:
                return name
        except (ValueError, TypeError):
            return None
    return None


# One encoder per style, built once (json.dumps with options builds one per call).
_ENCODERS = {
    name: json.JSONEncoder(allow_nan=False, **options).encode
    for name, options in JSON_STYLES.items()
}
