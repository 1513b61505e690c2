"""Verdicts built of verdicts: a claim inside its regime (preconditions), a claim given
others, and the paper claims checked together as one family (Holm's adjustment)."""

from __future__ import annotations

from dataclasses import replace

from lthbench.claims import replication
from lthbench.claims.multiplicity import ALPHA, holm_rejections
from lthbench.claims.verdict import NOT_APPLICABLE, Verdict


def combine(verdict: Verdict, givens: list[Verdict]) -> Verdict:
    """The conjunction of a claim with the claims it is given (a given that is not
    applicable leaves the conjunction not applicable: 'at comparable accuracy' cannot be
    read)."""
    if not givens or verdict.verdict in ("missing", NOT_APPLICABLE):
        return verdict
    verdict = replace(
        verdict,
        outcomes=_composed(replication.conjunction, verdict, givens),
        seeds_for_stable=_most(verdict, givens),
    )
    words = [g.verdict for g in givens]
    names = ", ".join(f"{g.claim_id} {g.verdict}" for g in givens)
    detail = f"{verdict.detail}; given {names}"
    if NOT_APPLICABLE in words:
        reasons = "; ".join(f"{g.claim_id}: {g.reason}" for g in givens if g.reason)
        return replace(verdict, verdict=NOT_APPLICABLE, seeds_needed=None, advice="",
                       detail=detail, reason=f"given {reasons}")  # fmt: skip
    if verdict.verdict == "refuted":
        return replace(verdict, detail=detail)
    if "refuted" in words:
        word = "refuted"
    elif all(w == "reproduced" for w in words):
        return replace(verdict, detail=detail)
    else:
        word = "inconclusive"
    pending = [g for g in givens if g.verdict != "reproduced"]
    needed = [g.seeds_needed for g in pending if g.seeds_needed is not None]
    seeds = max([*needed, verdict.seeds_needed or 0]) or None if word == "inconclusive" else None
    advice = "; ".join(f"{g.claim_id}: {g.advice}" for g in pending if g.advice)
    return replace(verdict, verdict=word, seeds_needed=seeds,
                   advice=advice if word == "inconclusive" else "", detail=detail,
                   given_only=word == "refuted",
                   given_by=tuple(g.claim_id for g in givens if g.verdict == "refuted"))  # fmt: skip


def in_regime(verdict: Verdict, preconditions: list[Verdict]) -> Verdict:
    """A claim inside the regime its preconditions establish: not applicable when one is
    refuted (never refuted: the analogue does not test the paper there), at best
    inconclusive while one is inconclusive or has no results."""
    if not preconditions or verdict.verdict == "missing":
        return verdict
    verdict = replace(
        verdict,
        outcomes=_composed(replication.in_regime, verdict, preconditions),
        seeds_for_stable=_most(verdict, preconditions),
    )
    failed = [p for p in preconditions if p.verdict == "refuted"]
    if failed:
        reason = "; ".join(f"precondition {p.claim_id} refuted ({p.statement})" for p in failed)
        return replace(verdict, verdict=NOT_APPLICABLE, reason=reason, seeds_needed=None,
                       advice="", detail=f"{verdict.detail}; {reason}")  # fmt: skip
    open_ = [p for p in preconditions if p.verdict != "reproduced"]
    if not open_ or verdict.verdict not in ("reproduced", "refuted"):
        return verdict
    names = ", ".join(f"{p.claim_id} {p.verdict}" for p in open_)
    return replace(verdict, verdict="inconclusive", seeds_needed=None,
                   advice=f"establish the regime first: {names}",
                   reason=f"regime not established: precondition {names}",
                   detail=f"{verdict.detail}; preconditions {names}")  # fmt: skip


def with_holm(verdicts: list[Verdict], alpha: float = ALPHA) -> list[Verdict]:
    """Every verdict with its Holm-adjusted word: the paper claims with a test (two or more
    seeds, applicable) are the family. A reproduced or refuted verdict whose own test Holm
    does not reject becomes inconclusive; a conjunction is reproduced only where every claim
    it is given still is, and refuted through ``given`` only where the given's refutation
    stands. lthbench's checks are not the papers' and are left as they are."""
    family = [i for i, v in enumerate(verdicts) if v.kind == "paper" and v.p_value is not None
              and v.verdict != NOT_APPLICABLE]  # fmt: skip
    rejected = holm_rejections([_p(verdicts[i]) for i in family], alpha)
    kept = {i for i, r in zip(family, rejected, strict=True) if r}

    def own(i: int, v: Verdict) -> str:
        decided = v.kind == "paper" and v.verdict in ("reproduced", "refuted")
        return "inconclusive" if decided and i not in kept else v.verdict

    plain = {(v.entry_id, v.claim_id): own(i, v) for i, v in enumerate(verdicts)}
    out = []
    for v in verdicts:
        word = plain[(v.entry_id, v.claim_id)]
        givens = [plain.get((v.entry_id, g), "missing") for g in v.given]
        if v.given_only:
            word = "refuted" if "refuted" in givens else "inconclusive"
        elif word == "reproduced" and any(g != "reproduced" for g in givens):
            word = "inconclusive"
        out.append(replace(v, holm_verdict=word))
    return out


def _composed(rule: object, verdict: Verdict, parts: list[Verdict]) -> dict[str, float] | None:
    """A composite verdict's predicted replication, from its parts' (None if one is unknown)."""
    if verdict.outcomes is None or any(p.outcomes is None for p in parts):
        return None
    return rule(verdict.outcomes, [p.outcomes for p in parts])  # type: ignore[operator]


def with_replication(verdicts: list[Verdict]) -> list[Verdict]:
    """Every verdict with its replication probability and fragile flag
    (:mod:`lthbench.claims.replication`); the seeds that would make it stable only where it
    is fragile."""
    out = []
    for v in verdicts:
        if v.verdict == "missing":
            out.append(replace(v, replication=None, fragile=False, seeds_for_stable=None))
            continue
        probability = None if v.outcomes is None else v.outcomes.get(v.verdict, 0.0)
        fragile = probability is None or probability < replication.STABLE
        out.append(replace(v, replication=probability, fragile=fragile,
                           seeds_for_stable=v.seeds_for_stable if fragile else None))  # fmt: skip
    return out


def _most(verdict: Verdict, parts: list[Verdict]) -> int | None:
    """The seeds a composite verdict needs to be stable: as many as its neediest part."""
    needed = [v.seeds_for_stable for v in (verdict, *parts) if v.seeds_for_stable is not None]
    return max(needed, default=None)


def _p(verdict: Verdict) -> float:
    return 1.0 if verdict.p_value is None else verdict.p_value
