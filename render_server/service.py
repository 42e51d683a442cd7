"""The render server's `ModelService`: what it registers on the shared bootstrap."""

from __future__ import annotations

import grpc

from marquee.serving import ModelService
from marquee.v1 import render_pb2, render_pb2_grpc
from render_server.config import RenderSettings


class RenderService(ModelService):
    name = "render"

    def __init__(self, settings: RenderSettings) -> None:
        super().__init__()
        self.settings = settings

    def register(self, server: grpc.aio.Server) -> list[str]:
        render_pb2_grpc.add_RenderServiceServicer_to_server(render_pb2_grpc.RenderServiceServicer(), server)
        return [render_pb2.DESCRIPTOR.services_by_name["RenderService"].full_name]
