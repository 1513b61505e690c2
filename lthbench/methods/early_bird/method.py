"""The early_bird method: plan and read the search, EB-Train and the baselines of one seed
(see the package's docstring for what each is); ``run`` hands over to :mod:`.train`."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

from lthbench.errors import UserError
from lthbench.methods.base import (
    RUN_METRICS,
    Experiment,
    Method,
    PlannedTraining,
    SeedResults,
    reference_problem,
    register_method,
)
from lthbench.methods.early_bird.identity import (
    DENSE_COSTS,
    DETECTION,
    SLIM_COSTS,
    eb_trains,
    search_extra,
    slim_extra,
)
from lthbench.methods.early_bird.params import EarlyBirdParams, ratio_key
from lthbench.methods.records import RunRecord
from lthbench.methods.units import AT_AN_EVALUATION, Unit
from lthbench.store import Run

if TYPE_CHECKING:
    from lthbench.run.context import Context


def draw_step(reference: float, cost: float, shift: float) -> float:
    """How far a saving ``reference / cost`` moves when the draw moves by one evaluation
    interval, which changes ``cost`` by ``±shift``: the step of the saving's grid (a draw is
    seen only at an evaluation), so a saving is never resolved more finely than its draw."""
    moved = [abs(reference / (cost + d) - reference / cost) for d in (shift, -shift)
             if cost + d > 0]  # fmt: skip
    return max(moved, default=0.0)


def _after_full_search(dense_step: int, search: dict[str, Any], slim: dict[str, Any]) -> int:
    """Training FLOPs of a prune-after-training pipeline: the whole search on the dense network,
    then the slim run's steps."""
    return dense_step * search["iterations"] + slim["step_flops"] * slim["iterations"]


class EarlyBirdRecord(RunRecord):
    """The dense run (``phase`` 'dense'), EB-Train from a drawn ticket ('eb_train'), or a
    baseline at a channel pruning ratio; costs are FLOPs and seconds, savings ratios."""

    phase: str
    ratio: float | None = None
    drawn: float | None = None
    """1.0 when the detector drew a ticket within the budget, 0.0 when not."""
    draw_iteration: int | None = None
    draw_epoch: float | None = None
    draw_fraction: float | None = None
    distance_matrix: list[Any] | None = None
    mask_epochs: list[Any] | None = None
    search_precision: str | None = None
    search_schedule: str | None = None
    search_wall_time_s: float | None = None
    total_wall_time_s: float | None = None
    step_flops: int | None = None
    inference_flops: int | None = None
    parameters: int | None = None
    training_flops: float | None = None
    channel_density: float | None = None
    parameter_density: float | None = None
    """The slim network's parameters ÷ the dense network's: where it stands beside
    unstructured sparse results (pages that match results by density place it there)."""
    requested_channel_density: float | None = None
    emptied_layers: list[str] | None = None
    training_flops_saving_vs_dense: float | None = None
    training_flops_saving_vs_slimming: float | None = None
    wall_time_saving_vs_dense: float | None = None
    wall_time_saving_vs_slimming: float | None = None
    steps: dict[str, float] | None = None
    """The grid of a derived metric (a saving moves by this when the draw moves one
    evaluation), for the claims' resolution."""


