"""The optional Hyperscan prefilter of the secret scan finds the same secrets as the scan in
``re`` alone: on the corpus, in dense lines, on random mixtures and bytes, from several threads;
and without Hyperscan (or switched off) the recorder scans with the standard library."""

from __future__ import annotations

import os
import random
import subprocess
import sys
import threading

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_redact_scan import _TEXTS, _corpus_values, _step_line

from otel_jsonl.record import codec, secret_accel, secret_scan, secrets

OPENAI_KEY = "sk-proj-Xq7RbV2mK9pLw4TzN8cY3hJ6dF1sG5aQ0eU"


@pytest.fixture(autouse=True)
def _accelerated() -> object:
    """Every test here runs with the accelerator on (and leaves it as it found it)."""
    secrets.use_accelerator(True)
    yield
    secrets.use_accelerator(True)


def _stops(data: bytes) -> list[int]:
    finder = secret_accel.stops_finder()
    assert finder is not None, "Hyperscan is in requirements/test.txt: the prefilter must load"
    return finder(data)


@pytest.mark.parametrize("text", [False, True])
def test_the_prefilter_finds_every_secret_of_the_corpus(text: bool) -> None:
    """Every corpus value, bare and recorded in a line: the same spans with the prefilter as
    with ``re`` alone, and the corpus's secrets are found."""
    values = _corpus_values()
    differ = [
        v for v in values if secrets.find_secrets(v, text) != secrets.find_secrets_stdlib(v, text)
    ]
    assert not differ, differ[:3]
    found = sum(1 for v in values if secrets.find_secrets(v, text))
    assert found > len(values) // 3


def test_candidates_left_out_are_ones_no_verifier_accepts() -> None:
    """The prefilter's candidates are candidates of the forward scan, and every candidate of the
    forward scan it leaves out is one that no verifier accepts, alone or in its line."""
    values = _corpus_values()
    left_out = 0
    for data in values:
        forward = secret_scan.forward_candidates(data.translate(secret_scan.FOLD_TABLE))
        accel = secret_accel.accelerated_candidates(data, _stops(data))
        assert set(accel) <= set(forward), data
        for cand in set(forward) - set(accel):
            left_out += 1
            for text in (False, True):
                assert not secrets.verify_candidates(data, [cand], text), (data, cand)
    assert left_out > 100  # it does leave stops out (``re`` stops at every separator)


def test_the_prefilter_reports_the_stops_of_each_kind_of_candidate() -> None:
    """Where a key's separator, a prefix's stop, ``Bearer``, a key block and a URL's ``://``
    are, and nothing in a line of prose."""
    line = b'{"api_key": "v", "t": "sk-x Bearer y -----BEGIN z", "u": "https://me:pw@host"}'
    want = [
        line.index(b'":', 2) + 1,  # the separator after "api_key"
        line.index(b"sk-") + 2,
        line.index(b"Bearer"),
        line.index(b"-----BEGIN"),
        line.index(b"://"),
    ]
    assert _stops(line) == want
    assert _stops(b"The recorder writes one line per step; the reader streams them back.") == []
    assert _stops(b"") == []


def test_dense_lines_of_the_corpus_give_the_same_secrets() -> None:
    """Corpus values joined into long lines (dense ones take the reversed scan in ``re``)."""
    values = _corpus_values()
    rng = random.Random(20261130)
    for _ in range(150):
        parts = rng.sample(values, 12)
        line = b'\\", \\"'.join(p.replace(b"\n", b" ") for p in parts)
        assert secrets.find_secrets(line) == secrets.find_secrets_stdlib(line)
        assert secrets.find_secrets(line, True) == secrets.find_secrets_stdlib(line, True)


@settings(max_examples=400, deadline=None)
@given(text=_TEXTS, as_text=st.booleans())
def test_the_prefilter_agrees_on_any_mixture(text: str, as_text: bool) -> None:
    """Random mixtures of the families' pieces and look-alikes: the same spans."""
    data = text.encode("utf-8") if as_text else codec.dumps_line({"t": text})
    assert secrets.find_secrets(data, as_text) == secrets.find_secrets_stdlib(data, as_text)


