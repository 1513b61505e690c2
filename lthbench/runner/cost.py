"""What an entry will cost before it runs: training and evaluation FLOPs, and GPU-hours.

Each method says what it will train per seed (:class:`PlannedTraining`: how many networks, for
how many steps, and whether that is exact or an upper bound, e.g. an Early-Bird search that
stops at its draw). One training step's FLOPs and one example's inference FLOPs are counted by
``torch.utils.flop_counter`` on the meta device (:mod:`lthbench.train.flops`). A masked
(sparse) network is counted at its dense cost: that is what masked training on a GPU spends.

Estimates are cached in the store, keyed by the resolved entry, so the pages read them without
building a model; ``lthbench plan`` computes them.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field, replace
from typing import TYPE_CHECKING, Any

from lthbench.methods import METHODS
from lthbench.methods.base import PlannedTraining
from lthbench.run.experiment import Experiment

if TYPE_CHECKING:
    from torch import nn

    from lthbench.store import RunStore

ESTIMATE_FORMAT = 2
"""Bumped when what an estimate counts changes: older cached estimates are then recomputed."""
ASSUMED_TFLOPS = 15.0
"""The sustained throughput GPU-hours are quoted at unless ``--tflops`` says otherwise: near
the FP32 peak of a V100 (15.7 TFLOP/s) and three quarters of an A100's (19.5); the papers
trained in FP32. Small CIFAR networks at batch 64–128 rarely sustain a GPU's peak, so read the
hours as a lower bound on wall time."""


@dataclass(frozen=True)
class CostEstimate:
    entry: str
    seeds: int
    runs: int
    """Trained networks over all seeds."""
    iterations: int
    """Training steps over all seeds and runs."""
    step_flops: int
    """One dense training step (forward, loss, backward) on a full batch."""
    training_flops: int
    evaluation_flops: int
    at_most: bool
    """Some planned training is an upper bound (see :class:`PlannedTraining`)."""
    forward_flops: dict[str, int] = field(default_factory=dict)
    """One example's forward FLOPs by module name (``""``: the network): what a mask's layer
    densities scale, so pages price sparse runs without building a model."""

    @property
    def total_flops(self) -> int:
        return self.training_flops + self.evaluation_flops

    @property
    def evaluation_share(self) -> float:
        return self.evaluation_flops / max(self.total_flops, 1)

    def gpu_hours(self, tflops: float = ASSUMED_TFLOPS) -> float:
        return self.total_flops / (tflops * 1e12) / 3600

    def gpu_time(self, tflops: float = ASSUMED_TFLOPS) -> str:
        """GPU time as a person reads it, marked ≤ where it is an upper bound."""
        return ("≤ " if self.at_most else "") + hours_label(self.gpu_hours(tflops))

    def as_dict(self) -> dict[str, Any]:
        return {"format": ESTIMATE_FORMAT, **asdict(self)}

    @classmethod
    def from_dict(cls, value: dict[str, Any]) -> CostEstimate | None:
        if value.get("format") != ESTIMATE_FORMAT:
            return None
        fields = {k: v for k, v in value.items() if k != "format"}
        try:
            return cls(**fields)
        except TypeError:
            return None


def estimate_key(experiment: Experiment) -> str:
    """What the cost depends on: a run's settings (model, data, training, method), the
    method's typed params, the seeds and the evaluation sizes; not the claims or the prose."""
    determined = {
        "format": ESTIMATE_FORMAT,
        "run": experiment.run_config(0),
        "method": experiment.method_name,
        "params": experiment.params.model_dump(mode="json"),
        "seeds": len(experiment.seeds),
        "evaluated": [experiment.validation_examples, experiment.test_examples],
    }
    canonical = json.dumps(determined, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()[:20]


def planned(experiment: Experiment) -> list[PlannedTraining]:
    return METHODS[experiment.method_name].planned_training(experiment)


def estimate_cost(experiment: Experiment, model: nn.Module) -> CostEstimate:
    """Count ``model``'s step (a meta-device copy is enough) and add up the method's plan."""
    from lthbench.train.flops import inference_flops, layer_forward_flops, training_step_flops

    input_size = tuple(experiment.data.input_size)
    step = training_step_flops(model, experiment.training.batch_size, input_size)
    example = inference_flops(model, input_size)
    examples_per_evaluation = experiment.validation_examples + experiment.test_examples
    every = max(experiment.eval_iterations, 1)
    plan = planned(experiment)
    seeds = len(experiment.seeds)
    runs = iterations = evaluations = 0
    for item in plan:
        runs += item.networks
        iterations += item.networks * item.iterations
        evaluations += item.networks * (-(-item.iterations // every) + 1)
    return CostEstimate(
        entry=experiment.id,
        seeds=seeds,
        runs=runs * seeds,
        iterations=iterations * seeds,
        step_flops=step,
        training_flops=step * iterations * seeds,
        evaluation_flops=example * examples_per_evaluation * evaluations * seeds,
        at_most=any(item.at_most for item in plan),
        forward_flops=layer_forward_flops(model, input_size),
    )


def stored_estimate(experiment: Experiment, store: RunStore) -> CostEstimate | None:
    """The cached estimate of exactly this resolved entry (None: ``lthbench plan`` it)."""
    value = store.estimate(estimate_key(experiment))
    if value is None:
        return None
    # the key leaves out the id: entries with identical settings share one estimate
    return replace(CostEstimate.from_dict(value), entry=experiment.id)


def ensure_estimate(experiment: Experiment, store: RunStore) -> CostEstimate:
    """The cached estimate, or one counted now on a meta-device network and cached."""
    known = stored_estimate(experiment, store)
    if known is not None:
        return known
    from lthbench.models import check_model

    data = experiment.data
    model = check_model(experiment.model, data.num_classes, data.input_size)
    estimate = estimate_cost(experiment, model)
    store.save_estimate(estimate_key(experiment), estimate.as_dict())
    return estimate


def flops_label(flops: float) -> str:
    """FLOPs with an SI prefix: 3.2 PFLOP."""
    for prefix, scale in (
        ("E", 1e18),
        ("P", 1e15),
        ("T", 1e12),
        ("G", 1e9),
        ("M", 1e6),
        ("k", 1e3),
    ):
        if flops >= scale:
            return f"{flops / scale:.3g} {prefix}FLOP"
    return f"{flops:.3g} FLOP"


def hours_label(hours: float) -> str:
    """GPU-hours as a person plans them: minutes, hours, or days."""
    if hours < 1:
        return f"{hours * 60:.2g} GPU-min"
    if hours < 48:
        return f"{hours:.3g} GPU-h"
    return f"{hours:.3g} GPU-h ({hours / 24:.2g} GPU-days)"
