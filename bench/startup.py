"""Start-up cost of the command line and the package, against ``python -c pass``.

Runs each command ``--reps`` times, interleaved (one of each per round, so a noisy neighbour
hits all of them alike), and prints the median wall time and its ratio to ``python -c pass``
beside the targets of the performance issue:

- ``otel-jsonl --version`` <= 2.5x ``python -c pass``;
- ``show``, ``stats``, ``replay`` on a small file <= 4x;
- ``from otel_jsonl import Trace`` <= 25 ms.

The package is byte-compiled first (``compileall``, as installing a wheel does): with
``PYTHONDONTWRITEBYTECODE`` set, or a fresh editable checkout, every run would otherwise
compile the package's sources again, and the figure would be the compiler's.

Usage: python bench/startup.py [--reps 21]
"""

from __future__ import annotations

import argparse
import compileall
import importlib.util
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def _time(cmd: list[str]) -> float:
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - t0


def compile_package() -> Path:
    """Byte-compile the ``otel_jsonl`` the commands will import (``__pycache__`` beside it, as
    an install leaves it); returns its folder."""
    spec = importlib.util.find_spec("otel_jsonl")
    assert spec is not None and spec.submodule_search_locations
    folder = Path(next(iter(spec.submodule_search_locations)))
    compileall.compile_dir(str(folder), quiet=1)
    return folder


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=21)
    args = parser.parse_args()
    py = sys.executable
    print(f"byte-compiled {compile_package()}")
    cli = [py, "-m", "otel_jsonl"]
    with tempfile.TemporaryDirectory() as tmp:
        trace = Path(tmp) / "demo.jsonl"
        subprocess.run([*cli, "demo", "-q", "-o", str(trace), "--run-id", "bench001"], check=True)
        cases = {
            "python -c pass": ([py, "-c", "pass"], None),
            **recorder_cases(py, tmp),
            "otel-jsonl --version": ([*cli, "--version"], 2.5),
            "otel-jsonl show FILE": ([*cli, "show", str(trace)], 4.0),
            "otel-jsonl stats FILE": ([*cli, "stats", str(trace)], 4.0),
            "otel-jsonl replay FILE --step 6": ([*cli, "replay", str(trace), "--step", "6"], 4.0),
        }
        times: dict[str, list[float]] = {name: [] for name in cases}
        for _ in range(args.reps):
            for name, (cmd, _target) in cases.items():
                times[name].append(_time(cmd))
    base = statistics.median(times["python -c pass"])
    print(f"{'command':<34} {'median ms':>10} {'x pass':>7} {'target':>8}")
    for name, (_cmd, target) in cases.items():
        med = statistics.median(times[name])
        if name == "from otel_jsonl import Trace":
            goal = "<= 25 ms"
        elif target is not None:
            goal = f"<= {target}x"
        else:
            goal = ""
        print(f"{name:<34} {med * 1000:>10.1f} {med / base:>7.2f} {goal:>8}")
    return 0


def recorder_cases(py: str, tmp: str) -> dict[str, tuple[list[str], float | None]]:
    """The recorder's start-up: the import alone (the target), then the import with a
    ``Trace`` made and one step written (no target, for the record: what a program pays before
    its first line is on disk; the first step imports orjson and the redaction screen)."""
    first_step = (
        "import sys; from otel_jsonl import Trace; "
        "t = Trace(sys.argv[1]); t.step('tool_call', name='x', args={'a': 1}); t.close()"
    )
    return {
        "from otel_jsonl import Trace": ([py, "-c", "from otel_jsonl import Trace"], None),
        "  + Trace(path) + one step": ([py, "-c", first_step, f"{tmp}/first.jsonl"], None),
    }


if __name__ == "__main__":
    sys.exit(main())