@settings(max_examples=300, deadline=None)
@given(data=st.binary(max_size=300), as_text=st.booleans())
def test_the_prefilter_agrees_on_any_bytes(data: bytes, as_text: bool) -> None:
    """Arbitrary bytes: the same spans, and no error."""
    assert secrets.find_secrets(data, as_text) == secrets.find_secrets_stdlib(data, as_text)


@settings(max_examples=200, deadline=None)
@given(text=_TEXTS)
def test_the_recorders_header_skip_agrees_with_the_prefilter(text: str) -> None:
    """The recorder's start after its own header gives the same spans with the prefilter."""
    line, start = _step_line(text)
    assert secrets.find_secrets(line, False, start) == secrets.find_secrets_stdlib(
        line, False, start
    )


@settings(max_examples=300, deadline=None)
@given(
    text=st.lists(
        st.one_of(_TEXTS, st.sampled_from(["https://" + "u" * 250 + ":p@h", " " * 40, "x" * 90])),
        max_size=8,
    ).map("".join),
    as_text=st.booleans(),
)
def test_a_window_around_each_stop_matches_as_the_whole_line(text: str, as_text: bool) -> None:
    """The scan's pattern tried at every position in its own window of the line gives every
    candidate of the forward scan over the whole folded line, and nothing else."""
    data = text.encode("utf-8") if as_text else codec.dumps_line({"t": text})
    whole = secret_scan.forward_candidates(data.translate(secret_scan.FOLD_TABLE))
    assert secret_accel.accelerated_candidates(data, list(range(len(data))), windowed=True) == whole


def test_long_lines_with_few_stops_are_matched_in_windows() -> None:
    """Corpus values in 8 KB of prose take the windowed matching, with the same secrets as
    the scan in ``re`` alone."""
    values = _corpus_values()
    filler = b"The recorder writes one line per step; the reader streams them back again. " * 110
    rng = random.Random(16)
    windowed = 0
    for value in values[::7]:
        at = rng.randrange(len(filler))
        data = filler[:at] + b" " + value.rstrip(b"\n") + b" " + filler[at:]
        stops = _stops(data)
        windowed += len(stops) * secret_accel._WINDOW < len(data)
        assert secrets.find_secrets(data, True) == secrets.find_secrets_stdlib(data, True)
    assert windowed > len(values[::7]) // 2


def test_threads_scan_with_their_own_scratch() -> None:
    """Four threads scanning the corpus at once find what one thread finds."""
    values = _corpus_values()
    want = [secrets.find_secrets_stdlib(v) for v in values]
    results: list[list[list[tuple[int, int, str]]]] = [[] for _ in range(4)]

    def work(i: int) -> None:
        results[i] = [secrets.find_secrets(v) for v in values]

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert all(r == want for r in results)


def test_use_accelerator_false_scans_with_re_alone() -> None:
    """Switched off, the scan does not call the prefilter, and finds the same secrets."""
    line = codec.dumps_line({"t": f"key {OPENAI_KEY}"})
    with_accel = secrets.find_secrets(line)
    secrets.use_accelerator(False)
    assert secrets._ACCEL == [None]
    assert secrets.find_secrets(line) == with_accel
    assert with_accel and with_accel[0][2] == "openai_key"


_WITHOUT = """
import sys
{block}
from otel_jsonl.record import secret_accel, secrets
line = b'{{"t": "key {key}"}}'
print(secret_accel.stops_finder() is None, [k for _, _, k in secrets.find_secrets(line)])
"""


@pytest.mark.parametrize(
    ("block", "env"),
    [
        ("sys.modules['hyperscan'] = None  # not installed", {}),
        ("", {"OTEL_JSONL_NO_ACCEL": "1"}),
    ],
    ids=["not-installed", "switched-off"],
)
def test_without_hyperscan_the_scan_runs_in_the_standard_library(
    block: str, env: dict[str, str]
) -> None:
    """Hyperscan missing or switched off: no prefilter, and the secret is still found."""
    code = _WITHOUT.format(block=block, key=OPENAI_KEY)
    environ = {k: v for k, v in os.environ.items() if k != "OTEL_JSONL_NO_ACCEL"} | env
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=environ, timeout=60
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "True ['openai_key']"
