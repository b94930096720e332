"""Static checks of docker-compose.yml and deploy/otel-collector.yaml (no Docker engine here)."""

from __future__ import annotations

import copy
import re
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

REPO_ROOT = Path(__file__).resolve().parents[1]
COMPOSE_PATH = REPO_ROOT / "docker-compose.yml"
COLLECTOR_CONFIG_TARGET = "/etc/otelcol-contrib/config.yaml"
COLLECTOR_SERVICE = "collector"

EXPECTED_IMAGES = {
    "collector": "otel/opentelemetry-collector-contrib",
    "jaeger": "cr.jaegertracing.io/jaegertracing/jaeger",
    "phoenix": "arizephoenix/phoenix",
}
# Published ports as documented at the top of docker-compose.yml: host port -> container port.
EXPECTED_PORTS = {
    "collector": {4317: 4317, 4318: 4318, 13133: 13133},
    "jaeger": {16686: 16686},
    "phoenix": {6006: 6006, 14317: 4317},
}
# An exact version: 1.2.3, v1.2.3, or Phoenix's version-1.2.3 (optionally -nonroot and so on).
PINNED_TAG = re.compile(r"^(version-)?v?\d+\.\d+\.\d+(-[a-z0-9.]+)?$")
COMPONENT_KINDS = ("receivers", "processors", "exporters", "connectors")


@dataclass
class Port:
    """One published port of a compose service."""

    host_ip: str
    host_port: int
    container_port: int


@dataclass
class Mount:
    """One volume or bind mount of a compose service."""

    source: str
    target: str
    read_only: bool


@dataclass
class Stack:
    """The compose file and the collector config it mounts, parsed."""

    root: Path
    compose: dict[str, Any]
    collector: dict[str, Any]

    @property
    def services(self) -> dict[str, Any]:
        """The compose services by name."""
        return dict(self.compose.get("services") or {})


def parse_ports(service: dict[str, Any]) -> list[Port]:
    """Published ports of a service, short ("IP:HOST:CONTAINER") or long syntax."""
    ports: list[Port] = []
    for entry in service.get("ports") or []:
        if isinstance(entry, dict):
            ports.append(
                Port(
                    str(entry.get("host_ip", "")),
                    int(entry.get("published", 0)),
                    int(entry["target"]),
                )
            )
            continue
        spec = str(entry).split("/")[0]  # drop "/tcp"
        parts = spec.rsplit(":", 2)
        if len(parts) == 3:
            ports.append(Port(parts[0], int(parts[1]), int(parts[2])))
        elif len(parts) == 2:
            ports.append(Port("", int(parts[0]), int(parts[1])))
        else:
            ports.append(Port("", 0, int(parts[0])))  # a random host port on all interfaces
    return ports


def parse_mounts(service: dict[str, Any]) -> list[Mount]:
    """Volumes and bind mounts of a service, short ("SRC:TARGET[:ro]") or long syntax."""
    mounts: list[Mount] = []
    for entry in service.get("volumes") or []:
        if isinstance(entry, dict):
            mounts.append(
                Mount(
                    str(entry.get("source", "")),
                    str(entry["target"]),
                    bool(entry.get("read_only", False)),
                )
            )
            continue
        parts = str(entry).split(":")
        if len(parts) == 1:
            mounts.append(Mount("", parts[0], False))
        else:
            mode = parts[2].split(",") if len(parts) > 2 else []
            mounts.append(Mount(parts[0], parts[1], "ro" in mode))
    return mounts


def container_ports(service: dict[str, Any]) -> set[int]:
    """Ports a service listens on inside the network: published targets and `expose`."""
    exposed = {int(str(port).split("/")[0]) for port in service.get("expose") or []}
    return exposed | {port.container_port for port in parse_ports(service)}


