"""PlanLayout against an endpoint that misbehaves at the HTTP level (an HTML page, an empty, cut,
huge or trickling body, endless 5xx): AUTO always ends in a valid layout with the reason in
`attempts`, LLM mode in a clear status, and nothing huge is kept or sent back to the model."""

from __future__ import annotations

import json

import grpc
import pytest

from layout_server.llm_planner import MAX_BODY_BYTES, LlmPlanner
from layout_server.reply_safety import MAX_KEPT_REPLY_CHARS, MAX_REASK_REPLY_CHARS
from marquee.v1 import layout_pb2
from tests.layout_server.fake_openai import FakeOpenAI, Reply, layout_json, ok, status
from tests.layout_server.helpers import assert_valid, request, steps

P = layout_pb2.Planner
#: A chat completion whose body breaks off inside the content string.
CUT_ENVELOPE = b'{"id": "x", "object": "chat.completion", "choices": [{"index": 0, "message": {"ro'


@pytest.mark.parametrize(
    "reply, cause",
    [
        # The SDK hands back a `str` for a text/html 200; reading `.choices` from it was INTERNAL.
        (
            Reply(body=b"<html><body>Welcome to the proxy</body></html>", content_type="text/html"),
            "not a chat completion (text/html",
        ),
        (Reply(body=b"", content_type="text/plain"), "empty body"),
        (Reply(body=b'{"error": {"message": "quota exhausted"}}'), "quota exhausted"),
        (Reply(body=CUT_ENVELOPE), "not a chat completion (application/json"),
        (Reply(content=layout_json(), cut_after=40), "lost the connection to the LLM endpoint"),
    ],
)
async def test_unreadable_replies_fall_back(start_server, fake_llm: FakeOpenAI, reply: Reply, cause: str) -> None:
    stub = await start_server(base_url=fake_llm.url, retries=0)
    fake_llm.default = reply
    response = await stub.PlanLayout(request(P.PLANNER_AUTO))
    assert steps(response) == [("PLANNER_LLM", "error"), ("PLANNER_OFFLINE", "accepted")]
    assert cause in response.attempts[0].error
    assert_valid(response)
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await stub.PlanLayout(request(P.PLANNER_LLM))
    assert err.value.code() == grpc.StatusCode.UNAVAILABLE
    assert cause in err.value.details()


async def test_huge_reply_is_not_kept_nor_sent_back(start_server, fake_llm: FakeOpenAI) -> None:
    stub = await start_server(base_url=fake_llm.url, retries=0)
    fake_llm.default = ok("x" * (3 << 20))  # 3 MiB of content in a well-formed completion
    # A default client (4 MiB receive limit) must be able to read the answer.
    channel_limit = 4 << 20
    response = await stub.PlanLayout(request(P.PLANNER_AUTO))
    assert response.ByteSize() < channel_limit // 64
    assert steps(response) == [("PLANNER_LLM", "error"), ("PLANNER_OFFLINE", "accepted")]
    assert f"more than {MAX_BODY_BYTES:,} bytes" in response.attempts[0].error
    assert len(fake_llm.requests) == 1  # no re-ask carrying the reply back
    assert_valid(response)


async def test_long_rejected_reply_is_capped_once_and_in_the_reask(start_server, fake_llm: FakeOpenAI) -> None:
    stub = await start_server(base_url=fake_llm.url, retries=0)
    long_text = "Here is a poster idea. " * 20_000  # ~460 KB, under the body cap, not JSON
    fake_llm.script(ok(long_text), ok(layout_json()))
    response = await stub.PlanLayout(request(P.PLANNER_AUTO))
    assert steps(response) == [("PLANNER_LLM", "rejected"), ("PLANNER_LLM", "accepted")]
    kept = response.attempts[0].raw_reply
    assert kept.startswith("Here is a poster idea.")
    assert len(kept) < MAX_KEPT_REPLY_CHARS + 100
    assert kept.endswith(f"[truncated: {len(long_text):,} characters in all]")
    # The re-ask quotes the start of the reply, not the whole of it.
    reask = fake_llm.requests[1]["messages"]
    assert reask[2]["role"] == "assistant"
    assert len(reask[2]["content"]) < MAX_REASK_REPLY_CHARS + 100
    assert "characters in all]" in reask[2]["content"]
    # The accepted reply is kept once: in raw_model_reply, not again in its attempt.
    assert response.raw_model_reply == layout_json() and response.attempts[1].raw_reply == ""
    assert_valid(response)


