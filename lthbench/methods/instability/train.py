"""The instability method's training path (imported only to train): θ0 to the end keeping
every θ_k, two copies from each θ_k, and the error along the straight path between them."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from lthbench.methods.instability.identity import (
    COPIES,
    copy_extra,
    copy_results,
    copy_run,
    groups,
    parent_extra,
    path_figures,
    ticket_extra,
)
from lthbench.methods.instability.params import InstabilityParams
from lthbench.methods.lottery.train import Chain
from lthbench.prune.mask import Mask, apply_mask, density, mask_hooks
from lthbench.run.context import Context
from lthbench.store import Run
from lthbench.train import TrainHooks
from lthbench.train.loop import evaluate


def train_seed(context: Context, params: InstabilityParams) -> None:
    ks = {context.experiment.iterations(k): str(k) for k in params.rewind_points}
    parent = context.run_for(parent_extra(params))
    context.train_run(parent_extra(params), _keep_states(ks), "from θ0")
    mask = None
    if params.ticket is not None:  # the lottery chain up to the ticket (stored runs are read)
        Chain(context, params.ticket.lottery).train()
        mask = context.run_for(ticket_extra(params)).mask()
        if mask is None:
            raise RuntimeError("the ticket's lottery run has no stored mask")
    for group in groups(params):
        for k in params.rewind_points:
            start = context.experiment.iterations(k)
            held = mask if group == "ticket" else None
            for copy in COPIES:
                child = copy_results(context, copy)
                assert isinstance(child, Context)
                child.train_run(copy_extra(context, k, copy, group),
                                _start_from(parent, k, start, held),
                                f"{group or 'dense'} copy {copy} from {k}",
                                start_iteration=start)  # fmt: skip
            _cache_path(context, params, k, group, held)


def _keep_states(ks: dict[int, str]) -> Any:
    """Keep θ_k at every rewind point (θ0 is the run's own start)."""

    def prepare(model: nn.Module, run: Run) -> TrainHooks:
        def after_step(iteration: int, model: nn.Module) -> None:
            tag = ks.get(iteration)
            if tag is not None and not run.has_state("rewind", tag):
                run.save_state("rewind", model.state_dict(), tag)

        return TrainHooks(after_step=after_step)

    return prepare


def _start_from(parent: Run, k: Any, start: int, mask: Mask | None) -> Any:
    """θ_k of the dense training, with the ticket's mask applied and held when given."""

    def prepare(model: nn.Module, run: Run) -> TrainHooks | None:
        state = parent.state("init") if start == 0 else parent.state("rewind", str(k))
        if state is None:
            raise RuntimeError(f"run {parent.id} has no weights at {k}")
        model.load_state_dict(state)
        if mask is None:
            return None
        apply_mask(model, mask)
        return mask_hooks(model, mask)

    return prepare


def interpolate(first: dict[str, torch.Tensor], second: dict[str, torch.Tensor],
                alpha: float) -> dict[str, torch.Tensor]:  # fmt: skip
    """first + α·(second − first) for every floating tensor (weights and BatchNorm
    statistics); integer buffers (batch counts) from the nearer end. α = 0 and α = 1 give the
    ends exactly, and two identical ends give themselves at every α."""
    out = {}
    for name, a in first.items():
        b = second[name]
        if a.is_floating_point():
            out[name] = a if alpha == 0 else b if alpha == 1 else a + alpha * (b - a)
        else:
            out[name] = a if alpha < 0.5 else b
    return out


def barrier(errors: list[float]) -> float:
    """The largest error on the path minus the mean of its end points' errors."""
    return max(errors) - (errors[0] + errors[-1]) / 2


def _cache_path(context: Context, params: InstabilityParams, k: Any,
                group: str | None, mask: Mask | None) -> None:  # fmt: skip
    last = copy_run(context, k, 2, group)
    name = path_figures(params)
    if last.figures(name) is not None:
        return
    ends = [copy_run(context, k, c, group).state("final") for c in COPIES]
    if ends[0] is None or ends[1] is None:
        raise RuntimeError(f"the copies from {k} have no final weights")
    splits = context.splits()
    model = context.build_model().to(context.device)
    alphas = [i / (params.points - 1) for i in range(params.points)]
    errors: dict[str, list[float]] = {"train": [], "test": []}
    with context.cpu_threads():
        for alpha in alphas:
            model.load_state_dict(interpolate(ends[0], ends[1], alpha))
            for split in ("train", "test"):
                _, accuracy = evaluate(model, getattr(splits, split), context.device,
                                       context.experiment.precision)  # fmt: skip
                errors[split].append(1.0 - accuracy)
    last.save_figures(name, {
        "density": 1.0 if mask is None else density(mask), "alphas": alphas, "train_error": errors["train"], "test_error": errors["test"],
        "train_barrier": barrier(errors["train"]), "test_barrier": barrier(errors["test"]),
    })  # fmt: skip
