"""Tests for the offline HTML view: the page's data and safety in Python, then the page itself in
a real Chromium (Debian's package driven by Playwright): rendering, expanding, search, filters,
keyboard and permalinks, the diff, hostile content, no network, a 10,000-step run, 200 % zoom.

Set OTEL_JSONL_SCREENSHOTS=1 to rewrite the screenshots the docs use (docs/img/)."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import stat
import time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from support.browser import Watched, watch

from otel_jsonl.analyze.diff import diff_runs
from otel_jsonl.analyze.html import (
    RunData,
    blob_assets,
    diff_data,
    render_html,
    run_data,
    script_data,
    view_html,
    write_html,
)
from otel_jsonl.demo import run_demo
from otel_jsonl.read.runs import read_run
from otel_jsonl.record.blobs import BlobStore

DOCS_IMG = Path(__file__).resolve().parents[1] / "docs" / "img"
SHOTS = os.environ.get("OTEL_JSONL_SCREENSHOTS") == "1"
T0 = 1_764_300_000.0


def write_lines(path: Path, events: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(e, ensure_ascii=False) + "\n" for e in events))
    return path


def page_for(trace: Path, out: Path, *, run: str | None = None, full: bool = False) -> Path:
    write_html(out, view_html(trace, run_a=run, full=full, page=out))
    return out


def diff_page(a: Path, b: Path, out: Path) -> Path:
    write_html(out, view_html(a, b, page=out))
    return out


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo run, recorded once (with its capped listing in blobs/ beside it)."""
    path = tmp_path_factory.mktemp("demo") / "traces" / "demo.jsonl"
    run_demo(path, run_id="demo0001", latency=0.02)
    return path


def until(page: Any, expression: str, timeout: float = 10.0) -> Any:
    """Poll ``expression`` in the page until it is truthy (the page's CSP forbids the eval that
    Playwright's wait_for_function uses; evaluate goes through the debugger protocol)."""
    deadline = time.monotonic() + timeout
    while True:
        value = page.evaluate(expression)
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"still false after {timeout} s: {expression}")
        page.wait_for_timeout(50)


def rows(w: Watched) -> list[str]:
    return list(w.page.locator(".row .line").all_inner_texts())


# --- the page's data, in Python ---------------------------------------------------------------

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(json_values)
def test_script_data_round_trips_and_cannot_close_the_block(value: Any) -> None:
    """The data block parses back to the value and never holds <, >, & or U+2028/2029."""
    text = script_data(value)
    assert json.loads(text) == value
    assert not re.search("[<>&\u2028\u2029]", text)


def test_script_data_escapes_a_closing_script_tag() -> None:
    """A recorded </script> is written as escapes, not as a tag."""
    text = script_data({"x": "</script><script>alert(1)</script>", "y": float("nan")})
    assert "</script" not in text.lower()
    assert json.loads(text) == {"x": "</script><script>alert(1)</script>", "y": "nan"}


def test_csp_allows_only_the_pages_own_script_and_style(demo: Path, tmp_path: Path) -> None:
    """The CSP names the sha256 of the inline script and style; nothing is unsafe-inline."""
    page = page_for(demo, tmp_path / "v.html").read_text()
    csp = re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', page)
    assert csp is not None
    policy = csp.group(1)
    assert "unsafe" not in policy
    assert "default-src 'none'" in policy
    script = re.search(r"<script>(.*?)</script>", page, re.S)
    style = re.search(r"<style>(.*?)</style>", page, re.S)
    assert script is not None
    assert style is not None
    for body, directive in ((script.group(1), "script-src"), (style.group(1), "style-src")):
        digest = base64.b64encode(hashlib.sha256(body.encode()).digest()).decode()
        assert f"{directive} 'sha256-{digest}'" in policy


