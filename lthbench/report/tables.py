"""The tables and counts every leaderboard page shares: means ± standard deviations,
provenance, verdict counts (paper claims apart from lthbench's checks) and verdict tables."""

from __future__ import annotations

import statistics
from collections import Counter
from typing import Any

from tabulate import tabulate

from lthbench.claims import Verdict
from lthbench.claims.check import TOO_MANY, UNRESOLVABLE
from lthbench.claims.devices import device_list
from lthbench.claims.replication import STABLE
from lthbench.claims.resolution import MAX_SEEDS_ESTIMATE
from lthbench.run.experiment import Experiment

Records = list[dict[str, Any]]


def stat(values: list[float], scale: float = 1.0, digits: int = 2) -> str:
    if not values:
        return "–"
    mean = statistics.fmean(values) * scale
    if len(values) == 1:
        return f"{mean:.{digits}f}"
    return f"{mean:.{digits}f} ± {statistics.stdev(values) * scale:.{digits}f}"


def metric(records: Records, name: str, scale: float = 1.0, digits: int = 2) -> str:
    """Mean ± standard deviation of ``name`` over the records that have it."""
    return stat([float(r[name]) for r in records if r.get(name) is not None], scale, digits)


RUN_SUMMARY_HEADERS = ["test acc. at early stop (%)", "final test acc. (%)",
                       "early-stop iteration", "wall time per run (s)"]  # fmt: skip


def run_summary(records: Records) -> list[str]:
    """The figures every trained run has, as means ± standard deviations (RUN_SUMMARY_HEADERS)."""
    return [metric(records, "test_accuracy_at_early_stop", 100),
            metric(records, "final_test_accuracy", 100),
            metric(records, "early_stop_iteration", 1, 0), metric(records, "wall_time_s", 1, 1)]  # fmt: skip


def number(value: float | None, digits: int = 4) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def provenance(records: Records) -> str:
    def values(key: str) -> str:
        return ", ".join(sorted({str(r.get(key, "unknown")) for r in records})) or "–"

    newest = max((r.get("finished_at", "") for r in records), default="") or "–"
    return (
        f"_Rendered by `lthbench leaderboard` from {len(records)} stored results: "
        f"lthbench {values('lthbench_version')} (commit {values('lthbench_commit')}), "
        f"torch {values('torch_version')}, "
        f"device {device_list(records)}, "
        f"CPU threads per run {values('torch_threads')}; "
        f"newest result {newest}._"
    )


ORDER = ("reproduced", "refuted", "inconclusive", "not applicable", "missing")
GIVEN_ONLY = "refuted only through given"
VERDICT_RULE = (
    "How a verdict is decided: per seed, the margin by which the claim holds (metric − "
    "reference, paired over seeds); its 95% t-interval, with the seeds' spread floored at the "
    "rounding noise of the metric's grid (one step / √12) and widened by one step on each side "
    "(a step: one test example for an accuracy, one evaluation interval for an iteration count, "
    "what one evaluation interval moves a derived metric by, such as a FLOP saving that depends "
    "on when a ticket was drawn; 0 for exact numbers). **reproduced**: the whole interval "
    "satisfies the claim; **refuted**: it violates it; **inconclusive**: it straddles the "
    "boundary, fewer than two seeds, or a network the claim asserts learned collapsed (test "
    "accuracy ≤ 2× chance; a network a claim says is worse may collapse); **not applicable**: "
    "the analogue is outside the regime the paper makes the claim in: one of the claim's "
    "preconditions (lthbench checks of the regime) is refuted, or the pruning emptied a layer, "
    "so the network read is not the one the claim is about; never counted as refuted; "
    "**missing**: no results. So no difference smaller than one step, and no zero-width "
    "interval, decides a verdict. A claim given others (e.g. a FLOP saving *at comparable "
    "accuracy*) is refuted when one of them is refuted and inconclusive while one is not "
    "reproduced; a refutation that comes only through a given claim is counted apart, and the "
    "claim's own verdict is shown beside it. *Holm*: the verdict when the paper claims on these "
    "pages are taken as one family (each claim's one-sided t-test at 2.5%, Holm's step-down "
    "adjustment, which holds the chance of any false verdict among them at 2.5% under any "
    "dependence); both tallies are given. *Replicates*: the probability that a replication (fresh "
    "seeds, or these seeds on another machine, whose rounding acts as a fresh sample) gives the "
    "same verdict, from the predictive distribution of the replication's mean margin given this "
    "one's (flat prior, the seeds' spread as measured and floored); below "
    f"{STABLE:g} a verdict is **fragile** and may differ on another machine, with the seeds that "
    "would make it stable. *Seeds needed*: the seeds whose interval would clear "
    "the boundary at the observed margin and spread (∞: the margin is within one step, so only "
    "a finer measure resolves it). † marks a claim whose paper point lies where two curves "
    "cross (expected margin ≈ 0). *paper* claims are the papers' (or their embedded analogues); "
    "*lthbench* checks are lthbench's own sanity, acceptance and regime checks."
)


