"""Tests for the view command: where the page goes, which runs it shows, exit codes and errors
(the page itself is tested in a real browser in test_html.py)."""

from __future__ import annotations

import json
import shlex
import stat
import sys
import webbrowser
from pathlib import Path

import pytest

from otel_jsonl.cli import main
from otel_jsonl.demo import run_demo


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def page_data(html: str) -> dict[str, object]:
    """The JSON data block of a page."""
    start = html.index('id="otel-jsonl-data">') + len('id="otel-jsonl-data">')
    return dict(json.loads(html[start : html.index("</script>", start)]))


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One file holding two demo runs (and the capped listing's blob beside it)."""
    path = tmp_path_factory.mktemp("view") / "two.jsonl"
    run_demo(path, run_id="demo0001", latency=0)
    run_demo(path, run_id="demo0002", latency=0)
    return path


def test_view_writes_a_0600_page_with_o(
    two_runs: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """-o writes the page (mode 0600), says where, and opens nothing."""
    out = tmp_path / "page.html"
    assert run(capsys, "view", str(two_runs), "--run", "demo0002", "-o", str(out)) == (
        0,
        f"wrote {out}\n",
        "",
    )
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    data = page_data(out.read_text())
    runs = data["runs"]
    assert isinstance(runs, list)
    assert [r["run"] for r in runs] == ["demo0002"]
    assert runs[0]["summary"]["steps"] == 8
    assert data["diff"] is None


def test_view_twice_run_compares_two_runs_of_one_file(
    two_runs: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--run twice on one file makes the diff page of those two runs."""
    out = tmp_path / "diff.html"
    code, _, _ = run(
        capsys, "view", str(two_runs), "--run", "demo0001", "--run", "demo0002", "-o", str(out)
    )
    assert code == 0
    data = page_data(out.read_text())
    assert [r["run"] for r in data["runs"]] == ["demo0001", "demo0002"]  # type: ignore[attr-defined]
    diff = data["diff"]
    assert isinstance(diff, dict)
    assert diff["equal"] is True
    assert len(diff["rows"]) == 8


def test_view_two_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Two files are compared; a changed argument is in the diff rows."""
    a, b = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    run_demo(a, run_id="aaaa0001", latency=0)
    run_demo(b, run_id="bbbb0002", latency=0)
    b.write_text(b.read_text().replace('"city":"Lisbon"}', '"city":"Porto"}'))
    code, out, _ = run(capsys, "view", str(a), str(b), "-o", "-")
    assert code == 0
    diff = page_data(out)["diff"]
    assert isinstance(diff, dict)
    paths = [p["path"] for row in diff["rows"] for p in row[3]]
    assert "/args/city" in paths


def test_view_full_embeds_the_capped_value(
    two_runs: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--full puts the whole capped listing in the page; without it, a link to the blob."""
    code, out, _ = run(capsys, "view", str(two_runs), "--run", "demo0001", "--full", "-o", "-")
    assert code == 0
    run0 = page_data(out)["runs"][0]  # type: ignore[index]
    assert any("event #119" in text for text in run0["blobs"].values())
    code, out, _ = run(capsys, "view", str(two_runs), "--run", "demo0001", "-o", "-")
    run0 = page_data(out)["runs"][0]  # type: ignore[index]
    assert run0["blobs"] == {}
    assert run0["blob_links"] == {}  # no page file to link from when the page goes to stdout


def test_view_reads_stdin(two_runs: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """- reads the trace from stdin."""
    with two_runs.open("rb") as f, pytest.MonkeyPatch.context() as mp:
        mp.setattr(sys, "stdin", type("S", (), {"buffer": f})())
        code, out, _ = run(capsys, "view", "-", "--run", "demo0002", "-o", "-")
    assert code == 0
    assert out.startswith("<!doctype html>")


def test_view_without_o_opens_the_browser(
    two_runs: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Without -o the page goes to a new 0600 temporary file, opened with the browser that
    $BROWSER names (here a command that writes down the URL it was given)."""
    seen = tmp_path / "opened.txt"
    script = f"import sys; open({str(seen)!r}, 'w').write(sys.argv[1])"
    monkeypatch.setenv("BROWSER", f"{shlex.quote(sys.executable)} -c {shlex.quote(script)} %s")
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    monkeypatch.setattr(webbrowser, "_tryorder", None)  # re-read $BROWSER in this process
    monkeypatch.setattr(webbrowser, "_browsers", {})
    monkeypatch.setattr("tempfile.tempdir", None)
    code, out, _ = run(capsys, "view", str(two_runs), "--run", "demo0001")
    assert code == 0
    pages = list(tmp_path.glob("otel-jsonl-demo0001-*.html"))
    assert len(pages) == 1
    assert out == f"wrote {pages[0]}; opening it in your browser\n"
    assert seen.read_text() == pages[0].resolve().as_uri()
    assert stat.S_IMODE(pages[0].stat().st_mode) == 0o600


@pytest.mark.parametrize(
    ("argv", "code", "message"),
    [
        (
            ["view", "{two}"],
            1,
            "{two}: 2 runs (demo0001, demo0002); choose one with run=... (--run)",
        ),
        (["view", "{two}", "--run", "nope"], 1, "{two}: no run 'nope'"),
        (["view", "{dir}/missing.jsonl"], 1, "{dir}/missing.jsonl: no such file"),
        (
            ["view", "{two}", "--run", "a", "--run", "b", "--run", "c"],
            2,
            "--run at most twice (one run per side)",
        ),
        (
            ["view", "-", "--run", "a", "--run", "b"],
            2,
            "stdin can be read once: compare two runs of a file, not of -",
        ),
    ],
)
def test_view_errors(
    two_runs: Path,
    argv: list[str],
    code: int,
    message: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Bad runs, files and options are reported as otel-jsonl: error: ... with exit 1 or 2."""
    fill = {"two": str(two_runs), "dir": str(two_runs.parent)}
    args = [a.format(**fill) for a in argv] + ["-o", "-"]
    assert run(capsys, *args) == (code, "", f"otel-jsonl: error: {message.format(**fill)}\n")


def test_view_bad_line_is_a_data_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A line that is not an event ends the command with file:line: reason and exit 1."""
    path = tmp_path / "bad.jsonl"
    path.write_text('{"ts": 1, "run": "r", "kind": "input"}\n[1, 2]\n')
    code, out, err = run(capsys, "view", str(path), "-o", str(tmp_path / "p.html"))
    assert (code, out) == (1, "")
    assert err.startswith(f"otel-jsonl: error: {path}:2: ")
    assert not (tmp_path / "p.html").exists()


def test_view_error_leaves_no_temporary_page(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without -o, a run that is not there leaves no empty page in the temporary directory."""
    path = tmp_path / "one.jsonl"
    path.write_text('{"ts": 1, "run": "r", "kind": "input"}\n')
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    monkeypatch.setattr("tempfile.tempdir", None)
    code, _, err = run(capsys, "view", str(path), "--run", "nope")
    assert (code, err) == (1, f"otel-jsonl: error: {path}: no run 'nope'\n")
    assert list(tmp_path.glob("*.html")) == []