@register_method
class EarlyBird(Method):
    name = "early_bird"
    Record = EarlyBirdRecord
    Params = EarlyBirdParams
    metrics = RUN_METRICS | {
        "ratio", "drawn", "draw_epoch", "draw_iteration", "draw_fraction", "training_flops",
        "training_flops_saving_vs_dense", "training_flops_saving_vs_slimming",
        "wall_time_saving_vs_dense", "wall_time_saving_vs_slimming", "step_flops",
        "inference_flops", "parameters", "channel_density", "parameter_density",
    }  # fmt: skip
    units = {  # a draw is seen only at an evaluation: its grid is the evaluation interval
        "draw_iteration": AT_AN_EVALUATION, "draw_epoch": Unit("epochs"),
        "draw_fraction": Unit("budget"),
    }  # fmt: skip

    def claim_problem(self, claim: Any, params: Any) -> str | None:
        problem = reference_problem(claim.reference, {"dense", *params.baselines})
        if problem:
            return problem
        for key in claim.where:
            if key not in ("ratio", "control"):
                return f"where.{key}: early_bird results are selected by 'ratio' and 'control'"
        control = claim.where.get("control")
        if control is not None and control not in params.baselines:
            return (
                f"where.control: {control!r} is not among this entry's baselines {params.baselines}"
            )
        ratio = claim.where.get("ratio")
        if ratio is not None and ratio not in params.ratios:
            return f"where.ratio: {ratio!r} is not among this entry's ratios {params.ratios}"
        return None

    def min_evaluations(self, params: Any) -> int:
        return params.window + 1  # the detector's FIFO, filled, and one more to draw

    def check(self, experiment: Experiment) -> None:
        params: EarlyBirdParams = experiment.params
        hp = experiment.training
        evaluations = experiment.total_iterations // experiment.eval_iterations
        if evaluations < params.window:
            raise UserError(
                f"training.duration: {hp.duration} gives {evaluations} evaluations (every "
                f"{hp.eval_interval}), fewer than the detector's window of {params.window}"
            )
        if params.search_schedule == "early_decay" and not hp.milestones:
            raise UserError(
                "method.params.search_schedule: 'early_decay' moves the entry's first "
                "milestone to the start, and training.milestones is empty"
            )

    def plan(self, results: SeedResults, params: Any) -> list[Run]:
        """Every run; once the search's draws are known, none for a ticket never drawn."""
        search = results.run_for(search_extra(params))
        detection = search.figures(DETECTION) or {}
        runs = [results.run_for(), search]
        total = results.experiment.total_iterations
        for ratio in params.ratios:
            draw = detection.get(ratio_key(ratio), {}).get("draw_iteration", 0)
            for phase in ("eb_train", *params.baselines):
                if phase == "eb_train" and not eb_trains(draw, total):
                    continue
                if phase == "scratch" and draw is None:
                    continue
                runs.append(results.run_for(slim_extra(params, ratio, phase)))
        return runs

    def planned_training(self, experiment: Experiment) -> list[PlannedTraining]:
        """The dense baseline, the search, and per ratio EB-Train and each baseline. A slim
        network is counted at the dense network's cost, and the draw is not known before the
        search, so everything after the dense run is an upper bound."""
        params: EarlyBirdParams = experiment.params
        total = experiment.total_iterations
        finetune = total if params.finetune is None else experiment.iterations(params.finetune)
        phases = {"network_slimming": finetune, "scratch": total, "lottery_oneshot": total}
        plan = [
            PlannedTraining("dense", total),
            PlannedTraining("search", total, at_most=not params.full_search),
            PlannedTraining("eb_train", total, networks=len(params.ratios), at_most=True),
        ]
        plan += [PlannedTraining(phase, phases[phase], networks=len(params.ratios), at_most=True)
                 for phase in params.baselines]  # fmt: skip
        return plan

    # -- training -----------------------------------------------------------------------
    def run(self, context: Context, params: Any) -> None:
        from lthbench.methods.early_bird.train import Search

        Search(context, params).train()

    def pending(self, results: SeedResults, params: Any) -> bool:
        search = results.run_for(search_extra(params))
        return (
            super().pending(results, params)
            or results.run_for().figures(DENSE_COSTS) is None
            or search.figures(DETECTION) is None
        )

    # -- reading ------------------------------------------------------------------------
    def records(self, results: SeedResults, params: Any) -> list[dict[str, Any]]:
        records: list[dict[str, Any]] = []
        costs = results.run_for().figures(DENSE_COSTS)
        dense = results.result()
        if dense is not None and costs is None:
            print(f"warning: run {dense['run_id']}: its costs are not computed yet "
                  "(`lthbench run` computes them); not counted", file=sys.stderr)  # fmt: skip
            return records
        if dense is not None:
            dense = {
                **dense, "round": 0, "phase": "dense", "ratio": None, "control": None,
                **costs, "training_flops": costs["step_flops"] * dense["iterations"],
                "channel_density": 1.0,
            }  # fmt: skip
            records.append(dense)
        search = results.result(search_extra(params))
        if search is None or costs is None:
            return records
        dense_step = costs["step_flops"]
        detection = results.run_for(search_extra(params)).figures(DETECTION)
        if detection is None:
            print(f"warning: run {search['run_id']}: its ticket draws are not computed yet "
                  "(`lthbench run` computes them); not counted", file=sys.stderr)  # fmt: skip
            return records
        for ratio in params.ratios:
            slimming = self._slim_record(results, params, ratio, "network_slimming")
            if slimming is not None:
                slimming["training_flops"] = _after_full_search(dense_step, search, slimming)
                slimming["total_wall_time_s"] = search["wall_time_s"] + slimming["wall_time_s"]
                records.append(slimming)
            ticket = self._ticket_record(results, params, ratio, detection[ratio_key(ratio)],
                                         dense, dense_step, slimming)  # fmt: skip
            records.append(ticket)
            lottery = self._slim_record(results, params, ratio, "lottery_oneshot")
            if lottery is not None:
                lottery["training_flops"] = _after_full_search(dense_step, search, lottery)
                records.append(lottery)
            scratch = self._slim_record(results, params, ratio, "scratch")
            if ticket["drawn"] and scratch is not None:
                scratch["training_flops"] = scratch["step_flops"] * scratch["iterations"]
                records.append(scratch)
        return records

    def _slim_record(self, results: SeedResults, params: EarlyBirdParams, ratio: float,
                     phase: str) -> dict[str, Any] | None:  # fmt: skip
        """A slim run's result with its costs (None: not stored, or not this entry's)."""
        if phase != "eb_train" and phase not in params.baselines:
            return None
        extra = slim_extra(params, ratio, phase)
        result = results.result(extra)
        if result is None:
            return None
        costs = results.run_for(extra).figures(SLIM_COSTS) or {}
        dense = results.run_for().figures(DENSE_COSTS) or {}
        if costs.get("parameters") and dense.get("parameters"):
            costs = {**costs, "parameter_density": costs["parameters"] / dense["parameters"]}
        return {
            **result, **costs, "round": None,
            "phase": phase, "ratio": ratio, "control": None if phase == "eb_train" else phase,
        }  # fmt: skip

    def _ticket_record(
        self, results: SeedResults, params: EarlyBirdParams, ratio: float, found: dict[str, Any],
        dense: dict[str, Any] | None, dense_step: int, slimming: dict[str, Any] | None,
    ) -> dict[str, Any]:  # fmt: skip
        """EB-Train: the search up to the draw, the detector, then the slim network.

        ``iterations`` and ``wall_time_s`` are the slim run's; ``training_flops`` and
        ``total_wall_time_s`` add the search up to the draw."""
        total = results.experiment.total_iterations
        start = found["draw_iteration"]
        ticket: dict[str, Any] = {
            "round": None, "phase": "eb_train", "ratio": ratio, "control": None,
            "drawn": 0.0 if start is None else 1.0, "draw_iteration": start,
            "draw_epoch": None if start is None else start / results.iterations_per_epoch,
            "draw_fraction": None if start is None else start / total,
            "distance_matrix": found["distance_matrix"], "mask_epochs": found["epochs"],
            "search_precision": params.search_precision,
            "search_schedule": params.search_schedule,
        }  # fmt: skip
        trained = (
            self._slim_record(results, params, ratio, "eb_train")
            if eb_trains(start, total)
            else None
        )
        if trained is None:
            return ticket
        search_wall = found["search_wall_time_s"]
        flops = dense_step * start + found["detector_flops"] + (
            trained["step_flops"] * trained["iterations"])  # fmt: skip
        wall = search_wall + trained["wall_time_s"]
        ticket.update({
            **trained, "control": None, "training_flops": flops,
            "search_wall_time_s": search_wall, "total_wall_time_s": wall,
        })  # fmt: skip
        # one evaluation interval later (earlier) the draw moves that many steps from the slim
        # network to the dense one (back): the grid a saving inherits from the draw's
        interval = results.experiment.eval_iterations
        flops_shift = interval * (dense_step - trained["step_flops"])
        wall_shift = interval * (search_wall / max(start, 1)
                                 - trained["wall_time_s"] / max(trained["iterations"], 1))  # fmt: skip
        savings = {}
        if dense is not None:
            savings["training_flops_saving_vs_dense"] = (
                dense["training_flops"],
                flops,
                flops_shift,
            )
            savings["wall_time_saving_vs_dense"] = (dense["wall_time_s"], wall, wall_shift)
        if slimming is not None:
            savings["training_flops_saving_vs_slimming"] = (
                slimming["training_flops"],
                flops,
                flops_shift,
            )
            savings["wall_time_saving_vs_slimming"] = (
                slimming["total_wall_time_s"],
                wall,
                wall_shift,
            )
        ticket["steps"] = {}
        for name, (reference, cost, shift) in savings.items():
            ticket[name] = reference / cost
            ticket["steps"][name] = draw_step(reference, cost, shift)
        return ticket
