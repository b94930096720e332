"""Run `phoenix serve` with its OTLP gRPC receiver bound to loopback; run with Phoenix's python.

Phoenix 20.x builds its gRPC server in `phoenix/server/grpc_server.py` with
`grpc.aio.server(...)` and then `server.add_insecure_port(f"[::]:{port}")` (or
`add_secure_port`), so it listens on every interface whatever `PHOENIX_HOST` says. This launcher
wraps `grpc.aio.server` before Phoenix starts, so every port the returned server adds is bound
to `PHOENIX_GRPC_HOST` (default 127.0.0.1) instead. It uses only the public `grpc.aio.server`
name; the test fixture still checks the listening sockets afterwards, so a Phoenix release that
binds some other way fails loudly instead of listening on all interfaces.

This file is not imported by the tests: `tests/support/phoenix.py` runs it as a script with the
interpreter of the Phoenix virtual environment (see scripts/install-phoenix.sh).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

# Run as a script, this file's directory comes first on sys.path, where the fixture module
# `phoenix.py` would shadow the `phoenix` package: drop it before importing anything else.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [entry for entry in sys.path if Path(entry or ".").resolve() != _HERE]

import grpc.aio  # noqa: E402

GRPC_HOST = os.environ.get("PHOENIX_GRPC_HOST", "127.0.0.1")


def _loopback(address: str) -> str:
    """Return `address` ("[::]:4317", "0.0.0.0:4317", ...) with its host replaced by GRPC_HOST."""
    _, sep, port = address.rpartition(":")
    if not sep or not port.isdigit():
        raise ValueError(f"phoenix_launch: cannot rebind gRPC address {address!r}")
    rebound = f"{GRPC_HOST}:{port}"
    print(f"phoenix_launch: gRPC {address} -> {rebound}", file=sys.stderr, flush=True)
    return rebound


_original_server = grpc.aio.server


def _loopback_server(*args: Any, **kwargs: Any) -> Any:
    """Build the server as Phoenix asks, with its add_*_port methods rebinding to loopback."""
    server = _original_server(*args, **kwargs)
    add_insecure_port = server.add_insecure_port
    add_secure_port = server.add_secure_port

    def insecure(address: str) -> int:
        return int(add_insecure_port(_loopback(address)))

    def secure(address: str, credentials: Any) -> int:
        return int(add_secure_port(_loopback(address), credentials))

    server.add_insecure_port = insecure
    server.add_secure_port = secure
    return server


def main() -> int:
    """Patch the gRPC bind address, then run Phoenix's own CLI as `phoenix serve`."""
    grpc.aio.server = _loopback_server
    from phoenix.server.main import main as phoenix_main

    sys.argv = ["phoenix", "serve", *sys.argv[1:]]
    result = phoenix_main()
    return int(result) if isinstance(result, int) else 0


if __name__ == "__main__":
    sys.exit(main())
