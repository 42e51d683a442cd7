"""Every option of the layout server (flags and `MARQUEE_*` environment variables), and where
the LLM endpoint comes from.

OpenAI-compatible setups are configured the way the SDK and its users already do it: the
variables `OPENAI_API_KEY`, `OPENAI_BASE_URL` and `OPENAI_MODEL` (or the layout server's own
`MARQUEE_LAYOUT_MODEL`), in the environment or in the dotenv file `--env-file` (default `.env` in
the working directory, when present). Flags win, then the environment, then the dotenv file.
`MARQUEE_MODEL` is still read for the model, last, because the render server reads the same name
for its own model.

The API key is deliberately not an option: a key on the command line shows up in `ps` and shell
history. It and any credentials in the base URL are registered with the log redactor when they
are resolved, so they are masked by value wherever they would appear.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Self

from dotenv import dotenv_values
from pydantic import Field, SecretStr, model_validator
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, EnvSettingsSource, PydanticBaseSettingsSource

from layout_server.validation import Caps
from marquee.addresses import LAYOUT
from marquee.serving import ServerSettings
from marquee.serving.structured_logs import redact_text, register_secret, register_url_secrets

API_KEY_VARIABLE = "OPENAI_API_KEY"
BASE_URL_VARIABLE = "OPENAI_BASE_URL"
#: The model's variables, first found wins: the layout server's own name, then the SDK users' one.
MODEL_VARIABLES = ("MARQUEE_LAYOUT_MODEL", "OPENAI_MODEL")
#: Read last for compatibility: the render server reads the same name for its own model.
LEGACY_MODEL_VARIABLE = "MARQUEE_MODEL"
DEFAULT_BASE_URL = "https://api.openai.com/v1"
DEFAULT_MODEL = "gpt-4o-mini"
DEFAULT_ENV_FILE = Path(".env")


@dataclass(frozen=True)
class LlmEndpoint:
    """The resolved LLM endpoint, and where each part came from (for the start-up log)."""

    api_key: SecretStr | None
    base_url: str
    model: str
    sources: Mapping[str, str]

    @property
    def display_url(self) -> str:
        """The base URL with any credentials masked."""
        return redact_text(self.base_url)


class _LayoutEnvironment(EnvSettingsSource):
    """The environment, except that `--model` is read from the unambiguous model variables
    rather than `MARQUEE_MODEL` (which the render server also reads)."""

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        if field_name == "model":
            for name in MODEL_VARIABLES:
                value = self.env_vars.get(name if self.case_sensitive else name.lower())
                if value:
                    return value, name, False
            return None, field_name, False
        return super().get_field_value(field, field_name)


class LayoutSettings(ServerSettings):
    """Plan thumbnail layouts over gRPC (LayoutService): an OpenAI-compatible LLM planner and an offline planner."""

    port: int = Field(LAYOUT.port, ge=0, le=65535, description="gRPC port; 0 picks a free port.")
    metrics_port: int = Field(
        LAYOUT.metrics_port, ge=0, le=65535, description="Prometheus /metrics port; 0 picks a free port."
    )
    base_url: str | None = Field(
        None,
        description="OpenAI-compatible API base URL, e.g. http://localhost:8000/v1 (default: "
        f"OPENAI_BASE_URL from the environment or the --env-file, else {DEFAULT_BASE_URL}). "
        "Credentials in it (user:password@, ?api-key=) are masked in every log and reply.",
    )
    model: str | None = Field(
        None,
        min_length=1,
        description=f"LLM model name (default: MARQUEE_LAYOUT_MODEL, else OPENAI_MODEL, from the "
        f"environment or the --env-file, else the legacy MARQUEE_MODEL, else {DEFAULT_MODEL}).",
    )
    env_file: Path | None = Field(
        None,
        description="Dotenv file read for OPENAI_API_KEY, OPENAI_BASE_URL, OPENAI_MODEL and "
        "MARQUEE_LAYOUT_MODEL when the environment does not set them (default: ./.env if it "
        "exists). The LLM planner is enabled only when a key is found.",
    )
    timeout: float = Field(
        30.0,
        gt=0,
        le=600,
        description="Seconds one LLM request may take in all, from connecting to the last byte "
        "of the reply, retries included.",
    )
    retries: int = Field(
        2,
        ge=0,
        le=10,
        description="Retries of one LLM request on connection errors and HTTP 408/409/429/5xx, "
        "while --timeout leaves time.",
    )
    max_completion_tokens: int = Field(
        2048,
        ge=16,
        le=200_000,
        description="Most tokens the model may generate per reply (a layout needs about 400; "
        "reasoning models spend more).",
    )
    temperature: float | None = Field(
        None,
        ge=0,
        le=2,
        description="Sampling temperature (default: the model's own; reasoning models accept only their default).",
    )
    seed: int | None = Field(None, description="Sampling seed, for endpoints that support reproducible sampling.")
    max_scenario_chars: int = Field(4000, ge=100, le=100_000, description="Longest scenario accepted, in characters.")
    max_plot_chars: int = Field(
        2000, ge=100, le=100_000, description="Longest plot of one recommended movie, in characters."
    )
    max_system_instruction_chars: int = Field(
        8000, ge=100, le=100_000, description="Longest system-instruction override, in characters."
    )
    max_recommended_movies: int = Field(
        20, ge=1, le=200, description="Most recommended movies accepted in a planning context."
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return init_settings, _LayoutEnvironment(settings_cls), dotenv_settings, file_secret_settings

    @model_validator(mode="after")
    def _env_file_exists_when_given(self) -> Self:
        if self.env_file is not None and not self.env_file.is_file():
            raise ValueError(f"--env-file: no such file: {self.env_file}")
        if self.base_url is not None:
            register_url_secrets(self.base_url)  # before the start-up log prints the settings
            _check_base_url(self.base_url, "--base-url")
        return self

    def loggable(self) -> dict[str, object]:
        out = super().loggable()
        if self.base_url is not None:
            out["base_url"] = redact_text(self.base_url)
        return out

    @property
    def caps(self) -> Caps:
        return Caps(
            max_scenario_chars=self.max_scenario_chars,
            max_plot_chars=self.max_plot_chars,
            max_system_instruction_chars=self.max_system_instruction_chars,
            max_recommended_movies=self.max_recommended_movies,
        )

    def llm_endpoint(self, environ: Mapping[str, str] | None = None) -> LlmEndpoint:
        """Key, base URL and model: flags, then `environ` (default: the process environment),
        then the dotenv file, then the defaults. Registers the key and any credentials in the
        URL with the log redactor, so nothing that prints them can leak them."""
        environ = os.environ if environ is None else environ
        path = self.env_file if self.env_file is not None else DEFAULT_ENV_FILE
        dotenv = {k: (v or "").strip() for k, v in dotenv_values(path).items()} if path.is_file() else {}
        sources: dict[str, str] = {}

        def pick(part: str, names: tuple[str, ...], flag: str | None, default: str) -> str:
            if flag:
                sources[part] = "flag or MARQUEE_ variable"
                return flag
            for where, values in (("environment", environ), (str(path), dotenv)):
                for name in names:
                    if (values.get(name) or "").strip():
                        sources[part] = f"{name} ({where})"
                        return values[name].strip()
            sources[part] = "default"
            return default

        key = pick("key", (API_KEY_VARIABLE,), None, "")
        base_url = pick("base_url", (BASE_URL_VARIABLE,), self.base_url, DEFAULT_BASE_URL)
        model = pick("model", MODEL_VARIABLES, self.model, "")
        if not model:
            model = pick("model", (LEGACY_MODEL_VARIABLE,), None, DEFAULT_MODEL)
        register_secret(key)
        register_url_secrets(base_url)
        _check_base_url(base_url, sources["base_url"])
        if not key:
            sources.pop("key")
        return LlmEndpoint(SecretStr(key) if key else None, base_url, model, sources)

    def api_key(self, environ: Mapping[str, str] | None = None) -> SecretStr | None:
        """The OpenAI API key: the environment first, then the dotenv file; None if neither."""
        return self.llm_endpoint(environ).api_key


def _check_base_url(url: str, where: str) -> None:
    if not url.startswith(("http://", "https://")):
        raise ValueError(f"{where}: the base URL must start with http:// or https://, got {redact_text(url)!r}")
