"""Cheap previews: the predicted clean latent projected to RGB without the VAE, then JPEG.

The projection is the linear SD3 latent-to-RGB map published by ComfyUI (16 latent channels to
R, G, B plus a bias; fixture README §9). It works on the pipeline's scaled latent space and costs
well under a millisecond, so a preview every few steps is nearly free, unlike decoding with the
VAE as the seed did.
"""

from __future__ import annotations

import io
from typing import Any

import numpy as np
from PIL import Image

# fmt: off
SD3_LATENT_RGB_FACTORS = np.array([
    [-0.0922, -0.0175,  0.0749],
    [ 0.0311,  0.0633,  0.0954],
    [ 0.1994,  0.0927,  0.0458],
    [ 0.0856,  0.0339,  0.0902],
    [ 0.0587,  0.0272, -0.0496],
    [-0.0006,  0.1104,  0.0309],
    [ 0.0978,  0.0306,  0.0427],
    [-0.0042,  0.1038,  0.1358],
    [-0.0194,  0.0020,  0.0669],
    [-0.0488,  0.0130, -0.0268],
    [ 0.0922,  0.0988,  0.0951],
    [-0.0278,  0.0524, -0.0542],
    [ 0.0332,  0.0456,  0.0895],
    [-0.0069, -0.0030, -0.0810],
    [-0.0596, -0.0465, -0.0293],
    [-0.1448, -0.1463, -0.1189],
], dtype=np.float32)
# fmt: on
SD3_LATENT_RGB_BIAS = np.array([0.2394, 0.2135, 0.1925], dtype=np.float32)
LATENT_CHANNELS = SD3_LATENT_RGB_FACTORS.shape[0]
JPEG_QUALITY = 80


def latent_to_rgb(latent: np.ndarray) -> np.ndarray:
    """[16, h, w] scaled latent → [h, w, 3] uint8 (one pixel per latent cell)."""
    if latent.ndim != 3 or latent.shape[0] != LATENT_CHANNELS:
        raise ValueError(f"expected a [{LATENT_CHANNELS}, h, w] latent, got shape {latent.shape}")
    rgb = np.tensordot(latent.astype(np.float32, copy=False), SD3_LATENT_RGB_FACTORS, axes=([0], [0]))
    rgb += SD3_LATENT_RGB_BIAS
    np.clip(rgb, -1.0, 1.0, out=rgb)
    return ((rgb + 1.0) * 127.5).round().astype(np.uint8)


def torch_latent_to_rgb(latent: Any) -> np.ndarray:
    """The same for a torch tensor [1 or B, 16, h, w] on any device: the projection runs where the
    latent lives, so only the small RGB array crosses to the host."""
    import torch

    sample = latent[0].detach()
    factors = torch.from_numpy(SD3_LATENT_RGB_FACTORS).to(sample.device, torch.float32)
    bias = torch.from_numpy(SD3_LATENT_RGB_BIAS).to(sample.device, torch.float32)
    rgb = torch.einsum("chw,cr->hwr", sample.float(), factors) + bias
    rgb = ((rgb.clamp(-1.0, 1.0) + 1.0) * 127.5).round().to(torch.uint8)
    return rgb.cpu().numpy()


def preview_size(width: int, height: int, max_side: int) -> tuple[int, int]:
    """The image's aspect ratio, no larger than the image or `max_side` on its longer side."""
    scale = min(1.0, max_side / max(width, height))
    return max(1, round(width * scale)), max(1, round(height * scale))


def encode_jpeg(image: Image.Image, quality: int = JPEG_QUALITY) -> bytes:
    buffer = io.BytesIO()
    image.convert("RGB").save(buffer, format="JPEG", quality=quality)
    return buffer.getvalue()


def encode_png(image: Image.Image, compress_level: int = 3) -> bytes:
    """PNG at a moderate compression level: level 6+ costs several times longer for a few percent."""
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", compress_level=compress_level)
    return buffer.getvalue()


def encode_preview(picture: np.ndarray | Image.Image, width: int, height: int, max_side: int) -> tuple[bytes, int, int]:
    """A picture of the image in the making (an [h, w, 3] uint8 array at any resolution, or a PIL
    image) scaled to the preview size of a `width` × `height` image; (JPEG bytes, width, height)."""
    image = picture if isinstance(picture, Image.Image) else Image.fromarray(picture)
    size = preview_size(width, height, max_side)
    if image.size != size:
        image = image.resize(size, Image.Resampling.BILINEAR)
    return encode_jpeg(image), size[0], size[1]
