"""Every RPC of every server, from the protobuf descriptors, and a way to call one with raw bytes
while a health check runs beside it."""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import grpc
from google.protobuf import descriptor_pool
from google.protobuf.descriptor import MethodDescriptor
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection
from tritonclient.grpc import service_pb2 as _kserve  # noqa: F401 - registers inference.*

from marquee.serving.reflection import V1_SERVICE_NAME
from marquee.v1 import layout_pb2, recommender_pb2, render_pb2  # noqa: F401 - register marquee.v1.*

#: The services each server registers besides health and reflection (checked against what each
#: running server lists through reflection, so a new service cannot escape the fuzzer).
DOMAIN_SERVICES = {
    "recommender": ("marquee.v1.RecommenderService", "inference.GRPCInferenceService"),
    "layout": ("marquee.v1.LayoutService",),
    "render": ("marquee.v1.RenderService",),
}
COMMON_SERVICES = (health.SERVICE_NAME, reflection.SERVICE_NAME, V1_SERVICE_NAME)

OK = grpc.StatusCode.OK
ALLOWED = frozenset({OK, grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.NOT_FOUND, grpc.StatusCode.UNIMPLEMENTED})
#: Statuses that only some RPCs document, each for one reason its message names.
DOCUMENTED = {
    "/marquee.v1.RenderService/Render": {grpc.StatusCode.RESOURCE_EXHAUSTED: "render queue is full"},
    # PLANNER_LLM without an API key (layout_server/planning.py); the fuzz stack has none.
    "/marquee.v1.LayoutService/PlanLayout": {grpc.StatusCode.FAILED_PRECONDITION: "set OPENAI_API_KEY"},
}
#: Streams that never end by themselves: the first message is the answer.
ENDLESS = {f"/{health.SERVICE_NAME}/Watch"}

CALL_TIMEOUT_S = 30.0
HEALTH_TIMEOUT_S = 10.0
MESSAGE_LIMIT = 64 * 1024 * 1024  # the servers' default --max-message-mb
CHANNEL_OPTIONS = [("grpc.max_receive_message_length", MESSAGE_LIMIT), ("grpc.max_send_message_length", MESSAGE_LIMIT)]


@dataclass(frozen=True)
class Target:
    server: str
    method: MethodDescriptor

    @property
    def path(self) -> str:
        return f"/{self.method.containing_service.full_name}/{self.method.name}"

    def allows(self, outcome: Outcome) -> bool:
        """Whether the RPC may end this way: a generic status, or one it documents, for its reason."""
        reason = DOCUMENTED.get(self.path, {}).get(outcome.code)
        return outcome.code in ALLOWED or (reason is not None and reason in outcome.details)

    def __str__(self) -> str:
        return f"{self.server}:{self.method.containing_service.name}/{self.method.name}"


def served_services(server: str) -> tuple[str, ...]:
    return (*DOMAIN_SERVICES[server], *COMMON_SERVICES)


def all_targets() -> list[Target]:
    pool = descriptor_pool.Default()
    return [
        Target(server, method)
        for server in DOMAIN_SERVICES
        for service in served_services(server)
        for method in pool.FindServiceByName(service).methods
    ]


@dataclass(frozen=True)
class Outcome:
    code: grpc.StatusCode
    details: str


def call_raw(channel: grpc.Channel, target: Target, payloads: Sequence[bytes]) -> Outcome:
    """Sends `payloads` (one for a unary request) as the serialized request(s) and reads every
    response; the status it ended with."""
    method, path = target.method, target.path
    try:
        if not method.client_streaming and not method.server_streaming:
            channel.unary_unary(path)(payloads[0], timeout=CALL_TIMEOUT_S)
        elif not method.client_streaming:
            call = channel.unary_stream(path)(payloads[0], timeout=CALL_TIMEOUT_S)
            for _ in call:
                if path in ENDLESS:
                    call.cancel()
                    break
        elif not method.server_streaming:
            channel.stream_unary(path)(iter(payloads), timeout=CALL_TIMEOUT_S)
        else:
            for _ in channel.stream_stream(path)(iter(payloads), timeout=CALL_TIMEOUT_S):
                pass
    except grpc.RpcError as error:
        return Outcome(error.code(), error.details() or "")
    return Outcome(OK, "")


class Prober:
    """Calls one server, checking its health on a separate connection while each call runs (as a
    kubelet probe would)."""

    def __init__(self, address: str) -> None:
        self.channel = grpc.insecure_channel(address, options=CHANNEL_OPTIONS)
        self.health_channel = grpc.insecure_channel(address)
        self.health = health_pb2_grpc.HealthStub(self.health_channel)
        self.pool = ThreadPoolExecutor(max_workers=1)

    def call(self, target: Target, payloads: Sequence[bytes]) -> tuple[Outcome, str | None]:
        """The call's outcome, and what went wrong with the health check beside it (or None)."""
        pending = self.pool.submit(call_raw, self.channel, target, payloads)
        problem = None
        try:
            reply = self.health.Check(health_pb2.HealthCheckRequest(service=""), timeout=HEALTH_TIMEOUT_S)
            if reply.status != health_pb2.HealthCheckResponse.SERVING:
                problem = f"health answered {health_pb2.HealthCheckResponse.ServingStatus.Name(reply.status)}"
        except grpc.RpcError as error:
            problem = f"health check failed: {error.code().name} {error.details()}"
        return pending.result(), problem

    def close(self) -> None:
        self.pool.shutdown(wait=True)
        self.channel.close()
        self.health_channel.close()
