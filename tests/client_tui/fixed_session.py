"""A finished session with fixed data, over the fake servers' catalog (snapshots, summary and
console tests, the client benchmark)."""

from __future__ import annotations

from client_tui.records import LayoutRecord, MovieRecord, PlanRecord, Recommendation, RenderOutcome, RenderParams
from client_tui.session import Session
from tests.client_tui.fake_servers import CATALOG, FIXED_LAYOUT, movie


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
        result=RenderOutcome(
            engine="fake",
            seed=7,
            steps=8,
            guidance=7.0,
            width=256,
            height=256,
            total_seconds=1.25,
            seconds_per_step=0.15,
            job_id="job-1",
        ),
        timings={"search": 0.01, "recommend": 0.02, "plan": 0.03, "render": 1.3},
    )
