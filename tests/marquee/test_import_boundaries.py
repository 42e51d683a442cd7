"""The layers hold: the client and `marquee` import no server package, no server imports another
server or the client, and `marquee` imports no process's package. What more than one process
needs lives in `marquee` (read from the source with `ast`, so a lazy import inside a function
counts too)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
SERVERS = {"recommender_server", "layout_server", "render_server"}
CLIENT = "client_tui"
#: Each package, where it lives and the top-level packages it must never import.
FORBIDDEN = {
    CLIENT: (REPO_ROOT / CLIENT, SERVERS),
    "marquee": (REPO_ROOT / "protos" / "marquee", SERVERS | {CLIENT}),
    **{server: (REPO_ROOT / server, (SERVERS - {server}) | {CLIENT}) for server in sorted(SERVERS)},
}


def imported_packages(path: Path) -> dict[str, int]:
    """Top-level package of every absolute import in `path`, with the first line importing it."""
    found: dict[str, int] = {}
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            continue
        for name in names:
            found.setdefault(name.split(".")[0], node.lineno)
    return found


def test_imports_are_read_from_every_form(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text(
        "import os.path\nfrom layout_server.config import X\n"
        "def f():\n    import render_server\n    from . import sibling\n"
    )
    assert imported_packages(module) == {"os": 1, "layout_server": 2, "render_server": 4}


@pytest.mark.parametrize("package", list(FORBIDDEN))
def test_a_package_imports_nothing_above_or_beside_it(package: str) -> None:
    root, forbidden = FORBIDDEN[package]
    modules = sorted(root.rglob("*.py"))
    assert modules, f"no modules under {root}"
    crossings = [
        f"{path.relative_to(REPO_ROOT)}:{line} imports {name}"
        for path in modules
        for name, line in imported_packages(path).items()
        if name in forbidden
    ]
    assert crossings == []
