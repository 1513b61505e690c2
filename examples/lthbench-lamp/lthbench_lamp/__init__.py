"""LAMP, the layer-adaptive magnitude-based pruning score (Lee, Park, Mo & Shin, "Layer-adaptive
Sparsity for the Magnitude-based Pruning", ICLR 2021), as an lthbench plugin.

Within a layer, sort the weights by magnitude, smallest first; weight u's score is

    w_u² / Σ_{v ≥ u} w_v²

its squared magnitude over the squared magnitudes of itself and every larger weight of its
layer. Pruning the lowest scores globally then chooses each layer's sparsity: a layer's largest
weight always scores 1, so no layer is emptied, and small layers are pruned less than global
magnitude pruning would prune them.

Installed, lthbench finds this module through the ``lthbench.plugins`` entry point: entries
name the criterion ``lamp`` (``method.params.criterion``), and the entries in ``entries/`` are
listed, run, checked and published beside the registry's.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from lthbench.prune.criteria import Criterion, Scores, register_criterion
from lthbench.spec.load import register_entries

__all__ = ["Lamp", "lamp_scores"]


def lamp_scores(weight: torch.Tensor) -> torch.Tensor:
    """LAMP scores of one layer's weights, shaped like it. Pruned weights (zero) score 0 and
    add nothing to any denominator, so the score is over the survivors, as in the paper."""
    squared = weight.detach().float().flatten().pow(2)
    order = torch.argsort(squared, stable=True)
    ascending = squared[order]
    # Σ_{v ≥ u}: the sum of this and every larger squared weight (a reversed cumulative sum)
    at_least = ascending.flip(0).cumsum(0).flip(0)
    scores = torch.empty_like(squared)
    scores[order] = ascending / at_least.clamp_min(torch.finfo(torch.float32).tiny)
    return scores.view_as(weight).cpu()


@register_criterion
class Lamp(Criterion):
    """LAMP scores; use it with ``scope: global`` (per layer it ranks as magnitude does)."""

    name = "lamp"

    def scores(self, weights: dict[str, torch.Tensor], *, seed: int = 0, **context: Any) -> Scores:
        return {name: lamp_scores(w) for name, w in weights.items()}


register_entries(Path(__file__).parent / "entries")
