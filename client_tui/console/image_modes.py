"""Which textual-image widget draws pictures. "auto" lets textual-image pick what the terminal
supports (sixel, kitty graphics, else coloured half-blocks — what tmux 3.3 gets); the others
force one. Import this before the app starts: textual-image asks the terminal at import time."""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, Self

from textual.widget import Widget

if TYPE_CHECKING:
    from textual.geometry import Region
    from textual_image.widget import BaseImage

MODES = ("auto", "halfcell", "unicode", "sixel", "tgp")


def image_widget_class(mode: str) -> type[BaseImage]:
    from textual_image import widget as images

    classes: dict[str, type[BaseImage]] = {
        "auto": images.Image,
        "halfcell": images.HalfcellImage,
        "unicode": images.UnicodeImage,
        "sixel": images.SixelImage,
        "tgp": images.TGPImage,
    }
    if mode not in classes:
        raise ValueError(f"image mode must be one of {', '.join(MODES)}, got {mode!r}")
    return classes[mode]


def cell_pixels(widget_class: type[Widget]) -> tuple[int, int]:
    """Pixels worth decoding per terminal cell for this widget class (half-blocks show 1x2)."""
    from textual_image.renderable.halfcell import Image as Halfcell
    from textual_image.renderable.unicode import Image as Unicode
    from textual_image.widget import get_cell_size

    renderable = getattr(widget_class, "_Renderable", None)
    if renderable in (Halfcell, Unicode):
        return 1, 2
    size = get_cell_size()
    return size.width, size.height


@cache
def steady_picture_class(base: type[BaseImage]) -> type[BaseImage]:
    """`base`, with one change for streamed frames: a new picture of the same pixel size only
    repaints the picture. textual-image re-lays out the whole screen on every new image, which
    costs more than drawing it and would hold keys up at preview frame rates."""

    class SteadyPicture(base, Renderable=base._Renderable):  # type: ignore[call-arg]  # mypy cannot see a run-time base
        _steady = False

        def show_frame(self, image: object) -> None:
            size = getattr(image, "size", None)
            self._steady = size is not None and size == (self._image_width, self._image_height)
            try:
                self.image = image
            finally:
                self._steady = False

        def refresh(
            self, *regions: Region, repaint: bool = True, layout: bool = False, recompose: bool = False
        ) -> Self:
            return super().refresh(*regions, repaint=repaint, layout=layout and not self._steady, recompose=recompose)

    SteadyPicture.__name__ = f"Steady{base.__name__}"
    return SteadyPicture
