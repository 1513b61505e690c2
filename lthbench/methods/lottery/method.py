"""The lottery method: plan, train and read the rounds of one seed (see the package's
docstring for what a round is)."""

from __future__ import annotations

import sys
from typing import Any

import torch
from torch import nn

from lthbench.errors import UserError
from lthbench.methods.base import (
    RUN_METRICS,
    Context,
    Experiment,
    Method,
    RunSpec,
    SeedResults,
    reference_problem,
    register_method,
)
from lthbench.methods.lottery.params import REINIT_SEED_OFFSET, LotteryParams
from lthbench.prune.distance import EarlyBirdDetector
from lthbench.prune.magnitude import random_mask_like
from lthbench.prune.mask import (
    Mask,
    apply_mask,
    density,
    full_mask,
    layer_densities,
    mask_hooks,
    mask_to_cpu,
    weight_movement,
)
from lthbench.spec.duration import Duration
from lthbench.store import Run
from lthbench.store.runs import StateKind, run_id
from lthbench.train import TrainHooks
from lthbench.train.vectorised import not_vectorisable


def _seed(seed: int, round_: int) -> int:
    """The seed of a criterion's randomness for the mask of ``round_`` (apart from the
    random_prune control's stream)."""
    return (seed * 1000 + round_) * 2 + 1


def _figures_name(params: LotteryParams) -> str:
    """Mask figures depend on the pruning rule too (round 0 is shared by entries), so they
    are cached per rule."""
    return f"figures-{run_id(params.chain_identity())[:12]}"


