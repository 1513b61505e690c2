"""The MNIST-1D paper's nets (Greydanus, 2020), registered into timm like the other papers'
nets (:mod:`lthbench.models.paper_nets`): its lottery-ticket MLP and its 1-D CNN."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import torch
from timm.models import register_model
from torch import nn

from lthbench.models.paper_nets import Classifier, build


class Mnist1dMLP(Classifier):
    """MNIST-1D paper's lottery-ticket MLP: 40-500-500-10, the second layer residual."""

    def __init__(self, input_size: Sequence[int], hidden: int, num_classes: int) -> None:
        super().__init__()
        self.fc1 = nn.Linear(math.prod(input_size), hidden)
        self.fc2 = nn.Linear(hidden, hidden)
        self.fc = nn.Linear(hidden, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = torch.relu(self.fc1(x.flatten(1)))
        h = h + torch.relu(self.fc2(h))
        return self.fc(h)


class Mnist1dCNN(Classifier):
    """The MNIST-1D paper's three-layer 1-D CNN, with BatchNorm after each convolution."""

    def __init__(self, input_size: Sequence[int], channels: int, num_classes: int) -> None:
        super().__init__()
        in_chans, length = input_size
        specs = [(in_chans, 5), (channels, 3), (channels, 3)]
        layers: list[nn.Module] = []
        for in_channels, kernel in specs:
            layers += [
                nn.Conv1d(in_channels, channels, kernel, stride=2, padding=1, bias=False),
                nn.BatchNorm1d(channels),
                nn.ReLU(),
            ]
            length = (length + 2 - kernel) // 2 + 1
        self.features = nn.Sequential(*layers)
        self.fc = nn.Linear(channels * length, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.features(x).flatten(1))


def _mnist1d_mlp(
    num_classes: int = 10, in_chans: int = 1, input_size: Sequence[int] = (1, 40), hidden: int = 500
) -> Mnist1dMLP:
    return Mnist1dMLP(input_size, hidden, num_classes)


def _mnist1d_cnn(
    num_classes: int = 10,
    in_chans: int = 1,
    input_size: Sequence[int] = (1, 40),
    channels: int = 25,
) -> Mnist1dCNN:
    return Mnist1dCNN(input_size, channels, num_classes)


@register_model
def mnist1d_mlp(pretrained: bool = False, **kwargs: Any) -> Mnist1dMLP:
    """MNIST-1D paper's MLP 40-500-500-10 with a residual second layer (276K weights)."""
    return build(_mnist1d_mlp, pretrained, kwargs)


@register_model
def mnist1d_cnn(pretrained: bool = False, **kwargs: Any) -> Mnist1dCNN:
    """MNIST-1D paper's 1-D CNN (3 conv layers, 25 channels) with BatchNorm."""
    return build(_mnist1d_cnn, pretrained, kwargs)
