"""A real Node.js app into `otel-jsonl serve`: the Vercel AI SDK (`ai` with `@ai-sdk/openai`,
`experimental_telemetry`) runs the two-turn tool loop against the loopback OpenAI server and
exports with `@opentelemetry/sdk-node`'s OTLP exporter (HTTP or gRPC), configured only by the
standard `OTEL_EXPORTER_OTLP_*` variables; its steps land as `llm_call`, `tool_call`,
`tool_result`, `input` and `final` lines.

The npm packages come from tests/node_app/package-lock.json (`make node-app`, part of
`make test`).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from support.providers import ProviderServer
from test_instrumentations import check_loop

from otel_jsonl.otel.receiver import Receiver

APP = Path(__file__).parent / "node_app"


def run_node_app(server: ProviderServer, receiver: Receiver, **env: str) -> str:
    """Run tests/node_app/agent.mjs against ``server``, exporting to ``receiver``; its output."""
    node = shutil.which("node")
    assert node is not None, "Node.js is needed: install node >= 20"
    assert (APP / "node_modules" / "ai").is_dir(), "run `make node-app` (npm ci in tests/node_app)"
    grpc = env.get("OTEL_EXPORTER_OTLP_PROTOCOL") == "grpc"
    address = receiver.grpc_address if grpc else receiver.http_address
    assert address is not None
    host, port = address
    full_env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": os.environ.get("HOME", ""),
        "OPENAI_BASE_URL": server.openai_base_url,
        "OPENAI_API_KEY": "test-key",
        "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://{host}:{port}",
        "OTEL_SERVICE_NAME": "node-weather-agent",
        **env,
    }
    done = subprocess.run(
        [node, "agent.mjs"],
        cwd=APP,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def _read(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text("utf-8").splitlines()]


@pytest.mark.parametrize(
    "env",
    [
        {"OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf"},
        {"OTEL_EXPORTER_OTLP_PROTOCOL": "http/json"},
        {"OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf", "OTEL_EXPORTER_OTLP_COMPRESSION": "gzip"},
        {"OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf", "AGENT_STREAM": "1"},
        {"OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"},
    ],
    ids=["protobuf", "json", "protobuf-gzip", "streamText", "grpc"],
)
def test_vercel_ai_sdk_loop_lands_as_steps(
    tmp_path: Path, openai_server: ProviderServer, env: dict[str, str]
) -> None:
    """The AI SDK's loop (generateText or streamText) over OTLP lands as its steps."""
    out = tmp_path / "node.jsonl"
    with Receiver(out, http=("127.0.0.1", 0), grpc=("127.0.0.1", 0)) as receiver:
        answer = run_node_app(openai_server, receiver, **env)
    assert "sunny" in answer
    lines = _read(out)
    check_loop(lines, provider="openai.chat", model="gpt-4o-mini", call_id="call_1", content=True)
    (resource,) = (line for line in lines if line["kind"] == "resource")
    assert resource["attrs"]["service.name"] == "node-weather-agent"
    assert resource["attrs"]["telemetry.sdk.language"] == "nodejs"
    (first,) = (line for line in lines if line["kind"] == "input")
    assert first["system"].startswith("You are a concise weather assistant")
    assert first["messages"] == [
        {"role": "user", "parts": [{"type": "text", "content": "What is the weather in Lisbon?"}]}
    ]
    llm = [line for line in lines if line["kind"] == "llm_call"]
    assert [call["finish_reason"] for call in llm] == ["tool-calls", "stop"]
    assert [call["usage"]["input_tokens"] for call in llm] == [20, 40]
    assert receiver.stats.bad_requests == 0
