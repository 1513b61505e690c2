"""The one-run training loop every method uses (``vectorised.train_many`` batches several
runs of one architecture through the same steps).

Methods change it only through :class:`TrainHooks` (e.g. zeroing pruned weights' gradients
before each step, adding an L1 penalty on BatchNorm scales). The loop evaluates on validation
and test every ``eval_interval``, keeps early-stopping bookkeeping (the iteration of minimum
validation loss, as in the LTH paper), and checkpoints everything a resumed run needs to end
with exactly the metrics of an uninterrupted one: weights, optimizer state, RNG state, the log.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, ParamSpec, Protocol, TypeVar

import torch
from torch import nn
from tqdm import tqdm

from lthbench.data.base import Splits, TensorSplit
from lthbench.data.loader import TrainBatches, eval_batches, iterations_per_epoch
from lthbench.spec.entry import TrainingHparams
from lthbench.train.schedule import LearningRate

P = ParamSpec("P")
R = TypeVar("R")


class Checkpoints(Protocol):
    """Where the loop keeps its resumable state (the store provides one per run)."""

    def load(self) -> dict[str, Any] | None: ...

    def save(self, state: dict[str, Any]) -> None: ...


StepHook = Callable[[int, nn.Module], None]


@dataclass
class TrainHooks:
    """How a method customises the loop without editing it.

    Step hooks receive the iteration (steps taken so far, after the step for ``after_step``).
    """

    before_step: StepHook | None = None
    """Called between backward and the optimizer step (e.g. to mask gradients)."""
    after_step: StepHook | None = None
    """Called after every optimizer step (e.g. to save a rewind point)."""
    penalty: Callable[[nn.Module], torch.Tensor] | None = None
    """Added to the loss (e.g. network slimming's L1 on BatchNorm scales)."""
    after_eval: Callable[[int, nn.Module], dict[str, Any]] | None = None
    """Called at every evaluation; what it returns is added to that evaluation's record."""
    after_update: Callable[[torch.optim.Optimizer], None] | None = None
    """Called after every optimizer step with the optimizer (e.g. to quantise momentum)."""
    stop: Callable[[int], bool] | None = None
    """Asked after every evaluation; True ends training there (e.g. once a ticket is drawn)."""
    rewire: Callable[[int, nn.Module, torch.optim.Optimizer], None] | None = None
    """Called after every step (after ``after_step``) with the optimizer: where a mask that
    changes during training (gradual pruning, sparse training) prunes and regrows, clearing
    the optimizer state of the weights it changes."""
    state: Callable[[], dict[str, Any]] | None = None
    """What the hooks must keep in a checkpoint to resume exactly (e.g. a changing mask)."""
    restore: Callable[[dict[str, Any]], None] | None = None
    """Given what ``state`` returned, when a run resumes from its checkpoint."""

    @staticmethod
    def combine(*hooks: TrainHooks | None) -> TrainHooks:
        """Hooks that run each of ``hooks`` in order."""
        present = [h for h in hooks if h is not None]

        def chain(field_name: str) -> StepHook | None:
            functions = [getattr(h, field_name) for h in present if getattr(h, field_name)]
            if not functions:
                return None

            def run_all(iteration: int, model: nn.Module) -> None:
                for function in functions:
                    function(iteration, model)

            return run_all

        penalties = [h.penalty for h in present if h.penalty is not None]
        evals = [h.after_eval for h in present if h.after_eval is not None]
        updates = [h.after_update for h in present if h.after_update is not None]
        stops = [h.stop for h in present if h.stop is not None]
        rewires = [h.rewire for h in present if h.rewire is not None]
        stateful = [h for h in present if h.state is not None]

        def penalty(model: nn.Module) -> torch.Tensor:
            return sum((p(model) for p in penalties), torch.zeros(()))

        def after_eval(iteration: int, model: nn.Module) -> dict[str, Any]:
            merged: dict[str, Any] = {}
            for function in evals:
                merged.update(function(iteration, model))
            return merged

        def after_update(optimizer: torch.optim.Optimizer) -> None:
            for function in updates:
                function(optimizer)

        def stop(iteration: int) -> bool:
            return any(function(iteration) for function in stops)

        def rewire(iteration: int, model: nn.Module, optimizer: torch.optim.Optimizer) -> None:
            for function in rewires:
                function(iteration, model, optimizer)

        def state() -> dict[str, Any]:
            return {str(i): h.state() for i, h in enumerate(stateful)}  # type: ignore[misc]

        def restore(saved: dict[str, Any]) -> None:
            for i, h in enumerate(stateful):
                if h.restore is not None:
                    h.restore(saved[str(i)])

        return TrainHooks(
            before_step=chain("before_step"),
            after_step=chain("after_step"),
            penalty=penalty if penalties else None,
            after_eval=after_eval if evals else None,
            after_update=after_update if updates else None,
            stop=stop if stops else None,
            rewire=rewire if rewires else None,
            state=state if stateful else None,
            restore=restore if stateful else None,
        )


@dataclass
class TrainResult:
    log: list[dict[str, Any]]
    iterations: int
    """Steps taken: the duration's, or fewer when a ``stop`` hook ended training."""
    wall_time_s: float
    summary: dict[str, Any] = field(default_factory=dict)
    elapsed_s: list[float] = field(default_factory=list)
    """Training time up to each evaluation of ``log`` (kept apart: logs are deterministic)."""


def make_optimizer(
    parameters: Iterable[torch.Tensor], hp: TrainingHparams, fused: bool = False
) -> torch.optim.Optimizer:
    """The entry's optimizer. A fused one (one kernel per step: ``fused`` here, or the entry's
    ``fused_optimizer``) rounds differently from the default per-tensor implementation, so the
    one-run loop uses it only when the entry asks for it."""
    params = [p for p in parameters if p.requires_grad]
    fused = fused or hp.fused_optimizer
    if hp.optimizer == "sgd":
        return torch.optim.SGD(
            params,
            lr=hp.lr,
            momentum=hp.momentum,
            nesterov=hp.nesterov,
            weight_decay=hp.weight_decay,
            fused=fused or None,
        )
    return torch.optim.Adam(params, lr=hp.lr, weight_decay=hp.weight_decay, fused=fused or None)


def to_layout(model: nn.Module, hp: TrainingHparams) -> nn.Module:
    """``model`` in the entry's memory layout, in place: NHWC when ``hp.channels_last`` (the
    weights' layout decides the convolutions', whatever the input's). Nothing is touched
    otherwise, so a default run computes exactly as before the field existed."""
    if hp.channels_last:
        model.to(memory_format=torch.channels_last)
    return model


@contextlib.contextmanager
def cpu_numerics(hp: TrainingHparams) -> Iterator[None]:
    """The run's CPU float mode: subnormals flushed to zero when ``hp.flush_denormal`` (torch
    has no getter, so the mode is set both ways and left off afterwards, torch's default)."""
    if not torch.set_flush_denormal(hp.flush_denormal) and hp.flush_denormal:
        raise RuntimeError("training.flush_denormal: this CPU cannot flush subnormals to zero")
    try:
        yield
    finally:
        torch.set_flush_denormal(False)


def in_cpu_numerics(train_function: Callable[P, R]) -> Callable[P, R]:
    """Run a training function (one with an ``hp`` argument) under :func:`cpu_numerics`."""
    signature = inspect.signature(train_function)

    @functools.wraps(train_function)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        with cpu_numerics(signature.bind(*args, **kwargs).arguments["hp"]):
            return train_function(*args, **kwargs)

    return wrapper


def val_and_test(
    splits: Splits, evaluate: Callable[[Any], tuple[Any, Any]]
) -> tuple[tuple[Any, Any], tuple[Any, Any]]:
    """(loss, accuracy) on validation and on test: one pass when validation is the test
    split (``validation_size: 0``)."""
    val = evaluate(splits.val)
    return val, val if splits.val is splits.test else evaluate(splits.test)


def autocast(precision: str, device: torch.device) -> contextlib.AbstractContextManager[Any]:
    if precision == "bf16":
        return torch.autocast(device_type=device.type, dtype=torch.bfloat16)
    return contextlib.nullcontext()


@torch.inference_mode()
def evaluate(
    model: nn.Module, split: TensorSplit | Any, device: torch.device, precision: str
) -> tuple[float, float]:
    """Mean cross-entropy and accuracy over a whole split (per example, not per batch)."""
    was_training = model.training
    model.eval()
    loss_sum, correct, count = 0.0, 0, 0
    for x, y in eval_batches(split, device):
        with autocast(precision, device):
            logits = model(x)
        loss_sum += nn.functional.cross_entropy(logits.float(), y, reduction="sum").item()
        correct += int((logits.argmax(1) == y).sum())
        count += len(y)
    model.train(was_training)
    return loss_sum / count, correct / count


def summarise(log: list[dict[str, Any]]) -> dict[str, Any]:
    """Early-stopping figures: the first evaluation with minimum validation loss, and the end."""
    best = min(log, key=lambda record: (record["val_loss"], record["iteration"]))
    last = log[-1]
    return {
        "early_stop_iteration": best["iteration"],
        "min_val_loss": best["val_loss"],
        "val_accuracy_at_early_stop": best["val_accuracy"],
        "test_accuracy_at_early_stop": best["test_accuracy"],
        "test_loss_at_early_stop": best["test_loss"],
        "final_val_loss": last["val_loss"],
        "final_val_accuracy": last["val_accuracy"],
        "final_test_loss": last["test_loss"],
        "final_test_accuracy": last["test_accuracy"],
        "final_train_loss": last["train_loss"],
        "final_train_accuracy": last["train_accuracy"],
    }


def _rng_seed(seed: int) -> int:
    """The global RNG (dropout, drop-path) gets a seed distinct from the init and data streams."""
    return (seed * 2_654_435_761 + 97) % 2**63


@in_cpu_numerics
def train(
    model: nn.Module,
    splits: Splits,
    hp: TrainingHparams,
    *,
    seed: int,
    precision: str = "fp32",
    device: torch.device | None = None,
    checkpoints: Checkpoints | None = None,
    checkpoint_seconds: float = 60.0,
    hooks: TrainHooks | None = None,
    progress: str | None = None,
    start_iteration: int = 0,
) -> TrainResult:
    """Train ``model`` in place for ``hp.duration`` and return its evaluation log.

    ``start_iteration`` k starts training at step k of the schedule, as open_lth's
    ``start_step`` does for a ticket rewound to θ_k: the learning rate, the data order and the
    evaluation iterations continue from k, and training ends at the duration's step T (T − k
    steps). ``progress`` is the label of a progress bar (None: no bar).
    """
    device = device or torch.device("cpu")
    hooks = hooks or TrainHooks()
    to_layout(model.to(device), hp)
    per_epoch = iterations_per_epoch(splits.info.train_size, hp.batch_size)
    total = hp.duration.to_iterations(per_epoch)
    eval_every = hp.eval_interval.to_iterations(per_epoch)
    schedule = LearningRate.from_hparams(hp, per_epoch)
    optimizer = make_optimizer(model.parameters(), hp)
    data = TrainBatches(splits.train, hp.batch_size, seed, device, splits.augment)

    saved = checkpoints.load() if checkpoints else None
    if saved is not None:
        model.load_state_dict(saved["model"])
        optimizer.load_state_dict(saved["optimizer"])
        torch.set_rng_state(saved["rng"])
        start, log, elapsed = saved["iteration"], saved["log"], saved["elapsed"]
        marks: list[float] = saved.get("elapsed_at_eval", [])
        if hooks.restore is not None:
            hooks.restore(saved["hooks"])
    else:
        torch.manual_seed(_rng_seed(seed))
        start, log, elapsed, marks = start_iteration, [], 0.0, []
    if not 0 <= start_iteration < total:
        raise ValueError(f"start_iteration {start_iteration} is not in [0, {total})")

    def record(iteration: int, train_loss: float | None, train_accuracy: float | None) -> None:
        (val_loss, val_accuracy), (test_loss, test_accuracy) = val_and_test(
            splits, lambda split: evaluate(model, split, device, precision)
        )
        entry: dict[str, Any] = {
            "iteration": iteration,
            "epoch": iteration / per_epoch,
            "lr": schedule.at(max(iteration - 1, 0)),
            "train_loss": train_loss,
            "train_accuracy": train_accuracy,
            "val_loss": val_loss,
            "val_accuracy": val_accuracy,
            "test_loss": test_loss,
            "test_accuracy": test_accuracy,
        }
        if hooks.after_eval is not None:
            entry.update(hooks.after_eval(iteration, model))
        log.append(entry)
        marks.append(elapsed + time.perf_counter() - began)

    began = time.perf_counter()
    last_save = began
    done = start
    if saved is None:
        record(start, None, None)

    bar = tqdm(total=total, initial=start, desc=progress, disable=progress is None,
               dynamic_ncols=True, mininterval=0.5, leave=False)  # fmt: skip
    model.train()
    loss_sum = torch.zeros((), device=device)
    correct = torch.zeros((), dtype=torch.long, device=device)
    seen = 0
    batches: Iterator[tuple[torch.Tensor, torch.Tensor]] = data.batches(start)
    for iteration in range(start, total):
        x, y = next(batches)
        lr = schedule.at(iteration)
        for group in optimizer.param_groups:
            group["lr"] = lr
        with autocast(precision, device):
            logits = model(x)
            loss = nn.functional.cross_entropy(logits.float(), y)
            objective = loss + hooks.penalty(model) if hooks.penalty is not None else loss
        optimizer.zero_grad(set_to_none=True)
        objective.backward()
        if hooks.before_step is not None:
            hooks.before_step(iteration, model)
        optimizer.step()
        if hooks.after_update is not None:
            hooks.after_update(optimizer)
        if hooks.after_step is not None:
            hooks.after_step(iteration + 1, model)
        if hooks.rewire is not None:
            hooks.rewire(iteration + 1, model, optimizer)
        loss_sum += loss.detach() * len(y)
        correct += (logits.detach().argmax(1) == y).sum()
        seen += len(y)
        done = iteration + 1
        if done % eval_every == 0 or done == total:
            record(done, float(loss_sum) / seen, int(correct) / seen)
            loss_sum.zero_()
            correct.zero_()
            seen = 0
            bar.set_postfix(loss=f"{log[-1]['train_loss']:.3f}",
                            val_acc=f"{log[-1]['val_accuracy']:.3f}", refresh=False)  # fmt: skip
            if hooks.stop is not None and hooks.stop(done):
                break
            now = time.perf_counter()
            if checkpoints is not None and done < total and now - last_save >= checkpoint_seconds:
                checkpoints.save({
                    "model": model.state_dict(),
                    "optimizer": optimizer.state_dict(),
                    "rng": torch.get_rng_state(),
                    "iteration": done,
                    "log": log,
                    "elapsed": elapsed + now - began,
                    "elapsed_at_eval": marks,
                    **({"hooks": hooks.state()} if hooks.state is not None else {}),
                })  # fmt: skip
                last_save = now
        bar.update(1)
    bar.close()
    wall = elapsed + time.perf_counter() - began
    return TrainResult(log=log, iterations=done, wall_time_s=wall, summary=summarise(log),
                       elapsed_s=marks)  # fmt: skip
