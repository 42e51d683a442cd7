"""Secrets never leave the layout server: an endpoint that echoes the credentials it was sent
(in an error, an HTML page, a reply, even inside a valid layout) gets them masked by value in the
status message, in every field of the response and in the logs, whatever their shape."""

from __future__ import annotations

import base64
import io
import secrets

import grpc
import pytest

from layout_server.config import LayoutSettings
from marquee.serving.structured_logs import get_logger
from marquee.v1 import layout_pb2
from tests.layout_server.fake_openai import ECHO_AUTHORIZATION, FakeOpenAI, Reply, layout_json, ok, status
from tests.layout_server.helpers import assert_valid, request, steps

P = layout_pb2.Planner


def odd_secret(prefix: str) -> str:
    """A credential shaped like none of the redactor's patterns (no `sk-`, no `hf_`)."""
    return f"{prefix}-Q9{secrets.token_hex(10)}"


def leaked(secret: str, *texts: str | bytes) -> list[str]:
    return [repr(t)[:120] for t in texts if (secret.encode() if isinstance(t, bytes) else secret) in t]


ECHOING_REPLIES = [
    status(401, f"invalid key: {ECHO_AUTHORIZATION}"),
    status(500, f"upstream failed for {ECHO_AUTHORIZATION}"),
    Reply(body=f"<html>you sent {ECHO_AUTHORIZATION}</html>".encode(), content_type="text/html"),
    Reply(body=f'{{"error": {{"message": "bad {ECHO_AUTHORIZATION}"}}}}'.encode()),
]


@pytest.mark.parametrize("reply", ECHOING_REPLIES)
async def test_echoed_key_reaches_no_client_and_no_log(
    start_server, fake_llm: FakeOpenAI, captured_logs: io.StringIO, reply: Reply
) -> None:
    key = odd_secret("zz")
    stub = await start_server(api_key=key, base_url=fake_llm.url, retries=0)
    fake_llm.default = reply
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await stub.PlanLayout(request(P.PLANNER_LLM))
    assert fake_llm.headers[0]["authorization"] == f"Bearer {key}"  # the key went out
    assert "[redacted]" in err.value.details()  # the echo came back, masked
    response = await stub.PlanLayout(request(P.PLANNER_AUTO))
    assert steps(response) == [("PLANNER_LLM", "error"), ("PLANNER_OFFLINE", "accepted")]
    assert "[redacted]" in response.attempts[0].error
    assert not leaked(key, err.value.details(), response.SerializeToString(), captured_logs.getvalue())


async def test_echoed_key_in_replies_and_layouts_is_masked(
    start_server, fake_llm: FakeOpenAI, captured_logs: io.StringIO
) -> None:
    key = odd_secret("zz")
    stub = await start_server(api_key=key, base_url=fake_llm.url, retries=0)
    # A rejected reply (kept and re-asked), then a valid layout that carries the key in its text.
    fake_llm.script(
        ok(f"I cannot, your key {ECHO_AUTHORIZATION} is wrong"),
        ok(layout_json(title=f"Poster {ECHO_AUTHORIZATION}", mood=f"{ECHO_AUTHORIZATION} dusk")),
    )
    response = await stub.PlanLayout(request(P.PLANNER_AUTO))
    assert steps(response)[0] == ("PLANNER_LLM", "rejected")
    assert "[redacted]" in response.attempts[0].raw_reply
    assert "[redacted]" in response.raw_model_reply
    assert_valid(response)
    assert not leaked(key, response.SerializeToString(), captured_logs.getvalue())


async def test_base_url_credentials_are_masked(start_server, fake_llm: FakeOpenAI, captured_logs: io.StringIO) -> None:
    password, query_key = odd_secret("pw"), odd_secret("qk")
    host = fake_llm.url.removeprefix("http://")
    url = f"http://marquee:{password}@{host}?api-key={query_key}"
    basic = base64.b64encode(f"marquee:{password}".encode()).decode()
    settings = LayoutSettings(base_url=url)
    assert not leaked(password, repr(settings.loggable()))
    stub = await start_server(base_url=url, retries=0)
    fake_llm.default = status(502, f"gateway saw {ECHO_AUTHORIZATION}")
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await stub.PlanLayout(request(P.PLANNER_LLM))
    assert fake_llm.headers[0]["authorization"] == f"Basic {basic}"  # credentials were used
    response = await stub.PlanLayout(request(P.PLANNER_AUTO))
    logs = captured_logs.getvalue()
    assert "planners ready" in logs and "[redacted]@" in response.attempts[0].error
    for secret in (password, query_key, basic):
        assert not leaked(secret, err.value.details(), response.SerializeToString(), logs)


async def test_auth_token_is_masked_by_value(start_server, captured_logs: io.StringIO) -> None:
    token = odd_secret("tt")
    await start_server(api_key=None, auth_token=token)
    get_logger("test").warning("a client sent a token", header=f"token was {token}!")
    logs = captured_logs.getvalue()
    assert "a client sent a token" in logs and "[redacted]" in logs
    assert not leaked(token, logs)
