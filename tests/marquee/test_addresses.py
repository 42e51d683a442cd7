"""The default ports exist once (`marquee.addresses`): every server's settings, the client's
default addresses and every deploy file that names a port agree with it, and no package writes a
port of its own."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from client_tui.connections import Endpoints
from layout_server.config import LayoutSettings
from marquee.addresses import DEFAULT_ADDRESSES, LAYOUT, RECOMMENDER, RENDER, SERVERS, ServerPorts
from marquee.serving import ServerSettings
from recommender_server.config import RecommenderSettings
from render_server.config import RenderSettings

REPO_ROOT = Path(__file__).resolve().parents[2]
DOCKER = REPO_ROOT / "deploy" / "docker"
K8S = REPO_ROOT / "deploy" / "k8s"
PACKAGES = ("protos/marquee", "recommender_server", "layout_server", "render_server", "client_tui")
SETTINGS: dict[str, type[ServerSettings]] = {
    "recommender": RecommenderSettings,
    "layout": LayoutSettings,
    "render": RenderSettings,
}


def _dockerfile_env(text: str) -> dict[str, str]:
    """KEY=value pairs of every ENV instruction (continuation lines joined)."""
    joined = re.sub(r"\\\n", " ", text)
    pairs: dict[str, str] = {}
    for line in joined.splitlines():
        if line.strip().startswith("ENV "):
            pairs.update(re.findall(r"(\w+)=(\S+)", line))
    return pairs


def test_the_servers_and_their_modules_are_all_here() -> None:
    assert list(SERVERS) == ["recommender", "layout", "render"]
    assert [s.module for s in SERVERS.values()] == ["recommender_server", "layout_server", "render_server"]
    ports = [p for s in SERVERS.values() for p in (s.port, s.metrics_port)]
    assert len(set(ports)) == len(ports), "two servers would listen on one port"
    assert DEFAULT_ADDRESSES == {
        "recommender": "127.0.0.1:50051",
        "layout": "127.0.0.1:50052",
        "render": "127.0.0.1:50053",
    }


@pytest.mark.parametrize("name", list(SERVERS))
def test_each_server_listens_on_its_default_ports(name: str, clean_env: None) -> None:
    settings = SETTINGS[name]()
    assert (settings.port, settings.metrics_port) == (SERVERS[name].port, SERVERS[name].metrics_port)
    assert getattr(settings, "http_port", None) == SERVERS[name].http_port


def test_the_client_looks_where_the_servers_listen() -> None:
    endpoints = Endpoints.from_sources({}, {})
    assert endpoints.addresses == {name: [address] for name, address in DEFAULT_ADDRESSES.items()}


@pytest.mark.parametrize("server", SERVERS.values(), ids=list(SERVERS))
def test_each_image_exposes_and_probes_the_default_ports(server: ServerPorts) -> None:
    text = (DOCKER / f"{server.name}.Dockerfile").read_text()
    env = _dockerfile_env(text)
    assert (env["MARQUEE_PORT"], env["MARQUEE_METRICS_PORT"]) == (str(server.port), str(server.metrics_port))
    (expose,) = re.findall(r"^EXPOSE (.+)$", text, re.MULTILINE)
    assert expose.split() == [str(server.port), str(server.metrics_port)]
    # The probe asks 127.0.0.1:$MARQUEE_PORT: the port the image sets, with no other port given.
    (healthcheck,) = re.findall(r"^HEALTHCHECK .*?CMD (\[.*?\])$", re.sub(r"\\\n", " ", text), re.MULTILINE)
    assert yaml.safe_load(healthcheck) == ["python", "-m", "marquee.serving.probe"]


def test_the_client_image_and_the_example_job_look_on_the_default_ports() -> None:
    env = _dockerfile_env((DOCKER / "client.Dockerfile").read_text())
    job = yaml.safe_load((K8S / "examples" / "client-job.yaml").read_text())
    (container,) = job["spec"]["template"]["spec"]["containers"]
    job_env = {item["name"]: item.get("value") for item in container["env"]}
    for server in SERVERS.values():
        variable = f"MARQUEE_{server.name.upper()}_ADDR"
        assert env[variable] == f"{server.name}:{server.port}"
        assert job_env[variable] == f"{server.name}.marquee.svc.cluster.local:{server.port}"


def test_the_kubernetes_config_maps_set_the_default_ports() -> None:
    maps = {
        doc["metadata"]["name"]: doc["data"]
        for doc in yaml.safe_load_all((K8S / "base" / "config.yaml").read_text())
        if doc
    }
    for server in SERVERS.values():
        data = maps[f"{server.name}-config"]
        assert (data["MARQUEE_PORT"], data["MARQUEE_METRICS_PORT"]) == (str(server.port), str(server.metrics_port))


def test_no_docker_compose_file_names_other_ports() -> None:
    composes = [
        p
        for pattern in ("compose*.y*ml", "docker-compose*.y*ml")
        for p in REPO_ROOT.glob(f"**/{pattern}")
        if ".venv" not in p.parts
    ]
    ports = {str(p) for s in SERVERS.values() for p in (s.port, s.metrics_port)}
    for path in composes:
        published = re.findall(r"\b(\d{4,5}):(\d{4,5})\b", path.read_text())
        assert all(inner in ports for _, inner in published), path


def test_no_package_writes_a_default_port_of_its_own() -> None:
    literal = re.compile(
        r"\b(" + "|".join(str(p) for s in (RECOMMENDER, LAYOUT, RENDER) for p in (s.port, s.metrics_port)) + r")\b"
    )
    found = [
        f"{path.relative_to(REPO_ROOT)}:{number}"
        for package in PACKAGES
        for path in sorted((REPO_ROOT / package).rglob("*.py"))
        if path.name != "addresses.py" and "_pb2" not in path.name
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if literal.search(line)
    ]
    assert found == []
