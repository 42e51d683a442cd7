"""The whole flow (resolve titles → recommend → plan offline → render on the draft engine →
export) for hundreds of watched sets written exactly as `movies.dat` writes them, against the
real servers over the real data: every set must exit 0 with complete outputs.

The bulk runs the client's `main` in this process against the servers' own servicers in this
process (`inprocess_stack`); a few sets go through the CLI as a subprocess against server
processes, the way an operator runs it."""

from __future__ import annotations

from pathlib import Path

import pytest

from client_tui.session import Session
from layout_server.config import LayoutSettings
from marquee.v1.recommender_pb2_grpc import RecommenderServiceStub
from tests.e2e.client_runs import SWEEP_SIZE, flow_arguments, run_command, run_in_process
from tests.e2e.flow_outputs import Expected, check_outputs, session_summary
from tests.e2e.inprocess_stack import InProcessStack
from tests.e2e.watched_sets import MovieLensData, WatchedSet, long_plot_history, long_plot_ids, sweep_sets
from tests.paths import SHARED_DATA

#: The planner's default cap on one recommended movie's plot: real plots run past it.
PLOT_CAP = LayoutSettings.model_fields["max_plot_chars"].default
#: Sets that also go through `python -m client_tui run` as a process.
THROUGH_PROCESSES = ("accents-0", "aka-0", "blockbusters")


def _collect() -> tuple[list[WatchedSet], list[int]]:
    if not (SHARED_DATA / "ml-1m" / "movies.dat").is_file():
        return [], []
    long_plots = long_plot_ids(SHARED_DATA, PLOT_CAP)
    return sweep_sets(MovieLensData(SHARED_DATA), long_plots), long_plots


SWEEP, LONG_PLOTS = _collect()


def _params(items: list, ids) -> list:  # type: ignore[no-untyped-def]
    # Without the data the tests still run, and the shared_data fixture fails them with the reason.
    return [pytest.param(item, id=ids(item)) for item in items] or [pytest.param(None, id="no-data")]


def _check_run(watched: WatchedSet, out: Path, exit_code: int, stderr: str) -> Session:
    titles = "; ".join(watched.titles[:6]) + (" ..." if len(watched.titles) > 6 else "")
    assert exit_code == 0, (
        f"{watched.name} ({len(watched.titles)} titles: {titles}, k={watched.k}) exited {exit_code}: "
        f"{stderr.strip()[-600:]} [{session_summary(out)}]"
    )
    return check_outputs(out, Expected(watched_ids=watched.movie_ids, k=watched.k, size=SWEEP_SIZE))


def test_the_sweep_covers_what_users_hit() -> None:
    """At least 200 sets, up to 50 titles, with the long-plot movies and the hard titles in it."""
    names = {w.name for w in SWEEP}
    assert len(SWEEP) >= 200, f"only {len(SWEEP)} watched sets"
    assert max(len(w.titles) for w in SWEEP) == 50 and min(len(w.titles) for w in SWEEP) == 1
    assert LONG_PLOTS, f"no plot in the data is longer than the planner's cap ({PLOT_CAP} characters)"
    everything = {i for w in SWEEP for i in w.movie_ids}
    assert set(LONG_PLOTS) <= everything, "a long-plot movie is in no watched set"
    for required in ("readme-pair", "blockbusters", "accents-0", "aka-0", "alternate-0", "articles-0", "remakes-0"):
        assert required in names


@pytest.mark.parametrize("watched", _params(SWEEP, lambda w: w.name))
def test_flow_in_process(
    watched: WatchedSet, shared_data: Path, inprocess_stack: InProcessStack, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    result = run_in_process(flow_arguments(watched, out), inprocess_stack.addresses())
    _check_run(watched, out, result.exit_code, result.stderr)


@pytest.mark.parametrize("movie_id", _params(LONG_PLOTS, str))
def test_long_plot_recommended(
    movie_id: int,
    shared_data: Path,
    movielens: MovieLensData,
    recommender_stub: RecommenderServiceStub,
    inprocess_stack: InProcessStack,
    tmp_path: Path,
) -> None:
    """A real history after which the movie with a plot longer than the planner's cap is
    recommended, so that plot reaches the planner: the flow must still finish."""
    watched = long_plot_history(movielens, recommender_stub, movie_id)
    if watched is None:
        pytest.skip(
            f"{movielens.titles[movie_id]!r}: no real history gets it into the top 10, "
            "so its plot cannot reach the planner through the flow"
        )
    out = tmp_path / "out"
    result = run_in_process(flow_arguments(watched, out), inprocess_stack.addresses())
    session = _check_run(watched, out, result.exit_code, result.stderr)
    assert movie_id in [r.movie.movie_id for r in session.recommendations]


@pytest.mark.parametrize("name", THROUGH_PROCESSES)
def test_flow_through_processes(name: str, shared_data: Path, operator_env: dict[str, str], tmp_path: Path) -> None:
    """`python -m client_tui run` as a process against `python -m <server>` processes."""
    watched = next(w for w in SWEEP if w.name == name)
    out = tmp_path / "out"
    result = run_command(["python", "-m", "client_tui", *flow_arguments(watched, out)], tmp_path, operator_env)
    _check_run(watched, out, result.exit_code, result.stderr)
