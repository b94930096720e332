"""The offline HTML view (``otel-jsonl view``): one run, or the aligned diff of two, as ONE
self-contained page.

The page is a fixed script and style sheet (package data in ``html_assets/``) plus the run's
events embedded as JSON data, not as prebuilt markup: the script draws only the rows on screen,
so a 10,000-step run opens as quickly as a short one and the file stays about the size of the
JSON lines. Everything recorded is untrusted; the page is built so that none of it can run:

- the data sits in a ``<script type="application/json">`` block with ``<``, ``>``, ``&`` and
  U+2028/U+2029 written as ``\\uXXXX`` escapes, so no recorded ``</script>`` ends the block;
- the script builds the DOM with ``textContent`` only, and makes no link of recorded text;
- a Content-Security-Policy meta tag allows only the page's own script and style (by their
  sha256 hashes): no other script, no network (``default-src 'none'``), no forms, no base URL.

Capped values link to their blob when it is beside the trace, or are embedded (``full=True``).
A blob reference is used only when its name is a sha256 and the file is a regular file inside
the trace's blob store; embedded blobs are read through
:class:`~otel_jsonl.record.blobs.BlobStore`, which checks the content against the name. The
header's numbers are the run summary that ``runs``, ``stats`` and ``show`` print
(:func:`~otel_jsonl.read.runs.summarize_runs`), priced as ``stats`` prices it
(:func:`~otel_jsonl.analyze.stats.run_stats`). Standard library only.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import math
import os
import stat
import urllib.parse
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from ..exceptions import BlobError
from ..read.runs import RunEvents, read_run, summarize_runs
from ..record.blobs import BlobStore, blob_dir_for
from ..record.fileio import write_all
from .diff import RunDiff, diff_runs
from .pricing import PRICES, Price
from .stats import run_stats

__all__ = [
    "RunData",
    "blob_assets",
    "diff_data",
    "render_html",
    "run_data",
    "script_data",
    "summary_of",
    "view_html",
    "write_html",
]

#: Characters that could end or confuse the data block, as JSON escapes (valid inside strings,
#: which are the only place JSON text can hold them).
_SCRIPT_ESCAPES = {
    "<": "\\u003c",
    ">": "\\u003e",
    "&": "\\u0026",
    "\u2028": "\\u2028",
    "\u2029": "\\u2029",
}

#: Longest preview of a changed value carried in a diff row (the page shows the rest from the
#: steps themselves).
PREVIEW_CHARS = 160


@dataclass
class RunData:
    """What the page shows of one run: the plain data contract between reading and drawing.

    ``steps`` are ``(step number, event)`` in file order (no meta lines); ``summary`` is the
    run summary shared with ``runs``/``stats``/``show`` as a JSON-ready dict; ``blobs`` maps a
    sha256 to an embedded full value, ``blob_links`` to a URL of the blob file beside the trace.
    """

    run: str
    source: str
    steps: Sequence[tuple[int, Mapping[str, Any]]]
    summary: Mapping[str, Any]
    service: str | None = None
    blobs: dict[str, str] = field(default_factory=dict)
    blob_links: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """The JSON the page reads."""
        return {
            "run": self.run,
            "source": self.source,
            "service": self.service,
            "summary": dict(self.summary),
            "events": [[step, ev] for step, ev in self.steps],
            "blobs": self.blobs,
            "blob_links": self.blob_links,
        }


def _asset(name: str) -> str:
    return resources.files("otel_jsonl.analyze").joinpath(f"html_assets/{name}").read_text("utf-8")


def _csp_hash(text: str) -> str:
    digest = hashlib.sha256(text.encode("utf-8")).digest()
    return "'sha256-" + base64.b64encode(digest).decode("ascii") + "'"


def _finite(value: Any) -> Any:
    """``value`` with NaN and infinities as strings (JSON has no such numbers)."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, Mapping):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


def script_data(value: Any) -> str:
    """``value`` as JSON that is safe inside a ``<script type="application/json">`` element:
    ``JSON.parse`` of the element's text gives ``value`` back, and no recorded text can end the
    element or be read as markup."""
    try:
        text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    except ValueError:
        text = json.dumps(_finite(value), ensure_ascii=False, separators=(",", ":"))
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        # A lone surrogate (possible in JSON read from a file): keep it as an escape.
        text = json.dumps(json.loads(text), ensure_ascii=True, separators=(",", ":"))
    # str.replace per character runs in C; str.translate with a dict is ~10x slower here.
    for char, escape in _SCRIPT_ESCAPES.items():
        if char in text:
            text = text.replace(char, escape)
    return text


