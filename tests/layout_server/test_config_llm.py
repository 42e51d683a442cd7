"""OpenAI-compatible setups the way their users write them: `OPENAI_API_KEY`, `OPENAI_BASE_URL`
and `OPENAI_MODEL` (or `MARQUEE_LAYOUT_MODEL`) in `.env` or the environment, flags winning; the
sampling options that reach the endpoint; and the LLM metrics."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from prometheus_client import REGISTRY

from layout_server.config import DEFAULT_BASE_URL, DEFAULT_MODEL, LayoutSettings
from marquee.v1 import layout_pb2
from tests.layout_server.fake_openai import FakeOpenAI, Reply, layout_json, ok
from tests.layout_server.helpers import assert_valid, request, steps

P = layout_pb2.Planner
KEY = "local-endpoint-key-7f3a"


async def test_planner_configured_only_by_dotenv(
    start_server, fake_llm: FakeOpenAI, captured_logs: io.StringIO, tmp_path: Path
) -> None:
    # The usual vLLM / Ollama / LiteLLM setup: nothing in the environment, nothing on the
    # command line, everything in ./.env (the fixture runs the server in tmp_path).
    (tmp_path / ".env").write_text(
        f"OPENAI_API_KEY={KEY}\nOPENAI_BASE_URL={fake_llm.url}\nOPENAI_MODEL=local-llama-3\n"
    )
    stub = await start_server(api_key=None)
    fake_llm.script(ok(layout_json()))
    response = await stub.PlanLayout(request(P.PLANNER_AUTO))
    assert steps(response) == [("PLANNER_LLM", "accepted")]
    assert response.model == "local-llama-3"
    assert_valid(response)
    assert fake_llm.requests[0]["model"] == "local-llama-3"
    assert fake_llm.headers[0]["authorization"] == f"Bearer {KEY}"
    described = await stub.DescribePlanner(layout_pb2.DescribePlannerRequest())
    assert described.llm_configured and described.llm_model == "local-llama-3"
    ready = next(json.loads(line) for line in captured_logs.getvalue().splitlines() if '"planners ready"' in line)
    assert ready["base_url"] == fake_llm.url and ready["model"] == "local-llama-3"
    assert ready["llm_config_sources"] == {
        "key": "OPENAI_API_KEY (.env)",
        "base_url": "OPENAI_BASE_URL (.env)",
        "model": "OPENAI_MODEL (.env)",
    }
    assert KEY not in captured_logs.getvalue()


def test_precedence(no_llm_env: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / ".env").write_text(
        "OPENAI_API_KEY=dotenv-key\nOPENAI_BASE_URL=http://dotenv:1/v1\nOPENAI_MODEL=dotenv-m\n"
    )
    endpoint = LayoutSettings().llm_endpoint({})
    assert (endpoint.api_key.get_secret_value(), endpoint.base_url, endpoint.model) == (
        "dotenv-key",
        "http://dotenv:1/v1",
        "dotenv-m",
    )
    # The environment beats the dotenv file...
    environ = {"OPENAI_API_KEY": "env-key", "OPENAI_BASE_URL": "http://env:2/v1"}
    monkeypatch.setenv("OPENAI_MODEL", "env-m")
    endpoint = LayoutSettings().llm_endpoint(environ)
    assert (endpoint.api_key.get_secret_value(), endpoint.base_url, endpoint.model) == (
        "env-key",
        "http://env:2/v1",
        "env-m",
    )
    # ...the layout server's own model variable beats OPENAI_MODEL...
    monkeypatch.setenv("MARQUEE_LAYOUT_MODEL", "layout-m")
    assert LayoutSettings().llm_endpoint(environ).model == "layout-m"
    # ...and flags beat everything.
    settings = LayoutSettings(base_url="http://flag:3/v1", model="flag-m")
    endpoint = settings.llm_endpoint(environ)
    assert (endpoint.base_url, endpoint.model) == ("http://flag:3/v1", "flag-m")
    assert endpoint.sources["model"] == endpoint.sources["base_url"] == "flag or MARQUEE_ variable"


def test_marquee_model_is_read_last(no_llm_env: None, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # MARQUEE_MODEL is also the render server's model: a shared environment must not send its
    # Hugging Face id to the LLM when the unambiguous names say otherwise.
    monkeypatch.setenv("MARQUEE_MODEL", "HuiZhang0812/CreatiLayout")
    monkeypatch.setenv("OPENAI_MODEL", "gpt-4.1-mini")
    assert LayoutSettings().llm_endpoint().model == "gpt-4.1-mini"
    monkeypatch.delenv("OPENAI_MODEL")
    (tmp_path / ".env").write_text("MARQUEE_LAYOUT_MODEL=from-dotenv\n")
    assert LayoutSettings().llm_endpoint().model == "from-dotenv"
    (tmp_path / ".env").write_text("")
    # Alone, it still works as before (compatibility).
    endpoint = LayoutSettings().llm_endpoint()
    assert endpoint.model == "HuiZhang0812/CreatiLayout"
    assert endpoint.sources["model"] == "MARQUEE_MODEL (environment)"
    monkeypatch.delenv("MARQUEE_MODEL")
    endpoint = LayoutSettings().llm_endpoint()
    assert (endpoint.base_url, endpoint.model, endpoint.api_key) == (DEFAULT_BASE_URL, DEFAULT_MODEL, None)


def test_bad_base_url_from_the_environment(no_llm_env: None) -> None:
    with pytest.raises(ValueError, match=r"OPENAI_BASE_URL .environment.: the base URL must start"):
        LayoutSettings().llm_endpoint({"OPENAI_BASE_URL": "localhost:8000/v1"})


async def test_sampling_options_reach_the_endpoint(start_server, fake_llm: FakeOpenAI) -> None:
    stub = await start_server(base_url=fake_llm.url)
    fake_llm.default = ok(layout_json())
    await stub.PlanLayout(request(P.PLANNER_LLM))
    sent = fake_llm.requests[-1]
    assert sent["max_completion_tokens"] == 2048
    assert "temperature" not in sent and "seed" not in sent  # the model's own defaults
    stub = await start_server(base_url=fake_llm.url, max_completion_tokens=700, temperature=0.2, seed=7)
    await stub.PlanLayout(request(P.PLANNER_LLM))
    sent = fake_llm.requests[-1]
    assert (sent["max_completion_tokens"], sent["temperature"], sent["seed"]) == (700, 0.2, 7)


def _sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


async def test_llm_metrics(start_server, fake_llm: FakeOpenAI) -> None:
    names = {
        "latency_ok": ("marquee_layout_llm_request_seconds_count", {"outcome": "ok"}),
        "latency_unreadable": ("marquee_layout_llm_request_seconds_count", {"outcome": "unreadable"}),
        "tokens_in": ("marquee_layout_llm_tokens_total", {"direction": "prompt"}),
        "tokens_out": ("marquee_layout_llm_tokens_total", {"direction": "completion"}),
        "unreadable": ("marquee_layout_llm_errors_total", {"kind": "unreadable"}),
        "unusable": ("marquee_layout_llm_errors_total", {"kind": "unusable_reply"}),
        "reasks": ("marquee_layout_llm_reasks_total", {}),
        "fallback_unreadable": ("marquee_layout_offline_fallbacks_total", {"reason": "unreadable"}),
        "fallback_unusable": ("marquee_layout_offline_fallbacks_total", {"reason": "unusable_reply"}),
    }
    before = {key: _sample(name, **labels) for key, (name, labels) in names.items()}
    stub = await start_server(base_url=fake_llm.url, retries=0)
    # An accepted layout (the fake reports 1 prompt and 1 completion token per reply), two
    # unusable replies (a re-ask, then the offline planner), an HTML page (offline planner).
    fake_llm.script(ok(layout_json()), ok("no"), ok("still no"), Reply(body=b"<html></html>", content_type="text/html"))
    for _ in range(3):
        await stub.PlanLayout(request(P.PLANNER_AUTO))
    delta = {key: _sample(name, **labels) - before[key] for key, (name, labels) in names.items()}
    assert delta == {
        "latency_ok": 3,
        "latency_unreadable": 1,
        "tokens_in": 3,
        "tokens_out": 3,
        "unreadable": 1,
        "unusable": 1,
        "reasks": 1,
        "fallback_unreadable": 1,
        "fallback_unusable": 1,
    }
