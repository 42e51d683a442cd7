"""The one server bootstrap every Marquee server runs on.

A server supplies a `ModelService` (its servicers and its model's life cycle) and a settings
class; `run` does the rest: a grpc.aio server with raised message limits, the standard health
service (SERVING only once the model is loaded and warmed, NOT_SERVING as soon as SIGTERM
arrives), reflection, Prometheus metrics, optional TLS / mutual TLS and bearer tokens,
structured logs, and a graceful shutdown bounded by the grace period.
"""

from __future__ import annotations

import abc
import asyncio
import json
import signal
import sys
import time
from collections.abc import Callable, Sequence
from typing import TypeVar

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from prometheus_client import start_http_server
from pydantic import ValidationError

from marquee.atomic_files import atomic_write_text
from marquee.serving.auth import BearerTokenInterceptor
from marquee.serving.metrics import MetricsInterceptor
from marquee.serving.readiness import Readiness, State
from marquee.serving.reflection import enable_reflection
from marquee.serving.settings import ServerSettings, parse_settings
from marquee.serving.structured_logs import configure_logging, get_logger, register_secret
from marquee.serving.tls import server_credentials

log = get_logger("marquee.server")

S = TypeVar("S", bound=ServerSettings)

EXIT_OK = 0
EXIT_CONFIG = 2
EXIT_FAILED = 1


class ModelService(abc.ABC):
    """What a server plugs into the bootstrap."""

    #: Short name for logs and the metrics `process` label, e.g. "recommender".
    name: str = "marquee"

    def __init__(self) -> None:
        self.readiness = Readiness()

    @abc.abstractmethod
    def register(self, server: grpc.aio.Server) -> list[str]:
        """Adds this server's servicers; returns their full service names."""

    async def load(self) -> None:
        """Loads and warms the model. Heavy work belongs in `asyncio.to_thread` so health checks
        keep answering. Raising leaves the server up, NOT_SERVING, with the error as the reason."""

    async def drain(self, deadline: float) -> None:
        """Called after SIGTERM, before the gRPC server stops: stop taking new work and finish or
        cancel running work by `deadline` (a `time.monotonic()` value)."""

    async def close(self) -> None:
        """Releases the model after the gRPC server has stopped."""


def _address(host: str, port: int) -> str:
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    return f"{host}:{port}"


class ServerHandle:
    """A running server: its ports, and a way to ask it to stop (tests and embedding)."""

    def __init__(self, port: int, metrics_port: int | None, stop: asyncio.Event) -> None:
        self.port = port
        self.metrics_port = metrics_port
        self._stop = stop

    def request_stop(self) -> None:
        self._stop.set()


