"""The recommender's `ModelService`: what it registers on the shared bootstrap."""

from __future__ import annotations

import grpc

from marquee.serving import ModelService
from marquee.v1 import recommender_pb2, recommender_pb2_grpc
from recommender_server.config import RecommenderSettings


class RecommenderService(ModelService):
    name = "recommender"

    def __init__(self, settings: RecommenderSettings) -> None:
        super().__init__()
        self.settings = settings

    def register(self, server: grpc.aio.Server) -> list[str]:
        recommender_pb2_grpc.add_RecommenderServiceServicer_to_server(
            recommender_pb2_grpc.RecommenderServiceServicer(), server
        )
        return [recommender_pb2.DESCRIPTOR.services_by_name["RecommenderService"].full_name]
