"""The layout server's `ModelService`: what it registers on the shared bootstrap."""

from __future__ import annotations

import grpc

from layout_server.config import LayoutSettings
from layout_server.llm_planner import LlmPlanner
from layout_server.offline_planner import OfflinePlanner
from layout_server.planning import LayoutPlanning
from layout_server.servicer import LayoutServicer
from marquee.serving import ModelService
from marquee.serving.structured_logs import get_logger
from marquee.v1 import layout_pb2, layout_pb2_grpc

log = get_logger("layout_server.service")


class LayoutModelService(ModelService):
    name = "layout"

    def __init__(self, settings: LayoutSettings) -> None:
        super().__init__()
        self.settings = settings
        # Resolving the endpoint registers its secrets with the log redactor.
        self.endpoint = settings.llm_endpoint()
        key = self.endpoint.api_key
        # The SDK refuses to start without a key, so "LLM configured" means "a key was found".
        llm = None
        if key is not None:
            llm = LlmPlanner(
                api_key=key.get_secret_value(),
                model=self.endpoint.model,
                base_url=self.endpoint.base_url,
                timeout=settings.timeout,
                retries=settings.retries,
                max_completion_tokens=settings.max_completion_tokens,
                temperature=settings.temperature,
                seed=settings.seed,
            )
        self.planning = LayoutPlanning(caps=settings.caps, offline=OfflinePlanner(), llm=llm)

    def register(self, server: grpc.aio.Server) -> list[str]:
        layout_pb2_grpc.add_LayoutServiceServicer_to_server(
            LayoutServicer(self.planning, self.readiness, self.endpoint.model), server
        )
        return [layout_pb2.DESCRIPTOR.services_by_name["LayoutService"].full_name]

    async def load(self) -> None:
        # Warm the offline planner (vocabulary, regexes) so the first request is as fast as any.
        self.planning.offline.plan(
            "a lone cowboy rides into a desert town", layout_pb2.PlanningContext(watched_top_genres=["Western"])
        )
        llm = self.planning.llm
        endpoint = self.endpoint
        log.info(
            "planners ready",
            llm_configured=llm is not None,
            model=endpoint.model if llm else None,
            base_url=llm.base_url if llm else None,
            # Where each part came from: a flag, a variable of the environment or the dotenv file.
            llm_config_sources=dict(endpoint.sources) if llm else None,
            timeout=self.settings.timeout,
            retries=self.settings.retries,
            max_completion_tokens=self.settings.max_completion_tokens if llm else None,
            temperature=self.settings.temperature if llm else None,
            seed=self.settings.seed if llm else None,
            default_planner="llm" if llm else "offline",
        )

    async def close(self) -> None:
        if self.planning.llm is not None:
            await self.planning.llm.close()
