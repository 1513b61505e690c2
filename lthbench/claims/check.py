"""Claims → verdicts, with statistics over seeds that respect what the numbers can resolve.

For each seed the claim's metric is read from the selected result (the round nearest a
density within the claim's stated range, a control, a channel ratio) and compared with its
reference: a number, or another result of the same seed (the dense run, a control of the same
round, a sibling entry's ticket at the nearest density), so comparisons between results are
*paired* over shared seeds. The margin (how far the claim is satisfied; negative: violated)
is decided by a 95% t-interval made resolution-aware (:mod:`lthbench.claims.resolution`): the
seeds' spread is floored at the metric's rounding noise and the interval is widened by one
step of the metric's grid (one test example, one evaluation interval), so

- ``reproduced``: the whole widened interval satisfies the claim;
- ``refuted``: the whole widened interval violates it;
- ``inconclusive``: it straddles the boundary, fewer than two seeds have results, or a
  network the claim reads collapsed (test accuracy not above twice chance: a collapsed
  network reproduces no claim);
- ``missing``: no seed has the results the claim needs.

A claim ``given`` others ("saves 2.2x FLOPs at comparable accuracy") is refuted when one of
them is refuted and inconclusive while one is not reproduced. Every verdict says how many
seeds would resolve it (``seeds_needed``; None once resolved, or where no number can).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from lthbench.claims.devices import Reading, devices_of, one_device
from lthbench.claims.resolution import (
    MAX_SEEDS_ESTIMATE,
    Facts,
    half_width,
    resolution,
    seeds_needed,
    within_one_step,
)
from lthbench.methods import METHODS
from lthbench.methods.units import Unit, unit_of
from lthbench.run.experiment import Experiment
from lthbench.spec.entry import Claim

Records = list[dict[str, Any]]
UNRESOLVABLE = "more seeds cannot resolve it"
"""In ``advice``: the margin is within one step of the metric's grid."""
TOO_MANY = f"more than {MAX_SEEDS_ESTIMATE} seeds"
"""In ``advice``: no number of seeds up to the estimate's bound resolves it."""
COLLAPSE_FACTOR = 2.0
"""A network whose final test accuracy is not above this many times chance has collapsed."""


@dataclass(frozen=True)
class Verdict:
    entry_id: str
    claim_id: str
    statement: str
    verdict: str
    required: bool
    kind: str
    """'paper' (a paper's claim or its analogue) or 'lthbench' (lthbench's own check)."""
    seeds: int
    """Seeds whose results entered the statistics."""
    mean: float | None
    """Mean of the claim's metric over those seeds."""
    reference_mean: float | None
    """Mean of the reference (after factor and offset); the bounds for 'within'."""
    difference: float | None
    """Mean of metric − reference (paired); for 'within', None."""
    ci_low: float | None
    ci_high: float | None
    """The decision interval of the difference (of the metric itself for numbers and
    'within'): the 95% t-interval, spread floored at the grid's noise, widened by one step."""
    resolution: float
    """One step of the margin's grid (0: exact)."""
    seeds_needed: int | None
    """Seeds that would resolve the claim at the observed margin and spread; None once
    resolved, or where no number of seeds can (see ``advice``)."""
    advice: str
    """What would resolve an unresolved verdict."""
    density: float | None
    """Mean density of the selected results (lottery), for the reader."""
    crossing: bool
    """The paper's point lies where two curves cross (expected margin about 0)."""
    detail: str
    metric: str = ""
    """The claim's metric (its unit: an accuracy, an iteration count, a FLOP ratio, ...)."""
    op: str = ""
    """'>=', '>', '<=', '<' (the interval is of metric − reference) or 'within' (of the
    metric itself, against ``bounds``)."""
    bounds: tuple[float, float] | None = None
    """A 'within' claim's bounds, tolerance included."""
    results_from: str = ""
    """The device and sources of the results read: one device unless mixing was asked for."""
    unit: Unit = field(default_factory=Unit)
    """The metric's grid and how pages print it (the method's declared unit or the naming
    convention's)."""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


DENSITY_MATCH = 1.25
"""A result stands for a claim's density when within this factor of it (the papers' points
fall between the rounds of a schedule); farther, the claim's result counts as missing."""


def _nearest(candidates: Records, where: dict[str, Any]) -> dict[str, Any] | None:
    """The result nearest ``where['density']`` among those inside the claim's stated range
    (``min_density``..``max_density``), within a factor DENSITY_MATCH of it."""
    density = float(where["density"])
    low, high = float(where.get("min_density", 0.0)), float(where.get("max_density", 1.0))
    inside = [r for r in candidates if r.get("density") and low <= r["density"] <= high]
    if not inside:
        return None
    best = min(inside, key=lambda r: (abs(math.log(r["density"] / density)), r["round"]))
    return best if abs(math.log(best["density"] / density)) <= math.log(DENSITY_MATCH) else None


