"""A real Phoenix server on loopback for end-to-end tests, and the session fixture `phoenix`.

Phoenix runs from its own virtual environment (scripts/install-phoenix.sh), never imported here:
importing it costs seconds and its client registers a pytest plugin. The test side talks to it
with urllib only. Load the fixture with `pytest_plugins = ["support.phoenix"]`.

    with PhoenixServer() as server:
        send spans to server.otlp_http_endpoint (or server.otlp_grpc_endpoint)
        spans = server.spans("my-project", expect=3)
"""

from __future__ import annotations

import ipaddress
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType
from typing import Any

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
INSTALL_SCRIPT = "scripts/install-phoenix.sh"
LAUNCHER = Path(__file__).with_name("phoenix_launch.py")
SKIP_ENV = "OTEL_JSONL_SKIP_PHOENIX"
LOOPBACK = "127.0.0.1"

STARTUP_TIMEOUT = 120.0  # ready in ~20 s here (CPU-bound imports); slow CI machines need more
STOP_TIMEOUT = 20.0


#: Pages of spans read at most from one listing.
MAX_PAGES = 1000


class PhoenixError(RuntimeError):
    """Raised when the Phoenix server cannot be started, or listens beyond loopback."""


def phoenix_venv() -> Path:
    """Return the Phoenix virtual environment: $PHOENIX_VENV, else <repo>/.phoenix-venv."""
    configured = os.environ.get("PHOENIX_VENV")
    return Path(configured) if configured else REPO_ROOT / ".phoenix-venv"


def _venv_python(venv: Path) -> Path:
    return venv / "bin" / "python"


def _free_port() -> int:
    # The port is released before Phoenix binds it; a collision is possible but unlikely, and
    # shows up as a startup failure with the log tail, not as a silent wrong result.
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        return int(sock.getsockname()[1])


def _is_loopback(address: str) -> bool:
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped.is_loopback
    return ip.is_loopback


def _decode_proc_address(hex_address: str) -> tuple[str, int]:
    """Decode a /proc/net/tcp{,6} "ADDR:PORT" (little-endian 32-bit words) to (ip, port)."""
    hex_ip, hex_port = hex_address.split(":")
    raw = bytes.fromhex(hex_ip)
    # Each 32-bit word is in host byte order (little-endian on the machines we run on).
    words = b"".join(raw[i : i + 4][::-1] for i in range(0, len(raw), 4))
    family = socket.AF_INET if len(words) == 4 else socket.AF_INET6
    return socket.inet_ntop(family, words), int(hex_port, 16)


def listening_sockets(pid: int) -> list[tuple[str, int]]:
    """Return (address, port) of every TCP socket in LISTEN state owned by process `pid`."""
    inodes: set[str] = set()
    fd_dir = Path(f"/proc/{pid}/fd")
    for fd in fd_dir.iterdir():
        try:
            target = os.readlink(fd)
        except OSError:  # the fd was closed while we listed the directory
            continue
        if target.startswith("socket:["):
            inodes.add(target[len("socket:[") : -1])
    found: list[tuple[str, int]] = []
    for table in ("tcp", "tcp6"):
        path = Path(f"/proc/{pid}/net/{table}")
        if not path.exists():
            continue
        for line in path.read_text().splitlines()[1:]:
            fields = line.split()
            if fields[3] == "0A" and fields[9] in inodes:  # 0A = TCP_LISTEN
                found.append(_decode_proc_address(fields[1]))
    return sorted(found)


