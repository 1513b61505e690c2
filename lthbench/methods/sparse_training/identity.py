"""What names a sparse-training run in the store: its update, layer densities and schedule,
and its density (the dense network is the seed's plain run). ``tests/test_identities.py`` pins
the ids."""

from __future__ import annotations

from typing import Any

from lthbench.methods.sparse_training.params import SparseTrainingParams, Update

FIGURES = "sparse-mask"
"""Figures kept with a sparse run: its final density and per-layer densities."""
MASK_SEED_OFFSET = 7
"""The initial mask's stream: seed · 1000 + 7 (every update at a density starts from it)."""
GROWTH_SEED_OFFSET = 2**30
"""SET's random growth and its new weights draw from seed + 2^30 + step: never an entry's
own seed."""


def sparse_extra(params: SparseTrainingParams, density: float, update: Update) -> dict[str, Any]:
    return {"sparse_training": params.identity(update), "density": density}
