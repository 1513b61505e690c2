"""The figures a sparse run keeps for reading (imported only to train): its final mask's
density and per-layer densities, its training FLOPs as it trained and its inference FLOPs at
the final mask, the dense network's beside them, so records compare methods at equal cost
without building a model."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from lthbench.methods.sparse_records import DENSE_COST
from lthbench.methods.training_cost import forward_at
from lthbench.prune.mask import Mask, density, layer_densities
from lthbench.run.context import Context
from lthbench.store import Run
from lthbench.train.flops import layer_forward_flops

SPENT = "spent"
"""Kept by the run's last evaluation: its training FLOPs per example of a batch."""


def forward_flops(context: Context) -> Callable[[Mask], float]:
    """One example's forward FLOPs under a mask, for this entry's network."""
    layers = layer_forward_flops(context.build_model(), context.data_info.input_size)
    return lambda mask: forward_at(layers, layer_densities(mask))


def keep_final(run: Run) -> Callable[[Mask, float], None]:
    """What a dynamic mask hands over at the last evaluation: the mask it ended with and the
    FLOPs it trained with, kept before the run is finished (so a crash loses neither)."""

    def keep(mask: Mask, spent: float) -> None:
        run.save_mask(mask)
        run.save_figures(SPENT, {"flops_per_example": spent})

    return keep


def train_sparse(context: Context, runs: Iterable[tuple[dict[str, Any], Any, str]],
                 figures: str) -> None:  # fmt: skip
    """One seed of a sparse method: the dense run and its cost, then each sparse run of
    ``runs`` ((extra, prepare, label), built one at a time) with its figures under
    ``figures``."""
    context.train_run(label="dense")
    cache_dense_cost(context)
    for extra, prepare, label in runs:
        context.train_run(extra, prepare, label)
        cache_figures(context, context.run_for(extra), figures)


def cache_figures(context: Context, run: Run, name: str) -> None:
    """The sparse run's figures under ``name``, computed once."""
    if run.result() is None or run.figures(name) is not None:
        return
    mask, spent = run.mask(), run.figures(SPENT)
    if mask is None or spent is None:
        raise RuntimeError(f"run {run.id} has no stored final mask or training cost")
    run.save_figures(name, {
        "density": density(mask), "layer_densities": layer_densities(mask),
        "training_flops": spent["flops_per_example"] * context.training.batch_size,
        "inference_flops": forward_flops(context)(mask),
    })  # fmt: skip


def cache_dense_cost(context: Context) -> None:
    """The dense run's training FLOPs (3 f_D per example of every step) and inference FLOPs."""
    run = context.run_for()
    result = run.result()
    if result is None or run.figures(DENSE_COST) is not None:
        return
    dense = forward_flops(context)({})
    run.save_figures(DENSE_COST, {
        "training_flops": 3 * dense * context.training.batch_size * result["iterations"],
        "inference_flops": dense,
    })  # fmt: skip
