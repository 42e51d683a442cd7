"""The client's one way to call the three servers (asyncio, grpc.aio).

Every call carries the bearer token (if any), a deadline, and a bounded retry on UNAVAILABLE;
every failure comes out as a `ServerError` that says what to do. The render stream is retried
from the start when a replica dies under it (see `client_tui.retries`). Health is watched per
server with the standard `grpc.health.v1` Watch.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from client_tui.connections import SERVERS, Endpoints
from client_tui.errors import ServerError, explain
from client_tui.retries import RetryPolicy, call_with_retry, retryable
from marquee.retry_hint import retry_after_seconds
from marquee.titles import MAX_RESOLVE_QUERIES
from marquee.v1 import layout_pb2, layout_pb2_grpc, recommender_pb2, recommender_pb2_grpc, render_pb2, render_pb2_grpc

T = TypeVar("T")

#: Seconds per call; planning may wait on an LLM (which has its own retries and fallback).
TIMEOUTS = {
    "SearchMovies": 5.0,
    "ResolveTitles": 10.0,
    "GetMovies": 10.0,
    "Recommend": 20.0,
    "PlanLayout": 240.0,
    "ValidateLayout": 10.0,
    "DescribePlanner": 10.0,
    "DescribeEngine": 10.0,
}


#: Seconds a render waits, in all, for room in a full render queue (RESOURCE_EXHAUSTED).
DEFAULT_QUEUE_WAIT = 300.0
#: The longest single wait before asking a full render queue again. The server's hint assumes the
#: jobs ahead run to the end; one that is cancelled (its client left) frees the slot sooner, and a
#: refused call costs the server next to nothing.
QUEUE_POLL_SECONDS = 10.0


@dataclass(frozen=True)
class RenderRetry:
    """The render call is being started again: its stream broke with UNAVAILABLE, or
    (`queue_full`) the server's queue was full and it said when to come back."""

    attempt: int
    reason: str
    delay: float
    queue_full: bool = False
    #: Seconds already spent waiting for the queue, before this wait, and the limit on them.
    waited: float = 0.0
    wait_limit: float = 0.0
    #: The server's estimate of when the queue has room (`delay` may be shorter: it asks again).
    expected: float = 0.0

    def queue_words(self) -> str:
        """The queue wait in words, for the CLI's progress and the console's status alike."""
        return (
            f"render queue full; retrying in {self.delay:.0f} s (the server expects room in about "
            f"{self.expected:.0f} s; waited {self.waited:.0f} of {self.wait_limit:g} s)"
        )


def retry_after(error: grpc.RpcError) -> float | None:
    """The server's hint, in seconds, when to retry a RESOURCE_EXHAUSTED call; None without one."""
    if error.code() is not grpc.StatusCode.RESOURCE_EXHAUSTED:
        return None
    # The client's calls are asyncio ones: their errors carry the metadata as (key, value) pairs.
    return retry_after_seconds(error.trailing_metadata() if isinstance(error, grpc.aio.AioRpcError) else None)


RenderEvent = render_pb2.RenderResponse | RenderRetry


@dataclass(frozen=True)
class ServerState:
    """One server's health as the client last saw it."""

    server: str
    #: "connecting", "serving", "not serving", "unreachable".
    status: str
    detail: str = ""

    @property
    def ok(self) -> bool:
        return self.status == "serving"


_HEALTH_NAMES = {
    health_pb2.HealthCheckResponse.SERVING: "serving",
    health_pb2.HealthCheckResponse.NOT_SERVING: "not serving",
    health_pb2.HealthCheckResponse.SERVICE_UNKNOWN: "not serving",
    health_pb2.HealthCheckResponse.UNKNOWN: "connecting",
}


