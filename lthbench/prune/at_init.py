"""Pruning at initialisation: SNIP, GraSP and SynFlow as criteria (scores per weight, higher is
kept), so any scope and the lottery machinery apply them (Frankle et al., "Pruning Neural
Networks at Initialization: Why are We Missing the Mark?", ICLR 2021, compares exactly these).

- SNIP (Lee et al., ICLR 2019, eq. 6): connection sensitivity |∂L/∂w ⊙ w| on one batch.
- GraSP (Wang et al., ICLR 2020, Alg. 1): the weights whose removal reduces gradient flow least
  go first; the paper removes the largest −w ⊙ Hg (H the Hessian of the loss, g its gradient,
  logits divided by a temperature of 200 as the official code does), so the score kept is
  w ⊙ Hg. Hg is a Hessian-vector product by double backpropagation.
- SynFlow (Tanaka et al., NeurIPS 2020, Alg. 1): data-free. The network is linearised (every
  parameter and buffer replaced by its absolute value, in float64, BatchNorm in eval mode), an
  input of ones is passed, R is the sum of the outputs and a weight scores |∂R/∂w ⊙ w|. It
  prunes iteratively, 100 times, to the densities d^(k/100); the score it returns is the
  iteration at which a weight was removed (survivors score highest), so the scope then removes
  exactly what SynFlow removed. Inverted (Frankle et al. 2021's ablation), each iteration
  removes the survivors of highest flow instead.

Each scores the weights it is given with the rest of the network as ``model`` holds it, on a
copy (the model itself is left untouched, BatchNorm statistics included). torch is imported
when a criterion scores, so registering these keeps reading commands light.
"""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any, ClassVar

from lthbench.prune.criteria import Criterion, Scores, register_criterion

if TYPE_CHECKING:
    import torch
    from torch import nn


def _masked(weights: dict[str, torch.Tensor], mask: dict[str, torch.Tensor] | None,
            dtype: torch.dtype | None = None) -> dict[str, torch.Tensor]:  # fmt: skip
    """Leaf tensors of the (masked) weights that gradients are taken with respect to."""
    out: dict[str, torch.Tensor] = {}
    for name, weight in weights.items():
        value = weight.detach().clone().to(dtype or weight.dtype)
        if mask is not None and name in mask:
            value = value * mask[name].to(value.device, value.dtype)
        out[name] = value.requires_grad_(True)
    return out


def _loss(model: nn.Module, weights: dict[str, torch.Tensor], batch: Any,
          temperature: float = 1.0) -> torch.Tensor:  # fmt: skip
    from torch import nn
    from torch.func import functional_call

    inputs, labels = batch
    device = next(iter(weights.values())).device
    logits = functional_call(model, weights, (inputs.to(device),))
    return nn.functional.cross_entropy(logits / temperature, labels.to(device))


def _scoring_copy(model: nn.Module, train: bool) -> nn.Module:
    net = copy.deepcopy(model)
    return net.train() if train else net.eval()


def _needs(context: dict[str, Any], key: str, criterion: str) -> Any:
    if context.get(key) is None:
        raise ValueError(f"criterion {criterion!r} needs {key!r}")
    return context[key]


@register_criterion
class Snip(Criterion):
    """|∂L/∂w ⊙ w| on one batch (train mode, as the network would be trained)."""

    name = "snip"
    needs_data: ClassVar[bool] = True

    def scores(self, weights: dict[str, torch.Tensor], *, seed: int = 0, **context: Any) -> Scores:
        import torch

        model = _scoring_copy(_needs(context, "model", self.name), train=True)
        leaves = _masked(weights, context.get("mask"))
        loss = _loss(model, leaves, _needs(context, "batch", self.name))
        grads = torch.autograd.grad(loss, list(leaves.values()))
        return {n: (g * w).detach().abs().float().cpu()
                for (n, w), g in zip(leaves.items(), grads, strict=True)}  # fmt: skip


@register_criterion
class GraSP(Criterion):
    """w ⊙ Hg (the paper removes the largest −w ⊙ Hg), at the official temperature."""

    name = "grasp"
    needs_data: ClassVar[bool] = True
    temperature: ClassVar[float] = 200.0

    def scores(self, weights: dict[str, torch.Tensor], *, seed: int = 0, **context: Any) -> Scores:
        import torch

        model = _scoring_copy(_needs(context, "model", self.name), train=True)
        batch = _needs(context, "batch", self.name)
        leaves = _masked(weights, context.get("mask"))
        params = list(leaves.values())
        gradient = torch.autograd.grad(_loss(model, leaves, batch, self.temperature), params)
        with_graph = torch.autograd.grad(
            _loss(model, leaves, batch, self.temperature), params, create_graph=True
        )
        z = sum((g.detach() * h).sum() for g, h in zip(gradient, with_graph, strict=True))
        hessian_gradient = torch.autograd.grad(z, params)
        return {n: (w * hg).detach().float().cpu()
                for (n, w), hg in zip(leaves.items(), hessian_gradient, strict=True)}  # fmt: skip


def synflow_scores(model: nn.Module, weights: dict[str, torch.Tensor],
                   mask: dict[str, torch.Tensor] | None,
                   input_size: tuple[int, ...]) -> Scores:  # fmt: skip
    """One SynFlow scoring: |∂R/∂w ⊙ w| of the linearised network on an input of ones."""
    import torch
    from torch.func import functional_call

    net = _scoring_copy(model, train=False).double()
    with torch.no_grad():
        for tensor in [*net.parameters(), *net.buffers()]:
            if tensor.is_floating_point():
                tensor.abs_()
    leaves = _masked({n: w.abs() for n, w in weights.items()}, mask, torch.float64)
    device = next(iter(leaves.values())).device
    ones = torch.ones((1, *input_size), dtype=torch.float64, device=device)
    flow = functional_call(net, leaves, (ones,)).sum()
    grads = torch.autograd.grad(flow, list(leaves.values()))
    return {n: (g * w).detach().abs().cpu()
            for (n, w), g in zip(leaves.items(), grads, strict=True)}  # fmt: skip


@register_criterion
class SynFlow(Criterion):
    """Iterative synaptic flow; reads no data (only the input's shape)."""

    name = "synflow"
    needs_data: ClassVar[bool] = False
    iterative: ClassVar[bool] = True
    iterations: ClassVar[int] = 100

    def scores(self, weights: dict[str, torch.Tensor], *, seed: int = 0, **context: Any) -> Scores:
        import torch

        model = _needs(context, "model", self.name)
        prune_to = _needs(context, "prune_to", self.name)
        input_size = tuple(_needs(context, "input_size", self.name))
        start = context.get("mask") or {n: torch.ones_like(w, dtype=torch.bool)
                                        for n, w in weights.items()}  # fmt: skip
        removed_at = {
            n: torch.full(w.shape, float(self.iterations + 1)) for n, w in weights.items()
        }
        mask = {n: m.detach().cpu().bool() for n, m in start.items()}
        for k in range(1, self.iterations + 1):
            scores = synflow_scores(model, weights, mask, input_size)
            if context.get("invert"):  # the highest flow goes first; the removed stay removed
                scores = {n: torch.where(mask[n].to(s.device), -s, -torch.inf)
                          for n, s in scores.items()}  # fmt: skip
            after = prune_to(scores, k / self.iterations)
            for name, keep in after.items():
                removed_at[name][mask[name] & ~keep.cpu()] = float(k)
            mask = {n: keep.cpu().bool() for n, keep in after.items()}
        return removed_at
