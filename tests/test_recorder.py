"""Tests for otel_jsonl.recorder: the Trace recorder."""

from __future__ import annotations

import dataclasses
import datetime
import json
import logging
import os
import random
import re
import signal
import stat
import subprocess
import sys
import textwrap
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from otel_jsonl import Trace, read_events
from otel_jsonl.record.blobs import BlobStore

REPO = Path(__file__).resolve().parent.parent

json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text()
)
json_values = st.recursive(
    json_scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)
field_names = st.text(
    alphabet=st.characters(categories=["Ll", "Lu", "Nd"], include_characters="_"),
    min_size=1,
    max_size=10,
).filter(lambda k: k not in {"ts", "run", "seq", "kind"} and k.isidentifier())


def lines_of(path: Path) -> list[dict[str, Any]]:
    return [ev for _, ev in read_events(path)]


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(fields=st.dictionaries(field_names, json_values, max_size=5), kind=st.text(min_size=1))
def test_any_json_fields_survive_step_and_read(
    tmp_path: Path, fields: dict[str, Any], kind: str
) -> None:
    """Any JSON-representable fields written by step() are read back equal."""
    path = tmp_path / f"t{uuid.uuid4().hex}.jsonl"
    with Trace(path, redact=False, cap=0, strict=True) as t:
        seq = t.step(kind, **fields)
    (event,) = lines_of(path)
    assert seq == 0
    assert event["kind"] == kind
    assert event["run"] == t.run_id
    assert {k: v for k, v in event.items() if k not in ("ts", "run", "seq", "kind")} == fields


def test_line_shape_run_id_seq_and_ts(tmp_path: Path) -> None:
    """Every line has ts, run (8 hex), a per-run seq from 0, and kind, in that order."""
    clock = iter([100.0, 101.5, 103.0])
    with Trace(tmp_path / "t.jsonl", clock=lambda: next(clock)) as t:
        t.step("llm_call", model="m")
        t.step("tool_call", name="x", id="c1", args={"a": 1})
        t.step("final", text="done")
    raw = (tmp_path / "t.jsonl").read_text().splitlines()
    assert [list(json.loads(line))[:4] for line in raw] == [["ts", "run", "seq", "kind"]] * 3
    events = lines_of(tmp_path / "t.jsonl")
    assert [e["seq"] for e in events] == [0, 1, 2]
    assert [e["ts"] for e in events] == [100.0, 101.5, 103.0]
    assert len(t.run_id) == 8 and int(t.run_id, 16) >= 0


def test_reserved_field_names_do_not_overwrite(tmp_path: Path) -> None:
    """A field named like a reserved key is kept with a trailing underscore."""
    with Trace(tmp_path / "t.jsonl", run_id="r1") as t:
        t.step("x", run="other", seq=99, ts=1)
    (event,) = lines_of(tmp_path / "t.jsonl")
    assert event["run"] == "r1" and event["seq"] == 0
    assert event["run_"] == "other" and event["seq_"] == 99 and event["ts_"] == 1


def test_bad_constructor_arguments_fail_at_construction(tmp_path: Path) -> None:
    """Bad arguments raise at construction, not at step()."""
    with pytest.raises(ValueError, match="cap"):
        Trace(tmp_path / "t.jsonl", cap=-1)
    with pytest.raises(ValueError, match="fsync"):
        Trace(tmp_path / "t.jsonl", fsync="sometimes")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="run_id"):
        Trace(tmp_path / "t.jsonl", run_id="")


def test_context_manager_records_escaping_exception_and_closes(tmp_path: Path) -> None:
    """An exception escaping the with block is recorded as an error step and re-raised."""
    path = tmp_path / "t.jsonl"
    with pytest.raises(ZeroDivisionError), Trace(path) as t:
        t.step("llm_call", model="m")
        1 / 0  # noqa: B018
    assert t.closed
    events = lines_of(path)
    assert [e["kind"] for e in events] == ["llm_call", "error"]
    assert events[1]["type"] == "ZeroDivisionError"
    assert events[1]["message"] == "division by zero"
    assert "ZeroDivisionError" in events[1]["traceback"]


