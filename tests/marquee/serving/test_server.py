"""The shared server bootstrap, in process: health, errors, metrics, limits, auth, TLS, shutdown."""

from __future__ import annotations

import asyncio
import json
import urllib.request
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from prometheus_client import REGISTRY

from marquee.serving import InvalidArgument, ModelService, ServerHandle, ServerSettings, Unavailable, serve
from marquee.serving.server import EXIT_CONFIG
from marquee.v1 import common_pb2, recommender_pb2, recommender_pb2_grpc
from tests.tls_certs import make_certs

SERVICE = "marquee.v1.RecommenderService"
SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING
BIG = 8 * 1024 * 1024  # over gRPC's default 4 MiB


class FakeServicer(recommender_pb2_grpc.RecommenderServiceServicer):
    async def Recommend(self, request, context):
        if request.k == 0:
            raise InvalidArgument("k must be between 1 and 100, got 0")
        if request.k == 13:
            raise RuntimeError("unlucky")
        return recommender_pb2.RecommendResponse(model_name="fake", history_length_used=request.k)

    async def SearchMovies(self, request, context):
        movie = common_pb2.Movie(movie_id=1, plot="x" * BIG)
        return recommender_pb2.SearchMoviesResponse(hits=[recommender_pb2.SearchHit(movie=movie)])


class FakeService(ModelService):
    name = "fake"

    def __init__(self, fail: bool = False) -> None:
        super().__init__()
        self.gate = asyncio.Event()
        self.fail = fail
        self.drained = False
        self.closed = False

    def register(self, server: grpc.aio.Server) -> list[str]:
        recommender_pb2_grpc.add_RecommenderServiceServicer_to_server(FakeServicer(), server)
        return [SERVICE]

    async def load(self) -> None:
        await self.gate.wait()
        if self.fail:
            raise FileNotFoundError("model.onnx is missing")

    async def drain(self, deadline: float) -> None:
        self.drained = True

    async def close(self) -> None:
        self.closed = True


async def _start(service: ModelService, **overrides) -> tuple[asyncio.Task[int], ServerHandle]:
    settings = ServerSettings(port=0, metrics_port=0, grace_period=2.0, **overrides)
    started: asyncio.Future[ServerHandle] = asyncio.get_running_loop().create_future()
    task = asyncio.create_task(serve(service, settings, on_started=started.set_result, install_signal_handlers=False))
    handle = await asyncio.wait_for(started, 10)
    return task, handle


def _channel(port: int) -> grpc.aio.Channel:
    return grpc.aio.insecure_channel(
        f"127.0.0.1:{port}", options=[("grpc.max_receive_message_length", 64 * 1024 * 1024)]
    )


async def _status(channel: grpc.aio.Channel, service: str = "") -> int:
    stub = health_pb2_grpc.HealthStub(channel)
    return (await stub.Check(health_pb2.HealthCheckRequest(service=service))).status


async def test_lifecycle_errors_metrics_and_shutdown(clean_env: None) -> None:
    service = FakeService()
    task, handle = await _start(service)
    async with _channel(handle.port) as channel:
        assert await _status(channel) == NOT_SERVING
        assert await _status(channel, SERVICE) == NOT_SERVING
        service.gate.set()
        for _ in range(100):
            if await _status(channel) == SERVING:
                break
            await asyncio.sleep(0.02)
        assert await _status(channel, SERVICE) == SERVING

        stub = recommender_pb2_grpc.RecommenderServiceStub(channel)
        assert (await stub.Recommend(recommender_pb2.RecommendRequest(k=3))).history_length_used == 3
        with pytest.raises(grpc.aio.AioRpcError) as bad:
            await stub.Recommend(recommender_pb2.RecommendRequest(k=0))
        assert bad.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert "got 0" in bad.value.details()
        with pytest.raises(grpc.aio.AioRpcError) as crash:
            await stub.Recommend(recommender_pb2.RecommendRequest(k=13))
        assert crash.value.code() == grpc.StatusCode.INTERNAL
        assert "unlucky" in crash.value.details()
        big = await stub.SearchMovies(recommender_pb2.SearchMoviesRequest(query="x"))
        assert len(big.hits[0].movie.plot) == BIG  # the raised message limit

        metrics = await asyncio.to_thread(
            lambda: urllib.request.urlopen(f"http://127.0.0.1:{handle.metrics_port}/metrics").read().decode()
        )
        for code in ("OK", "INVALID_ARGUMENT", "INTERNAL"):
            assert (
                f'grpc_server_handled_total{{grpc_code="{code}",grpc_method="Recommend",'
                f'grpc_service="{SERVICE}",grpc_type="unary"}}' in metrics
            )
        assert "grpc_server_handling_seconds_bucket" in metrics

        watch = health_pb2_grpc.HealthStub(channel).Watch(health_pb2.HealthCheckRequest(service=""))
        assert (await watch.read()).status == SERVING
        handle.request_stop()
        assert (await asyncio.wait_for(watch.read(), 5)).status == NOT_SERVING
    assert await asyncio.wait_for(task, 10) == 0
    assert service.drained and service.closed


