"""Requests the bootstrap must answer cleanly whatever the servicer: payloads that do not parse as
the method's message, and errors that echo huge client input."""

from __future__ import annotations

import asyncio
import json

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from prometheus_client import REGISTRY

from marquee.serving import InvalidArgument, ModelService, ServerHandle, ServerSettings, serve
from marquee.serving.errors import MESSAGE_LIMIT, shorten
from marquee.serving.structured_logs import configure_logging
from marquee.v1 import recommender_pb2, recommender_pb2_grpc

SERVICE = "marquee.v1.RecommenderService"
# Field 1 (a string) declared 2 bytes long but cut short; invalid UTF-8 in a string field.
TRUNCATED = b"\\x0a\\x05ab"
BAD_UTF8 = b"\\x0a\\x02\\xff\\xfe"
RAW_METHODS = {
    f"/{SERVICE}/GetMovies": "unary",
    "/grpc.health.v1.Health/Check": "unary",
    "/grpc.health.v1.Health/Watch": "server_stream",
    "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo": "bidi_stream",
}


class EchoingServicer(recommender_pb2_grpc.RecommenderServiceServicer):
    async def SearchMovies(self, request, context):
        raise InvalidArgument(f"no movie matches {request.query!r}; try a shorter query")

    async def GetMovies(self, request, context):
        return recommender_pb2.GetMoviesResponse()


class EchoingService(ModelService):
    name = "echo"

    def register(self, server: grpc.aio.Server) -> list[str]:
        recommender_pb2_grpc.add_RecommenderServiceServicer_to_server(EchoingServicer(), server)
        return [SERVICE]


async def _start() -> tuple[asyncio.Task[int], ServerHandle]:
    started: asyncio.Future[ServerHandle] = asyncio.get_running_loop().create_future()
    task = asyncio.create_task(
        serve(
            EchoingService(),
            ServerSettings(port=0, metrics_port=0),
            on_started=started.set_result,
            install_signal_handlers=False,
        )
    )
    return task, await asyncio.wait_for(started, 10)


async def _send_raw(channel: grpc.aio.Channel, path: str, payload: bytes) -> grpc.aio.AioRpcError:
    kind = RAW_METHODS[path]
    with pytest.raises(grpc.aio.AioRpcError) as info:
        if kind == "unary":
            await channel.unary_unary(path)(payload, timeout=10)
        elif kind == "server_stream":
            async for _ in channel.unary_stream(path)(payload, timeout=10):
                pass
        else:
            async for _ in channel.stream_stream(path)(iter([payload]), timeout=10):
                pass
    return info.value


def _handled(service: str, method: str, rpc_type: str, code: str) -> float:
    return (
        REGISTRY.get_sample_value(
            "grpc_server_handled_total",
            {"grpc_type": rpc_type, "grpc_service": service, "grpc_method": method, "grpc_code": code},
        )
        or 0.0
    )


async def test_undecodable_payloads_are_invalid_argument_counted_and_logged_once(
    clean_env: None, capsys: pytest.CaptureFixture[str]
) -> None:
    configure_logging("info", "json", process="test")
    task, handle = await _start()
    capsys.readouterr()
    async with grpc.aio.insecure_channel(f"127.0.0.1:{handle.port}") as channel:
        for path, kind in RAW_METHODS.items():
            service, method = path.lstrip("/").rsplit("/", 1)
            for payload in (TRUNCATED, BAD_UTF8):
                before = _handled(service, method, kind, "INVALID_ARGUMENT")
                error = await _send_raw(channel, path, payload)
                assert error.code() == grpc.StatusCode.INVALID_ARGUMENT, (path, error.details())
                assert f"request ({len(payload)} bytes) does not parse as a" in error.details()
                assert len(error.details()) < 400
                assert _handled(service, method, kind, "INVALID_ARGUMENT") == before + 1, path
        # The server still answers well-formed calls.
        reply = await health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=5)
        assert reply.status in (health_pb2.HealthCheckResponse.SERVING, health_pb2.HealthCheckResponse.NOT_SERVING)
    handle.request_stop()
    assert await asyncio.wait_for(task, 10) == 0
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines() if line.startswith("{")]
    undecodable = [line for line in lines if line["event"] == "undecodable request"]
    assert len(undecodable) == 2 * len(RAW_METHODS)
    assert {line["level"] for line in undecodable} == {"warning"}
    assert not [line for line in lines if line["level"] in ("error", "critical") or "exception" in line]


async def test_an_error_echoing_huge_input_keeps_its_status(clean_env: None) -> None:
    task, handle = await _start()
    async with grpc.aio.insecure_channel(f"127.0.0.1:{handle.port}") as channel:
        stub = recommender_pb2_grpc.RecommenderServiceStub(channel)
        with pytest.raises(grpc.aio.AioRpcError) as info:
            await stub.SearchMovies(recommender_pb2.SearchMoviesRequest(query="é" * 20_000), timeout=10)
        assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        details = info.value.details()
        assert details.startswith("no movie matches 'ééé") and details.endswith("'; try a shorter query")
        assert len(details) <= MESSAGE_LIMIT + 40 and "characters)" in details
    handle.request_stop()
    assert await asyncio.wait_for(task, 10) == 0


def test_shorten_keeps_short_text_and_says_what_it_cut() -> None:
    assert shorten("sasrec") == "sasrec"
    cut = shorten("x" * 20_000, 10)
    assert cut == "xxxxxxxxxx… (+19,990 characters)"
    assert shorten("a" * 100 + "; do this", 20, tail=9) == "a" * 11 + "… (+89 characters) …; do this"
