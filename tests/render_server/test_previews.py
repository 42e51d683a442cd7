"""Latent → RGB previews follow the published SD3 factors, on numpy and torch alike."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from render_server.previews import (
    SD3_LATENT_RGB_BIAS,
    SD3_LATENT_RGB_FACTORS,
    encode_preview,
    latent_to_rgb,
    preview_size,
    torch_latent_to_rgb,
)


def test_zero_latent_gives_the_bias_colour() -> None:
    rgb = latent_to_rgb(np.zeros((16, 2, 3), np.float32))
    assert rgb.shape == (2, 3, 3) and rgb.dtype == np.uint8
    expected = np.round((SD3_LATENT_RGB_BIAS + 1) * 127.5)
    assert (rgb == expected).all()


def test_each_channel_moves_colour_by_its_factor_row() -> None:
    for channel in (0, 2, 15):
        latent = np.zeros((16, 1, 1), np.float32)
        latent[channel] = 1.0
        expected = np.round((np.clip(SD3_LATENT_RGB_BIAS + SD3_LATENT_RGB_FACTORS[channel], -1, 1) + 1) * 127.5)
        assert (latent_to_rgb(latent)[0, 0] == expected).all()


def test_values_are_clamped_to_the_image_range() -> None:
    latent = np.zeros((16, 1, 2), np.float32)
    latent[2, 0, 0], latent[2, 0, 1] = 100.0, -100.0  # channel 2 has the largest red factor
    rgb = latent_to_rgb(latent)
    assert rgb[0, 0, 0] == 255 and rgb[0, 1, 0] == 0


def test_wrong_shape_is_refused() -> None:
    with pytest.raises(ValueError, match="16"):
        latent_to_rgb(np.zeros((4, 8, 8), np.float32))


def test_torch_path_matches_numpy() -> None:
    torch = pytest.importorskip("torch")
    latent = torch.randn(1, 16, 8, 12, generator=torch.Generator().manual_seed(0))
    assert (torch_latent_to_rgb(latent) == latent_to_rgb(latent[0].numpy())).all()


def test_preview_is_an_upscaled_jpeg_with_the_image_aspect() -> None:
    assert preview_size(1024, 512, 512) == (512, 256)
    assert preview_size(64, 96, 512) == (64, 96)  # never larger than the image
    jpeg, width, height = encode_preview(latent_to_rgb(np.zeros((16, 8, 12), np.float32)), 96, 64, 512)
    image = Image.open(io.BytesIO(jpeg))
    assert image.format == "JPEG" and image.size == (width, height) == (96, 64)
    # A full-size picture (the draft engine's canvas) is scaled down to the preview size.
    jpeg, width, height = encode_preview(Image.new("RGB", (1024, 768), (10, 200, 30)), 1024, 768, 256)
    assert Image.open(io.BytesIO(jpeg)).size == (width, height) == (256, 192)
