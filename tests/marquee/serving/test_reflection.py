"""Reflection answers under grpc.reflection.v1 (buf curl and current grpcurl ask it first) and
v1alpha, through the shared bootstrap."""

from __future__ import annotations

from pathlib import Path

from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from marquee.serving.reflection import V1_SERVICE_NAME, V1Request, V1Response
from tests.render_server.helpers import running_server


async def test_reflection_lists_services_and_describes_them_in_v1_and_v1alpha(tmp_path: Path) -> None:
    async with running_server(tmp_path, engine="draft") as server:
        v1 = server.channel.stream_stream(
            f"/{V1_SERVICE_NAME}/ServerReflectionInfo",
            request_serializer=V1Request.SerializeToString,
            response_deserializer=V1Response.FromString,
        )
        [listed] = [r async for r in v1(iter([V1Request(list_services="")]))]
        names = {s.name for s in listed.list_services_response.service}
        assert {
            "marquee.v1.RenderService",
            "grpc.health.v1.Health",
            V1_SERVICE_NAME,
            "grpc.reflection.v1alpha.ServerReflection",
        } <= names
        [described] = [r async for r in v1(iter([V1Request(file_containing_symbol="marquee.v1.RenderService")]))]
        assert described.file_descriptor_response.file_descriptor_proto
        # The v1 service describes itself too (a client may ask what it is talking to).
        [itself] = [r async for r in v1(iter([V1Request(file_containing_symbol=V1_SERVICE_NAME)]))]
        assert itself.file_descriptor_response.file_descriptor_proto

        old = reflection_pb2_grpc.ServerReflectionStub(server.channel)
        [legacy] = [
            r async for r in old.ServerReflectionInfo(iter([reflection_pb2.ServerReflectionRequest(list_services="")]))
        ]
        assert {s.name for s in legacy.list_services_response.service} == names
