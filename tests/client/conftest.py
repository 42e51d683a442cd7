"""Shared fixtures of the client tests: fake servers with fixed data (console unit and snapshot
tests), and one stack of the real servers per session (whole-flow, CLI, tmux tests)."""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import pytest

from client_tui.local_stack import LocalStack
from client_tui.session import (
    LayoutRecord,
    MovieRecord,
    PlanRecord,
    Recommendation,
    RenderOutcome,
    RenderParams,
    Session,
)
from tests.client.fake_servers import CATALOG, FIXED_LAYOUT, FakeStack, RenderBehaviour, movie
from tests.real_stack import offline_draft_stack



@pytest.fixture
def fake_stack() -> Iterator[FakeStack]:
    with FakeStack() as stack:
        yield stack


@pytest.fixture
def slow_fake_stack() -> Iterator[FakeStack]:
    """Renders take ~3 s (0.1 s a step) with full-size previews every step."""
    with FakeStack(RenderBehaviour(seconds_per_step=0.1, preview_size=None)) as stack:
        yield stack


@pytest.fixture(scope="session")
def real_stack(tmp_path_factory: pytest.TempPathFactory, shared_data: Path) -> Iterator[LocalStack]:
    """The three real servers (draft render engine), started once for the client tests."""
    logs = tmp_path_factory.mktemp("client-stack")
    stack = offline_draft_stack(logs, shared_data)
    stack.start(timeout=240)
    yield stack
    stack.stop()


def fixed_session() -> Session:
    """A finished session with fixed data (snapshots and summary tests)."""
    by_id = {entry[0]: entry for entry in CATALOG}
    watched = [MovieRecord.from_proto(movie(by_id[i])) for i in (1, 2)]
    recs = [
        Recommendation(movie=MovieRecord.from_proto(movie(by_id[i])), score=4.5 - 0.5 * n, rank=n + 1)
        for n, i in enumerate((3114, 2355, 260))
    ]
    layout = LayoutRecord.from_proto(FIXED_LAYOUT)
    return Session(
        session_id="0123456789ab",
        watched=watched,
        k=3,
        recommendations=recs,
        recommender_model="fake-sasrec",
        recommender_version="1",
        top_genres=["Children's", "Animation", "Comedy"],
        scenario="Mood preference: Children's, Animation, Comedy.\n\n- Toy Story 2 (1999): Woody is stolen.",
        planner="auto",
        plan=PlanRecord(requested="auto", used="offline", planned_layout=layout),
        layout=layout,
        global_prompt='Movie thumbnail for "Toys After Dark", cinematic, warm lamplight',
        render=RenderParams(steps=8, guidance=7.0, width=256, height=256, seed=7, preview_interval=2),
        result=RenderOutcome(engine="fake", seed=7, steps=8, guidance=7.0, width=256, height=256,
                             total_seconds=1.25, seconds_per_step=0.15, job_id="job-1"),
        timings={"search": 0.01, "recommend": 0.02, "plan": 0.03, "render": 1.3},
    )
