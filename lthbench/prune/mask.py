"""Masks over a model's prunable weights, and the hooks that make them hold exactly.

A mask maps a parameter name (``hidden.0.weight``) to a boolean tensor of its shape. Prunable
tensors are the weights of convolution and linear layers, their biases only when asked (the
MNIST-1D paper's notebook masks them too), never normalisation parameters; the output layer
(timm's ``get_classifier()``) only when asked.

Masks hold *exactly*: pruned weights start at zero and their gradients are zeroed before each
step. Under the loop's optimizers (SGD with momentum, Nesterov and weight decay; Adam; AdamW)
a weight whose value, gradient and optimizer state are all zero gets an update of exactly
zero, so nothing else needs to run per step: no second multiply of the weights after the step,
which would cost as much as the gradient one. Every evaluation checks that the pruned weights
are still zero and stops the run with :class:`MaskViolation` if one is not (an optimizer or
hook that revives weights is a bug to report, never a result to store).
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable
from typing import Any

import torch
from torch import nn

from lthbench.train import TrainHooks

Mask = dict[str, torch.Tensor]

PRUNABLE_LAYERS = (nn.Linear, nn.Conv1d, nn.Conv2d, nn.Conv3d)


def output_layer_name(model: nn.Module) -> str | None:
    """The module name of the classifier, found the timm way."""
    get_classifier = getattr(model, "get_classifier", None)
    classifier = get_classifier() if callable(get_classifier) else None
    for name, module in model.named_modules():
        if module is classifier:
            return name
    return None


def prunable_weights(
    model: nn.Module,
    include_output: bool = False,
    exclude: Iterable[str] = (),
    include_biases: bool = False,
) -> dict[str, nn.Parameter]:
    """Weights (and with ``include_biases`` the biases) of conv and linear layers by parameter
    name, in the model's order.

    ``exclude`` holds fnmatch patterns over module names (e.g. ``*shortcut*``).
    """
    output = output_layer_name(model)
    patterns = list(exclude)
    weights: dict[str, nn.Parameter] = {}
    for name, module in model.named_modules():
        if not isinstance(module, PRUNABLE_LAYERS) or module.weight is None:
            continue
        if name == output and not include_output:
            continue
        if any(fnmatch.fnmatchcase(name, pattern) for pattern in patterns):
            continue
        weights[f"{name}.weight"] = module.weight
        if include_biases and module.bias is not None:
            weights[f"{name}.bias"] = module.bias
    return weights


def layer_of(name: str) -> str:
    """The module a masked tensor belongs to (``hidden.0.weight`` → ``hidden.0``)."""
    return name.rsplit(".", 1)[0]


def full_mask(weights: dict[str, nn.Parameter]) -> Mask:
    return {name: torch.ones_like(w, dtype=torch.bool) for name, w in weights.items()}


def density(mask: Mask) -> float:
    """Fraction of the masked tensors' weights that remain."""
    kept = sum(int(m.sum()) for m in mask.values())
    total = sum(m.numel() for m in mask.values())
    return kept / total if total else 1.0


def layer_densities(mask: Mask) -> dict[str, float]:
    return {name: int(m.sum()) / m.numel() for name, m in mask.items()}


def apply_mask(model: nn.Module, mask: Mask) -> None:
    """Set pruned weights to exactly zero."""
    parameters = dict(model.named_parameters())
    with torch.no_grad():
        for name, keep in mask.items():
            parameters[name].mul_(keep.to(parameters[name].device, parameters[name].dtype))


class MaskViolation(RuntimeError):
    """A pruned weight became non-zero during training."""


def mask_hooks(model: nn.Module, mask: Mask) -> TrainHooks:
    """Loop hooks that keep ``mask`` exact through training (see the module docstring): one
    multi-tensor multiply of the gradients per step (``torch._foreach_mul_``) and a check at
    every evaluation (a comparison and an ``&``: a seventh of boolean indexing's time)."""
    parameters = dict(model.named_parameters())
    pairs = [(name, parameters[name], keep) for name, keep in mask.items() if not bool(keep.all())]
    masked = [parameter for _, parameter, _ in pairs]
    keeps: list[torch.Tensor] = []

    def ready() -> list[torch.Tensor]:
        if not keeps:
            keeps.extend(k.to(p.device, p.dtype) for _, p, k in pairs)
        return keeps

    def before_step(iteration: int, _: nn.Module) -> None:
        grads = [(p.grad, k) for p, k in zip(masked, ready(), strict=True) if p.grad is not None]
        if grads:
            torch._foreach_mul_([g for g, _ in grads], [k for _, k in grads])

    pruned: list[torch.Tensor] = []

    def after_eval(iteration: int, _: nn.Module) -> dict[str, Any]:
        if not pruned:
            pruned.extend(~k.to(p.device, torch.bool) for _, p, k in pairs)
        for (name, parameter, _), dead in zip(pairs, pruned, strict=True):
            revived = int(torch.count_nonzero((parameter.detach() != 0) & dead))
            if revived:
                raise MaskViolation(
                    f"{revived} pruned weights of {name} are non-zero at iteration {iteration}: "
                    "the optimizer or a hook updated weights whose gradient was zeroed"
                )
        return {}

    return TrainHooks(before_step=before_step, after_eval=after_eval)


def mask_to_cpu(mask: Mask) -> Mask:
    return {name: m.detach().to("cpu", torch.bool).clone() for name, m in mask.items()}


def weight_movement(
    initial: dict[str, torch.Tensor], final: dict[str, torch.Tensor], mask: Mask, kept: Mask
) -> tuple[float, float]:
    """Mean |θ_final − θ_init| of the weights ``kept`` keeps, and of all of ``mask``'s."""
    kept_sum = all_sum = 0.0
    kept_count = all_count = 0
    for name, alive in mask.items():
        delta = (final[name] - initial[name]).abs().float()
        kept_sum += float(delta[kept[name]].sum())
        kept_count += int(kept[name].sum())
        all_sum += float(delta[alive].sum())
        all_count += int(alive.sum())
    return kept_sum / max(kept_count, 1), all_sum / max(all_count, 1)
