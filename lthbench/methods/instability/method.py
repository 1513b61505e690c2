"""The instability method: plan and read one seed's training from θ0, its copies from each
θ_k and their paths; ``run`` hands over to :mod:`.train`."""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING, Any

from lthbench.errors import UserError
from lthbench.methods.base import (
    Experiment,
    Method,
    PlannedTraining,
    SeedResults,
    register_method,
)
from lthbench.methods.instability.identity import (
    COPIES,
    copy_extra,
    copy_results,
    copy_run,
    groups,
    parent_extra,
    path_figures,
)
from lthbench.methods.instability.params import InstabilityParams
from lthbench.methods.lottery.method import Lottery
from lthbench.methods.records import RunRecord
from lthbench.methods.units import points
from lthbench.store import Run

if TYPE_CHECKING:
    from lthbench.run.context import Context


class InstabilityRecord(RunRecord):
    """Two copies trained from θ_k (``round``: k's place among the rewind points) and the
    error barrier on the straight path between them; accuracies are the copies' mean."""

    round: int
    density: float
    rewind_point: str
    rewind_iteration: int
    train_barrier: float
    """Largest train error on the path minus the mean of its end points' (a fraction)."""
    test_barrier: float
    path: dict[str, Any]


@register_method
class Instability(Method):
    name = "instability"
    Params = InstabilityParams
    Record = InstabilityRecord
    metrics = frozenset({"train_barrier", "test_barrier", "rewind_iteration",
                         "final_test_accuracy", "final_train_accuracy", "round"})  # fmt: skip
    units = {"train_barrier": points("train"), "test_barrier": points("test")}

    def claim_problem(self, claim: Any, params: Any) -> str | None:
        if isinstance(claim.reference, str):
            return "reference: instability claims compare with numbers (e.g. a barrier of 0.02)"
        for key in claim.where:
            if key not in ("round", "control"):
                return (f"where.{key}: instability results are selected by round (a rewind "
                        "point) and control ('ticket': the IMP ticket's copies)")  # fmt: skip
        control = claim.where.get("control")
        if control is not None and (control != "ticket" or params.ticket is None):
            return f"where.control: {control!r} is not this entry's ('ticket' with a ticket)"
        round_ = claim.where.get("round")
        if round_ is not None and not (isinstance(round_, int)
                                       and 0 <= round_ < len(params.rewind_points)):  # fmt: skip
            return (f"where.round: {round_!r} is not a rewind point's place "
                    f"(0-{len(params.rewind_points) - 1})")  # fmt: skip
        return None

    def check(self, experiment: Experiment) -> None:
        params: InstabilityParams = experiment.params
        ks = [experiment.iterations(k) for k in params.rewind_points]
        if ks != sorted(ks):
            raise UserError("method.params.rewind_points: list them in order, earliest first")
        for k, its in zip(params.rewind_points, ks, strict=True):
            if its >= experiment.total_iterations:
                raise UserError(f"method.params.rewind_points: {k} is not before the end of "
                                f"training ({experiment.training.duration})")  # fmt: skip

    def planned_training(self, experiment: Experiment) -> list[PlannedTraining]:
        params: InstabilityParams = experiment.params
        total = experiment.total_iterations
        groups = 1 if params.ticket is None else 2
        plan = [PlannedTraining("from θ0", total)] + [
            PlannedTraining(f"copies from {k}", total - experiment.iterations(k),
                            networks=2 * groups)
            for k in params.rewind_points
        ]  # fmt: skip
        if params.ticket is not None:  # the chain up to the ticket (shared with a lottery entry)
            chain = params.ticket.lottery
            plan.append(PlannedTraining("ticket chain", total,
                                        networks=chain.rounds * (1 + len(chain.controls))))  # fmt: skip
        return plan

    def plan(self, results: SeedResults, params: Any) -> list[Run]:
        runs = [results.run_for(parent_extra(params))]
        if params.ticket is not None:
            runs += Lottery().plan(results, params.ticket.lottery)
        return runs + [copy_run(results, k, c, g) for g in groups(params)
                       for k in params.rewind_points for c in COPIES]  # fmt: skip

    def pending(self, results: SeedResults, params: Any) -> bool:
        return super().pending(results, params) or any(
            copy_run(results, k, 2, g).figures(path_figures(params)) is None
            for g in groups(params)
            for k in params.rewind_points
        )

    # -- training -----------------------------------------------------------------------
    def run(self, context: Context, params: Any) -> None:
        from lthbench.methods.instability.train import train_seed

        train_seed(context, params)

    # -- reading ------------------------------------------------------------------------
    def records(self, results: SeedResults, params: Any) -> list[dict[str, Any]]:
        records = []
        for group, (round_, k) in itertools.product(groups(params),
                                                    enumerate(params.rewind_points)):  # fmt: skip
            ends = [copy_results(results, c).result(copy_extra(results, k, c, group))
                    for c in COPIES]  # fmt: skip
            path = copy_run(results, k, 2, group).figures(path_figures(params))
            if None in ends or path is None:
                continue
            first, second = ends
            assert first is not None and second is not None
            records.append({
                **first, "seed": results.seed, "round": round_, "control": group,
                "density": path.get("density", 1.0),
                "rewind_point": str(k), "rewind_iteration": results.experiment.iterations(k),
                "final_test_accuracy": (first["final_test_accuracy"]
                                        + second["final_test_accuracy"]) / 2,
                "final_train_accuracy": (first["final_train_accuracy"]
                                         + second["final_train_accuracy"]) / 2,
                "train_barrier": path["train_barrier"], "test_barrier": path["test_barrier"],
                "path": path,
            })  # fmt: skip
        return records
