"""The pai method (lthbench/methods/pai/): pruning at initialisation and its ablations, run end
to end on the tiny entry; the masks checked directly in the store."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import torch

from lthbench.cli import main
from lthbench.methods.pai.identity import pruned_extra
from lthbench.models import create_model
from lthbench.runner.resolve import resolve_entry
from lthbench.spec.load import load_entry
from lthbench.store import RunStore

CONTROLS = ["shuffle", "reinit", "invert", "random"]


def pai_entry(criterion: str = "snip", **params: Any) -> dict[str, Any]:
    """The tiny entry as a pai entry; a param given as None is left out."""
    claims = [
        {"id": "SHUFFLE", "statement": "shuffling the layer-wise mask does not hurt",
         "metric": "final_test_accuracy", "op": "<=", "reference": "shuffle", "tolerance": 0.5,
         "where": {"density": 0.2}, "kind": "lthbench"},
    ]  # fmt: skip
    given = {
        "criterion": criterion,
        "densities": [0.5, 0.2],
        "score_examples": 50,
        "controls": CONTROLS,
        **params,
    }
    return {
        "method": {"name": "pai", "params": {k: v for k, v in given.items() if v is not None}},
        "claims": claims,
    }  # fmt: skip


@pytest.fixture
def trained(write_entry: Callable[..., Path], store: Path, capsys: pytest.CaptureFixture[str]):
    path = write_entry(pai_entry(), name="tiny-pai")
    flags = ["--store", str(store), "--registry", str(path.parent)]
    assert main(["run", "tiny-pai", *flags, "--quiet"]) == 0
    capsys.readouterr()
    return path, flags


def _runs(path: Path, store: Path, seed: int) -> dict[tuple[float, str | None], Any]:
    """The seed's pruned runs by (target density, control)."""
    experiment = resolve_entry(load_entry(path))
    from lthbench.run import SeedResults

    params = experiment.params
    results = SeedResults(experiment, seed, RunStore(store))
    return {(d, c): results.run_for(pruned_extra(params, d, c))
            for d in params.densities for c in (None, *params.controls)}  # fmt: skip


def test_every_network_is_pruned_at_init_and_every_ablation_keeps_its_promise(
    trained: tuple[Path, list[str]], store: Path
) -> None:
    path, _ = trained
    experiment = resolve_entry(load_entry(path))
    for seed in (0, 1):
        runs = _runs(path, store, seed)
        torch.manual_seed(seed)
        info = experiment.data
        theta0 = create_model(experiment.model, info.num_classes, info.input_size).state_dict()
        for target in (0.5, 0.2):
            ticket = runs[(target, None)].mask()
            prunable = sum(m.numel() for m in ticket.values())
            assert sum(int(m.sum()) for m in ticket.values()) == round(target * prunable)
            for control, run in ((c, runs[(target, c)]) for c in (None, *CONTROLS)):
                mask, init, final = run.mask(), run.state("init"), run.state("final")
                for name, keep in mask.items():  # the mask holds exactly through training
                    assert not final[name][~keep].any()
                    expected = theta0[name] if control != "reinit" else None
                    if expected is not None:  # trained from θ0, masked
                        assert torch.equal(init[name], expected * keep)
                if control == "shuffle":  # every layer keeps exactly its count, elsewhere
                    assert {n: int(m.sum()) for n, m in mask.items()} == {
                        n: int(m.sum()) for n, m in ticket.items()}  # fmt: skip
                    assert any(not torch.equal(mask[n], ticket[n]) for n in mask)
                if control == "reinit":  # the ticket's mask on another initialisation
                    assert all(torch.equal(mask[n], ticket[n]) for n in mask)
                    assert not torch.equal(init[next(iter(mask))], theta0[next(iter(mask))])
                if control == "invert":  # the lowest scores kept: no weight in common at ≤ 50%
                    assert sum(int((mask[n] & ticket[n]).sum()) for n in mask) == 0


