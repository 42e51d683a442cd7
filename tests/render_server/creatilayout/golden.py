"""Where the CreatiLayout goldens live and how they are compared (tolerances from the fixture README §7)."""

from __future__ import annotations

import torch

from tests.paths import CREATILAYOUT_FIXTURES

TINY = CREATILAYOUT_FIXTURES / "tiny"


def max_abs_diff(actual: torch.Tensor, expected: torch.Tensor) -> float:
    return (actual.detach().float().cpu() - expected.float()).abs().max().item()


def assert_close(actual: torch.Tensor, expected: torch.Tensor, atol: float = 1e-4, rtol: float = 1e-4) -> None:
    assert tuple(actual.shape) == tuple(expected.shape), f"shape {tuple(actual.shape)} != {tuple(expected.shape)}"
    torch.testing.assert_close(actual.detach().float().cpu(), expected.float(), atol=atol, rtol=rtol)


def call_as_recorded(pipe, call: dict, output_type: str, **extra):
    """The reference's call: the golden's arguments and a fresh CPU generator seeded 0."""
    return pipe(
        call["prompt"],
        call["bbox_phrases"],
        call["bbox_raw"],
        height=call["height"],
        width=call["width"],
        num_inference_steps=call["num_inference_steps"],
        guidance_scale=call["guidance_scale"],
        generator=torch.Generator("cpu").manual_seed(0),
        output_type=output_type,
        **extra,
    )
