"""Tests for otel_jsonl.analyze.pricing: price lookup, cost, and user price files."""

from __future__ import annotations

from pathlib import Path

import pytest

from otel_jsonl.analyze.pricing import PRICES, cost_of, load_prices, price_for


def test_pricing_lookup(tmp_path: Path) -> None:
    """Exact name, then longest prefix; an unknown model has no price and no cost."""
    assert price_for("gpt-4o-mini-2024-07-18") == price_for("gpt-4o-mini")
    assert price_for("gpt-4o-2024") == price_for("gpt-4o")
    assert price_for("unknown") is None and cost_of("unknown", 10, 10) is None
    path = tmp_path / "p.json"
    path.write_text('{"m": {"input": 1, "output": 2}}')
    assert load_prices(path)["m"] == {"input": 1.0, "output": 2.0}


def test_cost_is_per_million_tokens() -> None:
    """Cost is input and output tokens times their price per million."""
    price = PRICES["gpt-4o-mini"]
    expected = (1_000_000 * price["input"] + 500_000 * price["output"]) / 1e6
    assert cost_of("gpt-4o-mini", 1_000_000, 500_000) == pytest.approx(expected)
    assert cost_of(None, 10, 10) is None


@pytest.mark.parametrize(
    "text",
    ['{"m": {"input": "x", "output": 1}}', '["not", "an", "object"]', '{"m": 3}', "not json"],
)
def test_bad_price_files_are_refused(tmp_path: Path, text: str) -> None:
    """A price file that is not a mapping of model to numeric prices is a ValueError."""
    path = tmp_path / "p.json"
    path.write_text(text)
    with pytest.raises(ValueError):
        load_prices(path)
