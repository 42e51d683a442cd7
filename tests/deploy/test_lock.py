"""requirements.lock: it covers pyproject.toml, carries hashes, keeps CUDA out, and is what
`make install` and the images install from."""

from __future__ import annotations

import importlib.metadata
import re
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

REPO_ROOT = Path(__file__).resolve().parents[2]
LOCK = REPO_ROOT / "requirements.lock"
DOCKER = REPO_ROOT / "deploy" / "docker"


def locked() -> dict[str, tuple[str, list[str]]]:
    """name → (version, hashes) from the lock's `name==version ; markers \\` blocks."""
    entries: dict[str, tuple[str, list[str]]] = {}
    name = None
    for line in LOCK.read_text().splitlines():
        head = re.match(r"^([A-Za-z0-9_.\-]+)==([^\s;\\]+)", line)
        if head:
            name = canonicalize_name(head.group(1))
            entries[name] = (head.group(2), [])
        elif name and (digest := re.search(r"--hash=sha256:([0-9a-f]{64})", line)):
            entries[name][1].append(digest.group(1))
    return entries


def project_requirements() -> list[Requirement]:
    project = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]
    reqs = [Requirement(r) for r in project["dependencies"]]
    for extra in project["optional-dependencies"].values():
        reqs += [Requirement(r) for r in extra if not r.startswith("marquee[")]
    return reqs


def test_every_requirement_of_every_extra_is_locked_at_a_version_it_allows() -> None:
    lock = locked()
    for req in project_requirements():
        name = canonicalize_name(req.name)
        if name == "torch":
            continue
        assert name in lock, f"{req} is not in requirements.lock: run `make lock`"
        version, hashes = lock[name]
        assert req.specifier.contains(version, prereleases=True), (
            f"requirements.lock has {name}=={version}, pyproject.toml asks {req}: run `make lock`"
        )
        assert hashes, f"{name} has no hash in requirements.lock"


def test_the_lock_is_cpu_only_and_leaves_torch_to_its_pin() -> None:
    lock = locked()
    assert "torch" not in lock
    cuda = sorted(n for n in lock if n.startswith("nvidia-") or n == "triton")
    assert not cuda, f"CUDA packages in the lock (resolve torch against its CPU wheel): {cuda}"
    # torch's own CPU dependencies are locked, so installing torch --no-deps leaves nothing out.
    torch_deps = importlib.metadata.requires("torch") or []
    for dep in map(Requirement, torch_deps):
        if dep.marker is None or dep.marker.evaluate({"extra": ""}):
            assert canonicalize_name(dep.name) in lock, dep


def test_make_install_uses_the_lock_and_pyprojects_torch_pin() -> None:
    makefile = (REPO_ROOT / "Makefile").read_text()
    torch_pin = next(str(r) for r in project_requirements() if r.name == "torch")
    assert f"TORCH_PIN := {torch_pin}" in makefile
    install = makefile[makefile.index("$(STAMP):") : makefile.index("touch $(STAMP)")]
    assert "-c $(LOCK)" in install and "--no-deps $(TORCH_PIN)" in install
    assert "LOCK := requirements.lock" in makefile


@pytest.mark.parametrize("image", ["recommender", "layout", "render", "client"])
def test_each_image_installs_its_dependencies_from_the_lock(image: str) -> None:
    dockerfile = (DOCKER / f"{image}.Dockerfile").read_text()
    copy = re.search(r"^COPY (.*) \./$", dockerfile, re.MULTILINE)
    assert copy and "requirements.lock" in copy.group(1).split()
    deps = next(line for line in dockerfile.splitlines() if "-r pyproject.toml" in line)
    assert "-c requirements.lock" in deps
    allowed = (DOCKER / f"{image}.Dockerfile.dockerignore").read_text().splitlines()
    assert "!requirements.lock" in allowed


def test_this_environment_was_installed_from_the_lock() -> None:
    """What `make test` runs in (`.[all]`): every locked package at its locked version, but for
    what only the `gpu` extra (not part of `all`) brings."""
    extras = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    others = [r for name, reqs in extras.items() if name != "gpu" for r in reqs if not r.startswith("marquee[")]
    gpu_only = {canonicalize_name(Requirement(r).name) for r in extras["gpu"]} - {
        canonicalize_name(Requirement(r).name) for r in others
    }
    assert gpu_only == {"onnxruntime-gpu"}
    differ = {}
    for name, (version, _) in locked().items():
        if name in gpu_only:
            continue
        try:
            installed = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            installed = "missing"
        if installed != version:
            differ[name] = (installed, version)
    assert not differ, f"installed vs locked: {differ}; run `make install`"
