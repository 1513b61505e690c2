"""Claims → verdicts (statistics over seeds), `check`, `leaderboard` and `reproduce`."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from lthbench.claims.check import check_entries, combine, evaluate
from lthbench.cli import main
from lthbench.methods.lottery import LotteryParams
from lthbench.run import Experiment
from lthbench.runner.resolve import experiment_of
from lthbench.spec.entry import Claim, Entry
from tests.conftest import TINY_ENTRY, merge, tree


def entry_with(claims: list[dict[str, Any]], seeds: list[int] | None = None) -> Experiment:
    """A lottery experiment with these claims, unchecked (claims here may name any metric)."""
    data = merge(TINY_ENTRY, {"claims": claims, "seeds": seeds or [0, 1, 2]})
    data["method"] = {"name": "lottery", "params": {"rounds": 2, "prune_fraction": 0.5}}
    return experiment_of(Entry.model_validate(data), LotteryParams(rounds=2, prune_fraction=0.5))


def records(
    values: dict[tuple[int, int, str | None], float], metric: str = "acc"
) -> list[dict[str, Any]]:
    return [
        {"seed": seed, "round": round_, "control": control, "density": 0.5**round_, metric: value}
        for (seed, round_, control), value in values.items()
    ]


def claim(**fields: Any) -> dict[str, Any]:
    return {
        "id": "C",
        "statement": "s",
        "metric": "acc",
        "op": ">=",
        "reference": "dense",
        "source": '"s" (tests)',
        **fields,
    }


def test_an_exact_metric_gets_the_textbook_t_interval() -> None:
    """For a metric without a grid (resolution 0) the decision interval is the plain 95%
    t-interval of the paired differences."""
    values = {(s, 0, None): 0.0 for s in range(3)} | {(s, 1, None): 1.0 + s for s in range(3)}
    verdict = _verdict(claim(where={"round": 1}), values)
    assert verdict.resolution == 0 and verdict.difference == 2.0
    assert verdict.ci_high - 2.0 == pytest.approx(4.302653 * 1.0 / 3**0.5, rel=1e-5)
    assert 2.0 - verdict.ci_low == pytest.approx(verdict.ci_high - 2.0)


def _verdict(claims: dict[str, Any], values: dict[tuple[int, int, str | None], float],
             siblings: dict[str, list[dict[str, Any]]] | None = None, metric: str = "acc") -> Any:  # fmt: skip
    entry = entry_with([claims])
    return evaluate(entry, Claim.model_validate(claims), records(values, metric), siblings or {})


def test_paired_comparison_with_dense_is_reproduced() -> None:
    values = {(s, 0, None): 0.90 + 0.01 * s for s in range(3)}
    values |= {(s, 2, None): 0.92 + 0.01 * s + 0.001 * (s == 1) for s in range(3)}
    verdict = _verdict(claim(where={"density": 0.25}), values)
    assert verdict.verdict == "reproduced" and verdict.seeds == 3
    assert verdict.density == 0.25 and verdict.difference == pytest.approx(0.02 + 0.001 / 3)


def test_claim_that_cannot_hold_is_refuted() -> None:
    values = {(s, 0, None): 0.90 + 0.01 * s for s in range(3)}
    values |= {(s, 2, None): 0.80 + 0.011 * s for s in range(3)}
    assert _verdict(claim(where={"density": 0.25}), values).verdict == "refuted"


def test_straddling_or_single_seed_is_inconclusive() -> None:
    values = {(s, 0, None): 0.90 for s in range(3)}
    values |= {(0, 2, None): 0.95, (1, 2, None): 0.85, (2, 2, None): 0.91}
    assert _verdict(claim(where={"density": 0.25}), values).verdict == "inconclusive"
    single = {(0, 0, None): 0.9, (0, 2, None): 0.95}
    verdict = _verdict(claim(where={"density": 0.25}), single)
    assert verdict.verdict == "inconclusive" and "too few seeds" in verdict.detail


def test_missing_results_and_far_densities_are_missing() -> None:
    values = {(s, 0, None): 0.9 for s in range(3)}
    assert _verdict(claim(where={"density": 0.25}), values).verdict == "missing"
    values |= {(s, 1, None): 0.95 for s in range(3)}  # density 0.5 is not "about 0.25"
    assert _verdict(claim(where={"density": 0.25}), values).verdict == "missing"


def test_factor_offset_tolerance_and_direction() -> None:
    values = {(s, 0, None): 1000.0 + s for s in range(3)} | {
        (s, 1, None): 500.0 - s for s in range(3)
    }
    earlier = claim(op="<=", factor=0.62, where={"round": 1})
    assert _verdict(earlier, values).verdict == "reproduced"
    assert _verdict(claim(op="<=", factor=0.4, where={"round": 1}), values).verdict == "refuted"
    assert (
        _verdict(claim(op="<=", factor=0.4, tolerance=200, where={"round": 1}), values).verdict
        == "reproduced"
    )
    assert _verdict(claim(op=">=", offset=-600, where={"round": 1}), values).verdict == "reproduced"


def test_controls_and_sibling_entries_are_paired_by_seed_and_round() -> None:
    values = {(s, 0, None): 0.9 for s in range(3)}
    values |= {(s, 1, None): 0.9 + 0.01 * s for s in range(3)}
    values |= {(s, 1, "random_reinit"): 0.8 + 0.01 * s for s in range(3)}
    entry = entry_with([])
    data = entry.entry.model_dump()
    data["method"]["params"]["controls"] = ["random_reinit"]
    reinit = Claim.model_validate(claim(op=">", reference="random_reinit", where={"round": 1}))
    params = LotteryParams(rounds=2, prune_fraction=0.5, controls=["random_reinit"])
    verdict = evaluate(
        experiment_of(Entry.model_validate(data), params), reinit, records(values), {}
    )
    assert verdict.verdict == "reproduced" and verdict.difference == pytest.approx(0.1)
    sibling = records({(s, 1, None): 0.95 for s in range(3)})
    versus = Claim.model_validate(claim(reference="entry:other", where={"round": 1}))
    assert evaluate(entry, versus, records(values), {"other": sibling}).verdict == "refuted"


def test_within_a_range() -> None:
    values = {(s, 1, None): 0.70 + 0.001 * s for s in range(3)}
    inside = claim(op="within", reference=[0.65, 0.75], where={"round": 1})
    assert _verdict(inside, values).verdict == "reproduced"
    outside = claim(op="within", reference=[0.80, 0.90], where={"round": 1})
    assert _verdict(outside, values).verdict == "refuted"


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ({"op": "within", "reference": 0.5}, "'within' needs reference: [low, high]"),
        ({"reference": [0.1, 0.2]}, "needs one reference"),
        ({"reference": "random_prune"}, "'random_prune' is not a result of this entry"),
        ({"reference": 0.5, "where": {"control": "random_reinit"}}, "where.control"),
        ({"reference": 0.5, "where": {"round": 9}}, "where.round"),
        ({"reference": 0.5, "where": {"seed": 1}}, "claims[0].where.seed"),
        ({"reference": "entry:../x"}, "does not name an entry id"),
    ],
)
def test_malformed_claims_are_rejected_by_validate(
    bad: dict[str, Any],
    message: str,
    write_entry: Callable[..., Path],
    capsys: pytest.CaptureFixture[str],
) -> None:
    path = write_entry({"method": {"name": "lottery", "params": {"rounds": 2, "prune_fraction": 0.5}},
                        "claims": [claim(metric="final_test_accuracy", **bad)]})  # fmt: skip
    assert main(["validate", str(path)]) == 2
    err = capsys.readouterr().err
    assert message in err and str(path) in err


def test_check_reports_refuted_required_claim_and_exits_non_zero(
    write_entry: Callable[..., Path], store: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    impossible = {"id": "IMPOSSIBLE", "statement": "a tiny MLP reaches 99.9% on mnist1d in 120 steps",
                  "metric": "final_test_accuracy", "op": ">=", "reference": 0.999, "required": True,
                  "source": '"99.9%" (tests)'}  # fmt: skip
    learns = {"id": "LEARNS", "statement": "above chance", "metric": "final_test_accuracy",
              "op": ">", "reference": 0.1, "kind": "lthbench"}  # fmt: skip
    path = write_entry({"claims": [impossible, learns]})
    store.mkdir()  # an empty store (a missing --store is refused: it would read as missing)
    assert main(["check", str(path), "--store", str(store)]) == 1  # results missing
    capsys.readouterr()
    assert main(["run", str(path), "--store", str(store), "--quiet"]) == 0
    capsys.readouterr()
    assert main(["check", str(path), "--store", str(store), "--json"]) == 1
    verdicts = {v["claim_id"]: v for v in json.loads(capsys.readouterr().out)}
    for verdict in verdicts.values():
        assert {"entry_id", "statement", "verdict", "mean", "ci_low", "ci_high", "seeds", "kind",
                "seeds_needed", "resolution"} <= set(verdict)  # fmt: skip
    assert verdicts["IMPOSSIBLE"]["kind"] == "paper" and verdicts["LEARNS"]["kind"] == "lthbench"
    assert verdicts["IMPOSSIBLE"]["seeds_needed"] is None  # resolved
    assert verdicts["IMPOSSIBLE"]["verdict"] == "refuted" and verdicts["IMPOSSIBLE"]["seeds"] == 2
    assert verdicts["LEARNS"]["verdict"] == "reproduced"


def test_leaderboard_is_byte_identical_and_reproduce_runs_the_suite(
    write_entry: Callable[..., Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store, out = tmp_path / "store", tmp_path / "boards"
    dense_claim = {"id": "D", "statement": "above chance", "metric": "final_test_accuracy",
                   "op": ">", "reference": 0.1, "required": True, "kind": "lthbench"}  # fmt: skip
    write_entry({"claims": [dense_claim]}, name="tiny")
    lottery_claim = claim(metric="test_accuracy_at_early_stop", op=">", reference="random_reinit",
                          where={"density": 0.5})  # fmt: skip
    registry = write_entry({
        "method": {"name": "lottery", "params": {"rounds": 2, "prune_fraction": 0.5,
                                                  "controls": ["random_reinit"]}},
        "claims": [lottery_claim],
    }, name="tiny-lottery").parent  # fmt: skip
    args = ["--registry", str(registry), "--store", str(store), "--out", str(out), "--quiet"]
    assert main(["reproduce", *args]) == 0
    printed = capsys.readouterr().out
    assert "claims:" in printed and "leaderboards written" in printed
    first = tree(out)
    assert {"index.md", "dense.md", "lottery.md", "plots/tiny-lottery.png"} <= set(first)
    index = first["index.md"].decode()
    assert "lthbench 0.1.0" in index and "torch" in index and "device cpu" in index
    assert "| [tiny-lottery](lottery.md#tiny-lottery)" in index
    lottery_page = first["lottery.md"].decode()
    assert (
        "random reinit acc. (%)" in lottery_page
        and "![tiny-lottery](plots/tiny-lottery.png)" in lottery_page
    )
    assert (
        main(["leaderboard", "--registry", str(registry), "--store", str(store), "--out", str(out)])
        == 0
    )
    assert tree(out) == first


# -- resolution, collapse, conditions, stated ranges ------------------------------------------


def test_a_zero_width_or_sub_resolution_interval_is_never_reproduced_or_refuted() -> None:
    """Accuracy moves in steps of one test example (1/1000 on mnist1d): seeds that agree exactly give
    a zero-width t-interval, which is not certainty, and a difference of one example is within
    the grid, so neither decides a verdict; two examples on every seed do."""
    step = 1 / 1000
    dense = {(s, 0, None): 0.9 for s in range(3)}
    for offset in (-step, 0.0, step):  # identical on every seed: zero-width t-interval
        values = dense | {(s, 1, None): 0.9 + offset for s in range(3)}
        for op in (">=", ">", "<=", "<"):
            found = _verdict(claim(metric="final_test_accuracy", op=op, where={"round": 1}),
                             values, metric="final_test_accuracy")  # fmt: skip
            assert found.verdict == "inconclusive", (offset, op)
            assert found.resolution == pytest.approx(step)
            assert found.ci_high - found.ci_low > 2 * step
            assert found.seeds_needed is None and "more seeds cannot" in found.advice
    values = dense | {(s, 1, None): 0.9 - 2 * step for s in range(3)}
    found = _verdict(claim(metric="final_test_accuracy", where={"round": 1}), values,
                     metric="final_test_accuracy")  # fmt: skip
    assert found.verdict == "refuted" and found.seeds_needed is None
    within = claim(metric="final_test_accuracy", op="within", reference=[0.899, 0.95],
                   where={"round": 1})  # fmt: skip
    values = dense | {(s, 1, None): 0.9 for s in range(3)}
    assert _verdict(within, values, metric="final_test_accuracy").verdict == "inconclusive"


def test_an_iteration_count_resolves_to_one_evaluation_interval() -> None:
    """L5-faster on mnist5k was 'reproduced' on [-100, -100]: one evaluation interval (40
    iterations in the tiny entry) is the grid; one step on every seed decides nothing."""
    values = {(s, 0, None): 400.0 for s in range(3)} | {(s, 1, None): 360.0 for s in range(3)}
    found = _verdict(claim(metric="early_stop_iteration", op="<", where={"round": 1}), values,
                     metric="early_stop_iteration")  # fmt: skip
    assert found.resolution == 40 and found.verdict == "inconclusive"


def test_seeds_needed_follows_the_observed_margin_and_spread() -> None:
    dense = {(s, 0, None): 0.0 for s in range(3)}
    noisy = dense | {(0, 1, None): 0.5, (1, 1, None): 1.5, (2, 1, None): -0.4}
    found = _verdict(claim(where={"round": 1}), noisy)
    assert found.verdict == "inconclusive" and found.seeds_needed is not None
    assert found.seeds_needed > 3 and "seeds" in found.advice
    # with that many seeds at the same mean and spread, the interval would clear 0
    from lthbench.claims.resolution import half_width

    spread = (sum((v - 0.5333) ** 2 for v in (0.5, 1.5, -0.4)) / 2) ** 0.5
    assert half_width(spread, found.seeds_needed, 0.0) < found.difference
    assert half_width(spread, found.seeds_needed - 1, 0.0) >= found.difference


def test_a_collapse_blocks_only_what_the_claim_asserts_learned() -> None:
    """A collapsed network (test accuracy ≤ 2× chance) reproduces nothing the claim says of it
    as a learner ('above dense'); a claim that it is *worse* ('p70 is below dense', 'below
    50%') is satisfied by the collapse, and a collapsed reference below it asserts nothing."""
    dense = {(s, 0, None): 0.90 + 0.01 * s for s in range(3)}
    collapsed = dense | {(s, 1, None): 0.10 + 0.001 * s for s in range(3)}  # chance is 0.1
    below = claim(metric="final_test_accuracy", op="<", where={"round": 1})
    assert _verdict(below, collapsed, metric="final_test_accuracy").verdict == "reproduced"
    number = claim(metric="final_test_accuracy", op="<", reference=0.5, where={"round": 1})
    assert _verdict(number, collapsed, metric="final_test_accuracy").verdict == "reproduced"
    above = claim(metric="final_test_accuracy", op=">", reference=0.05, where={"round": 1})
    found = _verdict(above, collapsed, metric="final_test_accuracy")
    assert found.verdict == "inconclusive" and "asserts learned collapsed" in found.detail
    assert found.seeds_needed is None and "cannot help" in found.advice
    # 'below dense' asserts that dense learned: a collapsed dense run decides nothing
    dead_dense = {(s, 0, None): 0.12 for s in range(3)} | {(s, 1, None): 0.11 for s in range(3)}
    assert _verdict(below, dead_dense, metric="final_test_accuracy").verdict == "inconclusive"


def test_a_claim_given_others_holds_only_where_they_hold() -> None:
    """'saves 2.2x FLOPs at comparable accuracy': refuted when the accuracy side is refuted,
    inconclusive while it is inconclusive, reproduced only with it."""
    accuracy = claim(id="ACC", metric="final_test_accuracy", where={"round": 1}, tolerance=0.01)
    saving = claim(id="SAVE", metric="final_test_accuracy", op=">=", reference=0.0,
                   where={"round": 1}, given=["ACC"])  # fmt: skip
    entry = entry_with([accuracy, saving])
    dense = {(s, 0, None): 0.90 + 0.01 * s for s in range(3)}
    cases = {
        "reproduced": dense | {(s, 1, None): 0.90 + 0.01 * s for s in range(3)},
        "refuted": dense | {(s, 1, None): 0.50 + 0.01 * s for s in range(3)},
        "inconclusive": dense | {(0, 1, None): 0.95, (1, 1, None): 0.70, (2, 1, None): 0.99},
    }
    for expected, values in cases.items():
        results = records(values, "final_test_accuracy")
        verdicts = {v.claim_id: v for v in check_entries([entry], {entry.id: results})}
        assert verdicts["ACC"].verdict == expected
        assert verdicts["SAVE"].verdict == expected and "given ACC" in verdicts["SAVE"].detail
    assert combine(verdicts["SAVE"], []) == verdicts["SAVE"]


def test_density_selection_stays_inside_the_claims_stated_range() -> None:
    """'above dense while Pm > 2%' never picks a round at 1.93%: with a stated range the
    nearest round is chosen among the rounds inside it, else the result is missing."""
    values = {(s, 0, None): 0.9 for s in range(3)} | {(s, 2, None): 0.95 for s in range(3)}
    # round 2 has density 0.25; a claim at 0.27 picks it without a range...
    assert _verdict(claim(where={"density": 0.27}), values).density == 0.25
    # ...but not when the paper's statement is "while Pm > 26%"
    ranged = claim(where={"density": 0.27, "min_density": 0.26})
    assert _verdict(ranged, values).verdict == "missing"
    assert _verdict(claim(where={"density": 0.27, "max_density": 0.26}), values).density == 0.25


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ({"kind": "paper", "source": "Table 2"}, "source must quote the paper"),
        ({"given": ["NOPE"]}, "claims[0].given: 'NOPE' is no claim of this entry"),
        ({"where": {"min_density": 0.5, "density": 0.1}}, "a density range needs a density inside"),
    ],
)
def test_claims_that_do_not_say_what_they_encode_are_rejected(
    bad: dict[str, Any], message: str, write_entry: Callable[..., Path],
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    path = write_entry({"method": {"name": "lottery", "params": {"rounds": 2, "prune_fraction": 0.5}},
                        "claims": [claim(metric="final_test_accuracy", **bad)]})  # fmt: skip
    assert main(["validate", str(path)]) == 2
    assert message in capsys.readouterr().err


def test_the_shipped_registry_says_whose_every_claim_is() -> None:
    """Every paper claim quotes the paper (or its official code) in its source; lthbench's own
    checks are marked as such, and a claim that names lthbench or an issue is never a paper's."""
    from lthbench.runner.resolve import load_experiments
    from lthbench.spec.load import default_registry

    entries = load_experiments([default_registry()])
    kinds = {"paper": 0, "lthbench": 0}
    for entry in entries:
        for item in entry.claims:
            kinds[item.kind] += 1
            if item.kind == "paper":
                assert item.source.count('"') >= 2, (entry.id, item.id)
                assert "lthbench" not in item.source.split('"')[0], (entry.id, item.id)
            else:
                assert "lthbench" in item.source, (entry.id, item.id)
    assert kinds["paper"] > kinds["lthbench"] > 0


def test_pages_count_paper_claims_apart_from_lthbench_checks_and_show_seeds_needed() -> None:
    from lthbench.report.leaderboard import verdict_counts, verdict_table

    paper = claim(id="P", where={"round": 1})
    own = claim(id="S", kind="lthbench", source="lthbench sanity check", where={"round": 1})
    values = {(s, 0, None): 0.0 for s in range(3)}
    values |= {(0, 1, None): 0.5, (1, 1, None): 1.5, (2, 1, None): -0.4}
    entry = entry_with([paper, own])
    verdicts = check_entries([entry], {entry.id: records(values)})
    assert verdict_counts(verdicts) == (
        "paper claims: 1 inconclusive (1 stable) · lthbench checks: 0/1 reproduced, 1 inconclusive"
    )
    table = verdict_table(verdicts)
    assert "seeds needed" in table and f"| {verdicts[0].seeds_needed} " in table


def test_a_verdict_reads_one_devices_seeds_unless_asked_to_mix() -> None:
    """Seeds 0–2 on the CPU, 3 and 4 on a GPU, and seed 5 whose ticket ran on the GPU but its
    dense reference on the CPU: the verdict reads the CPU's three seeds and names the rest;
    --mix-devices reads all six and says they are mixed."""
    claims = claim(where={"round": 1})
    experiment = entry_with([claims], seeds=list(range(6)))
    rows = records({(s, r, None): 0.9 + 0.01 * r + 0.001 * s for s in range(6) for r in (0, 1)})
    for row in rows:
        if row["seed"] in (3, 4) or (row["seed"] == 5 and row["round"] == 1):
            row["device"] = "cuda:0"
        else:
            row["device"] = "cpu"
    parsed = Claim.model_validate(claims)
    one = evaluate(experiment, parsed, rows, {})
    assert one.seeds == 3
    assert one.results_from == "cpu; seed(s) 3, 4, 5 on cuda:0 left out (--mix-devices reads them)"
    mixed = evaluate(experiment, parsed, rows, {}, mix_devices=True)
    assert mixed.seeds == 6 and mixed.results_from == "mixed: cpu, cuda:0"
    gpu_only = [r for r in rows if r["seed"] in (3, 4)]
    assert evaluate(experiment, parsed, gpu_only, {}).results_from == "cuda:0"


def test_two_gpu_models_are_two_devices_and_a_bare_device_joins_its_one_model() -> None:
    """``cuda:0`` on an A100 and on an H100 round differently: a verdict reads one model.
    A result stored before models were recorded (bare ``cpu``) is read as the one CPU model
    the others name, as a bare label always meant; beside two models it stays apart."""
    claims = claim(where={"round": 1})
    experiment = entry_with([claims], seeds=list(range(6)))
    parsed = Claim.model_validate(claims)
    rows = records({(s, r, None): 0.9 + 0.01 * r + 0.001 * s for s in range(6) for r in (0, 1)})
    for row in rows:
        row["device"] = "cuda:0"
        row["device_model"] = "NVIDIA A100" if row["seed"] < 4 else "NVIDIA H100"
    one = evaluate(experiment, parsed, rows, {})
    assert one.seeds == 4 and one.results_from == (
        "cuda:0 (NVIDIA A100); seed(s) 4, 5 on cuda:0 (NVIDIA H100) left out "
        "(--mix-devices reads them)"
    )
    for row in rows:
        row["device"] = "cpu"
        row["device_model"] = "AMD EPYC" if row["seed"] % 2 else None
    assert evaluate(experiment, parsed, rows, {}).results_from == "cpu (AMD EPYC)"
    assert evaluate(experiment, parsed, rows, {}).seeds == 6
    for row in rows:
        if row["seed"] == 2:
            row["device_model"] = "Intel Xeon"
    mixed = evaluate(experiment, parsed, rows, {})
    assert mixed.seeds == 3 and mixed.results_from.startswith("cpu (AMD EPYC); seed(s) 0, 2, 4")
