"""Shared fixtures: loopback provider servers, instrumentation helpers, and Phoenix."""

from hypothesis import settings

pytest_plugins = ["support.fixtures", "support.phoenix", "support.browser"]

# Tests never assert on time: hypothesis's per-example deadline (200 ms) is one such assertion,
# and it fails on a busy machine. Every property runs without it.
settings.register_profile("otel-jsonl", deadline=None)
settings.load_profile("otel-jsonl")
