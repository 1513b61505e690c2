"""The early_bird method's training path: one seed's search, EB-Train and baselines
(imported only to train)."""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn

from lthbench.methods.early_bird.identity import (
    DENSE_COSTS,
    DETECTION,
    SLIM_COSTS,
    eb_trains,
    search_extra,
    slim_extra,
)
from lthbench.methods.early_bird.params import SCRATCH_SEED_OFFSET, EarlyBirdParams, ratio_key
from lthbench.prune.channels import (
    ChannelMask,
    batchnorm_scales,
    channel_mask,
    decode_mask,
    encode_mask,
    flatten,
    slimming_penalty,
)
from lthbench.prune.distance import EarlyBirdDetector
from lthbench.prune.slim import slim
from lthbench.run.context import Context
from lthbench.spec.duration import Duration
from lthbench.spec.entry import TrainingHparams
from lthbench.store import Run
from lthbench.train import TrainHooks
from lthbench.train.flops import inference_flops, parameter_count, training_step_flops
from lthbench.train.quantise import int8_hooks
from lthbench.train.schedule import rescaled_schedule, shifted_schedule


def _replay(
    params: EarlyBirdParams, log: list[dict[str, Any]]
) -> dict[str, tuple[EarlyBirdDetector, list[int]]]:
    """Per ratio, a detector fed the masks a search logged, and the iterations they came at
    (to resume a search, and to read its draws afterwards)."""
    replayed = {}
    for ratio in params.ratios:
        key = ratio_key(ratio)
        detector = EarlyBirdDetector(window=params.window, epsilon=params.epsilon)
        iterations = []
        for record in log:
            bits = record.get("channel_masks", {}).get(key)
            if bits is not None:
                detector.update(decode_mask(bits))
                iterations.append(record["iteration"])
        replayed[key] = (detector, iterations)
    return replayed