def test_written_page_is_0600(tmp_path: Path) -> None:
    """The page is created 0600, and an existing file is made 0600 too."""
    out = tmp_path / "v.html"
    out.write_text("old")
    out.chmod(0o644)
    write_html(out, "<!doctype html>")
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert out.read_text() == "<!doctype html>"


def test_blob_links_stay_inside_the_store(tmp_path: Path) -> None:
    """Only a regular file named by its sha256 inside the store is linked or embedded: a link
    out of the store, a bad name and a blob whose content does not match are left out."""
    store = BlobStore(tmp_path / "blobs")
    good = store.put(b"the full value")
    outside = tmp_path / "secret.txt"
    outside.write_text("secret")
    evil = hashlib.sha256(b"secret").hexdigest()
    (tmp_path / "blobs" / evil).symlink_to(outside)
    wrong = hashlib.sha256(b"other").hexdigest()
    (tmp_path / "blobs" / wrong).write_text("not the content of that name")
    capped = {
        f"/f{i}": {"size": 99, "sha256": sha}
        for i, sha in enumerate([good, evil, wrong, "../secret.txt", "0" * 64])
    }
    steps: list[tuple[int, dict[str, Any]]] = [(0, {"kind": "tool_result", "capped": capped})]
    blobs, links = blob_assets(steps, store, full=True, page=tmp_path / "v.html")
    assert blobs == {good: "the full value"}
    assert links == {}
    blobs, links = blob_assets(steps, store, full=False, page=tmp_path / "out" / "v.html")
    assert blobs == {}
    assert set(links) == {good, wrong}  # a link is opened by the reader; it is in the store
    assert links[good] == f"../blobs/{good}"


def test_diff_rows_align_an_inserted_step(tmp_path: Path) -> None:
    """Steps pair in order around an inserted one; the changed pair lists its path."""
    base = [
        {"ts": T0, "run": "a", "kind": "input", "messages": []},
        {"ts": T0 + 1, "run": "a", "kind": "tool_call", "name": "t", "args": {"x": 1}},
        {"ts": T0 + 2, "run": "a", "kind": "final", "text": "ok"},
    ]
    other = [dict(e, run="b") for e in base]
    other[1] = dict(other[1], args={"x": 2})
    other.insert(2, {"ts": T0 + 1.5, "run": "b", "kind": "tool_result", "output": "r"})
    a = write_lines(tmp_path / "a.jsonl", base)
    b = write_lines(tmp_path / "b.jsonl", other)
    ra, rb = run_data(read_run(a)), run_data(read_run(b))
    data = diff_data(diff_runs(read_run(a), read_run(b)), ra, rb)
    assert [r[:3] for r in data["rows"]] == [
        [0, 0, "same"],
        [1, 1, "changed"],
        [None, 2, "inserted"],
        [2, 3, "same"],
    ]
    assert data["rows"][1][3] == [{"path": "/args/x", "a": 1, "b": 2}]
    assert data["first"] == ["a", 1]


def test_render_needs_a_diff_for_two_runs() -> None:
    """Two runs without their diff (or one run with one) is a programming error."""
    r = RunData("r", "f", [], {})
    with pytest.raises(ValueError, match="two runs"):
        render_html([r, r])
    with pytest.raises(ValueError, match="two runs"):
        render_html([r], diff={"rows": []})


