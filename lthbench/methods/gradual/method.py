"""The gradual method: plan and read one seed's dense network and its gradually pruned ones;
``run`` hands over to :mod:`.train`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from lthbench.errors import UserError
from lthbench.methods.base import (
    Experiment,
    Method,
    PlannedTraining,
    SeedResults,
    reference_problem,
    register_method,
)
from lthbench.methods.gradual.identity import FIGURES, pruned_extra
from lthbench.methods.gradual.params import GradualParams
from lthbench.methods.sparse_records import (
    SPARSE_METRICS,
    SparseRecord,
    density_problem,
    pending,
    sparse_records,
)
from lthbench.store import Run

if TYPE_CHECKING:
    from torch import nn

    from lthbench.run.context import Context


@register_method
class Gradual(Method):
    name = "gradual"
    Params = GradualParams
    Record = SparseRecord
    metrics = SPARSE_METRICS

    def claim_problem(self, claim: Any, params: Any) -> str | None:
        return reference_problem(claim.reference, {"dense"}) or density_problem(
            claim, len(params.densities)
        )

    def check(self, experiment: Experiment) -> None:
        params: GradualParams = experiment.params
        start, end, every = (experiment.iterations(d) for d in (params.start, params.end,
                                                                 params.frequency))  # fmt: skip
        if not start < end <= experiment.total_iterations:
            raise UserError(f"method.params.end: {params.end} must be after start "
                            f"({params.start}) and within the training duration "
                            f"({experiment.training.duration})")  # fmt: skip
        if every > end - start:
            raise UserError(f"method.params.frequency: {params.frequency} ({every} steps) is "
                            f"longer than the schedule from start to end ({end - start} steps)")  # fmt: skip

    def check_fit(self, experiment: Experiment, model: nn.Module) -> None:
        from lthbench.prune.mask import prunable_weights

        params: GradualParams = experiment.params
        if not prunable_weights(model, params.include_output, params.exclude):
            raise UserError("method.params: the network has no prunable weights under this rule")

    def planned_training(self, experiment: Experiment) -> list[PlannedTraining]:
        params: GradualParams = experiment.params
        total = experiment.total_iterations
        return [PlannedTraining("dense", total),
                PlannedTraining("gradual", total, networks=len(params.densities))]  # fmt: skip

    def plan(self, results: SeedResults, params: Any) -> list[Run]:
        return [results.run_for()] + [results.run_for(pruned_extra(params, d))
                                      for d in params.densities]  # fmt: skip

    def pending(self, results: SeedResults, params: Any) -> bool:
        return pending(results, self.plan(results, params), FIGURES)

    def run(self, context: Context, params: Any) -> None:
        from lthbench.methods.gradual.train import train_seed

        train_seed(context, params)

    def records(self, results: SeedResults, params: Any) -> list[dict[str, Any]]:
        extras = {(d, None): pruned_extra(params, d) for d in params.densities}
        return sparse_records(results, extras, FIGURES, {"criterion": params.criterion})
