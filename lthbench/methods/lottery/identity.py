"""What names a lottery run in the store: the ``extra`` each kind of run adds to the seed's
resolved settings (round 0, a round's ticket, a control), and the names of cached figures.

Planning, training, reading and the tests all build identities here, so they cannot drift;
``tests/test_identities.py`` pins the ids they give.
"""

from __future__ import annotations

from typing import Any

from lthbench.methods.lottery.params import LotteryParams
from lthbench.store.runs import run_id


def mask_seed(seed: int, round_: int) -> int:
    """The seed of a criterion's randomness for the mask of ``round_`` (apart from the
    random_prune control's stream)."""
    return (seed * 1000 + round_) * 2 + 1


def figures_name(params: LotteryParams) -> str:
    """Mask figures depend on the pruning rule too (round 0 is shared by entries), so they
    are cached per rule."""
    return f"figures-{run_id(params.chain_identity())[:12]}"


def dense_extra(params: LotteryParams) -> dict[str, Any]:
    """Round 0: the dense run, named by what it saves for later rounds (so entries that save
    the same things share it)."""
    rewind = params.rewind_point
    extra = {} if rewind is None else {"saves_state_at": str(rewind)}
    if params.prune_at is not None:
        extra["saves_pruning_weights_at"] = str(params.prune_at)
    if params.early_bird_stop is not None:
        extra["early_bird_stop"] = params.early_bird_stop.model_dump(mode="json")
    return extra


def round_extra(params: LotteryParams, round_: int, control: str | None = None) -> dict[str, Any]:
    """A round's ticket (``control`` None) or one of its controls."""
    if round_ == 0:
        return dense_extra(params)
    extra: dict[str, Any] = {"lottery": params.chain_identity(), "round": round_}
    if params.rewind_point is not None:
        extra["trains_from"] = "rewind_point"
    if params.vectorise:  # batched convolutions round by group: the group is named
        extra["vectorised"] = ["ticket", *params.controls]
    if control is not None:
        extra["control"] = control
    return extra
