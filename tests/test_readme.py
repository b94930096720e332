"""The README's quick starts, as written: a fresh virtual environment from each ``pip install``
line the README shows, then its snippet against the loopback servers of tests/support.

Each install runs ``pip install`` exactly as the README spells it, from a directory where
``./otel-jsonl`` is this checkout (pip's cache makes a second run quick). Marked slow: the
two installs take about a minute each on a cold cache.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from support.otlp_receiver import OtlpReceiver
from support.providers import ProviderServer

REPO = Path(__file__).resolve().parents[1]
README = (REPO / "README.md").read_text(encoding="utf-8")
INSTALL_TIMEOUT = 600
RUN_TIMEOUT = 120

pytestmark = pytest.mark.slow


def install_lines() -> list[str]:
    """Every ``pip install ...`` the README shows (inline or in a block), as written."""
    return [m.group(0).strip() for m in re.finditer(r"pip install [^`\n]+", README)]


def quick_start_block(marker: str) -> str:
    """The fenced ``sh`` block of the README that contains ``marker``."""
    for block in re.findall(r"```sh\n(.*?)```", README, flags=re.S):
        if marker in block:
            return str(block)
    raise AssertionError(f"no sh block with {marker!r} in README.md")


def clean_env() -> dict[str, str]:
    """The environment of a user's shell: nothing of the test run's venv or OTel settings."""
    drop = ("OTEL_", "VIRTUAL_ENV", "PYTHON", "OPENAI_", "ANTHROPIC_")
    return {k: v for k, v in os.environ.items() if not k.startswith(drop)}


def make_venv(where: Path, line: str) -> Path:
    """A fresh venv in ``where``/venv with ``line`` run in it, from a directory holding
    ``otel-jsonl`` (this checkout); returns the venv's bin directory."""
    where.mkdir(parents=True, exist_ok=True)
    (where / "otel-jsonl").symlink_to(REPO, target_is_directory=True)
    subprocess.run(
        [sys.executable, "-m", "venv", str(where / "venv")], check=True, timeout=RUN_TIMEOUT
    )
    bindir = where / "venv" / "bin"
    argv = shlex.split(line)
    assert argv[:2] == ["pip", "install"], line
    proc = subprocess.run(
        [str(bindir / "python"), "-m", "pip", "install", "-q", *argv[2:]],
        cwd=where,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=INSTALL_TIMEOUT,
        check=False,
    )
    assert proc.returncode == 0, f"{line} failed:\n{proc.stdout}\n{proc.stderr}"
    return bindir


