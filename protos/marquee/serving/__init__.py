"""The shared server bootstrap: see `marquee.serving.server`."""

from marquee.serving.errors import (
    MESSAGE_LIMIT,
    Cancelled,
    DeadlineExceeded,
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    ResourceExhausted,
    ServiceError,
    Unavailable,
    shorten,
)
from marquee.serving.readiness import Readiness, State
from marquee.serving.server import ModelService, ServerHandle, run, serve
from marquee.serving.settings import ServerSettings, parse_settings

__all__ = [
    "MESSAGE_LIMIT",
    "Cancelled",
    "DeadlineExceeded",
    "FailedPrecondition",
    "InvalidArgument",
    "ModelService",
    "NotFound",
    "Readiness",
    "ResourceExhausted",
    "ServerHandle",
    "ServerSettings",
    "ServiceError",
    "State",
    "Unavailable",
    "parse_settings",
    "run",
    "serve",
    "shorten",
]
