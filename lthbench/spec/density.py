"""When a result's density stands for a claim's density: the one rule validation, claims and
pages share (so none of them can pair densities another would not)."""

from __future__ import annotations

DENSITY_MATCH = 1.25
"""A result stands for a claim's density when within this factor of it (the papers' points
fall between the rounds of a schedule); farther, the claim's result counts as missing."""
SAME_DENSITY = 1e-6
"""Two densities closer than this (relative) are the same density (a schedule's rounding)."""


def density_ratio(a: float, b: float) -> float:
    """How far apart two densities are, as a factor (≥ 1)."""
    return max(a / b, b / a)


def stands_for(density: float, claimed: float) -> bool:
    """Whether a result at ``density`` stands for a claim at ``claimed``."""
    return density_ratio(density, claimed) <= DENSITY_MATCH