def load_stack(compose_path: Path) -> Stack:
    """Parse a compose file and the collector config bind-mounted into its collector service."""
    compose = yaml.safe_load(compose_path.read_text())
    collector_service = (compose.get("services") or {}).get(COLLECTOR_SERVICE) or {}
    config: dict[str, Any] = {}
    for mount in parse_mounts(collector_service):
        if mount.target == COLLECTOR_CONFIG_TARGET:
            config = yaml.safe_load((compose_path.parent / mount.source).read_text())
    return Stack(compose_path.parent, compose, config)


# -- checks: each returns a list of problems, empty when the stack is right ------------------


def service_problems(stack: Stack) -> list[str]:
    """The stack has exactly the documented services."""
    names, expected = sorted(stack.services), sorted(EXPECTED_IMAGES)
    return [] if names == expected else [f"services {names} != {expected}"]


def image_problems(stack: Stack) -> list[str]:
    """Every image is the expected repository at an exact version tag (no `latest`)."""
    problems = []
    for name, service in stack.services.items():
        image = str(service.get("image", ""))
        repository, _, tag = image.rpartition(":")
        if "/" in tag or not repository:  # "host:port/repo" without a tag
            repository, tag = image, ""
        if not PINNED_TAG.match(tag):
            problems.append(f"{name}: image {image!r} is not pinned to an exact version tag")
        expected = EXPECTED_IMAGES.get(name)
        if expected is not None and repository != expected:
            problems.append(f"{name}: image repository {repository!r}, expected {expected!r}")
    return problems


def port_problems(stack: Stack) -> list[str]:
    """Published ports are as documented, bound to 127.0.0.1, each host port used once."""
    problems = []
    seen: dict[int, str] = {}
    for name, service in stack.services.items():
        ports = parse_ports(service)
        for port in ports:
            if port.host_ip != "127.0.0.1":
                problems.append(f"{name}: port {port.container_port} published beyond loopback")
            if port.host_port in seen:
                problems.append(
                    f"{name}: host port {port.host_port} already used by {seen[port.host_port]}"
                )
            seen[port.host_port] = name
        published = {port.host_port: port.container_port for port in ports}
        if published != EXPECTED_PORTS.get(name, {}):
            problems.append(f"{name}: publishes {published}, documented {EXPECTED_PORTS.get(name)}")
    return problems


def pipeline_problems(stack: Stack) -> list[str]:
    """Every component used in a pipeline is defined, and every defined one is used."""
    config = stack.collector
    service = config.get("service") or {}
    pipelines = service.get("pipelines") or {}
    problems = [] if pipelines else ["collector: no pipelines"]
    for kind in COMPONENT_KINDS:
        defined = set(config.get(kind) or {})
        used: set[str] = set()
        for pipeline_name, pipeline in pipelines.items():
            used.update((pipeline or {}).get(kind) or [])
            if kind in ("receivers", "exporters") and not (pipeline or {}).get(kind):
                problems.append(f"collector: pipeline {pipeline_name} has no {kind}")
        problems += [f"collector: {kind[:-1]} {n!r} used but not defined" for n in used - defined]
        problems += [f"collector: {kind[:-1]} {n!r} defined but not used" for n in defined - used]
    defined_extensions = set(config.get("extensions") or {})
    used_extensions = set(service.get("extensions") or [])
    problems += [
        f"collector: extension {n!r} used but not defined"
        for n in used_extensions - defined_extensions
    ]
    problems += [
        f"collector: extension {n!r} defined but not used"
        for n in defined_extensions - used_extensions
    ]
    return problems


def _host_port(endpoint: str) -> tuple[str, int | None]:
    parts = urlsplit(endpoint if "//" in endpoint else f"//{endpoint}")
    return parts.hostname or "", parts.port


