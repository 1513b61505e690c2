"""Training cost in FLOPs, counted by PyTorch's own ``torch.utils.flop_counter``.

One training step is a forward pass, the loss and a backward pass over a batch; its FLOPs are
what FlopCounterMode reports for exactly that, on a copy of the model on the ``meta`` device
(shapes only, no arithmetic), so counting a VGG-16 step costs milliseconds. Multiply-adds
count as two FLOPs, as FlopCounterMode does; batch-norm and element-wise work is not counted
(FlopCounterMode counts matrix products and convolutions, which dominate).
"""

from __future__ import annotations

import copy
import time

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode


def _meta_copy(model: nn.Module) -> nn.Module:
    return copy.deepcopy(model).to("meta")


def training_step_flops(model: nn.Module, batch_size: int, input_size: tuple[int, ...]) -> int:
    """FLOPs of one training step (forward, cross-entropy, backward) on a full batch."""
    meta = _meta_copy(model).train()
    inputs = torch.zeros((batch_size, *input_size), device="meta")
    labels = torch.zeros(batch_size, dtype=torch.long, device="meta")
    counter = FlopCounterMode(display=False)
    with counter:
        loss = nn.functional.cross_entropy(meta(inputs), labels)
        loss.backward()
    return int(counter.get_total_flops())


def inference_flops(model: nn.Module, input_size: tuple[int, ...]) -> int:
    """FLOPs of one forward pass on one example."""
    meta = _meta_copy(model).eval()
    counter = FlopCounterMode(display=False)
    with counter, torch.no_grad():
        meta(torch.zeros((1, *input_size), device="meta"))
    return int(counter.get_total_flops())


def parameter_count(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def layer_forward_flops(model: nn.Module, input_size: tuple[int, ...]) -> dict[str, int]:
    """FLOPs of one example's forward pass by module name (each convolution and linear layer
    at its own name, the whole network at ``""``): what a mask's density scales."""
    meta = _meta_copy(model).eval()
    counter = FlopCounterMode(display=False)
    with counter, torch.no_grad():
        meta(torch.zeros((1, *input_size), device="meta"))
    root = type(meta).__name__
    counts = {name: sum(ops.values()) for name, ops in counter.get_flop_counts().items()}
    out = {"": int(counts.get("Global", 0))}
    for name, _ in meta.named_modules():
        if name and f"{root}.{name}" in counts:
            out[name] = int(counts[f"{root}.{name}"])
    return out


def training_step_seconds(model: nn.Module, batch_size: int, input_size: tuple[int, ...],
                          steps: int = 3) -> float:  # fmt: skip
    """Seconds one plain training step of ``model`` (forward, cross-entropy, backward, SGD
    update on random data) takes on this CPU with one thread, the fastest of ``steps`` after a
    warm-up. A small network's step costs per operator rather than per FLOP (the bench page
    measured 4% to 60% of the matrix-product rate across the embedded networks), so the
    suite's ETA prices a network it has not trained yet by this, not by its FLOPs alone."""
    model = copy.deepcopy(model).train()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.0)
    inputs = torch.randn((batch_size, *input_size))
    labels = torch.zeros(batch_size, dtype=torch.long)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # as a worker trains
    try:
        best = float("inf")
        for step in range(steps + 1):
            began = time.perf_counter()
            optimizer.zero_grad(set_to_none=True)
            nn.functional.cross_entropy(model(inputs), labels).backward()
            optimizer.step()
            if step:
                best = min(best, time.perf_counter() - began)
        return best
    finally:
        torch.set_num_threads(threads)
