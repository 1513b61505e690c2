"""The method plugin interface and its registry.

A method (dense, lottery, early_bird, a control) is one module: a :class:`Method` subclass with
a typed ``Params`` model, the ``metrics`` its result records carry (claims may name them),
registered with ``@register_method``. It has two paths that never mix:

- ``run`` trains, through the run layer's :meth:`lthbench.run.Context.train_run` (which owns
  caching, checkpoints and resumption), and caches whatever figures its records need;
- ``records`` reads: it turns stored results and cached figures into result records, through
  :class:`lthbench.run.SeedResults`, and never loads data, builds a model or trains.

Its leaderboard page is a :class:`lthbench.report.pages.MethodPage` registered under its name.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import BaseModel, ConfigDict

from lthbench.methods.records import RunRecord, numeric_fields
from lthbench.methods.units import Unit
from lthbench.registry import Registry
from lthbench.run import Experiment, SeedResults
from lthbench.spec.entry import sibling_of
from lthbench.store import Run
from lthbench.store.runs import StateKind

if TYPE_CHECKING:  # training needs these; reading (and so this module) does not
    from torch import nn

    from lthbench.run.context import Context

__all__ = ["METHODS", "RUN_METRICS", "Experiment", "Method", "NoParams", "PlannedTraining",
           "SeedResults", "reference_problem", "register_method"]  # fmt: skip

RUN_METRICS = frozenset({
    "final_test_accuracy", "test_accuracy_at_early_stop", "early_stop_iteration", "min_val_loss",
    "final_val_loss", "final_val_accuracy", "val_accuracy_at_early_stop", "final_train_accuracy",
    "final_train_loss", "final_test_loss", "test_loss_at_early_stop", "iterations", "wall_time_s",
})  # fmt: skip
"""What every trained run reports (see lthbench.train.loop.summarise)."""


@dataclass(frozen=True)
class PlannedTraining:
    """Networks a method trains for one seed, each for ``iterations`` steps (what
    ``lthbench plan`` prices: :mod:`lthbench.runner.cost`)."""

    what: str
    iterations: int
    networks: int = 1
    at_most: bool = False
    """An upper bound: the run may stop earlier or train a smaller (slimmed) network."""


class NoParams(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class Method:
    """Subclass, set the class attributes, implement ``plan``, ``run`` and ``records``;
    register it."""

    name: ClassVar[str]
    Params: ClassVar[type[BaseModel]] = NoParams
    Record: ClassVar[type[RunRecord]] = RunRecord
    """The model of this method's result records (:mod:`lthbench.methods.records`): every
    record ``records`` returns is validated against it."""
    metrics: ClassVar[frozenset[str]] = RUN_METRICS
    """What claims may compare: numeric fields of ``Record`` (checked at registration)."""
    units: ClassVar[Mapping[str, Unit]] = {}
    """Units of the metrics whose names the conventions of :func:`lthbench.methods.units.unit_of`
    do not cover (their grid, for claims; their print, for pages)."""

    def claim_problem(self, claim: Any, params: Any) -> str | None:
        """What is wrong with a claim's reference or selectors for this method (None: fine).

        A single-run method has one result per seed: claims compare it with numbers only."""
        if isinstance(claim.reference, str) and sibling_of(claim.reference) is None:
            return f"reference: {claim.reference!r} is not a result of method {self.name!r}"
        if claim.where:
            return f"where: method {self.name!r} has one result per seed; nothing to select"
        return None

    def check(self, experiment: Experiment) -> None:
        """Raise UserError for params that contradict the budget (default: none). Runs at
        resolution, for reads too: it must build no model."""

    def min_evaluations(self, params: Any) -> int:
        """Evaluations a run needs at least (a quick ``--budget`` run keeps this many)."""
        return 2

    def check_fit(self, experiment: Experiment, model: nn.Module) -> None:
        """Raise UserError for params that do not fit the network (given on the meta
        device: shapes without memory). Runs before training and in ``validate``."""

    def plan(self, results: SeedResults, params: Any) -> list[Run]:
        """The stored runs this method needs for one seed (for --dry-run and caching)."""
        raise NotImplementedError

    def planned_training(self, experiment: Experiment) -> list[PlannedTraining]:
        """What one seed will train, for the cost estimate (``lthbench plan``): by default one
        network for the entry's whole duration."""
        return [PlannedTraining("run", experiment.total_iterations)]

    def run(self, context: Context, params: Any) -> None:
        """Train this seed's runs (stored ones are read, not retrained) and cache the figures
        ``records`` needs."""
        raise NotImplementedError

    def records(self, results: SeedResults, params: Any) -> list[dict[str, Any]]:
        """This seed's result records, from stored results and cached figures only."""
        raise NotImplementedError

    def releasable(self, results: SeedResults, params: Any) -> list[tuple[Run, StateKind]]:
        """Kept weights of this seed's runs that nothing will read again (figures cached, no
        later round reads them): what ``lthbench gc`` and ``training.keep_weights: false``
        remove. None by default: a method keeps everything unless it says otherwise."""
        return []

    def training_flops(self, experiment: Experiment, records: list[dict[str, Any]],
                       forward: Mapping[str, int]) -> list[float | None]:  # fmt: skip
        """What producing each of one seed's ``records`` cost to train, in FLOPs, for the
        training-cost page and claims ``matched_by: training_flops`` (records are priced as
        they are read: :func:`lthbench.runner.jobs.collect`;
        :mod:`lthbench.methods.training_cost`'s convention; ``forward``: one example's forward
        FLOPs by module). By default each record's own ``training_flops``; None where the
        method does not count it. The conformance suite checks one price per record, and a
        record's own count kept."""
        return [record.get("training_flops") for record in records]

    def pending(self, results: SeedResults, params: Any) -> bool:
        """Whether ``run`` has work left for this seed: a planned run not stored (a method
        that caches figures adds those). False lets ``lthbench run`` read the seed's records
        without importing torch."""
        return any(results.inspect(run)[1] is None for run in self.plan(results, params))


def reference_problem(reference: Any, results: set[str]) -> str | None:
    """A named reference must be one of this entry's results or a sibling ('entry:<id>')."""
    if isinstance(reference, str) and sibling_of(reference) is None and reference not in results:
        return f"reference: {reference!r} is not a result of this entry; allowed: {sorted(results)} or entry:<id>"
    return None


METHODS: Registry[Method] = Registry("method")


def register_method(cls: type[Method]) -> type[Method]:
    """Class decorator: entries name the method by ``cls.name`` (a name taken by another
    module is an error)."""
    loose = sorted(cls.metrics - numeric_fields(cls.Record))
    if loose:
        raise TypeError(f"method {cls.name!r}: metrics {loose} are not numeric fields of its "
                        f"Record model {cls.Record.__name__}")  # fmt: skip
    METHODS.add(cls.name, cls(), cls.__module__)
    return cls
