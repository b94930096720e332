"""Secret redaction: recall and false positives on the corpus, fingerprints, placeholders,
checksums, allow-list, PII hook, dict keys, JSON-escaped forms and streamed chunks."""

from __future__ import annotations

import importlib.util
import json
import re
import zlib
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from otel_jsonl import Trace
from otel_jsonl.record.redact import Redactor, email_and_phone, fingerprint, redact_text

DATA = Path(__file__).parent / "data" / "redaction"
MARKER = re.compile(r"\[REDACTED:([a-z_0-9]+):([0-9a-f]{4})\]")
RECALL_FLOOR = 0.98
OPENAI_KEY = "sk-proj-Xq7RbV2mK9pLw4TzN8cY3hJ6dF1sG5aQ0eU"
B62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def _rows(name: str) -> list[dict[str, Any]]:
    with (DATA / name).open(encoding="utf-8") as f:
        return [json.loads(line) for line in f]


def _leaks(secret: str, text: str) -> bool:
    """True when the secret, or any 12 characters of it, is still in ``text``."""
    if secret in text:
        return True
    return any(secret[i : i + 12] in text for i in range(0, max(1, len(secret) - 11), 4))


def _record(path: Path, values: list[Any]) -> list[dict[str, Any]]:
    """Record each value as the ``output`` of a step of a real Trace, read the lines back."""
    with Trace(path, cap=0, strict=True) as t:
        for value in values:
            t.step("tool_result", output=value)
    with path.open(encoding="utf-8") as f:
        return [json.loads(line) for line in f]


def _b62_checksum(body: str) -> str:
    n = zlib.crc32(body.encode())
    out = ""
    while n:
        n, r = divmod(n, 62)
        out = B62[r] + out
    return out.rjust(6, "0")


