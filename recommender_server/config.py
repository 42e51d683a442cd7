"""Every option of the recommender server (flags and `MARQUEE_*` environment variables)."""

from __future__ import annotations

from pydantic import Field

from marquee.serving import ServerSettings

DEFAULT_PORT = 50051
DEFAULT_METRICS_PORT = 9101


class RecommenderSettings(ServerSettings):
    """Serve SASRec recommendations over gRPC (KServe v2 / Triton protocol and RecommenderService)."""

    port: int = Field(DEFAULT_PORT, ge=0, le=65535, description="gRPC port; 0 picks a free port.")
    metrics_port: int = Field(
        DEFAULT_METRICS_PORT, ge=0, le=65535, description="Prometheus /metrics port; 0 picks a free port."
    )
