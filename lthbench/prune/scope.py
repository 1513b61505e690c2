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


def _lowest(values: torch.Tensor, count: int) -> torch.Tensor:
    """Indices of the ``count`` lowest values; ties go to the lower index."""
    if count <= 0:
        return torch.empty(0, dtype=torch.long)
    return torch.argsort(values, stable=True)[:count]


def remove_global(scores: Scores, mask: Mask, fraction: float) -> Mask:
    """Remove ``fraction`` of all surviving weights below one score threshold."""
    names = list(mask)
    survivors = [torch.nonzero(mask[n].flatten()).flatten() for n in names]
    values = torch.cat(
        [scores[n].flatten().float().cpu()[s] for n, s in zip(names, survivors, strict=True)]
    )
    doomed = _lowest(values, round(fraction * len(values)))
    owner = torch.cat([torch.full((len(s),), i) for i, s in enumerate(survivors)])
    offsets = torch.cat([torch.arange(len(s)) for s in survivors])
    pruned: Mask = {}
    for index, name in enumerate(names):
        flat_keep = mask[name].flatten().clone()
        mine = doomed[owner[doomed] == index]
        flat_keep[survivors[index][offsets[mine]]] = False
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
