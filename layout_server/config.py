"""Every option of the layout server (flags and `MARQUEE_*` environment variables)."""

from __future__ import annotations

from pydantic import Field

from marquee.serving import ServerSettings

DEFAULT_PORT = 50052
DEFAULT_METRICS_PORT = 9102


class LayoutSettings(ServerSettings):
    """Plan thumbnail layouts over gRPC (LayoutService): an OpenAI-compatible LLM planner and an offline planner."""

    port: int = Field(DEFAULT_PORT, ge=0, le=65535, description="gRPC port; 0 picks a free port.")
    metrics_port: int = Field(
        DEFAULT_METRICS_PORT, ge=0, le=65535, description="Prometheus /metrics port; 0 picks a free port."
    )
