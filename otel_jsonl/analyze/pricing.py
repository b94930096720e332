"""Model prices for ``otel-jsonl stats``: USD per million input and output tokens.

:data:`PRICES` is a small, dated table of list prices for a few current models; it is an
estimate, not a bill (no batch or cached-token discounts). Override or extend it with a JSON
file (``stats --prices FILE.json``) of the same shape::

    {"my-model": {"input": 1.5, "output": 6.0}}

A model is looked up by its exact name, then by the longest table key it starts with (so
``gpt-4o-mini-2024-07-18`` finds ``gpt-4o-mini``). An unknown model has no price: its cost is
None (shown as ``?``), never guessed. Standard library only.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from typing import Any, TypedDict

__all__ = ["PRICES", "PRICES_AS_OF", "Price", "cost_of", "load_prices", "price_for"]


class Price(TypedDict):
    """USD per million tokens."""

    input: float
    output: float


PRICES_AS_OF = "2026-06"

#: USD per million tokens (list prices as of :data:`PRICES_AS_OF`).
PRICES: dict[str, Price] = {
    "gpt-4o": {"input": 2.50, "output": 10.00},
    "gpt-4o-mini": {"input": 0.15, "output": 0.60},
    "gpt-4.1": {"input": 2.00, "output": 8.00},
    "gpt-4.1-mini": {"input": 0.40, "output": 1.60},
    "gpt-5": {"input": 1.25, "output": 10.00},
    "gpt-5-mini": {"input": 0.25, "output": 2.00},
    "claude-sonnet-4-5": {"input": 3.00, "output": 15.00},
    "claude-sonnet-4-6": {"input": 3.00, "output": 15.00},
    "claude-opus-4-1": {"input": 15.00, "output": 75.00},
    "claude-haiku-4-5": {"input": 1.00, "output": 5.00},
    "gemini-2.5-pro": {"input": 1.25, "output": 10.00},
    "gemini-2.5-flash": {"input": 0.30, "output": 2.50},
}


def load_prices(
    path: str | os.PathLike[str], base: Mapping[str, Price] = PRICES
) -> dict[str, Price]:
    """``base`` updated with the prices in the JSON file at ``path``; raises ValueError
    (with the file and model) on a malformed file."""
    with open(path, encoding="utf-8") as f:
        try:
            raw: Any = json.load(f)
        except ValueError as exc:
            raise ValueError(f"{path}: not valid JSON ({exc})") from None
    if not isinstance(raw, dict):
        raise ValueError(f"{path}: expected an object of model -> {{input, output}}")
    out = dict(base)
    for model, entry in raw.items():
        ok = isinstance(entry, dict) and all(
            isinstance(entry.get(k), (int, float)) and not isinstance(entry.get(k), bool)
            for k in ("input", "output")
        )
        if not ok:
            raise ValueError(f"{path}: {model}: expected {{'input': number, 'output': number}}")
        out[str(model)] = {"input": float(entry["input"]), "output": float(entry["output"])}
    return out


def price_for(model: str | None, prices: Mapping[str, Price] = PRICES) -> Price | None:
    """The price of ``model``: exact name, else the longest key it starts with, else None."""
    if not model:
        return None
    if model in prices:
        return prices[model]
    best = max((k for k in prices if model.startswith(k)), key=len, default=None)
    return prices[best] if best is not None else None


def cost_of(
    model: str | None,
    input_tokens: int,
    output_tokens: int,
    prices: Mapping[str, Price] = PRICES,
) -> float | None:
    """Estimated USD cost of a call, or None when the model has no price."""
    price = price_for(model, prices)
    if price is None:
        return None
    return (input_tokens * price["input"] + output_tokens * price["output"]) / 1_000_000
