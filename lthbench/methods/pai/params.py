"""The pai method's params: the criterion, the densities, the scope and the ablations."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from lthbench.prune.criteria import CRITERIA

if TYPE_CHECKING:
    from lthbench.prune.rule import PruningRule

Control = Literal["shuffle", "reinit", "invert", "random"]
SCORING = ("criterion", "score_examples", "score_examples_per_class")
"""The params only a criterion's scores depend on (random pruning ignores them)."""
Density = Annotated[float, Field(gt=0, lt=1)]
SCORE_EXAMPLES = 100
REINIT_SEED_OFFSET = 2**31
"""``reinit`` draws its initialisation from seed + 2^31: never an entry's own seed."""


class PaiParams(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    criterion: str
    """A registered criterion: 'snip', 'grasp', 'synflow', 'magnitude' or 'random'."""
    densities: list[Density]
    """Target fractions of the prunable weights kept, largest first."""
    scope: Literal["layerwise", "global"] = "global"
    """Frankle et al. (2021) prune SNIP, GraSP and SynFlow globally, as their papers do."""
    score_examples: Annotated[int, Field(ge=1, le=100_000)] = SCORE_EXAMPLES
    """Training examples in the one batch SNIP and GraSP score on (drawn by the seed)."""
    score_examples_per_class: Annotated[int, Field(ge=1, le=10_000)] | None = None
    """Score on a class-balanced batch instead: this many examples of each class, the first
    of each class in the seed's order of the training set, as GraSP's official code fetches
    its batch (``GraSP_fetch_data``, ``samples_per_class``). Replaces ``score_examples``."""
    include_output: bool = False
    exclude: list[str] = Field(default_factory=list)
    """Module-name patterns never pruned (e.g. '*shortcut*')."""
    controls: list[Control] = Field(default_factory=list)

    @model_validator(mode="after")
    def _consistent(self) -> PaiParams:
        if self.criterion not in CRITERIA:
            raise ValueError(
                f"criterion {self.criterion!r} is unknown; allowed: {sorted(CRITERIA)}"
            )
        if not self.densities or sorted(set(self.densities), reverse=True) != self.densities:
            raise ValueError("densities must be distinct and listed largest first")
        if self.score_examples_per_class is not None and self.score_examples != SCORE_EXAMPLES:
            raise ValueError("give score_examples or score_examples_per_class, not both")
        if len(set(self.controls)) != len(self.controls):
            raise ValueError("controls are listed twice")
        return self

    def rule(self, density: float, criterion: str | None = None) -> PruningRule:
        """One step from the full network to ``density`` under this entry's scope."""
        from lthbench.prune.rule import PruningRule

        return PruningRule(
            fraction=1.0 - density, criterion=criterion or self.criterion, scope=self.scope,
            include_output=self.include_output, exclude=tuple(self.exclude),
        )  # fmt: skip

    def identity(self) -> dict[str, Any]:
        """What determines every pruned network (the densities and controls name runs)."""
        return self.model_dump(mode="json", exclude_defaults=True,
                               exclude={"densities", "controls"})  # fmt: skip
