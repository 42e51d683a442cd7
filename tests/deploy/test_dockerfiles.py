"""deploy/docker, checked statically (no container engine here): multi-stage, pinned bases,
non-root, only the server's own extra, nothing but the code in the build context."""

from __future__ import annotations

import ast
import importlib.metadata
import re
import shlex
import shutil
import subprocess
import sys
import tomllib
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.deploy.manifests import REPO_ROOT, SERVERS

DOCKER = REPO_ROOT / "deploy" / "docker"
IMAGES = {
    # image: (package, extras, gRPC port or None)
    "recommender": ("recommender_server", "recommender", 50051),
    "layout": ("layout_server", "layout", 50052),
    "render": ("render_server", "render", 50053),
    "client": ("client_tui", "tui", None),
}
# A tag pinned to an exact release: a full x.y.z version somewhere in it (3.11.14-slim-bookworm,
# 12.8.1-cudnn-runtime-ubuntu24.04, 0.9.26), or a digest.
PINNED_TAG = re.compile(r"^[\w.-]*\d+\.\d+\.\d+[\w.-]*$")
DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")


@dataclass
class Stage:
    base: str
    name: str | None
    instructions: list[tuple[str, str]] = field(default_factory=list)


def parse(path: Path) -> list[Stage]:
    """Stages of a Dockerfile: continuation lines joined, comments dropped."""
    logical: list[str] = []
    pending = ""
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        logical.append(pending + line)
        pending = ""
    assert not pending, f"{path}: dangling line continuation"
    stages: list[Stage] = []
    for line in logical:
        keyword, _, rest = line.partition(" ")
        keyword = keyword.upper()
        if keyword == "FROM":
            words = [w for w in rest.split() if not w.startswith("--platform")]
            name = words[2] if len(words) == 3 and words[1].upper() == "AS" else None
            stages.append(Stage(words[0], name))
        else:
            assert stages, f"{path}: {keyword} before FROM"
            stages[-1].instructions.append((keyword, rest.strip()))
    return stages


def dockerignore_excludes(patterns: list[str], path: str) -> bool:
    """Whether Docker leaves `path` out of the build context (last matching pattern wins; a
    pattern matching a folder covers everything in it)."""
    excluded = False
    parts = path.split("/")
    candidates = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    for pattern in patterns:
        negate = pattern.startswith("!")
        body = pattern[1:] if negate else pattern
        body = body.strip("/")
        regex = re.escape(body).replace(r"\*\*", ".*").replace(r"\*", "[^/]*").replace(r"\?", "[^/]")
        if any(re.fullmatch(regex, candidate) for candidate in candidates):
            excluded = not negate
    return excluded


def _ignore_patterns(image: str) -> list[str]:
    path = DOCKER / f"{image}.Dockerfile.dockerignore"
    return [line.strip() for line in path.read_text().splitlines() if line.strip() and not line.startswith("#")]


@pytest.mark.parametrize("image", IMAGES)
def test_bases_are_pinned_and_build_is_multi_stage(image: str) -> None:
    stages = parse(DOCKER / f"{image}.Dockerfile")
    names = {s.name for s in stages if s.name}
    assert len(stages) >= 2
    for stage in stages:
        if stage.base in names:
            continue
        assert "$" not in stage.base, f"{stage.base}: a base image from a build argument is not pinned"
        reference, _, digest = stage.base.partition("@")
        assert not digest or DIGEST.match(digest), stage.base
        _repository, _, tag = reference.rpartition(":") if ":" in reference.rsplit("/", 1)[-1] else (reference, "", "")
        assert tag and tag != "latest", f"{stage.base}: no exact tag"
        assert PINNED_TAG.match(tag) or digest, f"{stage.base}: tag is not an exact version"


@pytest.mark.parametrize("image", IMAGES)
def test_final_stage_runs_as_a_non_root_user(image: str) -> None:
    final = parse(DOCKER / f"{image}.Dockerfile")[-1]
    users = [value for keyword, value in final.instructions if keyword == "USER"]
    assert users, "the final stage sets no USER: it would run as root"
    user = users[-1].split(":")[0]
    assert user not in ("root", "0")
    if user.isdigit():
        assert int(user) >= 1000
    # Nothing after USER switches back to root through a RUN that could need it.
    last_user = max(i for i, (k, _) in enumerate(final.instructions) if k == "USER")
    assert all(k != "USER" or i == last_user for i, (k, _) in enumerate(final.instructions))


