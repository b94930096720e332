"""Benchmark the HTML view: page size against the JSONL, build time against reading the run,
and in Debian's Chromium the time to interactive, scrolling, a jump to the end and a search.

    .venv/bin/python bench/view.py [--sizes 1000,10000] [--reps 5]

Each size N writes a run of N steps (llm_call, tool_call, tool_result, repeated, with realistic
message text), builds its page with ``view_html`` and opens it from file:// in headless
Chromium (the system package, as the tests use it). Repetitions are interleaved across sizes;
medians are printed. The issue's targets: the page within ~1.5x the JSONL, and a 10,000-step run
that opens and scrolls without freezing (long tasks are the browser's own measure of a frozen
main thread: any task over 50 ms).

Baseline ("static"): the same rows as one pre-built HTML table (every step in the DOM, no
script), the approach the view avoids; its open and scroll numbers are printed beside the
view's. Headless Chromium here rasterises in software on a shared CPU: compare the two columns,
not the absolute numbers.
"""

from __future__ import annotations

import argparse
import html
import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from otel_jsonl.analyze.html import view_html, write_html
from otel_jsonl.read.runs import read_run

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
# Collects the page's long tasks (main-thread work over 50 ms) from before its script runs.
LONGTASKS = """
window.__long = [];
new PerformanceObserver(function (l) {
  l.getEntries().forEach(function (e) { window.__long.push(e.duration); });
}).observe({entryTypes: ['longtask']});
"""


def make_run(n: int) -> list[dict[str, Any]]:
    t0 = 1_764_300_000.0
    events: list[dict[str, Any]] = [
        {
            "ts": t0,
            "run": "bench001",
            "seq": 0,
            "kind": "input",
            "system": "You are a research agent. Use the search tool.",
            "messages": [{"role": "user", "content": "Find the cheapest flight to Lisbon."}],
        }
    ]
    for i in range(1, n):
        ts = t0 + i * 0.05
        base = {"ts": ts, "run": "bench001", "seq": i}
        if i % 3 == 1:
            events.append(
                {
                    **base,
                    "kind": "llm_call",
                    "start": ts - 0.04,
                    "model": "gpt-4o-mini",
                    "output": [
                        {
                            "role": "assistant",
                            "parts": [
                                {"type": "text", "content": f"Searching page {i} of results."},
                                {
                                    "type": "tool_call",
                                    "id": f"call_{i}",
                                    "name": "search",
                                    "arguments": {"q": "flights LIS", "page": i},
                                },
                            ],
                        }
                    ],
                    "usage": {"input_tokens": 800 + i, "output_tokens": 30},
                    "finish_reason": "tool_calls",
                }
            )
        elif i % 3 == 2:
            events.append(
                {
                    **base,
                    "kind": "tool_call",
                    "name": "search",
                    "id": f"call_{i - 1}",
                    "args": {"q": "flights LIS", "page": i - 1},
                }
            )
        else:
            events.append(
                {
                    **base,
                    "kind": "tool_result",
                    "start": ts - 0.01,
                    "name": "search",
                    "id": f"call_{i - 2}",
                    "output": f"page {i}: "
                    + "; ".join(f"TP{k:03d} 09:{k % 60:02d} €{90 + k}" for k in range(12)),
                }
            )
    return events


def static_table(events: list[dict[str, Any]]) -> str:
    """Every step as a pre-built table row (the baseline the lazy view is measured against)."""
    rows = []
    for ev in events:
        what = html.escape(
            json.dumps({k: v for k, v in ev.items() if k not in ("ts", "run")})[:140]
        )
        rows.append(
            f"<tr id='step-{ev['seq']}'><td>#{ev['seq']}</td><td>{ev['kind']}</td>"
            f"<td>{ev['ts'] - events[0]['ts']:.2f}s</td><td>{what}</td></tr>"
        )
    return (
        "<!doctype html><html data-ready><head><meta charset=utf-8><style>"
        "td{padding:4px 8px;border-bottom:1px solid #ddd;white-space:nowrap;overflow:hidden;"
        "max-width:60rem;font:14px sans-serif}</style></head><body><input type=search>"
        "<span class=count>of</span><table>" + "".join(rows) + "</table></body></html>"
    )


