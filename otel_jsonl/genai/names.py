"""Every GenAI attribute and event name this project reads or writes, pinned here rather than
imported: the only place a ``gen_ai.`` name is spelled in the package.

The GenAI names copy OpenTelemetry's GenAI semantic conventions (semantic-conventions-genai,
"development" status, as of 2026-11), the OpenInference names its
``openinference-semantic-conventions`` 0.1.42, the OpenLLMetry names
``opentelemetry-semantic-conventions-ai`` 0.5, and the Anthropic SDK's native spans (anthropic
2.14). They are copied, not imported, because the upstream constants move between packages and
get deprecated. Current names are written; deprecated ones are read too.
"""

from __future__ import annotations

# --- OpenTelemetry GenAI (current) -------------------------------------------------------
GEN_AI_OPERATION_NAME = "gen_ai.operation.name"
GEN_AI_PROVIDER_NAME = "gen_ai.provider.name"
GEN_AI_REQUEST_MODEL = "gen_ai.request.model"
GEN_AI_RESPONSE_MODEL = "gen_ai.response.model"
GEN_AI_RESPONSE_ID = "gen_ai.response.id"
GEN_AI_RESPONSE_FINISH_REASONS = "gen_ai.response.finish_reasons"
GEN_AI_USAGE_INPUT_TOKENS = "gen_ai.usage.input_tokens"
GEN_AI_USAGE_OUTPUT_TOKENS = "gen_ai.usage.output_tokens"
GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS = "gen_ai.usage.cache_read.input_tokens"
#: The current name of the cache-creation count (``cache_creation`` is the older spelling).
GEN_AI_USAGE_CACHE_WRITE_INPUT_TOKENS = "gen_ai.usage.cache_write.input_tokens"
GEN_AI_USAGE_REASONING_OUTPUT_TOKENS = "gen_ai.usage.reasoning.output_tokens"
GEN_AI_INPUT_MESSAGES = "gen_ai.input.messages"
GEN_AI_OUTPUT_MESSAGES = "gen_ai.output.messages"
GEN_AI_SYSTEM_INSTRUCTIONS = "gen_ai.system_instructions"
GEN_AI_TOOL_NAME = "gen_ai.tool.name"
GEN_AI_TOOL_CALL_ID = "gen_ai.tool.call.id"
GEN_AI_TOOL_CALL_ARGUMENTS = "gen_ai.tool.call.arguments"
GEN_AI_TOOL_CALL_RESULT = "gen_ai.tool.call.result"
GEN_AI_TOOL_TYPE = "gen_ai.tool.type"
GEN_AI_AGENT_NAME = "gen_ai.agent.name"
GEN_AI_RETRIEVAL_QUERY_TEXT = "gen_ai.retrieval.query.text"
GEN_AI_RETRIEVAL_DOCUMENTS = "gen_ai.retrieval.documents"
ERROR_TYPE = "error.type"

#: ``gen_ai.request.*`` parameters copied into ``llm_call.request`` (name after the prefix).
GEN_AI_REQUEST_PREFIX = "gen_ai.request."
#: Every GenAI attribute starts so (used to tell GenAI attributes of an event from the rest).
GEN_AI_PREFIX = "gen_ai."

#: Log record / event name of the current "one event per call" form.
GEN_AI_OPERATION_DETAILS_EVENT = "gen_ai.client.inference.operation.details"

# --- deprecated GenAI names (read, never written) ------------------------------------------
GEN_AI_SYSTEM = "gen_ai.system"
GEN_AI_USAGE_PROMPT_TOKENS = "gen_ai.usage.prompt_tokens"
GEN_AI_USAGE_COMPLETION_TOKENS = "gen_ai.usage.completion_tokens"
GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS = "gen_ai.usage.cache_creation.input_tokens"
#: Per-message events (span events or log records), deprecated in favour of the attributes.
GEN_AI_SYSTEM_MESSAGE = "gen_ai.system.message"
GEN_AI_USER_MESSAGE = "gen_ai.user.message"
GEN_AI_ASSISTANT_MESSAGE = "gen_ai.assistant.message"
GEN_AI_TOOL_MESSAGE = "gen_ai.tool.message"
GEN_AI_CHOICE = "gen_ai.choice"
#: Per-message event name -> the role of its message.
MESSAGE_EVENTS = {
    GEN_AI_SYSTEM_MESSAGE: "system",
    GEN_AI_USER_MESSAGE: "user",
    GEN_AI_ASSISTANT_MESSAGE: "assistant",
    GEN_AI_TOOL_MESSAGE: "tool",
}