@pytest.mark.parametrize("image", IMAGES)
def test_only_the_servers_code_and_extra_go_in(image: str) -> None:
    package, extras, port = IMAGES[image]
    stages = parse(DOCKER / f"{image}.Dockerfile")
    instructions = [(k, v) for stage in stages for k, v in stage.instructions]
    assert not any(k == "ADD" for k, _ in instructions), "use COPY (ADD fetches URLs, unpacks archives)"
    context_sources: set[str] = set()
    for keyword, value in instructions:
        if keyword == "COPY" and "--from=" not in value:
            words = [w for w in shlex.split(value) if not w.startswith("--")]
            context_sources.update(w.rstrip("/") for w in words[:-1])
    assert context_sources == {"pyproject.toml", "README.md", "requirements.lock", "protos", package}
    installs = [v for k, v in instructions if k == "RUN" and "install" in v and '".[' in v]
    assert len(installs) == 1
    [requested] = re.findall(r'"\.\[([a-z,]+)\]"', installs[0])
    assert requested == extras
    declared = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    assert set(requested.split(",")) <= set(declared)
    assert "-e " not in installs[0] and "--editable" not in installs[0]
    final = stages[-1]
    entry = [v for k, v in final.instructions if k == "ENTRYPOINT"]
    assert entry and f'"-m", "{package}"' in entry[-1]
    text = (DOCKER / f"{image}.Dockerfile").read_text()
    for secret in ("OPENAI_API_KEY=", "HF_TOKEN=", "MARQUEE_AUTH_TOKEN="):
        assert secret not in text
    if port is not None:
        env = " ".join(v for k, v in final.instructions if k == "ENV")
        assert f"MARQUEE_PORT={port}" in env and "MARQUEE_HOST=0.0.0.0" in env
        assert f"MARQUEE_METRICS_PORT={SERVERS[image]['metrics']}" in env
        exposed = {int(p) for k, v in final.instructions if k == "EXPOSE" for p in v.split()}
        assert exposed == {port, SERVERS[image]["metrics"]}


def test_render_image_has_one_cuda_and_no_onnxruntime() -> None:
    """torch's PyPI wheels bring their CUDA: a CUDA base image would be a second copy, and the
    `gpu` extra's onnxruntime-gpu is never imported by the render server."""
    stages = parse(DOCKER / "render.Dockerfile")
    assert not any(stage.base.startswith("nvidia/cuda:") for stage in stages)
    runs = [v for k, v in stages[-2].instructions if k == "RUN"]
    assert any(v.endswith('".[render]"') for v in runs) and not any("gpu" in v for v in runs)
    render_extra = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"][
        "render"
    ]
    assert not any("onnxruntime" in requirement for requirement in render_extra)
    env = " ".join(v for k, v in stages[-1].instructions if k == "ENV")
    assert "HF_HOME=/var/cache/huggingface" in env


@pytest.mark.parametrize("image", IMAGES)
def test_dependencies_install_before_the_source_is_copied(image: str) -> None:
    """So a code change rebuilds from the source layer on, not the dependency layer."""
    package, extras, _ = IMAGES[image]
    build = next(stage for stage in parse(DOCKER / f"{image}.Dockerfile") if stage.name == "build")
    steps = build.instructions
    deps = next(i for i, (k, v) in enumerate(steps) if k == "RUN" and "-r pyproject.toml" in v)
    assert f"--extra {extras}" in steps[deps][1]
    source = next(i for i, (k, v) in enumerate(steps) if k == "COPY" and v.startswith(f"{package}/"))
    metadata = next(i for i, (k, v) in enumerate(steps) if k == "COPY" and "pyproject.toml" in v)
    assert metadata < deps < source
    project = next(v for k, v in steps if k == "RUN" and '".[' in v)
    assert "--no-deps" in project


@pytest.mark.parametrize("image", [name for name, (_, _, port) in IMAGES.items() if port is not None])
def test_server_images_check_health_through_the_grpc_health_service(image: str) -> None:
    final = parse(DOCKER / f"{image}.Dockerfile")[-1]
    [check] = [v for k, v in final.instructions if k == "HEALTHCHECK"]
    assert '"python", "-m", "marquee.serving.probe"' in check
    import marquee.serving.probe  # noqa: F401 - the module the image runs must exist


