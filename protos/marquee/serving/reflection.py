"""Server reflection under both of its names: `grpc.reflection.v1` (what buf curl and current
grpcurl ask first) and `grpc.reflection.v1alpha` (older clients).

grpcio-reflection ships only the v1alpha servicer and protos for the protobuf version pinned
here. The v1 protocol is the same protocol under a new package: the same messages, fields and
numbers. So the v1 descriptors are made from the v1alpha ones with the package renamed (by hand,
because no package for this protobuf line carries them), and the one servicer answers both.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import grpc
from google.protobuf import descriptor_pb2, descriptor_pool
from google.protobuf.message import Message
from google.protobuf.message_factory import GetMessageClass
from grpc_reflection.v1alpha import reflection, reflection_pb2, reflection_pb2_grpc

V1ALPHA_SERVICE_NAME = reflection.SERVICE_NAME
V1_PACKAGE = "grpc.reflection.v1"
V1_SERVICE_NAME = f"{V1_PACKAGE}.ServerReflection"
V1_FILE = "grpc/reflection/v1/reflection.proto"


def _v1_file() -> descriptor_pb2.FileDescriptorProto:
    proto = descriptor_pb2.FileDescriptorProto()
    reflection_pb2.DESCRIPTOR.CopyToProto(proto)
    old = f".{proto.package}."
    proto.name, proto.package = V1_FILE, V1_PACKAGE
    for message in proto.message_type:
        for field in message.field:
            if field.type_name.startswith(old):
                field.type_name = f".{V1_PACKAGE}." + field.type_name[len(old) :]
    for service in proto.service:
        for method in service.method:
            method.input_type = f".{V1_PACKAGE}." + method.input_type[len(old) :]
            method.output_type = f".{V1_PACKAGE}." + method.output_type[len(old) :]
    return proto


def _register_v1() -> tuple[type[Message], type[Message]]:
    pool = descriptor_pool.Default()
    try:
        pool.FindFileByName(V1_FILE)
    except KeyError:
        pool.Add(_v1_file())
    return (
        GetMessageClass(pool.FindMessageTypeByName(f"{V1_PACKAGE}.ServerReflectionRequest")),
        GetMessageClass(pool.FindMessageTypeByName(f"{V1_PACKAGE}.ServerReflectionResponse")),
    )


#: The v1 request and response messages, in protobuf's default pool (so reflection describes them).
V1Request, V1Response = _register_v1()


def enable_reflection(service_names: list[str], server: grpc.aio.Server) -> None:
    """Reflection of `service_names`, health's and its own, under both protocol versions."""
    names = [*service_names, V1ALPHA_SERVICE_NAME, V1_SERVICE_NAME]
    servicer = reflection.aio.ReflectionServicer(names)
    reflection_pb2_grpc.add_ServerReflectionServicer_to_server(servicer, server)

    async def v1(requests: AsyncIterator[Message], context: grpc.aio.ServicerContext) -> AsyncIterator[Message]:
        async def as_v1alpha() -> AsyncIterator[Message]:
            async for request in requests:
                yield reflection_pb2.ServerReflectionRequest.FromString(request.SerializeToString())

        async for response in servicer.ServerReflectionInfo(as_v1alpha(), context):
            yield V1Response.FromString(response.SerializeToString())

    handler = grpc.method_handlers_generic_handler(
        V1_SERVICE_NAME,
        {
            "ServerReflectionInfo": grpc.stream_stream_rpc_method_handler(
                v1, request_deserializer=V1Request.FromString, response_serializer=V1Response.SerializeToString
            )
        },
    )
    server.add_generic_rpc_handlers((handler,))