async def serve(
    service: ModelService,
    settings: ServerSettings,
    *,
    on_started: Callable[[ServerHandle], None] | None = None,
    install_signal_handlers: bool = True,
) -> int:
    """Runs `service` until SIGTERM/SIGINT (or `request_stop`), then drains and returns 0."""
    # Metrics outermost, so calls refused for a missing token are counted too.
    interceptors: list[grpc.aio.ServerInterceptor] = [MetricsInterceptor()]
    if settings.auth_token is not None:
        # Masked by value in every log line, whatever its shape (an echo, a traceback).
        register_secret(settings.auth_token.get_secret_value())
        interceptors.append(BearerTokenInterceptor(settings.auth_token.get_secret_value()))
    limit = settings.max_message_bytes
    server = grpc.aio.server(
        interceptors=interceptors,
        options=[
            ("grpc.max_send_message_length", limit),
            ("grpc.max_receive_message_length", limit),
            # Two servers must never silently share a port.
            ("grpc.so_reuseport", 0),
        ],
    )
    health_servicer = health.aio.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    names = service.register(server)
    watched = ["", *names]
    for name in watched:
        await health_servicer.set(name, health_pb2.HealthCheckResponse.NOT_SERVING)
    if settings.reflection:
        enable_reflection([*names, health.SERVICE_NAME], server)

    address = _address(settings.host, settings.port)
    try:
        if settings.tls_cert_file is not None and settings.tls_key_file is not None:
            creds = server_credentials(settings.tls_cert_file, settings.tls_key_file, settings.tls_client_ca_file)
            port = server.add_secure_port(address, creds)
        else:
            port = server.add_insecure_port(address)
    except RuntimeError as exc:
        log.error("cannot listen", address=address, error=str(exc))
        return EXIT_CONFIG
    if port == 0:
        log.error("cannot listen", address=address, error="port in use or address invalid")
        return EXIT_CONFIG

    metrics_httpd = None
    metrics_port: int | None = None
    if settings.metrics:
        try:
            metrics_httpd, _thread = start_http_server(settings.metrics_port, addr=settings.host)
        except OSError as exc:
            log.error("cannot serve metrics", port=settings.metrics_port, error=str(exc))
            return EXIT_CONFIG
        metrics_port = metrics_httpd.server_port
    if settings.port_file is not None:
        # Who starts a server with port 0 learns the ports the OS gave it here: picking a free
        # port for a child and handing it over races with every other process binding one.
        try:
            atomic_write_text(settings.port_file, json.dumps({"port": port, "metrics_port": metrics_port}))
        except OSError as exc:
            log.error("cannot write the port file", path=str(settings.port_file), error=str(exc))
            return EXIT_CONFIG

    await server.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    if install_signal_handlers:
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
    log.info(
        "listening",
        server=service.name,
        port=port,
        metrics_port=metrics_port,
        tls=settings.tls_cert_file is not None,
        mutual_tls=settings.tls_client_ca_file is not None,
        services=names,
    )
    if on_started is not None:
        on_started(ServerHandle(port, metrics_port, stop))

    async def load_then_serve() -> None:
        started = time.perf_counter()
        try:
            await service.load()
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            service.readiness.set(State.FAILED, f"{type(exc).__name__}: {exc}")
            log.error(
                "model failed to load; staying NOT_SERVING",
                server=service.name,
                reason=service.readiness.reason,
                exc_info=True,
            )
            return
        service.readiness.set(State.SERVING)
        for name in watched:
            await health_servicer.set(name, health_pb2.HealthCheckResponse.SERVING)
        log.info("serving", server=service.name, load_seconds=round(time.perf_counter() - started, 3))

    loader = asyncio.create_task(load_then_serve())
    await stop.wait()

    deadline = time.monotonic() + settings.grace_period
    log.info("shutting down", server=service.name, grace_period=settings.grace_period)
    service.readiness.set(State.DRAINING, "shutting down")
    # NOT_SERVING first, so load balancers stop sending before anything is refused.
    await health_servicer.enter_graceful_shutdown()
    loader.cancel()
    try:
        await asyncio.wait_for(service.drain(deadline), timeout=max(0.0, deadline - time.monotonic()))
    except (TimeoutError, Exception):
        log.warning("drain did not finish in time", server=service.name, exc_info=True)
    # Keep a little of the grace period for closing the model and the process.
    remaining = max(0.0, deadline - time.monotonic() - 0.5)
    await server.stop(remaining)
    try:
        await asyncio.wait_for(service.close(), timeout=max(0.5, deadline - time.monotonic()))
    except (TimeoutError, Exception):
        log.warning("close did not finish cleanly", server=service.name, exc_info=True)
    if metrics_httpd is not None:
        metrics_httpd.shutdown()
    log.info("stopped", server=service.name)
    return EXIT_OK


def run(
    settings_cls: type[S], make_service: Callable[[S], ModelService], argv: Sequence[str] | None = None, *, prog: str
) -> int:
    """Entry point of a server's `__main__`: parse settings, set up logs, serve; the exit code."""
    try:
        settings = parse_settings(settings_cls, argv, prog=prog)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or 'settings'}: {err['msg']}" for err in exc.errors()
        )
        print(f"{prog}: invalid configuration: {problems}", file=sys.stderr)
        return EXIT_CONFIG
    configure_logging(settings.log_level, settings.log_format, process=prog.split()[-1])
    log.info("configuration", server=prog, **settings.loggable())
    try:
        service = make_service(settings)
    except (OSError, ValueError) as exc:
        log.error("cannot start", server=prog, error=str(exc))
        return EXIT_CONFIG
    try:
        return asyncio.run(serve(service, settings))
    except KeyboardInterrupt:
        return EXIT_OK
