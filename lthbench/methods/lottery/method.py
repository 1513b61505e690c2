"""The lottery method: plan, train and read the rounds of one seed (see the package's
docstring for what a round is)."""

from __future__ import annotations

import sys
from collections.abc import Mapping
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
from lthbench.methods.lottery.identity import dense_extra, figures_name, round_extra
from lthbench.methods.lottery.params import LotteryParams
from lthbench.methods.records import RunRecord
from lthbench.methods.training_cost import run_flops
from lthbench.spec.density import DENSITY_MATCH, stands_for
from lthbench.store import Run
from lthbench.store.runs import StateKind

if TYPE_CHECKING:
    from torch import nn

    from lthbench.run.context import Context


class LotteryRecord(RunRecord):
    """A round's ticket (``control`` None) or control, after training."""

    round: int
    density: float
    """Weights kept over prunable weights (a fraction)."""
    layer_densities: dict[str, float]
    strategy: str
    weight_movement_kept: float | None = None
    """How far the weights the next pruning keeps moved from their start, over all unpruned
    weights' movement (Zhou et al.'s 'large final' criterion, as a ratio)."""
    weight_movement_all: float | None = None


@register_method
class Lottery(Method):
    name = "lottery"
    Params = LotteryParams
    Record = LotteryRecord
    metrics = RUN_METRICS | {"density", "round", "weight_movement_kept", "weight_movement_all"}

    def claim_problem(self, claim: Any, params: Any) -> str | None:
        problem = reference_problem(claim.reference, {"dense", *params.controls})
        if problem:
            return problem
        control = claim.where.get("control")
        if control is not None and control not in params.controls:
            return (
                f"where.control: {control!r} is not among this entry's controls {params.controls}"
            )
        round_ = claim.where.get("round")
        if round_ is not None and not (isinstance(round_, int) and 0 <= round_ <= params.rounds):
            return f"where.round: {round_!r} is not a round of this entry (0-{params.rounds})"
        for key in ("density", "min_density", "max_density"):
            value = claim.where.get(key)
            if value is not None and not (isinstance(value, float | int) and 0 < value <= 1):
                return f"where.{key}: {value!r} is not in (0, 1]"
        low, high = claim.where.get("min_density", 0.0), claim.where.get("max_density", 1.0)
        if ("min_density" in claim.where or "max_density" in claim.where) and (
            "for_all" in claim.where
        ):
            return None
        if ("min_density" in claim.where or "max_density" in claim.where) and (
            "density" not in claim.where or not low <= claim.where["density"] <= high  # type: ignore[operator]
        ):
            return "where.density: a density range needs a density inside it"
        return None

    def min_evaluations(self, params: Any) -> int:
        stop = params.early_bird_stop
        return 2 if stop is None else stop.window + 1

    def check(self, experiment: Experiment) -> None:
        params: LotteryParams = experiment.params
        total = experiment.total_iterations
        points = (("reset", "rewind point", params.rewind_point),
                  ("reset.lr_rewind", "rewind point",
                   getattr(params.reset, "lr_rewind", None)),
                  ("prune_at", "pruning point", params.prune_at))  # fmt: skip
        for key, what, point in points:
            if point is not None and experiment.iterations(point) >= total:
                raise UserError(
                    f"method.params.{key}: {what} {point} is not before the end of training "
                    f"({experiment.training.duration})"
                )
        budget = params.finetune_budget
        if budget is not None and experiment.iterations(budget) > total:
            raise UserError(f"method.params.finetune_budget: {budget} is longer than the "
                            f"training duration ({experiment.training.duration}); fine-tuning "
                            "retrains the data order's last steps")  # fmt: skip
        start = params.retrain_start(experiment.iterations, total)
        if params.prune_at is not None and experiment.iterations(params.prune_at) < start:
            rewind = params.rewind_point or getattr(params.reset, "lr_rewind", None)
            where = (f"the rewind point {rewind}" if rewind is not None
                     else f"step {start}, where fine-tuning starts")  # fmt: skip
            raise UserError(
                f"method.params.prune_at: {params.prune_at} is before {where}; rounds after "
                "the first start there, so they have no weights at that step"
            )

    def check_fit(self, experiment: Experiment, model: nn.Module) -> None:
        params: LotteryParams = experiment.params
        unmatched = params.rule.unmatched(model)
        if unmatched:
            some = ", ".join(name for name, _ in list(model.named_modules())[1:6])
            raise UserError(f"method.params: pattern(s) {', '.join(map(repr, unmatched))} in "
                            f"layer_fractions or exclude match no module of {experiment.model.name} "
                            f"(module names are like {some})")  # fmt: skip
        emptied = params.rule.emptied(model, params.rounds)
        if emptied is not None:
            name, kept, size = emptied
            key = "target_density" if params.target_density is not None else "rounds"
            raise UserError(
                f"method.params.{key}: after {params.rounds} rounds {name} would keep "
                f"{kept:.2g} of its {size} weights; the target is unreachable"
            )
        self._check_claim_densities(experiment, model)
        if not params.vectorise:
            return

        from lthbench.train.vectorised import not_vectorisable

        reason = not_vectorisable(model, experiment.precision, experiment.training.channels_last)
        if reason is None and params.reset == "finetune":
            reason = "fine-tuning trains with its own learning rate, outside the batched loop"
        if reason is None and params.early_bird_stop is not None:
            reason = "early_bird_stop ends each run at its own time"
        if reason is None and not params.controls:
            reason = "without controls a round is one run; there is nothing to batch"
        if reason is not None:
            raise UserError(f"method.params.vectorise: cannot vectorise: {reason}")

    def _check_claim_densities(self, experiment: Experiment, model: nn.Module) -> None:
        """A claim at a density no round reaches (within the match factor) would always read
        'missing': an error at validation, not a surprise after training."""
        params: LotteryParams = experiment.params
        reached = [params.rule.expected_density(model, r) for r in range(params.rounds + 1)]
        for index, claim in enumerate(experiment.claims):
            density = claim.where.get("density")
            if density is None:
                continue
            low = claim.where.get("min_density", 0.0)
            high = claim.where.get("max_density", 1.0)
            near = [d for d in reached if low <= d <= high and stands_for(d, density)]
            if not near:
                shown = ", ".join(f"{d:.3g}" for d in reached)
                raise UserError(
                    f"claims[{index}].where.density: {density:g} is not within a factor "
                    f"{DENSITY_MATCH:g} of any round's density ({shown}); the claim would "
                    "always be missing"
                )

    def plan(self, results: SeedResults, params: Any) -> list[Run]:
        extras = [round_extra(params, r, c) for r in range(1, params.rounds + 1)
                  for c in (None, *params.controls)]  # fmt: skip
        return [results.run_for(extra) for extra in [dense_extra(params), *extras]]

    def planned_training(self, experiment: Experiment) -> list[PlannedTraining]:
        """Round 0 for the whole duration (or until its Early-Bird stop), then each round's
        ticket and controls from its start (0, k, or T − the fine-tuning budget) to the end; a
        masked network is counted at its dense cost, as a GPU trains it."""
        params: LotteryParams = experiment.params
        total = experiment.total_iterations
        start = params.retrain_start(experiment.iterations, total)
        per_round = 1 + len(params.controls)
        return [
            PlannedTraining("round 0", total, at_most=params.early_bird_stop is not None),
            PlannedTraining("rounds", total - start, networks=params.rounds * per_round),
        ]

    # -- training -----------------------------------------------------------------------
    def run(self, context: Context, params: Any) -> None:
        from lthbench.methods.lottery.train import Chain

        Chain(context, params).train()
        if not context.experiment.training.keep_weights:
            for run, kind in self.releasable(context, params):
                run.release_state(kind)

    def pending(self, results: SeedResults, params: Any) -> bool:
        return any(
            results.inspect(run)[1] is None or run.figures(figures_name(params)) is None
            for run in self.plan(results, params)
        )

    def releasable(self, results: SeedResults, params: Any) -> list[tuple[Run, StateKind]]:
        """Round 0 is kept whole (every round reads it). A ticket or control of round r ≥ 1
        with its figures cached: its start weights (read by nothing after the figures), and
        its final weights and pruning weights unless a later round prunes from them: a
        control's never, an iterative ticket's once round r + 1 has its mask (the last stored
        round's are kept for a future extension), a one-shot ticket's never. Where rounds
        retrain the weights they were pruned from (fine-tuning, LR rewinding), round r + 1
        reads round r's final weights until it is complete."""
        name = figures_name(params)
        done = [r for r in range(1, params.rounds + 1)
                if results.run_for(round_extra(params, r)).complete]  # fmt: skip
        out: list[tuple[Run, StateKind]] = []
        for round_ in done:
            for control in (None, *params.controls):
                run = results.run_for(round_extra(params, round_, control))
                if not run.complete or run.figures(name) is None:
                    continue
                out.append((run, "init"))
                later = results.run_for(round_extra(params, round_ + 1))
                pruned_from = (
                    control is None
                    and params.strategy == "iterative"
                    and not (
                        round_ < params.rounds
                        and (later.complete if params.keeps_weights else later.has_mask())
                    )
                )
                if not pruned_from:
                    out += [(run, "final"), (run, "prune_from")]
        return out

    def training_flops(self, experiment: Experiment, records: list[dict[str, Any]],
                       forward: Mapping[str, int]) -> list[float | None]:  # fmt: skip
        """A ticket costs the chain that found it: round 0 and every round up to its own
        (iterative), or round 0 and its own (one-shot); a control costs the chain that found
        its mask and its own run. Each round counts the steps it trained, from its start."""
        params: LotteryParams = experiment.params
        batch = experiment.training.batch_size
        start = params.retrain_start(experiment.iterations, experiment.total_iterations)

        def own(record: dict[str, Any]) -> float:
            steps = record["iterations"] - (start if record["round"] else 0)
            densities = record.get("layer_densities") if record["round"] else None
            return run_flops(forward, densities, steps, batch)

        tickets = {r["round"]: own(r) for r in records if r.get("control") is None}

        def chain(up_to: int) -> float | None:
            rounds = range(up_to + 1) if params.strategy == "iterative" else {0, up_to}
            if any(r not in tickets for r in rounds):
                return None
            return sum(tickets[r] for r in rounds)

        out: list[float | None] = []
        for record in records:
            if record.get("control") is None:
                out.append(chain(record["round"]))
                continue
            found = chain(record["round"] - 1 if params.strategy == "iterative" else 0)
            out.append(None if found is None else found + own(record))
        return out

    # -- reading ------------------------------------------------------------------------
    def records(self, results: SeedResults, params: Any) -> list[dict[str, Any]]:
        """Round by round, up to the first round whose ticket is not stored."""
        records: list[dict[str, Any]] = []
        for round_ in range(params.rounds + 1):
            for control in (None, *params.controls) if round_ else (None,):
                record = self._record(results, params, round_, control)
                if record is None and control is None:
                    return records
                records += [record] if record is not None else []
        return records

    def _record(self, results: SeedResults, params: LotteryParams, round_: int,
                control: str | None) -> dict[str, Any] | None:  # fmt: skip
        extra = round_extra(params, round_, control)
        result = results.result(extra)
        if result is None:
            return None
        figures = results.run_for(extra).figures(figures_name(params))
        if figures is None and round_ == 0:
            return None  # a dense run another entry trained: this entry has not run yet
        if figures is None:
            print(f"warning: run {result['run_id']}: its mask figures are not computed yet "
                  "(`lthbench run` computes them); not counted", file=sys.stderr)  # fmt: skip
            return None
        return {**result, "round": round_, "control": control, "strategy": params.strategy,
                **figures}  # fmt: skip
