"""The steps of the flow, shared by the console and the headless CLI: each reads and fills a
`Session` through the `Gateway` (watched -> recommended -> scenario -> layout -> image)."""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from client_tui.gateway import DEFAULT_QUEUE_WAIT, Gateway, RenderEvent, RenderRetry
from client_tui.images import decode
from client_tui.records import (
    PLANNER_TO_PROTO,
    LayoutRecord,
    MovieRecord,
    PlanRecord,
    ProblemRecord,
    Recommendation,
    RenderOutcome,
    global_prompt,
)
from client_tui.scenario import default_scenario, top_genres
from client_tui.server_caps import (
    EngineCaps,
    OverCap,
    PlannerCaps,
    check_boxes,
    check_scenario,
    check_size,
    check_system_instruction,
)
from client_tui.session import Session, planning_context, render_request
from client_tui.summary import SummaryImages
from marquee.titles import MAX_RESOLVE_QUERY_CHARS
from marquee.v1 import layout_pb2, recommender_pb2

#: Candidates an ambiguity message lists.
_MAX_SHOWN = 5


class InputError(ValueError):
    """Input the operator must fix (unknown title, impossible size...)."""


def _watched_error(title: str, resolution: recommender_pb2.TitleResolution) -> InputError:
    """What the operator must change about a `--watched` title the catalog does not pin down."""
    if resolution.status == recommender_pb2.TitleResolution.STATUS_AMBIGUOUS:
        shown = [MovieRecord.from_proto(m).label for m in resolution.candidates[:_MAX_SHOWN]]
        more = resolution.candidate_count - len(shown)
        options = "; ".join(shown) + (f"; and {more} more" if more > 0 else "")
        return InputError(f"--watched {title!r} is ambiguous: {options}. Add the year, e.g. {shown[0]!r}.")
    close = "; ".join(MovieRecord.from_proto(m).label for m in resolution.closest[:3])
    hint = f" Closest: {close}." if close else ""
    return InputError(f"--watched {title!r} is not in the catalog.{hint}")


async def resolve_watched(gateway: Gateway, titles: Sequence[str]) -> list[MovieRecord]:
    """Each title to its catalog entry through the recommender's ResolveTitles: as MovieLens
    writes it ("Matrix, The (1999)") or as people do ("The Matrix"), with the year or without it
    when only one movie has that title. Duplicates are kept once, in first-seen order."""
    for title in titles:
        if not title.strip():
            raise InputError("--watched: empty title")
        if len(title) > MAX_RESOLVE_QUERY_CHARS:
            raise InputError(f"--watched: a title of {len(title)} characters; at most {MAX_RESOLVE_QUERY_CHARS}")
    resolutions = await gateway.resolve_titles(list(titles))
    movies: list[MovieRecord] = []
    for title, resolution in zip(titles, resolutions, strict=False):
        if resolution.status != recommender_pb2.TitleResolution.STATUS_RESOLVED:
            raise _watched_error(title, resolution)
        movies.append(MovieRecord.from_proto(resolution.movie))
    first_seen: dict[int, MovieRecord] = {}
    for movie in movies:
        first_seen.setdefault(movie.movie_id, movie)
    return list(first_seen.values())


async def recommend(
    gateway: Gateway,
    session: Session,
    caps: PlannerCaps | None = None,
    *,
    max_plot_chars: int | None = None,
    max_chars: int | None = None,
) -> None:
    """Fills the recommendations, the top genres and (re)writes the default scenario, which fits
    the planner's `caps` (DescribePlanner; the server defaults when None). `max_plot_chars` and
    `max_chars` narrow the scenario further (kept for callers that pass them)."""
    if not session.watched:
        raise InputError("choose at least one watched movie first")
    started = time.perf_counter()
    reply = await gateway.recommend([m.movie_id for m in session.watched], session.k)
    session.timings["recommend"] = time.perf_counter() - started
    session.recommendations = [Recommendation.from_proto(r) for r in reply.recommendations]
    session.recommender_model = reply.model_name
    session.recommender_version = reply.model_version
    session.top_genres = top_genres(session.watched)
    prefill_scenario(session, caps, max_plot_chars=max_plot_chars, max_chars=max_chars)
    session.record_recommended()


def prefill_scenario(
    session: Session,
    caps: PlannerCaps | None = None,
    *,
    max_plot_chars: int | None = None,
    max_chars: int | None = None,
) -> None:
    """(Re)writes the default scenario from the recommendations so that it fits the planner's
    `caps` (the server defaults when None), and records it as Marquee's: while the person leaves
    it as it is, it may be written again to fit another planner."""
    caps = caps or PlannerCaps()
    plot_chars = min(caps.scenario_plot_chars, max_plot_chars or caps.scenario_plot_chars)
    scenario_chars = min(caps.max_scenario_chars, max_chars or caps.max_scenario_chars)
    session.top_genres = session.top_genres or top_genres(session.watched)
    session.scenario = default_scenario(
        session.top_genres,
        [r.movie for r in session.recommendations],
        max_plot_chars=plot_chars,
        max_chars=scenario_chars,
    )
    session.made_from.generated_scenario = session.scenario


