"""Shipping over TLS: certificates the test makes, a loopback HTTPS receiver, the CLI's TLS
options and the SDK's ``OTEL_EXPORTER_OTLP_CERTIFICATE`` / ``_TIMEOUT`` variables."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.grpc_receiver import GrpcReceiver
from support.otlp_receiver import OtlpReceiver
from support.tls import Certificates, make_certificates

from otel_jsonl.cli import main
from otel_jsonl.demo import run_demo

FAST = ["--retries", "0", "--timeout", "3"]


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> Certificates:
    """A CA, a server and a client certificate, made for this module."""
    return make_certificates(tmp_path_factory.mktemp("certs"))


@pytest.fixture
def demo_file(tmp_path: Path) -> Path:
    """A demo trace with one run (five spans)."""
    path = tmp_path / "demo.jsonl"
    run_demo(path, run_id="cafe0001")
    return path


@pytest.fixture
def https(certs: Certificates) -> Iterator[OtlpReceiver]:
    """An OTLP/HTTPS receiver on loopback serving the test's server certificate."""
    with OtlpReceiver(tls=certs.server_context()) as r:
        yield r


@pytest.fixture
def mtls(certs: Certificates) -> Iterator[OtlpReceiver]:
    """An OTLP/HTTPS receiver that requires a client certificate signed by the test CA."""
    with OtlpReceiver(tls=certs.server_context(require_client_cert=True)) as r:
        yield r


@pytest.fixture
def no_otlp_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No OTLP variable from the outer environment leaks into a test."""
    import os

    for name in list(os.environ):
        if name.startswith("OTEL_EXPORTER_OTLP"):
            monkeypatch.delenv(name)


pytestmark = pytest.mark.usefixtures("no_otlp_env")


@pytest.fixture(params=["no CA bundle variable", "REQUESTS_CA_BUNDLE set"])
def ca_bundle_env(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch, certs: Certificates
) -> None:
    """With and without REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE in the environment: requests lets
    them override a session's CA file (psf/requests#3829), which the shipper must not allow."""
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    if request.param != "no CA bundle variable":
        # Any readable bundle that does not hold the test CA.
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(certs.other_ca))


@pytest.mark.usefixtures("ca_bundle_env")
def test_certificate_option_trusts_the_test_ca(
    demo_file: Path, https: OtlpReceiver, certs: Certificates, capsys: pytest.CaptureFixture[str]
) -> None:
    """--certificate CA makes the HTTPS receiver trusted: every span arrives."""
    rc = main(
        ["convert", str(demo_file), "--endpoint", https.endpoint, "--certificate", str(certs.ca)]
    )
    err = capsys.readouterr().err
    assert rc == 0, err
    assert len(https.spans) == 5
    assert "sent 5 spans" in err