def test_corpus_recall_and_false_positives(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Each family's recall is >= 98 % (via Trace and as text) and no look-alike changes."""
    positives = _rows("positives.jsonl")
    lookalikes = _rows("lookalikes.jsonl")
    recorded = _record(tmp_path / "positives.jsonl", [row["value"] for row in positives])
    caught: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    missed = []
    redactor = Redactor()
    for row, event in zip(positives, recorded, strict=True):
        line = json.dumps(event["output"], ensure_ascii=False)
        as_text = json.dumps(redactor.redact_value(row["value"]), ensure_ascii=False)
        ok = not _leaks(row["secret"], line) and not _leaks(row["secret"], as_text)
        ok = ok and MARKER.search(line) is not None
        stats = caught[row["family"]]
        stats[0] += ok
        stats[1] += 1
        if not ok:
            missed.append((row["family"], row["context"], line[:160]))
    recorded_looks = _record(tmp_path / "lookalikes.jsonl", [row["value"] for row in lookalikes])
    altered: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    false_positives = []
    for row, event in zip(lookalikes, recorded_looks, strict=True):
        changed = event["output"] != row["value"]
        changed = changed or redactor.redact_value(row["value"]) != row["value"]
        stats = altered[row["family"]]
        stats[0] += changed
        stats[1] += 1
        if changed:
            false_positives.append((row["family"], event["output"]))
    table = [f"{'family':<24} {'recall':>8} {'n':>5}"]
    table += [f"{fam:<24} {ok / n:>8.3f} {n:>5}" for fam, (ok, n) in sorted(caught.items())]
    table.append(f"{'look-alike family':<24} {'FP rate':>8} {'n':>5}")
    table += [f"{fam:<24} {bad / n:>8.3f} {n:>5}" for fam, (bad, n) in sorted(altered.items())]
    total_ok = sum(ok for ok, _ in caught.values())
    total = sum(n for _, n in caught.values())
    table.append(
        f"overall recall {total_ok / total:.4f} ({total} positives), "
        f"false positives {len(false_positives)}/{len(lookalikes)}"
    )
    with capsys.disabled():
        print("\n" + "\n".join(table))
    low = {fam: ok / n for fam, (ok, n) in caught.items() if ok / n < RECALL_FLOOR}
    assert not low, (low, missed[:10])
    assert not false_positives, false_positives


def test_corpus_files_are_what_the_generator_writes() -> None:
    """The committed corpus is exactly what make_corpus.py writes (deterministic, reviewable)."""
    spec = importlib.util.spec_from_file_location("make_corpus", DATA / "make_corpus.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    expected = module.render(module.positives(module.Gen(20261130)))
    assert (DATA / "positives.jsonl").read_text(encoding="utf-8") == expected
    assert (DATA / "lookalikes.jsonl").read_text(encoding="utf-8") == module.render(
        module.lookalikes()
    )


def test_fingerprint_is_stable_and_kind_is_kept(tmp_path: Path) -> None:
    """One secret, one marker in every run and in text; other secrets or keys, other marks."""
    other = "sk-proj-Zz9RbV2mK9pLw4TzN8cY3hJ6dF1sG5aQ0eW"
    markers = []
    for name in ("a.jsonl", "b.jsonl"):
        with Trace(tmp_path / name) as t:
            t.step("tool_result", output=f"use {OPENAI_KEY}", other=other)
        (event,) = [json.loads(line) for line in (tmp_path / name).read_text().splitlines()]
        markers.append((event["output"], event["other"]))
    assert markers[0] == markers[1]
    assert markers[0][0] == "use " + redact_text(OPENAI_KEY)
    assert MARKER.findall(markers[0][0])[0][0] == "openai_key"
    assert MARKER.findall(markers[0][0])[0][1] != MARKER.findall(markers[0][1])[0][1]
    assert fingerprint(OPENAI_KEY.encode()) != fingerprint(OPENAI_KEY.encode(), b"site key")
    keyed = Redactor(fingerprint_key=b"site key").redact_text(OPENAI_KEY)
    assert keyed.endswith(f":{fingerprint(OPENAI_KEY.encode(), b'site key')}]")


@pytest.mark.parametrize(
    "text",
    [
        "disk-usage-report-2024-10-01.pdf",
        "task-runner-nightly-2024-10-01-final and risk-matrix-2024-q3-approved and whisk-set",
        "bearer authentication",
        "authorization: pending approval",
        "Authorization: Bearer $OPENAI_API_KEY",
        "Bearer ${TOKEN}",
        "OPENAI_API_KEY=sk-...",
        "api_key: YOUR_API_KEY",
        "password=********",
        "token=xxxxxxxxxxxxxxxxxxxxxxxx",
        "sk-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
        '{"input_tokens": 12, "max_tokens": 4096, "token": "Hello"}',
    ],
)
def test_placeholders_and_ordinary_words_stay(text: str) -> None:
    """Placeholders ($VAR, ${VAR}, sk-..., YOUR_API_KEY, xxxx runs) and words are not secrets."""
    assert redact_text(text) == text


def test_github_and_npm_checksums_decide_low_entropy_tokens() -> None:
    """A valid CRC32 checksum makes a word-like ghp_/npm_ token a secret; a wrong one does not."""
    body = "abcdefghijklmnopqrstuvwxyzabcd"
    for prefix, kind in (("ghp_", "github_token"), ("npm_", "npm_token")):
        valid = prefix + body + _b62_checksum(body)
        assert MARKER.fullmatch(redact_text(valid)).group(1) == kind  # type: ignore[union-attr]
        wrong = prefix + body + ("zzzzzy" if valid[-6:] != "zzzzzy" else "zzzzzx")
        assert redact_text(wrong) == wrong


def test_allow_list_keeps_listed_strings(tmp_path: Path) -> None:
    """A string on the allow-list (a test fixture's key) is never redacted; others still are."""
    allowed = "sk-proj-Fixture0Key1ForTests2Only3abcDEF456"
    redactor = Redactor(allow=[allowed])
    with Trace(tmp_path / "t.jsonl", redact=redactor) as t:
        t.step("tool_result", output=f"{allowed} {OPENAI_KEY}")
    (event,) = [json.loads(line) for line in (tmp_path / "t.jsonl").read_text().splitlines()]
    assert event["output"].startswith(allowed + " [REDACTED:openai_key:")


def test_pii_hook_is_opt_in(tmp_path: Path) -> None:
    """E-mail addresses and phone numbers stay by default and go with the example PII hook."""
    text = "Write to jane.doe@example.com or call +44 20 7946 0958 about order 12345."
    assert redact_text(text) == text
    with Trace(tmp_path / "t.jsonl", redact=Redactor(pii=email_and_phone)) as t:
        t.step("tool_result", output=text)
    (event,) = [json.loads(line) for line in (tmp_path / "t.jsonl").read_text().splitlines()]
    assert [k for k, _ in MARKER.findall(event["output"])] == ["email", "phone"]
    assert "jane.doe" not in event["output"] and "7946" not in event["output"]
    assert "order 12345" in event["output"]


def test_secret_dict_keys_and_secret_named_keys(tmp_path: Path) -> None:
    """Secrets as dict keys go, and values are judged by their key name (line and value)."""
    value = {OPENAI_KEY: "owner", "password": "hunter2", "name": "svc"}
    with Trace(tmp_path / "t.jsonl") as t:
        t.step("tool_result", output=value)
    (event,) = [json.loads(line) for line in (tmp_path / "t.jsonl").read_text().splitlines()]
    assert OPENAI_KEY not in json.dumps(event) and "hunter2" not in json.dumps(event)
    assert event["output"]["name"] == "svc"
    red = Redactor().redact_value(value)
    assert isinstance(red, dict)
    assert "hunter2" not in json.dumps(red) and OPENAI_KEY not in json.dumps(red)


def test_json_string_tool_arguments_keep_a_valid_line(tmp_path: Path) -> None:
    """Credentials in JSON-string arguments are redacted; line and arguments still parse."""
    arguments = json.dumps(
        {"headers": {"Authorization": "Basic dXNlcjpodW50ZXIy", "X-Api-Key": "k3Y" * 8}}
    )
    with Trace(tmp_path / "t.jsonl") as t:
        t.step("tool_call", name="http", id="c1", arguments=arguments)
    (event,) = [json.loads(line) for line in (tmp_path / "t.jsonl").read_text().splitlines()]
    args = json.loads(event["arguments"])
    assert args["headers"]["Authorization"].startswith("Basic [REDACTED:authorization:")
    assert MARKER.fullmatch(args["headers"]["X-Api-Key"])


def test_capped_value_and_blob_are_redacted_once(tmp_path: Path) -> None:
    """A secret in a capped value is gone from the line and the blob, even cut by the cap."""
    secret = OPENAI_KEY
    value = "x" * 4080 + " " + secret + " tail"
    with Trace(tmp_path / "t.jsonl") as t:
        t.step("tool_result", output=value)
    text = (tmp_path / "t.jsonl").read_text()
    (blob,) = (tmp_path / "blobs").iterdir()
    assert secret[:12] not in text and secret[:12] not in blob.read_text()
    assert "[REDACTED:openai_key:" in blob.read_text()


def test_streamed_secret_is_caught_in_the_accumulated_text(tmp_path: Path) -> None:
    """A secret split over streamed chunks is in no chunk; the accumulated text is caught."""
    # The real openai client streams from a loopback SSE server through the openai-v2
    # instrumentation into JsonlSpanExporter: the span holds the whole reply.
    import openai
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from support.fixtures import instrumented_openai_v2
    from support.providers import ProviderServer, Turn

    from otel_jsonl.otel.exporter import JsonlSpanExporter

    reply = f"Your new key is {OPENAI_KEY}, keep it safe."
    exported = tmp_path / "spans.jsonl"
    provider = TracerProvider()
    exporter = JsonlSpanExporter(exported)
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    chunks: list[str] = []
    with (
        ProviderServer([Turn.reply(reply)]) as server,
        instrumented_openai_v2(provider, capture="SPAN_ONLY"),
    ):
        client = openai.OpenAI(base_url=server.openai_base_url, api_key="test", max_retries=0)
        stream = client.chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": "a key"}], stream=True
        )
        with stream:
            for chunk in stream:
                for choice in chunk.choices:
                    chunks.append(choice.delta.content or "")
    provider.shutdown()
    assert "".join(chunks) == reply
    # Chunks of eight characters: the key is spread over several, none of them a secret.
    assert all(redact_text(c) == c for c in chunks)
    with Trace(tmp_path / "t.jsonl") as t:
        for c in chunks:
            t.step("chunk", text=c)
        t.step("llm_call", output="".join(chunks))
    events = [json.loads(line) for line in (tmp_path / "t.jsonl").read_text().splitlines()]
    assert OPENAI_KEY not in events[-1]["output"]
    assert "[REDACTED:openai_key:" in events[-1]["output"]
    spans_text = exported.read_text()
    assert "llm_call" in spans_text
    assert OPENAI_KEY not in spans_text and "[REDACTED:openai_key:" in spans_text


def test_custom_patterns_run_beside_the_families() -> None:
    """Added patterns are redacted with their name; defaults=False leaves only them."""
    text = f"ticket TCK-123456 and {OPENAI_KEY}"
    both = Redactor({"ticket": r"TCK-[0-9]{6}"}).redact_text(text)
    assert [k for k, _ in MARKER.findall(both)] == ["ticket", "openai_key"]
    only = Redactor([r"TCK-[0-9]{6}"], defaults=False).redact_text(text)
    assert [k for k, _ in MARKER.findall(only)] == ["custom_1"] and OPENAI_KEY in only


def test_redacted_text_is_not_redacted_again() -> None:
    """Redacting twice gives the same text (markers are neither secrets nor re-fingerprinted)."""
    once = redact_text(f"password={OPENAI_KEY} Authorization: Bearer {OPENAI_KEY}")
    assert redact_text(once) == once


_PIECES = st.sampled_from(
    [
        "password=",
        '"password":"',
        '\\"Authorization\\": \\"Basic ',
        "Bearer ",
        OPENAI_KEY,
        "ghp_",
        "-----BEGIN PRIVATE KEY-----\n",
        "://u:",
        "@",
        '"',
        "\\",
        "=",
        ":",
        " ",
        "AKIA",
        "é",
        "\n",
    ]
)
_TEXTS = st.lists(st.one_of(_PIECES, st.text(max_size=12)), max_size=12).map("".join)


@settings(max_examples=300, deadline=None)
@given(values=st.dictionaries(_TEXTS, _TEXTS, max_size=4), text=_TEXTS)
def test_redacted_lines_always_parse(values: dict[str, str], text: str) -> None:
    """A redacted line always parses, keeps its keys, and leaves unmarked text unchanged."""
    from otel_jsonl.record import codec

    line = codec.dumps_line({"ts": 1.0, "run": "r", "kind": "x", "v": values, "t": text})
    red, n = Redactor().redact_bytes(line)
    event = json.loads(red)
    assert len(event["v"]) == len(values)
    if n == 0:
        assert red == line
    if "[REDACTED:" not in event["t"]:
        assert event["t"] == text


def test_ordinary_genai_keys_are_no_candidates() -> None:
    """The scan stops at no ordinary GenAI or recorder key; `key_count=` stops once, rejected."""
    from otel_jsonl.record import secrets

    keys = [
        "ts",
        "run",
        "seq",
        "kind",
        "operation",
        "model",
        "response_model",
        "provider",
        "response_id",
        "usage",
        "input_tokens",
        "output_tokens",
        "max_tokens",
        "temperature",
        "finish_reason",
        "input",
        "output",
        "role",
        "parts",
        "type",
        "content",
        "arguments",
        "result",
        "name",
        "id",
        "trace_id",
        "span_id",
        "parent_id",
        "start",
        "duration",
        "location",
        "description",
    ]
    line = json.dumps(dict.fromkeys(keys, "value")).encode()
    assert secrets.candidates(line) == []
    assert secrets.candidates(line.upper()) == []
    text = b"key_count=3 duration=4"
    assert secrets.candidates(text) == [(3, "key")]
    assert secrets.find_secrets(text, text=True) == []


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("PASSWD=Tr0ub4dor&3x", "password"),
        ("DB_PASSWORD = Tr0ub4dor&3x", "password"),
        ("AUTHORIZATION: Basic dXNlcjpodW50ZXIy", "authorization"),
        ("X-API-KEY: k3Yk3Yk3Yk3Yk3Yk3Yk3Y9", "api_key"),
        ("https://x.blob.core.windows.net/c?SIG=AbC123dEf456GhI789", "signature"),
        ("AKIAIOSFODNN7EXAMPLQ", "aws_access_key_id"),
        ("Bearer Xq7RbV2mK9pLw4TzN8cY3hJ6dF1sG5aQ0eU", "bearer_token"),
        ("ya29.a0AfH6SMBx7Q2kLmN3pR4sT5uV6wX7yZ8", "google_oauth_token"),
    ],
)
def test_folded_bytes_find_every_spelling(text: str, kind: str) -> None:
    """The one scan folds case and anchor bytes: capital key names and secrets at offset 0."""
    assert [k for k, _ in MARKER.findall(redact_text(text))] == [kind]