def test_files_and_blobs_are_created_0600(tmp_path: Path) -> None:
    """The trace file and blobs are mode 0600, new directories 0700."""
    path = tmp_path / "new" / "t.jsonl"
    with Trace(path, cap=10) as t:
        t.step("tool_result", output="x" * 100)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    blobs = list((path.parent / "blobs").iterdir())
    assert len(blobs) == 1
    assert stat.S_IMODE(blobs[0].stat().st_mode) == 0o600
    assert stat.S_IMODE((path.parent / "blobs").stat().st_mode) == 0o700


OPENAI_KEY = "sk-proj-Xq7RbV2mK9pLw4TzN8cY3hJ6dF1sG5aQ0eU"
RED = re.compile(r"\[REDACTED:([a-z_0-9]+):[0-9a-f]{4}\]")


def _kinds(text: str) -> list[str]:
    return RED.findall(text)


def test_secrets_are_redacted_by_default(tmp_path: Path) -> None:
    """Secrets at any depth become kind and fingerprint before the write; the rest stays."""
    text = f"key {OPENAI_KEY} and id AKIAIOSFODNN7EXAMPLE ok"
    with Trace(tmp_path / "t.jsonl") as t:
        t.step("tool_result", output=text, nested={"list": [text]})
    (event,) = lines_of(tmp_path / "t.jsonl")
    assert _kinds(event["output"]) == ["openai_key", "aws_access_key_id"]
    assert event["output"].startswith("key [REDACTED:openai_key:")
    assert event["output"].endswith("] ok")
    assert event["nested"] == {"list": [event["output"]]}


def test_authorization_header_value_in_a_dict_is_redacted(tmp_path: Path) -> None:
    """An Authorization header recorded as a dict key/value keeps its scheme, not its secret."""
    with Trace(tmp_path / "t.jsonl") as t:
        t.step("http", headers={"Authorization": "Basic dXNlcjpwYXNzd29yZA=="})
    (event,) = lines_of(tmp_path / "t.jsonl")
    value = event["headers"]["Authorization"]
    assert value.startswith("Basic [REDACTED:authorization:") and "dXNl" not in value


def test_redaction_switch_and_extra_patterns(tmp_path: Path) -> None:
    """redact=False keeps secrets; redact_patterns adds patterns, with or without defaults."""
    secret = OPENAI_KEY
    with Trace(tmp_path / "off.jsonl", redact=False) as t:
        t.step("x", v=secret)
    assert lines_of(tmp_path / "off.jsonl")[0]["v"] == secret
    with Trace(tmp_path / "extra.jsonl", redact_patterns={"employee": r"EMP-\d{6}"}) as t:
        t.step("x", v="EMP-123456 and " + secret)
    assert _kinds(lines_of(tmp_path / "extra.jsonl")[0]["v"]) == ["employee", "openai_key"]
    with Trace(tmp_path / "only.jsonl", redact=False, redact_patterns=[r"EMP-\d{6}"]) as t:
        t.step("x", v="EMP-123456 and " + secret)
    value = lines_of(tmp_path / "only.jsonl")[0]["v"]
    assert _kinds(value) == ["custom_1"] and value.endswith(" and " + secret)


def test_custom_pattern_that_would_break_json_falls_back_to_values(tmp_path: Path) -> None:
    """A user pattern matching JSON punctuation still yields a valid line."""
    with Trace(tmp_path / "t.jsonl", redact=False, redact_patterns=[r'":"']) as t:
        t.step("x", a="b", c='say ":" here')
    (event,) = lines_of(tmp_path / "t.jsonl")
    assert event["a"] == "b"
    assert RED.fullmatch(event["c"].removeprefix("say ").removesuffix(" here"))


