"""What names a pruned-at-initialisation run in the store: the dense network is the seed's
plain run; each pruned one is named by the pruning settings, its density and its control.

Planning, training, reading and the tests all build identities here; ``tests/test_identities.py``
pins the ids they give.
"""

from __future__ import annotations

from typing import Any

from lthbench.methods.pai.params import SCORING, PaiParams

FIGURES = "pai-mask"
"""Figures kept with a pruned run: its density and per-layer densities (read without torch)."""


def pruned_extra(params: PaiParams, density: float, control: str | None = None) -> dict[str, Any]:
    """A pruned network's identity; random pruning does not depend on the criterion, so
    entries that differ only in it share their ``random`` runs."""
    identity = params.identity()
    if control == "random":
        identity = {k: v for k, v in identity.items() if k not in SCORING}
    extra: dict[str, Any] = {"pruned_at_init": identity, "density": density}
    if control is not None:
        extra["control"] = control
    return extra
