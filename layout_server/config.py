"""Every option of the layout server (flags and `MARQUEE_*` environment variables).

The API key is deliberately not an option: a key on the command line shows up in `ps` and shell
history. It comes from `OPENAI_API_KEY`, else from the dotenv file `--env-file` (default `.env`
in the working directory, when present), and is never logged.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Mapping, Self

from dotenv import dotenv_values
from pydantic import Field, SecretStr, model_validator

from marquee.serving import ServerSettings
from layout_server.request_limits import Caps

DEFAULT_PORT = 50052
DEFAULT_METRICS_PORT = 9102
API_KEY_VARIABLE = "OPENAI_API_KEY"
DEFAULT_ENV_FILE = Path(".env")


class LayoutSettings(ServerSettings):
    """Plan thumbnail layouts over gRPC (LayoutService): an OpenAI-compatible LLM planner and an offline planner."""

    port: int = Field(DEFAULT_PORT, ge=0, le=65535, description="gRPC port; 0 picks a free port.")
    metrics_port: int = Field(
        DEFAULT_METRICS_PORT, ge=0, le=65535, description="Prometheus /metrics port; 0 picks a free port."
    )
    base_url: str | None = Field(
        None,
        description="OpenAI-compatible API base URL, e.g. http://localhost:8000/v1 (default: "
        "OPENAI_BASE_URL, else https://api.openai.com/v1).",
    )
    model: str = Field("gpt-4o-mini", min_length=1, description="LLM model name.")
    env_file: Path | None = Field(
        None,
        description="Dotenv file to read OPENAI_API_KEY from when the variable is not set "
        "(default: ./.env if it exists). The LLM planner is enabled only when a key is found.",
    )
    timeout: float = Field(
        30.0, gt=0, le=600, description="Seconds one LLM request may take before it is retried."
    )
    retries: int = Field(
        2, ge=0, le=10,
        description="Retries of one LLM request on timeouts, connection errors, 408/409/429/5xx.",
    )
    max_scenario_chars: int = Field(
        4000, ge=100, le=100_000, description="Longest scenario accepted, in characters."
    )
    max_plot_chars: int = Field(
        2000, ge=100, le=100_000, description="Longest plot of one recommended movie, in characters."
    )
    max_system_instruction_chars: int = Field(
        8000, ge=100, le=100_000, description="Longest system-instruction override, in characters."
    )
    max_recommended_movies: int = Field(
        20, ge=1, le=200, description="Most recommended movies accepted in a planning context."
    )

    @model_validator(mode="after")
    def _env_file_exists_when_given(self) -> Self:
        if self.env_file is not None and not self.env_file.is_file():
            raise ValueError(f"--env-file: no such file: {self.env_file}")
        if self.base_url is not None and not self.base_url.startswith(("http://", "https://")):
            raise ValueError(f"--base-url must start with http:// or https://, got {self.base_url!r}")
        return self

    @property
    def caps(self) -> Caps:
        return Caps(
            max_scenario_chars=self.max_scenario_chars,
            max_plot_chars=self.max_plot_chars,
            max_system_instruction_chars=self.max_system_instruction_chars,
            max_recommended_movies=self.max_recommended_movies,
        )

    def api_key(self, environ: Mapping[str, str] | None = None) -> SecretStr | None:
        """The OpenAI API key: the environment first, then the dotenv file; None if neither."""
        environ = os.environ if environ is None else environ
        value = environ.get(API_KEY_VARIABLE, "").strip()
        if not value:
            path = self.env_file if self.env_file is not None else DEFAULT_ENV_FILE
            if path.is_file():
                value = (dotenv_values(path).get(API_KEY_VARIABLE) or "").strip()
        return SecretStr(value) if value else None
