"""The `marquee.v1.LayoutService` servicer: PlanLayout, ValidateLayout, DescribePlanner."""

from __future__ import annotations

import time

import grpc

from layout_server.layout_rules import MAX_OBJECTS, MIN_BOX_AREA, MIN_OBJECTS, ForbiddenNames, validate_layout
from layout_server.metrics import count_plan
from layout_server.planning import LayoutPlanning
from layout_server.prompting import DEFAULT_SYSTEM_INSTRUCTION
from layout_server.validation import (
    MAX_GENRE_CHARS,
    MAX_GENRES,
    MAX_MOVIE_GENRES,
    MAX_MOVIE_TITLE_CHARS,
    Caps,
    check_validate_request,
)
from marquee.serving import Readiness
from marquee.serving.structured_logs import get_logger
from marquee.v1 import layout_pb2, layout_pb2_grpc

log = get_logger("layout_server.servicer")


def describe_planner(caps: Caps, llm_configured: bool = False, model: str = "") -> layout_pb2.DescribePlannerResponse:
    """What DescribePlanner answers for `caps`: every limit the planning request is checked
    against (also the answer of the client tests' fake planner, so it cannot drift)."""
    return layout_pb2.DescribePlannerResponse(
        llm_configured=llm_configured,
        llm_model=model if llm_configured else "",
        default_system_instruction=DEFAULT_SYSTEM_INSTRUCTION,
        max_scenario_chars=caps.max_scenario_chars,
        max_plot_chars=caps.max_plot_chars,
        max_system_instruction_chars=caps.max_system_instruction_chars,
        min_objects=MIN_OBJECTS,
        max_objects=MAX_OBJECTS,
        min_box_area=MIN_BOX_AREA,
        max_recommended_movies=caps.max_recommended_movies,
        max_genres=MAX_GENRES,
        max_genre_chars=MAX_GENRE_CHARS,
        max_movie_title_chars=MAX_MOVIE_TITLE_CHARS,
        max_movie_genres=MAX_MOVIE_GENRES,
    )


class LayoutServicer(layout_pb2_grpc.LayoutServiceServicer):
    def __init__(self, planning: LayoutPlanning, readiness: Readiness, model: str) -> None:
        self.planning = planning
        self.readiness = readiness
        self.model = model

    async def PlanLayout(
        self, request: layout_pb2.PlanLayoutRequest, context: grpc.aio.ServicerContext
    ) -> layout_pb2.PlanLayoutResponse:
        self.readiness.require_serving()
        started = time.perf_counter()
        result = await self.planning.plan(request, context.time_remaining())
        response = result.response
        path = count_plan(request, response)
        log.info(
            "planned layout",
            requested=layout_pb2.Planner.Name(request.planner),
            used=layout_pb2.Planner.Name(response.planner_used),
            path=path,
            template=result.template or None,
            attempts=[f"{layout_pb2.Planner.Name(a.planner)}:{a.outcome}" for a in response.attempts],
            errors=[a.error for a in response.attempts if a.error] or None,
            repairs=len(response.repairs),
            objects=len(response.layout.objects),
            seconds=round(time.perf_counter() - started, 4),
        )
        return response

    async def ValidateLayout(
        self, request: layout_pb2.ValidateLayoutRequest, context: grpc.aio.ServicerContext
    ) -> layout_pb2.ValidateLayoutResponse:
        self.readiness.require_serving()
        check_validate_request(request, self.planning.caps)
        problems = validate_layout(request.layout, ForbiddenNames.from_context(request.context))
        return layout_pb2.ValidateLayoutResponse(problems=problems, valid=not problems)

    async def DescribePlanner(
        self, request: layout_pb2.DescribePlannerRequest, context: grpc.aio.ServicerContext
    ) -> layout_pb2.DescribePlannerResponse:
        return describe_planner(self.planning.caps, self.planning.llm_configured, self.model)