def big_run(n: int, run: str = "big00001") -> list[dict[str, Any]]:
    """A run of ``n`` steps: a loop of model call, tool call and tool result."""
    events: list[dict[str, Any]] = [
        {
            "ts": T0,
            "run": run,
            "seq": 0,
            "kind": "input",
            "messages": [{"role": "user", "content": "go"}],
        }
    ]
    for i in range(1, n):
        ts = T0 + i * 0.01
        base = {"ts": ts, "run": run, "seq": i}
        if i % 3 == 1:
            events.append(
                {
                    **base,
                    "kind": "llm_call",
                    "start": ts - 0.008,
                    "model": "gpt-4o-mini",
                    "output": [
                        {
                            "role": "assistant",
                            "parts": [
                                {
                                    "type": "tool_call",
                                    "id": f"c{i}",
                                    "name": "search",
                                    "arguments": {"q": f"item {i}"},
                                }
                            ],
                        }
                    ],
                    "usage": {"input_tokens": 100 + i, "output_tokens": 12},
                }
            )
        elif i % 3 == 2:
            events.append(
                {
                    **base,
                    "kind": "tool_call",
                    "name": "search",
                    "id": f"c{i - 1}",
                    "args": {"q": f"item {i - 1}"},
                }
            )
        else:
            events.append(
                {
                    **base,
                    "kind": "tool_result",
                    "start": ts - 0.004,
                    "name": "search",
                    "id": f"c{i - 2}",
                    "output": f"result {i}: " + "lorem ipsum " * 8,
                }
            )
    return events


def test_page_is_within_one_and_a_half_times_the_jsonl(tmp_path: Path) -> None:
    """A 10,000-step run's page is at most 1.5x the size of its JSON lines."""
    trace = write_lines(tmp_path / "big.jsonl", big_run(10_000))
    out = page_for(trace, tmp_path / "big.html")
    ratio = out.stat().st_size / trace.stat().st_size
    assert ratio <= 1.5, ratio


# --- the page in a real browser ---------------------------------------------------------------