def render_html(
    runs: Sequence[RunData], *, diff: Mapping[str, Any] | None = None, title: str | None = None
) -> str:
    """The page for one run, or for two runs and their :func:`diff_data`."""
    if not runs or len(runs) > 2 or (diff is not None) != (len(runs) == 2):
        raise ValueError("render_html takes one run, or two runs with their diff")
    js = _asset("view.js")
    css = _asset("view.css")
    if title is None:
        names = " vs ".join(r.run for r in runs)
        title = f"otel-jsonl · {'diff ' if diff is not None else 'run '}{names}"
    data = {"version": 1, "runs": [r.to_dict() for r in runs], "diff": diff}
    csp = (
        "default-src 'none'; "
        f"script-src {_csp_hash(js)}; style-src {_csp_hash(css)}; "
        "img-src 'none'; connect-src 'none'; font-src 'none'; media-src 'none'; "
        "object-src 'none'; frame-src 'none'; worker-src 'none'; manifest-src 'none'; "
        "base-uri 'none'; form-action 'none'"
    )
    return (
        "<!doctype html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f'<meta http-equiv="Content-Security-Policy" content="{csp}">\n'
        '<meta name="referrer" content="no-referrer">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        '<meta name="generator" content="otel-jsonl view">\n'
        f"<title>{html.escape(title)}</title>\n"
        f"<style>{css}</style>\n</head>\n<body>\n"
        "<noscript><p>This page draws the trace with JavaScript; the events are in the"
        ' data block of the page source.</p></noscript>\n<div id="app"></div>\n'
        f'<script type="application/json" id="otel-jsonl-data">{script_data(data)}</script>\n'
        f"<script>{js}</script>\n</body>\n</html>\n"
    )


def _blob_file(store: BlobStore, sha256: str) -> Path | None:
    """The blob's path when it is a regular file (not a link) directly inside the store; a
    value the recorder appended to a pack is written to a file of its own first, to link to."""
    try:
        target = store.unpack(sha256)
        if target is None:
            return None
        st = os.lstat(target)
    except (BlobError, OSError):
        return None
    if not stat.S_ISREG(st.st_mode):
        return None
    if os.path.realpath(target.parent) != os.path.realpath(store.root):
        return None
    return target


def _href(target: Path, page: Path) -> str:
    try:
        rel = os.path.relpath(os.path.abspath(target), os.path.dirname(os.path.abspath(page)))
    except ValueError:  # another drive (Windows): no relative path exists
        return target.absolute().as_uri()
    return urllib.parse.quote(rel.replace(os.sep, "/"), safe="/")


def blob_assets(
    steps: Sequence[tuple[int, Mapping[str, Any]]],
    store: BlobStore | None,
    *,
    full: bool,
    page: str | os.PathLike[str] | None,
) -> tuple[dict[str, str], dict[str, str]]:
    """The full values of the run's capped fields: embedded (``full``) as ``{sha256: text}``,
    or as ``{sha256: href}`` links from ``page`` to the blob files. A blob that is missing,
    badly named, a link, outside the store or not matching its name is left out."""
    blobs: dict[str, str] = {}
    links: dict[str, str] = {}
    if store is None:
        return blobs, links
    for _step, ev in steps:
        capped = ev.get("capped")
        if not isinstance(capped, Mapping):
            continue
        for info in capped.values():
            sha = info.get("sha256") if isinstance(info, Mapping) else None
            if not isinstance(sha, str) or sha in blobs or sha in links:
                continue
            if full:
                try:
                    blobs[sha] = store.get_text(sha)
                except BlobError:
                    continue
            elif page is not None:
                target = _blob_file(store, sha)
                if target is not None:
                    links[sha] = _href(target, Path(page))
    return blobs, links


def _preview(value: Any) -> Any:
    if isinstance(value, (int, float, bool)) or value is None:
        return value
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=repr)
    return text if len(text) <= PREVIEW_CHARS else text[: PREVIEW_CHARS - 1] + "…"


