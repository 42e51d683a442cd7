"""Rendering and schema validation of deploy/k8s, shared by the deploy tests."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import kubernetes_validate
import yaml
from kubernetes_validate.utils import SchemaNotFoundError

from marquee.addresses import SERVERS as ADDRESSES
from tests.deploy import kustomize_lite

REPO_ROOT = Path(__file__).resolve().parents[2]
K8S = REPO_ROOT / "deploy" / "k8s"
OVERLAYS = ("cpu", "gpu", "gpu-shared-cache", "triton")
#: The oldest release with GA native gRPC probes, and the newest kubernetes-validate knows.
KUBERNETES_VERSIONS = ("1.27", "1.37")
#: Custom resources the manifests may use, with what checks them instead of a Kubernetes schema
#: (kubernetes-validate only warns on kinds it has no schema for; any other kind fails the test).
CUSTOM_RESOURCES: dict[tuple[str, str], str] = {
    ("monitoring.coreos.com/v1", "PodMonitor"): "tests/deploy/test_manifests.py::test_pod_monitor"
}
SERVERS = {
    name: {
        "port": ADDRESSES[name].port,
        "metrics": ADDRESSES[name].metrics_port,
        "service": f"marquee.v1.{name.capitalize()}Service",
    }
    for name in ("recommender", "layout", "render")
}

Resource = dict[str, Any]


def kubectl() -> str | None:
    return shutil.which("kubectl")


def render_with_kubectl(directory: Path) -> list[Resource]:
    binary = kubectl()
    assert binary is not None
    result = subprocess.run([binary, "kustomize", str(directory)], capture_output=True, text=True, timeout=120)
    if result.returncode != 0:
        raise AssertionError(f"kubectl kustomize {directory} failed:\n{result.stderr}")
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


@cache
def _rendered(overlay: str) -> tuple[str, ...]:
    directory = K8S / "overlays" / overlay
    docs = render_with_kubectl(directory) if kubectl() else kustomize_lite.render(directory)
    # Cached as text so that no test can change another test's copy.
    return tuple(yaml.safe_dump(doc) for doc in docs)


def render_overlay(overlay: str) -> list[Resource]:
    """The overlay's resources: `kubectl kustomize` when kubectl is on PATH, else kustomize_lite."""
    return [yaml.safe_load(text) for text in _rendered(overlay)]


def identity(resource: Resource) -> tuple[str, str, str]:
    meta = resource["metadata"]
    return resource["kind"], meta.get("namespace", ""), meta["name"]


def by_kind(resources: list[Resource], kind: str) -> dict[str, Resource]:
    return {r["metadata"]["name"]: r for r in resources if r["kind"] == kind}


def pod_spec(workload: Resource) -> dict[str, Any]:
    return workload["spec"]["template"]["spec"]


def containers(workload: Resource) -> Iterator[dict[str, Any]]:
    spec = pod_spec(workload)
    yield from spec.get("initContainers", [])
    yield from spec["containers"]


@dataclass
class Validation:
    errors: list[str] = field(default_factory=list)
    no_schema: list[tuple[str, str]] = field(default_factory=list)


def validate(resources: list[Resource], version: str) -> Validation:
    """`kubernetes-validate --strict` on each resource, for one Kubernetes version."""
    out = Validation()
    for resource in resources:
        try:
            kubernetes_validate.validate(resource, version, strict=True)
        except kubernetes_validate.ValidationError as exc:
            path = ".".join(str(p) for p in exc.path)
            out.errors.append(f"{identity(resource)} against {version}: {path}: {exc.message}")
        except SchemaNotFoundError:
            out.no_schema.append((resource["apiVersion"], resource["kind"]))
    return out


def load_yaml_file(path: Path) -> list[Resource]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc]
