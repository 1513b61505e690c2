"""The instability method (lthbench/methods/instability/): copies from θ_k, the path between
them, the barrier; run end to end on the tiny entry."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import torch

from lthbench.cli import main
from lthbench.methods import METHODS
from lthbench.methods.instability.identity import copy_run, parent_extra, ticket_extra
from lthbench.methods.instability.train import barrier, interpolate
from lthbench.run import SeedResults
from lthbench.runner.resolve import resolve_entry
from lthbench.spec.load import load_entry
from lthbench.store import RunStore


def instability_entry(**params: Any) -> dict[str, Any]:
    stable = {"id": "STABLE", "statement": "stable at k = 0", "metric": "test_barrier",
              "op": "<=", "reference": 0.02, "where": {"round": 0}, "kind": "lthbench"}  # fmt: skip
    return {
        "method": {"name": "instability",
                   "params": {"rewind_points": ["0it", "40it"], "points": 5, **params}},
        "seeds": [0, 1],
        "claims": [stable],
    }  # fmt: skip


def test_the_path_starts_and_ends_at_the_copies_and_identical_copies_have_no_barrier() -> None:
    torch.manual_seed(0)
    a = {"w": torch.randn(50), "n": torch.tensor(3)}
    b = {"w": torch.randn(50), "n": torch.tensor(7)}
    assert torch.equal(interpolate(a, b, 0.0)["w"], a["w"])
    assert torch.equal(interpolate(a, b, 1.0)["w"], b["w"])
    assert interpolate(a, b, 0.25)["n"] == 3 and interpolate(a, b, 0.75)["n"] == 7
    for alpha in (0.1, 0.5, 0.9):
        assert torch.equal(interpolate(a, a, alpha)["w"], a["w"])
    assert barrier([0.1, 0.1, 0.1]) == 0.0
    assert barrier([0.1, 0.3, 0.2]) == pytest.approx(0.15)


def test_copies_start_from_theta_k_and_the_path_reproduces_their_errors(
    write_entry: Callable[..., Path], store: Path, tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    path = write_entry(instability_entry(), name="tiny-lmc")
    flags = ["--store", str(store), "--registry", str(path.parent)]
    assert main(["run", "tiny-lmc", *flags, "--quiet"]) == 0
    capsys.readouterr()
    experiment = resolve_entry(load_entry(path))
    params = experiment.params
    for seed in (0, 1):
        results = SeedResults(experiment, seed, RunStore(store))
        parent = results.run_for(parent_extra(params))
        for k, start in (("0it", parent.state("init")), ("40it", parent.state("rewind", "40it"))):
            first, second = (copy_run(results, k, c) for c in (1, 2))
            for copy in (first, second):  # each copy starts from θ_k of this seed
                assert all(torch.equal(copy.state("init")[n], v) for n, v in start.items())
            finals = first.state("final"), second.state("final")
            assert any(not torch.equal(finals[0][n], finals[1][n]) for n in finals[0])
            figures = second.figures(f"instability-path-{params.points}")
            errors = figures["test_error"]
            assert errors[0] == 1 - first.result()["final_test_accuracy"]
            assert errors[-1] == 1 - second.result()["final_test_accuracy"]
            assert figures["test_barrier"] == barrier(errors) >= 0
    assert main(["show", "tiny-lmc", *flags, "--json"]) == 0
    records = json.loads(capsys.readouterr().out)
    assert sorted((r["seed"], r["round"]) for r in records) == [(0, 0), (0, 1), (1, 0), (1, 1)]
    assert main(["check", "tiny-lmc", *flags, "--json"]) in (0, 1)
    (verdict,) = json.loads(capsys.readouterr().out)
    assert verdict["seeds"] == 2 and verdict["verdict"] != "missing"
    out = tmp_path / "pages"
    assert main(["leaderboard", *flags, "--out", str(out)]) == 0
    assert "test barrier (pp)" in (out / "instability.md").read_text()
    assert (out / "plots" / "tiny-lmc.png").stat().st_size > 0


def test_rewind_points_after_the_end_or_out_of_order_are_refused(
    write_entry: Callable[..., Path], capsys: pytest.CaptureFixture[str]
) -> None:
    for points, message in ((["0it", "200it"], "is not before the end"),
                            (["40it", "0it"], "earliest first")):  # fmt: skip
        path = write_entry(instability_entry(rewind_points=points), name="bad")
        assert main(["validate", str(path)]) == 2
        assert message in capsys.readouterr().err


def test_an_imp_tickets_copies_hold_its_mask_and_share_the_lottery_entrys_runs(
    write_entry: Callable[..., Path], store: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The ticket's chain is the lottery method's: a lottery entry with the same settings
    trained first leaves nothing for it to retrain; the copies start from θ_k with the
    ticket's mask, which holds exactly to their end."""
    chain = {"rounds": 2, "prune_fraction": 0.5}
    write_entry({"method": {"name": "lottery", "params": chain}, "seeds": [0]}, name="lot")
    path = write_entry({**instability_entry(ticket={"lottery": chain, "round": 2}),
                        "seeds": [0]}, name="lmc")  # fmt: skip
    flags = ["--store", str(store), "--registry", str(path.parent)]
    assert main(["run", "lot", *flags, "--quiet"]) == 0
    lottery_runs = {p.name for p in (store / "runs").iterdir()}
    assert main(["run", "lmc", *flags, "--quiet"]) == 0
    experiment = resolve_entry(load_entry(path))
    params = experiment.params
    results = SeedResults(experiment, 0, RunStore(store))
    ticket = results.run_for(ticket_extra(params))
    assert ticket.id in lottery_runs and ticket.mask() is not None
    chain_runs = {r.id for r in METHODS["lottery"].plan(results, params.ticket.lottery)}
    assert chain_runs <= lottery_runs  # read, not retrained
    mask = ticket.mask()
    for k in ("0it", "40it"):
        for copy in (1, 2):
            run = copy_run(results, k, copy, "ticket")
            init, final = run.state("init"), run.state("final")
            for name, keep in mask.items():
                assert not init[name][~keep].any() and not final[name][~keep].any()
    capsys.readouterr()
    assert main(["show", "lmc", *flags, "--json"]) == 0
    records = json.loads(capsys.readouterr().out)
    tickets = [r for r in records if r["control"] == "ticket"]
    assert len(tickets) == 2 and all(r["density"] == pytest.approx(0.25, abs=0.01) for r in tickets)
