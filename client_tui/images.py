"""Images as they travel (`marquee.v1.EncodedImage`: PNG or JPEG bytes) and as they are shown."""

from __future__ import annotations

import io

from PIL import Image, UnidentifiedImageError

from marquee.v1 import common_pb2

ACCEPTED_MEDIA_TYPES = ("image/png", "image/jpeg")


class ImageError(ValueError):
    """Bytes that are not an image the client accepts."""


def decode(encoded: common_pb2.EncodedImage) -> Image.Image | None:
    """The decoded image, or None when the message carries none."""
    if not encoded.data:
        return None
    return decode_bytes(encoded.data)


def decode_bytes(data: bytes) -> Image.Image:
    try:
        image = Image.open(io.BytesIO(data))
        image.load()
    except (UnidentifiedImageError, OSError) as exc:
        raise ImageError(f"not a PNG or JPEG image ({len(data)} bytes): {exc}") from exc
    if image.format not in ("PNG", "JPEG"):
        raise ImageError(f"unexpected image format {image.format}; expected PNG or JPEG")
    return image.convert("RGB") if image.mode not in ("RGB", "RGBA", "L") else image


def png_bytes(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def thumbnail(image: Image.Image, max_width: int, max_height: int) -> Image.Image:
    """A copy no larger than the box, aspect kept (what a terminal cell grid can show anyway)."""
    copy = image.convert("RGB")
    copy.thumbnail((max(1, max_width), max(1, max_height)), Image.Resampling.BILINEAR)
    return copy
