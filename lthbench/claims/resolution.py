"""What a measured number can resolve, and how many seeds would resolve a claim.

Every metric is measured on a grid: an accuracy moves in steps of one example (1/n), an
iteration count in steps of one evaluation interval, a draw fraction in steps of one
evaluation interval over the budget; FLOPs, losses and times are exact (resolution 0). A
difference smaller than one step is not a measured difference, and seeds that agree exactly
have not shown that the spread is zero, only that it is below the grid. So the verdict rule
(see :mod:`lthbench.claims.check`) uses, for each claim:

- a spread of at least ``resolution / sqrt(12)`` (the standard deviation of rounding to the
  grid), so a zero-width interval is never certainty;
- the t-interval widened by one ``resolution`` on each side, so no difference smaller than one
  step can make a verdict reproduced or refuted.

:func:`seeds_needed` turns the observed margin and spread into the number of seeds whose
interval would clear the boundary under that rule, or None where no number can (the margin
is within one step: the setting needs a finer measure, not more seeds).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from lthbench.methods.units import Unit
from lthbench.run.experiment import Experiment

CONFIDENCE = 0.95
MAX_SEEDS_ESTIMATE = 1000
QUANTISATION_SD = 1 / math.sqrt(12)
"""Standard deviation of rounding to a grid of unit step."""


@dataclass(frozen=True)
class Facts:
    """The sizes and cadences that set an entry's metric grids."""

    test_examples: int
    validation_examples: int
    train_examples: int
    eval_iterations: int
    iterations_per_epoch: int
    total_iterations: int

    @staticmethod
    def of(experiment: Experiment) -> Facts:
        test = experiment.test_examples
        return Facts(
            test_examples=test,
            validation_examples=experiment.validation_examples or test,
            train_examples=experiment.data.train_size,
            eval_iterations=experiment.eval_iterations,
            iterations_per_epoch=experiment.iterations_per_epoch,
            total_iterations=experiment.total_iterations,
        )


def resolution(unit: Unit, facts: Facts) -> float:
    """The step of a metric's grid (0: exact), its unit given (:func:`lthbench.methods.units.unit_of`)."""
    steps = {
        "test": 1 / facts.test_examples,
        "val": 1 / facts.validation_examples,
        "train": 1 / facts.train_examples,
        "evaluations": float(facts.eval_iterations),
        "epochs": facts.eval_iterations / facts.iterations_per_epoch,
        "budget": facts.eval_iterations / facts.total_iterations,
    }
    return steps.get(unit.grid, 0.0)


def t_quantile(n: int) -> float:
    """Student's t quantile for n seeds (``scipy.special.stdtrit``, which ``stats.t.ppf``
    calls: the same numbers without importing scipy.stats, about 1 s)."""
    from scipy.special import stdtrit

    return float(stdtrit(n - 1, 0.5 + CONFIDENCE / 2))


def half_width(spread: float, n: int, step: float) -> float:
    """Half-width of the decision interval: the t-interval with the spread floored at the
    grid's rounding noise, widened by one step."""
    floored = max(spread, step * QUANTISATION_SD)
    return t_quantile(n) * floored / math.sqrt(n) + step


def spread_of(values: list[float]) -> float:
    """The sample standard deviation (n − 1)."""
    n = len(values)
    mean = sum(values) / n
    return math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1))


def one_sided_p(
    margin: float, spread: float, n: int, step: float, strict: bool = False
) -> float | None:
    """The one-sided p-value of the verdict's direction (the margin's sign) under the rule
    the interval follows: the margin less one step, over the floored standard error, against
    Student's t with n − 1 degrees of freedom. p < 1 − CONFIDENCE/2 exactly when the decision
    interval clears the boundary; None with fewer than two seeds."""
    if n < 2:
        return None
    from scipy.special import stdtr

    floored = max(spread, step * QUANTISATION_SD)
    distance = abs(margin) - step
    if floored == 0:  # an exact metric on which every seed agrees: certain, either way
        return 0.0 if distance > 0 or (distance == 0 and not strict and margin >= 0) else 1.0
    return float(1 - stdtr(n - 1, distance * math.sqrt(n) / floored))


def within_one_step(margin: float, step: float) -> bool:
    """|margin| ≤ one step, up to floating-point rounding of the accuracies themselves."""
    return abs(margin) <= step * (1 + 1e-9) + 1e-12


def seeds_needed(margin: float, spread: float, step: float) -> int | None:
    """Seeds whose interval would clear the claim's boundary, given the observed mean
    ``margin`` (its distance from the boundary) and ``spread`` (the seeds' standard deviation);
    None when no number of seeds can (|margin| within one step, or more than 1000 needed)."""
    if within_one_step(margin, step):
        return None
    distance = abs(margin)
    for n in range(2, MAX_SEEDS_ESTIMATE + 1):
        if half_width(spread, n, step) < distance:
            return n
    return None
