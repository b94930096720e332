"""OTLP ingest: `otel-jsonl serve` against Phoenix's OTLP/HTTP ingest, and the receiver's cost per
span against the in-process exporter.

The spans are bench/exporter.py's GenAI chat spans (10 ``gen_ai.*`` attributes and captured
input and output messages), made by a real tracer and encoded once, in batches of 512, with
the SDK's own OTLP protobuf encoder (the bodies its OTLP/HTTP exporter sends). Two sender
processes POST them over keep-alive connections (honouring 429 and ``Retry-After``); the clock
runs from the first request until the server has *written* every span (``GET /healthz``, asked
every 20 ms, for the receiver; for Phoenix, until its span count, read over GraphQL once a
second, reaches the total: its storage is asynchronous).

Cost per span: the server process's CPU time (user + system, from /proc) over the run,
divided by the spans, against ``JsonlSpanExporter.export()``'s CPU time per span on the same
spans in this process (the same batches, the same file options). Receiver and in-process runs
are interleaved; medians are printed. Phoenix runs once (it starts in ~20 s and keeps its
database); it is started from its own venv as tests/support/phoenix.py does.

    .venv/bin/python bench/serve.py [--spans 10000] [--repeat 3] [--no-phoenix]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import pickle
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT / "tests"))

from exporter import attributes  # noqa: E402  (bench/exporter.py's span attributes)

BATCH = 512
PROJECT = "bench-serve"
TICKS = os.sysconf("SC_CLK_TCK")


def make_spans(n: int) -> list[Any]:
    """``n`` finished chat spans from a real tracer (a resource naming the Phoenix project)."""
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    memory = InMemorySpanExporter()
    provider = TracerProvider(
        resource=Resource.create({"service.name": "bench", "openinference.project.name": PROJECT}),
        shutdown_on_exit=False,
    )
    provider.add_span_processor(SimpleSpanProcessor(memory))
    tracer = provider.get_tracer("bench")
    for i in range(n):
        with tracer.start_as_current_span("chat gpt-4o-mini", attributes=attributes(i)):
            pass
    provider.shutdown()
    return list(memory.get_finished_spans())


def encode(spans: list[Any]) -> list[bytes]:
    """The protobuf request bodies of ``spans`` in batches of 512 (the SDK's encoder)."""
    from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans

    return [
        bytes(encode_spans(spans[i : i + BATCH]).SerializeToString())
        for i in range(0, len(spans), BATCH)
    ]


# --- the sender (a subprocess) ---------------------------------------------------------------


def sender(url: str, bodies_file: str) -> int:
    """POST every body to ``url`` over one keep-alive connection; retry 429/503 as told."""
    with open(bodies_file, "rb") as f:
        bodies: list[bytes] = pickle.load(f)
    parts = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=120)
    headers = {"Content-Type": "application/x-protobuf"}
    for body in bodies:
        for _ in range(1000):  # bounded: a server that refuses forever ends the run
            try:
                conn.request("POST", parts.path, body, headers)
                resp = conn.getresponse()
                resp.read()
            except (ConnectionError, http.client.HTTPException):
                conn.close()
                conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=120)
                time.sleep(0.05)
                continue
            if resp.status == 200:
                break
            if resp.status in (429, 503):
                time.sleep(float(resp.getheader("Retry-After") or 1))
                continue
            print(f"sender: HTTP {resp.status}", file=sys.stderr)
            return 1
        else:
            return 1
    conn.close()
    return 0


# --- measuring -------------------------------------------------------------------------------


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of process ``pid`` (threads included)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def split_bodies(bodies: list[bytes], directory: Path) -> list[Path]:
    """Two files of bodies, one per sender, interleaved."""
    paths = []
    for k in range(2):
        path = directory / f"bodies-{k}.pickle"
        with path.open("wb") as f:
            pickle.dump(bodies[k::2], f)
        paths.append(path)
    return paths


def ingest(
    url: str, files: list[Path], written: Any, total: int, pid: int, poll: float
) -> tuple[float, float]:
    """Run two senders against ``url``; wait until ``written()`` (asked every ``poll``
    seconds) reaches ``total``.

    Returns (seconds, server CPU seconds)."""
    cpu0 = cpu_seconds(pid)
    start = time.perf_counter()
    procs = [
        subprocess.Popen([sys.executable, __file__, "--sender", url, str(path)]) for path in files
    ]
    deadline = time.monotonic() + 1800
    while written() < total:
        if time.monotonic() > deadline:
            raise RuntimeError(f"only {written()} of {total} spans written in time")
        if any(proc.poll() not in (None, 0) for proc in procs):
            raise RuntimeError("a sender failed")
        time.sleep(poll)
    elapsed = time.perf_counter() - start
    cpu = cpu_seconds(pid) - cpu0
    for proc in procs:
        if proc.wait(timeout=600) != 0:
            raise RuntimeError("a sender failed")
    return elapsed, cpu


