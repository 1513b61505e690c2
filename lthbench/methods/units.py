"""What a metric's numbers are: the grid they lie on and how pages print them.

Claims need a metric's grid (an accuracy moves in steps of one example of its split, an
iteration count in steps of one evaluation interval; see :mod:`lthbench.claims.resolution`),
and pages its unit. The metrics every run records follow naming conventions
(``*accuracy*``, ``*iteration*``) that :func:`unit_of` reads; a method whose records carry a
metric the conventions do not cover declares its :class:`Unit` in ``Method.units``, so a new
method never edits the claims or the pages (instability's error barriers are the example).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

Grid = Literal["test", "val", "train", "evaluations", "epochs", "budget", "exact"]


@dataclass(frozen=True)
class Unit:
    """``grid``: the step between values a run can produce, one example of a split ('test',
    'val', 'train'), one evaluation interval counted in iterations ('evaluations'), in epochs
    ('epochs') or as a fraction of the budget ('budget'), or none ('exact': FLOPs, losses,
    times). ``scale``, ``suffix`` and ``digits``: how pages print a value."""

    grid: Grid = "exact"
    scale: float = 1.0
    suffix: str = ""
    digits: int = 4

    def show(self, value: float | None) -> str:
        return "–" if value is None else f"{value * self.scale:.{self.digits}f}{self.suffix}"


def accuracy(split: Literal["test", "val", "train"]) -> Unit:
    """A fraction of a split's examples, in %."""
    return Unit(split, 100.0, "%", 2)


def points(split: Literal["test", "val", "train"]) -> Unit:
    """A difference of two fractions of a split's examples (e.g. an error barrier), in
    percentage points: on the split's grid like the accuracies it is made of."""
    return Unit(split, 100.0, " pp", 2)


EVALUATED_ITERATIONS = frozenset({"early_stop_iteration", "iterations"})
"""Iteration counts known only to the evaluation interval (where training was evaluated)."""
AT_AN_EVALUATION = Unit("evaluations", suffix=" it", digits=0)


def unit_of(metric: str, declared: Mapping[str, Unit] | None = None) -> Unit:
    """The method's declared unit of ``metric``, else the one its name's convention gives."""
    if declared and metric in declared:
        return declared[metric]
    if "accuracy" in metric:
        return accuracy("test" if "test" in metric else "val" if "val" in metric else "train")
    if metric in EVALUATED_ITERATIONS:
        return AT_AN_EVALUATION
    if "iteration" in metric:
        return Unit(suffix=" it", digits=0)
    return Unit()