def diff_data(result: RunDiff, a: RunData, b: RunData) -> dict[str, Any]:
    """The aligned rows of a :class:`~otel_jsonl.analyze.diff.RunDiff` between ``a`` and ``b``.

    ``diff_runs`` lists differences only; the alignment follows from them: steps of A not
    removed pair in order with steps of B not inserted (the alignment is monotone). Each row is
    ``[index in a.steps | None, index in b.steps | None, status, changed paths]`` with status
    ``same``, ``changed``, ``removed`` or ``inserted``."""
    removed = {d.step_a for d in result.differences if d.kind == "removed"}
    inserted = {d.step_b for d in result.differences if d.kind == "inserted"}
    changed: dict[tuple[int | None, int | None], list[dict[str, Any]]] = {}
    for d in result.differences:
        if d.kind == "changed":
            changed.setdefault((d.step_a, d.step_b), []).append(
                {"path": d.path, "a": _preview(d.a), "b": _preview(d.b)}
            )
    rows: list[list[Any]] = []
    i = j = 0
    na, nb = len(a.steps), len(b.steps)
    while i < na or j < nb:
        if i < na and (a.steps[i][0] in removed or j >= nb):
            rows.append([i, None, "removed", []])
            i += 1
        elif j < nb and (b.steps[j][0] in inserted or i >= na):
            rows.append([None, j, "inserted", []])
            j += 1
        else:
            paths = changed.get((a.steps[i][0], b.steps[j][0]), [])
            rows.append([i, j, "changed" if paths else "same", paths])
            i += 1
            j += 1
    first = result.first
    return {
        "equal": bool(result.equal),
        "pairs": int(result.pairs),
        "differences": len(result.differences),
        "changed_rows": sum(1 for r in rows if r[2] != "same"),
        "first": None
        if first is None
        else (["a", first.step_a] if first.step_a is not None else ["b", first.step_b]),
        "rows": rows,
    }


def write_html(path: str | os.PathLike[str], text: str) -> None:
    """Write the page to ``path``, created (or truncated) with mode 0600."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
    try:
        # Only a regular file: `-o /dev/null` run as root must not chmod the device.
        if stat.S_ISREG(os.fstat(fd).st_mode):
            os.fchmod(fd, 0o600)
        write_all(fd, text.encode("utf-8"))
    finally:
        os.close(fd)


def summary_of(run: RunEvents, prices: Mapping[str, Price] = PRICES) -> dict[str, Any]:
    """The header's numbers: the shared run summary, priced as ``stats`` prices it, with the
    run's start and the models that used tokens."""
    found = summarize_runs((st.lineno, st.event) for st in run.steps)
    if not found:
        return {"run": run.run, "steps": 0}
    summary = found[0]
    out = run_stats(summary, prices).to_dict()
    out["start"] = summary.first_ts
    out["models"] = [m for m in summary.models if m is not None]
    return out


def run_data(
    run: RunEvents,
    *,
    blob_dir: str | os.PathLike[str] | None = None,
    full: bool = False,
    page: str | os.PathLike[str] | None = None,
    prices: Mapping[str, Price] = PRICES,
) -> RunData:
    """A run read by :func:`~otel_jsonl.read.runs.read_run` as the page's data: its capped
    values embedded from ``blob_dir`` (``full``) or linked from the page at ``page``."""
    steps = [(st.step, st.event) for st in run.steps]
    service = None
    for st in run.meta:
        attrs = st.event.get("attrs")
        if st.event.get("kind") == "resource" and isinstance(attrs, Mapping):
            name = attrs.get("service.name")
            service = name if isinstance(name, str) else service
    store = BlobStore(blob_dir) if blob_dir is not None else None
    blobs, links = blob_assets(steps, store, full=full, page=page)
    return RunData(run.run, run.path, steps, summary_of(run, prices), service, blobs, links)


def _read(
    source: str | os.PathLike[str] | RunEvents, run: str | None
) -> tuple[RunEvents, Path | None]:
    if isinstance(source, RunEvents):
        path = source.path
        return source, None if path == "-" else blob_dir_for(path)
    events = read_run(source, run)
    return events, None if os.fspath(source) == "-" else blob_dir_for(source)


def view_html(
    a: str | os.PathLike[str] | RunEvents,
    b: str | os.PathLike[str] | RunEvents | None = None,
    *,
    run_a: str | None = None,
    run_b: str | None = None,
    full: bool = False,
    page: str | os.PathLike[str] | None = None,
    ignore: Sequence[str] = (),
    prices: Mapping[str, Price] = PRICES,
) -> str:
    """The page for run ``a`` (a trace path, with ``run_a`` choosing the run, or a run read
    by :func:`~otel_jsonl.read.runs.read_run`), or for the diff of ``a`` and ``b`` (``b`` may be
    the same file with another ``run_b``). Capped values come from the ``blobs/`` store beside
    each trace: embedded with ``full``, else linked relative to ``page``, where the page will be
    written. Raises :class:`~otel_jsonl.exceptions.RunNotFoundError` and
    :class:`~otel_jsonl.exceptions.TraceFormatError` as ``read_run`` does."""
    events_a, store_a = _read(a, run_a)
    data_a = run_data(events_a, blob_dir=store_a, full=full, page=page, prices=prices)
    if b is None:
        return render_html([data_a])
    events_b, store_b = _read(b, run_b)
    data_b = run_data(events_b, blob_dir=store_b, full=full, page=page, prices=prices)
    result = diff_runs(events_a, events_b, ignore=ignore)
    return render_html([data_a, data_b], diff=diff_data(result, data_a, data_b))
