"""Masks that change during training: gradual pruning raises the sparsity along a schedule,
sparse training drops connections and grows others (SET, RigL).

Between changes a :class:`DynamicMask` holds exactly, as a fixed mask does
(:func:`lthbench.prune.mask.mask_hooks`): gradients of pruned weights are zeroed before each
step. At a change (the loop's ``rewire`` hook, after the optimizer step) the weights it removes
are set to zero, the weights it adds start at a given value (zero unless told), and the
optimizer state of both (momentum, Adam's moments) is cleared, so that no stale moment revives
a removed weight or pushes a new one. Its mask travels in the run's checkpoint, so a resumed
run continues with the mask it had.

The changes themselves are functions of scores, like the scopes of
:mod:`lthbench.prune.scope`: :func:`keep_top` (to a density, per layer or over all layers) and
:func:`drop_and_grow` (the same number of weights out and in, per layer).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from lthbench.prune.criteria import Scores
from lthbench.prune.mask import Mask, MaskViolation, density, layer_of, mask_to_cpu
from lthbench.prune.scope import lowest
from lthbench.train import TrainHooks

Update = Callable[[int, torch.optim.Optimizer], None]
"""Called after step ``iteration`` (steps taken) with the optimizer; may call ``replace``."""


class DynamicMask:
    """A mask over ``model``'s named tensors that training may replace."""

    def __init__(self, model: nn.Module, mask: Mask,
                 forward_flops: Callable[[Mask], float] | None = None) -> None:  # fmt: skip
        parameters = dict(model.named_parameters())
        self.parameters = {name: parameters[name] for name in mask}
        self.mask: Mask = {
            name: keep.to(self.parameters[name].device, torch.bool).clone()
            for name, keep in mask.items()
        }
        self._keeps = {
            name: keep.to(self.parameters[name].dtype) for name, keep in self.mask.items()
        }
        self.dense_gradients: dict[str, torch.Tensor] = {}
        """The gradients of every masked tensor, pruned weights included, at a step whose
        update asked for them (RigL's grow scores); empty otherwise."""
        self.forward_flops = forward_flops
        """One example's forward FLOPs under a mask (:mod:`lthbench.methods.training_cost`)."""
        self.dense_forward = forward_flops({}) if forward_flops is not None else 0.0
        self.spent = 0.0
        """Training FLOPs per example of a batch so far, as trained (RigL's appendix H): a step
        3 f_S (forward, and a backward of twice its cost) at its mask's f_S; a step that took
        the dense gradient 2 f_S + f_D."""
        self._current = 0.0

    def replace(self, new: Mask, optimizer: torch.optim.Optimizer | None,
                grown: dict[str, torch.Tensor] | None = None) -> None:  # fmt: skip
        """Switch to ``new``: removed weights become 0, added ones take ``grown``'s values at
        their positions (0 without it), and both lose their optimizer state (None: before
        training, there is none yet). A weight kept by both masks is untouched, one removed
        and added back in the same change too."""
        with torch.no_grad():
            for name, keep in new.items():
                old = self.mask[name]
                keep = keep.to(old.device, torch.bool)
                changed = old ^ keep
                if not bool(changed.any()):
                    continue
                parameter = self.parameters[name]
                parameter.masked_fill_(~keep, 0.0)
                added = keep & ~old
                if grown is not None:
                    parameter[added] = grown[name].to(parameter.device, parameter.dtype)[added]
                else:
                    parameter.masked_fill_(added, 0.0)
                state = optimizer.state.get(parameter, {}) if optimizer is not None else {}
                for value in state.values():
                    if torch.is_tensor(value) and value.shape == parameter.shape:
                        value.masked_fill_(changed, 0)
                old.copy_(keep)
                self._keeps[name].copy_(keep)
        if self.forward_flops is not None:
            self._current = self.forward_flops(self.mask)

    def hooks(self, update: Update, wants_gradients: Callable[[int], bool] | None = None,
              on_final: Callable[[Mask, float], None] | None = None,
              total: int = 0) -> TrainHooks:  # fmt: skip
        """Loop hooks: gradients masked every step; ``update`` after every step, with the
        dense gradients kept first where ``wants_gradients(steps taken after this step)``;
        a check at every evaluation that pruned weights are zero (the evaluation's record gets
        the mask's ``density``), and ``on_final`` given the mask and the training FLOPs per
        example at the evaluation after step ``total`` (to store what the run ended with)."""
        names = list(self.mask)

        if self.forward_flops is not None and not self._current:
            self._current = self.forward_flops(self.mask)

        def before_step(iteration: int, _: nn.Module) -> None:
            dense = wants_gradients is not None and wants_gradients(iteration + 1)
            self.spent += 2 * self._current + (self.dense_forward if dense else self._current)
            if dense:
                self.dense_gradients = {
                    name: self.parameters[name].grad.detach().clone()  # type: ignore[union-attr]
                    for name in names
                    if self.parameters[name].grad is not None
                }
            pairs = [(self.parameters[n].grad, self._keeps[n]) for n in names
                     if self.parameters[n].grad is not None]  # fmt: skip
            if pairs:
                torch._foreach_mul_([g for g, _ in pairs], [k for _, k in pairs])

        def rewire(iteration: int, _: nn.Module, optimizer: torch.optim.Optimizer) -> None:
            update(iteration, optimizer)
            self.dense_gradients = {}

        def after_eval(iteration: int, _: nn.Module) -> dict[str, Any]:
            for name in names:
                revived = int(torch.count_nonzero((self.parameters[name].detach() != 0)
                                                  & ~self.mask[name]))  # fmt: skip
                if revived:
                    raise MaskViolation(
                        f"{revived} pruned weights of {name} are non-zero at iteration "
                        f"{iteration}: a step or a mask change revived them"
                    )
            if on_final is not None and iteration == total:
                on_final(mask_to_cpu(self.mask), self.spent)
            return {"density": density(self.mask)}

        def restore(saved: dict[str, Any]) -> None:
            for name, keep in saved["mask"].items():
                self.mask[name].copy_(keep)
                self._keeps[name].copy_(keep)
            self.spent = saved["spent"]
            if self.forward_flops is not None:
                self._current = self.forward_flops(self.mask)

        def state() -> dict[str, Any]:
            return {"mask": mask_to_cpu(self.mask), "spent": self.spent}

        return TrainHooks(before_step=before_step, rewire=rewire, after_eval=after_eval,
                          state=state, restore=restore)  # fmt: skip


