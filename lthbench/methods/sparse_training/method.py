"""The sparse_training method: plan and read one seed's dense network and its sparse ones;
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
from lthbench.methods.sparse_records import (
    SPARSE_METRICS,
    SparseRecord,
    density_problem,
    pending,
    sparse_records,
)
from lthbench.methods.sparse_training.identity import FIGURES, sparse_extra
from lthbench.methods.sparse_training.params import SparseTrainingParams
from lthbench.store import Run

if TYPE_CHECKING:
    from torch import nn

    from lthbench.run.context import Context


@register_method
class SparseTraining(Method):
    name = "sparse_training"
    Params = SparseTrainingParams
    Record = SparseRecord
    metrics = SPARSE_METRICS

    def claim_problem(self, claim: Any, params: Any) -> str | None:
        return reference_problem(claim.reference, {"dense", *params.baselines}) or (
            density_problem(claim, len(params.densities), tuple(params.baselines))
        )

    def check(self, experiment: Experiment) -> None:
        params: SparseTrainingParams = experiment.params
        total = experiment.total_iterations
        if params.update_end is not None and experiment.iterations(params.update_end) > total:
            raise UserError(f"method.params.update_end: {params.update_end} is after the end "
                            f"of training ({experiment.training.duration})")  # fmt: skip
        if experiment.iterations(params.update_interval) >= total:
            raise UserError(f"method.params.update_interval: {params.update_interval} leaves "
                            f"no update inside {experiment.training.duration}")  # fmt: skip

    def check_fit(self, experiment: Experiment, model: nn.Module) -> None:
        from lthbench.methods.sparse_training.train import sparse_weights

        params: SparseTrainingParams = experiment.params
        if not sparse_weights(model, params):
            raise UserError("method.params: the network has no weights to keep sparse")

    def planned_training(self, experiment: Experiment) -> list[PlannedTraining]:
        params: SparseTrainingParams = experiment.params
        total = experiment.total_iterations
        per_density = 1 + len(params.baselines)
        return [PlannedTraining("dense", total),
                PlannedTraining("sparse", total, networks=len(params.densities) * per_density)]  # fmt: skip

    def _extras(
        self, params: SparseTrainingParams
    ) -> dict[tuple[float, str | None], dict[str, Any]]:
        return {(d, u if u != params.update else None): sparse_extra(params, d, u)
                for d in params.densities for u in (params.update, *params.baselines)}  # fmt: skip

    def plan(self, results: SeedResults, params: Any) -> list[Run]:
        return [results.run_for()] + [results.run_for(e) for e in self._extras(params).values()]

    def pending(self, results: SeedResults, params: Any) -> bool:
        return pending(results, self.plan(results, params), FIGURES)

    def run(self, context: Context, params: Any) -> None:
        from lthbench.methods.sparse_training.train import train_seed

        train_seed(context, params)

    def records(self, results: SeedResults, params: Any) -> list[dict[str, Any]]:
        fields = {"update": params.update, "distribution": params.distribution}
        return sparse_records(results, self._extras(params), FIGURES, fields)
