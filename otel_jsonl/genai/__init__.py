"""The GenAI vocabulary, in one place: every attribute name of the semantic conventions and the
vendor forms (OpenInference, OpenLLMetry, Anthropic native, the older per-message events), the
message forms and their conversions, span attributes to step fields and step fields to span
attributes, and the joining of content carried by log records. Pure functions, no I/O.

Modules: ``names`` (the names), ``messages`` (message forms), ``jsontext`` (JSON-string
attributes), ``content`` (content wherever it was put), ``spans`` (span -> step fields),
``attributes`` (step -> span attributes), ``responses`` and ``gemini`` (the OpenAI Responses
and Gemini message forms), ``responses_gemini_spans`` (their instrumentations' spans),
``vercel`` (the Vercel AI SDK's ``ai.*`` spans), ``logs`` (log-record content joined at read
time, and folded into span attributes), ``langfuse`` (the ``langfuse.*`` attributes of a span).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import lazy_names

if TYPE_CHECKING:  # pragma: no cover
    from .messages import to_anthropic, to_openai, to_parts

__getattr__, __dir__ = lazy_names(
    __name__,
    {
        "to_anthropic": "messages",
        "to_openai": "messages",
        "to_parts": "messages",
    },
    globals(),
)

__all__ = ["to_anthropic", "to_openai", "to_parts"]
