"""Records of methods that train a dense network and one sparse network per target density
(gradual pruning, sparse training): one record model, one way to read them, one check of a
claim's selectors, so their claims and pages select alike."""

from __future__ import annotations

import sys
from typing import Any

from lthbench.methods.base import RUN_METRICS, SeedResults
from lthbench.methods.records import RunRecord
from lthbench.methods.units import Unit

DENSITY_KEYS = ("density", "min_density", "max_density")
COST_UNITS = {
    "training_flops": Unit(scale=1e-12, suffix=" TFLOP", digits=3),
    "inference_flops": Unit(scale=1e-6, suffix=" MFLOP", digits=3),
}
SPARSE_METRICS = RUN_METRICS | {"density", "target_density", "round", "training_flops",
                                "inference_flops"}  # fmt: skip
"""What claims on a sparse method's records may compare."""
DENSE_COST = "dense-cost"
"""The dense run's training and inference FLOPs (kept by :mod:`lthbench.methods.sparse_figures`)."""


class SparseRecord(RunRecord):
    """The dense network (round 0) or a network trained to a target density."""

    round: int
    density: float
    """The final mask's kept weights over its prunable weights (a fraction)."""
    target_density: float | None = None
    layer_densities: dict[str, float] | None = None
    criterion: str | None = None
    """What ranked the weights that were removed (gradual pruning)."""
    update: str | None = None
    """Sparse training's connectivity update: 'static', 'set' or 'rigl'."""
    distribution: str | None = None
    """Sparse training's layer densities: 'uniform', 'er' or 'erk'."""
    training_flops: float | None = None
    """FLOPs the run trained with, as it trained: a step costs 3 f_S per example of a full
    batch at its mask's forward FLOPs f_S, a step that took RigL's dense gradient 2 f_S + f_D
    (Evci et al. 2020, appendix H; a sparse layer counted at its density, as ShrinkBench)."""
    inference_flops: float | None = None
    """One example's forward FLOPs at the final mask."""


def pending(results: SeedResults, runs: list[Any], figures_name: str) -> bool:
    """Whether a sparse method's seed has work left: ``runs`` (the dense run first) not all
    stored, a sparse run's figures or the dense run's cost not yet kept."""
    return (any(results.inspect(run)[1] is None for run in runs)
            or any(run.figures(figures_name) is None for run in runs[1:])
            or runs[0].figures(DENSE_COST) is None)  # fmt: skip


def density_problem(claim: Any, densities: int, controls: tuple[str, ...] = ()) -> str | None:
    """What is wrong with a claim's selectors for results selected by density, round and
    baseline (None: fine)."""
    for key in claim.where:
        if key not in ("control", "round", "for_all", *DENSITY_KEYS):
            return f"where.{key}: these results are selected by density, round and control"
    control = claim.where.get("control")
    if control is not None and control not in controls:
        return f"where.control: {control!r} is not among this entry's baselines {list(controls)}"
    round_ = claim.where.get("round")
    if round_ is not None and not (isinstance(round_, int) and 0 <= round_ <= densities):
        return f"where.round: {round_!r} is not a round of this entry (0-{densities})"
    for key in DENSITY_KEYS:
        value = claim.where.get(key)
        if value is not None and not (isinstance(value, float | int) and 0 < value <= 1):
            return f"where.{key}: {value!r} is not in (0, 1]"
    return None


def sparse_records(results: SeedResults, extras: dict[tuple[float, str | None], dict[str, Any]],
                   figures_name: str, fields: dict[str, Any]) -> list[dict[str, Any]]:  # fmt: skip
    """The dense record, then one per (target density, baseline) run stored with its mask
    figures, in the order of ``extras``; ``fields`` join every sparse record (a baseline's
    ``update`` is its name)."""
    dense = results.result()
    if dense is None:
        return []
    cost = results.run_for().figures(DENSE_COST) or {}
    records = [{**dense, "round": 0, "control": None, "density": 1.0, "target_density": 1.0,
                **cost}]  # fmt: skip
    rounds = {target: i for i, target in enumerate(dict.fromkeys(t for t, _ in extras), 1)}
    for (target, control), extra in extras.items():
        result = results.result(extra)
        if result is None:
            continue
        figures = results.run_for(extra).figures(figures_name)
        if figures is None:
            print(f"warning: run {result['run_id']}: its mask figures are not computed yet "
                  "(`lthbench run` computes them); not counted", file=sys.stderr)  # fmt: skip
            continue
        own = (
            {**fields, "update": control} if control is not None and "update" in fields else fields
        )
        records.append({**result, "round": rounds[target], "control": control,
                        "target_density": target, **own, **figures})  # fmt: skip
    return records