def run_receiver(files: list[Path], total: int, directory: Path) -> tuple[float, float]:
    """One `otel-jsonl serve` run: (spans per second, server CPU seconds per span)."""
    out = directory / "served.jsonl"
    out.unlink(missing_ok=True)
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "otel_jsonl",
            "serve",
            "-o",
            str(out),
            "--http",
            "127.0.0.1:0",
            "--grpc",
            "none",
        ],
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stderr is not None
    line = proc.stderr.readline()
    base = line.split("OTLP/HTTP on ", 1)[1].split()[0].rstrip(";")
    port = int(base.rsplit(":", 1)[1])

    def written() -> int:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        conn.request("GET", "/healthz")
        value = int(json.loads(conn.getresponse().read())["spans"])
        conn.close()
        return value

    try:
        seconds, cpu = ingest(base + "/v1/traces", files, written, total, proc.pid, 0.02)
    finally:
        proc.terminate()
        proc.wait(timeout=60)
        proc.stderr.close()
    return total / seconds, cpu / total


def run_in_process(spans: list[Any], directory: Path) -> float:
    """CPU seconds per span of ``JsonlSpanExporter.export()`` over the same batches."""
    from otel_jsonl.otel.exporter import JsonlSpanExporter

    path = directory / "in-process.jsonl"
    path.unlink(missing_ok=True)
    exporter = JsonlSpanExporter(path)
    start = time.process_time()
    for i in range(0, len(spans), BATCH):
        exporter.export(spans[i : i + BATCH])
    exporter.shutdown()
    return (time.process_time() - start) / len(spans)


def run_phoenix(files: list[Path], total: int) -> tuple[float, float]:
    """Phoenix's ingest of the same bodies: (spans per second, server CPU seconds per span)."""
    from support.phoenix import PhoenixServer

    with PhoenixServer(grpc=False) as server:
        url = server.base_url + "/graphql"
        query = json.dumps(
            {"query": "{ projects { edges { node { name recordCount } } } }"}
        ).encode()

        def written() -> int:
            request = urllib.request.Request(
                url, data=query, headers={"Content-Type": "application/json"}
            )
            with urllib.request.urlopen(request, timeout=30) as response:
                data = json.load(response)
            for edge in data["data"]["projects"]["edges"]:
                if edge["node"]["name"] == PROJECT:
                    return int(edge["node"]["recordCount"])
            return 0

        # Polled once a second: its count query costs Phoenix CPU, which would be charged to
        # its ingest (a run takes minutes, so the resolution does not matter).
        seconds, cpu = ingest(server.otlp_http_endpoint, files, written, total, server.pid, 1.0)
    return total / seconds, cpu / total


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spans", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--no-phoenix", action="store_true")
    parser.add_argument("--sender", nargs=2, metavar=("URL", "BODIES"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.sender:
        return sender(*args.sender)
    spans = make_spans(args.spans)
    bodies = encode(spans)
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        files = split_bodies(bodies, directory)
        run_in_process(spans[:BATCH], directory)  # warm-up
        rates, costs, local = [], [], []
        for _ in range(args.repeat):  # interleaved: the machine is noisy
            rate, cost = run_receiver(files, len(spans), directory)
            rates.append(rate)
            costs.append(cost)
            local.append(run_in_process(spans, directory))
        phoenix = None if args.no_phoenix else run_phoenix(files, len(spans))
    rate, cost, base = statistics.median(rates), statistics.median(costs), statistics.median(local)
    print(f"{len(spans)} spans, 2 senders over OTLP/HTTP (protobuf, {BATCH} per request)")
    print(f"otel-jsonl serve : {rate:9,.0f} spans/s received and written (median of {args.repeat})")
    print(f"                   {cost * 1e6:9.1f} us CPU per span in the server")
    print(f"in-process export: {base * 1e6:9.1f} us CPU per span (JsonlSpanExporter.export)")
    print(f"receiver / in-process cost per span: {cost / base:.2f}x (target <= 2x)")
    if phoenix is not None:
        p_rate, p_cost = phoenix
        print(f"Phoenix ingest   : {p_rate:9,.0f} spans/s stored (one run)")
        print(f"                   {p_cost * 1e6:9.1f} us CPU per span in the server")
        print(f"otel-jsonl serve / Phoenix: {rate / p_rate:.1f}x spans/s (target >= 5x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
