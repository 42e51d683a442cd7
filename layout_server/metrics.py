"""The layout server's Prometheus metrics (the shared bootstrap adds the gRPC ones)."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

from marquee.v1 import layout_pb2

PLANS = Counter(
    "marquee_layout_plans_total",
    "Layouts planned, by planner asked for, planner used and how the LLM's layout was taken.",
    ["requested", "used", "path"],
)
LLM_REQUEST_SECONDS = Histogram(
    "marquee_layout_llm_request_seconds",
    "Time of one LLM request, connect to last byte, retries included, by outcome "
    "(ok, an error kind, cancelled by the caller's deadline, or unexpected).",
    ["outcome"],
    buckets=(0.1, 0.25, 0.5, 1, 2, 4, 8, 15, 30, 60, 120, 300, 600),
)
LLM_TOKENS = Counter(
    "marquee_layout_llm_tokens_total",
    "Tokens the endpoint reported using, by direction (prompt = in, completion = out).",
    ["direction"],
)
LLM_ERRORS = Counter(
    "marquee_layout_llm_errors_total",
    "LLM requests or replies that gave no usable layout, by kind: timeout, unavailable, "
    "rejected, unreadable (not a chat completion, empty, too large), deadline (the caller's), "
    "unusable_reply (not a valid layout even after repair), unexpected (a bug: see the log).",
    ["kind"],
)
LLM_REASKS = Counter(
    "marquee_layout_llm_reasks_total",
    "Re-asks: the model's reply broke the rules and it was asked once more with the problems.",
)
OFFLINE_FALLBACKS = Counter(
    "marquee_layout_offline_fallbacks_total",
    "Requests the offline planner answered after the LLM was tried, by reason (an error kind or unusable_reply).",
    ["reason"],
)


def plan_path(response: layout_pb2.PlanLayoutResponse) -> str:
    """ "llm", "llm_repaired", "llm_reasked", "offline" or "offline_fallback"."""
    llm_steps = [a for a in response.attempts if a.planner == layout_pb2.PLANNER_LLM]
    if response.planner_used == layout_pb2.PLANNER_OFFLINE:
        return "offline_fallback" if llm_steps else "offline"
    if len(llm_steps) > 1:
        return "llm_reasked"
    return "llm_repaired" if len(response.repairs) else "llm"


def count_plan(request: layout_pb2.PlanLayoutRequest, response: layout_pb2.PlanLayoutResponse) -> str:
    """Counts one answered plan in `PLANS`; returns its path (for the log line)."""
    path = plan_path(response)
    PLANS.labels(
        layout_pb2.Planner.Name(request.planner or layout_pb2.PLANNER_AUTO),
        layout_pb2.Planner.Name(response.planner_used),
        path,
    ).inc()
    return path
