"""Which results a claim reads, and what it compares them with.

A claim names its results with ``where`` (the round nearest a density inside a stated range, a
round, a control, a channel ratio) and its reference with ``reference`` (a number, the same
seed's dense run, a control of the same round, a sibling entry's ticket, or a sibling dense
entry's one network: a small dense network beside a large sparse one). Comparisons between
results are paired over seeds. Two results of one entry's round share a density; a sibling
entry's rounds lie at densities of their own, so a sibling is read *at* the density of the
result it is compared with: exactly where one of its rounds lies there, else interpolated
between the two rounds around it (linear in log density, as the papers plot density), and
never extrapolated. Pairing with the nearest round instead would compare unequal sparsities,
and which one is nearer would decide for or against the claim.
"""

from __future__ import annotations

import math
from typing import Any

from lthbench.methods.records import SELECTION_KEYWORDS
from lthbench.spec.density import SAME_DENSITY, stands_for
from lthbench.spec.entry import sibling_of

Records = list[dict[str, Any]]


class SeedRecords(list[dict[str, Any]]):
    """An entry's records with each seed's at hand: claims read one seed at a time, and over
    thousands of records a scan per seed and claim would dominate ``check``."""

    def __init__(self, records: Records) -> None:
        super().__init__(records)
        self.by_seed: dict[int, Records] = {}
        for record in self:
            self.by_seed.setdefault(record["seed"], []).append(record)


def of_seed(records: Records, seed: int) -> Records:
    if isinstance(records, SeedRecords):
        return records.by_seed.get(seed, [])
    return [r for r in records if r["seed"] == seed]


def nearest(candidates: Records, where: dict[str, Any]) -> dict[str, Any] | None:
    """The result nearest ``where['density']`` among those inside the claim's stated range
    (``min_density``..``max_density``), within a factor DENSITY_MATCH of it."""
    density = float(where["density"])
    low, high = float(where.get("min_density", 0.0)), float(where.get("max_density", 1.0))
    inside = [r for r in candidates if r.get("density") and low <= r["density"] <= high]
    if not inside:
        return None
    best = min(inside, key=lambda r: (abs(math.log(r["density"] / density)), r["round"]))
    return best if stands_for(best["density"], density) else None


def select(records: Records, seed: int, where: dict[str, Any]) -> dict[str, Any] | None:
    """The result of ``seed`` that ``where`` names (ticket unless a control is named)."""
    control = where.get("control")
    candidates = [r for r in of_seed(records, seed) if r.get("control") == control]
    for key, value in where.items():  # round, ratio, or any field of a method's records
        if key not in ("control", "density") and key not in SELECTION_KEYWORDS:
            candidates = [r for r in candidates if r.get(key) == value]
    if "density" in where:
        return nearest(candidates, where)
    return candidates[0] if len(candidates) == 1 else None


def density_points(records: Records, where: dict[str, Any]) -> list[int]:
    """The rounds a ``for_all`` claim ranges over: every round of the named results (ticket
    unless a control is named) whose density lies in ``min_density``..``max_density``."""
    low, high = float(where.get("min_density", 0.0)), float(where.get("max_density", 1.0))
    return sorted({
        int(r["round"]) for r in records
        if r.get("control") == where.get("control") and r.get("round") is not None
        and r.get("density") and low <= r["density"] <= high
    })  # fmt: skip


def at_density(results: Records, density: float, metrics: tuple[str, ...]) -> dict[str, Any] | None:
    """``results`` (one seed's rounds) read at ``density``: the round there, else ``metrics``
    interpolated linearly in log density between the rounds on either side; None outside
    their range or where a bracketing round lacks a metric."""
    return read_at(results, "density", density, metrics)


def read_at(results: Records, key: str, value: float,
            metrics: tuple[str, ...]) -> dict[str, Any] | None:  # fmt: skip
    """``results`` read where their ``key`` (a density, training FLOPs) is ``value``: the
    result there (within SAME_DENSITY, relative), else ``metrics`` interpolated linearly in
    log ``key`` between the results on either side; never extrapolated."""
    points = sorted((r for r in results if r.get(key)), key=lambda r: r[key])
    for r in points:
        if abs(r[key] / value - 1) <= SAME_DENSITY:
            return r
    below = [r for r in points if r[key] < value]
    above = [r for r in points if r[key] > value]
    if not below or not above:
        return None
    low, high = below[-1], above[0]
    weight = math.log(value / low[key]) / math.log(high[key] / low[key])
    out = {**low, key: value, "round": None, "interpolated": (low["round"], high["round"])}
    for name in metrics:
        a, b = low.get(name), high.get(name)
        if a is None or b is None:
            if name == metrics[0]:
                return None
            out.pop(name, None)
            continue
        out[name] = (1 - weight) * float(a) + weight * float(b)
    return out


def same_ratio(left: dict[str, Any]) -> dict[str, Any]:
    """Early-Bird results are compared at the same channel pruning ratio."""
    return {"ratio": left["ratio"]} if left.get("ratio") is not None else {}


def reference_result(
    reference: str, metric: str, left: dict[str, Any], records: Records,
    siblings: dict[str, Records], matched_by: str = "density",
    reference_where: dict[str, Any] | None = None,
) -> dict[str, Any] | None:  # fmt: skip
    """The result a named reference points to for ``left``'s seed (a sibling's result that
    ``reference_where`` names, else the sibling read at ``left``'s density or,
    ``matched_by='training_flops'``, at its training FLOPs)."""
    if reference == "dense":
        return select(records, left["seed"], {"round": 0})
    sibling = sibling_of(reference)
    if sibling is not None:
        other = siblings.get(sibling, [])
        if reference_where:
            return select(other, left["seed"], reference_where)
        mine = [r for r in of_seed(other, left["seed"]) if r.get("control") is None]
        if matched_by == "training_flops":
            cost = left.get("training_flops")
            return None if not cost else read_at(mine, "training_flops", float(cost),
                                                 (metric, "final_test_accuracy"))  # fmt: skip
        if left.get("density"):
            if len(mine) == 1 and not mine[0].get("density"):  # a dense sibling: its network
                return mine[0]
            return at_density(mine, float(left["density"]), (metric, "final_test_accuracy"))
        return select(other, left["seed"], same_ratio(left))
    return select(records, left["seed"],
                  {"round": left.get("round"), "control": reference, **same_ratio(left)})  # fmt: skip
