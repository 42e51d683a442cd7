"""`--watched` titles as the README writes them, through the headless CLI and the real servers
(the recommender's ResolveTitles over the real catalog)."""

from __future__ import annotations

from pathlib import Path

import pytest

from client_tui.exit_codes import ExitCode
from client_tui.session import Session
from marquee.local_stack import LocalStack
from tests.real_stack import run_cli, watched_flags

pytestmark = pytest.mark.slow

#: Small and fast: the draft engine at 64x64.
RENDER = ["--k", "3", "--planner", "offline", "--steps", "2", "--size", "64x64", "--seed", "3", "--preview-every", "0"]


def test_readme_titles_with_trailing_articles_resolve(real_stack: LocalStack, tmp_path: Path) -> None:
    # "Matrix, The (1999)" is the README's own example; it used to exit 2 ("is not in the catalog").
    titles = ("Toy Story (1995)", "Matrix, The (1999)", "Misérables, Les (1995)", "the lion king")
    result = run_cli(real_stack.addresses(), *watched_flags(*titles), *RENDER, "--out", str(tmp_path))
    assert result.returncode == ExitCode.OK, result.stderr
    session = Session.load(tmp_path / "session.json")
    assert [m.display_title for m in session.watched] == [
        "Toy Story (1995)",
        "Matrix, The (1999)",
        "Misérables, Les (1995)",
        "Lion King, The (1994)",
    ]


def test_a_title_several_movies_share_asks_for_the_year(real_stack: LocalStack, tmp_path: Path) -> None:
    result = run_cli(
        real_stack.addresses(), *watched_flags("Toy Story (1995)", "Hamlet"), *RENDER, "--out", str(tmp_path)
    )
    assert result.returncode == ExitCode.BAD_INPUT, result.stderr
    assert (
        "'Hamlet' is ambiguous: Hamlet (1948); Hamlet (1964); Hamlet (1990); Hamlet (1996); Hamlet (2000). Add the year"
    ) in result.stderr