def run(argv: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Run a command of the quick start; fail with its output if it fails."""
    proc = subprocess.run(
        argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=RUN_TIMEOUT, check=False
    )
    assert proc.returncode == 0, f"{argv} exited {proc.returncode}:\n{proc.stdout}\n{proc.stderr}"
    return proc


def events(path: Path) -> list[dict[str, object]]:
    """The lines of a trace file, parsed."""
    import json

    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_readme_shows_the_three_install_lines() -> None:
    """The README shows the plain install, the one with the secret screen's compiled
    prefilter, and the no-code-change one, with the extra that brings what the openai-v2
    instrumentation needs; each is tested below."""
    assert install_lines() == [
        "pip install ./otel-jsonl",
        "pip install './otel-jsonl[fast]'",
        "pip install './otel-jsonl[openai-v2]'",
    ]


@pytest.fixture(scope="module")
def plain_venv(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A venv from the README's plain install line (the directory and its bin)."""
    where = tmp_path_factory.mktemp("plain")
    return where, make_venv(where, install_lines()[0])


@pytest.fixture(scope="module")
def openai_v2_venv(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A venv from the README's no-code-change install line."""
    where = tmp_path_factory.mktemp("openai-v2")
    return where, make_venv(where, install_lines()[2])


def test_plain_install_records_shows_and_ships(plain_venv: tuple[Path, Path]) -> None:
    """``pip install ./otel-jsonl`` alone: the recorder of quick start 1 writes steps, the CLI
    shows them and ships them as OTLP to a loopback receiver."""
    where, bindir = plain_venv
    script = where / "record.py"
    script.write_text(
        textwrap.dedent(
            """
            from otel_jsonl import Trace

            messages = [{"role": "user", "content": "What is the weather in Lisbon?"}]
            with Trace("traces/run.jsonl") as trace:
                trace.step("input", messages=messages)
                trace.step("llm_call", model="m", output=[{"role": "assistant"}], usage={})
                trace.step("tool_call", id="call_1", name="get_weather", args={"city": "Lisbon"})
                trace.step("tool_result", id="call_1", name="get_weather", output="x" * 9000)
                trace.step("final", text="sunny")
            """
        )
    )
    env = clean_env()
    run([str(bindir / "python"), str(script)], where, env)
    trace = where / "traces" / "run.jsonl"
    kinds = [e["kind"] for e in events(trace)]
    assert kinds == ["input", "llm_call", "tool_call", "blob_ref", "tool_result", "final"]
    shown = run([str(bindir / "otel-jsonl"), "show", str(trace)], where, env).stdout
    assert "get_weather" in shown
    with OtlpReceiver() as receiver:
        run(
            [str(bindir / "otel-jsonl"), "convert", str(trace), "--endpoint", receiver.endpoint],
            where,
            env,
        )
        assert len(receiver.spans) >= 3


def test_fast_install_screens_with_the_prefilter(tmp_path: Path) -> None:
    """``pip install './otel-jsonl[fast]'``: Hyperscan comes with it, the secret screen uses
    it, and a key recorded by ``Trace`` is redacted; the plain install has no prefilter."""
    bindir = make_venv(tmp_path, install_lines()[1])
    script = tmp_path / "fast.py"
    script.write_text(
        textwrap.dedent(
            """
            from otel_jsonl import Trace
            from otel_jsonl.record import secrets

            with Trace("traces/run.jsonl") as trace:
                trace.step("tool_result", output="key sk-proj-Xq7RbV2mK9pLw4TzN8cY3hJ6dF1sG5aQ0eU")
            print(secrets.accelerated())
            """
        )
    )
    env = clean_env()
    assert run([str(bindir / "python"), str(script)], tmp_path, env).stdout.strip() == "True"
    (line,) = events(tmp_path / "traces" / "run.jsonl")
    assert str(line["output"]).startswith("key [REDACTED:openai_key:")


def test_plain_install_has_no_prefilter(plain_venv: tuple[Path, Path]) -> None:
    """The plain install brings no Hyperscan: the screen runs in the standard library."""
    where, bindir = plain_venv
    code = "from otel_jsonl.record import secrets; print(secrets.accelerated())"
    out = run([str(bindir / "python"), "-c", code], where, clean_env()).stdout
    assert out.strip() == "False"


def _env_of(block: str) -> tuple[dict[str, str], list[str]]:
    """The ``NAME=value`` assignments and the command of a README shell block's last
    command (continued lines joined)."""
    joined = block.replace("\\\n", " ")
    command = next(line for line in joined.splitlines() if "opentelemetry-instrument" in line)
    words = shlex.split(command)
    env = {}
    while words and re.fullmatch(r"[A-Z_]+=.*", words[0]):
        name, _, value = words.pop(0).partition("=")
        env[name] = value
    return env, words


def test_no_code_change_quick_start_writes_llm_call_lines(
    openai_v2_venv: tuple[Path, Path],
) -> None:
    """Quick start 3 exactly as the README shows it (its variables and command), in a venv
    made from its install line, against the loopback OpenAI server: the trace holds an
    llm_call line per model call, with the model and token usage."""
    where, bindir = openai_v2_venv
    (where / "examples").mkdir(exist_ok=True)
    app = where / "examples" / "instrumented_app.py"
    app.write_bytes((REPO / "examples" / "instrumented_app.py").read_bytes())
    variables, command = _env_of(quick_start_block("opentelemetry-instrument"))
    assert command[:2] == ["opentelemetry-instrument", "python"]
    with ProviderServer() as server:
        env = {
            **clean_env(),
            **variables,
            "OPENAI_BASE_URL": server.openai_base_url,
            "OPENAI_API_KEY": "test-key",
            "PATH": f"{bindir}{os.pathsep}{os.environ.get('PATH', '')}",
        }
        run([str(bindir / command[0]), str(bindir / "python"), *command[2:]], where, env)
        assert len(server.calls) == 2
    trace = where / variables["OTEL_EXPORTER_JSONL_PATH"]
    llm = [e for e in events(trace) if e["kind"] == "llm_call"]
    assert len(llm) == 2, [e["kind"] for e in events(trace)]
    assert all(e["model"] == "gpt-4o-mini" for e in llm)
    assert all(isinstance(e.get("usage"), dict) and e["usage"] for e in llm)


def test_instrumented_in_code_quick_start(openai_v2_venv: tuple[Path, Path]) -> None:
    """Quick start 2 (configure() and the OpenAI instrumentor in code) works in the same
    fresh venv: one llm_call line per model call."""
    where, bindir = openai_v2_venv
    app = where / "examples" / "instrumented_app.py"
    if not app.exists():
        app.parent.mkdir(exist_ok=True)
        app.write_bytes((REPO / "examples" / "instrumented_app.py").read_bytes())
    with ProviderServer() as server:
        env = {
            **clean_env(),
            "OPENAI_BASE_URL": server.openai_base_url,
            "OPENAI_API_KEY": "test-key",
        }
        run([str(bindir / "python"), str(app), "traces/in-code.jsonl"], where, env)
    llm = [e for e in events(where / "traces" / "in-code.jsonl") if e["kind"] == "llm_call"]
    assert len(llm) == 2
