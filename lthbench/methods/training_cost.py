"""What a result cost to train, in FLOPs, read without building a model.

The convention is RigL's (Evci et al. 2020, appendix H) and ShrinkBench's: a training step costs
three forward passes per example of a full batch (the forward, and a backward of twice its
cost), and a sparse layer's forward costs its density times the dense layer's. A network's
forward FLOPs per example by module name come from ``lthbench plan``'s estimate
(:class:`lthbench.runner.cost.CostEstimate`); a record's per-tensor densities say how much of
each layer it kept.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from lthbench.methods.base import Method
from lthbench.run.experiment import Experiment

STEP = 3
"""Forward passes' worth of FLOPs one training step costs per example."""


def forward_at(forward: Mapping[str, int], layer_densities: Mapping[str, float] | None) -> float:
    """One example's forward FLOPs when each masked weight tensor keeps its density (biases,
    normalisation and unmasked layers at their dense cost)."""
    saved = 0.0
    for name, kept in (layer_densities or {}).items():
        layer, kind = name.rsplit(".", 1)
        if kind == "weight":
            saved += (1.0 - kept) * forward.get(layer, 0)
    return forward[""] - saved


def run_flops(forward: Mapping[str, int], layer_densities: Mapping[str, float] | None,
              steps: int, batch_size: int) -> float:  # fmt: skip
    """A run of ``steps`` steps with a fixed mask of ``layer_densities`` (None: dense)."""
    return STEP * forward_at(forward, layer_densities) * batch_size * steps


def priced(method: Method, experiment: Experiment, records: list[dict[str, Any]],
           forward: Mapping[str, int] | None) -> list[dict[str, Any]]:  # fmt: skip
    """``records`` (any seeds) with ``training_flops`` as ``method`` prices them, seed by seed
    (a ticket's price needs its seed's earlier rounds), and each priced network's
    ``inference_flops`` (one example's forward at its final mask) where it did not count its
    own. Without ``forward`` (no ``lthbench plan`` estimate) only the records that counted
    their own costs carry them."""
    if not forward:
        return records
    out: list[dict[str, Any]] = []
    for seed in sorted({r["seed"] for r in records}):
        own = [r for r in records if r["seed"] == seed]
        costs = method.training_flops(experiment, own, forward)
        for record, cost in zip(own, costs, strict=True):
            if cost is None:
                out.append(record)
                continue
            inference = record.get("inference_flops")
            if inference is None:
                inference = forward_at(forward, record.get("layer_densities"))
            out.append({**record, "training_flops": cost, "inference_flops": inference})
    return out
