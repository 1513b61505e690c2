"""A claim tested only inside its regime, counted honestly: preconditions, ``given``, ranges
of densities, derived grids, emptied layers, sibling densities and the Holm view."""

from __future__ import annotations

from typing import Any

import pytest
from scipy import stats

from lthbench.claims.check import check_entries, evaluate
from lthbench.claims.multiplicity import holm_rejections
from lthbench.claims.resolution import one_sided_p
from lthbench.claims.select import at_density, reference_result
from lthbench.methods.early_bird.method import draw_step
from lthbench.report.tables import verdict_counts
from lthbench.spec.entry import Claim
from tests.test_claims import claim, entry_with, records

DENSE = {(s, 0, None): 0.90 + 0.01 * s for s in range(3)}
GOOD = DENSE | {(s, 1, None): 0.90 + 0.01 * s for s in range(3)}
BAD = DENSE | {(s, 1, None): 0.50 + 0.01 * s for s in range(3)}
MIXED = DENSE | {(0, 1, None): 0.95, (1, 1, None): 0.70, (2, 1, None): 0.99}
ACC = "final_test_accuracy"


def _check(claims: list[dict[str, Any]], values: dict[Any, float], **extra: Any) -> dict[str, Any]:
    entry = entry_with(claims)
    rows = [{**r, **extra} for r in records(values, ACC)]
    return {v.claim_id: v for v in check_entries([entry], {entry.id: rows})}


def test_a_claim_whose_precondition_fails_is_not_applicable_never_refuted() -> None:
    regime = claim(id="P", kind="lthbench", metric=ACC, where={"round": 1}, tolerance=0.01,
                   source="the slim network reaches dense - 1 pp")  # fmt: skip
    paper = claim(id="C", metric=ACC, op=">=", reference="dense", where={"round": 1},
                  tolerance=0.01, preconditions=["P"])  # fmt: skip
    failed = _check([regime, paper], BAD)
    assert failed["P"].verdict == "refuted"
    assert failed["C"].verdict == "not applicable" and failed["C"].own_verdict == "refuted"
    assert "precondition P refuted" in failed["C"].reason
    assert "1 not applicable" in verdict_counts(list(failed.values()))
    assert "refuted" not in verdict_counts([failed["C"]])
    held = _check([regime, paper], GOOD)
    assert held["C"].verdict == "reproduced"
    # an open precondition leaves the claim at best inconclusive, whatever its own margin
    unsure = claim(id="P", kind="lthbench", metric=ACC, reference=0.93, where={"round": 1},
                   source="a threshold the seeds straddle")  # fmt: skip
    open_ = _check([unsure, paper], GOOD)
    assert open_["P"].verdict == "inconclusive" and open_["C"].own_verdict == "reproduced"
    assert open_["C"].verdict == "inconclusive"
    assert "establish the regime first" in open_["C"].advice


def test_a_precondition_must_be_an_lthbench_check_of_the_entry() -> None:
    from lthbench.errors import UserError
    from lthbench.runner.resolve import resolve_entry
    from lthbench.spec.entry import Entry
    from tests.conftest import TINY_ENTRY, merge

    paper = claim(id="C", metric=ACC, where={"round": 1}, preconditions=["D"])
    other = claim(id="D", metric=ACC, where={"round": 1})
    data = merge(TINY_ENTRY, {"claims": [paper, other]})
    data["method"] = {"name": "lottery", "params": {"rounds": 2, "prune_fraction": 0.5}}
    with pytest.raises(UserError, match=r"claims\[0\].preconditions: 'D' is no lthbench check"):
        resolve_entry(Entry.model_validate(data))
    with pytest.raises(ValueError, match="its own precondition"):
        Claim.model_validate(claim(preconditions=["C"]))


