"""Channel masks by network slimming (Liu et al.), the masks Early-Bird tickets are drawn from.

Training adds an L1 penalty on every BatchNorm scale γ; at a pruning ratio p the mask keeps the
channels whose |γ| rank in the top (1 − p) over all BatchNorm layers together (one global
threshold). Ties are broken by position, so a mask is a function of the weights alone.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

ChannelMask = dict[str, torch.Tensor]

NORM_LAYERS = (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d)


def batchnorm_scales(model: nn.Module) -> dict[str, torch.Tensor]:
    """|γ| of every affine BatchNorm layer, by module name, in the model's order."""
    return {
        name: module.weight.detach().abs().float().cpu()
        for name, module in model.named_modules()
        if isinstance(module, NORM_LAYERS) and module.weight is not None
    }


def slimming_penalty(strength: float) -> Callable[[nn.Module], torch.Tensor]:
    """Loss term strength · Σ|γ| over all BatchNorm scales (network slimming's sparsity)."""

    def penalty(model: nn.Module) -> torch.Tensor:
        terms = [
            m.weight.abs().sum()
            for m in model.modules()
            if isinstance(m, NORM_LAYERS) and m.weight is not None
        ]
        return strength * torch.stack(terms).sum() if terms else torch.zeros(())

    return penalty


def channel_mask(scales: dict[str, torch.Tensor], ratio: float) -> ChannelMask:
    """Keep the channels whose |γ| is among the largest (1 − ratio) of all channels."""
    if not 0 <= ratio < 1:
        raise ValueError(f"pruning ratio {ratio} is not in [0, 1)")
    names = list(scales)
    flat = torch.cat([scales[n] for n in names])
    pruned = round(ratio * len(flat))
    order = torch.argsort(flat, stable=True)
    keep = torch.ones(len(flat), dtype=torch.bool)
    keep[order[:pruned]] = False
    mask: ChannelMask = {}
    start = 0
    for name in names:
        size = len(scales[name])
        mask[name] = keep[start : start + size].clone()
        start += size
    return mask


def flatten(mask: ChannelMask) -> torch.Tensor:
    return torch.cat([mask[name] for name in sorted(mask)])


def encode_mask(mask: ChannelMask) -> str:
    """A channel mask as '<channels>:<hex digits>' (compact enough for every epoch's log)."""
    bits = "".join("1" if keep else "0" for keep in flatten(mask).tolist())
    padded = bits + "0" * (-len(bits) % 4)
    return f"{len(bits)}:{int(padded, 2):0{len(padded) // 4}x}"


def decode_mask(text: str) -> torch.Tensor:
    """The flat channel mask :func:`encode_mask` wrote (as :func:`flatten` orders it)."""
    length, digits = text.split(":")
    bits = "".join(f"{int(d, 16):04b}" for d in digits)[: int(length)]
    return torch.tensor([c == "1" for c in bits], dtype=torch.bool)
