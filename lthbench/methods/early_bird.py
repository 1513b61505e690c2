"""``early_bird``: You et al.'s Early-Bird tickets, drawn early and trained slim (EB-Train).

Per seed, from one entry:

- **search**: the dense network trained with network slimming's L1 penalty on BatchNorm
  scales. At every evaluation (entries evaluate every epoch: the paper's rule) the channel mask
  of each pruning ratio p (one global |γ| threshold) is logged and fed to an
  :class:`EarlyBirdDetector`; when the masks stop changing the ticket is drawn and the weights
  of that moment are kept. Optionally at 8 bits
  with stochastic rounding (``search_precision: int8``) and with the learning rate decayed
  from the start (``search_schedule: early_decay``) instead of the entry's schedule.
- **EB-Train**: the drawn network, physically slimmed to its channels (Torch-Pruning),
  trained at full precision for the rest of the budget under the entry's schedule as if
  training had never stopped, keeping the search's L1 penalty on BatchNorm scales (the
  official ``retrain_continue.sh`` passes ``--sparsity-regularization``).
- baselines: the ``dense`` network (the same stored run as a dense entry), standard
  ``network_slimming`` (the search run to the end, pruned, fine-tuned without the penalty),
  ``scratch`` (the EB ticket's architecture from a fresh initialisation, full budget, with
  the penalty, as the official ``retrain_scratch.sh``), and ``lottery_oneshot`` (Table 2's
  "LT (one-shot)" column read as a structured lottery ticket: the channels network slimming
  keeps at the end of the search, reset to θ0 and trained for the full budget).

Training cost is counted with FlopCounterMode per step of each architecture; EB-Train's cost is
the search up to the draw on the dense network, the detector's own work, and the rest on the
slim one. It is compared with dense training and with the prune-after-training pipeline.
"""

from __future__ import annotations

import math
from typing import Annotated, Any, Literal

import torch
from pydantic import BaseModel, ConfigDict, Field, model_validator
from torch import nn

from lthbench.errors import UserError
from lthbench.methods.base import (
    RUN_METRICS,
    Context,
    Method,
    reference_problem,
    register_method,
)
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
from lthbench.spec.duration import Duration, DurationField
from lthbench.spec.entry import Entry, TrainingHparams
from lthbench.store import Run
from lthbench.train import TrainHooks
from lthbench.train.flops import inference_flops, parameter_count, training_step_flops
from lthbench.train.quantise import int8_hooks
from lthbench.train.schedule import rescaled_schedule, shifted_schedule

Ratio = Annotated[float, Field(gt=0, lt=1)]
Baseline = Literal["network_slimming", "scratch", "lottery_oneshot"]
DENSE_COSTS = "costs-early-bird-dense.json"
"""Beside the dense run: its per-step training FLOPs, inference FLOPs and parameters."""
SCRATCH_SEED_OFFSET = 2**31
"""``scratch`` initialises from seed + 2^31: never an entry's own seed."""


