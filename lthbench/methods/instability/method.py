"""The instability method: plan and read one seed's training from θ0, its copies from each
θ_k and their paths; ``run`` hands over to :mod:`.train`."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

from lthbench.errors import UserError
from lthbench.methods.base import (
    Experiment,
    Method,
    PlannedTraining,
    SeedResults,
    register_method,
)
from lthbench.methods.instability.params import COPY_SEED_OFFSET, InstabilityParams
from lthbench.store import Run

if TYPE_CHECKING:
    from lthbench.run.context import Context

COPIES = (1, 2)


def path_figures(params: InstabilityParams) -> str:
    """The path's errors and barriers, kept with copy 2 (per number of points)."""
    return f"instability-path-{params.points}"


@register_method
class Instability(Method):
    name = "instability"
    Params = InstabilityParams
    metrics = frozenset({"train_barrier", "test_barrier", "rewind_iteration",
                         "final_test_accuracy", "final_train_accuracy", "round"})  # fmt: skip

    def claim_problem(self, claim: Any, params: Any) -> str | None:
        if isinstance(claim.reference, str):
            return "reference: instability claims compare with numbers (e.g. a barrier of 0.02)"
        for key in claim.where:
            if key != "round":
                return f"where.{key}: instability results are selected by round (a rewind point)"
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
        return [PlannedTraining("from θ0", total)] + [
            PlannedTraining(f"copies from {k}", total - experiment.iterations(k), networks=2)
            for k in params.rewind_points
        ]

    # -- identities ---------------------------------------------------------------------
    def parent_extra(self, params: InstabilityParams) -> dict[str, Any]:
        return {"saves_states_at": [str(k) for k in params.rewind_points]}

    def copy_extra(self, results: SeedResults, k: Any, copy: int) -> dict[str, Any]:
        return {"trains_from_seed": results.seed, "rewind_point": str(k), "copy": copy}

    def copy_results(self, results: SeedResults, copy: int) -> SeedResults:
        """The copy's runs: their own seed (its data order), θ_k from this seed."""
        return dataclasses.replace(results, seed=results.seed + copy * COPY_SEED_OFFSET)

    def copy_run(self, results: SeedResults, k: Any, copy: int) -> Run:
        return self.copy_results(results, copy).run_for(self.copy_extra(results, k, copy))

    def plan(self, results: SeedResults, params: Any) -> list[Run]:
        return [results.run_for(self.parent_extra(params))] + [
            self.copy_run(results, k, c) for k in params.rewind_points for c in COPIES
        ]

    def pending(self, results: SeedResults, params: Any) -> bool:
        return super().pending(results, params) or any(
            self.copy_run(results, k, 2).figures(path_figures(params)) is None
            for k in params.rewind_points
        )

    # -- training -----------------------------------------------------------------------
    def run(self, context: Context, params: Any) -> None:
        from lthbench.methods.instability.train import train_seed

        train_seed(self, context, params)

    # -- reading ------------------------------------------------------------------------
    def records(self, results: SeedResults, params: Any) -> list[dict[str, Any]]:
        records = []
        for round_, k in enumerate(params.rewind_points):
            ends = [self.copy_results(results, c).result(self.copy_extra(results, k, c))
                    for c in COPIES]  # fmt: skip
            path = self.copy_run(results, k, 2).figures(path_figures(params))
            if None in ends or path is None:
                continue
            first, second = ends
            assert first is not None and second is not None
            records.append({
                **first, "seed": results.seed, "round": round_, "control": None,
                "rewind_point": str(k), "rewind_iteration": results.experiment.iterations(k),
                "final_test_accuracy": (first["final_test_accuracy"]
                                        + second["final_test_accuracy"]) / 2,
                "final_train_accuracy": (first["final_train_accuracy"]
                                         + second["final_train_accuracy"]) / 2,
                "train_barrier": path["train_barrier"], "test_barrier": path["test_barrier"],
                "path": path,
            })  # fmt: skip
        return records
