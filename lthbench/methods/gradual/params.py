"""The gradual method's params: Zhu & Gupta's schedule, the criterion and the scope."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from lthbench.prune.criteria import CRITERIA
from lthbench.spec.duration import Duration, DurationField

Density = Annotated[float, Field(gt=0, lt=1)]


class GradualParams(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    densities: list[Density]
    """Final densities 1 − s_f, one network each, largest first."""
    initial_density: Annotated[float, Field(gt=0, le=1)] = 1.0
    """1 − s_i: the density the schedule starts from at ``start`` (dense before it)."""
    start: DurationField = Duration()
    """t0: the first pruning step (Zhu & Gupta start after some dense training)."""
    end: DurationField
    """t0 + nΔt: the last pruning step; the final density holds from here to the end."""
    frequency: DurationField
    """Δt: steps between pruning steps (Zhu & Gupta's ``end − start`` is a multiple of it;
    where it is not, one more step prunes at ``end``)."""
    criterion: str = "magnitude"
    """The per-weight scores pruning ranks by: a registered criterion that scores the
    weights alone ('magnitude', 'random')."""
    scope: Literal["layerwise", "global"] = "layerwise"
    """Zhu & Gupta prune every layer to the schedule's sparsity (layerwise); 'global' ranks
    all layers' weights together."""
    include_output: bool = False
    exclude: list[str] = Field(default_factory=list)
    """Module-name patterns never pruned (e.g. '*shortcut*')."""

    @model_validator(mode="after")
    def _consistent(self) -> GradualParams:
        if not self.densities or sorted(set(self.densities), reverse=True) != self.densities:
            raise ValueError("densities must be distinct and listed largest first")
        if self.densities[0] >= self.initial_density:
            raise ValueError("densities must be below initial_density (the schedule prunes)")
        criterion = CRITERIA.get(self.criterion)
        if criterion is None:
            raise ValueError(
                f"criterion {self.criterion!r} is unknown; allowed: {sorted(CRITERIA)}"
            )
        if criterion.needs_data or criterion.iterative:
            allowed = sorted(n for n, c in CRITERIA.items() if not (c.needs_data or c.iterative))
            raise ValueError(f"criterion {self.criterion!r} scores at initialisation; gradual "
                             f"pruning ranks the training weights: allowed {allowed}")  # fmt: skip
        if self.frequency.is_zero:
            raise ValueError("frequency: pruning every 0 steps")
        return self

    def identity(self) -> dict[str, Any]:
        """What determines every pruned network (its final density names the run)."""
        return self.model_dump(mode="json", exclude_defaults=True, exclude={"densities"})
