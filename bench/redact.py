"""What the secret screen costs per line, beside the old 8-pattern screen and the write floor.

For lines of typical agent text (prose, JSON tool arguments, code, a shell listing) of about
200 B, 2 KB, 4 KB and 64 KB, with no secret in them (the common case), medians of interleaved
repetitions of:

- ``screen``: ``find_secrets`` as installed, as the recorder calls it (from after the line's
  own ``ts``, generated ``run`` and ``seq``): with the ``fast`` extra, one Hyperscan pass
  that finds the stops where a verifier can accept something, then the ``re`` pattern at those
  stops alone; and ``redact_bytes`` of the default ``Redactor`` on the whole line (what the
  exporter's writer calls);
- ``stdlib``: ``find_secrets`` in ``re`` alone (one ``translate`` and one ``re`` scan
  forwards, or, for a line of 512 bytes or more dense with stops, the whole line reversed and
  two scans, key stops and token stops apart; the ``scan`` column says which);
- ``old screen``: the redactor of the 8 families the first version knew (OpenAI, Anthropic,
  GitHub, AWS, Google, Bearer, Basic/Authorization, Slack), reimplemented here as it was: its
  screen (``lower``, two ``in`` tests, ``translate``, a ``find`` per token run, a regex per
  long run) and, when the screen says maybe, each pattern whose literal is in the line;
- ``floor``: ``dumps_line`` of the step (orjson) and one ``os.write`` of it, which every step pays.

Prints microseconds and nanoseconds per byte, the ratio of the screen (and of ``re`` alone) to
the old screen and to the floor, the number of passes over the line, the prefilter's stops, the
bytes the ``re`` scan stops at and how many of those reach a verifier. Issue 16's budget for
the screen: about 1 ns per byte, near nothing on 200 B lines. Times are CPU time of the thread
(``time.thread_time``), which a busy machine disturbs less.
Usage: ``python bench/redact.py [--reps 9]``.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from otel_jsonl.record import codec, secret_accel, secrets
from otel_jsonl.record.redact import Redactor
from otel_jsonl.record.secret_scan import FOLD_TABLE, is_dense

ROOT = Path(__file__).resolve().parent.parent

# -- the old screen (the 8 families of the first version), as it was ------------------------------

_OLD_RUN_TABLE = bytes(
    ord("x") if chr(c).isascii() and (chr(c).isalnum() or chr(c) in "_-") else ord(" ")
    for c in range(256)
)
_OLD_RUN_NEEDLE = b"x" * 20
_OLD_TOKEN_START = re.compile(rb"sk-|AKIA|ASIA|gh[pousr]_|github_pat_|AIza|xox[abposr]-")


# name -> (pattern, literals one of which every match holds), as they were.
_OLD_PATTERNS = [
    (re.compile(rx), tuple(lit.encode() for lit in lits))
    for rx, lits in (
        (rb"(?P<secret>sk-ant-[A-Za-z0-9_\-]{16,})", ("sk-ant-",)),
        (rb"(?P<secret>sk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_\-]{20,})", ("sk-",)),
        (rb"(?P<secret>(?:AKIA|ASIA)[0-9A-Z]{16})\b", ("AKIA", "ASIA")),
        (
            rb"(?P<secret>(?:gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{22,}))",
            ("ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_"),
        ),
        (rb"(?P<secret>AIza[0-9A-Za-z_\-]{35})", ("AIza",)),
        (rb"(?P<secret>xox[abposr]-[A-Za-z0-9\-]{15,})", ("xox",)),
        (rb"(?i:bearer)\s+(?P<secret>[A-Za-z0-9\-._~+/]{8,}=*)", ("Bearer", "bearer", "BEARER")),
        (
            (
                rb"(?i:authorization)(?:\"\s*:\s*\"|\s*[:=]\s*)"
                rb"(?:(?i:basic|bearer|token|digest|negotiate)\s+)?"
                rb"(?!\[REDACTED)(?!(?i:basic|bearer|token|digest|negotiate)\s)"
                rb"(?P<secret>[^\s\"\\,;]{4,})"
            ),
            ("uthorization", "UTHORIZATION"),
        ),
    )
]


def old_redact(data: bytes) -> int:
    """The old redactor on a line: its screen, then, when the screen says maybe, each of the 8
    patterns whose literal is in the line (a search here: the old one replaced)."""
    if not old_screen(data):
        return 0
    return sum(
        1 for rx, lits in _OLD_PATTERNS if any(lit in data for lit in lits) and rx.search(data)
    )


def old_screen(data: bytes) -> bool:
    """False means none of the 8 old patterns can match ``data``."""
    low = data.lower()
    if b"earer" in low or b"uthorization" in low:
        return True
    runs = data.translate(_OLD_RUN_TABLE)
    start = runs.find(_OLD_RUN_NEEDLE)
    while start >= 0:
        end = runs.find(b" ", start)
        if end < 0:
            end = len(runs)
        if _OLD_TOKEN_START.search(data, start, end):
            return True
        start = runs.find(_OLD_RUN_NEEDLE, end)
    return False


# -- typical text --------------------------------------------------------------------------------


def texts() -> dict[str, str]:
    """Kinds of text an agent records, each long enough for the 64 KB lines."""
    prose = "\n\n".join(
        para
        for path in sorted((ROOT / "docs").glob("*.md"))
        for para in path.read_text(encoding="utf-8").split("\n\n")
        # paragraphs of prose (not tables or lists), and none with the docs' example keys
        if para[:1].isalpha() and not secrets.find_secrets(json.dumps(para).encode())
    )
    code = "\n".join(
        p.read_text(encoding="utf-8") for p in sorted((ROOT / "otel_jsonl").glob("*/*.py"))
    )
    args = []
    for i in range(2000):
        args.append(
            json.dumps(
                {
                    "path": f"src/app/module_{i}/handlers.py",
                    "query": "SELECT id, name, created_at FROM users WHERE team_id = ? LIMIT 50",
                    "options": {"recursive": True, "max_results": 25, "encoding": "utf-8"},
                    "message": "Refactor the retry loop so that it backs off exponentially.",
                }
            )
        )
    listing = "\n".join(
        f"-rw-r--r--  1 agent staff {1000 + 37 * i:>8} Nov 30 07:{i % 60:02d} "
        f"report-{2024 + i % 3}-{1 + i % 12:02d}-summary_v{i % 7}.csv"
        for i in range(2000)
    )
    prose = "\n\n".join([prose] * (1 + 70_000 // max(1, len(prose))))  # enough for 64 KB
    return {"prose": prose, "tool args": "\n".join(args), "code": code, "listing": listing}


def line_of(text: str, size: int) -> tuple[dict[str, object], bytes]:
    """A tool_result step whose encoded line is about ``size`` bytes."""
    event: dict[str, object] = {"ts": 1764489600.123, "run": "1a2b3c4d", "seq": 7}
    event.update(kind="tool_result", id="call_abc123", name="read_file", output="")
    overhead = len(codec.dumps_line(event))
    cut = max(0, size - overhead)
    body = text[:cut]
    while len(codec.dumps_line({**event, "output": body})) > size and body:
        body = body[: -max(1, (len(codec.dumps_line({**event, "output": body})) - size))]
    event["output"] = body
    return event, codec.dumps_line(event)


def recorder_steps() -> list[tuple[str, dict[str, object], bytes]]:
    """The steps ``bench/recorder.py`` times against the article (200 B, 2 KB, 4 KB)."""
    from recorder import payloads  # bench/ is on the path when this file runs as a script

    steps = []
    for name, (kind, fields) in payloads().items():
        if "capped" not in name:
            event = {"ts": 1764489600.123, "run": "1a2b3c4d", "seq": 3, "kind": kind, **fields}
            steps.append((f"recorder {name.split()[0]}", event, codec.dumps_line(event)))
    return steps


def per_call(fn: Callable[[], object], seconds: float = 0.02) -> float:
    """CPU seconds of this thread per call of ``fn``, over about ``seconds``: CPU time, not
    wall time, so that the other processes of a busy machine do not count."""
    n = 1
    while True:
        t0 = time.thread_time()
        for _ in range(n):
            fn()
        elapsed = time.thread_time() - t0
        if elapsed >= seconds:
            return elapsed / n
        n *= 4 if elapsed < seconds / 8 else 2


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=9)
    args = parser.parse_args()
    redactor = Redactor()
    secrets.find_secrets(b"warm up: compile the scan")
    accel = "Hyperscan prefilter, then re at its stops" if secret_accel.stops_finder() else "re"
    print(f"median of {args.reps} interleaved repetitions; no secret in any line")
    print(f"screen: find_secrets as installed ({accel}); stdlib: re alone")
    print(
        f"{'text':<14} {'size':>6} {'screen µs':>10} {'ns/B':>5} {'old µs':>8} {'ns/B':>5} "
        f"{'x old':>6} {'stdlib µs':>9} {'x old':>6} "
        f"{'redact_bytes µs':>15} {'floor µs':>9} {'x floor':>8} {'pre':>3} {'stops':>5} "
        f"{'verified':>8} {'scan':>4}"
    )
    cases = [
        (name, *line_of(text, size))
        for name, text in texts().items()
        for size in (200, 2048, 4096, 65536)
    ]
    cases += recorder_steps()
    fd, tmp = tempfile.mkstemp()
    os.close(fd)
    out = os.open(tmp, os.O_WRONLY | os.O_APPEND)
    try:
        for name, event, line in cases:
            assert not secrets.find_secrets(line), (name, len(line), secrets.find_secrets(line))
            start = line.find(b',"kind":', 0, 160) + 1  # as LineWriter.write_event skips
            dense = is_dense(line.translate(FOLD_TABLE))
            stops = line.translate(FOLD_TABLE).count(b":", 0 if dense else start)
            scan = "rev" if dense else "fwd"
            verified = len(secrets.candidates(line))
            prefilter = secret_accel.stops_finder()
            pre = len(prefilter(line)) if prefilter is not None else 0
            variants: dict[str, Callable[[], object]] = {
                "screen": lambda b=line, at=start: secrets.find_secrets(b, False, at),
                "stdlib": lambda b=line, at=start: secrets.find_secrets_stdlib(b, False, at),
                "old": lambda b=line: old_redact(b),
                "redact_bytes": lambda b=line: redactor.redact_bytes(b),
                "floor": lambda e=event: os.write(out, codec.dumps_line(e)),
            }
            times: dict[str, list[float]] = {k: [] for k in variants}
            for _ in range(args.reps):
                for key, fn in variants.items():
                    times[key].append(per_call(fn))
                os.ftruncate(out, 0)
            med = {k: statistics.median(v) * 1e6 for k, v in times.items()}
            n = len(line)
            print(
                f"{name:<14} {n:>6} {med['screen']:>10.2f} {med['screen'] * 1e3 / n:>5.2f} "
                f"{med['old']:>8.2f} {med['old'] * 1e3 / n:>5.2f} "
                f"{med['screen'] / med['old']:>6.2f} {med['stdlib']:>9.2f} "
                f"{med['stdlib'] / med['old']:>6.2f} {med['redact_bytes']:>15.2f} "
                f"{med['floor']:>9.2f} {med['screen'] / med['floor']:>8.2f} "
                f"{pre:>3} {stops:>5} {verified:>8} {scan:>4}"
            )
    finally:
        os.close(out)
        os.unlink(tmp)
    print(
        "passes over the line: with the prefilter 1 (Hyperscan), then the re pattern in a "
        "window at each of its stops (pre); in re alone fwd 2 (translate, one re scan from "
        "its literal ':'), rev 5 (a count of 256 bytes, translate twice, reverse, two re "
        "scans); old screen 4 or more (lower, two in tests, translate, a find per long run)"
    )
    print(
        "pre: the prefilter's stops; stops: the bytes the re scan stops at (':' after "
        "folding); verified: the stops where a key name or prefix matched and a verifier ran "
        "(and found nothing); scan: which re scan the line takes"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