def measure_browser(page: Any, path: Path, *, static: bool = False) -> dict[str, float]:
    began = time.perf_counter()
    page.goto(path.as_uri())
    page.wait_for_selector("html[data-ready]", state="attached", timeout=60_000)
    ready = time.perf_counter() - began
    if static:
        page.evaluate("document.body.offsetHeight")  # the first layout of the whole table
        ready = time.perf_counter() - began
    opened_long = page.evaluate("window.__long.slice()")
    page.evaluate("window.__long.length = 0")
    # Scroll the whole list in viewport-sized steps, one frame each, as a wheel would.
    began = time.perf_counter()
    page.evaluate(
        """() => new Promise(done => {
          const step = innerHeight * 0.9;
          function next() {
            if (scrollY + innerHeight >= document.documentElement.scrollHeight - 2) return done();
            scrollBy(0, step);
            requestAnimationFrame(next);
          }
          next();
        })"""
    )
    scroll = time.perf_counter() - began
    frames = page.evaluate("Math.ceil(document.documentElement.scrollHeight / (innerHeight*0.9))")
    scroll_long = page.evaluate("window.__long.slice()")
    out = {
        "ready_s": ready,
        "open_longest_ms": max(opened_long, default=0.0),
        "scroll_ms_per_frame": scroll * 1000 / max(1, frames),
        "scroll_longtasks": float(len(scroll_long)),
        "scroll_longest_ms": max(scroll_long, default=0.0),
    }
    if static:
        return out
    page.keyboard.press("g")
    began = time.perf_counter()
    page.keyboard.press("G")
    page.wait_for_selector(".row.current", timeout=10_000)
    jump = time.perf_counter() - began
    began = time.perf_counter()
    page.fill("input[type=search]", "page 4242")
    deadline = time.monotonic() + 30
    while "of" not in page.inner_text(".count") and time.monotonic() < deadline:
        page.wait_for_timeout(5)
    search = time.perf_counter() - began
    return {**out, "jump_end_ms": jump * 1000, "search_ms": search * 1000}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="1000,10000")
    parser.add_argument("--reps", type=int, default=5)
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    from playwright.sync_api import sync_playwright

    results: dict[int, dict[str, list[float]]] = {n: {} for n in sizes}
    baseline: dict[int, dict[str, list[float]]] = {n: {} for n in sizes}
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        traces = {}
        for n in sizes:
            trace = Path(tmp) / f"run{n}.jsonl"
            events = make_run(n)
            trace.write_text("".join(json.dumps(e, ensure_ascii=False) + "\n" for e in events))
            traces[n] = trace
            (Path(tmp) / f"static{n}.html").write_text(static_table(events))
        for _rep in range(args.reps):
            for n in sizes:
                trace, page_path = traces[n], Path(tmp) / f"run{n}.html"
                began = time.perf_counter()
                read_run(trace)
                read_s = time.perf_counter() - began
                began = time.perf_counter()
                text = view_html(trace, page=page_path)
                build_s = time.perf_counter() - began
                write_html(page_path, text)
                context = browser.new_context(viewport={"width": 1280, "height": 800})
                page = context.new_page()
                page.add_init_script(LONGTASKS)
                row = {
                    "size_ratio": page_path.stat().st_size / trace.stat().st_size,
                    "read_s": read_s,
                    "build_s": build_s,
                    "build_vs_read": build_s / read_s,
                    **measure_browser(page, page_path),
                }
                context.close()
                for k, v in row.items():
                    results[n].setdefault(k, []).append(v)
                context = browser.new_context(viewport={"width": 1280, "height": 800})
                page = context.new_page()
                page.add_init_script(LONGTASKS)
                base = measure_browser(page, Path(tmp) / f"static{n}.html", static=True)
                context.close()
                for k, v in base.items():
                    baseline[n].setdefault(k, []).append(v)
        browser.close()
    print(f"{'steps':>7}  {'metric':<22} {'view':>10} {'static':>10}   target")
    targets = {
        "size_ratio": "<= ~1.5 (page bytes / JSONL bytes)",
        "build_vs_read": "building the page vs. reading the run",
        "ready_s": "opens: time to first rows drawn",
        "open_longest_ms": "the one long task of opening (parse + first draw)",
        "scroll_longtasks": "0: no frame of scrolling blocks the page",
        "scroll_longest_ms": "< 50 ms",
    }
    for n in sizes:
        for k, vals in results[n].items():
            base = baseline[n].get(k)
            static = f"{statistics.median(base):>10.3f}" if base else f"{'':>10}"
            print(
                f"{n:>7}  {k:<22} {statistics.median(vals):>10.3f} {static}   {targets.get(k, '')}"
            )


if __name__ == "__main__":
    main()
