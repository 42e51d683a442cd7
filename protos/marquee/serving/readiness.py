"""Whether a server's model can take work, and why not when it can't."""

from __future__ import annotations

import enum

from marquee.serving.errors import Unavailable


class State(enum.Enum):
    LOADING = "loading"
    SERVING = "serving"
    FAILED = "failed"
    DRAINING = "draining"


class Readiness:
    """Shared by the bootstrap (which moves it) and servicers (which check it)."""

    def __init__(self) -> None:
        self.state = State.LOADING
        self.reason = "the model is loading"

    def set(self, state: State, reason: str = "") -> None:
        self.state = state
        self.reason = reason

    @property
    def serving(self) -> bool:
        return self.state is State.SERVING

    def require_serving(self) -> None:
        """Raises UNAVAILABLE, saying why, unless the model is loaded and the server not draining."""
        if self.state is State.SERVING:
            return
        if self.state is State.DRAINING:
            raise Unavailable("the server is shutting down; retry on another replica")
        if self.state is State.FAILED:
            raise Unavailable(f"the model failed to load: {self.reason}")
        raise Unavailable(f"not ready yet: {self.reason}; retry in a few seconds")
