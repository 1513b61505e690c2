"""Claims → verdicts, with statistics over seeds that respect what the numbers can resolve.

For each seed the claim's metric is read from the selected result (:mod:`.select`) and
compared with its reference: a number, or another result of the same seed, so comparisons
between results are *paired* over shared seeds. The margin (how far the claim is satisfied;
negative: violated) is decided by a 95% t-interval made resolution-aware
(:mod:`lthbench.claims.resolution`): the seeds' spread is floored at the metric's rounding
noise and the interval is widened by one step of the metric's grid (one test example, one
evaluation interval, or what one evaluation interval moves a derived metric by), so

- ``reproduced``: the whole widened interval satisfies the claim;
- ``refuted``: the whole widened interval violates it;
- ``inconclusive``: it straddles the boundary, fewer than two seeds have results, or a
  network the claim asserts learned collapsed (test accuracy not above twice chance; a
  network the claim says is *worse* may collapse: "below dense" is satisfied by a collapse);
- ``not applicable``: the analogue is outside the regime the paper makes the claim in (a
  precondition is refuted, or the network read is not the one the claim is about: a layer
  the pruning emptied);
- ``missing``: no seed has the results the claim needs.

A claim ``given`` others ("saves 2.2x FLOPs at comparable accuracy") is refuted when one of
them is refuted and inconclusive while one is not reproduced; its own verdict is kept beside
(``own_verdict``), so a refutation that comes only through ``given`` is counted apart. A claim
``for_all`` densities of a range is decided at each round inside it. Every verdict says how
many seeds would resolve it (``seeds_needed``) and its one-sided p-value, which
:mod:`.multiplicity` adjusts over the paper claims checked together.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from lthbench.claims import replication
from lthbench.claims.compose import combine, in_regime, with_holm, with_replication
from lthbench.claims.devices import Reading, devices_of, one_device
from lthbench.claims.resolution import (
    MAX_SEEDS_ESTIMATE,
    Facts,
    half_width,
    one_sided_p,
    resolution,
    seeds_needed,
    spread_of,
    within_one_step,
)
from lthbench.claims.select import SeedRecords, density_points, reference_result, select
from lthbench.claims.verdict import NOT_APPLICABLE, WORDS, Verdict
from lthbench.methods import METHODS
from lthbench.methods.units import unit_of
from lthbench.run.experiment import Experiment
from lthbench.spec.entry import Claim

__all__ = [
    "WORDS",
    "Verdict",
    "check_entries",
    "combine",
    "evaluate",
    "required_failures",
]

Records = list[dict[str, Any]]
UNRESOLVABLE = "more seeds cannot resolve it"
"""In ``advice``: the margin is within one step of the metric's grid."""
TOO_MANY = f"more than {MAX_SEEDS_ESTIMATE} seeds"
"""In ``advice``: no number of seeds up to the estimate's bound resolves it."""
COLLAPSE_FACTOR = 2.0
"""A network whose final test accuracy is not above this many times chance has collapsed."""


def asserts_learned(op: str) -> tuple[bool, bool]:
    """Which sides of a claim it asserts learned, (metric, reference): the side a claim says
    is at least as good. 'Below dense' asserts nothing of the network below."""
    return (True, False) if op in (">=", ">", "within") else (False, True)


def _collapsed(result: dict[str, Any], chance: float) -> bool:
    accuracy = result.get("final_test_accuracy")
    return accuracy is not None and accuracy <= COLLAPSE_FACTOR * chance


def _step_of(result: dict[str, Any] | None, metric: str) -> float:
    """A derived metric's own step, as its method recorded it (``steps``)."""
    return float((result or {}).get("steps", {}).get(metric, 0.0))


