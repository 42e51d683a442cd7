"""Every option of the render server (flags and `MARQUEE_*` environment variables)."""

from __future__ import annotations

from pydantic import Field

from marquee.serving import ServerSettings

DEFAULT_PORT = 50053
DEFAULT_METRICS_PORT = 9103


class RenderSettings(ServerSettings):
    """Render thumbnail layouts to images over gRPC (RenderService), streaming previews."""

    port: int = Field(DEFAULT_PORT, ge=0, le=65535, description="gRPC port; 0 picks a free port.")
    metrics_port: int = Field(
        DEFAULT_METRICS_PORT, ge=0, le=65535, description="Prometheus /metrics port; 0 picks a free port."
    )
