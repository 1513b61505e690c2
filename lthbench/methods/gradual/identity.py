"""What names a gradually pruned run in the store: the schedule and its final density (the
dense network is the seed's plain run). ``tests/test_identities.py`` pins the ids."""

from __future__ import annotations

from typing import Any

from lthbench.methods.gradual.params import GradualParams

FIGURES = "gradual-mask"
"""Figures kept with a pruned run: its final density and per-layer densities."""


def pruned_extra(params: GradualParams, density: float) -> dict[str, Any]:
    return {"gradual": params.identity(), "density": density}
