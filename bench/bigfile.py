"""Big files: time and peak RSS of every data command on generated traces of growing size.

Generates traces of ``--sizes`` MB (default 50 and 200; add 1024 for the 1 GB figure) from the
demo run's steps, repeated over many runs of 1,000 steps, several of them interleaved as when
processes share a file. Runs each command in a subprocess, interleaved over ``--reps`` rounds,
and prints the median time, peak RSS (from ``wait4``), MB/s, and the growth of time from the
smallest to each larger file against the performance issue's targets: peak RSS <= 100 MB on
every command, t(200 MB)/t(50 MB) <= 4.2 (linear).

Usage: python bench/bigfile.py [--sizes 50 200 1024] [--reps 3] [--dir DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

STEPS_PER_RUN = 1000
INTERLEAVED = 4


def _template() -> list[dict[str, object]]:
    from otel_jsonl.demo import run_demo

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "demo.jsonl"
        run_demo(str(path), run_id="tmpl0001")
        return [json.loads(line) for line in path.read_text().splitlines()]


def generate(path: Path, megabytes: int) -> None:
    """A trace of about ``megabytes`` MB: runs of STEPS_PER_RUN steps, INTERLEAVED at a time."""
    template = [e for e in _template() if e["kind"] not in ("blob_ref",)]
    target = megabytes << 20
    size = 0
    run_no = 0
    with path.open("w", encoding="utf-8") as out:
        while size < target:
            runs = [f"r{run_no + i:07d}" for i in range(INTERLEAVED)]
            run_no += INTERLEAVED
            for seq in range(STEPS_PER_RUN):
                base = template[seq % len(template)]
                for i, run in enumerate(runs):
                    ev = dict(base, run=run, seq=seq, ts=1.7e9 + run_no * 10 + seq * 0.01 + i)
                    line = json.dumps(ev, ensure_ascii=False) + "\n"
                    out.write(line)
                    size += len(line.encode())


def generate_apart(path: Path, megabytes: int) -> None:
    """:func:`generate` in a child process. On Linux a child's peak RSS (``ru_maxrss`` from
    ``wait4``) is at least this process's own at the fork: this one stays small (it imports
    neither the package nor the template), so the figures are the commands' own."""
    cmd = [sys.executable, __file__, "--generate", str(path), str(megabytes)]
    subprocess.run(cmd, check=True, timeout=3600)


def measure(cmd: list[str]) -> tuple[float, float]:
    """Wall seconds and peak RSS (MB) of one run of ``cmd``."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - t0
    if os.waitstatus_to_exitcode(status) not in (0, 1):
        raise SystemExit(f"{' '.join(cmd)} failed with {status}")
    return elapsed, usage.ru_maxrss / 1024


def commands(path: Path, out_dir: Path) -> dict[str, list[str]]:
    cli = [sys.executable, "-m", "otel_jsonl"]
    p = str(path)
    return {
        "validate": [*cli, "validate", p],
        "runs": [*cli, "runs", p],
        "stats": [*cli, "stats", p],
        "show": [*cli, "show", p],
        "convert -o": [*cli, "convert", p, "-o", str(out_dir / "out.otlp.jsonl"), "-q"],
        "replay --step": [*cli, "replay", p, "--run", "r0000001", "--step", "500"],
        "diff": [*cli, "diff", p, p, "--run-a", "r0000001", "--run-b", "r0000002"],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[50, 200])
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--dir", type=Path, default=None, help="where to write the traces")
    parser.add_argument("--generate", nargs=2, metavar=("PATH", "MB"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.generate:
        generate(Path(args.generate[0]), int(args.generate[1]))
        return 0
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        tmp_dir = Path(tmp)
        files = {}
        for mb in args.sizes:
            files[mb] = tmp_dir / f"trace-{mb}mb.jsonl"
            generate_apart(files[mb], mb)
        results: dict[tuple[int, str], list[tuple[float, float]]] = {}
        for _ in range(args.reps):
            for mb, path in files.items():
                for name, cmd in commands(path, tmp_dir).items():
                    results.setdefault((mb, name), []).append(measure(cmd))
    smallest = min(args.sizes)
    print(
        f"{'command':<14} {'MB':>5} {'median s':>9} {'MB/s':>7} {'peak RSS MB':>12} {'t/t(min)':>9}"
    )
    for (mb, name), runs in sorted(results.items(), key=lambda kv: (kv[0][1], kv[0][0])):
        med = statistics.median(t for t, _ in runs)
        rss = max(r for _, r in runs)
        base = statistics.median(t for t, _ in results[(smallest, name)])
        growth = med / base if base else float("nan")
        flag = " RSS>100" if rss > 100 else ""
        print(f"{name:<14} {mb:>5} {med:>9.2f} {mb / med:>7.1f} {rss:>12.1f} {growth:>9.2f}{flag}")
    allowed = 1.05 * max(args.sizes) / smallest
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"this process's own peak RSS {own:.1f} MB (no command can show less)")
    print(
        f"targets: peak RSS <= 100 MB on every command; time grows linearly: "
        f"t({max(args.sizes)} MB)/t({smallest} MB) <= {allowed:.1f} (4.2 for 200 MB/50 MB)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
