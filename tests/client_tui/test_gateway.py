"""The client's calls: transport flags, bounded retries on UNAVAILABLE (unary and the render
stream, across replicas), and errors that say what to do."""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path

import grpc
import pytest

from client_tui.connections import AddressError, add_connection_arguments, endpoints_from_args
from client_tui.errors import ServerError, advice_for
from client_tui.flow import InputError, resolve_watched
from client_tui.gateway import Gateway, RenderRetry
from client_tui.retries import RetryPolicy, call_with_retry
from client_tui.session import render_request
from marquee.local_stack import free_port
from tests.client_tui.fake_servers import FakeStack, RenderBehaviour
from tests.client_tui.fixed_session import fixed_session
from tests.tls_certs import make_certs

FAST = RetryPolicy(attempts=3, first_delay=0.01, max_delay=0.02)


def _args(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_connection_arguments(parser)
    return parser.parse_args(list(argv))


def test_transport_flags_and_variables(tmp_path: Path) -> None:
    certs = make_certs(tmp_path)
    endpoints = endpoints_from_args(
        _args(
            "--render",
            "127.0.0.1:1,127.0.0.1:2",
            "--tls-ca-file",
            str(certs.ca),
            "--tls-cert-file",
            str(certs.client_cert),
            "--tls-key-file",
            str(certs.client_key),
            "--tls-server-name",
            "localhost",
        ),
        {"MARQUEE_AUTH_TOKEN": "s3cret-token"},
    )
    assert endpoints.addresses["render"] == ["127.0.0.1:1", "127.0.0.1:2"]
    assert endpoints.tls is not None and endpoints.tls.cert_file == certs.client_cert
    assert endpoints.tls.server_name == "localhost"
    assert endpoints.token == "s3cret-token" and "s3cret-token" not in repr(endpoints)
    from_env = endpoints_from_args(
        _args(), {"MARQUEE_CLIENT_TLS_CA_FILE": str(certs.ca), "MARQUEE_TLS_CERT_FILE": str(certs.server_cert)}
    )
    # The servers' own MARQUEE_TLS_* variables are not the client's.
    assert from_env.tls is not None and from_env.tls.cert_file is None
    flag_wins = endpoints_from_args(_args("--auth-token", "flag"), {"MARQUEE_AUTH_TOKEN": "env"})
    assert flag_wins.token == "flag" and flag_wins.call_metadata() == (("authorization", "Bearer flag"),)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (("--tls-cert-file", "a.pem"), "must be given together"),
        (("--tls-cert-file", "a.pem", "--tls-key-file", "b.pem"), "mutual TLS needs --tls-ca-file"),
        (("--tls-server-name", "x"), "needs --tls-ca-file"),
        (("--tls-ca-file", "/nonexistent/ca.pem"), "no such file"),
        (("--layout", "nohost"), "--layout"),
    ],
)
def test_bad_transport_flags_are_named(argv: tuple[str, ...], message: str) -> None:
    with pytest.raises(AddressError, match=message):
        endpoints_from_args(_args(*argv), {})


async def test_unary_retry_is_bounded() -> None:
    calls = 0

    async def always_down() -> None:
        nonlocal calls
        calls += 1
        raise grpc.aio.AioRpcError(grpc.StatusCode.UNAVAILABLE, None, None, "down")

    with pytest.raises(grpc.RpcError):
        await call_with_retry(always_down, FAST)
    assert calls == 3

    async def invalid() -> None:
        nonlocal calls
        calls += 1
        raise grpc.aio.AioRpcError(grpc.StatusCode.INVALID_ARGUMENT, None, None, "bad")

    calls = 0
    with pytest.raises(grpc.RpcError):
        await call_with_retry(invalid, FAST)
    assert calls == 1


async def test_unary_call_reaches_the_live_replica_when_one_is_down() -> None:
    with FakeStack() as stack:
        dead = f"127.0.0.1:{free_port()}"
        addresses = {**stack.addresses(), "recommender": f"{dead},{stack.addresses()['recommender']}"}
        from client_tui.connections import Endpoints

        async with Gateway(Endpoints.from_sources(addresses, {}), FAST) as gateway:
            for _ in range(4):
                hits = await gateway.search_movies("toy")
                assert hits[0].movie.display_title == "Toy Story (1995)"


