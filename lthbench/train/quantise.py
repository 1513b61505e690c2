"""8-bit training with stochastic rounding, for Early-Bird's low-cost search.

You et al. search for tickets with 8-bit weights, activations, gradients and errors (after
Yang et al.'s SWALP/WAGEUBN line of work), keeping the optimizer's momentum at 8 bits too. Here
every such tensor is quantised per tensor to signed 8-bit integers with the scale
max|x| / 127 and *stochastic* rounding, which is unbiased: E[q(x)] = x. Weights carry no
full-precision master copy: they are re-quantised after every update, as in low-precision
training. This simulates the arithmetic (values are stored in float tensors); it measures
what 8-bit search does to the tickets, not its speed.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from lthbench.train.loop import TrainHooks

LEVELS = 127
"""Signed 8-bit: integers in [-128, 127], symmetric scale over [-127, 127]."""

QUANTISED_LAYERS = (
    nn.Linear, nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d,
)  # fmt: skip


def quantise(x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """x rounded stochastically to 8-bit levels of one per-tensor scale (unbiased)."""
    scale = x.detach().abs().amax().float() / LEVELS
    if not torch.isfinite(scale) or scale == 0:
        return x
    noise = torch.rand(x.shape, generator=generator, device=x.device, dtype=torch.float32)
    levels = torch.floor(x.float() / scale + noise).clamp_(-LEVELS - 1, LEVELS)
    return (levels * scale).to(x.dtype)


class _QuantiseBothWays(torch.autograd.Function):
    """Quantises activations on the way forward and errors (their gradients) on the way back."""

    @staticmethod
    def forward(ctx: Any, x: torch.Tensor) -> torch.Tensor:
        return quantise(x)

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> torch.Tensor:
        return quantise(grad)


def _quantise_output(module: nn.Module, inputs: Any, output: torch.Tensor) -> torch.Tensor:
    return _QuantiseBothWays.apply(output)


@torch.no_grad()
def _quantise_parameters(model: nn.Module) -> None:
    for parameter in model.parameters():
        parameter.copy_(quantise(parameter))


def int8_hooks(model: nn.Module) -> TrainHooks:
    """Make ``model`` train at 8 bits: call once on the model the loop will train.

    Registers output hooks on every conv, linear and BatchNorm layer (activations forward,
    errors backward), quantises the weights now and after every update, the gradients
    before it, and the optimizer's momentum buffers after it.
    """
    for module in model.modules():
        if isinstance(module, QUANTISED_LAYERS):
            module.register_forward_hook(_quantise_output)
    _quantise_parameters(model)

    def gradients(iteration: int, model: nn.Module) -> None:
        for parameter in model.parameters():
            if parameter.grad is not None:
                parameter.grad.copy_(quantise(parameter.grad))

    def weights(iteration: int, model: nn.Module) -> None:
        _quantise_parameters(model)

    @torch.no_grad()
    def momentum(optimizer: torch.optim.Optimizer) -> None:
        for state in optimizer.state.values():
            buffer = state.get("momentum_buffer")
            if isinstance(buffer, torch.Tensor):
                buffer.copy_(quantise(buffer))

    return TrainHooks(before_step=gradients, after_step=weights, after_update=momentum)
