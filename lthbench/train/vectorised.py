"""Several runs of one architecture trained at once as one batched model (``torch.func``).

Why: a lottery experiment trains the same small network many times (seeds, a ticket and its
controls), and one small run leaves the machine idle between kernels. Stacking the runs'
parameters and calling the model through ``vmap(functional_call(...))`` turns R small matrix
products into one batched product per layer and R optimizer steps into one.

Each run keeps what makes it itself: its initialisation (its model's weights), its mask and
its data order (its own seed's batches). SGD and Adam are elementwise, so one optimizer over
the stacked parameters updates every run as the run's own optimizer would (fused into one
kernel per step here); the fused update and the batched products round differently, so
metrics agree with the one-run loop (:func:`lthbench.train.loop.train`, the reference) within
floating-point tolerance, not bit for bit. Each run's module keeps views into the stacked
parameters (and, for ``before_step``, gradients), so hooks written for the one-run loop
(``mask_hooks``, saving a rewind point, recording at evaluations) see their own run.

Buffers (BatchNorm running statistics) are stacked like the parameters and passed to the
model with them, so each run's statistics are updated from its own batches only (vmap turns
BatchNorm's in-place update of a stacked buffer into one update per run) and evaluation uses
them in eval mode, as the one-run loop does. Randomness (dropout) is not vectorised: one
vmapped call would draw every run's noise from one stream, not the one-run loop's.

A run's result does not depend on which runs share its group: every run's products, update
and loss are computed from its own slices (tested bit for bit), so the group joins no identity.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import torch
from torch import nn
from torch.func import functional_call, vmap

from lthbench.data.base import Splits, TensorSplit
from lthbench.data.loader import TrainBatches, eval_batches, iterations_per_epoch
from lthbench.spec.entry import TrainingHparams
from lthbench.train.loop import (
    TrainHooks,
    TrainResult,
    in_cpu_numerics,
    make_optimizer,
    summarise,
    val_and_test,
)
from lthbench.train.schedule import LearningRate


def not_vectorisable(
    model: nn.Module, precision: str = "fp32", channels_last: bool = False
) -> str | None:
    """Why ``model`` cannot join a vectorised group (None: it can)."""
    if precision != "fp32":
        return f"precision {precision} (only fp32 is vectorised)"
    if channels_last:
        return "training.channels_last (vmap stacks the runs' weights in NCHW order)"
    for name, module in model.named_modules():
        if isinstance(module, nn.modules.dropout._DropoutNd) and module.p > 0:
            return f"{name} draws random numbers (dropout)"
    return None


def _check(models: list[nn.Module], hooks: list[TrainHooks | None], hp: TrainingHparams) -> None:
    if not models:
        raise ValueError("no runs to train")
    reason = not_vectorisable(models[0], channels_last=hp.channels_last)
    if reason is not None:
        raise ValueError(f"cannot vectorise: {reason}")
    shapes = [[(n, p.shape) for n, p in m.named_parameters()] for m in models]
    if any(s != shapes[0] for s in shapes):
        raise ValueError("cannot vectorise: the runs' models differ in architecture")
    for hook in hooks:
        if hook is not None and (hook.penalty or hook.after_update or hook.stop):
            raise ValueError("cannot vectorise: only before_step, after_step and after_eval hooks")


def _batches(
    splits: Splits, batch_size: int, seeds: list[int], device: torch.device, start: int
) -> Callable[[], tuple[torch.Tensor, torch.Tensor]]:
    """Every run's next batch, stacked (runs, batch, ...): each run's own data order, gathered
    with one index for all runs from an in-memory split (the examples and their per-example
    normalisation are those of the runs' own streams)."""
    loaders = [TrainBatches(splits.train, batch_size, s, device, splits.augment) for s in seeds]
    split = splits.train
    if isinstance(split, TensorSplit) and splits.augment is None:
        orders = [loader.indices(start) for loader in loaders]
        examples = split.prepare(split.x).to(device)  # per example: the same values as per batch
        labels = split.y.to(device)

        def gathered() -> tuple[torch.Tensor, torch.Tensor]:
            chosen = torch.cat([next(order) for order in orders]).to(device)
            x, y = examples[chosen], labels[chosen]
            return x.view(len(seeds), -1, *x.shape[1:]), y.view(len(seeds), -1)

        return gathered
    streams = [loader.batches(start) for loader in loaders]

    def stacked() -> tuple[torch.Tensor, torch.Tensor]:
        batches = [next(stream) for stream in streams]
        return torch.stack([b[0] for b in batches]), torch.stack([b[1] for b in batches])

    return stacked


@in_cpu_numerics
def train_many(
    models: list[nn.Module],
    splits: Splits,
    hp: TrainingHparams,
    *,
    seeds: list[int],
    hooks: list[TrainHooks | None] | None = None,
    device: torch.device | None = None,
    start_iteration: int = 0,
) -> list[TrainResult]:
    """Train every model in place for ``hp.duration``: run i with ``seeds[i]``'s data order and
    ``hooks[i]`` (e.g. its ``mask_hooks``). Returns one result per run, as the one-run loop
    would. ``start_iteration`` k starts every run at step k of the schedule (tickets rewound
    to θ_k), exactly as :func:`lthbench.train.loop.train` does."""
    device = device or torch.device("cpu")
    runs = len(models)
    hooks = hooks or [None] * runs
    if not len(seeds) == len(hooks) == runs:
        raise ValueError("one seed and one hook set per model")
    _check(models, hooks, hp)
    for model in models:
        model.to(device).train()
    template = models[0]
    own = [dict(model.named_parameters()) for model in models]
    stacked = {
        name: torch.stack([parameters[name].detach() for parameters in own])
        .clone()
        .requires_grad_(True)
        for name in own[0]
    }
    own_buffers = [dict(model.named_buffers()) for model in models]
    buffers = {name: torch.stack([b[name] for b in own_buffers]) for name in own_buffers[0]}
    for index, (parameters, run_buffers) in enumerate(zip(own, own_buffers, strict=True)):
        for name, parameter in parameters.items():  # each run's module sees its slice
            parameter.data = stacked[name].data[index]
        for name, buffer in run_buffers.items():
            buffer.data = buffers[name][index]

    def forward(
        parameters: dict[str, torch.Tensor], state: dict[str, torch.Tensor], x: torch.Tensor
    ) -> torch.Tensor:
        return functional_call(template, (parameters, state), (x,))

    per_run = vmap(forward)
    shared_input = vmap(forward, in_dims=(0, 0, None))

    per_epoch = iterations_per_epoch(splits.info.train_size, hp.batch_size)
    total = hp.duration.to_iterations(per_epoch)
    if not 0 <= start_iteration < total:
        raise ValueError(f"start_iteration {start_iteration} is not in [0, {total})")
    eval_every = hp.eval_interval.to_iterations(per_epoch)
    schedule = LearningRate.from_hparams(hp, per_epoch)
    optimizer = make_optimizer(list(stacked.values()), hp, fused=True)
    next_batch = _batches(splits, hp.batch_size, seeds, device, start_iteration)
    logs: list[list[dict[str, Any]]] = [[] for _ in range(runs)]
    marks: list[float] = []
    began = time.perf_counter()

    @torch.inference_mode()
    def evaluate(split: Any) -> tuple[list[float], list[float]]:
        loss_sums, correct, count = [0.0] * runs, [0] * runs, 0
        template.eval()  # BatchNorm normalises with the runs' running statistics
        for x, y in eval_batches(split, device):
            logits = shared_input(stacked, buffers, x)
            losses = nn.functional.cross_entropy(
                logits.flatten(0, 1), y.repeat(runs), reduction="none"
            ).view(runs, -1)
            batch_losses = losses.sum(1).tolist()
            hits = (logits.argmax(2) == y).sum(1).tolist()
            for i in range(runs):  # per run, as the one-run loop sums: batch by batch, in floats
                loss_sums[i] += batch_losses[i]
                correct[i] += hits[i]
            count += len(y)
        template.train()
        return [s / count for s in loss_sums], [c / count for c in correct]

    def record(
        iteration: int, train_loss: list[float | None], train_acc: list[float | None]
    ) -> None:
        (val_loss, val_accuracy), (test_loss, test_accuracy) = val_and_test(splits, evaluate)
        for i in range(runs):
            entry: dict[str, Any] = {
                "iteration": iteration,
                "epoch": iteration / per_epoch,
                "lr": schedule.at(max(iteration - 1, 0)),
                "train_loss": train_loss[i],
                "train_accuracy": train_acc[i],
                "val_loss": val_loss[i],
                "val_accuracy": val_accuracy[i],
                "test_loss": test_loss[i],
                "test_accuracy": test_accuracy[i],
            }
            hook = hooks[i]
            if hook is not None and hook.after_eval is not None:
                entry.update(hook.after_eval(iteration, models[i]))
            logs[i].append(entry)
        marks.append(time.perf_counter() - began)

    record(start_iteration, [None] * runs, [None] * runs)
    loss_sum = torch.zeros(runs, device=device)
    correct = torch.zeros(runs, dtype=torch.long, device=device)
    seen = 0
    step_hooks = [(i, h.after_step) for i, h in enumerate(hooks) if h and h.after_step]
    grad_hooks = [(i, h.before_step) for i, h in enumerate(hooks) if h and h.before_step]
    for iteration in range(start_iteration, total):
        x, y = next_batch()
        for group in optimizer.param_groups:
            group["lr"] = schedule.at(iteration)
        logits = per_run(stacked, buffers, x)
        losses = nn.functional.cross_entropy(
            logits.flatten(0, 1), y.flatten(), reduction="none"
        ).view(runs, -1).mean(1)  # fmt: skip
        optimizer.zero_grad(set_to_none=True)
        losses.sum().backward()  # runs are independent: each run's gradient is its own loss's
        for i, before_step in grad_hooks:  # the run's module sees its slice of the gradients
            for name, parameter in own[i].items():
                parameter.grad = stacked[name].grad[i]  # type: ignore[index]
            before_step(iteration, models[i])
        optimizer.step()
        for i, after_step in step_hooks:
            after_step(iteration + 1, models[i])
        loss_sum += losses.detach() * y.shape[1]
        correct += (logits.detach().argmax(2) == y).sum(1)
        seen += y.shape[1]
        done = iteration + 1
        if done % eval_every == 0 or done == total:
            mean_loss = (loss_sum / seen).tolist()
            accuracy = (correct.double() / seen).tolist()
            record(done, mean_loss, accuracy)
            loss_sum.zero_()
            correct.zero_()
            seen = 0
    wall = time.perf_counter() - began
    for name, tensor in stacked.items():  # hand each run its own storage back
        for index, parameters in enumerate(own):
            parameters[name].data = tensor.data[index].clone()
            parameters[name].grad = None
    for name, tensor in buffers.items():
        for index, run_buffers in enumerate(own_buffers):
            run_buffers[name].data = tensor[index].clone()
    shared = [m / runs for m in marks]  # the group's time, shared equally among its runs
    return [
        TrainResult(log, total, wall / runs, summary=summarise(log), elapsed_s=shared)
        for log in logs
    ]