def select(records: Records, seed: int, where: dict[str, Any]) -> dict[str, Any] | None:
    """The result of ``seed`` that ``where`` names (ticket unless a control is named)."""
    candidates = [
        r for r in records if r["seed"] == seed and r.get("control") == where.get("control")
    ]
    if "round" in where:
        candidates = [r for r in candidates if r.get("round") == where["round"]]
    if "ratio" in where:
        candidates = [r for r in candidates if r.get("ratio") == where["ratio"]]
    if "density" in where:
        return _nearest(candidates, where)
    return candidates[0] if len(candidates) == 1 else None


def _same_ratio(left: dict[str, Any]) -> dict[str, Any]:
    """Early-Bird results are compared at the same channel pruning ratio."""
    return {"ratio": left["ratio"]} if left.get("ratio") is not None else {}


def _reference_result(
    claim: Claim, left: dict[str, Any], records: Records, siblings: dict[str, Records]
) -> dict[str, Any] | None:
    """The result a named reference points to for ``left``'s seed."""
    reference = claim.reference
    if reference == "dense":
        return select(records, left["seed"], {"round": 0})
    if isinstance(reference, str) and reference.startswith("entry:"):
        other = siblings.get(reference.removeprefix("entry:"), [])
        if left.get("density"):
            mine = [r for r in other if r["seed"] == left["seed"] and r.get("control") is None]
            return _nearest(mine, {"density": left["density"]})
        return select(other, left["seed"], _same_ratio(left))
    return select(records, left["seed"],
                  {"round": left.get("round"), "control": reference, **_same_ratio(left)})  # fmt: skip


def _collapsed(result: dict[str, Any], chance: float) -> bool:
    accuracy = result.get("final_test_accuracy")
    return accuracy is not None and accuracy <= COLLAPSE_FACTOR * chance


def _spread(values: list[float]) -> float:
    n = len(values)
    mean = sum(values) / n
    return math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1))


def evaluate(
    entry: Experiment,
    claim: Claim,
    records: Records,
    siblings: dict[str, Records],
    facts: Facts | None = None,
    mix_devices: bool = False,
) -> Verdict:
    """The verdict on one claim from the entry's records (all seeds) and its siblings'."""
    facts = facts or Facts.of(entry)
    chance = 1 / entry.data.num_classes
    named = isinstance(claim.reference, str)
    unit = unit_of(claim.metric, METHODS[entry.method_name].units)
    step = resolution(unit, facts) * (max(1.0, claim.factor) if named else 1.0)
    readings: list[Reading] = []
    for seed in entry.seeds:
        left = select(records, seed, dict(claim.where))
        if left is None or left.get(claim.metric) is None:
            continue
        right, other, collapsed = math.nan, None, _collapsed(left, chance)
        if claim.op != "within":
            if isinstance(claim.reference, (int, float)):
                right = float(claim.reference)
            else:
                other = _reference_result(claim, left, records, siblings)
                if other is None or other.get(claim.metric) is None:
                    continue
                right = float(other[claim.metric])
                collapsed = collapsed or _collapsed(other, chance)
            right = right * claim.factor + claim.offset
        density = None if left.get("density") is None else float(left["density"])
        readings.append(Reading(seed, float(left[claim.metric]), right, density, collapsed,
                           devices_of(left, other)))  # fmt: skip
    readings, results_from = one_device(readings, mix_devices)
    lefts = [p.left for p in readings]
    rights = [p.right for p in readings]
    densities = [p.density for p in readings if p.density is not None]
    collapsed = [p.seed for p in readings if p.collapsed]
    n = len(lefts)

    def verdict(word: str, detail: str, margin: float | None = None, spread: float = 0.0,
                **numbers: float | None) -> Verdict:  # fmt: skip
        needed, advice = _seeds_advice(word, n, margin, spread, step)
        return Verdict(
            entry_id=entry.id, claim_id=claim.id, statement=claim.statement, verdict=word,
            required=claim.required, kind=claim.kind, seeds=n, mean=numbers.get("mean"),
            reference_mean=numbers.get("reference_mean"), difference=numbers.get("difference"),
            ci_low=numbers.get("ci_low"), ci_high=numbers.get("ci_high"), resolution=step,
            seeds_needed=needed, advice=advice, crossing=claim.crossing,
            density=sum(densities) / len(densities) if densities else None,
            detail=detail, metric=claim.metric, op=claim.op, bounds=bounds,
            results_from=results_from, unit=unit,
        )  # fmt: skip

    bounds = None
    if claim.op == "within":
        low, high = claim.reference  # type: ignore[misc]
        bounds = (low - claim.tolerance, high + claim.tolerance)

    if n == 0:
        return verdict("missing", "no seed has the results this claim needs")
    mean = sum(lefts) / n
    if bounds is not None:
        low, high = bounds
        inside = low <= mean <= high
        margin = min(mean - low, high - mean) if inside else -max(low - mean, mean - high)
        if n < 2:
            return verdict("inconclusive", f"too few seeds (n={n})", margin, mean=mean)
        spread = _spread(lefts)
        half = half_width(spread, n, step)
        ci_low, ci_high = mean - half, mean + half
        word = (
            "reproduced" if low <= ci_low and ci_high <= high
            else "refuted" if ci_high < low or ci_low > high
            else "inconclusive"
        )  # fmt: skip
        word, detail = _guard(word, collapsed, f"interval of the mean vs [{low:.4g}, {high:.4g}]")
        return verdict(word, detail, margin, spread, mean=mean, ci_low=ci_low, ci_high=ci_high)
    differences = [a - b for a, b in zip(lefts, rights, strict=True)]
    reference_mean = sum(rights) / n
    difference = sum(differences) / n
    # margin > 0 satisfies the claim: metric >= reference - tolerance, or <= reference + tolerance
    sign = 1.0 if claim.op in (">=", ">") else -1.0
    margin = sign * difference + claim.tolerance
    numbers = {"mean": mean, "reference_mean": reference_mean, "difference": difference}
    if n < 2:
        return verdict("inconclusive", f"too few seeds (n={n})", margin, **numbers)
    spread = _spread(differences)
    half = half_width(spread, n, step)
    ci_low, ci_high = difference - half, difference + half
    low, high = sorted((sign * ci_low + claim.tolerance, sign * ci_high + claim.tolerance))
    strict = claim.op in (">", "<")
    satisfied = low > 0 if strict else low >= 0
    violated = high <= 0 if strict else high < 0
    word = "reproduced" if satisfied else "refuted" if violated else "inconclusive"
    paired = "paired over seeds" if named else "vs a number"
    word, detail = _guard(word, collapsed, f"metric − reference, {paired}")
    return verdict(word, detail, margin, spread, ci_low=ci_low, ci_high=ci_high, **numbers)