def test_demo_run_renders_steps_tools_answer_and_tokens(
    watched: Watched, demo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The demo run shows its 8 steps, tool names, final answer and token totals, offline."""
    monkeypatch.chdir(demo.parent.parent)  # the page names the trace as given: traces/demo.jsonl
    watched.open(page_for(Path("traces/demo.jsonl"), tmp_path / "demo.html"))
    lines = rows(watched)
    assert len(lines) == 8
    text = watched.page.inner_text("body")
    assert "get_weather" in text
    assert "list_events" in text
    assert "Gulbenkian Museum" in lines[-1]
    assert "final" in lines[-1]
    header = watched.page.inner_text("header")
    assert "run demo0001" in header
    assert re.search(r"tokens\s+1,\d{3} in · 36 out", header), header
    assert "traces/demo.jsonl" in header
    watched.page.click("#step-1 .line")
    watched.page.evaluate("window.scrollTo(0, 0)")
    if SHOTS:
        DOCS_IMG.mkdir(parents=True, exist_ok=True)
        watched.page.screenshot(path=str(DOCS_IMG / "view.png"), full_page=True)
    watched.assert_clean()
    assert all(u.startswith("file://") for u in watched.requests)


def test_expanding_a_step_shows_its_messages(watched: Watched, demo: Path, tmp_path: Path) -> None:
    """Opening the input and the first model call shows the chat bubbles and the tool calls."""
    watched.open(page_for(demo, tmp_path / "demo.html"))
    assert watched.page.locator(".msg").count() == 0
    watched.page.click("#step-0 .line")
    user = watched.page.locator("#step-0 .msg.user")
    assert "Plan a rainy-day afternoon in Lisbon" in user.inner_text()
    assert "concise travel assistant" in watched.page.inner_text("#step-0 .detail")
    watched.page.click("#step-1 .line")
    bubble = watched.page.locator("#step-1 .msg.assistant")
    assert "Let me check the weather" in bubble.inner_text()
    calls = watched.page.locator("#step-1 .call .cn").all_inner_texts()
    assert calls == ["→ get_weather", "→ list_events"]
    assert '"city": "Lisbon"' in watched.page.inner_text("#step-1 .call")
    assert "input_tokens" in watched.page.inner_text("#step-1 .usage")
    watched.page.click("#step-1 .line")
    assert watched.page.locator("#step-1 .msg").count() == 0
    watched.assert_clean()


def test_search_and_kind_filters(watched: Watched, demo: Path, tmp_path: Path) -> None:
    """Search keeps the steps whose content matches; a kind chip hides that kind."""
    watched.open(page_for(demo, tmp_path / "demo.html"))
    watched.page.fill("input[type=search]", "list_events")
    until(watched.page, "document.querySelectorAll('.row').length === 3")
    assert [t.split()[0] for t in rows(watched)] == ["#1", "#4", "#5"]
    assert "3 of 8 steps" in watched.page.inner_text(".count")
    marks = watched.page.locator(".row mark").all_inner_texts()
    assert marks
    assert set(marks) == {"list_events"}
    watched.page.fill("input[type=search]", "no such text anywhere")
    until(watched.page, "document.querySelectorAll('.row').length === 0")
    assert watched.page.is_visible("text=No step matches.")
    watched.page.fill("input[type=search]", "")
    until(watched.page, "document.querySelectorAll('.row').length === 8")
    watched.page.click(".chip[data-kind=tool_call]")
    kinds = watched.page.locator(".row .kind").all_inner_texts()
    assert "tool_call" not in kinds
    assert len(kinds) == 6
    watched.assert_clean()


def test_keyboard_navigation_and_permalinks(watched: Watched, demo: Path, tmp_path: Path) -> None:
    """#step-5 opens step 5; j/k move, Enter opens and sets the permalink, g/G jump."""
    watched.open(page_for(demo, tmp_path / "demo.html"), "#step-5")
    page = watched.page
    assert page.get_attribute("#step-5 .line", "aria-expanded") == "true"
    assert page.locator(".row.current").get_attribute("id") == "step-5"
    page.keyboard.press("j")
    assert page.locator(".row.current").get_attribute("id") == "step-6"
    tab_stops = page.eval_on_selector_all(".row .line[tabindex='0']", "els => els.length")
    assert tab_stops == 1
    assert page.get_attribute("#step-6 .line", "tabindex") == "0"
    page.keyboard.press("Enter")
    assert page.get_attribute("#step-6 .line", "aria-expanded") == "true"
    assert page.evaluate("location.hash") == "#step-6"
    page.keyboard.press("k")
    page.keyboard.press("k")
    assert page.locator(".row.current").get_attribute("id") == "step-4"
    page.keyboard.press("G")
    assert page.locator(".row.current").get_attribute("id") == "step-7"
    page.keyboard.press("g")
    assert page.locator(".row.current").get_attribute("id") == "step-0"
    page.keyboard.press("/")
    assert page.evaluate("document.activeElement.type") == "search"
    watched.assert_clean()


def test_the_next_step_stays_on_screen_after_a_tall_step_opens(
    watched: Watched, tmp_path: Path
) -> None:
    """Opening a step taller than the window and moving on at once (before the page has
    measured it) keeps the next step on screen: the list re-flows around the current step."""
    events = big_run(6, run="tall0001")
    events[1]["output"] = [{"role": "assistant", "content": "a long answer line\n" * 400}]
    trace = write_lines(tmp_path / "tall.jsonl", events)
    watched.open(page_for(trace, tmp_path / "tall.html"))
    page = watched.page
    # All three keys in one task: the page measures the opened step only afterwards.
    page.evaluate(
        """() => { for (const key of ['j', 'Enter', 'j']) document.activeElement.dispatchEvent(
            new KeyboardEvent('keydown', {key: key, bubbles: true})); }"""
    )
    page.wait_for_timeout(300)  # the resize observer and a frame or two
    box = until(
        page,
        "(() => { const el = document.querySelector('#step-2');"
        " if (!el) return null; const r = el.getBoundingClientRect();"
        " return {top: r.top, bottom: r.bottom, height: innerHeight}; })()",
    )
    assert 0 <= box["top"] < box["height"], box
    assert page.locator(".row.current").get_attribute("id") == "step-2"
    assert page.get_attribute("#step-1 .line", "aria-expanded") == "true"
    watched.assert_clean()


def test_capped_value_shows_full_blob_when_embedded_or_links_it(
    watched: Watched, demo: Path, tmp_path: Path
) -> None:
    """A capped result says so; with full=True a button shows the whole blob, else the page
    links to the blob file beside the trace."""
    full = page_for(demo, tmp_path / "full.html", full=True)
    watched.open(full, "#step-5")
    note = watched.page.inner_text("#step-5 .capnote")
    assert "/output was capped" in note
    assert "event #119" not in watched.page.inner_text("#step-5 .detail")
    watched.page.click("#step-5 .capnote button")
    assert "event #119" in watched.page.inner_text("#step-5 .capnote .full")
    linked = page_for(demo, demo.parent / "linked.html")
    watched.open(linked, "#step-5")
    href = watched.page.get_attribute("#step-5 .capnote a", "href")
    assert href is not None
    assert re.fullmatch(r"blobs/[0-9a-f]{64}", href)
    assert (demo.parent / href).is_file()
    watched.assert_clean()


def test_diff_view_marks_the_changed_argument(
    watched: Watched, demo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two runs side by side: the rows that differ are marked, and the changed argument is
    highlighted on both sides when the step is opened."""
    other = tmp_path / "traces" / "porto.jsonl"
    other.parent.mkdir()
    run_demo(other, run_id="demo0002", latency=0.02)
    other.write_text(other.read_text().replace('"city":"Lisbon"}', '"city":"Porto"}'))
    (tmp_path / "traces" / "demo.jsonl").write_bytes(demo.read_bytes())
    monkeypatch.chdir(tmp_path)
    a, b = Path("traces/demo.jsonl"), Path("traces/porto.jsonl")
    watched.open(diff_page(a, b, tmp_path / "diff.html"))
    page = watched.page
    marks = page.locator(".row .mark").all_inner_texts()
    assert marks == ["=", "≠", "≠", "=", "=", "=", "=", "="]
    assert "/args/city: Lisbon → Porto" in page.inner_text(".row:nth-child(3) .chgs")
    page.click(".row:nth-child(3) .line")
    sides = page.locator(".row:nth-child(3) .detail > .step-detail")
    assert sides.nth(0).locator(".chg:visible").all_inner_texts() == ['"Lisbon"']
    assert sides.nth(1).locator(".chg:visible").all_inner_texts() == ['"Porto"']
    assert "2 differences" in page.inner_text(".diffsum")
    if SHOTS:
        page.evaluate("window.scrollTo(0, 0)")
        page.screenshot(path=str(DOCS_IMG / "view-diff.png"), full_page=True)
    watched.assert_clean()


HOSTILE = [
    "<script>__pwned('script')</script>",
    "<img src=x onerror=\"__pwned('img')\">",
    "</script><script>__pwned('close')</script>",
    "<a href=\"javascript:__pwned('link')\">click me</a>",
    "[docs](javascript:__pwned('md')) and http://127.0.0.1:9/track.png",
    '<img src="http://127.0.0.1:9/pixel.gif">',
    "<style>body{background:url(http://127.0.0.1:9/bg)}</style>",
    "\u2028\u2029<!--",
]


def hostile_run() -> list[dict[str, Any]]:
    bad = "\n".join(HOSTILE)
    run = "r<script>__pwned('run')</script>"
    return [
        {
            "ts": T0,
            "run": run,
            "seq": 0,
            "kind": "input",
            "system": bad,
            "messages": [
                {"role": "user", "content": bad},
                {"role": "user", "parts": [{"type": "text", "content": bad}]},
            ],
        },
        {
            "ts": T0 + 1,
            "start": T0 + 0.5,
            "run": run,
            "seq": 1,
            "kind": "llm_call",
            "model": bad,
            "output": [
                {
                    "role": "assistant",
                    "content": [
                        {"type": "text", "text": bad},
                        {"type": "tool_use", "id": bad, "name": bad, "input": {bad: bad}},
                    ],
                }
            ],
            "usage": {"input_tokens": 3, "output_tokens": 4},
        },
        {
            "ts": T0 + 2,
            "run": run,
            "seq": 2,
            "kind": "tool_call",
            "name": bad,
            "id": "c1",
            "args": {bad: [bad]},
        },
        {
            "ts": T0 + 3,
            "run": run,
            "seq": 3,
            "kind": "tool_result",
            "name": bad,
            "id": "c1",
            "output": bad,
            "is_error": True,
        },
        {
            "ts": T0 + 4,
            "run": run,
            "seq": 4,
            "kind": bad,
            "name": bad,
            "otel": {"attrs": {bad: bad}},
        },
        {
            "ts": T0 + 5,
            "run": run,
            "seq": 5,
            "kind": "error",
            "type": bad,
            "message": bad,
            "traceback": bad,
            "step": 3,
        },
        {
            "ts": T0 + 6,
            "run": run,
            "seq": 6,
            "kind": "final",
            "text": bad,
            "capped": {"/text": {"size": 10, "sha256": "../../etc/passwd"}},
        },
    ]


def test_hostile_content_executes_nothing_and_shows_as_text(
    watched: Watched, tmp_path: Path
) -> None:
    """Script tags, onerror handlers, </script>, javascript: links and remote URLs in every
    field run nothing, load nothing, make no link, and are shown as text."""
    trace = write_lines(tmp_path / "evil.jsonl", hostile_run())
    watched.open(page_for(trace, tmp_path / "evil.html"))
    page = watched.page
    shown = []
    for i in range(7):
        page.keyboard.press("Enter")  # open the current step, read it, go to the next
        shown.append(page.inner_text(f"#step-{i}"))
        page.keyboard.press("j")
    page.wait_for_timeout(200)
    for i, text in enumerate(shown):
        for payload in HOSTILE[:6]:
            assert payload in text, (i, payload)
    assert "run r<script>__pwned('run')</script>" in page.inner_text("header")
    assert page.locator("img, iframe, object, embed, style:not(head style)").count() == 0
    assert page.locator("body script").count() == 2  # the data block and the page's script
    hrefs = page.eval_on_selector_all("a", "els => els.map(e => e.getAttribute('href'))")
    assert hrefs
    assert all(re.fullmatch(r"#(b-)?step-\d+", h) for h in hrefs), hrefs
    assert page.title() == "otel-jsonl · run r<script>__pwned('run')</script>"
    watched.assert_clean()
    assert all(u.startswith("file://") for u in watched.requests)


def test_the_watchers_catch_a_page_that_runs_and_fetches(watched: Watched, tmp_path: Path) -> None:
    """Control: a page that does run injected code and load a remote image is caught, so the
    hostile-content test above can fail."""
    page = tmp_path / "unsafe.html"
    page.write_text(
        "<!doctype html><html data-ready><body>"
        "<script>__pwned('inline')</script><img src='http://127.0.0.1:9/x.png'></body></html>"
    )
    watched.open(page)
    watched.page.wait_for_timeout(300)
    assert watched.pwned == ["inline"]
    assert watched.external == ["http://127.0.0.1:9/x.png"]
    with pytest.raises(AssertionError):
        watched.assert_clean()


def test_error_traceback_is_highlighted_and_links_its_step(
    watched: Watched, tmp_path: Path
) -> None:
    """An error shows its type and message, the traceback's location lines and exception line
    highlighted, and a link to the step it belongs to."""
    tb = (
        "Traceback (most recent call last):\n"
        '  File "agent.py", line 12, in run\n'
        "    result = tool(**args)\n"
        "TimeoutError: tool timed out"
    )
    trace = write_lines(
        tmp_path / "err.jsonl",
        [
            {"ts": T0, "run": "e1", "kind": "tool_call", "name": "slow", "args": {}},
            {
                "ts": T0 + 1,
                "run": "e1",
                "kind": "error",
                "type": "TimeoutError",
                "message": "tool timed out",
                "traceback": tb,
                "step": 0,
            },
        ],
    )
    watched.open(page_for(trace, tmp_path / "err.html"), "#step-1")
    page = watched.page
    assert page.locator("#step-1.is-err").count() == 1
    assert page.locator("#step-1 .tb-loc").all_inner_texts() == [
        '  File "agent.py", line 12, in run'
    ]
    assert page.locator("#step-1 .tb-exc").all_inner_texts() == ["TimeoutError: tool timed out"]
    assert "errors 1" in " ".join(page.inner_text("header").split())
    page.click("#step-1 .errbox a.stepno")
    assert page.get_attribute("#step-0 .line", "aria-expanded") == "true"
    page.keyboard.press("e")
    assert page.locator(".row.current").get_attribute("id") == "step-1"
    watched.assert_clean()


def test_spans_are_nested_as_in_the_trace(watched: Watched, tmp_path: Path) -> None:
    """Steps from spans are ordered parent first and indented by depth; a split span's second
    line follows its children."""
    sid = ["a" * 16, "b" * 16, "c" * 16]
    trace = write_lines(
        tmp_path / "spans.jsonl",
        [
            {
                "ts": T0 + 2,
                "start": T0 + 1.1,
                "run": "t",
                "seq": 0,
                "kind": "llm_call",
                "span_id": sid[1],
                "parent_id": sid[0],
                "model": "m",
            },
            {
                "ts": T0 + 2.1,
                "run": "t",
                "seq": 1,
                "kind": "tool_call",
                "span_id": sid[2],
                "parent_id": sid[0],
                "name": "x",
            },
            {
                "ts": T0 + 2.5,
                "start": T0 + 2.1,
                "run": "t",
                "seq": 2,
                "kind": "tool_result",
                "span_id": sid[2],
                "parent_id": sid[0],
                "name": "x",
                "output": 1,
            },
            {
                "ts": T0 + 1,
                "run": "t",
                "seq": 3,
                "kind": "input",
                "span_id": sid[0],
                "messages": [],
            },
            {
                "ts": T0 + 3,
                "start": T0 + 1,
                "run": "t",
                "seq": 4,
                "kind": "final",
                "span_id": sid[0],
                "text": "done",
            },
        ],
    )
    watched.open(page_for(trace, tmp_path / "spans.html"))
    order = [t.split()[0] for t in rows(watched)]
    assert order == ["#3", "#0", "#1", "#2", "#4"]
    pads = watched.page.eval_on_selector_all(
        ".row .sum", "els => els.map(e => e.style.paddingLeft)"
    )
    assert pads[0] == ""
    assert pads[1] != ""
    assert pads[4] == ""
    watched.assert_clean()


def test_exporter_trace_nests_its_spans(watched: Watched, tmp_path: Path) -> None:
    """A file written by JsonlSpanExporter from real SDK spans (invoke_agent > chat,
    execute_tool > HTTP span, chat) shows the agent's input first, its children indented, the
    HTTP span under its tool, and the final answer last."""
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor

    from otel_jsonl import JsonlSpanExporter

    trace = tmp_path / "app.jsonl"
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(JsonlSpanExporter(str(trace))))
    tracer = provider.get_tracer("test")
    said = [{"role": "assistant", "parts": [{"type": "text", "content": "18C in Lisbon."}]}]
    agent_attrs = {
        "gen_ai.operation.name": "invoke_agent",
        "gen_ai.agent.name": "weather",
        "gen_ai.input.messages": json.dumps(
            [{"role": "user", "parts": [{"type": "text", "content": "Weather in Lisbon?"}]}]
        ),
    }
    with tracer.start_as_current_span("invoke_agent weather", attributes=agent_attrs) as agent:
        chat = {
            "gen_ai.operation.name": "chat",
            "gen_ai.request.model": "gpt-4o-mini",
            "gen_ai.usage.input_tokens": 42,
            "gen_ai.usage.output_tokens": 7,
        }
        with tracer.start_as_current_span("chat gpt-4o-mini", attributes=chat):
            pass
        tool = {
            "gen_ai.operation.name": "execute_tool",
            "gen_ai.tool.name": "get_weather",
            "gen_ai.tool.call.id": "call_1",
            "gen_ai.tool.call.arguments": '{"city": "Lisbon"}',
            "gen_ai.tool.call.result": '"18C"',
        }
        with (
            tracer.start_as_current_span("execute_tool get_weather", attributes=tool),
            tracer.start_as_current_span("GET /weather"),
        ):
            pass
        with tracer.start_as_current_span("chat gpt-4o-mini", attributes=chat):
            pass
        agent.set_attribute("gen_ai.output.messages", json.dumps(said))
    provider.shutdown()
    watched.open(page_for(trace, tmp_path / "app.html"))
    kinds = watched.page.locator(".row .kind").all_inner_texts()
    assert kinds == ["input", "llm_call", "tool_call", "span", "tool_result", "llm_call", "final"]
    pads = watched.page.eval_on_selector_all(
        ".row .sum", "els => els.map(e => e.style.paddingLeft)"
    )
    depth = [0 if not p else round(float(p.removesuffix("rem")) / 0.9) for p in pads]
    assert depth == [0, 1, 1, 2, 1, 1, 0]
    assert "GET /weather" in rows(watched)[3]
    assert "tokens 84 in · 14 out" in " ".join(watched.page.inner_text("header").split())
    watched.assert_clean()


def test_ten_thousand_steps_become_interactive(chromium: Any, tmp_path: Path) -> None:
    """A 10,000-step run opens with only the rows on screen in the DOM, jumps to its end, and
    a click there opens a step (the time it took is printed, not asserted)."""
    trace = write_lines(tmp_path / "big.jsonl", big_run(10_000))
    out = page_for(trace, tmp_path / "big.html")
    context, w = watch(chromium, viewport={"width": 1280, "height": 800})
    try:
        began = time.perf_counter()
        w.open(out)
        ready = time.perf_counter() - began
        page = w.page
        assert page.locator(".row").count() < 200
        assert "10,000 steps" in page.inner_text(".count")
        page.keyboard.press("End")
        page.wait_for_selector("#step-9999")
        page.click("#step-9999 .line")
        assert "result 9999" in page.inner_text("#step-9999 .detail")
        page.fill("input[type=search]", "item 4000")
        until(page, "document.querySelector('.count').textContent === '2 of 10,000 steps'")
        print(f"10,000 steps: interactive after {ready:.2f} s")
        w.assert_clean()
    finally:
        context.close()


def test_readable_at_200_percent_zoom_and_in_dark(
    chromium: Any, demo: Path, tmp_path: Path
) -> None:
    """At 200 % zoom (half the CSS width, twice the pixels) nothing overflows sideways, with a
    step open; dark follows the system and the theme button switches it."""
    out = page_for(demo, tmp_path / "demo.html")
    context, w = watch(
        chromium, viewport={"width": 640, "height": 400}, device_scale_factor=2, color_scheme="dark"
    )
    try:
        w.open(out, "#step-1")
        page = w.page
        overflow = "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        assert page.evaluate(overflow) <= 0
        assert page.is_visible("#step-1 .msg.assistant")
        bg = page.evaluate("getComputedStyle(document.body).backgroundColor")
        assert sum(int(x) for x in re.findall(r"\d+", bg)[:3]) < 150, bg
        page.click("text=theme")
        bg = page.evaluate("getComputedStyle(document.body).backgroundColor")
        assert sum(int(x) for x in re.findall(r"\d+", bg)[:3]) > 600, bg
        w.assert_clean()
    finally:
        context.close()
