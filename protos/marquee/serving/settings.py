"""Configuration every server shares, read from flags and `MARQUEE_*` environment variables.

Each server subclasses `ServerSettings` in its own `config.py`, so that one class holds all of a
server's options and `--help` documents every one of them. Flags win over the environment.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Literal, Self, TypeVar

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, CliApp, SettingsConfigDict

ENV_PREFIX = "MARQUEE_"
MIB = 1024 * 1024

S = TypeVar("S", bound="ServerSettings")


class ServerSettings(BaseSettings):
    """Options of the shared server bootstrap."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        cli_kebab_case=True,
        cli_implicit_flags=True,
        cli_use_class_docs_for_groups=False,
        extra="ignore",
        validate_default=True,
    )

    host: str = Field("127.0.0.1", description="Interface to listen on (0.0.0.0 or [::] in a container).")
    port: int = Field(0, ge=0, le=65535, description="gRPC port; 0 picks a free port.")
    metrics_port: int = Field(0, ge=0, le=65535, description="Prometheus /metrics port; 0 picks a free port.")
    metrics: bool = Field(True, description="Serve Prometheus metrics.")
    port_file: Path | None = Field(
        None,
        description="Once listening, write the gRPC and metrics ports here as JSON (for whoever started "
        "the server with port 0).",
    )
    reflection: bool = Field(True, description="Enable gRPC server reflection.")
    grace_period: float = Field(
        10.0, gt=0, description="Seconds to finish in-flight calls after SIGTERM before exiting."
    )
    max_message_mb: int = Field(
        64, ge=4, le=2047, description="Largest gRPC message sent or received, in MiB (images)."
    )
    tls_cert_file: Path | None = Field(None, description="PEM certificate: serve TLS.")
    tls_key_file: Path | None = Field(None, description="PEM private key for --tls-cert-file.")
    tls_client_ca_file: Path | None = Field(
        None, description="PEM CA bundle: require client certificates signed by it (mutual TLS)."
    )
    auth_token: SecretStr | None = Field(
        None, description="Require 'authorization: Bearer <token>' on every call but health checks."
    )
    log_level: Literal["debug", "info", "warning", "error"] = Field("info", description="Log level.")
    log_format: Literal["json", "console"] = Field("json", description="Log format.")

    @model_validator(mode="after")
    def _tls_files_come_in_pairs(self) -> Self:
        if (self.tls_cert_file is None) != (self.tls_key_file is None):
            raise ValueError("--tls-cert-file and --tls-key-file must be given together")
        if self.tls_client_ca_file is not None and self.tls_cert_file is None:
            raise ValueError("--tls-client-ca-file (mutual TLS) needs --tls-cert-file and --tls-key-file")
        for name in ("tls_cert_file", "tls_key_file", "tls_client_ca_file"):
            path = getattr(self, name)
            if path is not None and not Path(path).is_file():
                raise ValueError(f"--{name.replace('_', '-')}: no such file: {path}")
        return self

    @property
    def max_message_bytes(self) -> int:
        return self.max_message_mb * MIB

    def loggable(self) -> dict[str, object]:
        """The settings as a dict for the start-up log; secrets show only whether they are set."""
        out: dict[str, object] = {}
        for key, value in self.model_dump().items():
            if isinstance(value, SecretStr):
                out[key] = "set" if value.get_secret_value() else "unset"
            elif isinstance(value, Path):
                out[key] = str(value)
            else:
                out[key] = value
        return out


def parse_settings(cls: type[S], argv: Sequence[str] | None = None, *, prog: str) -> S:
    """Builds `cls` from command-line flags (argv) and `MARQUEE_*` environment variables."""
    cls.model_config["cli_prog_name"] = prog
    return CliApp.run(cls, cli_args=list(argv) if argv is not None else None, cli_show_env_vars=True)
