"""The documented caps on what a request may carry, and the checks that turn a bad request into
INVALID_ARGUMENT naming the field (before any of it reaches a prompt)."""

from __future__ import annotations

from dataclasses import dataclass

from marquee.serving import InvalidArgument
from marquee.v1 import layout_pb2

MAX_GENRES = 20
MAX_GENRE_CHARS = 40
MAX_MOVIE_TITLE_CHARS = 300
MAX_MOVIE_GENRES = 20
# Layouts sent to ValidateLayout: generous, since the rules report what is too long.
MAX_LAYOUT_OBJECTS = 50
MAX_LAYOUT_TEXT_CHARS = 2000


@dataclass(frozen=True)
class Caps:
    """Length caps of a planning request (configurable: see `LayoutSettings`)."""

    max_scenario_chars: int = 4000
    max_plot_chars: int = 2000
    max_system_instruction_chars: int = 8000
    max_recommended_movies: int = 20


def _check_text(value: str, field: str, limit: int) -> None:
    if len(value) > limit:
        raise InvalidArgument(f"{field} has {len(value)} characters; the limit is {limit}: shorten it")


def check_context(context: layout_pb2.PlanningContext, caps: Caps) -> None:
    """Raises InvalidArgument naming the first field of `context` over its cap."""
    if len(context.watched_top_genres) > MAX_GENRES:
        raise InvalidArgument(
            f"context.watched_top_genres has {len(context.watched_top_genres)} entries; send at most {MAX_GENRES}"
        )
    for index, genre in enumerate(context.watched_top_genres):
        _check_text(genre, f"context.watched_top_genres[{index}]", MAX_GENRE_CHARS)
    movies = context.recommended_movies
    if len(movies) > caps.max_recommended_movies:
        raise InvalidArgument(
            f"context.recommended_movies has {len(movies)} movies; send at most {caps.max_recommended_movies}"
        )
    for index, movie in enumerate(movies):
        prefix = f"context.recommended_movies[{index}]"
        _check_text(movie.title, f"{prefix}.title", MAX_MOVIE_TITLE_CHARS)
        _check_text(movie.display_title, f"{prefix}.display_title", MAX_MOVIE_TITLE_CHARS)
        _check_text(movie.plot, f"{prefix}.plot", caps.max_plot_chars)
        if len(movie.genres) > MAX_MOVIE_GENRES:
            raise InvalidArgument(f"{prefix}.genres has {len(movie.genres)} entries; send at most {MAX_MOVIE_GENRES}")
        for g_index, genre in enumerate(movie.genres):
            _check_text(genre, f"{prefix}.genres[{g_index}]", MAX_GENRE_CHARS)


def _has_context(context: layout_pb2.PlanningContext) -> bool:
    return any(g.strip() for g in context.watched_top_genres) or any(
        (m.title or m.display_title or m.plot).strip() or len(m.genres) for m in context.recommended_movies
    )


def check_plan_request(request: layout_pb2.PlanLayoutRequest, caps: Caps) -> None:
    """Raises InvalidArgument for a request no planner should take."""
    if request.planner not in layout_pb2.Planner.values():
        names = ", ".join(layout_pb2.Planner.keys())
        raise InvalidArgument(f"planner {request.planner} is not a known planner; use one of {names}")
    _check_text(request.scenario, "scenario", caps.max_scenario_chars)
    if request.HasField("system_instruction"):
        if not request.system_instruction.strip():
            raise InvalidArgument(
                "system_instruction is set but blank; leave it unset to use the default "
                "instruction (DescribePlanner returns it)"
            )
        _check_text(request.system_instruction, "system_instruction", caps.max_system_instruction_chars)
    check_context(request.context, caps)
    if not request.scenario.strip() and not _has_context(request.context):
        raise InvalidArgument(
            "nothing to plan from: the scenario is empty and the context has no genres or "
            "recommended movies; send a scenario, or context.watched_top_genres / "
            "context.recommended_movies"
        )


def check_validate_request(request: layout_pb2.ValidateLayoutRequest, caps: Caps) -> None:
    """Raises InvalidArgument for a layout too large to be an edited thumbnail layout."""
    layout = request.layout
    if len(layout.objects) > MAX_LAYOUT_OBJECTS:
        raise InvalidArgument(f"layout.objects has {len(layout.objects)} objects; send at most {MAX_LAYOUT_OBJECTS}")
    _check_text(layout.title, "layout.title", MAX_LAYOUT_TEXT_CHARS)
    _check_text(layout.mood, "layout.mood", MAX_LAYOUT_TEXT_CHARS)
    for index, obj in enumerate(layout.objects):
        _check_text(obj.name, f"layout.objects[{index}].name", MAX_LAYOUT_TEXT_CHARS)
        _check_text(obj.feature, f"layout.objects[{index}].feature", MAX_LAYOUT_TEXT_CHARS)
    check_context(request.context, caps)
