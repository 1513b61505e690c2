"""The lottery method's params: the pruning chain, its controls, and how rounds end."""

from __future__ import annotations

from collections.abc import Callable
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


class LrRewind(BaseModel):
    """Learning-rate rewinding (Renda et al., 2020, §2): keep the pruned network's trained
    weights and replay the learning-rate schedule (and data order) from step k to the end."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    lr_rewind: DurationField


Reset = Literal["init", "finetune"] | LrRewind | DurationField
"""How a round's survivors restart (Renda, Frankle & Carbin, ICLR 2020, §2 names the three
retraining techniques): 'init' (θ0, the LTH), a duration k (weight rewinding to θ_k),
{lr_rewind: k} or 'finetune' (the trained weights, with the schedule from k or the final
learning rate)."""


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
    reset: Reset = "init"
    """'init' resets survivors to θ0; a duration ('500it') rewinds them to θ_k, and the round
    then trains from step k to the end of the schedule (open_lth's ``start_step``).
    ``{lr_rewind: k}`` keeps the weights the round was pruned from and trains steps k..T with
    the schedule's learning rate and data order from k; 'finetune' keeps them and trains
    ``finetune_budget`` steps at the schedule's final learning rate. Both keep-weights modes
    retrain from the pruned round's final weights (round r − 1 iterative, round 0 one-shot)."""
    finetune_budget: DurationField | None = None
    """Fine-tuning's retraining budget (reset 'finetune' only; default: the whole duration T).
    It trains the data order's last ``finetune_budget`` steps, so with T − k it spends the
    budget, and sees the batches, of rewinding to k: Renda et al.'s equal-budget comparison."""
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
        if self.finetune_budget is not None and self.reset != "finetune":
            raise ValueError("finetune_budget needs reset 'finetune'")
        if self.finetune_budget is not None and self.finetune_budget.is_zero:
            raise ValueError("finetune_budget: a retraining budget of 0 steps trains nothing")
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
        """Weight rewinding's k: the step whose weights round 0 keeps for later rounds."""
        return self.reset if isinstance(self.reset, Duration) else None

    @property
    def keeps_weights(self) -> bool:
        """Rounds retrain the weights they were pruned from (fine-tuning, LR rewinding)."""
        return self.reset == "finetune" or isinstance(self.reset, LrRewind)

    def retrain_start(self, iterations: Callable[[Duration], int], total: int) -> int:
        """The schedule step a round after the first starts at (it trains to the end, T):
        0 for θ0, k for either rewinding, T − budget for fine-tuning."""
        if isinstance(self.reset, LrRewind):
            return iterations(self.reset.lr_rewind)
        if self.reset == "finetune":
            return total - (total if self.finetune_budget is None
                            else iterations(self.finetune_budget))  # fmt: skip
        return 0 if self.rewind_point is None else iterations(self.rewind_point)

    def chain_identity(self) -> dict[str, Any]:
        """What determines the pruning chain. `rounds` joins it only when it sets the
        fraction (target_density), so extending a prune_fraction entry reuses its rounds."""
        exclude = {"controls", "vectorise"} | (
            {"rounds"} if self.prune_fraction is not None else set()
        )
        return self.model_dump(mode="json", exclude_defaults=True, exclude=exclude)
