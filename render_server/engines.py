"""What a render engine is to the server: it loads, warms up, and renders one `RenderSpec` at a
time in a worker thread, reporting through a `JobControl` and stopping when asked; and
`make_engine`, which picks the engine the settings ask for.

Engines are synchronous (torch code); the job queue runs them off the event loop.
"""

from __future__ import annotations

import abc
import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

import numpy as np
from PIL import Image

from marquee.layout_drawing import Rect
from marquee.serving.structured_logs import register_secret
from render_server.spec import RenderSpec

if TYPE_CHECKING:
    from render_server.config import RenderSettings

#: Progress stages (RenderResponse.progress.stage).
ENCODING = "encoding"
DENOISING = "denoising"
DECODING = "decoding"
COMPOSING = "composing"


class JobCancelled(Exception):
    """The engine stopped early because the job's control asked it to."""


class JobControl(Protocol):
    """An engine's view of its job, safe to use from the worker thread."""

    @property
    def stop_requested(self) -> bool:
        """True once the client left, the deadline passed or the server is draining."""

    def progress(self, step: int, total: int, stage: str) -> None:
        """Reports that `step` of `total` is done (0 before the first)."""

    def wants_preview(self, step: int) -> bool:
        """Whether a preview is due after `step`; engines skip the work otherwise."""

    def preview(self, step: int, picture: np.ndarray | Image.Image) -> None:
        """Publishes a picture of the image after `step`: an [h, w, 3] uint8 array or a PIL image
        at any resolution, which the engine must not change afterwards. Scaling and JPEG encoding
        happen on another thread, so the engine's loop pays only for making the picture."""


@dataclass
class EngineOutput:
    image: Image.Image
    #: Steps (or layers, for the draft engine) that ran.
    steps: int
    #: Steps that ran with the layout branch on (0 for the draft engine).
    layout_steps: int
    #: Areas the picture keeps clear of box labels (the draft's title, genre line and frame). The
    #: layout drawn over the picture places its labels with the same areas kept clear, so labels
    #: the picture already shows land exactly on themselves instead of appearing twice.
    label_keep_clear: Sequence[Rect] = ()


class Engine(abc.ABC):
    """One way to render a layout."""

    #: "creatilayout" or "draft": every result names it.
    name: str = ""
    #: What a person must know about every picture this engine makes (DescribeEngine); empty
    #: for an engine that does what a request asks.
    engine_notice: str = ""

    def __init__(self) -> None:
        #: The model id or path (empty when there is no model).
        self.model = ""
        self.device = "cpu"
        self.max_boxes = 10
        #: The largest width or height the loaded model can render, in pixels; None when only
        #: the server's --max-size limits it. Set by `load`.
        self.max_size: int | None = None

    def describe_loading(self) -> str:
        """What `load` is about to do, for the not-ready reason and the logs."""
        return f"loading the {self.name} engine"

    @abc.abstractmethod
    def load(self) -> None:
        """Loads weights (blocking; called in a worker thread)."""

    def warm_up(self, control: JobControl) -> None:
        """Renders something tiny so the first real job does not pay one-time costs."""

    @abc.abstractmethod
    def render(self, spec: RenderSpec, control: JobControl) -> EngineOutput:
        """Renders `spec`; raises `JobCancelled` when `control.stop_requested` turns true."""

    def result_notice(self, spec: RenderSpec, steps_done: int) -> str:
        """What a person must know about this result (RenderMetadata.notice), e.g. that the steps
        asked for were not run; empty when the result is what was asked."""
        return ""

    def steps_for(self, spec: RenderSpec) -> int:
        """How many progress steps `spec` will report (for time estimates)."""
        return spec.steps

    def close(self) -> None:
        """Releases the model."""


def make_engine(settings: RenderSettings) -> Engine:
    """The engine the settings ask for (nothing heavy happens until `load`). Both engines are
    imported here, where they are chosen: each imports this module for the interface."""
    if settings.engine_name == "draft":
        from render_server.draft_engine import DraftEngine

        return DraftEngine()
    from render_server.creatilayout_engine import CreatiLayoutEngine

    # The loader reads the token itself; registering it masks it by value in every log line, in
    # case a hub error message ever quotes it.
    register_secret(os.environ.get("HF_TOKEN"))
    return CreatiLayoutEngine(
        settings.model,
        base_model=settings.base_model,
        device=settings.device,
        dtype=settings.dtype,
        torch_threads=settings.torch_threads,
        compile_mode=settings.compile,
        negative_prompt_cache=settings.negative_prompt_cache,
        first_block_cache=settings.first_block_cache,
        warm_up_size=settings.default_size,
    )
