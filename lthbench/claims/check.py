"""Claims → verdicts, with statistics over seeds.

For each seed the claim's metric is read from the selected result (the round nearest a
density, a control) and compared with its reference: a number, or another result of the same
seed (the dense run, a control of the same round, a sibling entry's ticket at the nearest
density), so comparisons between results are *paired* over shared seeds. The verdict comes
from the 95% t-interval of the mean margin:

- ``reproduced``: the whole interval satisfies the claim;
- ``refuted``: the whole interval violates it;
- ``inconclusive``: it straddles the boundary, or fewer than two seeds have results;
- ``missing``: no seed has the results the claim needs.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

from scipy import stats

from lthbench.spec.entry import Claim, Entry

Records = list[dict[str, Any]]
CONFIDENCE = 0.95


@dataclass(frozen=True)
class Verdict:
    entry_id: str
    claim_id: str
    statement: str
    verdict: str
    required: bool
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
    """95% t-interval of the difference (of the metric itself for numbers and 'within')."""
    density: float | None
    """Mean density of the selected results (lottery), for the reader."""
    detail: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def t_interval(values: list[float]) -> tuple[float, float, float]:
    """Mean and the 95% t-interval of the mean (needs at least two values)."""
    n = len(values)
    mean = sum(values) / n
    std = math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1))
    half = float(stats.t.ppf(0.5 + CONFIDENCE / 2, n - 1)) * std / math.sqrt(n)
    return mean, mean - half, mean + half


DENSITY_MATCH = 1.25
"""A result stands for a claim's density when within this factor of it (the papers' points
fall between the rounds of a schedule); farther, the claim's result counts as missing."""


def _nearest(candidates: Records, density: float) -> dict[str, Any] | None:
    with_density = [r for r in candidates if r.get("density")]
    if not with_density:
        return None
    best = min(with_density, key=lambda r: (abs(math.log(r["density"] / density)), r["round"]))
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
        return _nearest(candidates, float(where["density"]))
    return candidates[0] if len(candidates) == 1 else None


def _same_ratio(left: dict[str, Any]) -> dict[str, Any]:
    """Early-Bird results are compared at the same channel pruning ratio."""
    return {"ratio": left["ratio"]} if left.get("ratio") is not None else {}


def _reference(
    claim: Claim, left: dict[str, Any], records: Records, siblings: dict[str, Records]
) -> float | None:
    reference = claim.reference
    if isinstance(reference, (int, float)):
        value: float | None = float(reference)
    elif reference == "dense":
        dense = select(records, left["seed"], {"round": 0})
        value = None if dense is None else dense.get(claim.metric)
    elif isinstance(reference, str) and reference.startswith("entry:"):
        other = siblings.get(reference.removeprefix("entry:"), [])
        if left.get("density"):
            match = _nearest([r for r in other if r["seed"] == left["seed"] and r.get("control") is None],
                             left["density"])  # fmt: skip
        else:
            match = select(other, left["seed"], _same_ratio(left))
        value = None if match is None else match.get(claim.metric)
    else:  # a control of the same round
        control = select(records, left["seed"],
                         {"round": left.get("round"), "control": reference, **_same_ratio(left)})  # fmt: skip
        value = None if control is None else control.get(claim.metric)
    return None if value is None else float(value) * claim.factor + claim.offset


def evaluate(entry: Entry, claim: Claim, records: Records, siblings: dict[str, Records]) -> Verdict:
    """The verdict on one claim from the entry's records (all seeds) and its siblings'."""
    lefts, rights, densities = [], [], []
    for seed in entry.seeds:
        left = select(records, seed, dict(claim.where))
        if left is None or left.get(claim.metric) is None:
            continue
        right = None if claim.op == "within" else _reference(claim, left, records, siblings)
        if claim.op != "within" and right is None:
            continue
        lefts.append(float(left[claim.metric]))
        rights.append(right)
        if left.get("density") is not None:
            densities.append(float(left["density"]))
    n = len(lefts)
    density = sum(densities) / len(densities) if densities else None

    def verdict(word: str, detail: str, **numbers: float | None) -> Verdict:
        return Verdict(
            entry_id=entry.id, claim_id=claim.id, statement=claim.statement, verdict=word,
            required=claim.required, seeds=n, density=density, detail=detail,
            mean=numbers.get("mean"), reference_mean=numbers.get("reference_mean"),
            difference=numbers.get("difference"), ci_low=numbers.get("ci_low"),
            ci_high=numbers.get("ci_high"),
        )  # fmt: skip

    if n == 0:
        return verdict("missing", "no seed has the results this claim needs")
    mean = sum(lefts) / n
    if claim.op == "within":
        low, high = claim.reference  # type: ignore[misc]
        low, high = low - claim.tolerance, high + claim.tolerance
        if n < 2:
            return verdict("inconclusive", f"too few seeds (n={n})", mean=mean)
        _, ci_low, ci_high = t_interval(lefts)
        word = (
            "reproduced" if low <= ci_low and ci_high <= high
            else "refuted" if ci_high < low or ci_low > high
            else "inconclusive"
        )  # fmt: skip
        return verdict(word, f"interval of the mean vs [{low:.4g}, {high:.4g}]",
                       mean=mean, ci_low=ci_low, ci_high=ci_high)  # fmt: skip
    differences = [a - b for a, b in zip(lefts, rights, strict=True)]  # type: ignore[operator]
    reference_mean = sum(rights) / n  # type: ignore[arg-type]
    difference = sum(differences) / n
    if n < 2:
        return verdict("inconclusive", f"too few seeds (n={n})", mean=mean,
                       reference_mean=reference_mean, difference=difference)  # fmt: skip
    _, ci_low, ci_high = t_interval(differences)
    # margin > 0 satisfies the claim: metric >= reference - tolerance, or <= reference + tolerance
    sign = 1.0 if claim.op in (">=", ">") else -1.0
    low, high = sorted((sign * ci_low + claim.tolerance, sign * ci_high + claim.tolerance))
    strict = claim.op in (">", "<")
    satisfied = low > 0 if strict else low >= 0
    violated = high <= 0 if strict else high < 0
    word = "reproduced" if satisfied else "refuted" if violated else "inconclusive"
    paired = "paired over seeds" if not isinstance(claim.reference, (int, float)) else "vs a number"
    return verdict(word, f"metric − reference, {paired}", mean=mean, reference_mean=reference_mean,
                   difference=difference, ci_low=ci_low, ci_high=ci_high)  # fmt: skip


def check_entries(entries: list[Entry], records: dict[str, Records]) -> list[Verdict]:
    """Verdicts on every claim of ``entries``; ``records`` holds results by entry id (the
    entries' own and any sibling a claim names)."""
    return [
        evaluate(entry, claim, records.get(entry.id, []), records)
        for entry in entries
        for claim in entry.claims
    ]


def required_failures(verdicts: list[Verdict]) -> list[Verdict]:
    return [v for v in verdicts if v.required and v.verdict in ("refuted", "missing")]