@register_method
class Lottery(Method):
    name = "lottery"
    Params = LotteryParams
    metrics = RUN_METRICS | {"density", "round", "weight_movement_kept", "weight_movement_all"}

    def claim_problem(self, claim: Any, params: Any) -> str | None:
        problem = reference_problem(claim.reference, {"dense", *params.controls})
        if problem:
            return problem
        if "ratio" in claim.where:
            return "where.ratio: lottery results are selected by density, round and control"
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
            "density" not in claim.where or not low <= claim.where["density"] <= high  # type: ignore[operator]
        ):
            return "where.density: a density range needs a density inside it"
        return None

    def check(self, experiment: Experiment) -> None:
        params: LotteryParams = experiment.params
        rewind, prune_at = params.rewind_point, params.prune_at
        if (
            rewind is not None
            and prune_at is not None
            and experiment.iterations(prune_at) < experiment.iterations(rewind)
        ):
            raise UserError(
                f"method.params.prune_at: {prune_at} is before the rewind point {rewind}; "
                "rewound rounds start there, so they have no weights at that step"
            )
        points = (("reset", "rewind point", params.rewind_point),
                  ("prune_at", "pruning point", params.prune_at))  # fmt: skip
        for key, what, point in points:
            if point is not None and experiment.iterations(point) >= experiment.total_iterations:
                raise UserError(
                    f"method.params.{key}: {what} {point} is not before the end of training "
                    f"({experiment.training.duration})"
                )

    def check_fit(self, experiment: Experiment, model: nn.Module) -> None:
        params: LotteryParams = experiment.params
        emptied = params.rule.emptied(model, params.rounds)
        if emptied is not None:
            name, kept, size = emptied
            key = "target_density" if params.target_density is not None else "rounds"
            raise UserError(
                f"method.params.{key}: after {params.rounds} rounds {name} would keep "
                f"{kept:.2g} of its {size} weights; the target is unreachable"
            )
        if not params.vectorise:
            return
        reason = not_vectorisable(model, experiment.precision)
        if reason is None and params.early_bird_stop is not None:
            reason = "early_bird_stop ends each run at its own time"
        if reason is None and params.rewind_point is not None:
            reason = "a rewound round starts at the rewind point's step (one-run loop only)"
        if reason is None and not params.controls:
            reason = "without controls a round is one run; there is nothing to batch"
        if reason is not None:
            raise UserError(f"method.params.vectorise: cannot vectorise: {reason}")

    # -- identities ---------------------------------------------------------------------
    def _dense_extra(self, params: LotteryParams) -> dict[str, Any]:
        rewind = params.rewind_point
        extra = {} if rewind is None else {"saves_state_at": str(rewind)}
        if params.prune_at is not None:
            extra["saves_pruning_weights_at"] = str(params.prune_at)
        if params.early_bird_stop is not None:
            extra["early_bird_stop"] = params.early_bird_stop.model_dump(mode="json")
        return extra

    def _extra(
        self, params: LotteryParams, round_: int, control: str | None = None
    ) -> dict[str, Any]:
        if round_ == 0:
            return self._dense_extra(params)
        extra: dict[str, Any] = {"lottery": params.chain_identity(), "round": round_}
        if params.rewind_point is not None:
            extra["trains_from"] = "rewind_point"
        if params.vectorise:
            extra["vectorised"] = True
        if control is not None:
            extra["control"] = control
        return extra

    def plan(self, results: SeedResults, params: Any) -> list[Run]:
        extras = [self._extra(params, r, c) for r in range(1, params.rounds + 1)
                  for c in (None, *params.controls)]  # fmt: skip
        return [results.run_for(extra) for extra in [self._dense_extra(params), *extras]]

    # -- training -----------------------------------------------------------------------
    def run(self, context: Context, params: Any) -> None:
        context.train_run(self._dense_extra(params), self._prepare_dense(context, params),
                          "round 0")  # fmt: skip
        self._cache_figures(context, params, 0, None)
        for round_ in range(1, params.rounds + 1):
            specs = self._round_specs(context, params, round_)
            if params.vectorise:
                context.train_together(specs)
            else:
                for spec in specs:
                    context.train_run(spec.extra, spec.prepare, spec.label,
                                      start_iteration=spec.start_iteration)  # fmt: skip
            for control in (None, *params.controls):
                self._cache_figures(context, params, round_, control)

    def _round_specs(self, context: Context, params: LotteryParams, round_: int) -> list[RunSpec]:
        """A round's runs: the ticket first (its prepare stores the mask the controls read),
        then each control. Rounds after the first start where their weights come from: θ0
        at step 0, θ_k at k."""
        rewind = params.rewind_point
        start = 0 if rewind is None else context.experiment.iterations(rewind)
        return [
            RunSpec(
                self._extra(params, round_, control),
                self._prepare_ticket(context, params, round_, start)
                if control is None
                else self._prepare_control(context, params, round_, control),
                f"round {round_}" + (f" {control}" if control else ""),
                start,
            )
            for control in (None, *params.controls)
        ]

    def _mask_of(self, context: Context, params: LotteryParams, round_: int,
                 model: nn.Module) -> Mask:  # fmt: skip
        if round_ == 0:
            return full_mask(params.rule.weights(model))
        stored = context.run_for(self._extra(params, round_)).mask()
        if stored is None:
            raise RuntimeError(f"round {round_} has no stored mask")
        return stored

    def _ticket_mask(self, context: Context, params: LotteryParams, round_: int,
                     model: nn.Module) -> Mask:  # fmt: skip
        """Prune the trained weights of the round this one grows from."""
        source = round_ - 1 if params.strategy == "iterative" else 0
        steps = 1 if params.strategy == "iterative" else round_
        kind: StateKind = "final" if params.prune_at is None else "prune_from"
        trained = context.run_for(self._extra(params, source)).state(kind)
        if trained is None:
            raise RuntimeError(f"round {source} has no {kind} weights")
        previous = self._mask_of(context, params, source, model)
        return params.rule.prune(model, trained, previous, steps, _seed(context.seed, round_))

    def _reset_state(self, context: Context, params: LotteryParams) -> dict[str, torch.Tensor]:
        kind: StateKind = "init" if params.rewind_point is None else "rewind"
        state = context.run_for(self._dense_extra(params)).state(kind)
        if state is None:
            raise RuntimeError(f"round 0 has no {kind} weights")
        return state

    def _prepare_dense(self, context: Context, params: LotteryParams) -> Any:
        def prepare(model: nn.Module, run: Run) -> TrainHooks:
            mask = full_mask(params.rule.weights(model))
            return TrainHooks.combine(
                _save_state_at(run, "rewind", params.rewind_point, model, 0, context),
                _save_state_at(run, "prune_from", params.prune_at, model, 0, context),
                self._stop_when_stable(params, run, mask),
            )

        return prepare

    def _stop_when_stable(self, params: LotteryParams, run: Run, mask: Mask) -> TrainHooks | None:
        """Early-Bird detection on the next round's magnitude mask (``early_bird_stop``).

        The FIFO's masks are kept with the run with their iterations, so a resumed round
        replays exactly those its checkpoint had seen."""
        rule = params.early_bird_stop
        if rule is None:
            return None
        detector = EarlyBirdDetector(window=rule.window, epsilon=rule.epsilon)
        saved = run.load()
        seen = saved["iteration"] if saved else 0
        stored = run.detector() or {"iterations": [], "masks": []}
        queue = [
            (i, m) for i, m in zip(stored["iterations"], stored["masks"], strict=True) if i <= seen
        ]
        for _, flat in queue:
            detector.update(flat)

        def after_eval(iteration: int, model: nn.Module) -> dict[str, Any]:
            if iteration == 0:
                return {}
            trained = {name: w.detach() for name, w in params.rule.weights(model).items()}
            upcoming = params.rule.prune(model, trained, mask, 1)
            flat = torch.cat([upcoming[name].flatten().cpu() for name in sorted(upcoming)])
            drawn = detector.update(flat)
            queue.append((iteration, flat))
            del queue[: -rule.window]
            run.save_detector({"iterations": [i for i, _ in queue],
                               "masks": [m for _, m in queue]})  # fmt: skip
            return {"mask_stable": drawn or detector.draw_index is not None}

        return TrainHooks(after_eval=after_eval, stop=lambda _: detector.draw_index is not None)

    def _prepare_ticket(self, context: Context, params: LotteryParams, round_: int,
                        start: int) -> Any:  # fmt: skip
        def prepare(model: nn.Module, run: Run) -> TrainHooks:
            mask = run.mask()
            if mask is None:
                mask = mask_to_cpu(self._ticket_mask(context, params, round_, model))
                run.save_mask(mask)
            model.load_state_dict(self._reset_state(context, params))
            apply_mask(model, mask)
            return TrainHooks.combine(
                mask_hooks(model, mask),
                _save_state_at(run, "prune_from", params.prune_at, model, start, context),
                self._stop_when_stable(params, run, mask),
            )

        return prepare

    def _prepare_control(self, context: Context, params: LotteryParams, round_: int,
                         control: str) -> Any:  # fmt: skip
        def prepare(model: nn.Module, run: Run) -> TrainHooks:
            ticket_mask = self._mask_of(context, params, round_, model)
            if control == "random_reinit":
                mask = ticket_mask
                model.load_state_dict(
                    context.build_model(context.seed + REINIT_SEED_OFFSET).state_dict()
                )
            else:
                generator = torch.Generator().manual_seed(context.seed * 1000 + round_)
                mask = random_mask_like(ticket_mask, generator)
                model.load_state_dict(self._reset_state(context, params))
            run.save_mask(mask)
            apply_mask(model, mask)
            return TrainHooks.combine(
                mask_hooks(model, mask), self._stop_when_stable(params, run, mask)
            )

        return prepare

    def _cache_figures(self, context: Context, params: LotteryParams, round_: int,
                       control: str | None) -> None:  # fmt: skip
        """Compute a trained run's mask figures once and keep them with it, so reading
        results builds no model: density, per-layer densities, and how far the weights the
        next pruning keeps moved from their start compared with all unpruned ones."""
        run = context.run_for(self._extra(params, round_, control))
        if run.result() is None or run.figures(_figures_name(params)) is not None:
            return
        model = context.build_model()
        mask = run.mask() if round_ else full_mask(params.rule.weights(model))
        initial, final = run.state("init"), run.state("final")
        assert mask is not None and initial is not None and final is not None
        kept = params.rule.prune(model, final, mask, 1, _seed(context.seed, round_ + 1))
        movement_kept, movement_all = weight_movement(initial, final, mask, kept)
        run.save_figures(_figures_name(params), {
            "density": density(mask),
            "layer_densities": layer_densities(mask),
            "weight_movement_kept": movement_kept,
            "weight_movement_all": movement_all,
        })  # fmt: skip

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
        extra = self._extra(params, round_, control)
        result = results.result(extra)
        if result is None:
            return None
        figures = results.run_for(extra).figures(_figures_name(params))
        if figures is None:
            print(f"warning: run {result['run_id']}: its mask figures are not computed yet "
                  "(`lthbench run` computes them); not counted", file=sys.stderr)  # fmt: skip
            return None
        return {**result, "round": round_, "control": control, "strategy": params.strategy,
                **figures}  # fmt: skip


def _save_state_at(
    run: Run, kind: StateKind, point: Duration | None, model: nn.Module, start: int,
    context: Context,
) -> TrainHooks | None:  # fmt: skip
    """Keep the round's weights at ``point`` (a rewind point, or the weights the next pruning
    reads); at the round's first step they are the prepared model."""
    if point is None:
        return None
    at = context.experiment.iterations(point)
    if at == start:
        run.save_state(kind, model.state_dict())

    def after_step(iteration: int, model: nn.Module) -> None:
        if iteration == at:
            run.save_state(kind, model.state_dict())

    return TrainHooks(after_step=after_step)