def evaluate(
    entry: Experiment,
    claim: Claim,
    records: Records,
    siblings: dict[str, Records],
    facts: Facts | None = None,
    mix_devices: bool = False,
) -> Verdict:
    """The verdict on one claim from the entry's records (all seeds) and its siblings'."""
    if claim.where.get("for_all"):
        return _for_all(entry, claim, records, siblings, facts, mix_devices)
    facts = facts or Facts.of(entry)
    chance = 1 / entry.data.num_classes
    named = isinstance(claim.reference, str)
    unit = unit_of(claim.metric, METHODS[entry.method_name].units)
    learned_left, learned_right = asserts_learned(claim.op)
    readings: list[Reading] = []
    steps: list[float] = []
    emptied: dict[int, list[str]] = {}
    for seed in entry.seeds:
        left = select(records, seed, dict(claim.where))
        if left is None or left.get(claim.metric) is None:
            continue
        right, other = float("nan"), None
        if claim.op != "within":
            if isinstance(claim.reference, (int, float)):
                right = float(claim.reference)
            else:
                other = reference_result(claim.reference, claim.metric, left, records, siblings,
                                         claim.matched_by, claim.reference_where)  # fmt: skip
                if other is None or other.get(claim.metric) is None:
                    continue
                right = float(other[claim.metric])
            right = right * claim.factor + claim.offset
        collapsed = (learned_left and _collapsed(left, chance)) or (
            learned_right and other is not None and _collapsed(other, chance))  # fmt: skip
        layers = [*left.get("emptied_layers", []), *(other or {}).get("emptied_layers", [])]
        if layers:
            emptied[seed] = layers
        steps.append(max(_step_of(left, claim.metric), _step_of(other, claim.metric)))
        density = None if left.get("density") is None else float(left["density"])
        readings.append(Reading(seed, float(left[claim.metric]), right, density, collapsed,
                           devices_of(left, other)))  # fmt: skip
    step = max([resolution(unit, facts), *steps]) * (max(1.0, claim.factor) if named else 1.0)
    readings, results_from = one_device(readings, mix_devices)
    lefts = [p.left for p in readings]
    rights = [p.right for p in readings]
    densities = [p.density for p in readings if p.density is not None]
    collapsed = [p.seed for p in readings if p.collapsed]
    n = len(lefts)
    bounds = None
    if claim.op == "within":
        low, high = claim.reference  # type: ignore[misc]
        bounds = (low - claim.tolerance, high + claim.tolerance)

    def verdict(word: str, detail: str, margin: float | None = None, spread: float = 0.0,
                **numbers: float | None) -> Verdict:  # fmt: skip
        needed, advice = _seeds_advice(word, n, margin, spread, step, bool(collapsed))
        reason = ""
        if emptied and word != "missing":
            seeds = ", ".join(str(s) for s in sorted(emptied))
            layers = ", ".join(sorted({x for v in emptied.values() for x in v}))
            reason = (f"the pruning emptied {layers} (seed(s) {seeds}): each kept one channel "
                      "back, so the network read is not the one the claim is about")  # fmt: skip
        strict = claim.op in (">", "<")
        p_value = None if margin is None else one_sided_p(margin, spread, n, step, strict)
        outcomes = None
        if reason:
            outcomes = replication.certain(NOT_APPLICABLE)
        elif word == "missing":
            outcomes = replication.certain("missing")
        elif n >= 2 and margin is not None and bounds is not None:
            outcomes = replication.within_outcomes(numbers["mean"] or 0.0, bounds, spread, n, step)
        elif n >= 2 and margin is not None:
            outcomes = replication.comparison_outcomes(margin, spread, n, step, strict)
        if outcomes is not None and collapsed:
            outcomes = replication.guarded(outcomes)
        stable_at = None
        unstable = outcomes is not None and outcomes.get(word, 0.0) < replication.STABLE
        if unstable and margin is not None and n >= 2 and not collapsed:
            aim = "reproduced" if margin > 0 else "refuted"

            def probability_at(seeds: int) -> float:
                if bounds is not None:
                    mean = numbers["mean"] or 0.0
                    at = replication.within_outcomes(mean, bounds, spread, seeds, step)
                else:
                    at = replication.comparison_outcomes(margin, spread, seeds, step, strict)
                return at.get(aim, 0.0)

            stable_at = replication.seeds_for_stable(probability_at)
        return Verdict(
            entry_id=entry.id, claim_id=claim.id, statement=claim.statement,
            verdict=NOT_APPLICABLE if reason else word, required=claim.required,
            kind=claim.kind, seeds=n, mean=numbers.get("mean"),
            reference_mean=numbers.get("reference_mean"), difference=numbers.get("difference"),
            ci_low=numbers.get("ci_low"), ci_high=numbers.get("ci_high"), resolution=step,
            seeds_needed=None if reason else needed, advice="" if reason else advice,
            crossing=claim.crossing,
            density=sum(densities) / len(densities) if densities else None,
            detail=detail, metric=claim.metric, op=claim.op, bounds=bounds,
            results_from=results_from, unit=unit, own_verdict=word, reason=reason,
            margin=margin, p_value=p_value, reported=claim.reported,
            spread=spread if n >= 2 else None, outcomes=outcomes, seeds_for_stable=stable_at,
            given=tuple(claim.given),
        )  # fmt: skip

    if n == 0:
        return verdict("missing", "no seed has the results this claim needs")
    mean = sum(lefts) / n
    if bounds is not None:
        low, high = bounds
        inside = low <= mean <= high
        margin = min(mean - low, high - mean) if inside else -max(low - mean, mean - high)
        if n < 2:
            return verdict("inconclusive", f"too few seeds (n={n})", margin, mean=mean)
        spread = spread_of(lefts)
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
    spread = spread_of(differences)
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