def _guard(word: str, collapsed: list[int], detail: str) -> tuple[str, str]:
    """A claim read from a collapsed network is never reproduced."""
    if not collapsed:
        return word, detail
    seeds = ", ".join(str(s) for s in sorted(set(collapsed)))
    note = f"collapsed network (test accuracy ≤ {COLLAPSE_FACTOR:g}× chance) at seed(s) {seeds}"
    return ("inconclusive" if word == "reproduced" else word), f"{detail}; {note}"


def _seeds_advice(
    word: str, n: int, margin: float | None, spread: float, step: float
) -> tuple[int | None, str]:
    if word in ("reproduced", "refuted"):
        return None, ""
    if word == "missing":
        return None, "run the entry (no results yet)"
    if margin is None:
        return None, ""
    needed = seeds_needed(margin, spread if n >= 2 else 0.0, step)
    if needed is None:
        if within_one_step(margin, step):
            return None, (f"the margin {margin:.3g} is within one step of the metric's grid "
                          f"({step:.3g}): {UNRESOLVABLE}; a finer measure can "
                          "(more test examples, a finer evaluation interval)")  # fmt: skip
        return None, f"{TOO_MANY} at the observed spread"
    if n < 2:
        return needed, f"at least {needed} seeds (a lower bound: one seed shows no spread)"
    if needed <= n:
        return needed, "a network collapsed; the claim is read from a failed run"
    return needed, f"about {needed} seeds at the observed margin and spread"


def combine(verdict: Verdict, givens: list[Verdict]) -> Verdict:
    """The conjunction of a claim with the claims it is given."""
    if not givens or verdict.verdict == "missing":
        return verdict
    words = [g.verdict for g in givens]
    names = ", ".join(f"{g.claim_id} {g.verdict}" for g in givens)
    if verdict.verdict == "refuted":
        return replace(verdict, detail=f"{verdict.detail}; given {names}")
    if "refuted" in words:
        word = "refuted"
    elif all(w == "reproduced" for w in words):
        return replace(verdict, detail=f"{verdict.detail}; given {names}")
    else:
        word = "inconclusive"
    pending = [g for g in givens if g.verdict != "reproduced"]
    needed = [g.seeds_needed for g in pending if g.seeds_needed is not None]
    seeds = max([*needed, verdict.seeds_needed or 0]) or None if word == "inconclusive" else None
    advice = "; ".join(f"{g.claim_id}: {g.advice}" for g in pending if g.advice)
    return replace(verdict, verdict=word, seeds_needed=seeds,
                   advice=advice if word == "inconclusive" else "",
                   detail=f"{verdict.detail}; given {names}")  # fmt: skip


def check_entries(
    entries: list[Experiment], records: dict[str, Records], mix_devices: bool = False
) -> list[Verdict]:
    """Verdicts on every claim of ``entries``; ``records`` holds results by entry id (the
    entries' own and any sibling a claim names). Each verdict reads one device's results
    unless ``mix_devices`` (see :func:`one_device`)."""
    verdicts: list[Verdict] = []
    for entry in entries:
        facts = Facts.of(entry)
        own = {
            claim.id: evaluate(entry, claim, records.get(entry.id, []), records, facts, mix_devices)
            for claim in entry.claims
        }
        verdicts += [combine(own[c.id], [own[g] for g in c.given]) for c in entry.claims]
    return verdicts


def required_failures(verdicts: list[Verdict]) -> list[Verdict]:
    return [v for v in verdicts if v.required and v.verdict in ("refuted", "missing")]