def plan_request(session: Session, caps: PlannerCaps | None = None) -> layout_pb2.PlanLayoutRequest:
    """The planning request; its context is clipped to `caps` (the server defaults when None)."""
    request = layout_pb2.PlanLayoutRequest(
        scenario=session.scenario, context=planning_context(session, caps), planner=PLANNER_TO_PROTO[session.planner]
    )
    if session.system_instruction is not None:
        request.system_instruction = session.system_instruction
    return request


def check_plan_inputs(session: Session, caps: PlannerCaps | None = None) -> None:
    """Raises InputError when the text the person wrote (scenario, system instruction) is over
    the planner's caps; everything else in the request is clipped to fit."""
    caps = caps or PlannerCaps()
    try:
        check_scenario(session.scenario, caps)
        check_system_instruction(session.system_instruction, caps)
    except OverCap as exc:
        raise InputError(str(exc)) from None


async def plan(gateway: Gateway, session: Session, caps: PlannerCaps | None = None) -> None:
    """Plans a layout with the chosen planner; the record says which planner answered. `caps`
    (DescribePlanner) bound the request; the server defaults when None."""
    if not session.scenario.strip():
        raise InputError("the scenario is empty; write one or recommend first")
    check_plan_inputs(session, caps)
    started = time.perf_counter()
    reply = await gateway.plan_layout(plan_request(session, caps))
    session.timings["plan"] = time.perf_counter() - started
    session.plan = PlanRecord.from_proto(session.planner, reply)
    session.layout = LayoutRecord.from_proto(reply.layout)
    session.global_prompt = global_prompt(session.layout)
    session.problems = []
    session.record_planned()


async def validate(gateway: Gateway, session: Session, caps: PlannerCaps | None = None) -> list[ProblemRecord]:
    if session.layout is None:
        return []
    reply = await gateway.validate_layout(session.layout.to_proto(), planning_context(session, caps))
    session.problems = [ProblemRecord.from_proto(p) for p in reply.problems]
    return session.problems


@dataclass
class RenderOutput:
    images: SummaryImages
    attempts: int = 1
    events: int = 0
    previews: int = 0


def fix_seed(session: Session) -> int:
    """The client always chooses the seed, so a retried or resumed render gives the same image."""
    if session.render.seed is None:
        session.render.seed = random.SystemRandom().randrange(0, 2**31)
    return session.render.seed


def check_render_inputs(session: Session, caps: EngineCaps, size_flag: str = "the image size") -> None:
    """Raises InputError when the size or the layout is over the render engine's caps (named as
    `size_flag`), before a render call that would fail."""
    try:
        check_size(session.render.width, session.render.height, caps, size_flag)
        if session.layout is not None:
            check_boxes(len(session.layout.objects), caps)
    except OverCap as exc:
        raise InputError(str(exc)) from None


async def render(
    gateway: Gateway,
    session: Session,
    on_event: Callable[[RenderEvent], None] | None = None,
    *,
    engine_caps: EngineCaps | None = None,
    queue_wait: float = DEFAULT_QUEUE_WAIT,
) -> RenderOutput:
    """Runs the render stream to its result; fills `session.result`. With `engine_caps`
    (DescribeEngine) the size and layout are checked against them first. A full render queue is
    waited for, up to `queue_wait` seconds (0: not at all; see `Gateway.render`)."""
    if session.layout is None or not session.layout.objects:
        raise InputError("there is no layout to render; plan one first")
    if engine_caps is not None:
        check_render_inputs(session, engine_caps)
    fix_seed(session)
    if not session.global_prompt:
        session.global_prompt = global_prompt(session.layout)
    request = render_request(session)
    started = time.perf_counter()
    output = RenderOutput(images=SummaryImages())
    async for event in gateway.render(request, queue_wait=queue_wait):
        output.events += 1
        if isinstance(event, RenderRetry):
            output.attempts = event.attempt
        elif event.HasField("preview"):
            output.previews += 1
        if on_event is not None:
            on_event(event)
        if not isinstance(event, RenderRetry) and event.HasField("result"):
            result = event.result
            output.images = SummaryImages(
                image=decode(result.image),
                layout_on_image=decode(result.layout_on_image),
                layout_on_white=decode(result.layout_on_white),
            )
            session.result = RenderOutcome.from_proto(result.metadata, attempts=output.attempts)
            session.record_rendered()
    session.timings["render"] = time.perf_counter() - started
    return output