# --- Anthropic SDK native spans -------------------------------------------------------------
ANTHROPIC_STOP_REASON = "anthropic.message.stop_reason"
ANTHROPIC_TOOL_RESULT_CONTENT = "anthropic.tool_result.content"

# --- official google-genai instrumentation ---------------------------------------------------
#: The text part of the input tokens (read as the input tokens only when no total is given).
GEN_AI_USAGE_TEXT_INPUT_TOKENS = "gen_ai.usage.text.input_tokens"

# --- OpenLLMetry (Traceloop) ---------------------------------------------------------------
GEN_AI_USAGE_TOTAL_TOKENS = "gen_ai.usage.total_tokens"
GEN_AI_USAGE_REASONING_TOKENS = "gen_ai.usage.reasoning_tokens"
LLM_REQUEST_TYPE = "llm.request.type"
#: ``gen_ai.prompt.N.role`` / ``gen_ai.completion.N.content`` ...: (side, index, rest).
OPENLLMETRY_MESSAGE_KEY = r"^gen_ai\.(prompt|completion)\.(\d+)\.(.+)$"

# --- OpenInference ---------------------------------------------------------------------------
OPENINFERENCE_SPAN_KIND = "openinference.span.kind"
LLM_MODEL_NAME = "llm.model_name"
LLM_PROVIDER = "llm.provider"
LLM_SYSTEM = "llm.system"
LLM_INPUT_MESSAGES = "llm.input_messages"
LLM_OUTPUT_MESSAGES = "llm.output_messages"
LLM_TOKEN_COUNT_PROMPT = "llm.token_count.prompt"
LLM_TOKEN_COUNT_COMPLETION = "llm.token_count.completion"
LLM_TOKEN_COUNT_TOTAL = "llm.token_count.total"
LLM_TOKEN_COUNT_CACHE_READ = "llm.token_count.prompt_details.cache_read"
LLM_TOKEN_COUNT_CACHE_WRITE = "llm.token_count.prompt_details.cache_write"
LLM_TOKEN_COUNT_REASONING = "llm.token_count.completion_details.reasoning"
LLM_FINISH_REASON = "llm.finish_reason"
INPUT_VALUE = "input.value"
INPUT_MIME_TYPE = "input.mime_type"
OUTPUT_VALUE = "output.value"
TOOL_NAME = "tool.name"
TOOL_CALL_ID = "tool_call.id"
AGENT_NAME = "agent.name"

#: OpenInference span kind -> GenAI operation name
OPENINFERENCE_OPERATIONS = {
    "LLM": "chat",
    "TOOL": "execute_tool",
    "AGENT": "invoke_agent",
    "EMBEDDING": "embeddings",
    "RETRIEVER": "retrieval",
}

#: Name prefixes of the other conventions the mapping of a model call reads (OpenInference and
#: OpenLLMetry, OpenLLMetry's indexed messages, the Vercel AI SDK, OpenInference's raw input
#: and output, the Anthropic SDK): a span with any of them is not a plain one
#: (genai/plain_llm.py).
OTHER_CONVENTION_PREFIXES = (
    "llm.",
    "gen_ai.prompt.",
    "gen_ai.completion.",
    "ai.",
    "openinference.",
    "input.",
    "output.",
    "anthropic.",
)
#: Operations written as ``llm_call``.
LLM_OPERATIONS = frozenset({"chat", "text_completion", "generate_content", "completion"})

# --- general OpenTelemetry names the mapping reads and writes --------------------------------
EXCEPTION_EVENT = "exception"
EXCEPTION_TYPE = "exception.type"
EXCEPTION_MESSAGE = "exception.message"
EXCEPTION_STACKTRACE = "exception.stacktrace"
EVENT_NAME = "event.name"

