"""The two scans of the redactor (forwards for most lines, reversed for lines dense with stops)
find the same secrets: on the corpus, in lines dense with its pieces, and on random mixtures."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from otel_jsonl.record import codec, secret_scan, secrets

DATA = Path(__file__).parent / "data" / "redaction"
OPENAI_KEY = "sk-proj-Xq7RbV2mK9pLw4TzN8cY3hJ6dF1sG5aQ0eU"


def _both(data: bytes, text: bool) -> tuple[list[tuple[int, int, str]], list[tuple[int, int, str]]]:
    """The spans found by the forward scan and by the reversed scan of ``data``."""
    forward = secret_scan.forward_candidates(data.translate(secret_scan.FOLD_TABLE))
    dense = secret_scan.dense_candidates(data)
    return (
        secrets.verify_candidates(data, forward, text),
        secrets.verify_candidates(data, dense, text),
    )


def corpus_values() -> list[Any]:
    """Every value of the redaction corpus (positives, then look-alikes), as its row holds it."""
    out = []
    for name in ("positives.jsonl", "lookalikes.jsonl"):
        with (DATA / name).open(encoding="utf-8") as f:
            out.extend(json.loads(line)["value"] for line in f)
    return out


def corpus_text(value: Any) -> str:
    """A corpus value as text: itself, or its JSON."""
    return value if isinstance(value, str) else json.dumps(value)


def _corpus_values() -> list[bytes]:
    """Each corpus value bare and recorded in a line."""
    out = []
    for value in corpus_values():
        out.append(corpus_text(value).encode("utf-8"))
        out.append(codec.dumps_line({"ts": 1.0, "kind": "tool_result", "output": value}))
    return out


@pytest.mark.parametrize("text", [False, True])
def test_both_scans_find_the_same_secrets_in_the_corpus(text: bool) -> None:
    """Every corpus value, bare and recorded in a line, gives the same spans by both scans."""
    values = _corpus_values()
    differ = [v for v in values if _both(v, text)[0] != _both(v, text)[1]]
    assert not differ, differ[:3]
    found = sum(1 for v in values if _both(v, text)[0])
    assert found > len(values) // 3  # the corpus holds secrets: the scans do find them


def test_dense_lines_of_the_corpus_are_scanned_reversed_with_the_same_result() -> None:
    """Corpus values joined into long lines: dense ones take the reversed scan, and
    find_secrets gives there what the forward scan gives."""
    values = _corpus_values()
    rng = random.Random(20261130)
    dense_lines = 0
    for _ in range(150):
        parts = rng.sample(values, 12)
        line = b'\\", \\"'.join(p.replace(b"\n", b" ") for p in parts)
        if len(line) < secret_scan.DENSE_MIN:
            continue
        forward, dense = _both(line, False)
        assert forward == dense
        if secret_scan.is_dense(line.translate(secret_scan.FOLD_TABLE)):
            dense_lines += 1
            assert secrets.find_secrets(line) == dense
    assert dense_lines > 20


@pytest.mark.parametrize(
    "line",
    [
        "password=KIAbc123XYZ456tuvw",  # AKIA after the stop comes first: the key is not read
        "secret=Izabella2024Secret",  # AIza
        "token=earer Xq7RbV2mK9pLw4TzN8cY3hJ6",  # Bearer
        "api_key=----BEGIN Xq7RbV2mK9pLw4TzN8cY3hJ6",  # a key block
        "password=//user:Tr0ub4dor3x@db.example.com",  # a URL
        "password=//hooks.slack.com/x Tr0ub4dor3x",
        "skBearer Xq7RbV2mK9pLw4TzN8cY3hJ6dF1sG5aQ0eU",  # Bearer after a prefix
        "ghp_KIAxq7RbV2mK9pLw4TzN8cY3hJ6dF1sG5aQ0eU12",
        "https://hooks.slack.com/services/T0ABC123/B0DEF456/Xq7RbV2mK9pLw4TzN8cY3hJ6",
        "AKIAKIAIOSFODNN7EXAMPLE AIzaSyA1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q",
        "x-----BEGIN RSA PRIVATE KEY-----\\nMIIEowIBAAKCAQEAxq7RbV2mK9pLw4TzN8cY3h\\n",
        "p;ssword=Tr0ub4dor3x AUTHORI;ATION: Basic dXNlcjpodW50ZXIy",
        "passwd\\\\=Tr0ub4dor3x passwd\\\\\\\\:Tr0ub4dor3x",  # no quote form: no key
        "password''=Tr0ub4dor3x token \"=Tr0ub4dor3x secret\\' :Tr0ub4dor3x",
    ],
)
def test_both_scans_agree_where_a_format_starts_at_a_stop(line: str) -> None:
    """Where a format that starts at a stop (AKIA, AIza, Bearer, a key block, a URL) meets a
    key name or a prefix, both scans take the same candidate."""
    for data in (line.encode(), codec.dumps_line({"t": line})):
        for text in (False, True):
            forward, dense = _both(data, text)
            assert forward == dense


def test_the_scan_taken_follows_the_density_of_stops() -> None:
    """JSON arguments and a listing of 4 KB are dense; prose and lines under 512 bytes are not."""
    args = json.dumps({"path": "src/app/module_1/handlers.py", "max_results": 25, "q": "x"})
    listing = "-rw-r--r--  1 agent staff 1037 Nov 30 07:01 report-2025-02-summary_v1.csv\n"
    prose = "The recorder writes one line per step, and the reader streams them back again. "
    for text, dense in ((args, True), (listing, True), (prose, False)):
        line = codec.dumps_line({"ts": 1.0, "kind": "tool_result", "output": text * 60})
        assert secret_scan.is_dense(line.translate(secret_scan.FOLD_TABLE)) is dense
    short = codec.dumps_line({"ts": 1.0, "kind": "tool_result", "output": args})
    assert not secret_scan.is_dense(short.translate(secret_scan.FOLD_TABLE))


_PIECES = st.sampled_from(
    [
        "password=",
        "PASSWORD=",
        '"password":"',
        '\\"api_key\\": \\"',
        "token=",
        "Authorization: Basic ",
        "AUTHORIZATION: ",
        "Bearer ",
        "earer ",
        OPENAI_KEY,
        "sk-",
        "sk",
        "ghp_",
        "github_pat_",
        "xoxb-",
        "SG.",
        "ya29.",
        "eyJ",
        "AKIA",
        "KIA",
        "AIza",
        "Iza",
        "-----BEGIN PRIVATE KEY-----\n",
        "----BEGIN ",
        "https://u:",
        "//hooks.slack.com/services/T0AB/B0CD/",
        "@",
        "://",
        '"',
        "\\",
        "'",
        "=",
        ":",
        "-",
        "_",
        ";",
        ".",
        " ",
        "z",
        "Z",
        "9",
        "lazy",
        "Xq7RbV2mK9pLw4TzN8cY3hJ6dF1sG5aQ0eUabcd",
        "\n",
    ]
)
_TEXTS = st.lists(st.one_of(_PIECES, st.text(max_size=8)), max_size=24).map("".join)


@settings(max_examples=400, deadline=None)
@given(text=_TEXTS, as_text=st.booleans())
def test_both_scans_agree_on_any_mixture(text: str, as_text: bool) -> None:
    """Random mixtures of the families' pieces and look-alikes give the same spans by both."""
    data = text.encode("utf-8") if as_text else codec.dumps_line({"t": text})
    forward, dense = _both(data, as_text)
    assert forward == dense
    assert secrets.find_secrets(data, as_text) == forward


