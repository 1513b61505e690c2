"""The method plugin interface and its registry.

A method (dense, lottery, early_bird, a control) is one module: a :class:`Method` subclass with
a typed ``Params`` model, the ``metrics`` its result records carry (claims may name them), and
``run``, registered with ``@register_method``. It trains through the run layer's
:meth:`lthbench.run.Context.train_run`, which owns caching, checkpoints and resumption, so no
method re-implements them.
"""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict

from lthbench.run import Context, RunSpec
from lthbench.spec.entry import Entry
from lthbench.store import Run

__all__ = ["METHODS", "RUN_METRICS", "Context", "Method", "NoParams", "RunSpec",
           "reference_problem", "register_method"]  # fmt: skip

RUN_METRICS = frozenset({
    "final_test_accuracy", "test_accuracy_at_early_stop", "early_stop_iteration", "min_val_loss",
    "final_val_loss", "final_val_accuracy", "val_accuracy_at_early_stop", "final_train_accuracy",
    "final_train_loss", "final_test_loss", "test_loss_at_early_stop", "iterations", "wall_time_s",
})  # fmt: skip
"""What every trained run reports (see lthbench.train.loop.summarise)."""


class NoParams(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class Method:
    """Subclass, set the class attributes, implement ``plan`` and ``run``; register it."""

    name: ClassVar[str]
    Params: ClassVar[type[BaseModel]] = NoParams
    metrics: ClassVar[frozenset[str]] = RUN_METRICS

    def claim_problem(self, claim: Any, params: Any) -> str | None:
        """What is wrong with a claim's reference or selectors for this method (None: fine).

        A single-run method has one result per seed: claims compare it with numbers only."""
        if isinstance(claim.reference, str) and not claim.reference.startswith("entry:"):
            return f"reference: {claim.reference!r} is not a result of method {self.name!r}"
        if claim.where:
            return f"where: method {self.name!r} has one result per seed; nothing to select"
        return None

    def check(self, entry: Entry, params: Any, iterations_per_epoch: int) -> None:
        """Raise UserError for params that contradict the entry's budget (default: none)."""

    def plan(self, context: Context, params: Any) -> list[Run]:
        """The stored runs this method needs for one seed (for --dry-run and caching)."""
        raise NotImplementedError

    def run(self, context: Context, params: Any) -> list[dict[str, Any]]:
        """Execute (or read from the store) and return this seed's result records."""
        raise NotImplementedError


def reference_problem(reference: Any, results: set[str]) -> str | None:
    """A named reference must be one of this entry's results or a sibling ('entry:<id>')."""
    if (
        isinstance(reference, str)
        and not reference.startswith("entry:")
        and reference not in results
    ):
        return f"reference: {reference!r} is not a result of this entry; allowed: {sorted(results)} or entry:<id>"
    return None


METHODS: dict[str, Method] = {}


def register_method(cls: type[Method]) -> type[Method]:
    """Class decorator: entries name the method by ``cls.name``."""
    METHODS[cls.name] = cls()
    return cls
