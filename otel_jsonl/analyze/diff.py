"""Diff two runs: align their steps, compare aligned steps field by field, report as data.

Steps are aligned so that a step inserted or removed in one run is reported once and the steps
after it still pair up: first the common head and tail (steps whose content, ignoring what
always differs, is equal) are matched; the middle is aligned on step signatures (kind, tool
name, model) with Myers' O(ND) diff, whose cost is linear in the number of steps when the runs
differ by a few insertions. When the middle differs by more than ``max_edits`` insertions and
removals, the rest is paired in order (a bound on time, documented, never quadratic).

Ignored by default (:data:`DEFAULT_IGNORE`): ``ts``, ``run``, ``seq``, ``start``,
``trace_id``, ``span_id``, ``parent_id``, ``response_id``, ``duration``, ``otel.ns``. More via
``ignore``: each entry is a dotted path from the top of the event (``usage.total_tokens``),
where ``*`` matches one key or index and ``**`` any number (``**.id`` ignores every ``id``).
Standard library only; prints nothing.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import IO, Any, Literal

from ..read.lines import paused_gc
from ..read.runs import RunEvents, Step, join_steps, read_run, step_events

__all__ = ["DEFAULT_IGNORE", "Difference", "RunDiff", "align", "diff_runs"]

DEFAULT_IGNORE: tuple[str, ...] = (
    "ts",
    "run",
    "seq",
    "start",
    "trace_id",
    "span_id",
    "parent_id",
    "response_id",
    "duration",
    "otel.ns",
)

#: Past this many insertions and removals in the unequal middle, the rest is paired in order.
MAX_EDITS = 2000


@dataclass(frozen=True)
class Difference:
    """One difference between two aligned runs.

    ``kind`` is ``changed`` (both runs have the step; ``path`` is the JSON pointer of the field
    that differs, ``a``/``b`` its values, a missing field given as None with ``missing`` naming
    the side), ``inserted`` (only run B has the step: ``b`` is the event) or ``removed`` (only
    run A has it: ``a`` is the event)."""

    kind: Literal["changed", "inserted", "removed"]
    step_a: int | None
    step_b: int | None
    path: str
    a: Any
    b: Any
    missing: Literal["a", "b"] | None = None

    @property
    def step(self) -> int:
        """The step the difference is reported at: run A's, or run B's for an insertion."""
        if self.step_a is not None:
            return self.step_a
        assert self.step_b is not None
        return self.step_b

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        out: dict[str, Any] = {
            "kind": self.kind,
            "step_a": self.step_a,
            "step_b": self.step_b,
            "path": self.path,
            "a": self.a,
            "b": self.b,
        }
        if self.missing is not None:
            out["missing"] = self.missing
        return out


@dataclass
class RunDiff:
    """The result of :func:`diff_runs`."""

    run_a: str
    run_b: str
    steps_a: int
    steps_b: int
    differences: list[Difference] = field(default_factory=list)
    pairs: int = 0
    """How many steps were aligned with a step of the other run."""

    @property
    def equal(self) -> bool:
        """True when no difference was found."""
        return not self.differences

    @property
    def first(self) -> Difference | None:
        """The first divergence, in step order."""
        return self.differences[0] if self.differences else None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "run_a": self.run_a,
            "run_b": self.run_b,
            "steps_a": self.steps_a,
            "steps_b": self.steps_b,
            "equal": self.equal,
            "first": self.first.to_dict() if self.first else None,
            "differences": [d.to_dict() for d in self.differences],
        }


# --- ignoring keys ---------------------------------------------------------------------------


class _Ignore:
    """Dotted-path patterns, matched as a tree walk goes down."""

    def __init__(self, patterns: Iterable[str]) -> None:
        self.patterns = [tuple(p.split(".")) for p in patterns if p]

    def start(self) -> list[tuple[str, ...]]:
        return list(self.patterns)

    @staticmethod
    def step(states: list[tuple[str, ...]], key: str) -> tuple[bool, list[tuple[str, ...]]]:
        """Whether ``key`` is ignored here, and the patterns left for its children."""
        nxt: list[tuple[str, ...]] = []
        hit = False
        for pat in states:
            head = pat[0]
            if head == "**":
                nxt.append(pat)  # ** keeps matching deeper
                rest = pat[1:]
                if not rest:
                    return True, []
                h2 = rest[0]
                if h2 in ("*", key):
                    if len(rest) == 1:
                        hit = True
                    else:
                        nxt.append(rest[1:])
            elif head in ("*", key):
                if len(pat) == 1:
                    hit = True
                else:
                    nxt.append(pat[1:])
        return hit, nxt


def _strip(value: Any, states: list[tuple[str, ...]]) -> Any:
    if not states:
        return value
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            hit, nxt = _Ignore.step(states, k)
            if not hit:
                out[k] = _strip(v, nxt)
        return out
    if isinstance(value, list):
        res = []
        for i, v in enumerate(value):
            hit, nxt = _Ignore.step(states, str(i))
            if not hit:
                res.append(_strip(v, nxt))
        return res
    return value


# --- alignment -------------------------------------------------------------------------------


def _signature(ev: Mapping[str, Any]) -> tuple[Any, ...]:
    kind = ev.get("kind")
    name = ev.get("name") if kind in ("tool_call", "tool_result", "span") else None
    model = ev.get("model") if kind == "llm_call" else None
    return (kind, name, model)


def _myers(a: Sequence[Any], b: Sequence[Any], max_edits: int) -> list[tuple[int, int]] | None:
    """Matched index pairs of a shortest edit script between ``a`` and ``b`` (Myers 1986),
    or None when more than ``max_edits`` edits are needed. Time O((N+M)·D), memory O(D²)."""
    n, m = len(a), len(b)
    limit = min(n + m, max_edits)
    offset = limit + 1
    v = [0] * (2 * limit + 3)
    # trace[d]: v[-d-1 .. d+1] as it was before round d (all round d reads).
    trace: list[list[int]] = []
    for d in range(limit + 1):
        trace.append(v[offset - d - 1 : offset + d + 2])
        for k in range(-d, d + 1, 2):
            if k == -d or (k != d and v[offset + k - 1] < v[offset + k + 1]):
                x = v[offset + k + 1]
            else:
                x = v[offset + k - 1] + 1
            y = x - k
            while x < n and y < m and a[x] == b[y]:
                x += 1
                y += 1
            v[offset + k] = x
            if x >= n and y >= m:
                return _backtrack(n, m, trace)
    return None


def _backtrack(n: int, m: int, trace: list[list[int]]) -> list[tuple[int, int]]:
    pairs: list[tuple[int, int]] = []
    x, y = n, m
    for d in range(len(trace) - 1, -1, -1):
        window = trace[d]
        k = x - y
        if k == -d or (k != d and window[k - 1 + d + 1] < window[k + 1 + d + 1]):
            prev_k = k + 1
        else:
            prev_k = k - 1
        prev_x = window[prev_k + d + 1]
        prev_y = prev_x - prev_k
        while x > prev_x and y > prev_y:
            x -= 1
            y -= 1
            pairs.append((x, y))
        x, y = prev_x, prev_y
    pairs.reverse()
    return pairs


def align(
    a: Sequence[Any], b: Sequence[Any], *, max_edits: int = MAX_EDITS
) -> list[tuple[int | None, int | None]]:
    """Align two sequences of signatures: ``(i, j)`` for a pair, ``(i, None)`` for a removal,
    ``(None, j)`` for an insertion, in order. Equal elements are paired by a shortest edit
    script; past ``max_edits`` edits the sequences are paired in order."""
    pairs = _myers(a, b, max_edits)
    out: list[tuple[int | None, int | None]] = []
    if pairs is None:
        common = min(len(a), len(b))
        out.extend((i, i) for i in range(common))
        out.extend((i, None) for i in range(common, len(a)))
        out.extend((None, j) for j in range(common, len(b)))
        return out
    i = j = 0
    for pi, pj in pairs:
        # Unmatched stretches before this pair: pair them up as changes, the rest as edits.
        while i < pi and j < pj:
            out.append((i, j))
            i += 1
            j += 1
        while i < pi:
            out.append((i, None))
            i += 1
        while j < pj:
            out.append((None, j))
            j += 1
        out.append((pi, pj))
        i, j = pi + 1, pj + 1
    while i < len(a) and j < len(b):
        out.append((i, j))
        i += 1
        j += 1
    out.extend((k, None) for k in range(i, len(a)))
    out.extend((None, k) for k in range(j, len(b)))
    return out


# --- comparing -------------------------------------------------------------------------------


def _escape(key: str) -> str:
    return key.replace("~", "~0").replace("/", "~1")


def _compare(a: Any, b: Any, path: str, out: list[tuple[str, Any, Any, str | None]]) -> None:
    if isinstance(a, dict) and isinstance(b, dict):
        for k in list(a) + [k for k in b if k not in a]:
            sub = f"{path}/{_escape(str(k))}"
            if k not in b:
                out.append((sub, a[k], None, "b"))
            elif k not in a:
                out.append((sub, None, b[k], "a"))
            else:
                _compare(a[k], b[k], sub, out)
        return
    if isinstance(a, list) and isinstance(b, list):
        common = min(len(a), len(b))
        for i in range(common):
            _compare(a[i], b[i], f"{path}/{i}", out)
        out.extend((f"{path}/{i}", a[i], None, "b") for i in range(common, len(a)))
        out.extend((f"{path}/{i}", None, b[i], "a") for i in range(common, len(b)))
        return
    if a != b or type(a) is not type(b):
        out.append((path, a, b, None))


def _common_ends(keys_a: Sequence[str], keys_b: Sequence[str]) -> tuple[int, int]:
    """How many steps the two runs share at their start and, after that, at their end."""
    head = 0
    limit = min(len(keys_a), len(keys_b))
    while head < limit and keys_a[head] == keys_b[head]:
        head += 1
    tail = 0
    while tail < limit - head and keys_a[len(keys_a) - 1 - tail] == keys_b[len(keys_b) - 1 - tail]:
        tail += 1
    return head, tail


def _key(ev: Any) -> str:
    return json.dumps(ev, sort_keys=True, ensure_ascii=False, default=repr)


def _load(
    source: str | os.PathLike[str] | IO[bytes] | RunEvents | Iterable[Mapping[str, Any]],
    run: str | None,
) -> tuple[str, list[Step]]:
    if isinstance(source, RunEvents):
        return source.run, source.steps
    if isinstance(source, (str, os.PathLike)) or hasattr(source, "read"):
        events = read_run(source, run)  # type: ignore[arg-type]
        return events.run, events.steps
    steps = [st for st in step_events((0, dict(e)) for e in source) if st.step >= 0]
    steps = join_steps(steps)[0]  # log-record content onto its model calls, as read_run does
    name = str(steps[0].event.get("run", "")) if steps else ""
    return name, steps


@paused_gc()
def diff_runs(
    a: str | os.PathLike[str] | IO[bytes] | RunEvents | Iterable[Mapping[str, Any]],
    b: str | os.PathLike[str] | IO[bytes] | RunEvents | Iterable[Mapping[str, Any]],
    *,
    run_a: str | None = None,
    run_b: str | None = None,
    ignore: Iterable[str] = (),
    max_edits: int = MAX_EDITS,
) -> RunDiff:
    """Align the steps of two runs and list their differences (see the module doc).

    ``a`` and ``b`` are trace paths (or binary streams) with ``run_a``/``run_b`` choosing the
    run (needed when a file holds several), runs read by :func:`read_run`, or lists of events.
    ``ignore`` adds dotted-path patterns to :data:`DEFAULT_IGNORE`. Raises
    :class:`~otel_jsonl.exceptions.RunNotFoundError` for a missing or ambiguous run.
    """
    name_a, steps_a = _load(a, run_a)
    name_b, steps_b = _load(b, run_b)
    patterns = _Ignore([*DEFAULT_IGNORE, *ignore]).start()
    norm_a = [_strip(s.event, patterns) for s in steps_a]
    norm_b = [_strip(s.event, patterns) for s in steps_b]
    keys_a = [_key(e) for e in norm_a]
    keys_b = [_key(e) for e in norm_b]
    result = RunDiff(name_a, name_b, len(steps_a), len(steps_b))

    # Common head and tail by content, then the middle by signature.
    head, tail = _common_ends(keys_a, keys_b)
    mid_a = [_signature(e) for e in norm_a[head : len(norm_a) - tail]]
    mid_b = [_signature(e) for e in norm_b[head : len(norm_b) - tail]]
    result.pairs = head + tail
    for i, j in align(mid_a, mid_b, max_edits=max_edits):
        if i is not None and j is not None:
            result.pairs += 1
            ia, jb = head + i, head + j
            if keys_a[ia] == keys_b[jb]:
                continue
            found: list[tuple[str, Any, Any, str | None]] = []
            _compare(norm_a[ia], norm_b[jb], "", found)
            for path, va, vb, missing in found:
                result.differences.append(
                    Difference(
                        "changed",
                        steps_a[ia].step,
                        steps_b[jb].step,
                        path,
                        va,
                        vb,
                        missing,  # type: ignore[arg-type]
                    )
                )
        elif i is not None:
            ia = head + i
            result.differences.append(
                Difference("removed", steps_a[ia].step, None, "", norm_a[ia], None)
            )
        elif j is not None:
            jb = head + j
            result.differences.append(
                Difference("inserted", None, steps_b[jb].step, "", None, norm_b[jb])
            )
    return result
