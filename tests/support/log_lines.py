"""A hypothesis strategy for ``log`` lines in the shape the log exporter writes them."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import strategies as st

__all__ = ["log_lines"]

_text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=12)
_scalar = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**63), 2**63 - 1),
    st.floats(allow_nan=False, allow_infinity=False),
    _text,
)
_key = _text.filter(lambda k: not k.startswith("gen_ai"))
_body = st.recursive(
    _scalar,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_key, inner, max_size=3),
    max_leaves=8,
)
_attr = st.one_of(
    st.booleans(),
    st.integers(-(2**63), 2**63 - 1),
    st.floats(allow_nan=False, allow_infinity=False),
    _text,
    st.lists(_text, max_size=3),
)
_message = st.builds(
    lambda role, text: {"role": role, "parts": [{"type": "text", "content": text}]},
    st.sampled_from(["user", "system", "assistant"]),
    _text,
)


@st.composite
def log_lines(draw: st.DrawFn) -> dict[str, Any]:
    """``log`` lines in the shape the log exporter writes them."""
    trace = draw(st.none() | st.text("0123456789abcdef", min_size=32, max_size=32))
    # The exporter writes ts = ns / 1e9 (not every float second is such a value).
    ts = draw(st.integers(1_600_000_000 * 10**9, 1_900_000_000 * 10**9)) / 1e9
    line: dict[str, Any] = {"ts": ts, "run": trace or "logs", "kind": "log"}
    if trace and trace != "0" * 32:
        line["trace_id"] = trace
        line["span_id"] = draw(st.text("0123456789abcdef", min_size=16, max_size=16))
        if line["span_id"] == "0" * 16:
            line["span_id"] = "1" * 16
    elif trace:
        line["run"] = "logs"
    event = draw(st.sampled_from([None, "gen_ai.client.inference.operation.details", "app.x"]))
    line["event"] = event
    body = draw(_body)
    if body is not None:
        line["body"] = body
    severity = draw(st.sampled_from([None, "INFO", "WARN", "custom"]))
    if severity:
        line["severity"] = severity
    attrs = draw(st.dictionaries(_key, _attr, max_size=3))
    if attrs:
        line["attrs"] = attrs
    if event == "gen_ai.client.inference.operation.details":
        line["input"] = draw(st.lists(_message, min_size=1, max_size=2))
        if draw(st.booleans()):
            line["output"] = draw(st.lists(_message, min_size=1, max_size=1))
    return json.loads(json.dumps(line))
