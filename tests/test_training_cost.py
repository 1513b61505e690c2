"""Training cost as a result: each method prices its records by RigL's convention, a ticket
costs its whole chain of rounds, and the accuracy-against-training-cost page puts every method
on one network and dataset side by side at matched density."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from lthbench.claims.select import read_at
from lthbench.cli import main
from lthbench.methods import METHODS
from lthbench.methods.training_cost import forward_at, run_flops
from lthbench.report.training_cost import shared_dense
from lthbench.runner.cost import flops_label, stored_estimate
from lthbench.runner.jobs import collect
from lthbench.runner.resolve import load_experiment
from lthbench.spec.density import stands_for
from lthbench.store import RunStore
from tests.test_early_bird import early_bird_entry
from tests.test_gradual import gradual_entry
from tests.test_sparse_training import sparse_entry

# the tiny LeNet's forward FLOPs per example: 2·40·32, 2·32·16, 2·16·10
FORWARD = {"": 2560 + 1024 + 320, "hidden.0": 2560, "hidden.1": 1024, "fc": 320}


def test_a_sparse_forward_counts_each_layer_at_its_density() -> None:
    half = {"hidden.0.weight": 0.5, "hidden.1.weight": 0.25, "hidden.0.bias": 0.0}
    assert forward_at(FORWARD, half) == 3904 - 0.5 * 2560 - 0.75 * 1024  # biases cost nothing
    assert run_flops(FORWARD, None, 10, 100) == 3 * 3904 * 100 * 10


def test_every_method_meets_on_the_cost_page_and_a_ticket_costs_its_chain(
    write_entry: Callable[..., Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_entry({"method": {"name": "lottery", "params": {"rounds": 2, "prune_fraction": 0.5}},
                 "seeds": [0]}, name="tiny-lottery")  # fmt: skip
    write_entry({**gradual_entry(densities=[0.5, 0.25], end="60it"), "seeds": [0]},
                name="tiny-gmp")  # fmt: skip
    # three times the steps: its cost lies inside the ticket chain's, where the claim reads it
    at_cost = {"id": "C-flops", "statement": "s", "metric": "final_test_accuracy", "op": ">=",
               "reference": "entry:tiny-lottery", "matched_by": "training_flops",
               "where": {"density": 0.25}, "kind": "lthbench", "source": "tests"}  # fmt: skip
    write_entry({**gradual_entry(densities=[0.5, 0.25], end="60it"), "seeds": [0],
                 "training": {"duration": "360it", "eval_interval": "20it"},
                 "claims": [at_cost]}, name="tiny-gmp-3x")  # fmt: skip
    registry = write_entry({**sparse_entry(densities=[0.5, 0.25], baselines=["static"]),
                            "seeds": [0]}, name="tiny-rigl").parent  # fmt: skip
    store = ["--registry", str(registry), "--store", str(tmp_path / "store")]
    assert main(["reproduce", *store, "--out", str(tmp_path / "pages"), "--quiet"]) == 0
    capsys.readouterr()
    page = (tmp_path / "pages" / "training-cost.md").read_text()
    assert (
        "[Accuracy against training cost](training-cost.md)"
        in (tmp_path / "pages" / "index.md").read_text()
    )
    for result in ("tiny-lottery", "tiny-gmp", "tiny-rigl", "tiny-rigl static"):
        assert f"| {result} " in page
    assert "## lenet (hidden [32, 16]) on mnist1d (validation_size 200)" in page
    plot = "training-cost-lenet-hidden-32-16-on-mnist1d-validation_size-200.png"
    assert (tmp_path / "pages" / "plots" / plot).exists()
    # round 2's ticket costs round 0 (dense), round 1 (half) and itself (a quarter)
    entry = load_experiment(registry / "tiny-lottery.yaml")
    assert main(["show", "tiny-lottery", *store, "--json"]) == 0
    records = json.loads(capsys.readouterr().out)
    estimate = stored_estimate(entry, RunStore(tmp_path / "store"))
    assert estimate is not None and estimate.forward_flops == FORWARD
    costs = METHODS["lottery"].training_flops(entry, records, FORWARD)
    per_step = 3 * 100 * 120
    by_hand = [per_step * 3904, per_step * (3904 + 2112), per_step * (3904 + 2112 + 1216)]
    assert costs == pytest.approx(by_hand)
    # the records claims and pages read carry that price (read through the store's estimate)
    read = collect([entry], RunStore(tmp_path / "store"))["tiny-lottery"]
    assert [r["training_flops"] for r in read] == pytest.approx(by_hand)
    assert [r["inference_flops"] for r in read] == pytest.approx([3904, 2112, 1216])
    assert f"| {flops_label(by_hand[2])} " in page
    # a claim at equal training FLOPs reads the ticket chain interpolated at its cost
    gmp = collect([load_experiment(registry / "tiny-gmp-3x.yaml")],
                  RunStore(tmp_path / "store"))  # fmt: skip
    cost = next(r["training_flops"] for r in gmp["tiny-gmp-3x"] if r.get("round") == 2)
    assert by_hand[0] < cost < by_hand[2]
    expected = read_at(read, "training_flops", cost, ("final_test_accuracy",))
    assert expected is not None and expected["interpolated"]
    assert main(["check", "tiny-gmp-3x", *store, "--json"]) in (0, 1)
    verdict = next(v for v in json.loads(capsys.readouterr().out) if v["claim_id"] == "C-flops")
    assert verdict["seeds"] == 1
    assert verdict["reference_mean"] == pytest.approx(expected["final_test_accuracy"])


def test_early_birds_slim_networks_meet_unstructured_ones_at_their_parameter_share(
    write_entry: Callable[..., Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Early-Bird's slim networks stand at their share of the dense parameters; gradual
    pruning on the same network and training meets them there, each at its own cost."""
    eb = early_bird_entry({"ratios": [0.5], "window": 2, "epsilon": 0.5})
    write_entry(eb, name="tiny-eb")
    gmp = gradual_entry(densities=[0.5], start="1ep", end="3ep", frequency="1ep",
                        include_output=True)  # fmt: skip
    small_dense = {"id": "G", "statement": "s", "metric": "final_test_accuracy", "op": ">",
                   "reference": "entry:tiny-eb", "where": {"density": 0.5},
                   "reference_where": {"ratio": 0.5, "control": "scratch"},
                   "kind": "lthbench", "source": "tests"}  # fmt: skip
    registry = write_entry({**gmp, "model": eb["model"], "training": eb["training"],
                            "claims": [small_dense]}, name="tiny-cnn-gmp").parent  # fmt: skip
    store = ["--registry", str(registry), "--store", str(tmp_path / "store")]
    assert main(["reproduce", *store, "--out", str(tmp_path / "pages"), "--quiet"]) == 0
    capsys.readouterr()
    records = collect([load_experiment(registry / "tiny-eb.yaml")],
                      RunStore(tmp_path / "store"))["tiny-eb"]  # fmt: skip
    dense = next(r for r in records if r["phase"] == "dense")
    ticket = next(r for r in records if r["phase"] == "eb_train")
    assert ticket["parameter_density"] == ticket["parameters"] / dense["parameters"]
    assert stands_for(ticket["parameter_density"], 0.5)  # GMP's density
    page = (tmp_path / "pages" / "training-cost.md").read_text()
    row = next(line for line in page.splitlines() if "| tiny-eb p = 50% " in line)
    assert f"| {flops_label(ticket['training_flops'])} " in row
    assert "| tiny-cnn-gmp " in page
    # its page renders with a sibling that is no density curve, and the claim reads the
    # small-dense network the sibling trained from scratch
    scratch = next(r for r in records if r.get("control") == "scratch")
    assert main(["check", "tiny-cnn-gmp", *store, "--json"]) in (0, 1)
    verdict = json.loads(capsys.readouterr().out)[0]
    assert verdict["reference_mean"] == pytest.approx(scratch["final_test_accuracy"])
    assert "### tiny-cnn-gmp" in (tmp_path / "pages" / "gradual.md").read_text()


def test_entries_that_share_dense_runs_share_one_dense_point() -> None:
    """An entry whose dense runs are among another's (the same network, fewer seeds) is drawn
    at that entry's point; different runs keep their own."""

    def point(entry: str, runs: list[str]) -> dict[str, Any]:
        return {"entry": entry, "records": [{"run_id": r} for r in runs]}

    shared = shared_dense([point("rigl", ["a", "b"]), point("eb", ["a", "b", "c"]),
                           point("gmp", ["a", "b"]), point("other", ["d"])])  # fmt: skip
    assert sorted(p["label"] for p in shared) == ["dense: eb, gmp, rigl", "dense: other"]
    assert next(p for p in shared if "eb" in p["label"])["entry"] == "eb"  # the most seeds