def test_capping_keeps_prefix_and_stores_full_value(tmp_path: Path) -> None:
    """A string over the cap keeps its first bytes, says so, and its blob holds the value."""
    path = tmp_path / "t.jsonl"
    big = "é" * 3000  # 6000 UTF-8 bytes
    with Trace(path) as t:
        t.step("tool_result", id="c1", output=big, small="ok")
    events = [ev for _, ev in read_events(path)]
    ref, step = events
    assert ref["kind"] == "blob_ref" and ref["of"] == 0 and ref["field"] == "/output"
    assert ref["size"] == 6000
    assert step["output"] == "é" * 2048
    assert step["small"] == "ok"
    assert step["capped"] == {"/output": {"size": 6000, "sha256": ref["sha256"]}}
    assert BlobStore(tmp_path / "blobs").get_text(ref["sha256"]) == big


def test_capping_nested_values_and_models(tmp_path: Path) -> None:
    """Values inside lists, dicts and dataclasses are capped with a JSON pointer each."""

    @dataclasses.dataclass
    class Msg:
        role: str
        content: str

    path = tmp_path / "t.jsonl"
    with Trace(path, cap=100) as t:
        t.step("llm_call", input=[Msg("user", "a" * 500)], meta={"k/ey": "b" * 200})
    events = lines_of(path)
    step = events[-1]
    assert set(step["capped"]) == {"/input/0/content", "/meta/k~1ey"}
    assert step["input"][0]["content"] == "a" * 100
    assert [e["field"] for e in events[:-1]] == ["/input/0/content", "/meta/k~1ey"]


def test_capped_blobs_are_deduplicated_and_redacted(tmp_path: Path) -> None:
    """The same capped value twice makes one blob; a secret in it is redacted there too."""
    path = tmp_path / "t.jsonl"
    value = (OPENAI_KEY + " ") * 200
    with Trace(path, cap=64) as t:
        t.step("tool_result", output=value)
        t.step("tool_result", output=value)
    blobs = list((tmp_path / "blobs").iterdir())
    assert len(blobs) == 1
    content = blobs[0].read_text()
    assert "sk-proj" not in content and "[REDACTED:openai_key:" in content
    assert "sk-proj" not in path.read_text()


def test_cap_zero_turns_capping_off(tmp_path: Path) -> None:
    """cap=0 writes values whole and makes no blob."""
    path = tmp_path / "t.jsonl"
    with Trace(path, cap=0) as t:
        t.step("tool_result", output="z" * 50_000)
    (event,) = lines_of(path)
    assert event["output"] == "z" * 50_000 and "capped" not in event
    assert not (tmp_path / "blobs").exists()


class _Unserialisable:
    def __repr__(self) -> str:
        return "<Unserialisable thing>"


class _Model:
    def model_dump(self, mode: str = "python") -> dict[str, Any]:
        return {"role": "assistant", "content": "hi", "mode": mode}


class _BrokenModel:
    def model_dump(self, mode: str = "python") -> dict[str, Any]:
        raise RuntimeError("broken")

    def __repr__(self) -> str:
        return "<BrokenModel>"


@dataclasses.dataclass
class _Point:
    x: int
    when: datetime.datetime


def test_values_json_cannot_hold_are_recorded_sensibly(tmp_path: Path) -> None:
    """Models, dataclasses, datetimes, bytes, sets, non-finite floats and arbitrary objects
    never raise, and each is kept in a readable form."""
    when = datetime.datetime(2026, 1, 2, 3, 4, 5, tzinfo=datetime.timezone.utc)
    with Trace(tmp_path / "t.jsonl", strict=True) as t:
        t.step(
            "x",
            model=_Model(),
            broken=_BrokenModel(),
            point=_Point(1, when),
            when=when,
            raw=b"hello",
            binary=b"\xff\x00",
            tags={"b", "a"},
            thing=_Unserialisable(),
            nan=float("nan"),
            inf=[float("inf"), -float("inf"), None],
            big=2**80,
        )
    (event,) = lines_of(tmp_path / "t.jsonl")
    assert event["model"] == {"role": "assistant", "content": "hi", "mode": "json"}
    assert event["broken"] == "<BrokenModel>"
    assert event["point"]["x"] == 1 and event["point"]["when"].startswith("2026-01-02T03:04:05")
    assert event["when"].startswith("2026-01-02T03:04:05")
    assert event["raw"] == "hello"
    assert event["binary"] == "base64:/wA="
    assert event["tags"] == ["a", "b"]
    assert event["thing"] == "<Unserialisable thing>"
    # NaN and infinities are not silently null: spelled as OTLP's proto3 JSON spells them
    assert event["nan"] == "NaN"
    assert event["inf"] == ["Infinity", "-Infinity", None]
    assert event["big"] == 2**80