def endpoint_problems(stack: Stack) -> list[str]:
    """Exporter endpoints name a compose service, on a port that service listens on."""
    problems = []
    for name, exporter in (stack.collector.get("exporters") or {}).items():
        for key in ("endpoint", "traces_endpoint"):
            endpoint = (exporter or {}).get(key)
            if endpoint is None:
                continue
            host, port = _host_port(str(endpoint))
            target = stack.services.get(host)
            if target is None:
                problems.append(f"exporter {name}: {key} {endpoint!r} is not a compose service")
            elif port not in container_ports(target):
                problems.append(f"exporter {name}: {host} does not listen on port {port}")
    return problems


def receiver_problems(stack: Stack) -> list[str]:
    """The collector's OTLP and health ports are the ones the compose file publishes."""
    collector = stack.services.get(COLLECTOR_SERVICE) or {}
    published = {port.container_port for port in parse_ports(collector)}
    endpoints = [
        protocol.get("endpoint", "")
        for protocol in ((stack.collector.get("receivers") or {}).get("otlp") or {})
        .get("protocols", {})
        .values()
    ]
    endpoints.append(
        ((stack.collector.get("extensions") or {}).get("health_check") or {}).get("endpoint", "")
    )
    problems = []
    for endpoint in endpoints:
        host, port = _host_port(str(endpoint))
        # Inside the container localhost is unreachable through Docker's port mapping.
        if host != "0.0.0.0":
            problems.append(f"collector: {endpoint!r} must listen on 0.0.0.0 in the container")
        if port not in published:
            problems.append(f"collector: {endpoint!r} is not published by the compose file")
    return problems


def _under(path: str, directory: str) -> bool:
    return PurePosixPath(path).is_relative_to(PurePosixPath(directory))


def file_problems(stack: Stack) -> list[str]:
    """The file exporter writes under a writable mount; replay globs read under a mount."""
    mounts = parse_mounts(stack.services.get(COLLECTOR_SERVICE) or {})
    problems = []
    exporters = stack.collector.get("exporters") or {}
    file_exporters = {n: e for n, e in exporters.items() if n.split("/")[0] == "file"}
    if not file_exporters:
        problems.append("collector: no file exporter")
    for name, exporter in file_exporters.items():
        path = str((exporter or {}).get("path", ""))
        if not any(_under(path, m.target) and not m.read_only for m in mounts):
            problems.append(f"exporter {name}: {path!r} is not under a writable mounted volume")
    receivers = stack.collector.get("receivers") or {}
    for name, receiver in receivers.items():
        if name.split("/")[0] != "otlp_json_file":
            continue
        for pattern in (receiver or {}).get("include") or []:
            if not any(_under(str(pattern), m.target) for m in mounts):
                problems.append(f"receiver {name}: {pattern!r} is not under a mounted volume")
    return problems


def component_name_problems(stack: Stack) -> list[str]:
    """The collector config uses the 2026 component names, not the deprecated aliases."""
    deprecated = {"otlp": "otlp_grpc", "otlphttp": "otlp_http", "otlpjsonfile": "otlp_json_file"}
    problems = []
    for kind in ("exporters", "receivers"):
        for name in stack.collector.get(kind) or {}:
            base = name.split("/")[0]
            if base in deprecated and not (kind == "receivers" and base == "otlp"):
                problems.append(f"collector: {kind[:-1]} {name!r}: use {deprecated[base]!r}")
    return problems


CHECKS: list[Callable[[Stack], list[str]]] = [
    service_problems,
    image_problems,
    port_problems,
    pipeline_problems,
    endpoint_problems,
    receiver_problems,
    file_problems,
    component_name_problems,
]


def all_problems(stack: Stack) -> list[str]:
    """Every problem every check finds."""
    return [problem for check in CHECKS for problem in check(stack)]


# -- the repository's files ------------------------------------------------------------------


@pytest.fixture(scope="module")
def stack() -> Stack:
    """The repository's compose stack, parsed."""
    return load_stack(COMPOSE_PATH)