async def test_unreachable_server_gives_advice_not_a_traceback() -> None:
    from client_tui.connections import Endpoints

    port = free_port()
    endpoints = Endpoints.from_sources({"recommender": f"127.0.0.1:{port}"}, {}, token="hush")
    retries: list[int] = []
    async with Gateway(endpoints, FAST) as gateway:
        gateway.on_retry = lambda server, method, attempt, reason: retries.append(attempt)
        with pytest.raises(ServerError) as info:
            await gateway.search_movies("toy")
    assert retries == [1, 2]
    error = info.value
    assert error.code is grpc.StatusCode.UNAVAILABLE and error.server == "recommender"
    assert f"127.0.0.1:{port}" in str(error) and "--recommender / MARQUEE_RECOMMENDER_ADDR" in str(error)
    assert "hush" not in str(error) and "hush" not in repr(error)


async def test_cut_render_stream_is_retried_on_another_replica() -> None:
    # Two render replicas; the first call is cut after 3 steps with UNAVAILABLE.
    behaviour = RenderBehaviour(cut_after_steps=3, cut_calls=1)
    with FakeStack(behaviour) as stack:
        from client_tui.connections import Endpoints

        async with Gateway(Endpoints.from_sources(stack.addresses(), {}), FAST) as gateway:
            events = [e async for e in gateway.render(render_request(fixed_session()))]
    retries = [e for e in events if isinstance(e, RenderRetry)]
    assert [r.attempt for r in retries] == [2] and "replica going away" in retries[0].reason
    assert events[-1].HasField("result") and behaviour.calls == 2
    # The retried request is the same job: same seed, so the same image.
    requests = stack.render.requests
    assert requests[0] == requests[1] and requests[0].seed == 7


async def test_render_retry_gives_up_after_the_policy() -> None:
    behaviour = RenderBehaviour(cut_after_steps=1, cut_calls=10)
    with FakeStack(behaviour) as stack:
        from client_tui.connections import Endpoints

        async with Gateway(Endpoints.from_sources(stack.addresses(), {}), FAST) as gateway:
            with pytest.raises(ServerError) as info:
                async for _ in gateway.render(render_request(fixed_session())):
                    pass
    assert info.value.code is grpc.StatusCode.UNAVAILABLE and behaviour.calls == 3


async def test_leaving_the_render_stream_cancels_the_server_job() -> None:
    behaviour = RenderBehaviour(seconds_per_step=0.05)
    with FakeStack(behaviour) as stack:
        from client_tui.connections import Endpoints

        async with Gateway(Endpoints.from_sources(stack.addresses(), {}), FAST) as gateway:
            stream = gateway.render(render_request(fixed_session()))
            async for event in stream:
                if not isinstance(event, RenderRetry) and event.HasField("progress"):
                    break
            await stream.aclose()
        for _ in range(100):
            if behaviour.cancelled:
                break
            await asyncio.sleep(0.02)
    assert behaviour.cancelled == ["job-1"]


async def test_resolve_watched_titles(fake_stack: FakeStack) -> None:
    from client_tui.connections import Endpoints

    async with Gateway(Endpoints.from_sources(fake_stack.addresses(), {}), FAST) as gateway:
        movies = await resolve_watched(gateway, ["toy story (1995)", "The Matrix", "Toy Story"])
        assert [m.movie_id for m in movies] == [1, 2571]
        with pytest.raises(InputError, match=r"not in the catalog. Closest: Toy Story"):
            await resolve_watched(gateway, ["Toy Story (2001)"])
        with pytest.raises(InputError, match="'Nothing Like It' is not in the catalog"):
            await resolve_watched(gateway, ["Nothing Like It"])


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        (grpc.StatusCode.UNAUTHENTICATED, "--auth-token or MARQUEE_AUTH_TOKEN"),
        (grpc.StatusCode.INVALID_ARGUMENT, "rejected the input: k must be 1..100"),
        (grpc.StatusCode.RESOURCE_EXHAUSTED, "busy"),
        (grpc.StatusCode.UNIMPLEMENTED, "does not implement Render"),
        (grpc.StatusCode.DEADLINE_EXCEEDED, "did not answer Render in time"),
    ],
)
def test_advice_says_what_to_do(code: grpc.StatusCode, expected: str) -> None:
    details = "k must be 1..100" if code is grpc.StatusCode.INVALID_ARGUMENT else "x"
    assert expected in advice_for("render", "Render", code, details, ["10.0.0.1:5"])


def test_tls_and_readiness_failures_get_their_own_advice() -> None:
    tls = advice_for("layout", "PlanLayout", grpc.StatusCode.UNAVAILABLE, "Ssl handshake failed")
    assert "--tls-ca-file" in tls
    loading = advice_for("render", "Render", grpc.StatusCode.UNAVAILABLE, "not ready yet: the model is loading")
    assert "Wait until it is SERVING" in loading
