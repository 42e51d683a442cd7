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
