"""The sparse_training method's params: the update rule, the layer densities, the schedule."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from lthbench.prune.sparsity import Distribution
from lthbench.spec.duration import Duration, DurationField

Update = Literal["static", "set", "rigl"]
Density = Annotated[float, Field(gt=0, lt=1)]
DYNAMICS = ("update_interval", "drop_fraction", "drop_schedule", "update_end")
"""The params only a dynamic update depends on (a static mask ignores them)."""


class SparseTrainingParams(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    update: Update
    """How connectivity changes: 'static' (never), 'set' (random growth), 'rigl' (gradient
    growth)."""
    baselines: list[Update] = Field(default_factory=list)
    """Other updates trained beside it at every density, from the same initial mask."""
    densities: list[Density]
    """Fractions of the sparse layers' weights kept, largest first."""
    distribution: Distribution = "erk"
    """How the density is spread over layers: 'uniform', 'er' or 'erk' (RigL §3)."""
    dense_first_layer: bool = False
    """Keep the first sparse-eligible layer dense, outside the density budget (RigL keeps
    ResNet-50's first convolution dense)."""
    include_output: bool = False
    exclude: list[str] = Field(default_factory=list)
    """Module-name patterns kept dense (e.g. '*shortcut*')."""
    update_interval: DurationField = Duration(iterations=100)
    """ΔT: steps between connectivity updates (RigL uses 100 on CIFAR-10)."""
    drop_fraction: Annotated[float, Field(gt=0, lt=1)] = 0.3
    """α: the fraction of each layer's active weights replaced at the first update."""
    drop_schedule: Literal["cosine", "constant"] = "cosine"
    """RigL decays the drop fraction along a cosine (§3); SET's paper keeps it constant."""
    update_end: DurationField | None = None
    """T_end: no update from here on (default: 3/4 of the training duration, as RigL)."""

    @model_validator(mode="after")
    def _consistent(self) -> SparseTrainingParams:
        if not self.densities or sorted(set(self.densities), reverse=True) != self.densities:
            raise ValueError("densities must be distinct and listed largest first")
        if len(set(self.baselines)) != len(self.baselines) or self.update in self.baselines:
            raise ValueError("baselines are listed twice or repeat the update")
        if self.update_interval.is_zero:
            raise ValueError("update_interval: updating every 0 steps")
        return self

    def identity(self, update: Update) -> dict[str, Any]:
        """What determines a network trained with ``update``: a static one ignores the
        dynamics, so entries that differ only in them share their static runs."""
        ignored = {"densities", "baselines", "update", *(DYNAMICS if update == "static" else ())}
        return {**self.model_dump(mode="json", exclude_defaults=True, exclude=ignored),
                "update": update}  # fmt: skip