def test_recommender_image_carries_the_model_repository() -> None:
    stages = parse(DOCKER / "recommender.Dockerfile")
    build = next(stage for stage in stages if stage.name == "build")
    build_runs = " ".join(v for k, v in build.instructions if k == "RUN")
    # The build fails when the model is missing, rather than shipping a server that cannot load.
    assert "config.pbtxt" in build_runs and "model.onnx" in build_runs
    copies = [v for k, v in stages[-1].instructions if k == "COPY"]
    assert any("model_repository /models" in c for c in copies)
    # The package data that puts the repository into the installed package.
    data = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]["*"]
    assert "*.onnx" in data and "*.pbtxt" in data and "*.txt" in data


def test_recommender_image_leaves_the_offline_work_out() -> None:
    """Training, evaluation, export and the PyTorch checkpoint stay out of the build context, and
    no serving module imports them (not even lazily), so the server runs without them."""
    patterns = _ignore_patterns("recommender")
    for never in (
        "recommender_server/training/__init__.py",
        "recommender_server/training/loop.py",
        "recommender_server/training/trained/sasrec_ml1m.pt",
        "recommender_server/best.pt",
    ):
        assert dockerignore_excludes(patterns, never), never
    for needed in ("recommender_server/service.py", "recommender_server/model_repository/sasrec/1/model.onnx"):
        assert not dockerignore_excludes(patterns, needed), needed
    package = REPO_ROOT / "recommender_server"
    serving = [p for p in package.rglob("*.py") if p.relative_to(package).parts[0] != "training"]
    assert package / "service.py" in serving
    for path in serving:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
            else:
                continue
            assert not [n for n in names if n.startswith("recommender_server.training")], path


@pytest.mark.parametrize("image", IMAGES)
def test_build_context_never_holds_data(image: str) -> None:
    package = IMAGES[image][0]
    patterns = _ignore_patterns(image)
    for needed in (
        "pyproject.toml",
        "README.md",
        "protos/marquee/serving/server.py",
        "protos/marquee/v1/render.proto",
        f"{package}/__main__.py",
    ):
        assert not dockerignore_excludes(patterns, needed), needed
    for never in (
        "data/ml-1m/ratings.dat",
        "data/plots/movies_extrainfos.dat",
        "outputs/renders/a.png",
        f"{package}/data/ml-1m/movies.dat",
        "recommender_server/ml-1m/users.dat",
        "runs/sasrec/best.pt",
        ".env",
        ".git/config",
        ".venv/bin/python",
        "tests/conftest.py",
        "docs/deploy.md",
        "some_new_folder/file.csv",
        f"{package}/__pycache__/x.pyc",
    ):
        assert dockerignore_excludes(patterns, never), never
    other_servers = {p for p, _, _ in IMAGES.values()} - {package}
    for other in other_servers:
        assert dockerignore_excludes(patterns, f"{other}/__main__.py"), other


def test_ignore_matcher_follows_last_match_semantics() -> None:
    assert dockerignore_excludes(["**", "!a/**"], "b/c")
    assert not dockerignore_excludes(["**", "!a/", "!a/**"], "a/c")
    assert dockerignore_excludes(["**", "!a/**", "**/*.dat"], "a/x.dat")
    assert not dockerignore_excludes([], "anything")


LOCAL_PACKAGES = {"marquee", "recommender_server", "layout_server", "render_server", "client_tui"}


def _module_file(module: str) -> Path | None:
    parts = module.split(".")
    base = REPO_ROOT / "protos" if parts[0] == "marquee" else REPO_ROOT
    path = base.joinpath(*parts)
    if (path / "__init__.py").is_file():
        return path / "__init__.py"
    return path.with_suffix(".py") if path.with_suffix(".py").is_file() else None


def _import_time_names(tree: ast.Module) -> Iterator[str]:
    """Modules a file imports when it is imported: module level (inside try/if/class too), not
    inside functions (lazy imports) nor under `if TYPE_CHECKING:`."""
    todo: list[ast.AST] = list(tree.body)
    while todo:
        node = todo.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            continue
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            todo.extend(node.orelse)
            continue
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.module
            yield from (f"{node.module}.{alias.name}" for alias in node.names)
        todo.extend(ast.iter_child_nodes(node))


