"""Tests for otel_jsonl.record.codec: the JSON codec of the write side (orjson when installed,
the standard library otherwise, the same bytes either way)."""

from __future__ import annotations

import dataclasses
import datetime
import enum
import json
import math
import uuid
from pathlib import PurePosixPath
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from otel_jsonl.record import codec


class Colour(enum.Enum):
    RED = "red"


@dataclasses.dataclass
class Point:
    x: int
    y: int


@pytest.mark.parametrize(
    ("value", "native"),
    [
        (Point(1, 2), {"x": 1, "y": 2}),
        (datetime.date(2026, 11, 30), "2026-11-30"),
        (b"hi", "hi"),
        (b"\xff", "base64:/w=="),
        ({3, 1, 2}, [1, 2, 3]),
        (Colour.RED, "red"),
        (uuid.UUID(int=1), "00000000-0000-0000-0000-000000000001"),
        (PurePosixPath("a/b"), "a/b"),
        (object, repr(object)),
    ],
)
def test_jsonable_gives_a_native_stand_in(value: Any, native: Any) -> None:
    """Values JSON cannot hold get a documented JSON-native stand-in."""
    assert codec.jsonable(value) == native


def test_lines_are_compact_utf8_with_one_newline() -> None:
    """A line is compact JSON, UTF-8 (not escaped), ending in exactly one newline."""
    line = codec.dumps_line({"a": "é", "b": [1, 2]})
    assert line == '{"a":"é","b":[1,2]}\n'.encode()


def test_non_finite_floats_never_make_invalid_json() -> None:
    """NaN and infinities are written as the strings proto3 JSON uses, never as the
    non-standard NaN/Infinity literals and never silently as null."""
    line = codec.dumps_line({"x": math.nan, "y": [math.inf, -math.inf], "z": None})
    assert json.loads(line, parse_constant=lambda c: pytest.fail(f"literal {c}")) == {
        "x": "NaN",
        "y": ["Infinity", "-Infinity"],
        "z": None,
    }


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**63 - 1)
    | st.text()
    | st.floats(allow_nan=False, allow_infinity=False),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)


@given(json_values)
def test_round_trip_of_json_values(value: Any) -> None:
    """Any JSON value encodes to one line and decodes back equal."""
    line = codec.dumps_line({"v": value})
    assert line.count(b"\n") == 1 and line.endswith(b"\n")
    assert codec.loads(line) == {"v": value}


@pytest.mark.parametrize(
    "event",
    [
        {"v": math.nan, "text": "x" * 2000},
        {"text": "x" * 2000, "v": [1.0, -math.inf]},
        {"text": "x" * 2000, "deep": {"a": [{"b": math.inf}]}},
        {"text": "x" * 2000, "none": None, "v": 1.5},
    ],
    ids=["flat-nan", "nested-inf", "deep-inf", "flat-null"],
)
def test_long_lines_spell_non_finite_floats_as_strings(event: dict[str, Any]) -> None:
    """A line over 1 KB (checked by its values, not searched for ``null``) still spells NaN
    and the infinities as strings, and keeps a real None as null."""
    line = codec.dumps_line(event)
    assert json.loads(line) == json.loads(codec._dumps_std(event))
    assert (b"null" in line) == ("none" in event)
