"""Magnitude pruning (Frankle & Carbin) and the random masks of its controls: the magnitude
criterion under a layer-wise or global scope (:mod:`lthbench.prune.scope`)."""

from __future__ import annotations

import torch

from lthbench.prune.criteria import CRITERIA
from lthbench.prune.mask import Mask
from lthbench.prune.scope import remove_global, remove_layerwise


def prune_layerwise(
    weights: dict[str, torch.Tensor], mask: Mask, fractions: dict[str, float]
) -> Mask:
    """Remove ``fractions[name]`` of each layer's surviving weights, smallest |w| first."""
    return remove_layerwise(CRITERIA["magnitude"].scores(weights), mask, fractions)


def prune_global(weights: dict[str, torch.Tensor], mask: Mask, fraction: float) -> Mask:
    """Remove ``fraction`` of all surviving weights below one magnitude threshold."""
    return remove_global(CRITERIA["magnitude"].scores(weights), mask, fraction)


def random_mask_like(mask: Mask, generator: torch.Generator) -> Mask:
    """A uniformly random mask with exactly the same number of kept weights in every layer."""
    random: Mask = {}
    for name, keep in mask.items():
        kept = int(keep.sum())
        chosen = torch.randperm(keep.numel(), generator=generator)[:kept]
        flat = torch.zeros(keep.numel(), dtype=torch.bool)
        flat[chosen] = True
        random[name] = flat.view_as(keep)
    return random