def test_step_after_close_is_counted_not_raised(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A step on a closed trace is dropped, counted and warned about once."""
    t = Trace(tmp_path / "t.jsonl")
    t.close()
    t.close()
    with caplog.at_level(logging.WARNING, logger="otel_jsonl"):
        assert t.step("x") is None
        assert t.step("y") is None
    assert t.dropped == 2
    assert len([r for r in caplog.records if "dropped" in r.getMessage()]) == 1


def test_strict_mode_raises(tmp_path: Path) -> None:
    """strict=True raises the failure instead of counting it."""
    t = Trace(tmp_path / "t.jsonl", strict=True)
    t.close()
    with pytest.raises(ValueError, match="closed"):
        t.step("x")


def test_unopenable_path_never_raises(tmp_path: Path) -> None:
    """A trace whose file cannot be created drops steps instead of raising."""
    blocker = tmp_path / "file"
    blocker.write_text("")
    t = Trace(blocker / "t.jsonl")  # a path under a regular file
    assert t.step("x") is None
    assert t.dropped >= 2  # the failed open at construction, then the step
    t.close()


def test_writes_to_dev_full_are_dropped_and_counted(tmp_path: Path) -> None:
    """Writing to a full device (ENOSPC) drops the step, counts it, and never raises."""
    if not os.path.exists("/dev/full"):
        pytest.skip("no /dev/full on this system")
    link = tmp_path / "full.jsonl"
    link.symlink_to("/dev/full")
    t = Trace(link, fsync="never")
    results = [t.step("x", i=i) for i in range(5)]
    t.close()
    assert results == [None] * 5
    assert t.dropped == 5
    assert isinstance(t.last_error, OSError)


_CHILD_DISK_FULL = textwrap.dedent(
    """
    import json, os, sys
    from otel_jsonl import Trace
    path, mode = sys.argv[1], sys.argv[2]
    if mode == "rlimit":
        import resource, signal
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (20000, 20000))
    t = Trace(path, cap=0, fsync="never", redact=False)
    ok = 0
    for i in range(200):
        if t.step("tool_result", i=i, output="y" * 400) is not None:
            ok += 1
    t.close()
    print(json.dumps({"ok": ok, "dropped": t.dropped}))
    """
)


def _tmpfs(tmp_path: Path) -> Path | None:
    mnt = tmp_path / "tiny"
    mnt.mkdir()
    if os.geteuid() != 0:
        return None
    proc = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=24k", "tmpfs", str(mnt)],
        capture_output=True,
        check=False,
    )
    return mnt if proc.returncode == 0 else None


@pytest.mark.parametrize("mode", ["tmpfs", "rlimit"])
def test_disk_full_host_loop_sees_no_exception(tmp_path: Path, mode: str) -> None:
    """On a full filesystem the loop goes on, and every step is either a whole line or counted."""
    mnt: Path | None = None
    if mode == "tmpfs":
        mnt = _tmpfs(tmp_path)
        if mnt is None:
            pytest.skip("cannot mount a tmpfs here (not root); the rlimit case covers it")
        path = mnt / "t.jsonl"
    else:
        path = tmp_path / "t.jsonl"
    try:
        proc = subprocess.run(
            [sys.executable, "-c", _CHILD_DISK_FULL, str(path), mode],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert proc.returncode == 0, proc.stderr
        result = json.loads(proc.stdout)
        assert result["dropped"] >= 1
        assert result["ok"] + result["dropped"] == 200
        from otel_jsonl import ReadReport

        report = ReadReport()
        events = [ev for _, ev in read_events(path, strict=False, report=report)]
        # Every step reported as written is a whole line; torn fragments are at most the
        # dropped ones and never hide a written step.
        assert len(events) == result["ok"]
        assert [e["i"] for e in events] == list(range(result["ok"]))
    finally:
        if mnt is not None:
            subprocess.run(["umount", str(mnt)], check=False, capture_output=True)


_CHILD_CRASH = textwrap.dedent(
    """
    import os, sys
    from otel_jsonl import Trace
    path = sys.argv[1]
    t = Trace(path, fsync="never")
    i = 0
    while True:
        seq = t.step("tool_result", i=i, output="z" * (i % 300))
        os.write(1, f"{seq}\\n".encode())
        i += 1
    """
)


@pytest.mark.parametrize("delay", [0.05, 0.2, 0.4])
def test_sigkill_loses_no_returned_step(tmp_path: Path, delay: float) -> None:
    """Every step reported back before a SIGKILL is in the file and parses."""
    path = tmp_path / "t.jsonl"
    proc = subprocess.Popen(
        [sys.executable, "-c", _CHILD_CRASH, str(path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdout is not None
    reported: list[int] = []
    deadline = time.monotonic() + 30
    # Read until the child has written for a while, then kill it mid-stream.
    first = proc.stdout.readline()
    assert first, proc.stderr.read() if proc.stderr else ""
    reported.append(int(first))
    time.sleep(delay * random.uniform(0.5, 1.5))
    proc.send_signal(signal.SIGKILL)
    for raw in proc.stdout:
        reported.append(int(raw))
        assert time.monotonic() < deadline
    proc.wait(timeout=10)
    proc.stdout.close()
    if proc.stderr:
        proc.stderr.close()
    from otel_jsonl import ReadReport

    report = ReadReport()
    seqs = {ev["seq"] for _, ev in read_events(path, strict=False, report=report)}
    assert report.problems == []
    assert set(reported) <= seqs
    assert len(reported) > 0


_CHILD_CONCURRENT = textwrap.dedent(
    """
    import sys, threading
    from otel_jsonl import Trace
    path, proc_id = sys.argv[1], sys.argv[2]
    t = Trace(path, run_id="p" + proc_id, fsync="never")
    def work(thread_id):
        for i in range(250):
            t.step("tool_result", thread=thread_id, i=i, output=("x" * (i * 37 % 5000)))
    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for th in threads: th.start()
    for th in threads: th.join()
    t.close()
    print(t.dropped)
    """
)


def test_four_processes_four_threads_append_without_tearing(tmp_path: Path) -> None:
    """4 processes x 4 threads append to one file: every line parses, the count is exact."""
    path = tmp_path / "t.jsonl"
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _CHILD_CONCURRENT, str(path), str(n)],
            stdout=subprocess.PIPE,
            text=True,
        )
        for n in range(4)
    ]
    for p in procs:
        out, _ = p.communicate(timeout=120)
        assert p.returncode == 0 and out.strip() == "0"
    events = lines_of(path)
    assert len(events) == 4 * 4 * 250 + sum(1 for e in events if e["kind"] == "blob_ref")
    steps = [e for e in events if e["kind"] != "blob_ref"]
    assert len(steps) == 4000
    for run in ("p0", "p1", "p2", "p3"):
        seqs = sorted(e["seq"] for e in steps if e["run"] == run)
        assert seqs == list(range(1000))


def test_threads_share_one_trace_with_unique_seqs(tmp_path: Path) -> None:
    """Eight threads on one Trace get distinct seq numbers and whole lines."""
    path = tmp_path / "t.jsonl"
    t = Trace(path, fsync="never")

    def work() -> None:
        for i in range(200):
            t.step("x", i=i)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    t.close()
    assert sorted(e["seq"] for e in lines_of(path)) == list(range(1600))


_BLOCK_IMPORTS = textwrap.dedent(
    """
    import sys
    class Blocker:
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in ("opentelemetry", "orjson", "google", "grpc"):
                raise ImportError(f"{name} is blocked for this test")
            return None
    sys.meta_path.insert(0, Blocker())
    from otel_jsonl import Trace, read_events, validate_event
    from otel_jsonl.record import codec as _codec
    assert not _codec.HAVE_ORJSON
    t = Trace(sys.argv[1])
    key = "sk-proj-Xq7RbV2mK9pLw4TzN8cY3hJ6dF1sG5aQ0eU"
    t.step("llm_call", model="m", content="x" * 5000, key=key)
    t.close()
    events = [ev for _, ev in read_events(sys.argv[1])]
    assert [e["kind"] for e in events] == ["blob_ref", "llm_call"], events
    assert events[1]["key"].startswith("[REDACTED:openai_key:")
    assert all(not validate_event(e) for e in events)
    # The read, genai and analyze wings need nothing more: replay, diff and stats work too.
    import otel_jsonl.genai, otel_jsonl.read, otel_jsonl.analyze
    from otel_jsonl import diff_runs, list_runs, replay
    from otel_jsonl.analyze.stats import compute_stats
    with Trace(sys.argv[1], run_id="r2") as t2:
        t2.step("input", messages=[{"role": "user", "content": "hi"}])
        t2.step("llm_call", model="m", output=[{"role": "assistant", "content": "yo"}])
    assert replay(sys.argv[1], 1, run="r2")[-1]["content"] == "hi"
    assert diff_runs(sys.argv[1], sys.argv[1], run_a="r2", run_b="r2").equal
    assert [s.run for s in list_runs(sys.argv[1])] == [t.run_id, "r2"]
    assert len(compute_stats(read_events(sys.argv[1]))) == 2
    assert not [m for m in sys.modules if m.startswith(("opentelemetry", "orjson"))]
    print("ok")
    """
)


def test_recorder_works_with_only_the_standard_library(tmp_path: Path) -> None:
    """With opentelemetry and orjson imports blocked, Trace records and the read, genai and
    analyze wings read, replay, diff and sum up."""
    proc = subprocess.run(
        [sys.executable, "-c", _BLOCK_IMPORTS, str(tmp_path / "t.jsonl")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "ok"


def test_stdlib_and_orjson_encodings_are_identical(tmp_path: Path) -> None:
    """The stdlib path writes the same bytes as orjson for JSON-native values."""
    from otel_jsonl.record import codec as _codec

    if not _codec.HAVE_ORJSON:
        pytest.skip("orjson is not installed")
    value = {"a": [1, 2.5, True, None, 'é\n"x"'], "b": {"c": "ü" * 3}, "d": -0.0, "e": 1e300}
    assert _codec.dumps_line(value) == _codec._dumps_std(value) + b"\n"


@pytest.mark.parametrize("policy", ["never", "close", "line", 3])
def test_fsync_policies_write_the_same_lines(tmp_path: Path, policy: Any) -> None:
    """Every fsync policy writes every line; the policy only changes durability."""
    path = tmp_path / "t.jsonl"
    with Trace(path, fsync=policy) as t:
        for i in range(7):
            t.step("x", i=i)
        t.flush()
    assert [e["i"] for e in lines_of(path)] == list(range(7))


_IMPORT_ONLY = textwrap.dedent(
    """
    import sys
    before = set(sys.modules)
    from otel_jsonl import Trace
    heavy = {"typing", "logging", "dataclasses", "inspect", "pathlib", "re", "json", "orjson",
             "uuid", "datetime", "hashlib", "threading", "contextlib", "collections"}
    print(sorted(heavy & (set(sys.modules) - before)))
    """
)


def test_importing_the_recorder_loads_none_of_the_heavy_modules() -> None:
    """``from otel_jsonl import Trace`` imports no typing, logging, dataclasses, pathlib, re,
    json or orjson: they come on first use (start-up, issue 16)."""
    proc = subprocess.run(
        [sys.executable, "-c", _IMPORT_ONLY], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"
