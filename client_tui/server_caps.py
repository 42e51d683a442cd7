"""The caps each server advertises, and what the client does with them.

The layout server refuses a planning request whose context carries a plot, title or genre list
over its caps (DescribePlanner says which), and the render server one bigger than its engine
allows (DescribeEngine). The client fills the planning context and the pre-filled scenario on the
person's behalf, so it clips those to fit: no flow may fail on a cap for text the person never
typed. Text the person did type (a scenario, a system instruction, an image size) is never
clipped silently: `check_*` raise `OverCap` naming the flag or field and the cap, before the call
that would fail.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import grpc

from client_tui.errors import ServerError
from client_tui.gateway import Gateway
from marquee.v1 import layout_pb2, render_pb2

#: Longest plot the pre-filled scenario quotes per movie (a readable scenario, not the cap).
SCENARIO_PLOT_CHARS = 400
ELLIPSIS = "…"


class OverCap(ValueError):
    """Text or a value the person gave is over a server's advertised cap."""


def clip_text(text: str, limit: int) -> str:
    """`text` with its whitespace collapsed, cut at a word boundary to at most `limit` characters
    (ending with "…" when cut). `limit` <= 0 means no cap."""
    text = " ".join(text.split())
    if limit <= 0 or len(text) <= limit:
        return text
    if limit == 1:
        return ELLIPSIS
    head = text[: limit - 1]
    if " " in head and not text[limit - 1].isspace():
        head = head.rsplit(" ", 1)[0]
    return head.rstrip() + ELLIPSIS


def _cap(value: int, default: int) -> int:
    # 0 is what an older server that does not advertise the cap sends: assume the documented default.
    return value if value > 0 else default


@dataclass(frozen=True)
class PlannerCaps:
    """The layout server's input caps (DescribePlanner). The defaults are the server's own
    defaults, used when a server does not advertise a cap."""

    max_scenario_chars: int = 4000
    max_plot_chars: int = 2000
    max_system_instruction_chars: int = 8000
    max_recommended_movies: int = 20
    max_genres: int = 20
    max_genre_chars: int = 40
    max_movie_title_chars: int = 300
    max_movie_genres: int = 20

    @classmethod
    def from_proto(cls, reply: layout_pb2.DescribePlannerResponse) -> PlannerCaps:
        default = cls()
        return cls(
            max_scenario_chars=_cap(reply.max_scenario_chars, default.max_scenario_chars),
            max_plot_chars=_cap(reply.max_plot_chars, default.max_plot_chars),
            max_system_instruction_chars=_cap(reply.max_system_instruction_chars, default.max_system_instruction_chars),
            max_recommended_movies=_cap(reply.max_recommended_movies, default.max_recommended_movies),
            max_genres=_cap(reply.max_genres, default.max_genres),
            max_genre_chars=_cap(reply.max_genre_chars, default.max_genre_chars),
            max_movie_title_chars=_cap(reply.max_movie_title_chars, default.max_movie_title_chars),
            max_movie_genres=_cap(reply.max_movie_genres, default.max_movie_genres),
        )

    @property
    def scenario_plot_chars(self) -> int:
        """How much of each plot the pre-filled scenario quotes."""
        return min(SCENARIO_PLOT_CHARS, self.max_plot_chars)


@dataclass(frozen=True)
class EngineCaps:
    """The render engine's caps (DescribeEngine); 0 means not advertised (not checked)."""

    max_width: int = 0
    max_height: int = 0
    max_boxes: int = 0

    @classmethod
    def from_proto(cls, reply: render_pb2.DescribeEngineResponse) -> EngineCaps:
        return cls(max_width=reply.max_width, max_height=reply.max_height, max_boxes=reply.max_boxes)


async def planner_caps(gateway: Gateway) -> PlannerCaps:
    """The layout server's caps (DescribePlanner); its documented defaults when it is an older
    build without DescribePlanner. Other failures raise ServerError."""
    try:
        return PlannerCaps.from_proto(await gateway.describe_planner())
    except ServerError as error:
        if error.code is grpc.StatusCode.UNIMPLEMENTED:
            return PlannerCaps()
        raise


async def engine_caps(gateway: Gateway) -> EngineCaps:
    """The render engine's caps (DescribeEngine); none when it is an older build without it.
    Other failures raise ServerError."""
    try:
        return EngineCaps.from_proto(await gateway.describe_engine())
    except ServerError as error:
        if error.code is grpc.StatusCode.UNIMPLEMENTED:
            return EngineCaps()
        raise


def fit_default_size(width: int, height: int, caps: EngineCaps) -> tuple[int, int]:
    """A size the engine can do, for a size the person did not choose (a default), which should
    shrink to the engine's cap rather than fail on it."""
    return (min(width, caps.max_width or width) // 16 * 16, min(height, caps.max_height or height) // 16 * 16)


def _genres(genres: Sequence[str], count: int, chars: int) -> list[str]:
    return [clip_text(g, chars) for g in list(genres)[:count]]


def fit_context(context: layout_pb2.PlanningContext, caps: PlannerCaps) -> layout_pb2.PlanningContext:
    """A copy of `context` clipped to every cap the layout server enforces on it: the first
    `max_recommended_movies` movies, plots, titles and genre names cut to length, genre lists
    shortened. The client builds the context from server data, never from the person's text, so
    clipping it loses nothing the person wrote."""
    fitted = layout_pb2.PlanningContext(
        watched_top_genres=_genres(context.watched_top_genres, caps.max_genres, caps.max_genre_chars)
    )
    for movie in list(context.recommended_movies)[: caps.max_recommended_movies]:
        clipped = fitted.recommended_movies.add()
        clipped.CopyFrom(movie)
        clipped.title = clip_text(movie.title, caps.max_movie_title_chars)
        clipped.display_title = clip_text(movie.display_title, caps.max_movie_title_chars)
        clipped.plot = clip_text(movie.plot, caps.max_plot_chars)
        del clipped.genres[:]
        clipped.genres.extend(_genres(movie.genres, caps.max_movie_genres, caps.max_genre_chars))
    return fitted


def _check_length(text: str, what: str, limit: int, advice: str) -> None:
    if limit > 0 and len(text) > limit:
        raise OverCap(f"{what} has {len(text)} characters; the layout server takes at most {limit}: {advice}")


def check_scenario(scenario: str, caps: PlannerCaps, what: str = "the scenario") -> None:
    """Raises OverCap when the person's scenario is over the planner's cap."""
    _check_length(scenario, what, caps.max_scenario_chars, "shorten it")


def check_system_instruction(instruction: str | None, caps: PlannerCaps, what: str = "the system instruction") -> None:
    """Raises OverCap when the person's system instruction is over the planner's cap."""
    if instruction is not None:
        _check_length(instruction, what, caps.max_system_instruction_chars, "shorten it")


def check_size(width: int, height: int, caps: EngineCaps, what: str = "the image size") -> None:
    """Raises OverCap when the requested size is over the engine's cap."""
    over_width = caps.max_width > 0 and width > caps.max_width
    over_height = caps.max_height > 0 and height > caps.max_height
    if over_width or over_height:
        raise OverCap(
            f"{what} {width}x{height} is over the render engine's cap of "
            f"{caps.max_width}x{caps.max_height}: ask for at most that"
        )


def check_boxes(count: int, caps: EngineCaps, what: str = "the layout") -> None:
    """Raises OverCap when a layout has more objects than the engine can place."""
    if caps.max_boxes > 0 and count > caps.max_boxes:
        raise OverCap(
            f"{what} has {count} objects; the render engine places at most {caps.max_boxes}: "
            f"remove {count - caps.max_boxes}"
        )
