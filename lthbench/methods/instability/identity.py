"""What names an instability run in the store: the parent trained from θ0, its copies from
each θ_k (each copy its own data order), the IMP ticket's lottery run, and the cached path.

Planning, training, reading and the tests all build identities here; ``tests/test_identities.py``
pins the ids they give.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from lthbench.methods.instability.params import COPY_SEED_OFFSET, InstabilityParams
from lthbench.methods.lottery.identity import round_extra
from lthbench.run import SeedResults
from lthbench.store import Run

COPIES = (1, 2)


def path_figures(params: InstabilityParams) -> str:
    """The path's errors and barriers, kept with copy 2 (per number of points)."""
    return f"instability-path-{params.points}"


def parent_extra(params: InstabilityParams) -> dict[str, Any]:
    """The run from θ0, named by the states θ_k it keeps."""
    return {"saves_states_at": [str(k) for k in params.rewind_points]}


def groups(params: InstabilityParams) -> list[str | None]:
    """The networks analysed: the dense one (None) and the IMP ticket when given."""
    return [None] if params.ticket is None else [None, "ticket"]


def ticket_extra(params: InstabilityParams) -> dict[str, Any]:
    """The lottery run whose mask is the ticket (its identity as the lottery method's)."""
    assert params.ticket is not None
    return round_extra(params.ticket.lottery, params.ticket.round)


def copy_extra(results: SeedResults, k: Any, copy: int, group: str | None = None) -> dict[str, Any]:
    extra = {"trains_from_seed": results.seed, "rewind_point": str(k), "copy": copy}
    if group == "ticket":
        extra["ticket"] = ticket_extra(results.experiment.params)
    return extra


def copy_results(results: SeedResults, copy: int) -> SeedResults:
    """The copy's runs: their own seed (its data order), θ_k from this seed."""
    return dataclasses.replace(results, seed=results.seed + copy * COPY_SEED_OFFSET)


def copy_run(results: SeedResults, k: Any, copy: int, group: str | None = None) -> Run:
    return copy_results(results, copy).run_for(copy_extra(results, k, copy, group))
