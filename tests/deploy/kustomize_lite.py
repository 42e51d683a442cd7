"""Renders the kustomizations in deploy/k8s without kubectl: the subset of kustomize they use.

`kubectl kustomize` is the reference (tests/deploy uses it when it is on PATH and checks that this
renderer agrees with it); this exists so a machine without kubectl still validates the manifests.
Supported: `resources` (files and directories), `namespace`, `images` (newName/newTag/digest) and
`patches` given by `path` as strategic-merge patches (lists merged by their Kubernetes merge key,
`null` deleting a field, `$patch: delete` deleting a resource). Anything else is refused, so a
kustomization that outgrows this subset fails loudly instead of rendering wrongly.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml

Resource = dict[str, Any]

SUPPORTED_KEYS = {"apiVersion", "kind", "resources", "namespace", "images", "patches"}
CLUSTER_SCOPED = {
    "Namespace",
    "ClusterRole",
    "ClusterRoleBinding",
    "CustomResourceDefinition",
    "PersistentVolume",
    "StorageClass",
    "PriorityClass",
    "IngressClass",
    "RuntimeClass",
}
# Strategic-merge keys of the lists these manifests patch (from the Kubernetes API's
# x-kubernetes-patch-merge-key); lists not named here are replaced wholesale, as kustomize does.
MERGE_KEYS = {
    "containers": "name",
    "initContainers": "name",
    "volumes": "name",
    "volumeMounts": "mountPath",
    "env": "name",
    "ports": "containerPort",
    "imagePullSecrets": "name",
}


class KustomizeError(ValueError):
    """A kustomization outside the supported subset, or one that does not resolve."""


def _identity(resource: Resource) -> tuple[str, str, str]:
    meta = resource.get("metadata") or {}
    return resource["kind"], meta.get("namespace", ""), meta["name"]


def _load_documents(path: Path) -> list[Resource]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc]


def _merge(base: Any, patch: Any, key: str | None = None) -> Any:
    if isinstance(base, dict) and isinstance(patch, dict):
        if patch.get("$patch") == "replace":
            return {k: v for k, v in patch.items() if k != "$patch"}
        out = dict(base)
        for field, value in patch.items():
            if value is None:
                out.pop(field, None)
            elif field in out:
                out[field] = _merge(out[field], value, field)
            else:
                out[field] = value
        return out
    if isinstance(base, list) and isinstance(patch, list) and key in MERGE_KEYS:
        merge_key = MERGE_KEYS[key]
        out = list(base)
        for item in patch:
            if not isinstance(item, dict) or merge_key not in item:
                raise KustomizeError(f"list {key!r} item without merge key {merge_key!r}: {item}")
            index = next(
                (i for i, old in enumerate(out) if isinstance(old, dict) and old.get(merge_key) == item[merge_key]),
                None,
            )
            if item.get("$patch") == "delete":
                if index is not None:
                    out.pop(index)
            elif index is None:
                out.append(item)
            else:
                out[index] = _merge(out[index], item)
        return out
    return copy.deepcopy(patch)


def _set_image(resource: Resource, images: list[dict[str, str]]) -> None:
    spec = resource.get("spec", {}).get("template", {}).get("spec", {})
    for container in [*spec.get("containers", []), *spec.get("initContainers", [])]:
        image = container.get("image", "")
        name, digest = image.split("@", 1) if "@" in image else (image, "")
        repo, tag = name.rsplit(":", 1) if ":" in name.rsplit("/", 1)[-1] else (name, "")
        for rule in images:
            if rule["name"] != repo:
                continue
            new_repo = rule.get("newName", repo)
            if "digest" in rule:
                container["image"] = f"{new_repo}@{rule['digest']}"
            elif "newTag" in rule:
                container["image"] = f"{new_repo}:{rule['newTag']}"
            else:
                suffix = f"@{digest}" if digest else (f":{tag}" if tag else "")
                container["image"] = f"{new_repo}{suffix}"


def render(directory: Path) -> list[Resource]:
    """The resources `kubectl kustomize directory` would print (order aside)."""
    directory = Path(directory)
    spec = yaml.safe_load((directory / "kustomization.yaml").read_text()) or {}
    unknown = set(spec) - SUPPORTED_KEYS
    if unknown:
        raise KustomizeError(f"{directory}: unsupported kustomization fields {sorted(unknown)}")
    resources: list[Resource] = []
    for entry in spec.get("resources", []):
        path = (directory / entry).resolve()
        loaded = render(path) if path.is_dir() else _load_documents(path)
        for resource in loaded:
            if any(_identity(resource) == _identity(r) for r in resources):
                raise KustomizeError(f"{directory}: {_identity(resource)} defined twice")
            resources.append(resource)

    for entry in spec.get("patches", []):
        if set(entry) != {"path"}:
            raise KustomizeError(f"{directory}: only `patches: - path:` is supported, got {entry}")
        for patch in _load_documents(directory / entry["path"]):
            kind, name = patch["kind"], patch["metadata"]["name"]
            targets = [i for i, r in enumerate(resources) if r["kind"] == kind and r["metadata"]["name"] == name]
            if len(targets) != 1:
                raise KustomizeError(f"{directory}: patch {kind}/{name} matches {len(targets)} resources")
            index = targets[0]
            if patch.get("$patch") == "delete":
                resources.pop(index)
            else:
                resources[index] = _merge(resources[index], patch)

    namespace = spec.get("namespace")
    for resource in resources:
        if namespace and resource["kind"] not in CLUSTER_SCOPED:
            resource.setdefault("metadata", {})["namespace"] = namespace
        if spec.get("images"):
            _set_image(resource, spec["images"])
    return resources