def test_a_given_only_refutation_is_counted_apart_and_shows_its_own_verdict() -> None:
    accuracy = claim(id="ACC", metric=ACC, where={"round": 1}, tolerance=0.01)
    saving = claim(id="SAVE", metric=ACC, op=">=", reference=0.0, where={"round": 1},
                   given=["ACC"])  # fmt: skip
    verdicts = _check([accuracy, saving], BAD)
    save = verdicts["SAVE"]
    assert save.verdict == "refuted" and save.own_verdict == "reproduced"
    assert save.given_only and save.given_by == ("ACC",)
    counts = verdict_counts(list(verdicts.values()))
    assert "1 refuted (1 stable), 1 refuted only through given (1 stable)" in counts
    # refuted on its own margin: not 'only through given'
    own = claim(id="SAVE", metric=ACC, op=">=", reference=0.95, where={"round": 1},
                given=["ACC"])  # fmt: skip
    assert not _check([accuracy, own], BAD)["SAVE"].given_only


def test_a_collapse_satisfies_a_below_claim() -> None:
    collapsed = DENSE | {(s, 1, None): 0.10 + 0.001 * s for s in range(3)}  # chance is 0.1
    below = claim(id="E6", metric=ACC, op="<", reference="dense", where={"round": 1})
    assert _check([below], collapsed)["E6"].verdict == "reproduced"


def _ranged(values: dict[Any, float]) -> Any:
    """'surpasses dense at every density in [0.2, 0.6]' (rounds 1 and 2: 0.5 and 0.25)."""
    over = claim(metric=ACC, op=">=", reference="dense", tolerance=0.01,
                 where={"min_density": 0.2, "max_density": 0.6, "for_all": True})  # fmt: skip
    entry = entry_with([over])
    return evaluate(entry, Claim.model_validate(over), records(values, ACC), {})


def test_a_for_all_claim_is_refuted_by_one_density() -> None:
    both = GOOD | {(s, 2, None): 0.90 + 0.01 * s for s in range(3)}
    assert _ranged(both).verdict == "reproduced"
    one_bad = GOOD | {(s, 2, None): 0.50 + 0.01 * s for s in range(3)}
    verdict = _ranged(one_bad)
    assert verdict.verdict == "refuted" and verdict.density == 0.25
    assert "Pm 50%: reproduced" in verdict.detail and "Pm 25%: refuted" in verdict.detail
    open_ = GOOD | {(0, 2, None): 0.95, (1, 2, None): 0.70, (2, 2, None): 0.99}
    assert _ranged(open_).verdict == "inconclusive"
    # round 3 (12.5%) is outside the range and never read
    outside = both | {(s, 3, None): 0.1 for s in range(3)}
    assert _ranged(outside).verdict == "reproduced"
    with pytest.raises(ValueError, match="for_all"):
        Claim.model_validate(claim(where={"density": 0.5, "for_all": True}))


def test_a_derived_metric_inherits_its_step() -> None:
    """A saving computed from a draw on an evaluation grid moves by what one evaluation
    interval moves it by; the verdict's step is that, not 0."""
    saving = claim(id="S", metric="saving", op=">=", reference=2.0, where={"round": 1})
    entry = entry_with([saving])
    rows = [{"seed": s, "round": 1, "control": None, "density": 0.5, "saving": 2.2 + 0.01 * s,
             "steps": {"saving": 0.07 + 0.01 * s}} for s in range(3)]  # fmt: skip
    verdict = evaluate(entry, Claim.model_validate(saving), rows, {})
    assert verdict.resolution == pytest.approx(0.09)
    bare = [{k: v for k, v in r.items() if k != "steps"} for r in rows]
    assert evaluate(entry, Claim.model_validate(saving), bare, {}).resolution == 0
    # Early-Bird's rule: 100 units of reference over a cost of 40 that one interval moves by 5
    assert draw_step(100.0, 40.0, 5.0) == pytest.approx(100 / 35 - 100 / 40)


def test_an_emptied_layer_makes_the_claim_not_applicable() -> None:
    verdicts = _check([claim(id="C", metric=ACC, where={"round": 1}, tolerance=0.01)], GOOD,
                      emptied_layers=["features.1"])  # fmt: skip
    assert verdicts["C"].verdict == "not applicable"
    assert "emptied features.1" in verdicts["C"].reason


