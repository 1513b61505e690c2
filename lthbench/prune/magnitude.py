"""Magnitude pruning (Frankle & Carbin) and the random masks of its controls.

Each step removes a fraction of the *surviving* weights, the smallest in magnitude: in each
layer by its own fraction (``layerwise``) or below one threshold over all layers (``global``).
Counts are rounded per step, so after k steps of 20% a layer keeps round(...round(0.8 n)...),
within a few weights of 0.8^k n. Ties in magnitude are broken by position, so pruning is
deterministic.
"""

from __future__ import annotations

import torch

from lthbench.prune.mask import Mask, layer_of


def _smallest(values: torch.Tensor, count: int) -> torch.Tensor:
    """Indices of the ``count`` smallest values; ties go to the lower index."""
    if count <= 0:
        return torch.empty(0, dtype=torch.long)
    order = torch.argsort(values, stable=True)
    return order[:count]


def prune_layerwise(
    weights: dict[str, torch.Tensor], mask: Mask, fractions: dict[str, float]
) -> Mask:
    """Remove ``fractions[name]`` of each layer's surviving weights, smallest |w| first.

    A layer whose bias is masked too ranks weight and bias together (one fraction, one
    ranking over both, as the MNIST-1D notebook's per-layer parameter vector does); a layer
    with its weight alone is pruned exactly as before."""
    layers: dict[str, list[str]] = {}
    for name in mask:
        layers.setdefault(layer_of(name), []).append(name)
    pruned: Mask = {}
    for names in layers.values():
        pruned.update(prune_global({n: weights[n] for n in names}, {n: mask[n] for n in names},
                                   fractions.get(names[0], 0.0)))  # fmt: skip
    return pruned


def prune_global(weights: dict[str, torch.Tensor], mask: Mask, fraction: float) -> Mask:
    """Remove ``fraction`` of all surviving weights below one magnitude threshold."""
    names = list(mask)
    survivors = [torch.nonzero(mask[n].flatten()).flatten() for n in names]
    magnitudes = torch.cat([
        weights[n].detach().flatten().abs().float().cpu()[s] for n, s in zip(names, survivors, strict=True)
    ])  # fmt: skip
    count = round(fraction * len(magnitudes))
    doomed = _smallest(magnitudes, count)
    owner = torch.cat([torch.full((len(s),), i) for i, s in enumerate(survivors)])
    offsets = torch.cat([torch.arange(len(s)) for s in survivors])
    pruned: Mask = {}
    for index, name in enumerate(names):
        flat_keep = mask[name].flatten().clone()
        mine = doomed[owner[doomed] == index]
        flat_keep[survivors[index][offsets[mine]]] = False
        pruned[name] = flat_keep.view_as(mask[name])
    return pruned


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
