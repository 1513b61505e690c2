"""The sparse_training method's training path (imported only to train): the dense network, then
per density the entry's update and its baselines, each from the same random initial mask."""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn

from lthbench.methods.sparse_figures import forward_flops, keep_final, train_sparse
from lthbench.methods.sparse_training.identity import (
    FIGURES,
    GROWTH_SEED_OFFSET,
    MASK_SEED_OFFSET,
    sparse_extra,
)
from lthbench.methods.sparse_training.params import SparseTrainingParams, Update
from lthbench.prune.dynamic import DynamicMask, drop_and_grow
from lthbench.prune.mask import Mask, full_mask, prunable_weights
from lthbench.prune.sparsity import drop_fraction
from lthbench.prune.sparsity import layer_densities as spread
from lthbench.run.context import Context
from lthbench.store import Run
from lthbench.train import TrainHooks


def train_seed(context: Context, params: SparseTrainingParams) -> None:
    runs = ((sparse_extra(params, target, update), _prepare(context, params, target, update),
             f"{update} {100 * target:g}%")
            for target in params.densities for update in (params.update, *params.baselines))  # fmt: skip
    train_sparse(context, runs, FIGURES)


def sparse_weights(model: nn.Module, params: SparseTrainingParams) -> dict[str, nn.Parameter]:
    """The tensors kept sparse: the prunable weights, less the first with dense_first_layer."""
    weights = prunable_weights(model, params.include_output, params.exclude)
    if params.dense_first_layer:
        weights.pop(next(iter(weights)))
    return weights


def target_densities(model: nn.Module, params: SparseTrainingParams,
                     target: float) -> dict[str, float]:  # fmt: skip
    """Each sparse tensor's density under the entry's distribution."""
    shapes = {name: tuple(w.shape) for name, w in sparse_weights(model, params).items()}
    return spread(shapes, target, params.distribution)


def initial_mask(model: nn.Module, params: SparseTrainingParams, target: float,
                 seed: int) -> Mask:  # fmt: skip
    """round(d_l · n_l) weights of each tensor, drawn uniformly by the seed's mask stream."""
    generator = torch.Generator().manual_seed(seed * 1000 + MASK_SEED_OFFSET)
    mask: Mask = {}
    for name, d in target_densities(model, params, target).items():
        n = math.prod(model.get_parameter(name).shape)
        keep = torch.zeros(n, dtype=torch.bool)
        keep[torch.randperm(n, generator=generator)[: round(d * n)]] = True
        mask[name] = keep.view(model.get_parameter(name).shape)
    return mask


def _prepare(context: Context, params: SparseTrainingParams, target: float,
             update: Update) -> Any:  # fmt: skip
    experiment = context.experiment
    total = experiment.total_iterations
    every = experiment.iterations(params.update_interval)
    end = (experiment.iterations(params.update_end) if params.update_end is not None
           else math.floor(0.75 * total))  # fmt: skip

    def updates_at(step: int) -> bool:
        return update != "static" and step % every == 0 and 0 < step < end

    def prepare(model: nn.Module, run: Run) -> TrainHooks:
        weights = sparse_weights(model, params)
        holder = DynamicMask(model, full_mask(weights), forward_flops(context))
        holder.replace(initial_mask(model, params, target, context.seed), None)

        def rewire(step: int, optimizer: torch.optim.Optimizer) -> None:
            if not updates_at(step):
                return
            fraction = (drop_fraction(step, params.drop_fraction, end)
                        if params.drop_schedule == "cosine" else params.drop_fraction)  # fmt: skip
            magnitudes = {name: w.detach().abs() for name, w in weights.items()}
            if update == "rigl":
                grow = {name: g.abs() for name, g in holder.dense_gradients.items()}
                holder.replace(drop_and_grow(magnitudes, grow, holder.mask, fraction), optimizer)
                return
            stream = context.seed + GROWTH_SEED_OFFSET + step
            generator = torch.Generator().manual_seed(stream)
            grow = {name: torch.rand(w.shape, generator=generator) for name, w in weights.items()}
            with torch.random.fork_rng(devices=[]):  # the loop's own stream stays untouched
                fresh = dict(context.build_model(stream).named_parameters())
            values = {name: fresh[name].detach() for name in weights}
            holder.replace(drop_and_grow(magnitudes, grow, holder.mask, fraction), optimizer,
                           values)  # fmt: skip

        return holder.hooks(rewire, wants_gradients=updates_at if update == "rigl" else None,
                            on_final=keep_final(run), total=total)  # fmt: skip

    return prepare
