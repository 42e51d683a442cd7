"""The layout server's `ModelService`: what it registers on the shared bootstrap."""

from __future__ import annotations

import grpc

from marquee.serving import ModelService
from marquee.serving.structured_logs import get_logger
from marquee.v1 import layout_pb2, layout_pb2_grpc
from layout_server.config import LayoutSettings
from layout_server.llm_planner import LlmPlanner
from layout_server.offline_planner import OfflinePlanner
from layout_server.planning import LayoutPlanning
from layout_server.servicer import LayoutServicer

log = get_logger("layout_server.service")


class LayoutService(ModelService):
    name = "layout"

    def __init__(self, settings: LayoutSettings) -> None:
        super().__init__()
        self.settings = settings
        key = settings.api_key()
        # The SDK refuses to start without a key, so "LLM configured" means "a key was found".
        llm = None
        if key is not None:
            llm = LlmPlanner(
                api_key=key.get_secret_value(), model=settings.model, base_url=settings.base_url,
                timeout=settings.timeout, retries=settings.retries,
            )
        self.planning = LayoutPlanning(caps=settings.caps, offline=OfflinePlanner(), llm=llm)

    def register(self, server: grpc.aio.Server) -> list[str]:
        layout_pb2_grpc.add_LayoutServiceServicer_to_server(
            LayoutServicer(self.planning, self.readiness, self.settings.model), server
        )
        return [layout_pb2.DESCRIPTOR.services_by_name["LayoutService"].full_name]

    async def load(self) -> None:
        # Warm the offline planner (vocabulary, regexes) so the first request is as fast as any.
        self.planning.offline.plan("a lone cowboy rides into a desert town",
                                   layout_pb2.PlanningContext(watched_top_genres=["Western"]))
        llm = self.planning.llm
        log.info(
            "planners ready",
            llm_configured=llm is not None,
            model=self.settings.model if llm else None,
            base_url=llm.base_url if llm else None,
            timeout=self.settings.timeout,
            retries=self.settings.retries,
            default_planner="llm" if llm else "offline",
        )

    async def close(self) -> None:
        if self.planning.llm is not None:
            await self.planning.llm.close()