def _step_line(value: object, run_id: str = "0a1b2c3d") -> tuple[bytes, int]:
    """A recorder line holding ``value`` and where the screen may start in it (after the
    line's own ``ts``, ``run`` and ``seq``), as ``LineWriter.write_event`` finds it."""
    event = {"ts": 1796036654.8872588, "run": run_id, "seq": 7, "kind": "tool_result"}
    line = codec.dumps_line({**event, "output": value})
    return line, line.find(b',"kind":', 0, 160) + 1


def test_skipping_the_recorders_own_header_finds_every_secret_of_the_corpus() -> None:
    """A scan that starts after a line's ts, generated run id and seq finds the same secrets
    as the scan of the whole line, for every value of the corpus."""
    from otel_jsonl.record.redact import Redactor

    redactor = Redactor()
    lines = 0
    for value in corpus_values():
        line, start = _step_line(value)
        assert start > 40  # the header was found, so the skip is really taken
        assert secrets.find_secrets(line, False, start) == secrets.find_secrets(line)
        assert redactor.redact_bytes(line, False, start) == redactor.redact_bytes(line)
        lines += 1
    assert lines > 1000


@settings(max_examples=300, deadline=None)
@given(text=_TEXTS, run_id=st.text(alphabet="0123456789abcdefABCDEF-", min_size=1, max_size=64))
def test_skipping_the_header_agrees_with_the_whole_line_on_any_mixture(
    text: str, run_id: str
) -> None:
    """For any text and any run id of hex digits and dashes, skipping the header changes
    nothing found."""
    line, start = _step_line(text, run_id)
    assert secrets.find_secrets(line, False, start) == secrets.find_secrets(line)


def test_the_recorder_skips_only_a_header_that_cannot_hold_a_secret(tmp_path: Path) -> None:
    """Trace skips the header for its generated run ids and hex/UUID ones, not for another
    run id or a clock of the caller's; a secret given as the run id is still redacted."""
    from otel_jsonl import Trace

    aws_key_id = "AKIA" + "Z7Q2X4M6W8E3R5T9"  # the form of an access key id, made up here
    cases = [
        ({}, True),
        ({"run_id": "123e4567-e89b-42d3-a456-426614174000"}, True),
        ({"run_id": aws_key_id}, False),
        ({"run_id": "nightly"}, False),
        ({"clock": lambda: 1.0}, False),
    ]
    for i, (kwargs, skips) in enumerate(cases):
        with Trace(tmp_path / f"t{i}.jsonl", **kwargs) as t:
            assert t._header is skips, kwargs
            t.step("tool_result", output="plain text")
    with Trace(tmp_path / "secret.jsonl", run_id=aws_key_id, strict=True) as t:
        t.step("tool_result", output="plain text")
    written = (tmp_path / "secret.jsonl").read_text(encoding="utf-8")
    assert aws_key_id not in written
    assert '"run":"[REDACTED:aws_access_key_id:' in written
