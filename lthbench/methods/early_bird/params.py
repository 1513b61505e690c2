"""The early_bird method's params: the search, its detector, and the baselines."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from lthbench.spec.duration import DurationField

Ratio = Annotated[float, Field(gt=0, lt=1)]
Baseline = Literal["network_slimming", "scratch", "lottery_oneshot"]
SCRATCH_SEED_OFFSET = 2**31
"""``scratch`` initialises from seed + 2^31: never an entry's own seed."""


class EarlyBirdParams(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    ratios: list[Ratio] = Field(default_factory=lambda: [0.3, 0.5, 0.7])
    """Channel pruning ratios p, all tracked in one search run."""
    sparsity: Annotated[float, Field(ge=0, le=1)] = 1e-4
    """λ of the L1 penalty on BatchNorm scales during the search."""
    window: Annotated[int, Field(ge=2, le=100)] = 5
    """Masks in the detector's FIFO."""
    epsilon: Annotated[float, Field(gt=0, le=1)] = 0.1
    """The ticket is drawn when the largest distance in the FIFO falls below this."""
    search_schedule: Literal["entry", "early_decay"] = "entry"
    """'early_decay': the search starts at the first decayed rate (the entry's first milestone
    moved to 0); EB-Train continues under the entry's schedule either way."""
    search_precision: Literal["fp32", "int8"] = "fp32"
    """'int8': weights, activations, gradients, errors, momentum at 8 bits (search only)."""
    baselines: list[Baseline] = Field(default_factory=lambda: ["network_slimming", "scratch"])
    finetune: DurationField | None = None
    """Network slimming's fine-tuning after pruning; None: the entry's full duration."""
    retrain_penalty: bool = True
    """EB-Train and scratch keep the L1 penalty on BatchNorm scales while they train, as the
    official retraining scripts do; False trains them without it."""

    @model_validator(mode="after")
    def _consistent(self) -> EarlyBirdParams:
        if len(set(self.ratios)) != len(self.ratios) or not self.ratios:
            raise ValueError("ratios must be distinct, and at least one")
        if len(set(self.baselines)) != len(self.baselines):
            raise ValueError("baselines are listed twice")
        if self.finetune is not None and self.finetune.is_zero:
            raise ValueError("finetune must be longer than 0it")
        return self

    def search_identity(self) -> dict[str, Any]:
        """What determines the search up to every draw (baselines and fine-tuning do not)."""
        return self.model_dump(
            mode="json", exclude_defaults=True, exclude={"baselines", "finetune", "retrain_penalty"}
        )

    def penalised(self, phase: str) -> bool:
        """Whether a slim run of ``phase`` trains with the L1 penalty."""
        return self.retrain_penalty and self.sparsity > 0 and phase in ("eb_train", "scratch")

    @property
    def full_search(self) -> bool:
        """The search runs the whole budget only when network slimming needs its end."""
        return bool({"network_slimming", "lottery_oneshot"} & set(self.baselines))


def ratio_key(ratio: float) -> str:
    """How a pruning ratio names its masks and tickets (0.5 → '0.5')."""
    return f"{ratio:g}"