def test_collector_config_is_mounted(stack: Stack) -> None:
    """The compose collector mounts deploy/otel-collector.yaml read-only at the image's path."""
    mounts = parse_mounts(stack.services[COLLECTOR_SERVICE])
    config = [m for m in mounts if m.target == COLLECTOR_CONFIG_TARGET]
    assert [(m.source, m.read_only) for m in config] == [("./deploy/otel-collector.yaml", True)]
    assert stack.collector, "the collector config did not parse"


@pytest.mark.parametrize("check", CHECKS, ids=lambda check: check.__name__)
def test_repository_stack(stack: Stack, check: Callable[[Stack], list[str]]) -> None:
    """The repository's compose file and collector config pass each static check."""
    assert check(stack) == []


def test_fan_out(stack: Stack) -> None:
    """OTLP from users reaches Jaeger over gRPC, Phoenix over HTTP, and the file."""
    exporters = stack.collector["exporters"]
    pipeline = stack.collector["service"]["pipelines"]["traces"]
    assert pipeline["receivers"] == ["otlp"]
    assert "batch" in pipeline["processors"]
    assert exporters["otlp_grpc/jaeger"]["endpoint"] == "jaeger:4317"
    assert exporters["otlp_http/phoenix"]["traces_endpoint"] == "http://phoenix:6006/v1/traces"
    assert set(pipeline["exporters"]) == {"otlp_grpc/jaeger", "otlp_http/phoenix", "file"}


# -- the checker can fail: break a temp copy on purpose --------------------------------------


def _set_image(tag: str) -> Callable[[dict[str, Any], dict[str, Any]], None]:
    def mutate(compose: dict[str, Any], collector: dict[str, Any]) -> None:
        image = compose["services"]["jaeger"]["image"]
        compose["services"]["jaeger"]["image"] = image.rpartition(":")[0] + tag

    return mutate


def _publish_all_interfaces(compose: dict[str, Any], collector: dict[str, Any]) -> None:
    compose["services"]["jaeger"]["ports"] = ["16686:16686"]


def _clash_phoenix_grpc(compose: dict[str, Any], collector: dict[str, Any]) -> None:
    compose["services"]["phoenix"]["ports"][-1] = "127.0.0.1:4317:4317"


def _unused_exporter(compose: dict[str, Any], collector: dict[str, Any]) -> None:
    collector["exporters"]["debug"] = {}


def _undefined_processor(compose: dict[str, Any], collector: dict[str, Any]) -> None:
    collector["service"]["pipelines"]["traces"]["processors"].append("memory_limiter")


def _unused_extension(compose: dict[str, Any], collector: dict[str, Any]) -> None:
    collector["service"]["extensions"] = []


def _wrong_service(compose: dict[str, Any], collector: dict[str, Any]) -> None:
    collector["exporters"]["otlp_grpc/jaeger"]["endpoint"] = "jaeger-collector:4317"


def _wrong_port(compose: dict[str, Any], collector: dict[str, Any]) -> None:
    collector["exporters"]["otlp_http/phoenix"]["traces_endpoint"] = "http://phoenix:4318/v1/traces"


def _file_outside_volume(compose: dict[str, Any], collector: dict[str, Any]) -> None:
    collector["exporters"]["file"]["path"] = "/tmp/traces.jsonl"


def _file_on_read_only_volume(compose: dict[str, Any], collector: dict[str, Any]) -> None:
    collector["exporters"]["file"]["path"] = "/data/replay/out.jsonl"


def _receiver_on_localhost(compose: dict[str, Any], collector: dict[str, Any]) -> None:
    collector["receivers"]["otlp"]["protocols"]["grpc"]["endpoint"] = "localhost:4317"


def _old_exporter_name(compose: dict[str, Any], collector: dict[str, Any]) -> None:
    collector["exporters"]["otlphttp/phoenix"] = collector["exporters"].pop("otlp_http/phoenix")
    for pipeline in collector["service"]["pipelines"].values():
        pipeline["exporters"] = [
            "otlphttp/phoenix" if e == "otlp_http/phoenix" else e for e in pipeline["exporters"]
        ]


