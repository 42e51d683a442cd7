"""The layout server's `ModelService`: what it registers on the shared bootstrap."""

from __future__ import annotations

import grpc

from marquee.serving import ModelService
from marquee.v1 import layout_pb2, layout_pb2_grpc
from layout_server.config import LayoutSettings


class LayoutService(ModelService):
    name = "layout"

    def __init__(self, settings: LayoutSettings) -> None:
        super().__init__()
        self.settings = settings

    def register(self, server: grpc.aio.Server) -> list[str]:
        layout_pb2_grpc.add_LayoutServiceServicer_to_server(layout_pb2_grpc.LayoutServiceServicer(), server)
        return [layout_pb2.DESCRIPTOR.services_by_name["LayoutService"].full_name]