async def test_reply_cut_by_the_token_limit_says_so(start_server, fake_llm: FakeOpenAI) -> None:
    stub = await start_server(base_url=fake_llm.url, max_completion_tokens=64)
    fake_llm.script(ok(layout_json()[:100], finish_reason="length"), ok(layout_json()))
    response = await stub.PlanLayout(request(P.PLANNER_AUTO))
    assert steps(response) == [("PLANNER_LLM", "rejected"), ("PLANNER_LLM", "accepted")]
    problem = response.attempts[0].problems[0]
    assert problem.code == "invalid_json" and "cut at 64 tokens" in problem.message
    assert fake_llm.requests[0]["max_completion_tokens"] == 64


async def test_timeout_bounds_a_trickling_reply(start_server, fake_llm: FakeOpenAI) -> None:
    # Every byte arrives well within the timeout, so a per-read timeout never fires: before the
    # fix this request took over a minute and was accepted.
    stub = await start_server(base_url=fake_llm.url, timeout=0.5, retries=0)
    fake_llm.default = ok(layout_json(), trickle_every=0.1, trickle_bytes=8)
    response = await stub.PlanLayout(request(P.PLANNER_AUTO))
    assert steps(response) == [("PLANNER_LLM", "error"), ("PLANNER_OFFLINE", "accepted")]
    assert "did not answer within 0.5 s (1 try)" in response.attempts[0].error
    assert_valid(response)
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await stub.PlanLayout(request(P.PLANNER_LLM))
    assert err.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
    assert "did not answer within 0.5 s" in err.value.details()
    assert len(fake_llm.requests) == 2  # one try each


async def test_retries_stay_inside_the_timeout(start_server, fake_llm: FakeOpenAI) -> None:
    stub = await start_server(base_url=fake_llm.url, timeout=1.0, retries=10)
    fake_llm.default = status(503, "overloaded", delay=0.3)
    response = await stub.PlanLayout(request(P.PLANNER_AUTO))
    assert steps(response) == [("PLANNER_LLM", "error"), ("PLANNER_OFFLINE", "accepted")]
    error = response.attempts[0].error
    tries = len(fake_llm.requests)
    # Eleven tries of 0.3 s do not fit in 1 s: the request stopped early, and says how often
    # it tried (either it ran out of time, or no time was left for another try).
    assert 2 <= tries <= 4
    assert f"did not answer within 1 s ({tries} tries)" in error or f"HTTP 503 ({tries} tries)" in error
    assert_valid(response)


async def test_reply_wrapped_in_content_parts(start_server, fake_llm: FakeOpenAI) -> None:
    stub = await start_server(base_url=fake_llm.url)
    completion = {
        "id": "c",
        "object": "chat.completion",
        "created": 0,
        "model": "m",
        "choices": [
            {
                "index": 0,
                "finish_reason": "stop",
                "message": {"role": "assistant", "content": [{"type": "text", "text": layout_json()}]},
            }
        ],
    }
    fake_llm.default = Reply(body=json.dumps(completion).encode())
    response = await stub.PlanLayout(request(P.PLANNER_LLM))
    assert steps(response) == [("PLANNER_LLM", "accepted")]
    assert_valid(response)


async def test_an_unexpected_error_still_ends_in_a_layout(
    start_server, fake_llm: FakeOpenAI, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Whatever goes wrong on the LLM path (here a bug reading the reply), AUTO answers."""

    def broken(*_args: object) -> None:
        raise KeyError("choices")

    monkeypatch.setattr(LlmPlanner, "_reply", broken)
    stub = await start_server(base_url=fake_llm.url)
    fake_llm.default = ok(layout_json())
    response = await stub.PlanLayout(request(P.PLANNER_AUTO))
    assert steps(response) == [("PLANNER_LLM", "error"), ("PLANNER_OFFLINE", "accepted")]
    assert "unexpected KeyError" in response.attempts[0].error
    assert_valid(response)
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await stub.PlanLayout(request(P.PLANNER_LLM))
    assert err.value.code() == grpc.StatusCode.UNAVAILABLE