def test_records_claims_and_the_page(
    trained: tuple[Path, list[str]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _, flags = trained
    assert main(["show", "tiny-pai", *flags, "--json"]) == 0
    records = json.loads(capsys.readouterr().out)
    assert len(records) == 2 * (1 + 2 * (1 + len(CONTROLS)))
    assert {(r["round"], r["control"]) for r in records if r["seed"] == 0} == {
        (0, None), *((r, c) for r in (1, 2) for c in (None, *CONTROLS))}  # fmt: skip
    assert all(abs(r["density"] - r["target_density"]) < 0.01 for r in records)
    assert main(["check", "tiny-pai", *flags, "--json"]) in (0, 1)
    (verdict,) = json.loads(capsys.readouterr().out)
    assert verdict["seeds"] == 2 and verdict["verdict"] != "missing"
    out = tmp_path / "pages"
    assert main(["leaderboard", *flags, "--out", str(out)]) == 0
    page = (out / "pai.md").read_text()
    assert "### tiny-pai" in page and "shuffle acc. (%)" in page
    assert (out / "plots" / "tiny-pai.png").stat().st_size > 0


def test_data_free_synflow_runs_and_bad_params_are_refused(
    write_entry: Callable[..., Path], store: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_entry(pai_entry("synflow", controls=["shuffle"], densities=[0.1]), name="syn")
    flags = ["--store", str(store), "--registry", str(path.parent), "--set", "seeds=[0]"]
    assert main(["run", "syn", *flags, "--quiet"]) == 0
    bad = [
        ({"densities": [0.2, 0.5]}, "largest first"),
        ({"criterion": "snipp"}, "criterion 'snipp' is unknown"),
        ({"controls": ["flip"]}, "controls"),
        ({"score_examples_per_class": 5}, "not both"),  # beside the tiny entry's 50
    ]
    for params, message in bad:
        write_entry(pai_entry(**params), name="bad")
        capsys.readouterr()
        assert main(["validate", str(path.parent / "bad.yaml")]) == 2
        assert message in capsys.readouterr().err
    claim = pai_entry()["claims"][0] | {"where": {"ratio": 0.5}}
    write_entry(pai_entry() | {"claims": [claim]}, name="bad")
    assert main(["validate", str(path.parent / "bad.yaml")]) == 2
    assert "claims[0].where.ratio: not a field of method 'pai''s records (PaiRecord)" in (
        capsys.readouterr().err
    )


def test_entries_differing_only_in_the_criterion_share_their_random_runs(
    write_entry: Callable[..., Path],
) -> None:
    experiments = [resolve_entry(load_entry(write_entry(pai_entry(c, **scoring), name=c)))
                   for c, scoring in (("snip", {}), ("grasp", {"score_examples": None,
                                      "score_examples_per_class": 3}))]  # fmt: skip
    ids = [{c: RunStore("unused").run({"x": pruned_extra(e.params, 0.2, c)}).id
            for c in (None, *CONTROLS)} for e in experiments]  # fmt: skip
    assert ids[0]["random"] == ids[1]["random"]
    assert all(ids[0][c] != ids[1][c] for c in (None, "shuffle", "reinit", "invert"))


def test_a_class_balanced_scoring_batch_takes_the_first_of_each_class_in_the_seeds_order(
    write_entry: Callable[..., Path], tmp_path: Path
) -> None:
    """``score_examples_per_class`` k: k examples of every class, each the first of its class
    in the seed's order of the training set (GraSP's fetch); the plain draw is that order's
    first ``score_examples``, so the balanced batch is its per-class subsequence."""
    from lthbench.methods.pai.train import scoring_batch
    from lthbench.run import Context

    params = {"score_examples": None, "score_examples_per_class": 3}
    experiment = resolve_entry(load_entry(write_entry(pai_entry("grasp", **params), name="g")))
    context = Context(experiment, 0, RunStore(tmp_path / "s"), tmp_path, progress=False)
    x, y = scoring_batch(context, experiment.params)
    classes = experiment.data.num_classes
    assert len(y) == 3 * classes and torch.bincount(y, minlength=classes).tolist() == [3] * classes
    everything = experiment.params.model_copy(
        update={"score_examples_per_class": None, "score_examples": len(context.splits().train)}
    )
    all_x, all_y = scoring_batch(context, everything)
    firsts = [i for i in range(len(all_y)) if int((all_y[: i + 1] == all_y[i]).sum()) <= 3]
    assert torch.equal(all_y[firsts[: len(y)]], y) and torch.equal(all_x[firsts[: len(y)]], x)


def test_a_bundle_carries_the_figures_pai_records_are_read_from(
    trained: tuple[Path, list[str]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A pruned run's records come from its cached mask figures (``pai-mask.json``, not a
    ``figures-*`` name): exported and imported into an empty store, the verdict is the same,
    not 'missing'."""
    path, flags = trained
    assert main(["check", "tiny-pai", *flags, "--json"]) in (0, 1)
    before = json.loads(capsys.readouterr().out)
    bundle = tmp_path / "pai.zip"
    assert main(["export", "tiny-pai", *flags, "--out", str(bundle)]) == 0
    empty = ["--store", str(tmp_path / "empty"), "--registry", str(path.parent)]
    assert main(["import", str(bundle), *empty]) == 0
    capsys.readouterr()
    assert main(["check", "tiny-pai", *empty, "--json"]) in (0, 1)
    after = json.loads(capsys.readouterr().out)
    assert [v["verdict"] for v in after] == [v["verdict"] for v in before] != ["missing"]
    assert [v["mean"] for v in after] == [v["mean"] for v in before]


def test_the_pai_page_reads_a_sibling_where_the_claims_do() -> None:
    """Seed by seed at the pruned network's own density: the round there, else interpolated
    in log density between the two around it (as claims/select.at_density), none outside."""
    from lthbench.report.pai import _sibling_at

    sibling = [{"seed": s, "round": r, "control": None, "density": d, "final_test_accuracy": a}
               for s in (0, 1) for r, d, a in ((1, 0.5, 0.9), (2, 0.125, 0.7))]  # fmt: skip
    group = [{"seed": 0, "density": 0.25}, {"seed": 1, "density": 0.5}, {"seed": 1, "density": 0.1}]
    read = _sibling_at(sibling, group)
    assert [r["final_test_accuracy"] for r in read] == pytest.approx([0.9 - 0.2 / 2, 0.9])
