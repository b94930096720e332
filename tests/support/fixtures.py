"""Pytest fixtures and context managers for the provider server and real GenAI instrumentations.

Load with `pytest_plugins = ["support.fixtures"]` in a conftest.

Instrumentors patch the `openai` module globally (one singleton per instrumentor class), so each
context manager below switches one on with the providers it is given and switches it off on exit;
none of them touches the global tracer or logger provider, which OpenTelemetry lets a process set
only once. They refuse to start when their instrumentation is already on (a leak from an earlier
test), and they set and restore the environment variables that choose content capture.
"""

from __future__ import annotations

import os
import sys
import warnings
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Literal

import anthropic
import pytest
from opentelemetry.instrumentation.instrumentor import (  # type: ignore[attr-defined]
    BaseInstrumentor,
)
from opentelemetry.sdk._logs import LoggerProvider, ReadableLogRecord
from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter, SimpleLogRecordProcessor
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from support.providers import ProviderServer

__all__ = [
    "CaptureMode",
    "MemoryTelemetry",
    "anthropic_native_tracing",
    "anthropic_server",
    "instrumented_openai_v2",
    "instrumented_openinference",
    "instrumented_openllmetry",
    "memory_telemetry",
    "openai_server",
]

CaptureMode = Literal["SPAN_ONLY", "EVENT_ONLY", "SPAN_AND_EVENT"]

_GENAI_CAPTURE = "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"
_GENAI_EMIT_EVENT = "OTEL_INSTRUMENTATION_GENAI_EMIT_EVENT"


# --- fixtures ------------------------------------------------------------------------------


@pytest.fixture
def openai_server() -> Iterator[ProviderServer]:
    """A fresh provider server with the default two-turn script; pass `.openai_base_url`."""
    with ProviderServer() as server:
        yield server


@pytest.fixture
def anthropic_server() -> Iterator[ProviderServer]:
    """A fresh provider server with the default two-turn script; pass `.anthropic_base_url`."""
    with ProviderServer() as server:
        yield server


@dataclass
class MemoryTelemetry:
    """A tracer and a logger provider that keep what they receive in memory."""

    tracer_provider: TracerProvider
    span_exporter: InMemorySpanExporter
    logger_provider: LoggerProvider
    log_exporter: InMemoryLogRecordExporter

    @classmethod
    def create(cls) -> MemoryTelemetry:
        span_exporter = InMemorySpanExporter()
        tracer_provider = TracerProvider()
        tracer_provider.add_span_processor(SimpleSpanProcessor(span_exporter))
        log_exporter = InMemoryLogRecordExporter()  # type: ignore[no-untyped-call]
        logger_provider = LoggerProvider()
        logger_provider.add_log_record_processor(SimpleLogRecordProcessor(log_exporter))
        return cls(tracer_provider, span_exporter, logger_provider, log_exporter)

    def spans(self) -> list[ReadableSpan]:
        """Finished spans, in the order they ended."""
        return list(self.span_exporter.get_finished_spans())

    def logs(self) -> list[ReadableLogRecord]:
        """Emitted log records, in order."""
        return list(self.log_exporter.get_finished_logs())

    def shutdown(self) -> None:
        self.tracer_provider.shutdown()
        self.logger_provider.shutdown()


@pytest.fixture
def memory_telemetry() -> Iterator[MemoryTelemetry]:
    """A `MemoryTelemetry` for one test, shut down after it."""
    telemetry = MemoryTelemetry.create()
    yield telemetry
    telemetry.shutdown()


# --- environment ---------------------------------------------------------------------------


@contextmanager
def _environ(values: Mapping[str, str | None]) -> Iterator[None]:
    """Set (or, for None, remove) environment variables; restore the old values on exit."""
    saved = {name: os.environ.get(name) for name in values}
    try:
        for name, value in values.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@contextmanager
def _instrumented(instrumentor: BaseInstrumentor, **kwargs: Any) -> Iterator[None]:
    if instrumentor.is_instrumented_by_opentelemetry:
        raise RuntimeError(
            f"{type(instrumentor).__module__} is already instrumented: "
            "an earlier test did not switch it off"
        )
    instrumentor.instrument(**kwargs)
    try:
        yield
    finally:
        instrumentor.uninstrument()


# --- instrumentations ----------------------------------------------------------------------


@contextmanager
def instrumented_openai_v2(
    tracer_provider: TracerProvider,
    logger_provider: LoggerProvider | None = None,
    capture: CaptureMode | None = "SPAN_ONLY",
) -> Iterator[None]:
    """The official `opentelemetry-instrumentation-openai-v2`, on for the `with` block.

    On: `OpenAIInstrumentor().instrument(tracer_provider=..., logger_provider=...)`; off:
    `.uninstrument()`, which unwraps cleanly. Content capture is read on every call from
    `OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT`: `SPAN_ONLY` puts the messages on the
    span, `EVENT_ONLY` in one log record per call (to `logger_provider`), `SPAN_AND_EVENT` both,
    None captures no content. The variable is set for the block and restored after it.
    """
    from opentelemetry.instrumentation.openai_v2 import OpenAIInstrumentor

    with (
        _environ({_GENAI_CAPTURE: capture, _GENAI_EMIT_EVENT: None}),
        _instrumented(
            OpenAIInstrumentor(),  # type: ignore[no-untyped-call]
            tracer_provider=tracer_provider,
            logger_provider=logger_provider,
        ),
    ):
        yield