class PhoenixServer:
    """`phoenix serve` on 127.0.0.1 with free ports, a temporary working dir and sqlite DB.

    Telemetry, external resources, the agent assistant and its server-side bash are off. The
    OTLP gRPC receiver is bound to 127.0.0.1 by `phoenix_launch.py` (Phoenix itself binds
    "[::]"); with `grpc=False` it is still bound to loopback but `otlp_grpc_endpoint` is None.
    After startup every listening socket of the process is checked to be loopback, or the
    server is stopped and PhoenixError raised.
    """

    def __init__(
        self,
        venv: Path | None = None,
        *,
        grpc: bool = True,
        startup_timeout: float = STARTUP_TIMEOUT,
    ) -> None:
        self.venv = venv if venv is not None else phoenix_venv()
        self.grpc = grpc
        self.startup_timeout = startup_timeout
        self.http_port = 0
        self.grpc_port = 0
        self.startup_seconds: float | None = None
        self.workdir: Path | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self._log_path: Path | None = None

    # -- addresses ---------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        """HTTP root of the server, e.g. http://127.0.0.1:41234 (UI, REST API, OTLP/HTTP)."""
        return f"http://{LOOPBACK}:{self.http_port}"

    @property
    def otlp_http_endpoint(self) -> str:
        """OTLP/HTTP traces endpoint (protobuf only; JSON gets 415)."""
        return f"{self.base_url}/v1/traces"

    @property
    def otlp_grpc_endpoint(self) -> str | None:
        """OTLP/gRPC endpoint as "http://127.0.0.1:PORT" (insecure), or None if not offered."""
        return f"http://{LOOPBACK}:{self.grpc_port}" if self.grpc else None

    @property
    def pid(self) -> int:
        """Process id of the running server."""
        if self._process is None:
            raise PhoenixError("Phoenix is not running")
        return self._process.pid

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> PhoenixServer:
        """Start the server and wait until GET /readyz answers 200 (bounded by startup_timeout)."""
        python = _venv_python(self.venv)
        if not python.exists():
            raise PhoenixError(
                f"no Phoenix virtual environment at {self.venv}: run {INSTALL_SCRIPT} "
                f"(or set {SKIP_ENV}=1 to skip the Phoenix tests)"
            )
        self.workdir = Path(tempfile.mkdtemp(prefix="otel-jsonl-phoenix-"))
        self._log_path = self.workdir / "phoenix.log"
        self.http_port = _free_port()
        self.grpc_port = _free_port()
        while self.grpc_port == self.http_port:
            self.grpc_port = _free_port()
        started = time.monotonic()
        with self._log_path.open("wb") as log:
            self._process = subprocess.Popen(
                [str(python), str(LAUNCHER)],
                cwd=self.workdir,
                env=self._environment(),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # Ctrl-C in the terminal goes to pytest, not to Phoenix
            )
        try:
            self._wait_ready(started)
            self._check_loopback()
        except BaseException:
            self.stop()
            raise
        self.startup_seconds = time.monotonic() - started
        return self

    def _environment(self) -> dict[str, str]:
        assert self.workdir is not None
        env = {
            key: value
            for key, value in os.environ.items()
            # Nothing from the outer shell may reconfigure Phoenix, trace it, or change its
            # interpreter's import path.
            if not key.startswith(("PHOENIX_", "OTEL_", "PYTHON", "VIRTUAL_ENV"))
        }
        tmp = self.workdir / "tmp"
        tmp.mkdir()
        env.update(
            {
                "PHOENIX_HOST": LOOPBACK,
                "PHOENIX_PORT": str(self.http_port),
                "PHOENIX_GRPC_PORT": str(self.grpc_port),
                "PHOENIX_GRPC_HOST": LOOPBACK,  # read by phoenix_launch.py, not by Phoenix
                "PHOENIX_WORKING_DIR": str(self.workdir),
                "PHOENIX_SQL_DATABASE_URL": f"sqlite:///{self.workdir / 'phoenix.db'}",
                "PHOENIX_TELEMETRY_ENABLED": "false",
                # Without this it may fetch resources from the internet at start and hang.
                "PHOENIX_ALLOW_EXTERNAL_RESOURCES": "false",
                "PHOENIX_DISABLE_AGENT_ASSISTANT": "true",
                "PHOENIX_AGENTS_DISABLE_BASH": "true",  # no server-side shell for agents
                "PHOENIX_LOG_MIGRATIONS": "false",
                "TMPDIR": str(tmp),  # Phoenix writes pid files under $TMPDIR/phoenix
                "PYTHONUNBUFFERED": "1",
            }
        )
        return env

    def _wait_ready(self, started: float) -> None:
        assert self._process is not None
        deadline = started + self.startup_timeout
        while True:
            code = self._process.poll()
            if code is not None:
                raise PhoenixError(
                    f"Phoenix exited with code {code} before it was ready; log tail:\n"
                    + self.log_tail()
                )
            try:
                with urllib.request.urlopen(f"{self.base_url}/readyz", timeout=2) as response:
                    if response.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass  # not listening yet, or not ready (503)
            if time.monotonic() > deadline:
                raise PhoenixError(
                    f"Phoenix not ready after {self.startup_timeout:.0f} s; log tail:\n"
                    + self.log_tail()
                )
            time.sleep(0.25)

    def _check_loopback(self) -> None:
        sockets = self.listening_sockets()
        exposed = [(address, port) for address, port in sockets if not _is_loopback(address)]
        if exposed:
            raise PhoenixError(f"Phoenix listens beyond loopback: {exposed} (all: {sockets})")
        ports = {port for _, port in sockets}
        if self.http_port not in ports or self.grpc_port not in ports:
            raise PhoenixError(
                f"Phoenix is not listening on the expected ports http={self.http_port} "
                f"grpc={self.grpc_port}: {sockets}"
            )

    def stop(self) -> None:
        """Stop with SIGINT (Phoenix exits 0), kill after STOP_TIMEOUT; remove the work dir."""
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=STOP_TIMEOUT)
        if self.workdir is not None:
            shutil.rmtree(self.workdir, ignore_errors=True)
            self.workdir = None

    def __enter__(self) -> PhoenixServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- diagnostics -------------------------------------------------------------------------

    def log_tail(self, lines: int = 40) -> str:
        """Return the last `lines` lines of the server's combined stdout/stderr."""
        if self._log_path is None or not self._log_path.exists():
            return "(no log)"
        text = self._log_path.read_text(errors="replace")
        return "\n".join(text.splitlines()[-lines:])

    def listening_sockets(self) -> list[tuple[str, int]]:
        """(address, port) of every TCP socket the server process listens on."""
        return listening_sockets(self.pid)

    def rss_bytes(self) -> int:
        """Resident set size of the server process, from /proc/PID/status."""
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
        raise PhoenixError("VmRSS not found")

    # -- REST API ----------------------------------------------------------------------------

    def get_json(self, path: str, params: dict[str, str] | None = None) -> Any:
        """GET base_url + path (with query `params`) and decode the JSON body."""
        url = self.base_url + path
        if params:
            url += "?" + urllib.parse.urlencode(params)
        request = urllib.request.Request(url, headers={"Accept": "application/json"})
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.load(response)

    def projects(self) -> list[dict[str, Any]]:
        """All projects (GET /v1/projects, following next_cursor)."""
        return self._paged("/v1/projects", {})

    def _paged(self, path: str, params: dict[str, str]) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        cursor: str | None = None
        for _ in range(MAX_PAGES):  # bounded: a server repeating a cursor must not hang a test
            query = dict(params)
            if cursor:
                query["cursor"] = cursor
            page = self.get_json(path, query)
            items.extend(page.get("data") or [])
            cursor = page.get("next_cursor")
            if not cursor:
                return items
        raise PhoenixError(f"{path}: more than {MAX_PAGES} pages; is the cursor repeating?")

    def spans(
        self, project: str, *, expect: int = 1, timeout: float = 60.0
    ) -> list[dict[str, Any]]:
        """Spans of `project`, polled until at least `expect` are stored or `timeout` passes.

        Storage is asynchronous, so this polls GET /v1/projects/{project}/spans (following
        next_cursor). A project that does not exist yet counts as empty. At the deadline it
        returns what it has, possibly fewer than `expect`: the caller's assertion says what is
        missing.
        """
        path = f"/v1/projects/{urllib.parse.quote(project, safe='')}/spans"
        deadline = time.monotonic() + timeout
        found: list[dict[str, Any]] = []
        while True:
            try:
                found = self._paged(path, {"limit": "1000"})
            except urllib.error.HTTPError as error:
                if error.code != 404:  # 404: the project is created with its first span
                    raise
                error.close()
            if len(found) >= expect or time.monotonic() > deadline:
                return found
            time.sleep(0.2)


@pytest.fixture(scope="session")
def phoenix() -> Iterator[PhoenixServer]:
    """A Phoenix server on loopback for the whole session (fails if it is not installed)."""
    if os.environ.get(SKIP_ENV) == "1":
        pytest.skip(f"{SKIP_ENV}=1")
    venv = phoenix_venv()
    if not _venv_python(venv).exists():
        pytest.fail(
            f"Phoenix is not installed (no virtual environment at {venv}): run "
            f"{INSTALL_SCRIPT} (about 100 s, once), or set {SKIP_ENV}=1 to skip these tests",
            pytrace=False,
        )
    server = PhoenixServer(venv)
    try:
        server.start()
    except PhoenixError as error:
        pytest.fail(str(error), pytrace=False)
    print(
        f"\nphoenix: ready in {server.startup_seconds:.1f} s at {server.base_url}, "
        f"gRPC {server.otlp_grpc_endpoint}",
        file=sys.stderr,
    )
    try:
        yield server
    finally:
        server.stop()