@pytest.mark.usefixtures("ca_bundle_env")
def test_certificate_from_the_environment(
    demo_file: Path,
    https: OtlpReceiver,
    certs: Certificates,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """OTEL_EXPORTER_OTLP_CERTIFICATE is honoured when no --certificate is given."""
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_CERTIFICATE", str(certs.ca))
    rc = main(["convert", str(demo_file), "--endpoint", https.endpoint])
    err = capsys.readouterr().err
    assert rc == 0, err
    assert len(https.spans) == 5


def test_untrusted_certificate_is_reported_as_such(
    demo_file: Path, https: OtlpReceiver, certs: Certificates, capsys: pytest.CaptureFixture[str]
) -> None:
    """A server certificate from another CA fails with a certificate error, exit 1, no spans."""
    rc = main(
        [
            "convert",
            str(demo_file),
            "--endpoint",
            https.endpoint,
            "--certificate",
            str(certs.other_ca),
            *FAST,
        ]
    )
    err = capsys.readouterr().err
    assert rc == 1
    assert https.spans == []
    assert "certificate verify failed" in err
    assert "Traceback" not in err


@pytest.mark.usefixtures("ca_bundle_env")
def test_client_certificate_for_mutual_tls(
    demo_file: Path, mtls: OtlpReceiver, certs: Certificates, capsys: pytest.CaptureFixture[str]
) -> None:
    """--client-certificate and --client-key pass a server that requires a client certificate."""
    rc = main(
        [
            "convert",
            str(demo_file),
            "--endpoint",
            mtls.endpoint,
            "--certificate",
            str(certs.ca),
            "--client-certificate",
            str(certs.client_cert),
            "--client-key",
            str(certs.client_key),
        ]
    )
    err = capsys.readouterr().err
    assert rc == 0, err
    assert len(mtls.spans) == 5


def test_client_certificate_from_the_environment(
    demo_file: Path,
    mtls: OtlpReceiver,
    certs: Certificates,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE / _CLIENT_KEY are honoured too."""
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_CERTIFICATE", str(certs.ca))
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE", str(certs.client_cert))
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_CLIENT_KEY", str(certs.client_key))
    rc = main(["convert", str(demo_file), "--endpoint", mtls.endpoint])
    err = capsys.readouterr().err
    assert rc == 0, err
    assert len(mtls.spans) == 5


def test_missing_client_certificate_fails_cleanly(
    demo_file: Path, mtls: OtlpReceiver, certs: Certificates, capsys: pytest.CaptureFixture[str]
) -> None:
    """Without the client certificate the mutual-TLS server refuses: exit 1, no traceback."""
    rc = main(
        [
            "convert",
            str(demo_file),
            "--endpoint",
            mtls.endpoint,
            "--certificate",
            str(certs.ca),
            *FAST,
        ]
    )
    err = capsys.readouterr().err
    assert rc == 1
    assert mtls.spans == []
    assert "5 of 5 spans could not be sent" in err
    assert "Traceback" not in err


def test_missing_certificate_file_is_a_usage_error(
    demo_file: Path, https: OtlpReceiver, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--certificate naming no file is reported before anything is sent (exit 2)."""
    missing = tmp_path / "nope.pem"
    rc = main(
        ["convert", str(demo_file), "--endpoint", https.endpoint, "--certificate", str(missing)]
    )
    err = capsys.readouterr().err
    assert rc == 2, err
    assert str(missing) in err
    assert https.requests == 0


class _SilentServer:
    """Accepts TCP connections on loopback and never answers (a hung backend)."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.conns: list[socket.socket] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        self.sock.settimeout(0.1)
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.conns.append(conn)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        for conn in self.conns:
            conn.close()
        self.sock.close()


def test_timeout_from_the_environment_bounds_a_hung_backend(
    demo_file: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """OTEL_EXPORTER_OTLP_TIMEOUT (seconds, as the Python SDK reads it) bounds a request to a
    backend that never answers: the command ends with a timeout error well before the SDK's
    default 10 s."""
    server = _SilentServer()
    try:
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_TIMEOUT", "1")
        began = time.monotonic()
        rc = main(
            [
                "convert",
                str(demo_file),
                "--endpoint",
                f"http://127.0.0.1:{server.port}",
                "--retries",
                "0",
            ]
        )
        elapsed = time.monotonic() - began
    finally:
        server.close()
    err = capsys.readouterr().err
    assert rc == 1
    assert "timed out" in err.lower()
    assert elapsed < 8, f"took {elapsed:.1f} s: OTEL_EXPORTER_OTLP_TIMEOUT=1 was not honoured"


@pytest.mark.parametrize("how", ["option", "environment"])
def test_grpc_over_tls_with_the_test_ca(
    demo_file: Path,
    certs: Certificates,
    how: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """OTLP/gRPC to a loopback TLS receiver: --certificate or OTEL_EXPORTER_OTLP_CERTIFICATE
    makes it trusted; every span arrives."""
    with GrpcReceiver(certs) as grpc_tls:
        argv = ["convert", str(demo_file), "--protocol", "grpc", "--endpoint", grpc_tls.endpoint]
        if how == "option":
            argv += ["--certificate", str(certs.ca)]
        else:
            monkeypatch.setenv("OTEL_EXPORTER_OTLP_CERTIFICATE", str(certs.ca))
        rc = main(argv)
        err = capsys.readouterr().err
        assert rc == 0, err
        assert len(grpc_tls.spans) == 5


def test_grpc_mutual_tls(
    demo_file: Path,
    certs: Certificates,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """OTLP/gRPC to a receiver that requires a client certificate: the client certificate and
    key options pass it (the CA from OTEL_EXPORTER_OTLP_CERTIFICATE: options and variables
    combine); without them nothing arrives and the command exits 1."""
    with GrpcReceiver(certs, require_client_cert=True) as grpc_mtls:
        base = ["convert", str(demo_file), "--protocol", "grpc", "--endpoint", grpc_mtls.endpoint]
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_CERTIFICATE", str(certs.ca))
        rc = main(
            [
                *base,
                "--client-certificate",
                str(certs.client_cert),
                "--client-key",
                str(certs.client_key),
            ]
        )
        assert rc == 0, capsys.readouterr().err
        assert len(grpc_mtls.spans) == 5
        rc = main([*base, "--retries", "0", "--timeout", "2"])
        err = capsys.readouterr().err
        assert rc == 1
        assert "5 of 5 spans could not be sent" in err
        assert len(grpc_mtls.spans) == 5


def test_missing_certificate_named_by_the_environment_is_a_usage_error(
    demo_file: Path,
    https: OtlpReceiver,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """OTEL_EXPORTER_OTLP_CERTIFICATE naming no file: exit 2 naming the variable, nothing
    sent (not retried as if the backend were down)."""
    missing = tmp_path / "gone.pem"
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_CERTIFICATE", str(missing))
    rc = main(["convert", str(demo_file), "--endpoint", https.endpoint])
    err = capsys.readouterr().err
    assert rc == 2, err
    assert "OTEL_EXPORTER_OTLP_CERTIFICATE" in err
    assert str(missing) in err
    assert https.requests == 0