def test_a_sibling_is_read_at_the_density_compared_never_the_nearest_round() -> None:
    sibling = [{"seed": 0, "round": r, "control": None, "density": d, ACC: a}
               for r, d, a in [(0, 1.0, 0.9), (1, 0.2, 0.8), (2, 0.05, 0.6)]]  # fmt: skip
    exact = at_density(sibling, 0.2, (ACC,))
    assert exact is not None and exact[ACC] == 0.8 and exact["round"] == 1
    between = at_density(sibling, 0.1, (ACC,))  # halfway in log density from 0.2 to 0.05
    assert between is not None and between[ACC] == pytest.approx(0.7)
    assert at_density(sibling, 0.01, (ACC,)) is None  # never extrapolated


def test_a_sparse_result_is_compared_with_a_dense_siblings_one_network() -> None:
    """Zhu & Gupta's large-sparse against small-dense: a sibling with one network per seed and
    no density is that network, whatever the density compared."""
    small = [{"seed": 0, "round": None, "control": None, ACC: 0.8, "entry_id": "small"}]
    left = {"seed": 0, "round": 1, "control": None, "density": 0.1, ACC: 0.9}
    assert reference_result("entry:small", ACC, left, [], {"small": small}) == small[0]
    two = [*small, {**small[0], "seed": 0}]  # a sibling with two results of a seed: ambiguous
    assert reference_result("entry:small", ACC, left, [], {"small": two}) is None


def test_a_sibling_is_read_at_equal_training_flops_when_the_claim_says_so() -> None:
    """RigL's claims are made at equal training cost: the sibling's results interpolated in
    log FLOPs at the compared result's cost, never extrapolated; a claim without a sibling
    cannot ask for it."""
    sibling = [{"seed": 0, "round": r, "control": None, "density": d, "training_flops": f,
                ACC: a} for r, d, f, a in [(0, 1.0, 400.0, 0.9), (1, 0.2, 100.0, 0.7)]]  # fmt: skip
    left = {"seed": 0, "round": 1, "control": None, "density": 0.1, "training_flops": 200.0}
    read = reference_result("entry:gmp", ACC, left, [], {"gmp": sibling}, "training_flops")
    assert read is not None and read[ACC] == pytest.approx(0.8)  # halfway in log FLOPs
    assert read["training_flops"] == 200.0 and read["interpolated"] == (1, 0)
    cheap = {**left, "training_flops": 50.0}
    assert reference_result("entry:gmp", ACC, cheap, [], {"gmp": sibling}, "training_flops") is None
    unpriced = {k: v for k, v in left.items() if k != "training_flops"}
    assert reference_result("entry:gmp", ACC, unpriced, [], {"gmp": sibling},
                            "training_flops") is None  # fmt: skip
    with pytest.raises(ValueError, match="matched_by reads a sibling entry"):
        Claim.model_validate(claim(reference="dense", matched_by="training_flops"))


def test_a_sibling_result_named_by_reference_where_is_read_as_named() -> None:
    """A small-dense network is one of a sibling's results by its own fields (Early-Bird's
    slim architecture from scratch at a ratio), whatever the compared result's density."""
    sibling = [{"seed": 0, "round": None, "control": c, "ratio": p, ACC: a}
               for c, p, a in [(None, 0.7, 0.85), ("scratch", 0.7, 0.91), ("scratch", 0.5, 0.94)]]  # fmt: skip
    left = {"seed": 0, "round": 2, "control": None, "density": 0.09}
    named = {"ratio": 0.7, "control": "scratch"}
    read = reference_result("entry:eb", ACC, left, [], {"eb": sibling}, "density", named)
    assert read is not None and read[ACC] == 0.91
    assert reference_result("entry:eb", ACC, {**left, "seed": 1}, [], {"eb": sibling},
                            "density", named) is None  # fmt: skip
    with pytest.raises(ValueError, match="reference_where picks a sibling entry's result"):
        Claim.model_validate(claim(reference="dense", reference_where=named))
    with pytest.raises(ValueError, match="leave matched_by out"):
        Claim.model_validate(claim(reference="entry:eb", reference_where=named,
                                   matched_by="training_flops"))  # fmt: skip


