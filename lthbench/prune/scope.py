"""Scopes: turn per-weight scores into masks by removing the lowest-scoring survivors.

Each step removes a fraction of the *surviving* weights: in each layer by its own fraction
(``layerwise``) or below one threshold over all layers (``global``). Counts are rounded per
step, so after k steps of 20% a layer keeps round(...round(0.8 n)...), within a few weights of
0.8^k n. Ties in score are broken by position (the lower index goes first), so pruning is
deterministic. A layer whose bias is masked too ranks weight and bias together (one
fraction, one ranking over both, as the MNIST-1D notebook's per-layer parameter vector does).
"""

from __future__ import annotations

import torch

from lthbench.prune.criteria import Scores
from lthbench.prune.mask import Mask, layer_of


def lowest(values: torch.Tensor, count: int) -> torch.Tensor:
    """Indices of the ``count`` lowest values, ties going to the lower index (the set a stable
    sort would put first), found by selection rather than a sort: linear time, which matters
    at VGG-19's 20M weights."""
    if count <= 0:
        return torch.empty(0, dtype=torch.long)
    if count >= len(values):
        return torch.arange(len(values))
    threshold = values.kthvalue(count).values
    below = torch.nonzero(values < threshold).flatten()
    tied = torch.nonzero(values == threshold).flatten()[: count - len(below)]
    return torch.cat([below, tied])


def remove_global(scores: Scores, mask: Mask, fraction: float) -> Mask:
    """Remove ``fraction`` of all surviving weights below one score threshold."""
    names = list(mask)
    survivors = [torch.nonzero(mask[n].flatten()).flatten() for n in names]
    values = torch.cat(
        [scores[n].flatten().float().cpu()[s] for n, s in zip(names, survivors, strict=True)]
    )
    kept = torch.ones(len(values), dtype=torch.bool)
    kept[lowest(values, round(fraction * len(values)))] = False
    pruned: Mask = {}
    pieces = kept.split([len(s) for s in survivors])
    for name, alive, piece in zip(names, survivors, pieces, strict=True):
        flat_keep = mask[name].flatten().clone()
        flat_keep[alive] = piece
        pruned[name] = flat_keep.view_as(mask[name])
    return pruned


def remove_layerwise(scores: Scores, mask: Mask, fractions: dict[str, float]) -> Mask:
    """Remove ``fractions[name]`` of each layer's surviving weights, lowest scores first."""
    layers: dict[str, list[str]] = {}
    for name in mask:
        layers.setdefault(layer_of(name), []).append(name)
    pruned: Mask = {}
    for names in layers.values():
        pruned.update(remove_global({n: scores[n] for n in names}, {n: mask[n] for n in names},
                                    fractions.get(names[0], 0.0)))  # fmt: skip
    return pruned
