"""The training's dropout: nn.Dropout's maths with bulk-drawn masks, seeded and resumable."""

from __future__ import annotations

import pytest
import torch

from recommender_server.training import dropout
from recommender_server.training.sasrec import SASRec, SASRecConfig


def test_drops_the_rate_and_scales_the_rest() -> None:
    dropout.seed(0)
    out = dropout.dropout(torch.ones(1_000_000), 0.1, training=True)
    dropped = (out == 0).float().mean().item()
    assert dropped == pytest.approx(0.1, abs=0.002)
    assert torch.allclose(out[out != 0], torch.tensor(1 / 0.9))


def test_gradient_flows_through_the_kept_elements_only() -> None:
    dropout.seed(1)
    x = torch.randn(64, 50, requires_grad=True)
    out = dropout.dropout(x, 0.3, training=True)
    out.sum().backward()
    assert x.grad is not None
    kept = out != 0
    assert torch.allclose(x.grad[kept], torch.tensor(1 / 0.7))
    assert torch.all(x.grad[~kept] == 0)


def test_evaluation_and_zero_rate_pass_the_input_through() -> None:
    x = torch.randn(8, 8)
    assert dropout.dropout(x, 0.5, training=False) is x
    assert dropout.dropout(x, 0.0, training=True) is x
    module = dropout.Dropout(0.5).eval()
    assert module(x) is x


def test_rejects_a_rate_outside_zero_to_one() -> None:
    with pytest.raises(ValueError, match="outside"):
        dropout.dropout(torch.ones(3), 1.0, training=True)


def test_seed_and_saved_state_replay_the_same_masks() -> None:
    dropout.seed(7)
    first = dropout.keep_mask(torch.Size([1000]), 0.2)
    state = dropout.get_state()
    second = dropout.keep_mask(torch.Size([1000]), 0.2)
    assert not torch.equal(first, second)
    dropout.set_state(state)
    assert torch.equal(dropout.keep_mask(torch.Size([1000]), 0.2), second)
    dropout.seed(7)
    assert torch.equal(dropout.keep_mask(torch.Size([1000]), 0.2), first)


def test_sasrec_training_forward_is_seeded_by_the_dropout_generator() -> None:
    torch.manual_seed(0)
    model = SASRec(SASRecConfig(num_items=20, maxlen=10, hidden=8, blocks=2, dropout=0.2)).train()
    items = torch.randint(1, 21, (4, 10))
    dropout.seed(3)
    a = model(items)
    dropout.seed(3)
    b = model(items)
    dropout.seed(4)
    c = model(items)
    assert torch.equal(a, b)
    assert not torch.equal(a, c)
