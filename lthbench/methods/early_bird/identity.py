"""What names an Early-Bird run in the store: the search, and per ratio EB-Train and each
baseline (the dense run is the seed's plain run), with the names of the figures they keep.

Planning, training, reading and the tests all build identities here; ``tests/test_identities.py``
pins the ids they give.
"""

from __future__ import annotations

from typing import Any

from lthbench.methods.early_bird.params import EarlyBirdParams

DENSE_COSTS = "costs-early-bird-dense"
"""Figures kept with the dense run: its per-step training FLOPs, inference FLOPs, parameters."""
SLIM_COSTS = "slim"
"""Figures kept with a slim run: the same for the slimmed network, and its channel density."""
DETECTION = "early-bird-detection"
"""Figures kept with the search run: per ratio, the draw, the distance matrix, the detector's
cost (computed from the search's mask log once it is complete)."""


def eb_trains(draw: int | None, total: int) -> bool:
    """Whether EB-Train has steps to take: a ticket drawn at the budget's last evaluation has
    none left (the search was the whole training), so it has no EB-Train run."""
    return draw is not None and draw < total


def search_extra(params: EarlyBirdParams) -> dict[str, Any]:
    """The search: dense training with the slimming penalty, logging channel masks."""
    extra: dict[str, Any] = {"early_bird_search": params.search_identity()}
    if not params.full_search:
        extra["stops_at_draw"] = True
    return extra


def slim_extra(params: EarlyBirdParams, ratio: float, phase: str) -> dict[str, Any]:
    """A slim network at ``ratio``: EB-Train (``phase`` 'eb_train') or a baseline."""
    extra: dict[str, Any] = {"early_bird": params.search_identity(), "ratio": ratio,
                             "phase": phase}  # fmt: skip
    if phase == "network_slimming" and params.finetune is not None:
        extra["finetune"] = str(params.finetune)
    if params.penalised(phase):
        extra["retrain_penalty"] = params.sparsity
    return extra