def keep_counts(mask: Mask, density: float, scope: str) -> dict[str, int] | int:
    """How many weights a mask of ``density`` keeps: per layer, round(density · its size)
    (a layer's masked weight and bias count together); globally, one count over all."""
    if scope == "global":
        return round(density * sum(keep.numel() for keep in mask.values()))
    sizes: dict[str, int] = {}
    for name, keep in mask.items():
        sizes[layer_of(name)] = sizes.get(layer_of(name), 0) + keep.numel()
    return {layer: round(density * size) for layer, size in sizes.items()}


def keep_top(scores: Scores, mask: Mask, density: float, scope: str) -> Mask:
    """The survivors of ``mask`` with the highest scores, so many that the mask's density
    becomes ``density`` exactly (up to one weight per layer, or in all, by rounding): the
    lowest-scoring survivors go, ties to the lower index. A mask already at or below it
    stays."""
    counts = keep_counts(mask, density, scope)
    groups: dict[str, list[str]] = {}
    for name in mask:
        groups.setdefault("all" if scope == "global" else layer_of(name), []).append(name)
    out: Mask = {}
    for group, names in groups.items():
        keep = counts if isinstance(counts, int) else counts[group]
        flat_mask = torch.cat([mask[n].flatten().cpu() for n in names])
        flat_scores = torch.cat([scores[n].flatten().float().cpu() for n in names])
        alive = torch.nonzero(flat_mask).flatten()
        remove = lowest(flat_scores[alive], len(alive) - keep)
        flat_mask = flat_mask.clone()
        flat_mask[alive[remove]] = False
        for name, piece in zip(names, flat_mask.split([mask[n].numel() for n in names]),
                               strict=True):  # fmt: skip
            out[name] = piece.view_as(mask[name])
    return out


def drop_and_grow(drop_scores: Scores, grow_scores: Scores, mask: Mask,
                  fraction: float) -> Mask:  # fmt: skip
    """One connectivity update, per tensor: drop ⌊fraction · active⌋ of the active weights
    with the lowest ``drop_scores``, then grow as many with the highest ``grow_scores`` among
    the weights inactive after the drop (one just dropped may come back, as in RigL's code),
    ties to the lower index. Every tensor keeps its number of active weights."""
    out: Mask = {}
    for name, keep in mask.items():
        flat = keep.flatten().cpu()
        active = torch.nonzero(flat).flatten()
        count = int(fraction * len(active))
        if count == 0:
            out[name] = keep.cpu().clone()
            continue
        after = flat.clone()
        after[active[lowest(drop_scores[name].flatten().float().cpu()[active], count)]] = False
        inactive = torch.nonzero(~after).flatten()
        grow = lowest(-grow_scores[name].flatten().float().cpu()[inactive], count)
        after[inactive[grow]] = True
        out[name] = after.view_as(keep)
    return out
