"""The gradual method's training path (imported only to train): the dense network, then per
final density a network pruned along Zhu & Gupta's schedule while it trains."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from lthbench.methods.gradual.identity import FIGURES, pruned_extra
from lthbench.methods.gradual.params import GradualParams
from lthbench.methods.sparse_figures import forward_flops, keep_final, train_sparse
from lthbench.prune.criteria import CRITERIA
from lthbench.prune.dynamic import DynamicMask, keep_top
from lthbench.prune.mask import full_mask, prunable_weights
from lthbench.prune.sparsity import gradual_sparsity
from lthbench.run.context import Context
from lthbench.store import Run
from lthbench.train import TrainHooks


def train_seed(context: Context, params: GradualParams) -> None:
    runs = ((pruned_extra(params, target), _prepare(context, params, target),
             f"GMP {100 * target:g}%") for target in params.densities)  # fmt: skip
    train_sparse(context, runs, FIGURES)


def scheduled_density(params: GradualParams, target: float, step: int, start: int, end: int,
                      every: int) -> float | None:  # fmt: skip
    """The density the schedule prunes to after ``step`` steps; None where it does not
    prune (before ``start``, after ``end``, off the Δt grid and not at ``end``)."""
    if step < start or step > end or ((step - start) % every and step != end):
        return None
    return 1.0 - gradual_sparsity(step, 1.0 - params.initial_density, 1.0 - target, start,
                                  end, every)  # fmt: skip


def _prepare(context: Context, params: GradualParams, target: float) -> Any:
    experiment = context.experiment
    start, end, every = (experiment.iterations(d) for d in (params.start, params.end,
                                                             params.frequency))  # fmt: skip
    criterion = CRITERIA[params.criterion]

    def prepare(model: nn.Module, run: Run) -> TrainHooks:
        weights = prunable_weights(model, params.include_output, params.exclude)
        holder = DynamicMask(model, full_mask(weights), forward_flops(context))

        def prune(step: int, optimizer: torch.optim.Optimizer | None) -> None:
            goal = scheduled_density(params, target, step, start, end, every)
            if goal is None:
                return
            current = {name: w.detach() for name, w in weights.items()}
            scores = criterion.scores(current, seed=context.seed * 1000 + step, model=model,
                                      mask=holder.mask)  # fmt: skip
            holder.replace(keep_top(scores, holder.mask, goal, params.scope), optimizer)

        prune(0, None)  # a schedule from step 0 prunes θ0, before there is an optimizer
        return holder.hooks(prune, on_final=keep_final(run), total=experiment.total_iterations)

    return prepare
