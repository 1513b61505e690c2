"""Training cost as a result: each method prices its records by RigL's convention, a ticket
costs its whole chain of rounds, and the accuracy-against-training-cost page puts every method
on one network and dataset side by side at matched density."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from lthbench.cli import main
from lthbench.methods import METHODS
from lthbench.methods.training_cost import forward_at, run_flops
from lthbench.runner.cost import stored_estimate
from lthbench.runner.resolve import load_experiment
from lthbench.store import RunStore
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
    assert (tmp_path / "pages" / "plots" / "training-cost-lenet-on-mnist1d.png").exists()
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
