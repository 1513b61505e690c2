"""The early_bird method: plan, train and read the search, EB-Train and the baselines of one
seed (see the package's docstring for what each is)."""

from __future__ import annotations

import math
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
    SeedResults,
    reference_problem,
    register_method,
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
from lthbench.spec.duration import Duration
from lthbench.spec.entry import TrainingHparams
from lthbench.store import Run
from lthbench.train import TrainHooks
from lthbench.train.flops import inference_flops, parameter_count, training_step_flops
from lthbench.train.quantise import int8_hooks
from lthbench.train.schedule import rescaled_schedule, shifted_schedule

DENSE_COSTS = "costs-early-bird-dense"
"""Figures kept with the dense run: its per-step training FLOPs, inference FLOPs, parameters."""
SLIM_COSTS = "slim"
"""Figures kept with a slim run: the same for the slimmed network, and its channel density."""


def _after_full_search(dense_step: int, search: dict[str, Any], slim: dict[str, Any]) -> int:
    """Training FLOPs of a prune-after-training pipeline: the whole search on the dense network,
    then the slim run's steps."""
    return dense_step * search["iterations"] + slim["step_flops"] * slim["iterations"]


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


@register_method
class EarlyBird(Method):
    name = "early_bird"
    Params = EarlyBirdParams
    metrics = RUN_METRICS | {
        "ratio", "drawn", "draw_epoch", "draw_iteration", "draw_fraction", "training_flops",
        "training_flops_saving_vs_dense", "training_flops_saving_vs_slimming",
        "wall_time_saving_vs_dense", "wall_time_saving_vs_slimming", "step_flops",
        "inference_flops", "parameters", "channel_density",
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

    # -- identities ---------------------------------------------------------------------
    def _search_extra(self, params: EarlyBirdParams) -> dict[str, Any]:
        extra: dict[str, Any] = {"early_bird_search": params.search_identity()}
        if not params.full_search:
            extra["stops_at_draw"] = True
        return extra

    def _extra(self, params: EarlyBirdParams, ratio: float, phase: str) -> dict[str, Any]:
        extra: dict[str, Any] = {
            "early_bird": params.search_identity(),
            "ratio": ratio,
            "phase": phase,
        }
        if phase == "network_slimming" and params.finetune is not None:
            extra["finetune"] = str(params.finetune)
        if params.penalised(phase):
            extra["retrain_penalty"] = params.sparsity
        return extra

    def plan(self, results: SeedResults, params: Any) -> list[Run]:
        runs = [results.run_for(), results.run_for(self._search_extra(params))]
        for ratio in params.ratios:
            for phase in ("eb_train", *params.baselines):
                runs.append(results.run_for(self._extra(params, ratio, phase)))
        return runs

    # -- training -----------------------------------------------------------------------
    def run(self, context: Context, params: Any) -> None:
        """The dense run, the search, then per ratio: network slimming, EB-Train from the
        draw (when there is one), the one-shot structured ticket, scratch (when drawn)."""
        context.train_run(label="dense")
        self._cache_dense_costs(context)
        context.train_run(self._search_extra(params), self._prepare_search(context, params),
                          "search", training=self._search_training(context, params))  # fmt: skip
        detection = self._detection(context, params)
        training = context.training
        for ratio in params.ratios:
            draw = detection[ratio_key(ratio)]["draw_iteration"]
            if "network_slimming" in params.baselines:
                finetune = training if params.finetune is None else rescaled_schedule(
                    training, params.finetune, context.iterations_per_epoch)  # fmt: skip
                self._train_slim(context, params, ratio, "network_slimming", finetune)
            if draw is not None:
                rest = shifted_schedule(training, draw, context.experiment.total_iterations,
                                        context.iterations_per_epoch)  # fmt: skip
                self._train_slim(context, params, ratio, "eb_train", rest)
            if "lottery_oneshot" in params.baselines:
                self._train_slim(context, params, ratio, "lottery_oneshot", training)
            if draw is not None and "scratch" in params.baselines:
                self._train_slim(context, params, ratio, "scratch", training)

    def _cache_dense_costs(self, context: Context) -> None:
        """The dense network's costs, kept with its stored run, so that reading results
        builds no model."""
        run = context.run_for()
        if run.figures(DENSE_COSTS) is not None:
            return
        model, info = context.build_model(), context.data_info
        run.save_figures(DENSE_COSTS, {
            "step_flops": training_step_flops(model, context.training.batch_size,
                                              info.input_size),
            "inference_flops": inference_flops(model, info.input_size),
            "parameters": parameter_count(model),
        })  # fmt: skip

    def _search_training(self, context: Context, params: EarlyBirdParams) -> TrainingHparams:
        training = context.training
        if params.search_schedule == "entry":
            return training
        _first, *rest = sorted(training.milestones, key=context.experiment.iterations)
        return training.model_copy(update={"milestones": [Duration(), *rest]})

    def _prepare_search(self, context: Context, params: EarlyBirdParams) -> Any:
        def prepare(model: nn.Module, run: Run) -> TrainHooks:
            saved = run.load()
            detectors = {
                key: d for key, (d, _) in _replay(params, saved["log"] if saved else []).items()
            }

            def after_eval(iteration: int, model: nn.Module) -> dict[str, Any]:
                if iteration == 0:
                    return {}
                scales = batchnorm_scales(model)
                logged = {}
                for p in params.ratios:
                    mask = channel_mask(scales, p)
                    key = ratio_key(p)
                    logged[key] = encode_mask(mask)
                    if detectors[key].update(flatten(mask)):
                        run.save_state("ticket", model.state_dict(), tag=key)
                        run.save_mask(mask, "ticket_channels", tag=key)
                return {"channel_masks": logged}

            def stop(iteration: int) -> bool:
                return not params.full_search and all(
                    d.draw_index is not None for d in detectors.values()
                )

            hooks = TrainHooks(
                penalty=slimming_penalty(params.sparsity), after_eval=after_eval, stop=stop
            )
            if params.search_precision == "int8":
                hooks = TrainHooks.combine(hooks, int8_hooks(model))
            return hooks

        return prepare

    def _train_slim(self, context: Context, params: EarlyBirdParams, ratio: float, phase: str,
                    training: TrainingHparams) -> None:  # fmt: skip
        context.train_run(self._extra(params, ratio, phase),
                          self._prepare_slim(context, params, ratio, phase),
                          f"p={ratio:g} {phase}", training=training)  # fmt: skip

    def _prepare_slim(self, context: Context, params: EarlyBirdParams, ratio: float,
                      phase: str) -> Any:  # fmt: skip
        search = context.run_for(self._search_extra(params))
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
                    fresh = context.build_model(context.seed + SCRATCH_SEED_OFFSET)
                    model.load_state_dict(fresh.state_dict())
            self._slim(context, model, mask, run)
            if params.penalised(phase):
                return TrainHooks(penalty=slimming_penalty(params.sparsity))
            return None

        return prepare

    def _slim(self, context: Context, model: nn.Module, mask: ChannelMask, run: Run) -> None:
        """Slim ``model`` in place and keep what it became (its channels and its costs)."""
        info = context.data_info
        plan = slim(model, mask, torch.zeros((2, *info.input_size)))
        kept, total = plan.kept_channels()
        run.save_mask(plan.survivors, "channels")
        run.save_figures(SLIM_COSTS, {
            "step_flops": training_step_flops(model, context.training.batch_size,
                                              info.input_size),
            "inference_flops": inference_flops(model, info.input_size),
            "parameters": parameter_count(model),
            "channel_density": kept / total if total else 1.0,
            "requested_channel_density": float(flatten(mask).float().mean()),
        })  # fmt: skip

    # -- reading ------------------------------------------------------------------------
    def _detection(self, results: SeedResults, params: EarlyBirdParams) -> dict[str, Any]:
        """Per ratio, from the search's log: the draw iteration (None: never) and the search's
        time up to it, the distance matrix between the masks of all evaluations (at their
        epochs), and the detector's cost up to the draw."""
        search = results.run_for(self._search_extra(params))
        log = search.log()
        wall_at = {r["iteration"]: t for r, t in zip(log, search.elapsed_at_eval(), strict=False)}
        found: dict[str, dict[str, Any]] = {}
        for key, (detector, iterations) in _replay(params, log).items():
            draw = None if detector.draw_index is None else iterations[detector.draw_index]
            channels = len(detector.masks[0]) if detector.masks else 0
            seen = len(iterations) if detector.draw_index is None else detector.draw_index + 1
            # per evaluation: one sort of the |γ| (n log2 n comparisons) and window−1 distances (n)
            cost = seen * (channels * math.log2(max(channels, 2)) + (params.window - 1) * channels)
            found[key] = {
                "draw_iteration": draw,
                "search_wall_time_s": wall_at.get(draw),
                "epochs": [i / results.iterations_per_epoch for i in iterations],
                "distance_matrix": [
                    [round(d, 4) for d in row] for row in detector.distance_matrix()
                ],
                "detector_flops": cost,
            }
        return found

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
        search = results.result(self._search_extra(params))
        if search is None or costs is None:
            return records
        dense_step = costs["step_flops"]
        detection = self._detection(results, params)
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
        extra = self._extra(params, ratio, phase)
        result = results.result(extra)
        if result is None:
            return None
        return {
            **result, **(results.run_for(extra).figures(SLIM_COSTS) or {}), "round": None,
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
        trained = None if start is None else self._slim_record(results, params, ratio, "eb_train")
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
        if dense is not None:
            ticket["training_flops_saving_vs_dense"] = dense["training_flops"] / flops
            ticket["wall_time_saving_vs_dense"] = dense["wall_time_s"] / wall
        if slimming is not None:
            ticket["training_flops_saving_vs_slimming"] = slimming["training_flops"] / flops
            ticket["wall_time_saving_vs_slimming"] = slimming["total_wall_time_s"] / wall
        return ticket


def _stored(value: Any, what: str) -> Any:
    if value is None:
        raise RuntimeError(f"the search run has no stored {what}")
    return value