def _counts(verdicts: list[Verdict], holm: bool = False) -> Counter[str]:
    counts = Counter((v.holm_verdict or v.verdict) if holm else v.verdict for v in verdicts)
    if not holm:
        through = sum(v.given_only and v.verdict == "refuted" for v in verdicts)
        counts["refuted"] -= through
        counts[GIVEN_ONLY] += through
    return counts


def _tally(counts: Counter[str], stable: Counter[str] | None = None) -> str:
    words = [ORDER[0], ORDER[1], GIVEN_ONLY, *ORDER[2:]]

    def one(word: str) -> str:
        kept = "" if stable is None or word == "missing" else f" ({stable[word]} stable)"
        return f"{counts[word]} {word}{kept}"

    return ", ".join(one(w) for w in words if counts[w])


def _stable(verdicts: list[Verdict]) -> Counter[str]:
    counts = Counter(v.verdict for v in verdicts if not v.fragile)
    through = sum(v.given_only and v.verdict == "refuted" and not v.fragile for v in verdicts)
    counts["refuted"] -= through
    counts[GIVEN_ONLY] += through
    return counts


def verdict_counts(verdicts: list[Verdict], holm: bool = False) -> str:
    """Paper claims and lthbench's own checks, counted apart; refutations only through a
    given claim apart from the rest; ``holm``: the paper claims' Holm-adjusted tally."""
    paper = [v for v in verdicts if v.kind == "paper"]
    own = [v for v in verdicts if v.kind == "lthbench"]
    parts = []
    if paper:
        parts.append(("paper claims (Holm): " if holm else "paper claims: ")
                     + _tally(_counts(paper, holm), None if holm else _stable(paper)))  # fmt: skip
    if own and not holm:
        counts = _counts(own)
        rest = "".join(f", {counts[w]} {w}" for w in ORDER[1:] if counts[w])
        parts.append(f"lthbench checks: {counts['reproduced']}/{len(own)} reproduced{rest}")
    return " · ".join(parts) or "no claims"


def holm_family(verdicts: list[Verdict]) -> str:
    """The Holm view's tally, with the family it was adjusted over stated."""
    tested = sum(v.kind == "paper" and v.p_value is not None and v.verdict != "not applicable"
                 for v in verdicts)  # fmt: skip
    return (f"{verdict_counts(verdicts, holm=True)} (family: the {tested} paper claims with a "
            "test here, each one-sided at 2.5%, Holm's step-down adjustment)")  # fmt: skip


def machine_note(records: Records, verdicts: list[Verdict]) -> str:
    """Which machine computed these pages, and which verdicts another machine may change."""
    fragile = sum(v.fragile and v.verdict != "missing" for v in verdicts)
    return (f"These results were computed on {device_list(records)}. Another machine rounds "
            "differently, which acts like a new sample of the same seeds: the "
            f"{fragile} verdicts marked **fragile** (replication probability below {STABLE:g}) "
            "may differ there; the others are expected to hold. To compare your own run with "
            "these pages: `lthbench compare STORE leaderboards/results.zip`.")  # fmt: skip


def seeds_needed_text(v: Verdict) -> str:
    if v.verdict in ("reproduced", "refuted", "missing", "not applicable"):
        return "–"
    if v.seeds_needed is not None:
        return str(v.seeds_needed)
    return (
        "∞"
        if UNRESOLVABLE in v.advice
        else f"> {MAX_SEEDS_ESTIMATE}"
        if TOO_MANY in v.advice
        else "–"
    )


