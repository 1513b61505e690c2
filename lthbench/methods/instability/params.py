"""The instability method's params: where the copies start and how the path is sampled."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, model_validator

from lthbench.methods.lottery.params import LotteryParams
from lthbench.spec.duration import Duration, DurationField

COPY_SEED_OFFSET = 2**30
"""Copy c (1 or 2) of seed s draws its data order from s + c·2^30: never an entry's seed."""


class Ticket(BaseModel):
    """An IMP ticket to analyse beside the dense network: the lottery method's params (the
    same chain, trained to its last round, so its runs are shared with a lottery entry of the
    same settings) and the round whose mask is analysed."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    lottery: LotteryParams
    round: Annotated[int, Field(ge=1, le=100)]

    @model_validator(mode="after")
    def _reachable(self) -> Ticket:
        if self.round > self.lottery.rounds:
            raise ValueError(
                f"round {self.round} is after the chain's last ({self.lottery.rounds})"
            )
        if self.lottery.rewind_point is not None:
            raise ValueError("the ticket's chain resets to θ0: the rewind points are this method's")
        return self


class InstabilityParams(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    rewind_points: list[DurationField]
    """The iterations k the two copies start from (θ_k of the seed's own training), in order."""
    points: Annotated[int, Field(ge=3, le=101)] = 11
    """Evenly spaced points on the path, both end points included (the paper uses 30)."""
    ticket: Ticket | None = None
    """Also analyse this IMP ticket: its mask applied to θ_k of the dense training, copies
    trained with the mask held (the paper's sparse instability)."""

    @model_validator(mode="after")
    def _consistent(self) -> InstabilityParams:
        if not self.rewind_points:
            raise ValueError("rewind_points: give at least one")
        if len({str(k) for k in self.rewind_points}) != len(self.rewind_points):
            raise ValueError("rewind_points are listed twice")
        return self

    @property
    def ks(self) -> list[Duration]:
        return list(self.rewind_points)
