"""An entry resolved once: what every stage downstream of the schema takes.

:func:`lthbench.runner.resolve.resolve_entry` builds it, and it is the only place that
validates: the schema, the names the schema cannot know (model, dataset, method, metrics),
the method's typed params, the budget against the dataset's facts. Downstream nothing
re-validates and nothing reads the entry's raw ``method.params`` dict.
"""

from __future__ import annotations

import functools
import hashlib
import json
import shlex
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel

from lthbench.data.base import DataInfo
from lthbench.spec.duration import Duration
from lthbench.spec.entry import (
    Claim,
    DatasetSpec,
    Entry,
    ModelSpec,
    ResourcesSpec,
    TrainingHparams,
)


@dataclass(frozen=True)
class Variant:
    """How a request departs from the entry as written: a ``--budget`` and ``--set``
    overrides (neither: the entry itself). Each variant's runs have their own identities; this
    names them for people (``show`` lists them, ``check`` says which it reads)."""

    budget: float = 1.0
    overrides: tuple[str, ...] = ()

    @property
    def full(self) -> bool:
        return self.budget == 1.0 and not self.overrides

    @property
    def label(self) -> str:
        parts = [] if self.budget == 1.0 else [f"budget {self.budget:g}"]
        parts += [f"set {o}" for o in self.overrides]
        return ", ".join(parts) or "full budget"

    @property
    def flags(self) -> str:
        """The flags that select this variant (empty for the entry itself)."""
        parts = [] if self.budget == 1.0 else ["--budget", f"{self.budget:g}"]
        for override in self.overrides:
            parts += ["--set", override]
        return shlex.join(parts)

    def as_dict(self) -> dict[str, Any]:
        return {"budget": self.budget, "overrides": list(self.overrides)}


@dataclass(frozen=True)
class Experiment:
    entry: Entry
    params: Any
    """The method's typed params (an instance of its ``Params`` model)."""
    data: DataInfo
    iterations_per_epoch: int
    test_examples: int
    """Examples in the test split (a test accuracy moves in steps of one over this)."""
    validation_examples: int
    """Examples held out for validation (0: validation figures are the test figures)."""
    variant: Variant = field(default_factory=Variant)
    """The budget and overrides it was resolved with."""

    def __post_init__(self) -> None:
        assert isinstance(self.params, BaseModel)

    # what the entry says, read through the experiment
    @property
    def id(self) -> str:
        return self.entry.id

    @property
    def file(self) -> str:
        return self.entry.file

    @property
    def tier(self) -> str:
        return self.entry.tier

    @property
    def description(self) -> str:
        return self.entry.description

    @property
    def method_name(self) -> str:
        """The method's registered name (its params are :attr:`params`)."""
        return self.entry.method.name

    @property
    def model(self) -> ModelSpec:
        return self.entry.model

    @property
    def dataset(self) -> DatasetSpec:
        return self.entry.dataset

    @property
    def training(self) -> TrainingHparams:
        return self.entry.training

    @property
    def precision(self) -> str:
        return self.entry.precision

    @property
    def resources(self) -> ResourcesSpec:
        return self.entry.resources

    @property
    def seeds(self) -> list[int]:
        return self.entry.seeds

    @property
    def claims(self) -> list[Claim]:
        return self.entry.claims

    # the budget in iterations
    def iterations(self, duration: Duration) -> int:
        return duration.to_iterations(self.iterations_per_epoch)

    @property
    def total_iterations(self) -> int:
        return self.iterations(self.entry.training.duration)

    @property
    def eval_iterations(self) -> int:
        return self.iterations(self.entry.training.eval_interval)

    @functools.cached_property
    def digest(self) -> str:
        """One hash of everything resolved (entry, params, variant, the data's facts): reads of
        the same runs under the same settings share it."""
        text = json.dumps(
            {"entry": self.entry.model_dump(mode="json"), "variant": self.variant.as_dict(),
             "params": self.params.model_dump(mode="json"),
             "facts": [self.iterations_per_epoch, self.test_examples, self.validation_examples]},
            sort_keys=True, default=str,
        )  # fmt: skip
        return hashlib.sha256(text.encode()).hexdigest()[:20]

    def run_config(self, seed: int) -> dict[str, Any]:
        """The identity every run of this seed shares (see :meth:`Entry.run_config`)."""
        return self.entry.run_config(seed)