class Search:
    """Trains one seed: the dense run and its costs, the search and its draws, then per ratio
    network slimming, EB-Train from the draw, the one-shot structured ticket and scratch."""

    def __init__(self, context: Context, params: EarlyBirdParams) -> None:
        self.context = context
        self.params = params

    def train(self) -> None:
        """The dense run, the search, then per ratio: network slimming, EB-Train from the
        draw (when there is one), the one-shot structured ticket, scratch (when drawn)."""
        self.context.train_run(label="dense")
        self._cache_dense_costs()
        self.context.train_run(search_extra(self.params), self._prepare_search(),
                               "search", training=self._search_training())  # fmt: skip
        detection = self.detection()
        training = self.context.training
        for ratio in self.params.ratios:
            draw = detection[ratio_key(ratio)]["draw_iteration"]
            if "network_slimming" in self.params.baselines:
                finetune = training if self.params.finetune is None else rescaled_schedule(
                    training, self.params.finetune, self.context.iterations_per_epoch)  # fmt: skip
                self._train_slim(ratio, "network_slimming", finetune)
            if eb_trains(draw, self.context.experiment.total_iterations):
                rest = shifted_schedule(training, draw, self.context.experiment.total_iterations,
                                        self.context.iterations_per_epoch)  # fmt: skip
                self._train_slim(ratio, "eb_train", rest)
            if "lottery_oneshot" in self.params.baselines:
                self._train_slim(ratio, "lottery_oneshot", training)
            if draw is not None and "scratch" in self.params.baselines:
                self._train_slim(ratio, "scratch", training)

    def _cache_dense_costs(self) -> None:
        """The dense network's costs, kept with its stored run, so that reading results
        builds no model."""
        run = self.context.run_for()
        if run.figures(DENSE_COSTS) is not None:
            return
        model, info = self.context.build_model(), self.context.data_info
        run.save_figures(DENSE_COSTS, {
            "step_flops": training_step_flops(model, self.context.training.batch_size,
                                              info.input_size),
            "inference_flops": inference_flops(model, info.input_size),
            "parameters": parameter_count(model),
        })  # fmt: skip

    def _search_training(self) -> TrainingHparams:
        training = self.context.training
        if self.params.search_schedule == "entry":
            return training
        _first, *rest = sorted(training.milestones, key=self.context.experiment.iterations)
        return training.model_copy(update={"milestones": [Duration(), *rest]})

    def _prepare_search(self) -> Any:
        def prepare(model: nn.Module, run: Run) -> TrainHooks:
            saved = run.load()
            detectors = {
                key: d
                for key, (d, _) in _replay(self.params, saved["log"] if saved else []).items()
            }

            def after_eval(iteration: int, model: nn.Module) -> dict[str, Any]:
                if iteration == 0:
                    return {}
                scales = batchnorm_scales(model)
                logged = {}
                for p in self.params.ratios:
                    mask = channel_mask(scales, p)
                    key = ratio_key(p)
                    logged[key] = encode_mask(mask)
                    if detectors[key].update(flatten(mask)):
                        run.save_state("ticket", model.state_dict(), tag=key)
                        run.save_mask(mask, "ticket_channels", tag=key)
                return {"channel_masks": logged}

            def stop(iteration: int) -> bool:
                return not self.params.full_search and all(
                    d.draw_index is not None for d in detectors.values()
                )

            hooks = TrainHooks(
                penalty=slimming_penalty(self.params.sparsity), after_eval=after_eval, stop=stop
            )
            if self.params.search_precision == "int8":
                hooks = TrainHooks.combine(hooks, int8_hooks(model))
            return hooks

        return prepare

    def _train_slim(self, ratio: float, phase: str,
                    training: TrainingHparams) -> None:  # fmt: skip
        self.context.train_run(slim_extra(self.params, ratio, phase),
                          self._prepare_slim(ratio, phase),
                          f"p={ratio:g} {phase}", training=training)  # fmt: skip

    def _prepare_slim(self, ratio: float,
                      phase: str) -> Any:  # fmt: skip
        search = self.context.run_for(search_extra(self.params))
        key = ratio_key(ratio)

        def prepare(model: nn.Module, run: Run) -> TrainHooks | None:
            if phase in ("network_slimming", "lottery_oneshot"):
                theta0 = (
                    {name: value.clone() for name, value in model.state_dict().items()}
                    if phase == "lottery_oneshot"
                    else None
                )
                model.load_state_dict(_stored(search.state("final"), "the search's weights"))
                mask = channel_mask(batchnorm_scales(model), ratio)
                if theta0 is not None:
                    model.load_state_dict(theta0)  # the search's θ0: this seed's init
            else:
                mask = _stored(search.mask("ticket_channels", tag=key), "the ticket's mask")
                if phase == "eb_train":
                    model.load_state_dict(_stored(search.state("ticket", tag=key), "the ticket"))
                else:
                    fresh = self.context.build_model(self.context.seed + SCRATCH_SEED_OFFSET)
                    model.load_state_dict(fresh.state_dict())
            self._slim(model, mask, run)
            if self.params.penalised(phase):
                return TrainHooks(penalty=slimming_penalty(self.params.sparsity))
            return None

        return prepare

    def _slim(self, model: nn.Module, mask: ChannelMask, run: Run) -> None:
        """Slim ``model`` in place and keep what it became (its channels and its costs)."""
        info = self.context.data_info
        plan = slim(model, mask, torch.zeros((2, *info.input_size)))
        kept, total = plan.kept_channels()
        run.save_mask(plan.survivors, "channels")
        run.save_figures(SLIM_COSTS, {
            "step_flops": training_step_flops(model, self.context.training.batch_size,
                                              info.input_size),
            "inference_flops": inference_flops(model, info.input_size),
            "parameters": parameter_count(model),
            "channel_density": kept / total if total else 1.0,
            "requested_channel_density": float(flatten(mask).float().mean()),
            "emptied_layers": plan.emptied,
        })  # fmt: skip

    def detection(self) -> dict[str, Any]:
        """Per ratio, from the search's log: the draw iteration (None: never) and the search's
        time up to it, the distance matrix between the masks of all evaluations (at their
        epochs), and the detector's cost up to the draw; kept with the search run."""
        search = self.context.run_for(search_extra(self.params))
        cached = search.figures(DETECTION)
        if cached is not None:
            return cached
        log = search.log()
        wall_at = {r["iteration"]: t for r, t in zip(log, search.elapsed_at_eval(), strict=False)}
        found: dict[str, dict[str, Any]] = {}
        for key, (detector, iterations) in _replay(self.params, log).items():
            draw = None if detector.draw_index is None else iterations[detector.draw_index]
            channels = len(detector.masks[0]) if detector.masks else 0
            seen = len(iterations) if detector.draw_index is None else detector.draw_index + 1
            # per evaluation: one sort of the |γ| (n log2 n comparisons) and window−1 distances (n)
            cost = seen * (
                channels * math.log2(max(channels, 2)) + (self.params.window - 1) * channels
            )
            found[key] = {
                "draw_iteration": draw,
                "search_wall_time_s": wall_at.get(draw),
                "epochs": [i / self.context.iterations_per_epoch for i in iterations],
                "distance_matrix": [
                    [round(d, 4) for d in row] for row in detector.distance_matrix()
                ],
                "detector_flops": cost,
            }
        search.save_figures(DETECTION, found)
        return found


def _stored(value: Any, what: str) -> Any:
    if value is None:
        raise RuntimeError(f"the search run has no stored {what}")
    return value
