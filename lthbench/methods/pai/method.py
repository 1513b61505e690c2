"""The pai method: plan and read one seed's dense network and its pruned-at-init networks;
``run`` hands over to :mod:`.train`."""

from __future__ import annotations

import sys
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from lthbench.methods.base import (
    RUN_METRICS,
    Experiment,
    Method,
    PlannedTraining,
    SeedResults,
    reference_problem,
    register_method,
)
from lthbench.methods.pai.identity import FIGURES, pruned_extra
from lthbench.methods.pai.params import PaiParams
from lthbench.methods.records import RunRecord
from lthbench.methods.training_cost import run_flops
from lthbench.store import Run

if TYPE_CHECKING:
    from torch import nn

    from lthbench.run.context import Context

DENSITY_KEYS = ("density", "min_density", "max_density")


class PaiRecord(RunRecord):
    """The dense network (round 0) or one pruned at initialisation to a target density."""

    round: int
    density: float
    target_density: float | None = None
    criterion: str | None = None
    layer_densities: dict[str, float] | None = None


@register_method
class Pai(Method):
    name = "pai"
    Params = PaiParams
    Record = PaiRecord
    metrics = RUN_METRICS | {"density", "target_density", "round"}

    def claim_problem(self, claim: Any, params: Any) -> str | None:
        problem = reference_problem(claim.reference, {"dense", *params.controls})
        if problem:
            return problem
        for key in claim.where:
            if key not in ("control", "round", "for_all", *DENSITY_KEYS):
                return f"where.{key}: pai results are selected by density, round and control"
        control = claim.where.get("control")
        if control is not None and control not in params.controls:
            return (
                f"where.control: {control!r} is not among this entry's controls {params.controls}"
            )
        round_ = claim.where.get("round")
        if round_ is not None and not (isinstance(round_, int)
                                       and 0 <= round_ <= len(params.densities)):  # fmt: skip
            return (
                f"where.round: {round_!r} is not a round of this entry (0-{len(params.densities)})"
            )
        for key in DENSITY_KEYS:
            value = claim.where.get(key)
            if value is not None and not (isinstance(value, float | int) and 0 < value <= 1):
                return f"where.{key}: {value!r} is not in (0, 1]"
        return None

    def check_fit(self, experiment: Experiment, model: nn.Module) -> None:
        from lthbench.errors import UserError

        params: PaiParams = experiment.params
        if not params.rule(params.densities[-1]).weights(model):
            raise UserError("method.params: the network has no prunable weights under this rule")

    def planned_training(self, experiment: Experiment) -> list[PlannedTraining]:
        params: PaiParams = experiment.params
        total = experiment.total_iterations
        per_density = 1 + len(params.controls)
        return [PlannedTraining("dense", total),
                PlannedTraining("pruned", total, networks=len(params.densities) * per_density)]  # fmt: skip

    # -- identities ---------------------------------------------------------------------
    def plan(self, results: SeedResults, params: Any) -> list[Run]:
        return [results.run_for()] + [
            results.run_for(pruned_extra(params, d, c))
            for d in params.densities for c in (None, *params.controls)
        ]  # fmt: skip

    def pending(self, results: SeedResults, params: Any) -> bool:
        runs = self.plan(results, params)
        return any(results.inspect(run)[1] is None for run in runs) or any(
            run.figures(FIGURES) is None for run in runs[1:]
        )

    # -- training -----------------------------------------------------------------------
    def run(self, context: Context, params: Any) -> None:
        from lthbench.methods.pai.train import train_seed

        train_seed(context, params)

    def training_flops(self, experiment: Experiment, records: list[dict[str, Any]],
                       forward: Mapping[str, int]) -> list[float | None]:  # fmt: skip
        """Each network its own run (scoring one batch is negligible beside training)."""
        batch = experiment.training.batch_size
        return [run_flops(forward, r.get("layer_densities"), r["iterations"], batch)
                for r in records]  # fmt: skip

    # -- reading ------------------------------------------------------------------------
    def records(self, results: SeedResults, params: Any) -> list[dict[str, Any]]:
        dense = results.result()
        if dense is None:
            return []
        records = [{**dense, "round": 0, "control": None, "density": 1.0, "target_density": 1.0,
                    "criterion": params.criterion}]  # fmt: skip
        for round_, target in enumerate(params.densities, start=1):
            for control in (None, *params.controls):
                extra = pruned_extra(params, target, control)
                result = results.result(extra)
                if result is None:
                    continue
                figures = results.run_for(extra).figures(FIGURES)
                if figures is None:
                    print(f"warning: run {result['run_id']}: its mask figures are not computed "
                          "yet (`lthbench run` computes them); not counted", file=sys.stderr)  # fmt: skip
                    continue
                records.append({**result, "round": round_, "control": control,
                                "target_density": target, "criterion": params.criterion,
                                **figures})  # fmt: skip
        return records
