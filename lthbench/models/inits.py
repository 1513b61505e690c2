"""The papers' and official codes' initialisations, by name where an entry may choose one.

An initialisation is part of what a paper's claim is about (θ0 is the ticket's origin), so each
follows the code the claim comes from and says which."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn


def glorot_gaussian(module: nn.Module) -> None:
    """Frankle & Carbin initialise weights with Gaussian Glorot (Xavier normal), biases 0."""
    for layer in module.modules():
        if isinstance(layer, (nn.Linear, nn.Conv1d, nn.Conv2d)):
            nn.init.xavier_normal_(layer.weight)
            if layer.bias is not None:
                nn.init.zeros_(layer.bias)


def _kaiming_bn(module: nn.Module) -> None:
    """He-normal convolutions and unit BN scales: the init of the CIFAR ResNet/VGG codebases."""
    for layer in module.modules():
        if isinstance(layer, (nn.Conv2d, nn.Linear)):
            nn.init.kaiming_normal_(layer.weight)
            if layer.bias is not None:
                nn.init.zeros_(layer.bias)
        elif isinstance(layer, (nn.BatchNorm1d, nn.BatchNorm2d)):
            nn.init.ones_(layer.weight)
            nn.init.zeros_(layer.bias)


def _open_lth_init(module: nn.Module) -> None:
    """open_lth's defaults for its CIFAR ResNets and VGGs (``model_init='kaiming_normal'``,
    ``batchnorm_init='uniform'``): He-normal weights of convolutions and linear layers (biases
    keep PyTorch's init), BatchNorm scales uniform in [0, 1) and shifts 0."""
    for layer in module.modules():
        if isinstance(layer, (nn.Conv2d, nn.Linear)):
            nn.init.kaiming_normal_(layer.weight)
        elif isinstance(layer, nn.BatchNorm2d):
            with torch.no_grad():
                layer.weight.copy_(torch.rand(layer.weight.shape))
            nn.init.zeros_(layer.bias)


def slimming_init(module: nn.Module, normal_linear: bool = True) -> None:
    """The Early-Bird code's (network slimming's) VGG and PreResNet init: convolutions
    N(0, 2 / (k² · out_channels)) (He-normal over fan-out), BatchNorm scales 0.5 and shifts 0;
    the VGG's classifier N(0, 0.01) with bias 0 (``normal_linear``), the PreResNet's left at
    PyTorch's default."""
    for layer in module.modules():
        if isinstance(layer, nn.Conv2d):
            nn.init.kaiming_normal_(layer.weight, mode="fan_out")
            if layer.bias is not None:
                nn.init.zeros_(layer.bias)
        elif isinstance(layer, nn.BatchNorm2d):
            nn.init.constant_(layer.weight, 0.5)
            nn.init.zeros_(layer.bias)
        elif isinstance(layer, nn.Linear) and normal_linear:
            nn.init.normal_(layer.weight, 0.0, 0.01)
            nn.init.zeros_(layer.bias)


INITS: dict[str, Callable[[nn.Module], None]] = {
    "open_lth": _open_lth_init,
    "slimming": slimming_init,
    "kaiming": _kaiming_bn,
}
"""Initialisations of the CIFAR ResNets and VGGs by name (model kwarg ``init``)."""


def initialise(module: nn.Module, init: str) -> None:
    if init not in INITS:
        raise ValueError(f"init must be one of {sorted(INITS)}, got {init!r}")
    INITS[init](module)