def _for_all(
    entry: Experiment, claim: Claim, records: Records, siblings: dict[str, Records],
    facts: Facts | None, mix_devices: bool,
) -> Verdict:  # fmt: skip
    """A claim over every round inside its density range: each round decided on its own;
    reproduced when every one is, refuted when any is; the verdict shows the least
    favourable round (a refuted one, else the smallest margin)."""
    where = {k: v for k, v in claim.where.items() if k != "for_all"}
    rounds = density_points(records, where)
    each = []
    for round_ in rounds:
        at = Claim.model_validate({**claim.model_dump(), "where": {**where, "round": round_}})
        each.append(evaluate(entry, at, records, siblings, facts, mix_devices))
    decided = [v for v in each if v.verdict != "missing"]
    if not decided:  # read at a round no result has: a 'missing' verdict of this claim
        nowhere = claim.model_copy(update={"where": {"round": -1}})
        return replace(evaluate(entry, nowhere, records, siblings, facts, mix_devices),
                       detail="no round inside the claim's density range has results")  # fmt: skip
    words = {v.verdict for v in decided}
    word = next(w for w in (NOT_APPLICABLE, "refuted", "inconclusive", "reproduced")
                if w in words)  # fmt: skip
    if len(decided) < len(each):
        word = "inconclusive" if word == "reproduced" else word
    worst = min((v for v in decided if v.verdict == word),
                key=lambda v: v.margin if v.margin is not None else 0.0)  # fmt: skip
    parts = [v.outcomes for v in each]
    outcomes = replication.for_all(p for p in parts if p) if all(parts) else None
    shown = "; ".join(
        f"Pm {100 * v.density:.3g}%: {v.verdict}" if v.density else f"{v.verdict}" for v in each
    )
    return replace(worst, verdict=word, own_verdict=word, outcomes=outcomes,
                   detail=f"for all {len(each)} densities in the range ({shown}); shown: the "
                          f"least favourable. {worst.detail}")  # fmt: skip


def _guard(word: str, collapsed: list[int], detail: str) -> tuple[str, str]:
    """A claim whose network it asserts learned collapsed is never reproduced."""
    if not collapsed:
        return word, detail
    seeds = ", ".join(str(s) for s in sorted(set(collapsed)))
    note = (f"a network the claim asserts learned collapsed (test accuracy ≤ "
            f"{COLLAPSE_FACTOR:g}× chance) at seed(s) {seeds}")  # fmt: skip
    return ("inconclusive" if word == "reproduced" else word), f"{detail}; {note}"


def _seeds_advice(
    word: str, n: int, margin: float | None, spread: float, step: float, collapsed: bool
) -> tuple[int | None, str]:
    if word in ("reproduced", "refuted"):
        return None, ""
    if word == "missing":
        return None, "run the entry (no results yet)"
    if collapsed:
        return None, "a network the claim asserts learned collapsed: more seeds cannot help"
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
    return needed, f"about {needed} seeds at the observed margin and spread"


def check_entries(
    entries: list[Experiment], records: dict[str, Records], mix_devices: bool = False
) -> list[Verdict]:
    """Verdicts on every claim of ``entries``; ``records`` holds results by entry id (the
    entries' own and any sibling a claim names). Each verdict reads one device's results
    unless ``mix_devices`` (see :func:`one_device`). The paper claims among them are one
    family for Holm's adjustment (``holm_verdict``)."""
    verdicts: list[Verdict] = []
    records = {entry_id: SeedRecords(found) for entry_id, found in records.items()}
    for entry in entries:
        facts = Facts.of(entry)
        own = {
            claim.id: evaluate(entry, claim, records.get(entry.id, []), records, facts, mix_devices)
            for claim in entry.claims
        }
        regime = {c.id: in_regime(own[c.id], [own[p] for p in c.preconditions])
                  for c in entry.claims}  # fmt: skip
        verdicts += [combine(regime[c.id], [regime[g] for g in c.given]) for c in entry.claims]
    return with_replication(with_holm(verdicts))


def required_failures(verdicts: list[Verdict]) -> list[Verdict]:
    return [v for v in verdicts if v.required and v.verdict in ("refuted", "missing")]