async def test_the_port_file_names_the_ports_bound_or_the_server_does_not_start(
    clean_env: None, tmp_path: Path
) -> None:
    service = FakeService()
    task, handle = await _start(service, port_file=tmp_path / "ports.json")
    assert json.loads((tmp_path / "ports.json").read_text()) == {
        "port": handle.port,
        "metrics_port": handle.metrics_port,
    }
    handle.request_stop()
    assert await asyncio.wait_for(task, 10) == 0
    # Nobody could learn where it listens: a configuration error, before serving anything.
    (tmp_path / "folder").mkdir()
    settings = ServerSettings(port=0, metrics_port=0, port_file=tmp_path / "folder")
    assert await serve(FakeService(), settings, install_signal_handlers=False) == EXIT_CONFIG


async def test_failed_load_stays_not_serving_with_reason(clean_env: None) -> None:
    service = FakeService(fail=True)
    service.gate.set()
    task, handle = await _start(service)
    async with _channel(handle.port) as channel:
        for _ in range(50):
            if service.readiness.reason.startswith("FileNotFoundError"):
                break
            await asyncio.sleep(0.02)
        assert await _status(channel) == NOT_SERVING
        assert "model.onnx is missing" in service.readiness.reason
        with pytest.raises(Unavailable) as unavailable:
            service.readiness.require_serving()
        assert "failed to load" in unavailable.value.message
    handle.request_stop()
    assert await asyncio.wait_for(task, 10) == 0


async def test_bearer_token(clean_env: None) -> None:
    service = FakeService()
    service.gate.set()
    task, handle = await _start(service, auth_token="let-me-in-please")
    async with _channel(handle.port) as channel:
        assert await _status(channel) in (SERVING, NOT_SERVING)  # health needs no token
        stub = recommender_pb2_grpc.RecommenderServiceStub(channel)
        with pytest.raises(grpc.aio.AioRpcError) as missing:
            await stub.Recommend(recommender_pb2.RecommendRequest(k=1))
        assert missing.value.code() == grpc.StatusCode.UNAUTHENTICATED
        assert (
            REGISTRY.get_sample_value(
                "grpc_server_handled_total",
                {
                    "grpc_type": "unary",
                    "grpc_service": SERVICE,
                    "grpc_method": "Recommend",
                    "grpc_code": "UNAUTHENTICATED",
                },
            )
            >= 1
        )  # refused calls are counted too
        with pytest.raises(grpc.aio.AioRpcError) as garbled:
            await channel.unary_unary(f"/{SERVICE}/Recommend")(b"\x0a\x05ab", timeout=5)
        assert garbled.value.code() == grpc.StatusCode.UNAUTHENTICATED  # no token: not even parsed
        with pytest.raises(grpc.aio.AioRpcError) as wrong:
            await stub.Recommend(recommender_pb2.RecommendRequest(k=1), metadata=[("authorization", "Bearer nope")])
        assert wrong.value.code() == grpc.StatusCode.UNAUTHENTICATED
        with pytest.raises(grpc.aio.AioRpcError) as other_scheme:
            await stub.Recommend(
                recommender_pb2.RecommendRequest(k=1), metadata=[("authorization", "Basic let-me-in-please")]
            )
        assert other_scheme.value.code() == grpc.StatusCode.UNAUTHENTICATED
        assert "Bearer scheme" in other_scheme.value.details()
        # RFC 6750 (through RFC 7235) makes the scheme name case-insensitive.
        for scheme in ("Bearer", "bearer", "BEARER"):
            reply = await stub.Recommend(
                recommender_pb2.RecommendRequest(k=1), metadata=[("authorization", f"{scheme} let-me-in-please")]
            )
            assert reply.model_name == "fake"
    handle.request_stop()
    assert await asyncio.wait_for(task, 10) == 0


async def test_tls_and_mutual_tls(clean_env: None, tmp_path: Path) -> None:
    certs = make_certs(tmp_path)
    service = FakeService()
    service.gate.set()
    task, handle = await _start(
        service, tls_cert_file=certs.server_cert, tls_key_file=certs.server_key, tls_client_ca_file=certs.ca
    )
    target = f"localhost:{handle.port}"
    with_client_cert = grpc.ssl_channel_credentials(
        certs.ca.read_bytes(), certs.client_key.read_bytes(), certs.client_cert.read_bytes()
    )
    async with grpc.aio.secure_channel(target, with_client_cert) as channel:
        reply = await recommender_pb2_grpc.RecommenderServiceStub(channel).Recommend(
            recommender_pb2.RecommendRequest(k=2)
        )
        assert reply.history_length_used == 2
    # Without a client certificate the handshake is refused.
    async with grpc.aio.secure_channel(target, grpc.ssl_channel_credentials(certs.ca.read_bytes())) as channel:
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await recommender_pb2_grpc.RecommenderServiceStub(channel).Recommend(
                recommender_pb2.RecommendRequest(k=2), timeout=5
            )
        assert refused.value.code() == grpc.StatusCode.UNAVAILABLE
    # Plaintext against a TLS port fails too.
    async with _channel(handle.port) as channel:
        with pytest.raises(grpc.aio.AioRpcError):
            await _status(channel)
    handle.request_stop()
    assert await asyncio.wait_for(task, 10) == 0