class Gateway:
    """Stubs for the three servers over one channel each. Create it inside the event loop that
    will use it; `close()` it when done."""

    def __init__(self, endpoints: Endpoints, retry: RetryPolicy | None = None) -> None:
        self.endpoints = endpoints
        self.retry = retry or RetryPolicy()
        self._channels: dict[str, grpc.aio.Channel] = {name: endpoints.channel(name) for name in SERVERS}
        self._metadata = endpoints.call_metadata()
        self.recommender = recommender_pb2_grpc.RecommenderServiceStub(self._channels["recommender"])
        self.layout = layout_pb2_grpc.LayoutServiceStub(self._channels["layout"])
        self.renderer = render_pb2_grpc.RenderServiceStub(self._channels["render"])
        #: Called with (server, method, attempt, reason) before each retry, for progress displays.
        self.on_retry: Callable[[str, str, int, str], None] | None = None

    async def close(self) -> None:
        await asyncio.gather(*(channel.close() for channel in self._channels.values()), return_exceptions=True)

    async def __aenter__(self) -> Gateway:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def _unary(self, server: str, method: str, call: Callable[..., Awaitable[T]], request: object) -> T:
        def report(attempt: int, error: grpc.RpcError) -> None:
            if self.on_retry is not None:
                self.on_retry(server, method, attempt, error.details() or "")

        try:
            return await call_with_retry(
                lambda: call(request, timeout=TIMEOUTS[method], metadata=self._metadata), self.retry, report
            )
        except grpc.RpcError as error:
            raise explain(server, method, error, self.endpoints.addresses) from None

    # -- recommender -------------------------------------------------------------------------

    async def search_movies(self, query: str, limit: int = 20) -> list[recommender_pb2.SearchHit]:
        reply = await self._unary(
            "recommender",
            "SearchMovies",
            self.recommender.SearchMovies,
            recommender_pb2.SearchMoviesRequest(query=query, limit=limit),
        )
        return list(reply.hits)

    async def resolve_titles(self, queries: Sequence[str]) -> list[recommender_pb2.TitleResolution]:
        """What each title names in the catalog (one resolution per query, in order), in calls of
        at most the server's `MAX_RESOLVE_QUERIES`."""
        resolutions: list[recommender_pb2.TitleResolution] = []
        for start in range(0, len(queries), MAX_RESOLVE_QUERIES):
            reply = await self._unary(
                "recommender",
                "ResolveTitles",
                self.recommender.ResolveTitles,
                recommender_pb2.ResolveTitlesRequest(queries=list(queries[start : start + MAX_RESOLVE_QUERIES])),
            )
            resolutions.extend(reply.resolutions)
        return resolutions

    async def recommend(self, watched_ids: Sequence[int], k: int) -> recommender_pb2.RecommendResponse:
        return await self._unary(
            "recommender",
            "Recommend",
            self.recommender.Recommend,
            recommender_pb2.RecommendRequest(watched_movie_ids=list(watched_ids), k=k, exclude_watched=True),
        )

    # -- layout --------------------------------------------------------------------------------

    async def plan_layout(self, request: layout_pb2.PlanLayoutRequest) -> layout_pb2.PlanLayoutResponse:
        return await self._unary("layout", "PlanLayout", self.layout.PlanLayout, request)

    async def validate_layout(
        self, layout: layout_pb2.Layout, context: layout_pb2.PlanningContext
    ) -> layout_pb2.ValidateLayoutResponse:
        return await self._unary(
            "layout",
            "ValidateLayout",
            self.layout.ValidateLayout,
            layout_pb2.ValidateLayoutRequest(layout=layout, context=context),
        )

    async def describe_planner(self) -> layout_pb2.DescribePlannerResponse:
        return await self._unary(
            "layout", "DescribePlanner", self.layout.DescribePlanner, layout_pb2.DescribePlannerRequest()
        )

    # -- render --------------------------------------------------------------------------------

    async def describe_engine(self) -> render_pb2.DescribeEngineResponse:
        return await self._unary(
            "render", "DescribeEngine", self.renderer.DescribeEngine, render_pb2.DescribeEngineRequest()
        )

    async def render(
        self, request: render_pb2.RenderRequest, queue_wait: float = DEFAULT_QUEUE_WAIT
    ) -> AsyncIterator[RenderEvent]:
        """The render stream's events, ending with the one that carries the result. A stream cut
        by UNAVAILABLE (a replica lost) is started again, at most `retry.attempts` times in all; a
        full queue (RESOURCE_EXHAUSTED with a retry-after hint) is tried again after the hint, for
        at most `queue_wait` seconds of waiting in all (0: fail at once). Each restart is announced
        by a `RenderRetry` event. Leaving the iteration early (or cancelling the task) cancels the
        call, which stops the job on the server."""
        delays = self.retry.delays()
        attempt = 1
        waited = 0.0
        while True:
            call = self.renderer.Render(request, metadata=self._metadata)
            try:
                async for response in call:
                    yield response
                    if response.HasField("result"):
                        return
                raise ServerError(
                    "render",
                    "Render",
                    grpc.StatusCode.INTERNAL,
                    "the stream ended without a result",
                    "The render server ended the stream without a result. Check its log and retry.",
                )
            except grpc.RpcError as error:
                hint = retry_after(error)
                if hint is not None and waited < queue_wait:
                    delay = min(max(hint, 0.1), QUEUE_POLL_SECONDS, queue_wait - waited)
                    attempt += 1
                    yield RenderRetry(
                        attempt,
                        error.details() or "the render queue is full",
                        delay,
                        queue_full=True,
                        waited=waited,
                        wait_limit=queue_wait,
                        expected=hint,
                    )
                    await asyncio.sleep(delay)
                    waited += delay
                    continue
                retry_delay = next(delays, None) if retryable(error) else None
                if retry_delay is None:
                    raise explain("render", "Render", error, self.endpoints.addresses) from None
                attempt += 1
                yield RenderRetry(attempt, error.details() or "the render server went away", retry_delay)
                await asyncio.sleep(retry_delay)
            finally:
                call.cancel()

    # -- health --------------------------------------------------------------------------------

    async def watch_health(self, server: str, reconnect_delay: float = 1.0) -> AsyncIterator[ServerState]:
        """The server's state whenever it changes, forever (cancel the task to stop)."""
        stub = health_pb2_grpc.HealthStub(self._channels[server])
        last: ServerState | None = None
        while True:
            state: ServerState | None = None
            try:
                async for reply in stub.Watch(health_pb2.HealthCheckRequest(service=""), metadata=self._metadata):
                    state = ServerState(server, _HEALTH_NAMES.get(reply.status, "connecting"))
                    if state != last:
                        last = state
                        yield state
                state = ServerState(server, "unreachable", "the health stream ended")
            except grpc.RpcError as error:
                code = error.code()
                if code is grpc.StatusCode.UNIMPLEMENTED:
                    state = ServerState(server, "serving", "no health service; assuming up")
                else:
                    state = ServerState(server, "unreachable", error.details() or code.name)
            if state != last:
                last = state
                yield state
            await asyncio.sleep(reconnect_delay)