class EarlyBirdParams(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    ratios: list[Ratio] = Field(default_factory=lambda: [0.3, 0.5, 0.7])
    """Channel pruning ratios p, all tracked in one search run."""
    sparsity: Annotated[float, Field(ge=0, le=1)] = 1e-4
    """λ of the L1 penalty on BatchNorm scales during the search."""
    window: Annotated[int, Field(ge=2, le=100)] = 5
    """Masks in the detector's FIFO."""
    epsilon: Annotated[float, Field(gt=0, le=1)] = 0.1
    """The ticket is drawn when the largest distance in the FIFO falls below this."""
    search_schedule: Literal["entry", "early_decay"] = "entry"
    """'early_decay': the search starts at the first decayed rate (the entry's first milestone
    moved to 0); EB-Train continues under the entry's schedule either way."""
    search_precision: Literal["fp32", "int8"] = "fp32"
    """'int8': weights, activations, gradients, errors, momentum at 8 bits (search only)."""
    baselines: list[Baseline] = Field(default_factory=lambda: ["network_slimming", "scratch"])
    finetune: DurationField | None = None
    """Network slimming's fine-tuning after pruning; None: the entry's full duration."""
    retrain_penalty: bool = True
    """EB-Train and scratch keep the L1 penalty on BatchNorm scales while they train, as the
    official retraining scripts do; False trains them without it."""

    @model_validator(mode="after")
    def _consistent(self) -> EarlyBirdParams:
        if len(set(self.ratios)) != len(self.ratios) or not self.ratios:
            raise ValueError("ratios must be distinct, and at least one")
        if len(set(self.baselines)) != len(self.baselines):
            raise ValueError("baselines are listed twice")
        if self.finetune is not None and self.finetune.is_zero:
            raise ValueError("finetune must be longer than 0it")
        return self

    def search_identity(self) -> dict[str, Any]:
        """What determines the search up to every draw (baselines and fine-tuning do not)."""
        return self.model_dump(
            mode="json", exclude_defaults=True, exclude={"baselines", "finetune", "retrain_penalty"}
        )

    def penalised(self, phase: str) -> bool:
        """Whether a slim run of ``phase`` trains with the L1 penalty."""
        return self.retrain_penalty and self.sparsity > 0 and phase in ("eb_train", "scratch")

    @property
    def full_search(self) -> bool:
        """The search runs the whole budget only when network slimming needs its end."""
        return bool({"network_slimming", "lottery_oneshot"} & set(self.baselines))


def _after_full_search(dense_step: int, search: dict[str, Any], slim: dict[str, Any]) -> int:
    """Training FLOPs of a prune-after-training pipeline: the whole search on the dense network,
    then the slim run's steps."""
    return dense_step * search["iterations"] + slim["step_flops"] * slim["iterations"]


def _key(ratio: float) -> str:
    return f"{ratio:g}"


def _replay(
    params: EarlyBirdParams, log: list[dict[str, Any]]
) -> dict[str, tuple[EarlyBirdDetector, list[int]]]:
    """Per ratio, a detector fed the masks a search logged, and the iterations they came at
    (to resume a search, and to read its draws afterwards)."""
    replayed = {}
    for ratio in params.ratios:
        key = _key(ratio)
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

    def check(self, entry: Entry, params: Any, iterations_per_epoch: int) -> None:
        hp = entry.training
        evaluations = hp.duration.to_iterations(iterations_per_epoch) // (
            hp.eval_interval.to_iterations(iterations_per_epoch)
        )
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

    def plan(self, context: Context, params: Any) -> list[Run]:
        runs = [context.run_for(), context.run_for(self._search_extra(params))]
        for ratio in params.ratios:
            for phase in ("eb_train", *params.baselines):
                runs.append(context.run_for(self._extra(params, ratio, phase)))
        return runs

    # -- schedules ----------------------------------------------------------------------
    def _total(self, context: Context) -> int:
        return context.entry.training.duration.to_iterations(context.iterations_per_epoch)

    def _search_training(self, context: Context, params: EarlyBirdParams) -> TrainingHparams:
        training = context.entry.training
        if params.search_schedule == "entry":
            return training
        per_epoch = context.iterations_per_epoch
        _first, *rest = sorted(training.milestones, key=lambda m: m.to_iterations(per_epoch))
        return training.model_copy(update={"milestones": [Duration(), *rest]})

    def _finetune_training(self, context: Context, params: EarlyBirdParams) -> TrainingHparams:
        if params.finetune is None:
            return context.entry.training
        return rescaled_schedule(
            context.entry.training, params.finetune, context.iterations_per_epoch
        )

    # -- the search ---------------------------------------------------------------------
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
                    key = _key(p)
                    logged[key] = encode_mask(mask)
                    if detectors[key].update(flatten(mask)):
                        run.save_tensors(f"ticket_{key}.pt", model.state_dict())
                        run.save_tensors(f"ticket_mask_{key}.pt", mask)
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

    def _detection(
        self, context: Context, params: EarlyBirdParams, search: Run
    ) -> dict[str, dict[str, Any]]:
        """Per ratio: the draw iteration (None: never) and the search's time up to it, the
        distance matrix between the masks of all evaluations (at their epochs), and the
        detector's cost up to the draw."""
        log = search.read_json("log.json") or []
        elapsed = (search.read_json("timing.json") or {}).get("elapsed_at_eval_s", [])
        wall_at = {r["iteration"]: t for r, t in zip(log, elapsed, strict=False)}
        per_epoch = context.iterations_per_epoch
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
                "epochs": [i / per_epoch for i in iterations],
                "distance_matrix": [
                    [round(d, 4) for d in row] for row in detector.distance_matrix()
                ],
                "detector_flops": cost,
            }
        return found

    # -- slim runs ----------------------------------------------------------------------
    def _example_input(self, context: Context) -> torch.Tensor:
        return torch.zeros((2, *context.data_info.input_size))

    def _slim(self, context: Context, model: nn.Module, mask: ChannelMask, run: Run) -> None:
        """Slim ``model`` in place and store what it became (its mask and its costs)."""
        plan = slim(model, mask, self._example_input(context))
        kept, total = plan.kept_channels()
        info = context.data_info
        run.save_tensors("channel_mask.pt", plan.survivors)
        run.write_json(
            "slim.json",
            {
                "step_flops": training_step_flops(
                    model, context.entry.training.batch_size, info.input_size
                ),
                "inference_flops": inference_flops(model, info.input_size),
                "parameters": parameter_count(model),
                "channel_density": kept / total if total else 1.0,
                "requested_channel_density": float(flatten(mask).float().mean()),
            },
        )

    def _prepare_slim(
        self, context: Context, params: EarlyBirdParams, ratio: float, phase: str
    ) -> Any:
        search = context.run_for(self._search_extra(params))
        key = _key(ratio)

        def prepare(model: nn.Module, run: Run) -> TrainHooks | None:
            if phase in ("network_slimming", "lottery_oneshot"):
                theta0 = (
                    {name: value.clone() for name, value in model.state_dict().items()}
                    if phase == "lottery_oneshot"
                    else None
                )
                model.load_state_dict(search.load_tensors("final.pt"))
                mask = channel_mask(batchnorm_scales(model), ratio)
                if theta0 is not None:
                    model.load_state_dict(theta0)  # the search's θ0: this seed's init
            else:
                mask = search.load_tensors(f"ticket_mask_{key}.pt")
                if phase == "eb_train":
                    model.load_state_dict(search.load_tensors(f"ticket_{key}.pt"))
                else:
                    fresh = context.build_model(context.seed + SCRATCH_SEED_OFFSET)
                    model.load_state_dict(fresh.state_dict())
            self._slim(context, model, mask, run)
            if params.penalised(phase):
                return TrainHooks(penalty=slimming_penalty(params.sparsity))
            return None

        return prepare

    # -- the whole method ---------------------------------------------------------------
    def _dense_costs(self, context: Context) -> dict[str, int]:
        """The dense network's costs, kept beside its stored run once it is trained, so that
        reading results (``show``, ``check``, ``leaderboard``) builds no model."""
        run = context.run_for()
        costs = run.read_json(DENSE_COSTS)
        if costs is None:
            model, info = context.build_model(), context.data_info
            costs = {
                "step_flops": training_step_flops(
                    model, context.entry.training.batch_size, info.input_size
                ),
                "inference_flops": inference_flops(model, info.input_size),
                "parameters": parameter_count(model),
            }
            if not context.read_only and run.result() is not None:
                run.write_json(DENSE_COSTS, costs)
        return costs

    def run(self, context: Context, params: Any) -> list[dict[str, Any]]:
        records: list[dict[str, Any]] = []
        dense = context.train_run(label="dense")
        costs = self._dense_costs(context)
        dense_step = costs["step_flops"]
        if dense is not None:
            dense = {
                **dense, "round": 0, "phase": "dense", "ratio": None, "control": None,
                **costs, "training_flops": dense_step * dense["iterations"],
                "channel_density": 1.0,
            }  # fmt: skip
            records.append(dense)
        search_result = context.train_run(
            self._search_extra(params),
            self._prepare_search(context, params),
            "search",
            training=self._search_training(context, params),
        )
        if search_result is None:
            return records
        detection = self._detection(context, params, context.run_for(self._search_extra(params)))
        for ratio in params.ratios:
            slimming = None
            if "network_slimming" in params.baselines:
                slimming = self._slimming_record(context, params, ratio, dense_step, search_result)
                records += [slimming] if slimming is not None else []
            ticket = self._ticket_record(context, params, ratio, detection[_key(ratio)],
                                         dense, dense_step, slimming)  # fmt: skip
            records.append(ticket)
            if "lottery_oneshot" in params.baselines:
                lottery = self._train_slim(
                    context, params, ratio, "lottery_oneshot", context.entry.training
                )
                if lottery is not None:
                    lottery["training_flops"] = _after_full_search(
                        dense_step, search_result, lottery
                    )
                    records.append(lottery)
            if ticket["drawn"] and "scratch" in params.baselines:
                scratch = self._train_slim(
                    context, params, ratio, "scratch", context.entry.training
                )
                if scratch is not None:
                    scratch["training_flops"] = scratch["step_flops"] * scratch["iterations"]
                    records.append(scratch)
        return records

    def _slimming_record(
        self,
        context: Context,
        params: EarlyBirdParams,
        ratio: float,
        dense_step: int,
        search_result: dict[str, Any],
    ) -> dict[str, Any] | None:
        """Network slimming: the whole search (train with the penalty), prune, fine-tune."""
        slimming = self._train_slim(
            context, params, ratio, "network_slimming", self._finetune_training(context, params)
        )
        if slimming is None:
            return None
        slimming["training_flops"] = _after_full_search(dense_step, search_result, slimming)
        slimming["total_wall_time_s"] = search_result["wall_time_s"] + slimming["wall_time_s"]
        return slimming

    def _ticket_record(
        self,
        context: Context,
        params: EarlyBirdParams,
        ratio: float,
        found: dict[str, Any],
        dense: dict[str, Any] | None,
        dense_step: int,
        slimming: dict[str, Any] | None,
    ) -> dict[str, Any]:
        """EB-Train: the search up to the draw, the detector, then the slim network.

        ``iterations`` and ``wall_time_s`` are the slim run's; ``training_flops`` and
        ``total_wall_time_s`` add the search up to the draw."""
        total = self._total(context)
        per_epoch = context.iterations_per_epoch
        start = found["draw_iteration"]
        ticket: dict[str, Any] = {
            "round": None, "phase": "eb_train", "ratio": ratio, "control": None,
            "drawn": 0.0 if start is None else 1.0, "draw_iteration": start,
            "draw_epoch": None if start is None else start / per_epoch,
            "draw_fraction": None if start is None else start / total,
            "distance_matrix": found["distance_matrix"], "mask_epochs": found["epochs"],
            "search_precision": params.search_precision,
            "search_schedule": params.search_schedule,
        }  # fmt: skip
        if start is None:
            return ticket
        trained = self._train_slim(
            context, params, ratio, "eb_train",
            shifted_schedule(context.entry.training, start, total, per_epoch),
        )  # fmt: skip
        if trained is None:
            return ticket
        search_wall = found["search_wall_time_s"]
        flops = (
            dense_step * start
            + found["detector_flops"]
            + (trained["step_flops"] * trained["iterations"])
        )
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

    def _train_slim(
        self,
        context: Context,
        params: EarlyBirdParams,
        ratio: float,
        phase: str,
        training: TrainingHparams,
    ) -> dict[str, Any] | None:
        extra = self._extra(params, ratio, phase)
        result = context.train_run(
            extra,
            self._prepare_slim(context, params, ratio, phase),
            f"p={ratio:g} {phase}",
            training=training,
        )
        if result is None:
            return None
        costs = context.run_for(extra).read_json("slim.json") or {}
        return {
            **result, **costs, "round": None, "phase": phase, "ratio": ratio,
            "control": None if phase == "eb_train" else phase,
        }  # fmt: skip
