"""``make demo`` on a clean clone of the committed HEAD writes ``traces/demo.jsonl``, and that
file validates, replays and converts with the command line a newcomer would use next."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import pytest

from otel_jsonl import read_events, validate_event

REPO = Path(__file__).resolve().parents[1]
VENV = Path(sys.prefix)
TIMEOUT = 60.0

pytestmark = pytest.mark.skipif(
    shutil.which("git") is None or shutil.which("make") is None, reason="needs git and make"
)


def _run(
    argv: Sequence[str], cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        list(argv), cwd=cwd, env=env, capture_output=True, text=True, timeout=TIMEOUT, check=False
    )
    assert proc.returncode == 0, f"{argv} exited {proc.returncode}:\n{proc.stdout}\n{proc.stderr}"
    return proc


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str], str]:
    """A clone of HEAD where ``make demo`` ran; the environment that runs the clone's code."""
    if not (REPO / ".git").exists():
        pytest.skip("not a git checkout")
    clone = tmp_path_factory.mktemp("clone") / "otel-jsonl"
    # A local clone: no network, only what is committed.
    _run(["git", "clone", "--quiet", "--no-hardlinks", str(REPO), str(clone)], cwd=REPO)
    # The clone's package first on the path (the venv's editable install points at REPO), and
    # the current venv reused: -o keeps make from re-installing into it.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "MAKE"))}
    env["PYTHONPATH"] = str(clone)
    stamp = VENV / ".installed"
    proc = _run(["make", "demo", f"VENV={VENV}", "-o", str(stamp)], cwd=clone, env=env)
    return clone, env, proc.stdout


def test_make_demo_writes_a_valid_trace(demo: tuple[Path, dict[str, str], str]) -> None:
    """``make demo`` writes traces/demo.jsonl: one run whose every line validates, with the
    prompt, model calls, paired tool calls, a capped result and the final answer."""
    clone, env, stdout = demo
    path = clone / "traces" / "demo.jsonl"
    assert "run demo0001" in stdout  # make demo shows the run it recorded
    events = [ev for _, ev in read_events(path, strict=True)]
    assert all(validate_event(ev) == [] for ev in events)
    steps = [ev["kind"] for ev in events if ev["kind"] != "blob_ref"]
    assert steps[0] == "input" and steps[-1] == "final"
    assert steps.count("llm_call") == 2
    calls = [ev["id"] for ev in events if ev["kind"] == "tool_call"]
    assert calls and calls == [ev["id"] for ev in events if ev["kind"] == "tool_result"]
    assert any("capped" in ev for ev in events)
    assert (clone / "traces" / "blobs").is_dir()
    proc = _run([str(VENV / "bin" / "otel-jsonl"), "validate", str(path)], cwd=clone, env=env)
    assert proc.stdout.strip().endswith(f", 0 bad ({len(events)} lines)")


def test_make_demo_trace_replays(demo: tuple[Path, dict[str, str], str]) -> None:
    """``otel-jsonl replay --step N`` on the demo's last model call prints the conversation
    that led to it, starting from the recorded prompt."""
    clone, env, _ = demo
    path = clone / "traces" / "demo.jsonl"
    last = max(ev["seq"] for _, ev in read_events(path, kind="llm_call"))
    argv = [str(VENV / "bin" / "otel-jsonl"), "replay", str(path), "--step", str(last)]
    messages = json.loads(_run(argv, cwd=clone, env=env).stdout)
    assert [m["role"] for m in messages][:2] == ["system", "user"]
    assert "Lisbon" in messages[1]["content"]
    assert messages[-1]["role"] == "tool"


@pytest.mark.parametrize("by", ["make demo", "otel-jsonl convert"])
def test_make_demo_trace_converts(demo: tuple[Path, dict[str, str], str], by: str) -> None:
    """The demo converts to OTLP JSON lines (``make demo`` writes traces/demo.otlp.jsonl, and
    ``otel-jsonl convert ... -o`` gives the same): one trace with the agent, chat and tool
    spans."""
    clone, env, _ = demo
    out = clone / "traces" / "demo.otlp.jsonl"
    if by != "make demo":
        out = clone / "traces" / "again.otlp.jsonl"
        argv = [str(VENV / "bin" / "otel-jsonl"), "convert", "traces/demo.jsonl", "-o", str(out)]
        _run(argv, cwd=clone, env=env)
    names = []
    traces = set()
    for line in out.read_text().splitlines():
        for rs in json.loads(line)["resourceSpans"]:
            for ss in rs["scopeSpans"]:
                for span in ss["spans"]:
                    names.append(span["name"].split(" ")[0])
                    traces.add(span["traceId"])
    assert len(traces) == 1
    assert sorted(names) == ["chat", "chat", "execute_tool", "execute_tool", "invoke_agent"]
