"""The lottery method's training path: one seed's chain of rounds (imported only to train)."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from lthbench.methods.lottery.identity import dense_extra, figures_name, mask_seed, round_extra
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
from lthbench.run.context import Context, RunSpec
from lthbench.spec.duration import Duration
from lthbench.spec.entry import TrainingHparams
from lthbench.store import Run
from lthbench.store.runs import StateKind
from lthbench.train import TrainHooks
from lthbench.train.schedule import LearningRate


class Chain:
    """Trains one seed's chain: round 0 (the dense run, saving what later rounds read), then
    each round's ticket and controls, and caches every run's mask figures."""

    def __init__(self, context: Context, params: LotteryParams) -> None:
        self.context = context
        self.params = params

    def train(self) -> None:
        self.context.train_run(dense_extra(self.params), self._prepare_dense(),
                               "round 0")  # fmt: skip
        self._cache_figures(0, None)
        for round_ in range(1, self.params.rounds + 1):
            specs = self._round_specs(round_)
            if self.params.vectorise:
                self.context.train_together(specs)
            else:
                for spec in specs:
                    self.context.train_run(spec.extra, spec.prepare, spec.label, spec.training,
                                           start_iteration=spec.start_iteration)  # fmt: skip
            for control in (None, *self.params.controls):
                self._cache_figures(round_, control)

    def _round_specs(self, round_: int) -> list[RunSpec]:
        """A round's runs: the ticket first (its prepare stores the mask the controls read),
        then each control. Rounds after the first start where their schedule resumes: step 0
        from θ0, k from θ_k or (LR rewinding) the pruned weights, T − budget (fine-tuning)."""
        experiment = self.context.experiment
        start = self.params.retrain_start(experiment.iterations, experiment.total_iterations)
        return [
            RunSpec(
                round_extra(self.params, round_, control),
                self._prepare_ticket(round_, start)
                if control is None
                else self._prepare_control(round_, control),
                f"round {round_}" + (f" {control}" if control else ""),
                start,
                self._retraining(),
            )
            for control in (None, *self.params.controls)
        ]

    def _retraining(self) -> TrainingHparams | None:
        """Fine-tuning's hyperparameters: the entry's, at the schedule's final learning rate
        throughout (no warmup, no decay). Other resets train with the entry's own."""
        if self.params.reset != "finetune":
            return None
        training = self.context.training
        experiment = self.context.experiment
        schedule = LearningRate.from_hparams(training, experiment.iterations_per_epoch)
        return training.model_copy(update={
            "lr": schedule.at(experiment.total_iterations - 1), "milestones": [],
            "warmup": Duration(),
        })  # fmt: skip

    def _mask_of(self, round_: int,
                 model: nn.Module) -> Mask:  # fmt: skip
        if round_ == 0:
            return full_mask(self.params.rule.weights(model))
        stored = self.context.run_for(round_extra(self.params, round_)).mask()
        if stored is None:
            raise RuntimeError(f"round {round_} has no stored mask")
        return stored

    def _ticket_mask(self, round_: int,
                     model: nn.Module) -> Mask:  # fmt: skip
        """Prune the trained weights of the round this one grows from."""
        source = round_ - 1 if self.params.strategy == "iterative" else 0
        steps = 1 if self.params.strategy == "iterative" else round_
        kind: StateKind = "final" if self.params.prune_at is None else "prune_from"
        trained = self.context.run_for(round_extra(self.params, source)).state(kind)
        if trained is None:
            raise RuntimeError(f"round {source} has no {kind} weights")
        previous = self._mask_of(source, model)
        return self.params.rule.prune(
            model, trained, previous, steps, mask_seed(self.context.seed, round_)
        )

    def _reset_state(self, round_: int) -> dict[str, torch.Tensor]:
        """The weights a round's survivors start from: θ0, θ_k, or (fine-tuning, LR
        rewinding) the final weights of the round it was pruned from."""
        if self.params.keeps_weights:
            source = round_ - 1 if self.params.strategy == "iterative" else 0
            state = self.context.run_for(round_extra(self.params, source)).state("final")
            if state is None:
                raise RuntimeError(f"round {source} has no final weights")
            return state
        kind: StateKind = "init" if self.params.rewind_point is None else "rewind"
        state = self.context.run_for(dense_extra(self.params)).state(kind)
        if state is None:
            raise RuntimeError(f"round 0 has no {kind} weights")
        return state

    def _prepare_dense(self) -> Any:
        def prepare(model: nn.Module, run: Run) -> TrainHooks:
            mask = full_mask(self.params.rule.weights(model))
            return TrainHooks.combine(
                _save_state_at(run, "rewind", self.params.rewind_point, model, 0, self.context),
                _save_state_at(run, "prune_from", self.params.prune_at, model, 0, self.context),
                self._stop_when_stable(run, mask),
            )

        return prepare

    def _stop_when_stable(self, run: Run, mask: Mask) -> TrainHooks | None:
        """Early-Bird detection on the next round's magnitude mask (``early_bird_stop``).

        The FIFO's masks are kept with the run with their iterations, so a resumed round
        replays exactly those its checkpoint had seen."""
        rule = self.params.early_bird_stop
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
            trained = {name: w.detach() for name, w in self.params.rule.weights(model).items()}
            upcoming = self.params.rule.prune(model, trained, mask, 1)
            flat = torch.cat([upcoming[name].flatten().cpu() for name in sorted(upcoming)])
            drawn = detector.update(flat)
            queue.append((iteration, flat))
            del queue[: -rule.window]
            run.save_detector({"iterations": [i for i, _ in queue],
                               "masks": [m for _, m in queue]})  # fmt: skip
            return {"mask_stable": drawn or detector.draw_index is not None}

        return TrainHooks(after_eval=after_eval, stop=lambda _: detector.draw_index is not None)

    def _prepare_ticket(self, round_: int,
                        start: int) -> Any:  # fmt: skip
        def prepare(model: nn.Module, run: Run) -> TrainHooks:
            mask = run.mask()
            if mask is None:
                mask = mask_to_cpu(self._ticket_mask(round_, model))
                run.save_mask(mask)
            model.load_state_dict(self._reset_state(round_))
            apply_mask(model, mask)
            return TrainHooks.combine(
                mask_hooks(model, mask),
                _save_state_at(run, "prune_from", self.params.prune_at, model, start, self.context),
                self._stop_when_stable(run, mask),
            )

        return prepare

    def _prepare_control(self, round_: int,
                         control: str) -> Any:  # fmt: skip
        def prepare(model: nn.Module, run: Run) -> TrainHooks:
            ticket_mask = self._mask_of(round_, model)
            if control == "random_reinit":
                mask = ticket_mask
                model.load_state_dict(
                    self.context.build_model(self.context.seed + REINIT_SEED_OFFSET).state_dict()
                )
            else:
                generator = torch.Generator().manual_seed(self.context.seed * 1000 + round_)
                mask = random_mask_like(ticket_mask, generator)
                model.load_state_dict(self._reset_state(round_))
            if run.mask() is None:
                run.save_mask(mask)
            apply_mask(model, mask)
            return TrainHooks.combine(mask_hooks(model, mask), self._stop_when_stable(run, mask))

        return prepare

    def _cache_figures(self, round_: int,
                       control: str | None) -> None:  # fmt: skip
        """Compute a trained run's mask figures once and keep them with it, so reading
        results builds no model: density, per-layer densities, and how far the weights the
        next pruning keeps moved from their start compared with all unpruned ones."""
        run = self.context.run_for(round_extra(self.params, round_, control))
        if run.result() is None or run.figures(figures_name(self.params)) is not None:
            return
        model = self.context.build_model()
        mask = run.mask() if round_ else full_mask(self.params.rule.weights(model))
        initial, final = run.state("init"), run.state("final")
        assert mask is not None and initial is not None and final is not None
        kept = self.params.rule.prune(
            model, final, mask, 1, mask_seed(self.context.seed, round_ + 1)
        )
        movement_kept, movement_all = weight_movement(initial, final, mask, kept)
        run.save_figures(figures_name(self.params), {
            "density": density(mask),
            "layer_densities": layer_densities(mask),
            "weight_movement_kept": movement_kept,
            "weight_movement_all": movement_all,
        })  # fmt: skip


def _save_state_at(
    run: Run, kind: StateKind, point: Duration | None, model: nn.Module, start: int,
    context: Context,
) -> TrainHooks | None:  # fmt: skip
    """Keep the round's weights at ``point`` (a rewind point, or the weights the next pruning
    reads); at the round's first step they are the prepared model. Weights already kept (a
    resumed run, a stored run recomputed with its group) are the same and stay as they are."""
    if point is None or run.has_state(kind):
        return None
    at = context.experiment.iterations(point)
    if at == start:
        run.save_state(kind, model.state_dict())

    def after_step(iteration: int, model: nn.Module) -> None:
        if iteration == at:
            run.save_state(kind, model.state_dict())

    return TrainHooks(after_step=after_step)
