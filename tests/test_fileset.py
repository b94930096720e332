"""Commands over sets of files: a directory, a glob or several files read as one stream, rotated
sets in time order, so a run that crosses a rotation reads as one."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from otel_jsonl import RotationPolicy, Trace
from otel_jsonl.cli import main
from otel_jsonl.read.fileset import FileSetError, expand_sources, set_members
from otel_jsonl.record.rotate import rotated_files


def record(path: Path, policy: RotationPolicy | None) -> None:
    """Two runs, the first long enough to cross rotations, on a fixed clock."""
    ticks = itertools.count(1_790_000_000.0, 0.25)
    for run, steps in (("aaaa0001", 12), ("aaaa0002", 2)):
        t = Trace(path, run_id=run, rotate=policy, fsync="never", clock=lambda: next(ticks))
        t.step("input", messages=[{"role": "user", "content": "plan my day"}])
        for i in range(steps):
            t.step("llm_call", model="m", content=f"thought {i}", usage={"input_tokens": 10})
        t.step("final", text="done")
        t.close()


@pytest.fixture
def pair(tmp_path: Path) -> tuple[Path, Path]:
    """The same runs recorded once in one file and once in a rotated, gzipped set."""
    one = tmp_path / "one" / "agent.jsonl"
    many = tmp_path / "many" / "agent.jsonl"
    record(one, None)
    record(many, RotationPolicy(max_bytes=500, compress=True))
    assert len(rotated_files(many)) >= 4
    return one, many


@pytest.mark.parametrize("command", [["runs"], ["stats"], ["show", "--color", "never"]])
def test_a_directory_reads_like_the_unrotated_file(
    pair: tuple[Path, Path], command: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    """runs, stats and show over the rotated set's directory print what the one file gives."""
    one, many = pair
    assert main([*command, str(one)]) == 0
    want = capsys.readouterr().out
    assert main([*command, str(many.parent)]) == 0
    assert capsys.readouterr().out == want
    assert main([*command, str(many.parent / "agent*")]) == 0
    assert capsys.readouterr().out == want


def test_replay_and_diff_read_a_run_across_a_rotation(
    pair: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    """A run split over several files replays from the set and diffs equal to the one file."""
    one, many = pair
    assert main(["replay", str(one), "--run", "aaaa0001", "--step", "12"]) == 0
    want = capsys.readouterr().out
    assert main(["replay", str(many.parent), "--run", "aaaa0001", "--step", "12"]) == 0
    assert capsys.readouterr().out == want
    args = ["diff", str(one), str(many.parent), "--run-a", "aaaa0001", "--run-b", "aaaa0001"]
    assert main(args) == 0


def test_validate_counts_every_file_of_a_glob(
    pair: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    """validate over a glob checks each file of the set and sums them up."""
    _, many = pair
    files = set_members(many)
    assert main(["validate", "-q", str(many.parent / "*.jsonl*")]) == 0
    assert main(["validate", str(many.parent / "*.jsonl*")]) == 0
    last = capsys.readouterr().out.splitlines()[-1]
    assert last.startswith(f"{len(files)} files: ") and last.endswith(", 0 bad")


def test_arguments_that_name_nothing_are_clear_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An empty directory or a glob with no match: exit 1 and say which argument."""
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["runs", str(empty)]) == 1
    assert main(["stats", str(tmp_path / "nope*.jsonl")]) == 1
    err = capsys.readouterr().err
    assert f"otel-jsonl: error: {empty}: no trace files" in err
    assert "nope*.jsonl: no file matches" in err
    with pytest.raises(FileSetError):
        expand_sources([str(empty)])


def test_show_follow_takes_one_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """show -f follows one path (its set included): two files are a usage mistake."""
    a, b = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    record(a, None)
    record(b, None)
    assert main(["show", "-f", str(a), str(b)]) == 1
    assert "--follow follows one file" in capsys.readouterr().err


def test_view_draws_a_run_from_a_rotated_set(
    pair: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """view over the set's directory writes the page the one file gives."""
    one, many = pair
    page_one, page_many = tmp_path / "one.html", tmp_path / "many.html"
    assert main(["view", str(one), "--run", "aaaa0001", "-o", str(page_one)]) == 0
    assert main(["view", str(many.parent), "--run", "aaaa0001", "-o", str(page_many)]) == 0
    capsys.readouterr()
    first = set_members(many)[0]
    # The pages name their source (the file, or the set's first file); all else is equal.
    text_one = page_one.read_text().replace(str(one), "SOURCE")
    text_many = page_many.read_text().replace(str(first), "SOURCE")
    assert text_many == text_one