def test_the_holm_view_matches_a_hand_computation() -> None:
    # m = 5 at family-wise 0.025: thresholds 0.005, 0.00625, 0.00833, 0.0125, 0.025
    p = [0.004, 0.03, 0.006, 0.009, 0.0001]
    # sorted: 0.0001 ≤ .005 ✓, 0.004 ≤ .00625 ✓, 0.006 ≤ .00833 ✓, 0.009 ≤ .0125 ✓, 0.03 > .025 ✗
    assert holm_rejections(p) == [True, False, True, True, True]
    # a step-down stops at its first failure: 0.013 > 0.025/3 blocks 0.02 ≤ 0.025/1
    assert holm_rejections([0.001, 0.013, 0.014, 0.02]) == [True, False, False, False]
    assert holm_rejections([]) == []


def test_the_p_value_agrees_with_the_interval_and_the_t_distribution() -> None:
    # exact metric, margin 2, spread 1, n 3: the textbook one-sided t-test
    assert one_sided_p(2.0, 1.0, 3, 0.0) == pytest.approx(stats.t.sf(2 * 3**0.5, 2))
    # a margin within one step is never significant
    assert one_sided_p(0.01, 0.0, 5, 0.01) >= 0.5


def test_check_carries_the_holm_verdict_of_every_paper_claim() -> None:
    weak = DENSE | {(0, 1, None): 0.905, (1, 1, None): 0.916, (2, 1, None): 0.926}
    claims = [claim(id=f"C{i}", metric=ACC, op=">", reference="dense", where={"round": 1})
              for i in range(3)]  # fmt: skip
    verdicts = _check(claims, weak)
    for v in verdicts.values():
        assert v.p_value is not None and v.holm_verdict in ("reproduced", "inconclusive")
        raw_alone = v.p_value <= 0.025
        assert (v.verdict == "reproduced") == raw_alone
        assert (v.holm_verdict == "reproduced") == (v.p_value <= 0.025 / 3)


def test_a_certain_verdict_keeps_its_word_under_holm() -> None:
    """An exact metric on which every seed agrees (every seed drew its ticket) has p = 0:
    Holm rejects it first, it is not lost as if it had no test."""
    drawn = claim(id="D", metric="drawn", op=">=", reference=1.0, where={"round": 1})
    entry = entry_with([drawn])
    rows = [{"seed": s, "round": 1, "control": None, "density": 0.5, "drawn": 1.0}
            for s in range(3)]  # fmt: skip
    (verdict,) = check_entries([entry], {entry.id: rows})
    assert verdict.p_value == 0.0 and verdict.verdict == verdict.holm_verdict == "reproduced"
    assert verdict.replication == 1.0 and not verdict.fragile


def test_a_conjunction_is_reproduced_under_holm_only_where_its_givens_are() -> None:
    """'Saves FLOPs at comparable accuracy': when Holm leaves the accuracy claim
    inconclusive, the saving is inconclusive under Holm too, whatever its own test."""
    spread = {0: -0.0031, 1: 0.0, 2: 0.0031}
    borderline = DENSE | {(s, 1, None): DENSE[(s, 0, None)] + d for s, d in spread.items()}
    accuracy = claim(id="ACC", metric=ACC, where={"round": 1}, tolerance=0.01)
    twin = {**accuracy, "id": "ACC2"}  # the same test twice: Holm needs p ≤ 0.025 / 2 first
    saving = claim(id="SAVE", metric=ACC, op=">=", reference=0.0, where={"round": 1},
                   given=["ACC"])  # fmt: skip
    verdicts = _check([accuracy, twin, saving], borderline)
    assert 0.025 / 2 < verdicts["ACC"].p_value < 0.025
    assert verdicts["ACC"].verdict == verdicts["SAVE"].verdict == "reproduced"
    assert verdicts["ACC"].holm_verdict == "inconclusive"
    assert verdicts["SAVE"].p_value < 0.025 / 3  # its own test stands...
    assert verdicts["SAVE"].holm_verdict == "inconclusive"  # ...its condition does not
