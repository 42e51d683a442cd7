"""Shared data and helpers of the layout server tests: a planning context with real-looking
plots, requests, layouts and the checks every planning test makes."""

from __future__ import annotations

from collections.abc import Sequence

from layout_server.layout_rules import ForbiddenNames, validate_layout
from marquee.v1 import common_pb2, layout_pb2

TEST_KEY = "sk-test-0123456789abcdef"

TOY_PLOT = (
    "A little boy named Andy loves to play with his toys, especially his cowboy doll named "
    "Woody. When Andy gets a new space ranger toy, the jealous doll plots against him."
)
WESTERN_PLOT = (
    "A weary sheriff must defend a dusty frontier town from a gang of ruthless outlaws led by "
    "Frank Miller, who arrives on the noon train."
)


def movie(title: str, plot: str, genres: list[str], movie_id: int = 1) -> common_pb2.Movie:
    return common_pb2.Movie(movie_id=movie_id, title=title, plot=plot, genres=genres)


def context() -> layout_pb2.PlanningContext:
    return layout_pb2.PlanningContext(
        watched_top_genres=["Western", "Animation", "Comedy"],
        recommended_movies=[
            movie("Toy Story", TOY_PLOT, ["Animation", "Children's", "Comedy"], 1),
            movie("High Noon", WESTERN_PLOT, ["Western"], 2),
        ],
    )


P = layout_pb2.Planner
SCENARIO = "A lone rider crosses a red canyon toward a town that hangs wanted posters."


def request(planner: int = P.PLANNER_AUTO, **kwargs: object) -> layout_pb2.PlanLayoutRequest:
    return layout_pb2.PlanLayoutRequest(scenario=SCENARIO, context=context(), planner=planner, **kwargs)


def assert_valid(response: layout_pb2.PlanLayoutResponse, ctx: layout_pb2.PlanningContext | None = None) -> None:
    """The response's layout breaks no layout rule (names of `ctx`, default `context()`)."""
    names = ForbiddenNames.from_context(ctx or context())
    assert validate_layout(response.layout, names) == []


def steps(response: layout_pb2.PlanLayoutResponse) -> list[tuple[str, str]]:
    """Each attempt as (planner name, outcome)."""
    return [(P.Name(a.planner), a.outcome) for a in response.attempts]


GOOD_BOXES = [(0.0, 0.2, 0.5, 1.0), (0.5, 0.2, 1.0, 1.0), (0.0, 0.0, 1.0, 0.5)]


def make(
    objects: Sequence[tuple[float, float, float, float]] | None = None,
    title: str = "Dust over the Canyon",
    mood: str = "cinematic, golden dust",
) -> layout_pb2.Layout:
    """A layout with one object per box (`GOOD_BOXES` by default)."""
    layout = layout_pb2.Layout(title=title, mood=mood)
    for i, box in enumerate(objects if objects is not None else GOOD_BOXES):
        x1, y1, x2, y2 = box
        layout.objects.add(name=f"rider {i}", feature="hat low", box=common_pb2.Box(x1=x1, y1=y1, x2=x2, y2=y2))
    return layout
