"""The offline HTML view: one run (or the aligned diff of two) as ONE self-contained page.

The page is a fixed script and style sheet (package data in ``_view_assets/``) plus the run's
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
the trace's blob store; embedded blobs are read through :class:`~otel_jsonl.blobs.BlobStore`,
which checks the content against the name. Standard library only.
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

from .blobs import BlobStore, blob_dir_for
from .exceptions import BlobError
from .replay import RunEvents, read_run
from .view import compute_stats

__all__ = [
    "RunData",
    "blob_assets",
    "diff_data",
    "load_run",
    "render_html",
    "script_data",
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
_ESCAPE_TABLE = str.maketrans(_SCRIPT_ESCAPES)

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
    return resources.files("otel_jsonl").joinpath(f"_view_assets/{name}").read_text("utf-8")


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
    return text.translate(_ESCAPE_TABLE)


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
    """The blob's path when it is a regular file (not a link) directly inside the store."""
    try:
        target = store.path_for(sha256)
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


def diff_data(result: Any, a: RunData, b: RunData) -> dict[str, Any]:
    """The aligned rows of a :class:`~otel_jsonl.diff.RunDiff` between ``a`` and ``b``.

    ``diff_runs`` lists differences only; the alignment follows from them: steps of A not
    removed pair in order with steps of B not inserted (the alignment is monotone). Each row is
    ``[index in a.steps | None, index in b.steps | None, status, changed paths]`` with status
    ``same``, ``changed``, ``removed`` or ``inserted``."""
    removed = {d.step_a for d in result.differences if d.kind == "removed"}
    inserted = {d.step_b for d in result.differences if d.kind == "inserted"}
    changed: dict[tuple[int, int], list[dict[str, Any]]] = {}
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
        os.fchmod(fd, 0o600)
        data = text.encode("utf-8")
        view = memoryview(data)
        while view:
            n = os.write(fd, view)
            view = view[n:]
    finally:
        os.close(fd)


def summarize(run: RunEvents) -> dict[str, Any]:
    """The run's header numbers as a JSON-ready dict (provisional: until the shared run
    summary lands, built from ``stats``' totals)."""
    stats = compute_stats((st.lineno, st.event) for st in run.steps)
    models: list[str] = []
    for st in run.steps:
        model = st.event.get("model") or st.event.get("response_model")
        if st.event.get("kind") == "llm_call" and isinstance(model, str) and model not in models:
            models.append(model)
    out = stats[0].to_dict() if stats else {"run": run.run, "steps": 0}
    first = stats[0].first_ts if stats else None
    out.update({"start": first, "models": models})
    return out


def load_run(
    source: str | os.PathLike[str],
    run: str | None = None,
    *,
    full: bool = False,
    page: str | os.PathLike[str] | None = None,
) -> RunData:
    """Read one run of a trace file (see :func:`~otel_jsonl.replay.read_run`) into the page's
    data, with its capped values embedded (``full``) or linked from ``page``."""
    events = read_run(source, run)
    steps = [(st.step, st.event) for st in events.steps]
    service = None
    for st in events.meta:
        attrs = st.event.get("attrs")
        if st.event.get("kind") == "resource" and isinstance(attrs, Mapping):
            name = attrs.get("service.name")
            service = name if isinstance(name, str) else service
    store = BlobStore(blob_dir_for(source)) if isinstance(source, (str, os.PathLike)) else None
    blobs, links = blob_assets(steps, store, full=full, page=page)
    return RunData(events.run, events.path, steps, summarize(events), service, blobs, links)
