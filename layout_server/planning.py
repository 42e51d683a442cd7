"""How a planning request is answered: which planner runs, what happens when it fails, and the
record of every step (`attempts`).

- PLANNER_OFFLINE: the offline planner.
- PLANNER_AUTO (and UNSPECIFIED): the LLM when an API key is configured, else the offline planner.
  Any LLM failure (timeout, HTTP error, unusable replies) falls back to the offline planner, so
  AUTO always returns a layout for a valid request.
- PLANNER_LLM: the LLM; without an API key FAILED_PRECONDITION. An endpoint that times out gives
  DEADLINE_EXCEEDED, one that fails or rate-limits after the retries UNAVAILABLE, one that
  refuses the request (bad key, unknown model) FAILED_PRECONDITION, each with the cause.

A reply is validated; if it breaks rules, repair is tried; if problems remain the model is
asked once more with the list of problems (and the start of its reply, never the whole of a huge
one); if that reply is no better, the offline planner answers (in LLM mode too: the endpoint
worked, the model did not follow the rules).

Raw replies are kept once (the one that produced the layout in `raw_model_reply`, rejected ones
in their attempt), capped, and every string of the response has the configured secrets masked:
an endpoint may echo the key it was sent.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from layout_server.genre_vocabulary import rank_genres, style_for
from layout_server.layout_repair import repair_layout
from layout_server.layout_rules import ForbiddenNames, validate_layout
from layout_server.llm_planner import LlmError, LlmPlanner
from layout_server.metrics import LLM_ERRORS, LLM_REASKS, OFFLINE_FALLBACKS
from layout_server.offline_planner import OfflinePlanner
from layout_server.prompting import build_messages, reask_messages
from layout_server.reply_safety import MAX_KEPT_REPLY_CHARS, MAX_REASK_REPLY_CHARS, excerpt, scrub_message
from layout_server.validation import Caps, check_plan_request
from marquee.serving import DeadlineExceeded, FailedPrecondition, Unavailable
from marquee.serving.structured_logs import get_logger
from marquee.v1 import layout_pb2

log = get_logger("layout_server.planning")

P = layout_pb2.Planner
#: Time kept back from the caller's deadline for the offline fallback and the reply.
DEADLINE_RESERVE_S = 0.25
LLM_ROUNDS = 2  # the first ask and one re-ask


@dataclass(frozen=True)
class PlanResult:
    """The response and, for logs, the offline template used (if any)."""

    response: layout_pb2.PlanLayoutResponse
    template: str = ""


class LayoutPlanning:
    """Runs the planners for one server; see the module docstring for the flow."""

    def __init__(self, *, caps: Caps, offline: OfflinePlanner, llm: LlmPlanner | None) -> None:
        self.caps = caps
        self.offline = offline
        self.llm = llm

    @property
    def llm_configured(self) -> bool:
        return self.llm is not None

    async def plan(self, request: layout_pb2.PlanLayoutRequest, time_remaining: float | None = None) -> PlanResult:
        """Plans `request`; `time_remaining` is the caller's deadline in seconds, if any."""
        check_plan_request(request, self.caps)
        names = ForbiddenNames.from_context(request.context)
        wanted = request.planner or P.PLANNER_AUTO
        attempts: list[layout_pb2.PlanAttempt] = []
        if wanted == P.PLANNER_OFFLINE or (wanted == P.PLANNER_AUTO and self.llm is None):
            return self._offline(request, names, attempts)
        if self.llm is None:
            raise FailedPrecondition(
                "planner PLANNER_LLM needs an LLM, and none is configured: set OPENAI_API_KEY "
                "(or put it in the file given by --env-file) and restart the layout server, or "
                "ask for PLANNER_AUTO / PLANNER_OFFLINE"
            )
        budget = None if time_remaining is None else time_remaining - DEADLINE_RESERVE_S
        try:
            if budget is not None and budget <= 0:
                raise TimeoutError
            ask = self._ask_llm(self.llm, request, names, attempts)
            response = await (asyncio.wait_for(ask, budget) if budget is not None else ask)
        except LlmError as exc:
            attempts.append(layout_pb2.PlanAttempt(planner=P.PLANNER_LLM, outcome="error", error=exc.cause))
            if wanted == P.PLANNER_LLM:
                raise self._llm_failure(exc, self.llm) from exc
            return self._offline(request, names, attempts, fallback=exc.kind)
        except TimeoutError:
            cause = (
                f"no answer from the LLM within the caller's deadline "
                f"({max(0.0, time_remaining or 0.0):.1f} s left when planning began)"
            )
            LLM_ERRORS.labels("deadline").inc()
            attempts.append(layout_pb2.PlanAttempt(planner=P.PLANNER_LLM, outcome="error", error=cause))
            if wanted == P.PLANNER_LLM:
                raise DeadlineExceeded(cause) from None
            return self._offline(request, names, attempts, fallback="deadline")
        except Exception as exc:
            log.exception("unexpected error while asking the LLM")
            cause = (
                f"unexpected {type(exc).__name__} while asking the LLM at "
                f"{self.llm.base_url}; see the layout server's log"
            )
            LLM_ERRORS.labels("unexpected").inc()
            attempts.append(layout_pb2.PlanAttempt(planner=P.PLANNER_LLM, outcome="error", error=cause))
            if wanted == P.PLANNER_LLM:
                raise Unavailable(f"{cause}; ask for PLANNER_AUTO to fall back to the offline planner") from None
            return self._offline(request, names, attempts, fallback="unexpected")
        if response is not None:
            return PlanResult(scrub_message(response))
        LLM_ERRORS.labels("unusable_reply").inc()
        return self._offline(request, names, attempts, fallback="unusable_reply")

    @staticmethod
    def _llm_failure(exc: LlmError, llm: LlmPlanner) -> Exception:
        detail = f"{exc.cause} (model {llm.model})"
        if exc.kind == "timeout":
            return DeadlineExceeded(
                f"{detail}; raise --timeout, retry later, or ask for PLANNER_AUTO to fall back to the offline planner"
            )
        if exc.kind == "unreadable":
            return Unavailable(
                f"{detail}; the answer was unreadable: check that --base-url "
                "(or OPENAI_BASE_URL) is an OpenAI-compatible API such as "
                "http://host:port/v1, or ask for PLANNER_AUTO to fall back to the "
                "offline planner"
            )
        if exc.kind == "unavailable":
            return Unavailable(f"{detail}; retry later, or ask for PLANNER_AUTO to fall back to the offline planner")
        return FailedPrecondition(f"{detail}; check --base-url, --model and OPENAI_API_KEY")

    async def _ask_llm(
        self,
        llm: LlmPlanner,
        request: layout_pb2.PlanLayoutRequest,
        names: ForbiddenNames,
        attempts: list[layout_pb2.PlanAttempt],
    ) -> layout_pb2.PlanLayoutResponse | None:
        """The LLM's layout (as asked, repaired, or re-asked), or None when it gave none."""
        instruction = request.system_instruction if request.HasField("system_instruction") else None
        messages = build_messages(request.scenario, request.context, instruction)
        context = request.context
        style = style_for(
            rank_genres(list(context.watched_top_genres), [list(m.genres) for m in context.recommended_movies])
        )
        for round_ in range(LLM_ROUNDS):
            reply = await llm.ask(messages)
            # Kept once: the reply that makes the layout goes in `raw_model_reply` only.
            kept = excerpt(reply.raw, MAX_KEPT_REPLY_CHARS)
            problems = reply.problems
            if reply.layout is not None:
                problems = validate_layout(reply.layout, names)
                if not problems:
                    attempts.append(layout_pb2.PlanAttempt(planner=P.PLANNER_LLM, outcome="accepted"))
                    return self._response(reply.layout, P.PLANNER_LLM, attempts, raw=kept, model=llm.model)
                repaired, repairs = repair_layout(reply.layout, names, style_word=style)
                if not validate_layout(repaired, names):
                    attempts.append(
                        layout_pb2.PlanAttempt(planner=P.PLANNER_LLM, outcome="repaired", problems=problems)
                    )
                    return self._response(repaired, P.PLANNER_LLM, attempts, raw=kept, model=llm.model, repairs=repairs)
            attempts.append(
                layout_pb2.PlanAttempt(planner=P.PLANNER_LLM, outcome="rejected", problems=problems, raw_reply=kept)
            )
            if round_ + 1 < LLM_ROUNDS:
                LLM_REASKS.inc()
                messages = reask_messages(messages, excerpt(reply.raw, MAX_REASK_REPLY_CHARS), problems)
        return None

    def _offline(
        self,
        request: layout_pb2.PlanLayoutRequest,
        names: ForbiddenNames,
        attempts: list[layout_pb2.PlanAttempt],
        *,
        fallback: str | None = None,
    ) -> PlanResult:
        """The offline planner's layout; `fallback` is why the LLM's was not used, if tried."""
        if fallback is not None:
            OFFLINE_FALLBACKS.labels(fallback).inc()
        plan = self.offline.plan(request.scenario, request.context, names)
        attempts.append(layout_pb2.PlanAttempt(planner=P.PLANNER_OFFLINE, outcome="accepted"))
        response = self._response(plan.layout, P.PLANNER_OFFLINE, attempts)
        return PlanResult(scrub_message(response), plan.template)

    @staticmethod
    def _response(
        layout: layout_pb2.Layout,
        planner: layout_pb2.Planner,
        attempts: list[layout_pb2.PlanAttempt],
        *,
        raw: str = "",
        model: str = "",
        repairs: list[layout_pb2.LayoutRepair] | None = None,
    ) -> layout_pb2.PlanLayoutResponse:
        return layout_pb2.PlanLayoutResponse(
            layout=layout,
            planner_used=planner,
            repairs=repairs or [],
            raw_model_reply=raw,
            attempts=attempts,
            model=model,
        )
