"""The pai method's training path (imported only to train): the dense network, then per
density the network pruned at θ0 and each ablation, every mask held exactly by the loop."""

from __future__ import annotations

from collections import Counter
from typing import Any

import torch
from torch import nn

from lthbench.data.base import TensorSplit
from lthbench.methods.pai.identity import FIGURES, pruned_extra
from lthbench.methods.pai.params import REINIT_SEED_OFFSET, PaiParams
from lthbench.prune.criteria import CRITERIA
from lthbench.prune.magnitude import random_mask_like
from lthbench.prune.mask import (
    Mask,
    apply_mask,
    density,
    full_mask,
    layer_densities,
    mask_hooks,
    mask_to_cpu,
)
from lthbench.run.context import Context
from lthbench.store import Run
from lthbench.train import TrainHooks


def train_seed(context: Context, params: PaiParams) -> None:
    context.train_run(label="dense")
    for round_, target in enumerate(params.densities, start=1):
        for control in (None, *params.controls):
            extra = pruned_extra(params, target, control)
            label = f"Pm {100 * target:g}%" + (f" {control}" if control else "")
            prepare = _prepare(context, params, round_, target, control)
            context.train_run(extra, prepare, label)
            _cache_figures(context.run_for(extra))


def scoring_batch(context: Context, params: PaiParams) -> tuple[torch.Tensor, torch.Tensor]:
    """The training examples SNIP and GraSP score on (no augmentation), in an order drawn by
    the seed: its first ``score_examples``, or its first ``score_examples_per_class`` of each
    class."""
    split = context.splits().train
    generator = torch.Generator().manual_seed(context.seed * 2 + 1)
    order = torch.randperm(len(split), generator=generator).tolist()
    per_class = params.score_examples_per_class
    if per_class is None:
        chosen = order[: params.score_examples]
    else:
        label = (lambda i: int(split.y[i])) if isinstance(split, TensorSplit) else (
            lambda i: int(split[i][1]))  # fmt: skip
        taken: Counter[int] = Counter()
        chosen = []
        for index in order:
            y = label(index)
            if taken[y] < per_class:
                taken[y] += 1
                chosen.append(index)
                if len(chosen) == per_class * context.data_info.num_classes:
                    break
    if isinstance(split, TensorSplit):
        picked = torch.tensor(chosen, dtype=torch.long)
        return split.prepare(split.x[picked]), split.y[picked]
    items = [split[i] for i in chosen]
    return torch.stack([x for x, _ in items]), torch.tensor([int(y) for _, y in items])


def _pruned_mask(context: Context, params: PaiParams, target: float, model: nn.Module,
                 criterion: str, invert: bool = False) -> Mask:  # fmt: skip
    """The mask ``criterion`` gives the network at θ0 (``model`` as built) at ``target``."""
    rule = params.rule(target, criterion)
    weights = {name: w.detach() for name, w in rule.weights(model).items()}
    needs_data = CRITERIA[criterion].needs_data
    batch = scoring_batch(context, params) if needs_data else None
    return rule.prune(model, weights, full_mask(weights), 1, seed=context.seed * 2 + 1,
                      invert=invert, batch=batch, input_size=context.data_info.input_size)  # fmt: skip


def _prepare(context: Context, params: PaiParams, round_: int, target: float,
             control: str | None) -> Any:  # fmt: skip
    def prepare(model: nn.Module, run: Run) -> TrainHooks:
        mask = run.mask()
        if mask is None:
            if control in (None, "invert"):
                mask = _pruned_mask(context, params, target, model, params.criterion,
                                    invert=control == "invert")  # fmt: skip
            elif control == "random":
                mask = _pruned_mask(context, params, target, model, "random")
            else:
                ticket = context.run_for(pruned_extra(params, target)).mask()
                if ticket is None:
                    raise RuntimeError(f"the network pruned to {target:g} has no stored mask")
                generator = torch.Generator().manual_seed(context.seed * 1000 + round_)
                mask = ticket if control == "reinit" else random_mask_like(ticket, generator)
            mask = mask_to_cpu(mask)
            run.save_mask(mask)
        if control == "reinit":
            fresh = context.build_model(context.seed + REINIT_SEED_OFFSET)
            model.load_state_dict(fresh.state_dict())
        apply_mask(model, mask)
        return mask_hooks(model, mask)

    return prepare


def _cache_figures(run: Run) -> None:
    """The mask's density and per-layer densities, kept with the run for reading."""
    if run.result() is None or run.figures(FIGURES) is not None:
        return
    mask = run.mask()
    if mask is None:
        raise RuntimeError(f"run {run.id} has no stored mask")
    run.save_figures(FIGURES, {"density": density(mask), "layer_densities": layer_densities(mask)})
