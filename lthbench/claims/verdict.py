"""A claim's verdict: the record ``check``, the pages and ``--json`` share."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from lthbench.methods.units import Unit

NOT_APPLICABLE = "not applicable"
WORDS = ("reproduced", "refuted", "inconclusive", NOT_APPLICABLE, "missing")


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
    """Mean of the claim's metric over those seeds (the measured value)."""
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
    own_verdict: str = ""
    """The verdict on this claim's own margin, before its ``given`` claims and preconditions."""
    given: tuple[str, ...] = ()
    """The claims of the entry this one is given (its conjunction)."""
    given_only: bool = False
    """Refuted only through a ``given`` claim (its own margin is not refuted)."""
    given_by: tuple[str, ...] = ()
    """The ``given`` claims that refuted it (with ``given_only``)."""
    reason: str = ""
    """Why a verdict is not applicable (the failed precondition, the emptied layer), or only
    inconclusive where its own margin decides (a precondition not established)."""
    margin: float | None = None
    """Mean margin by which the claim holds (negative: violated), tolerance included."""
    p_value: float | None = None
    """One-sided p-value of the verdict's direction (the sign of the margin) under the same
    resolution-aware t-test as the interval; None where there is no test (n < 2)."""
    holm_verdict: str = ""
    """The verdict after Holm's adjustment over the paper claims checked together
    (:mod:`lthbench.claims.multiplicity`); '' until adjusted."""
    reported: float | None = None
    """The paper's own number for the metric, where its source states one."""
    spread: float | None = None
    """The seeds' standard deviation of the margin (of the metric for 'within')."""
    outcomes: dict[str, float] | None = None
    """The predicted verdict of a replication (:mod:`lthbench.claims.replication`): word →
    probability; None where it cannot be predicted (fewer than two seeds, no results)."""
    replication: float | None = None
    """The probability that a replication gives this verdict (``outcomes[verdict]``)."""
    fragile: bool = False
    """The replication probability is below STABLE, or unknown with results to read."""
    seeds_for_stable: int | None = None
    """Seeds at which this verdict's direction would replicate with probability ≥ STABLE, at
    the observed margin and spread; None where it already does or where none can."""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, value: dict[str, Any]) -> Verdict:
        """The verdict :meth:`as_dict` gave (through JSON: tuples come back as lists)."""
        bounds = value.get("bounds")
        return cls(**{**value, "unit": Unit(**value["unit"]),
                      "bounds": None if bounds is None else tuple(bounds),
                      "given": tuple(value.get("given", ())),
                      "given_by": tuple(value.get("given_by", ()))})  # fmt: skip
