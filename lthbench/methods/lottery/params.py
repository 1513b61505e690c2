"""The lottery method's params: the pruning chain, its controls, and how rounds end."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from lthbench.prune.criteria import CRITERIA
from lthbench.spec.duration import Duration, DurationField

if TYPE_CHECKING:
    from lthbench.prune.rule import PruningRule

Control = Literal["random_reinit", "random_prune"]
Fraction = Annotated[float, Field(gt=0, lt=1)]
REINIT_SEED_OFFSET = 2**31
"""random_reinit draws its initialisation from seed + 2^31: never an entry's own seed."""


class MaskStability(BaseModel):
    """Early-Bird detection on weight-magnitude masks: stop a round once they stop changing."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    window: Annotated[int, Field(ge=2, le=100)] = 5
    epsilon: Annotated[float, Field(gt=0, le=1)] = 0.1


class LotteryParams(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    strategy: Literal["iterative", "oneshot"] = "iterative"
    rounds: Annotated[int, Field(ge=1, le=100)]
    """Pruning rounds after the dense round 0."""
    prune_fraction: Fraction | None = None
    """Fraction of the surviving weights removed per round (e.g. 0.2)."""
    target_density: Fraction | None = None
    """Density reached after `rounds` rounds; each round keeps target_density^(1/rounds)."""
    criterion: str = "magnitude"
    """The per-weight scores pruning ranks by (a registered criterion: 'magnitude', 'random')."""
    scope: Literal["layerwise", "global"] = "layerwise"
    layer_fractions: dict[str, Fraction] = Field(default_factory=dict)
    """Per-layer fractions by fnmatch pattern over module names (layerwise only), e.g. {fc: 0.1}."""
    include_output: bool = False
    """Prune the output layer too (the LTH paper prunes LeNet's and Conv-2/4/6's at 10%)."""
    exclude: list[str] = Field(default_factory=list)
    """Module-name patterns never pruned (e.g. '*shortcut*' for ResNet shortcut convolutions)."""
    reset: Literal["init"] | DurationField = "init"
    """'init' resets survivors to θ0; a duration ('500it') rewinds them to θ_k, and the round
    then trains from step k to the end of the schedule (open_lth's ``start_step``)."""
    prune_biases: bool = False
    """Mask the biases of the pruned layers too, ranked with their layer's weights (the
    MNIST-1D notebook masks every parameter of its layers)."""
    prune_at: DurationField | None = None
    """Prune from each round's weights at this iteration instead of its final weights (the
    MNIST-1D notebook prunes from the step-1000 checkpoint of a 1501-step round)."""
    controls: list[Control] = Field(default_factory=list)
    early_bird_stop: MaskStability | None = None
    """At every evaluation, the mask the next pruning step would take from the current
    weights joins a FIFO; the round (and round 0) ends once they stop changing (You et al.)."""
    vectorise: bool = False
    """Train each round's ticket and its controls at once as one batched model (torch.func).
    Results agree with one-run training within floating-point tolerance, not bit for bit, and
    batched convolutions round differently with the group's size, so these runs carry the
    group (``vectorised: [ticket, *controls]``) in their identity. Needs controls, a model
    without dropout, precision fp32 and no early_bird_stop. Worth it where one run leaves the
    device idle (small nets on a GPU); on this project's 2-core CPU it measured 0.8-1.1× (see
    leaderboards/performance.md), so the embedded entries do not set it."""

    @model_validator(mode="after")
    def _consistent(self) -> LotteryParams:
        if (self.prune_fraction is None) == (self.target_density is None):
            raise ValueError("give exactly one of prune_fraction and target_density")
        if self.layer_fractions and self.scope != "layerwise":
            raise ValueError("layer_fractions needs scope 'layerwise'")
        if self.layer_fractions and self.target_density is not None:
            raise ValueError("layer_fractions needs prune_fraction (a target fixes every layer)")
        if len(set(self.controls)) != len(self.controls):
            raise ValueError("controls are listed twice")
        if self.criterion not in CRITERIA:
            raise ValueError(
                f"criterion {self.criterion!r} is unknown; allowed: {sorted(CRITERIA)}"
            )
        if self.criterion != "magnitude" and self.early_bird_stop is not None:
            raise ValueError(
                "early_bird_stop tracks magnitude masks; it needs criterion 'magnitude'"
            )
        return self

    @property
    def fraction(self) -> float:
        """Fraction of survivors removed per round (per layer unless overridden)."""
        if self.prune_fraction is not None:
            return self.prune_fraction
        assert self.target_density is not None
        return 1.0 - self.target_density ** (1.0 / self.rounds)

    @property
    def rule(self) -> PruningRule:
        """What one pruning step does (criterion, scope, the fraction per step)."""
        from lthbench.prune.rule import PruningRule

        return PruningRule(
            fraction=self.fraction, criterion=self.criterion, scope=self.scope,
            layer_fractions=dict(self.layer_fractions), include_output=self.include_output,
            exclude=tuple(self.exclude), prune_biases=self.prune_biases,
        )  # fmt: skip

    @property
    def rewind_point(self) -> Duration | None:
        return None if self.reset == "init" else self.reset  # type: ignore[return-value]

    def chain_identity(self) -> dict[str, Any]:
        """What determines the pruning chain. `rounds` joins it only when it sets the
        fraction (target_density), so extending a prune_fraction entry reuses its rounds."""
        exclude = {"controls", "vectorise"} | (
            {"rounds"} if self.prune_fraction is not None else set()
        )
        return self.model_dump(mode="json", exclude_defaults=True, exclude=exclude)