@contextmanager
def instrumented_openinference(
    tracer_provider: TracerProvider,
    *,
    hide_inputs: bool = False,
    hide_outputs: bool = False,
) -> Iterator[None]:
    """OpenInference's `openinference-instrumentation-openai`, on for the `with` block.

    On: `OpenAIInstrumentor().instrument(tracer_provider=...)`; off: `.uninstrument()`, which
    restores `OpenAI.request` cleanly. Content is captured by default; `hide_inputs` /
    `hide_outputs` set `OPENINFERENCE_HIDE_INPUTS` / `_OUTPUTS` (read when instrumenting).
    """
    from openinference.instrumentation.openai import OpenAIInstrumentor

    env = {
        "OPENINFERENCE_HIDE_INPUTS": "true" if hide_inputs else None,
        "OPENINFERENCE_HIDE_OUTPUTS": "true" if hide_outputs else None,
    }
    with _environ(env), _instrumented(OpenAIInstrumentor(), tracer_provider=tracer_provider):
        yield


_OPENLLMETRY_MODULE = "opentelemetry.instrumentation.openai."


def _unwrap_openllmetry() -> int:
    """Remove OpenLLMetry's wrappers from the loaded `openai` classes; return how many.

    OpenLLMetry's `uninstrument()` (0.62) calls `unwrap("openai.resources.chat.completions",
    "Completions.create")`, a dotted attribute that `unwrap` does not resolve, so every wrapper
    stays. Only outermost wrappers can be removed: exit nested instrumentations in reverse order.
    """
    import wrapt

    removed = 0
    for name, module in list(sys.modules.items()):
        if module is None or not (name == "openai" or name.startswith("openai.")):
            continue
        for cls in list(vars(module).values()):
            if not (isinstance(cls, type) and cls.__module__ == name):
                continue
            for attribute, value in list(vars(cls).items()):
                while isinstance(value, wrapt.FunctionWrapper) and str(
                    getattr(value._self_wrapper, "__module__", "")
                ).startswith(_OPENLLMETRY_MODULE):
                    value = value.__wrapped__
                    setattr(cls, attribute, value)
                    removed += 1
    return removed


@contextmanager
def instrumented_openllmetry(
    tracer_provider: TracerProvider,
    logger_provider: LoggerProvider | None = None,
    *,
    content: bool = True,
    use_attributes: bool = True,
) -> Iterator[None]:
    """OpenLLMetry's (Traceloop) `opentelemetry-instrumentation-openai`, on for the `with` block.

    On: `OpenAIInstrumentor(use_attributes=...).instrument(tracer_provider=...)`. Off: its
    `uninstrument()` leaves every wrapper in place (see `_unwrap_openllmetry`), so this also
    removes them itself; a test checks that no span follows. Content is on by default;
    `content=False` sets `TRACELOOP_TRACE_CONTENT=false` (read on every call).
    `use_attributes=False` moves content to log records sent to `logger_provider`.
    Its first `instrument()` imports a module that raises pydantic's class-based `config`
    deprecation warning; it is ignored here so that `filterwarnings = error` does not fail.
    """
    from opentelemetry.instrumentation.openai import OpenAIInstrumentor

    instrumentor = OpenAIInstrumentor(use_attributes=use_attributes)
    env = {"TRACELOOP_TRACE_CONTENT": None if content else "false"}
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Support for class-based `config` is deprecated")
        # Importing here (not at module import) keeps the warning filter local.
        import opentelemetry.instrumentation.openai.v1  # noqa: F401
    try:
        with (
            _environ(env),
            _instrumented(
                instrumentor, tracer_provider=tracer_provider, logger_provider=logger_provider
            ),
        ):
            yield
    finally:
        _unwrap_openllmetry()


@contextmanager
def anthropic_native_tracing(
    tracer_provider: TracerProvider, *, content: bool = True
) -> Iterator[anthropic.OpenTelemetryOptions]:
    """The Anthropic SDK's own spans, as the client option to pass to `run_anthropic_loop`.

    Nothing global is patched: the SDK traces each client that has a tracer provider, its own
    (`open_telemetry={"tracer_provider": ...}`) or the global one. Yields that option, with
    `content_mode="content"` when `content` (the option overrides every
    `ANTHROPIC_OPEN_TELEMETRY*` variable). A client built without the option, in a process where
    some test set the global tracer provider, traces into it: pass `open_telemetry=False` then.
    """
    traces: anthropic.OpenTelemetryTraces = {"enabled": True}
    if content:
        traces["content_mode"] = "content"
    yield {"tracer_provider": tracer_provider, "traces": traces}