def _imported_at_start(entry: str) -> tuple[set[str], set[str]]:
    """(local modules, third-party top-level modules) that `python -m entry` imports at start."""
    seen: set[str] = set()
    third_party: set[str] = set()
    todo = [entry]
    while todo:
        module = todo.pop()
        if module in seen:
            continue
        seen.add(module)
        parts = module.split(".")
        todo.extend(".".join(parts[:i]) for i in range(1, len(parts)))
        path = _module_file(module)
        if path is None:
            continue
        for name in _import_time_names(ast.parse(path.read_text())):
            top = name.split(".")[0]
            if top in LOCAL_PACKAGES:
                todo.append(name)
            elif top not in sys.stdlib_module_names and top != "__future__":
                third_party.add(top)
    return {m for m in seen if _module_file(m)}, third_party


def _distribution_closure(requirements: list[str], extras: set[str] = frozenset()) -> set[str]:
    """Every distribution that installing `requirements` pulls in (from this venv's metadata)."""
    out: set[str] = set()
    todo = [(Requirement(r), extras) for r in requirements]
    while todo:
        requirement, active = todo.pop()
        environment = [{"extra": e} for e in active] or [{"extra": ""}]
        if requirement.marker and not any(requirement.marker.evaluate(env) for env in environment):
            continue
        name = canonicalize_name(requirement.name)
        key = f"{name}[{','.join(sorted(requirement.extras))}]"
        if key in out:
            continue
        out.update({key, name})
        try:
            dist = importlib.metadata.distribution(name)
        except importlib.metadata.PackageNotFoundError:
            continue
        todo.extend((Requirement(r), set(requirement.extras)) for r in dist.requires or [])
    return {n for n in out if "[" not in n}


@pytest.mark.parametrize("image", IMAGES)
def test_the_images_extra_covers_what_its_server_imports(image: str) -> None:
    """Installing only the image's extra is enough to start its process: every third-party module
    imported at start-up comes from the core dependencies or that extra (transitively), and every
    local package it imports is copied into the image."""
    package, extras, _ = IMAGES[image]
    project = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]
    requirements = list(project["dependencies"])
    for extra in extras.split(","):
        requirements += project["optional-dependencies"][extra]
    installed = _distribution_closure(requirements)
    providers = importlib.metadata.packages_distributions()
    local, third_party = _imported_at_start(f"{package}.__main__")
    assert {m.split(".")[0] for m in local} <= {"marquee", package}
    missing = {
        module: providers.get(module, ["?"])
        for module in third_party
        if not {canonicalize_name(d) for d in providers.get(module, [])} & installed
    }
    assert missing == {}, f"{image} image: imported at start but not installed by .[{extras}]"


@pytest.mark.parametrize("image", IMAGES)
def test_the_build_context_builds_the_package_the_image_installs(image: str, tmp_path: Path) -> None:
    """The build stage's install, minus the downloads: the context the ignore file lets through
    builds a wheel holding only the shared package and the server's own (and, for the
    recommender, the model repository)."""
    package = IMAGES[image][0]
    patterns = _ignore_patterns(image)
    context = tmp_path / "context"
    for top in ("pyproject.toml", "README.md", "protos", package):
        source = REPO_ROOT / top
        files = [source] if source.is_file() else [p for p in source.rglob("*") if p.is_file()]
        for path in files:
            relative = path.relative_to(REPO_ROOT).as_posix()
            if not dockerignore_excludes(patterns, relative):
                (context / relative).parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(path, context / relative)
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "--quiet",
            "--wheel-dir",
            str(tmp_path / "dist"),
            str(context),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    [wheel] = (tmp_path / "dist").glob("*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
    tops = {name.split("/")[0] for name in names if not name.split("/")[0].endswith(".dist-info")}
    assert tops == {"marquee", package}
    assert f"{package}/__main__.py" in names and "marquee/serving/server.py" in names
    assert not [n for n in names if n.endswith((".dat", ".pyc")) or "/data/" in n]
    if image == "recommender":
        repository = "recommender_server/model_repository/sasrec/"
        assert {repository + "config.pbtxt", repository + "1/model.onnx", repository + "movie_ids.txt"} <= set(names)
        assert not [n for n in names if n.startswith("recommender_server/training/") or n.endswith(".pt")]