def _drop_service(compose: dict[str, Any], collector: dict[str, Any]) -> None:
    del compose["services"]["phoenix"]


BREAKAGES = [
    pytest.param(_set_image(":latest"), "is not pinned", id="latest-tag"),
    pytest.param(_set_image(""), "is not pinned", id="no-tag"),
    pytest.param(_set_image(":2"), "is not pinned", id="major-only-tag"),
    pytest.param(_publish_all_interfaces, "beyond loopback", id="all-interfaces"),
    pytest.param(_clash_phoenix_grpc, "already used by collector", id="port-clash"),
    pytest.param(_unused_exporter, "exporter 'debug' defined but not used", id="unused-exporter"),
    pytest.param(_undefined_processor, "'memory_limiter' used but not defined", id="undefined"),
    pytest.param(_unused_extension, "'health_check' defined but not used", id="unused-extension"),
    pytest.param(_wrong_service, "is not a compose service", id="endpoint-service"),
    pytest.param(_wrong_port, "phoenix does not listen on port 4318", id="endpoint-port"),
    pytest.param(_file_outside_volume, "not under a writable mounted volume", id="file-path"),
    pytest.param(_file_on_read_only_volume, "not under a writable mounted", id="file-read-only"),
    pytest.param(_receiver_on_localhost, "must listen on 0.0.0.0", id="receiver-localhost"),
    pytest.param(_old_exporter_name, "use 'otlp_http'", id="deprecated-name"),
    pytest.param(_drop_service, "services", id="missing-service"),
]


@pytest.mark.parametrize(("mutate", "expected"), BREAKAGES)
def test_checker_catches_breakage(
    tmp_path: Path,
    stack: Stack,
    mutate: Callable[[dict[str, Any], dict[str, Any]], None],
    expected: str,
) -> None:
    """A temp copy of the stack broken on purpose is reported by the static checks."""
    compose, collector = copy.deepcopy(stack.compose), copy.deepcopy(stack.collector)
    mutate(compose, collector)
    (tmp_path / "deploy").mkdir()
    (tmp_path / "deploy" / "otel-collector.yaml").write_text(yaml.safe_dump(collector))
    (tmp_path / "docker-compose.yml").write_text(yaml.safe_dump(compose))
    problems = all_problems(load_stack(tmp_path / "docker-compose.yml"))
    assert any(expected in problem for problem in problems), problems


def test_unchanged_copy_passes(tmp_path: Path, stack: Stack) -> None:
    """A temp copy written back unchanged passes, so the breakage tests test the breakage."""
    shutil.copytree(REPO_ROOT / "deploy", tmp_path / "deploy")
    shutil.copy(COMPOSE_PATH, tmp_path / "docker-compose.yml")
    assert all_problems(load_stack(tmp_path / "docker-compose.yml")) == []


# -- docker compose itself, when it is installed ---------------------------------------------


def _compose_command() -> list[str] | None:
    docker = shutil.which("docker")
    if docker is not None:
        result = subprocess.run(
            [docker, "compose", "version"], capture_output=True, text=True, timeout=30
        )
        if result.returncode == 0:
            return [docker, "compose"]
    standalone = shutil.which("docker-compose")
    return [standalone] if standalone is not None else None


def test_docker_compose_config() -> None:
    """`docker compose config` (no engine needed) accepts the file and resolves the ports."""
    command = _compose_command()
    if command is None:
        pytest.skip("neither the docker compose plugin nor docker-compose is installed")
    result = subprocess.run(
        [*command, "-f", str(COMPOSE_PATH), "config", "--format", "json"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=REPO_ROOT,
    )
    assert result.returncode == 0, result.stderr
    resolved = yaml.safe_load(result.stdout)  # JSON is YAML
    assert set(resolved["services"]) == set(EXPECTED_IMAGES)
    for service in resolved["services"].values():
        assert all(port["host_ip"] == "127.0.0.1" for port in service.get("ports", []))
