"""Every `python -m client_tui run` command the README and docs/client.md show, run exactly as
written in a fresh working directory against the three servers as processes, the server
addresses given by `MARQUEE_*_ADDR` so the text stays verbatim. Each must exit 0 and leave the
complete outputs where its `--out` (or its resumed session's folder) says.

docs/client.md also shows the resume synopsis `run --resume DIR/session.json [--out OTHER] ...`:
it runs in its required form (optional groups dropped) after the command that wrote DIR, in the
same directory, as a reader would run it."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.client_runs import run_command
from tests.e2e.flow_outputs import Expected, check_outputs, session_summary
from tests.e2e.readme_commands import DocCommand, client_run_commands, option_values
from tests.e2e.watched_sets import MovieLensData

DOCUMENTS = ("README.md", "docs/client.md")


def _expected(command: DocCommand, movielens: MovieLensData) -> Expected:
    words = command.words
    sizes = option_values(words, "--size")
    size = tuple(int(v) for v in sizes[-1].lower().split("x")) if sizes else None
    titles = option_values(words, "--watched")
    ids = tuple(movielens.ids[t] for t in titles) if titles and all(t in movielens.ids for t in titles) else None
    k = option_values(words, "--k")
    return Expected(watched_ids=ids, k=int(k[-1]) if k else None, size=size)  # type: ignore[arg-type]


def _folder(command: DocCommand, cwd: Path) -> Path:
    words = command.words
    out = option_values(words, "--out")
    if out:
        return cwd / out[-1]
    resume = option_values(words, "--resume")
    assert resume, f"{command.source}:{command.line}: neither --out nor --resume, so no known folder"
    return (cwd / resume[-1]).parent


@pytest.mark.parametrize("document", DOCUMENTS)
def test_documented_commands_run(
    document: str, repo_root: Path, movielens: MovieLensData, operator_env: dict[str, str], tmp_path: Path
) -> None:
    commands = client_run_commands(repo_root / document)
    assert commands, f"{document} shows no `python -m client_tui run` command to run"
    failures = []
    for command in commands:
        result = run_command(command.words, tmp_path, operator_env)
        where = f"{command.source}:{command.line} `{command.text}`"
        if result.exit_code != 0:
            folder = _folder(command, tmp_path)
            failures.append(
                f"{where} exited {result.exit_code}: {result.stderr.strip()[-600:]} [{session_summary(folder)}]"
            )
            continue
        try:
            check_outputs(_folder(command, tmp_path), _expected(command, movielens))
        except AssertionError as exc:
            failures.append(f"{where}: {exc}")
    assert not failures, "\n".join(failures)


def test_readme_shows_the_headless_flow(repo_root: Path) -> None:
    """The README's example is the flow in one command: watched titles in, every output out."""
    commands = [c for c in client_run_commands(repo_root / "README.md") if not c.synopsis]
    assert commands, "README.md shows no runnable `python -m client_tui run` command"
    words = commands[0].words
    assert option_values(words, "--watched") and option_values(words, "--out")
