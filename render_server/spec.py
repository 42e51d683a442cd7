"""A validated render job (`RenderSpec`) and its layout boxes: what every engine renders.

`render_server.validation` makes one from a `RenderRequest`, filling in every default."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class LayoutObject:
    phrase: str
    #: Normalised (x1, y1, x2, y2), origin top-left.
    box: tuple[float, float, float, float]


@dataclass(frozen=True)
class RenderSpec:
    """A validated render job: every value is set and within limits."""

    prompt: str
    objects: tuple[LayoutObject, ...]
    steps: int
    guidance: float
    width: int
    height: int
    seed: int
    preview_interval: int
    title: str = ""
    mood: str = ""
    genres: tuple[str, ...] = ()
    negative_prompt: str = ""
