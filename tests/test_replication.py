"""The replication probability: calibrated on simulated replications, and carried by every
verdict; ``compare`` tells a fragile flip from a stable one."""

from __future__ import annotations

import math
import random

import pytest

from lthbench.claims.replication import (
    STABLE,
    comparison_outcomes,
    conjunction,
    for_all,
    in_regime,
    seeds_for_stable,
    within_outcomes,
)
from lthbench.claims.resolution import half_width, spread_of
from lthbench.report.compare import flip_row

BINS = [(0.0, 0.2), (0.2, 0.4), (0.4, 0.6), (0.6, 0.8), (0.8, 0.9), (0.9, 0.97), (0.97, 1.01)]
TOLERANCE = 0.05
"""Largest allowed |observed − predicted| same-verdict fraction in a bin (with ≥ 400 trials)."""


def _word(margin: float, spread: float, n: int, step: float) -> str:
    half = half_width(spread, n, step)
    return (
        "reproduced" if margin - half >= 0 else "refuted" if margin + half < 0 else "inconclusive"
    )


@pytest.mark.parametrize(("n", "step"), [(5, 0.0), (8, 0.001), (3, 0.0)])
def test_the_replication_probability_is_calibrated_on_simulated_replications(
    n: int, step: float
) -> None:
    """Claims whose true margins and spreads are unknown, drawn as the model's vague priors
    (margin uniform across all three verdicts, spread log-uniform over two decades); each
    trial draws a sample of n seeds, predicts P(same verdict), draws a replication of n fresh
    seeds and records whether its verdict agreed. In every bin of predictions the agreeing
    fraction is within TOLERANCE of the mean prediction."""
    rng = random.Random(0)
    trials: list[tuple[float, bool]] = []
    for _ in range(12_000):
        sigma = math.exp(rng.uniform(math.log(0.001), math.log(0.1)))
        mu = rng.uniform(-0.05, 0.05)
        first = [rng.gauss(mu, sigma) for _ in range(n)]
        again = [rng.gauss(mu, sigma) for _ in range(n)]
        m1, s1 = sum(first) / n, spread_of(first)
        m2, s2 = sum(again) / n, spread_of(again)
        word = _word(m1, s1, n, step)
        predicted = comparison_outcomes(m1, s1, n, step)[word]
        trials.append((predicted, _word(m2, s2, n, step) == word))
    checked = 0
    for low, high in BINS:
        inside = [same for p, same in trials if low <= p < high]
        if len(inside) < 400:
            continue
        checked += 1
        predicted = sum(p for p, _ in trials if low <= p < high) / len(inside)
        observed = sum(inside) / len(inside)
        assert abs(observed - predicted) <= TOLERANCE, (low, high, observed, predicted)
    assert checked >= 4


def test_outcomes_are_distributions_that_follow_the_margin() -> None:
    far = comparison_outcomes(0.05, 0.01, 5, 0.0)
    near = comparison_outcomes(0.012, 0.01, 5, 0.0)
    for outcome in (far, near, within_outcomes(0.5, (0.4, 0.6), 0.02, 5, 0.001)):
        assert sum(outcome.values()) == pytest.approx(1.0)
    assert far["reproduced"] > 0.95 and near["reproduced"] < STABLE
    # an exact metric on which every seed agrees replicates for certain
    assert comparison_outcomes(0.0, 0.0, 5, 0.0) == {"reproduced": 1.0}

    # more seeds make a borderline verdict stable; within a step, none can
    def near_at(n: int) -> float:
        return comparison_outcomes(0.012, 0.01, n, 0.0)["reproduced"]

    needed = seeds_for_stable(near_at)
    assert needed is not None and needed > 5
    assert near_at(needed) >= STABLE and near_at(needed - 1) < STABLE
    assert (
        seeds_for_stable(lambda n: comparison_outcomes(0.0009, 0.01, n, 0.001)["reproduced"])
        is None
    )

    # a 'within' claim near both bounds needs more seeds than its nearer bound alone says
    def inside_at(n: int) -> float:
        return within_outcomes(0.5, (0.48, 0.52), 0.02, n, 0.0)["reproduced"]

    def one_bound_at(n: int) -> float:
        return comparison_outcomes(0.02, 0.02, n, 0.0)["reproduced"]

    assert (seeds_for_stable(inside_at) or 0) > (seeds_for_stable(one_bound_at) or 0)


def test_composite_claims_combine_their_parts_as_independent_replications() -> None:
    sure, coin = {"reproduced": 1.0}, {"reproduced": 0.5, "inconclusive": 0.5}
    refuted_half = {"refuted": 0.5, "inconclusive": 0.5}
    assert conjunction(sure, [coin])["reproduced"] == pytest.approx(0.5)
    assert conjunction(sure, [refuted_half])["refuted"] == pytest.approx(0.5)
    assert in_regime(sure, [refuted_half])["not applicable"] == pytest.approx(0.5)
    assert in_regime(sure, [coin])["reproduced"] == pytest.approx(0.5)
    assert for_all([coin, coin])["reproduced"] == pytest.approx(0.25)
    assert for_all([sure, refuted_half])["refuted"] == pytest.approx(0.5)


@pytest.mark.parametrize(
    ("a", "a_fragile", "b", "b_fragile", "unexpected"),
    [
        ("reproduced", False, "inconclusive", False, True),  # both called it stable
        ("reproduced", True, "inconclusive", False, False),  # fragile on one side
        ("inconclusive", False, "refuted", True, False),
        ("reproduced", True, "refuted", True, True),  # reproduced ↔ refuted, whatever the flags
        ("reproduced", False, "reproduced", False, False),  # no flip
        ("reproduced", False, "missing", False, False),  # a run to do, not a flip
    ],
)
def test_compare_fails_only_on_a_stable_flip_or_reproduced_against_refuted(
    a: str, a_fragile: bool, b: str, b_fragile: bool, unexpected: bool
) -> None:
    assert flip_row(("e", "c"), a, a_fragile, b, b_fragile)["unexpected"] is unexpected
