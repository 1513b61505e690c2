"""Cost estimates before anything runs (lthbench/run/cost.py, ``lthbench plan``): counted by
hand on a tiny LeNet, added up from each method's plan, cached in the store and read by the
pages without building a model."""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable
from pathlib import Path

import pytest

from lthbench.cli import main
from lthbench.runner.cost import ASSUMED_TFLOPS, estimate_key, planned
from lthbench.runner.resolve import resolve_entry
from lthbench.spec.load import load_entry

HIDDEN = (40, 32, 16, 10)
"""mnist1d's 40 inputs, the tiny entry's hidden layers [32, 16], 10 classes."""


def _plan(path: Path, store: Path, capsys: pytest.CaptureFixture[str]) -> dict:
    capsys.readouterr()
    assert main(["plan", str(path), "--store", str(store), "--json"]) == 0
    (estimate,) = json.loads(capsys.readouterr().out)
    return estimate


def test_a_dense_estimate_is_the_hand_counted_step_times_steps_plus_evaluations(
    write_entry: Callable[..., Path], store: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """LeNet 40-32-16-10 at batch 100: a forward pass is 2·100·Σ(in·out) FLOPs, the backward
    pass as much again for the weights' gradients plus the input gradients of every layer but
    the first; each evaluation is 2·Σ(in·out) per example of validation and test."""
    path = write_entry()
    experiment = resolve_entry(load_entry(path))
    products = [a * b for a, b in itertools.pairwise(HIDDEN)]
    step = 2 * 100 * sum(products) * 2 + 2 * 100 * sum(products[1:])
    evaluations = 120 // 40 + 1  # at 0, 40, 80, 120
    examples = 200 + experiment.test_examples
    estimate = _plan(path, store, capsys)
    assert estimate["step_flops"] == step
    assert estimate["training_flops"] == step * 120 * 2  # two seeds
    assert estimate["evaluation_flops"] == 2 * sum(products) * examples * evaluations * 2
    assert (estimate["runs"], estimate["iterations"], estimate["at_most"]) == (2, 240, False)
    total = estimate["training_flops"] + estimate["evaluation_flops"]
    assert estimate["gpu_hours"] == pytest.approx(total / (ASSUMED_TFLOPS * 1e12) / 3600)


def test_a_lottery_plan_trains_every_round_from_its_rewind_point(
    write_entry: Callable[..., Path],
) -> None:
    path = write_entry({"method": {"name": "lottery", "params": {
        "rounds": 3, "prune_fraction": 0.5, "controls": ["random_reinit"],
        "reset": "20it"}}})  # fmt: skip
    plan = planned(resolve_entry(load_entry(path)))
    assert [(p.iterations, p.networks, p.at_most) for p in plan] == [
        (120, 1, False),
        (100, 6, False),
    ]


def test_an_early_bird_plan_is_an_upper_bound(write_entry: Callable[..., Path]) -> None:
    """The draw is unknown before the search, and slim networks are counted at dense cost."""
    from tests.test_early_bird import TINY_PARAMS, early_bird_entry

    experiment = resolve_entry(load_entry(write_entry(early_bird_entry(TINY_PARAMS))))
    plan = planned(experiment)
    assert plan[0].what == "dense" and not plan[0].at_most
    assert all(p.at_most for p in plan[2:])
    ratios = len(experiment.params.ratios)
    assert sum(p.networks for p in plan) == 2 + ratios * (1 + len(experiment.params.baselines))


def test_the_pages_read_a_cached_estimate_and_build_no_model(
    write_entry: Callable[..., Path], store: Path, tmp_path: Path,
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    import timm

    path = write_entry({"tier": "paper"})
    registry = ["--registry", str(path.parent), "--store", str(store)]
    assert main(["leaderboard", *registry, "--out", str(tmp_path / "before")]) == 0
    assert "have no cost estimate yet (tiny)" in capsys.readouterr().err
    assert "– (lthbench plan)" in (tmp_path / "before" / "index.md").read_text()
    estimate = _plan(path, store, capsys)

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("a read built a model")

    monkeypatch.setattr(timm, "create_model", refuse)
    assert main(["leaderboard", *registry, "--out", str(tmp_path / "after")]) == 0
    index = (tmp_path / "after" / "index.md").read_text()
    assert "## What the paper tier will cost" in index
    minutes = estimate["gpu_hours"] * 60
    assert f"{minutes:.2g} GPU-min" in index and "– (lthbench plan)" not in index
    # another budget is another computation: its estimate is not this one
    assert main(["leaderboard", *registry, "--budget", "0.5", "--out", str(tmp_path / "half"),
                 "--publish-reduced"]) == 0  # fmt: skip
    assert "– (lthbench plan)" in (tmp_path / "half" / "index.md").read_text()


def test_the_estimate_key_ignores_claims_and_prose_but_not_the_seeds(
    write_entry: Callable[..., Path],
) -> None:
    def key(overrides: dict) -> str:
        return estimate_key(resolve_entry(load_entry(write_entry(overrides))))

    plain = key({})
    assert key({"description": "reworded"}) == plain
    assert key({"seeds": [0, 1, 2]}) != plain
    assert key({"training": {"batch_size": 50}}) != plain


def test_a_throughput_that_is_not_positive_is_refused(
    write_entry: Callable[..., Path], store: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["plan", str(write_entry()), "--store", str(store), "--tflops", "0"]) == 2
    assert "--tflops: 0.0 is not a positive throughput" in capsys.readouterr().err
    assert not store.exists()
