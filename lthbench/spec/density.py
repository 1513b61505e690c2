"""When a result's density stands for a claim's density: the one rule validation, claims and
pages share (so none of them can pair densities another would not)."""

from __future__ import annotations

DENSITY_MATCH = 1.25
"""A result stands for a claim's density when within this factor of it (the papers' points
fall between the rounds of a schedule); farther, the claim's result counts as missing."""
SAME_DENSITY = 1e-3
"""Two densities closer than this (relative) are the same density: methods that round each
layer's count to whole weights differently (gradual pruning's round(d · n) per layer, ERK's
budget) land up to half a weight per layer apart, under a thousandth of the kept weights
wherever each layer keeps over 500 (9% of the 96-channel MNIST-1D CNN: GMP 0.089986, RigL
0.090003)."""


def density_ratio(a: float, b: float) -> float:
    """How far apart two densities are, as a factor (≥ 1)."""
    return max(a / b, b / a)


def stands_for(density: float, claimed: float) -> bool:
    """Whether a result at ``density`` stands for a claim at ``claimed``."""
    return density_ratio(density, claimed) <= DENSITY_MATCH