# --- agent frameworks (genai/frameworks.py) ---------------------------------------------------
#: Pydantic AI's agent span: the whole conversation (parts form) and the run's output.
PYDANTIC_AI_ALL_MESSAGES = "pydantic_ai.all_messages"
PYDANTIC_AI_FINAL_RESULT = "final_result"
#: Usage summed over a run, on Pydantic AI's agent span.
GEN_AI_AGGREGATED_USAGE_PREFIX = "gen_ai.aggregated_usage."
#: OpenLLMetry's LangGraph task and workflow spans: LangChain-serialised state as JSON text.
GEN_AI_TASK_INPUT = "gen_ai.task.input"
GEN_AI_TASK_OUTPUT = "gen_ai.task.output"
#: OpenInference's span kind of LangChain chains (the agent's root span is one).
OPENINFERENCE_CHAIN = "CHAIN"

# --- Langfuse (what its OTLP endpoint maps to traces and observations; Langfuse docs, 2026) ---
GEN_AI_CONVERSATION_ID = "gen_ai.conversation.id"
LANGFUSE_TRACE_NAME = "langfuse.trace.name"
LANGFUSE_TRACE_INPUT = "langfuse.trace.input"
LANGFUSE_TRACE_OUTPUT = "langfuse.trace.output"
LANGFUSE_TRACE_TAGS = "langfuse.trace.tags"
LANGFUSE_SESSION_ID = "langfuse.session.id"
LANGFUSE_USER_ID = "langfuse.user.id"
LANGFUSE_OBSERVATION_TYPE = "langfuse.observation.type"
LANGFUSE_OBSERVATION_INPUT = "langfuse.observation.input"
LANGFUSE_OBSERVATION_OUTPUT = "langfuse.observation.output"
LANGFUSE_OBSERVATION_MODEL = "langfuse.observation.model.name"
LANGFUSE_OBSERVATION_MODEL_PARAMETERS = "langfuse.observation.model.parameters"
LANGFUSE_OBSERVATION_USAGE = "langfuse.observation.usage_details"
LANGFUSE_OBSERVATION_LEVEL = "langfuse.observation.level"
LANGFUSE_OBSERVATION_STATUS_MESSAGE = "langfuse.observation.status_message"
SESSION_ID = "session.id"
USER_ID = "user.id"
# --- Vercel AI SDK (`ai`, `experimental_telemetry`; read from ai 6.0 spans) ----------------
AI_OPERATION_ID = "ai.operationId"
AI_PROMPT = "ai.prompt"
AI_PROMPT_MESSAGES = "ai.prompt.messages"
AI_RESPONSE_TEXT = "ai.response.text"
AI_RESPONSE_OBJECT = "ai.response.object"
AI_RESPONSE_TOOL_CALLS = "ai.response.toolCalls"
AI_RESPONSE_FINISH_REASON = "ai.response.finishReason"
AI_MODEL_ID = "ai.model.id"
AI_MODEL_PROVIDER = "ai.model.provider"
AI_TOOL_CALL_NAME = "ai.toolCall.name"
AI_TOOL_CALL_ID = "ai.toolCall.id"
AI_TOOL_CALL_ARGS = "ai.toolCall.args"
AI_TOOL_CALL_INPUT = "ai.toolCall.input"
AI_TOOL_CALL_RESULT = "ai.toolCall.result"
AI_TOOL_CALL_OUTPUT = "ai.toolCall.output"

#: ``ai.operationId`` -> GenAI operation: the provider calls are model calls, the outer
#: generate/stream call is the agent (it runs the tool loop), ``ai.toolCall`` a tool execution.
AI_SDK_OPERATIONS = {
    "ai.generateText.doGenerate": "chat",
    "ai.streamText.doStream": "chat",
    "ai.generateObject.doGenerate": "chat",
    "ai.streamObject.doStream": "chat",
    "ai.generateText": "invoke_agent",
    "ai.streamText": "invoke_agent",
    "ai.generateObject": "invoke_agent",
    "ai.streamObject": "invoke_agent",
    "ai.toolCall": "execute_tool",
    "ai.embed.doEmbed": "embeddings",
    "ai.embedMany.doEmbed": "embeddings",
}
