"""How likely a verdict is to come out the same when the claim is checked again.

A replication is the same claim on n fresh seeds, or on the same seeds on another machine,
whose kernels round differently: training grows the difference, so the other machine's
numbers act as a fresh sample of the seeds (measured: every run's numbers differ between two
CPUs, and verdicts near their boundary flip). The model is the predictive distribution of a
replication's mean margin given this one's (a flat prior on the true margin, the seeds'
standard deviation σ with the Jeffreys prior): with n seeds on both sides, given σ,

    margin' ~ Normal(margin, 2σ² / n),

and the replication's own spread s' ~ σ·sqrt(χ²(n − 1)/(n − 1)) sets its interval's
half-width, σ integrated over its posterior given the observed spread (floored, like the rule,
at the grid's rounding noise). The replication's verdict follows the same rule as this one's
(its interval, widened by one step, against the boundary), which gives the probability of
each word, and the
*replication probability* is that of this verdict's word. Claims built of others (``given``,
preconditions, ``for_all``) combine their parts' distributions as independent replications.

It is conservative for a rerun of the same seeds elsewhere (that sample is correlated with
this one, a fresh sample is not) and exact in distribution for fresh seeds when the seeds'
results are normal; a calibration test checks it on simulated replications. A verdict whose
replication probability is below STABLE is *fragile*: another machine may well say otherwise.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from typing import Any

from lthbench.claims.resolution import MAX_SEEDS_ESTIMATE, QUANTISATION_SD, half_width

STABLE = 0.8
"""A verdict whose replication probability is below this is fragile."""
Outcomes = dict[str, float]
"""A replication's verdict distribution: word → probability."""


SPREAD_POINTS = 16
"""Quantiles over which the unknown standard deviation and the replication's own spread are
averaged (SPREAD_POINTS² pairs)."""


def _scenarios(spread: float, n: int, step: float) -> tuple[Any, Any]:
    """Equally likely (σ, replication half-width) pairs: σ from its posterior given the
    observed spread (Jeffreys prior: (n − 1)s²/σ² ~ χ²(n − 1)), and for each σ the
    replication's spread s' = σ·sqrt(χ²(n − 1)/(n − 1)), which sets its half-width."""
    import numpy as np
    from scipy.special import chdtri

    from lthbench.claims.resolution import t_quantile

    floor = step * QUANTISATION_SD
    chi = chdtri(n - 1, (np.arange(SPREAD_POINTS) + 0.5) / SPREAD_POINTS) / (n - 1)
    sigma = np.maximum(max(spread, floor) / np.sqrt(chi), floor)[:, None]
    again = np.maximum(sigma * np.sqrt(chi)[None, :], floor)
    half = t_quantile(n) * again / math.sqrt(n) + step
    return sigma, half


def comparison_outcomes(margin: float, spread: float, n: int, step: float,
                        strict: bool = False) -> Outcomes:  # fmt: skip
    """The predicted verdict of a replication of a comparison (margin > 0 satisfies it)
    with ``n`` seeds on each side."""
    from scipy.special import ndtr

    if max(spread, step * QUANTISATION_SD) == 0:  # exact, and the seeds agree: so will these
        half = half_width(spread, n, step)
        satisfied = margin - half > 0 or (not strict and margin - half >= 0)
        violated = margin + half < 0 or (strict and margin + half <= 0)
        word = "reproduced" if satisfied else "refuted" if violated else "inconclusive"
        return {word: 1.0}
    sigma, half = _scenarios(spread, n, step)
    scale = sigma * math.sqrt(2 / n)
    reproduced = float((1 - ndtr((half - margin) / scale)).mean())
    refuted = float(ndtr((-half - margin) / scale).mean())
    return {"reproduced": reproduced, "refuted": refuted,
            "inconclusive": max(0.0, 1 - reproduced - refuted)}  # fmt: skip


