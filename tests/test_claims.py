"""Claims → verdicts (statistics over seeds), `check`, `leaderboard` and `reproduce`."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from lthbench.claims.check import evaluate, t_interval
from lthbench.cli import main
from lthbench.spec.entry import Claim, Entry
from tests.conftest import TINY_ENTRY, merge, tree


def entry_with(claims: list[dict[str, Any]], seeds: list[int] | None = None) -> Entry:
    data = merge(TINY_ENTRY, {"claims": claims, "seeds": seeds or [0, 1, 2]})
    data["method"] = {"name": "lottery", "params": {"rounds": 2, "prune_fraction": 0.5}}
    return Entry.model_validate(data)


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
        **fields,
    }


def test_t_interval_matches_the_textbook() -> None:
    mean, low, high = t_interval([1.0, 2.0, 3.0])
    assert mean == 2.0
    assert high - mean == pytest.approx(4.302653 * 1.0 / 3**0.5, rel=1e-5)
    assert mean - low == pytest.approx(high - mean)


def _verdict(claims: dict[str, Any], values: dict[tuple[int, int, str | None], float],
             siblings: dict[str, list[dict[str, Any]]] | None = None) -> Any:  # fmt: skip
    entry = entry_with([claims])
    return evaluate(entry, Claim.model_validate(claims), records(values), siblings or {})


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
    data = entry.model_dump()
    data["method"]["params"]["controls"] = ["random_reinit"]
    reinit = Claim.model_validate(claim(op=">", reference="random_reinit", where={"round": 1}))
    verdict = evaluate(Entry.model_validate(data), reinit, records(values), {})
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
                  "metric": "final_test_accuracy", "op": ">=", "reference": 0.999, "required": True}  # fmt: skip
    learns = {"id": "LEARNS", "statement": "above chance", "metric": "final_test_accuracy",
              "op": ">", "reference": 0.1}  # fmt: skip
    path = write_entry({"claims": [impossible, learns]})
    assert main(["check", str(path), "--store", str(store)]) == 1  # results missing
    capsys.readouterr()
    assert main(["run", str(path), "--store", str(store), "--quiet"]) == 0
    capsys.readouterr()
    assert main(["check", str(path), "--store", str(store), "--json"]) == 1
    verdicts = {v["claim_id"]: v for v in json.loads(capsys.readouterr().out)}
    for verdict in verdicts.values():
        assert {"entry_id", "statement", "verdict", "mean", "ci_low", "ci_high", "seeds"} <= set(
            verdict
        )
    assert verdicts["IMPOSSIBLE"]["verdict"] == "refuted" and verdicts["IMPOSSIBLE"]["seeds"] == 2
    assert verdicts["LEARNS"]["verdict"] == "reproduced"


def test_leaderboard_is_byte_identical_and_reproduce_runs_the_suite(
    write_entry: Callable[..., Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store, out = tmp_path / "store", tmp_path / "boards"
    dense_claim = {"id": "D", "statement": "above chance", "metric": "final_test_accuracy",
                   "op": ">", "reference": 0.1, "required": True}  # fmt: skip
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