COLUMNS = (
    "How to read the tables. **Pm**: the percent of weights remaining (the LTH paper's "
    "notation) of the results a claim reads (– where a result has no weight density, e.g. "
    "Early-Bird's channel-pruned networks, whose ratio p the claim names). **mean**: the claim's metric averaged over the "
    "seeds; **reference**: what it is compared with (a number, another result of the same "
    "seeds, or a `within` claim's bounds [low, high]). **decision interval**: the interval the "
    "verdict is decided on: of the margin metric − reference (marked Δ) for a comparison, of "
    "the metric itself for a `within` claim. **step**: one step of the metric's grid. "
    "**results from**: the device that computed the results the verdict read: one device per "
    "verdict unless `--mix-devices` asked, the seeds computed elsewhere named as left out (the "
    "index's source column says which store or imported bundle they came from). "
    "Accuracies are in %, iterations are whole numbers, in the claim tables as in the others. "
    "Run tables show means ± one standard deviation over seeds; error bars in the plots are "
    "± one standard deviation over seeds."
)


def verdict_figures(v: Verdict) -> list[str]:
    """Pm, mean, reference, decision interval and step of a verdict, in the metric's unit."""
    unit = v.unit

    def bare(value: float) -> str:
        return unit.show(value).removesuffix(unit.suffix)

    if v.bounds is not None:
        reference = f"[{bare(v.bounds[0])}, {bare(v.bounds[1])}]{unit.suffix}"
    else:
        reference = unit.show(v.reference_mean)
    interval = "–"
    if v.ci_low is not None and v.ci_high is not None:
        marker = "" if v.bounds is not None else "Δ "
        # a difference of two percentages is in percentage points
        suffix = " pp" if marker and unit.suffix == "%" else unit.suffix
        interval = f"{marker}[{bare(v.ci_low)}, {bare(v.ci_high)}]{suffix}"
    # a step of a percentage is a difference of two: percentage points; a metric without a
    # grid (FLOPs, losses, times) is exact
    step_suffix = " pp" if unit.suffix == "%" else unit.suffix
    step = f"{bare(v.resolution)}{step_suffix}" if v.resolution else "exact"
    return [
        "–" if v.density is None else f"{100 * v.density:.1f}%",
        unit.show(v.mean),
        reference,
        interval,
        step,
    ]


FIGURE_HEADERS = ["Pm", "mean", "reference", "decision interval", "step"]


def verdict_word(v: Verdict) -> str:
    """The verdict as a table shows it: with its own margin's verdict where a given claim
    decided it, and why where it is not applicable."""
    word = f"**{v.verdict}**"
    if v.given_only:
        word += f" (given {', '.join(v.given_by)}; its own margin: {v.own_verdict})"
    if v.reason:
        own = f"; its own margin: {v.own_verdict}" if v.own_verdict not in ("", v.verdict) else ""
        word += f" ({v.reason}{own})"
    return word


def replication_text(v: Verdict) -> str:
    """The replication probability, and 'fragile' (with the seeds that would make the
    verdict stable) where it is below the threshold."""
    if v.verdict == "missing":
        return "–"
    if v.replication is None:
        return "? **fragile** (one seed)"
    text = f"{v.replication:.2f}"
    if not v.fragile:
        return text
    more = f"; {v.seeds_for_stable} seeds for ≥ {STABLE:g}" if v.seeds_for_stable else ""
    return f"{text} **fragile**{more}"


def reported_text(v: Verdict) -> str:
    """The paper's number beside the measured mean ('–' where its source states none)."""
    return "–" if v.reported is None else v.unit.show(v.reported)


def verdict_table(verdicts: list[Verdict]) -> str:
    rows = [
        [v.claim_id + (" †" if v.crossing else "") + (" (required)" if v.required else ""),
         v.kind, v.statement, verdict_word(v),
         v.holm_verdict if v.kind == "paper" else "–", replication_text(v), v.seeds,
         seeds_needed_text(v), reported_text(v), *verdict_figures(v), v.results_from or "–"]
        for v in verdicts
    ]  # fmt: skip
    headers = ["claim", "kind", "statement", "verdict", "Holm", "replicates", "seeds",
               "seeds needed", "paper", *FIGURE_HEADERS, "results from"]  # fmt: skip
    return tabulate(rows, headers=headers, tablefmt="github", disable_numparse=True)


def siblings(entry: Experiment) -> list[str]:
    return entry.entry.siblings
