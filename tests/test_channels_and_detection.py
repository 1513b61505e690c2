"""Early-Bird building blocks: slimming channel masks, Hamming distance, the FIFO/ε rule."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from lthbench.prune.channels import batchnorm_scales, channel_mask, flatten, slimming_penalty
from lthbench.prune.distance import EarlyBirdDetector, hamming


def test_hamming_on_hand_made_masks() -> None:
    a = torch.tensor([True, True, False, False])
    assert hamming(a, a) == 0.0
    assert hamming(a, ~a) == 1.0
    assert hamming(a, torch.tensor([True, False, False, True])) == 0.5
    with pytest.raises(ValueError):
        hamming(a, torch.tensor([True]))


def _mask(bits: str) -> torch.Tensor:
    return torch.tensor([b == "1" for b in bits])


def test_fifo_epsilon_rule_on_a_scripted_sequence() -> None:
    detector = EarlyBirdDetector(window=3, epsilon=0.25)
    script = ["00001111", "11001100", "11101000", "11101000", "11100100", "11101000", "00001111"]
    drawn = [detector.update(_mask(m)) for m in script]
    # epoch 2: newest vs epoch 0 differs in 6 of 8 → no
    # epoch 3: queue [11001100, 11101000, 11101000]: distances 0.25 (not < 0.25) and 0 → no
    # epoch 4: queue [11101000, 11101000, 11100100]: distances 0.25, 0.25 → no
    # epoch 5: queue [11101000, 11100100, 11101000]: distances 0, 0.25 → no
    assert drawn == [False] * 7
    detector = EarlyBirdDetector(window=3, epsilon=0.3)
    drawn = [detector.update(_mask(m)) for m in script]
    assert drawn == [False, False, False, True, False, False, False]  # drawn once, at epoch 3
    assert detector.draw_index == 3
    matrix = detector.distance_matrix()
    assert len(matrix) == 7 and matrix[0][0] == 0.0 and matrix[0][2] == 0.75
    assert all(matrix[i][j] == matrix[j][i] for i in range(7) for j in range(7))


def test_no_draw_before_the_queue_is_full() -> None:
    detector = EarlyBirdDetector(window=5, epsilon=0.1)
    assert [detector.update(_mask("1010")) for _ in range(5)] == [False] * 4 + [True]


def test_channel_mask_uses_one_global_threshold() -> None:
    scales = {"bn1": torch.tensor([0.9, 0.1, 0.5]), "bn2": torch.tensor([0.2, 0.8, 0.05, 0.7])}
    mask = channel_mask(
        scales, 0.5
    )  # prune round(3.5) = 4 (Python rounds half to even) → 0.05, 0.1, 0.2, 0.5
    assert mask["bn1"].tolist() == [True, False, False]
    assert mask["bn2"].tolist() == [False, True, False, True]
    assert flatten(mask).sum() == 3
    assert channel_mask(scales, 0.0)["bn1"].all()


def test_scales_and_penalty_cover_every_batchnorm() -> None:
    model = nn.Sequential(
        nn.Conv2d(1, 4, 3), nn.BatchNorm2d(4), nn.ReLU(), nn.Conv2d(4, 6, 3), nn.BatchNorm2d(6)
    )
    with torch.no_grad():
        model[1].weight.fill_(-0.5)
        model[4].weight.fill_(2.0)
    scales = batchnorm_scales(model)
    assert list(scales) == ["1", "4"] and scales["1"].tolist() == [0.5] * 4
    assert slimming_penalty(1e-4)(model).item() == pytest.approx(1e-4 * (4 * 0.5 + 6 * 2.0))