def within_outcomes(mean: float, bounds: tuple[float, float], spread: float, n: int,
                    step: float) -> Outcomes:  # fmt: skip
    """The predicted verdict of a replication of a 'within [low, high]' claim."""
    from scipy.special import ndtr

    low, high = bounds
    if max(spread, step * QUANTISATION_SD) == 0:
        half = half_width(spread, n, step)
        word = ("reproduced" if low + half <= mean <= high - half
                else "refuted" if mean < low - half or mean > high + half else "inconclusive")  # fmt: skip
        return {word: 1.0}
    sigma, half = _scenarios(spread, n, step)
    scale = sigma * math.sqrt(2 / n)

    def below(x: Any) -> Any:
        return ndtr((x - mean) / scale)

    reproduced = float((below(high - half) - below(low + half)).clip(min=0).mean())
    refuted = float((below(low - half) + 1 - below(high + half)).mean())
    return {"reproduced": reproduced, "refuted": refuted,
            "inconclusive": max(0.0, 1 - reproduced - refuted)}  # fmt: skip


def certain(word: str) -> Outcomes:
    return {word: 1.0}


def guarded(outcomes: Outcomes) -> Outcomes:
    """A collapse recurs in a replication of the same claim: it cannot reproduce it."""
    out = dict(outcomes)
    out["inconclusive"] = out.get("inconclusive", 0.0) + out.pop("reproduced", 0.0)
    return out


def in_regime(own: Outcomes, preconditions: Iterable[Outcomes]) -> Outcomes:
    """Not applicable when a precondition is refuted; at best inconclusive while one is not
    reproduced (as :func:`lthbench.claims.check.in_regime` decides)."""
    conditions = list(preconditions)
    if not conditions:
        return own
    none_refuted = math.prod(1 - c.get("refuted", 0.0) for c in conditions)
    all_hold = math.prod(c.get("reproduced", 0.0) for c in conditions)
    out = {"not applicable": 1 - none_refuted,
           "reproduced": own.get("reproduced", 0.0) * all_hold,
           "refuted": own.get("refuted", 0.0) * all_hold,
           "missing": own.get("missing", 0.0) * none_refuted}  # fmt: skip
    out["inconclusive"] = max(0.0, 1 - sum(out.values()))
    return out


def conjunction(own: Outcomes, givens: Iterable[Outcomes]) -> Outcomes:
    """A claim given others (as :func:`lthbench.claims.check.combine` decides)."""
    parts = list(givens)
    if not parts:
        return own
    not_applicable = 1 - (1 - own.get("not applicable", 0.0)) * math.prod(
        1 - g.get("not applicable", 0.0) for g in parts)  # fmt: skip
    applicable = 1 - not_applicable
    none_refuted = (1 - own.get("refuted", 0.0)) * math.prod(
        1 - g.get("refuted", 0.0) for g in parts)  # fmt: skip
    reproduced = own.get("reproduced", 0.0) * math.prod(g.get("reproduced", 0.0) for g in parts)
    out = {"not applicable": not_applicable, "refuted": applicable * (1 - none_refuted),
           "reproduced": reproduced}  # fmt: skip
    out["inconclusive"] = max(0.0, 1 - sum(out.values()))
    return out


def for_all(parts: Iterable[Outcomes]) -> Outcomes:
    """A claim over several densities: not applicable, else refuted, else inconclusive if
    any part is; reproduced only when every part is."""
    parts = list(parts)
    no_na = math.prod(1 - p.get("not applicable", 0.0) for p in parts)
    no_na_no_ref = math.prod(1 - p.get("not applicable", 0.0) - p.get("refuted", 0.0)
                             for p in parts)  # fmt: skip
    out = {"not applicable": 1 - no_na, "refuted": max(0.0, no_na - no_na_no_ref),
           "reproduced": math.prod(p.get("reproduced", 0.0) for p in parts)}  # fmt: skip
    out["inconclusive"] = max(0.0, 1 - sum(out.values()))
    return out


def seeds_for_stable(probability_at: Callable[[int], float],
                     threshold: float = STABLE) -> int | None:  # fmt: skip
    """The fewest seeds n at which ``probability_at(n)`` (a verdict's replication probability
    had it been read from n seeds with the same margin and spread) reaches ``threshold``;
    None where no number up to the estimate's bound does (a margin within a step or so of
    the boundary needs a finer measure, not more seeds)."""
    if probability_at(MAX_SEEDS_ESTIMATE) < threshold:
        return None
    low, high = 1, MAX_SEEDS_ESTIMATE  # stable at high; the probability grows with n
    while high - low > 1:
        middle = (low + high) // 2
        low, high = (low, middle) if probability_at(middle) >= threshold else (middle, high)
    return high
