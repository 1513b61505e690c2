"""Vectorised multi-run training agrees with the one-run loop (the reference) on every metric,
keeps each run's mask exact, and refuses what it cannot do the one-run loop's way."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import torch

from lthbench.prune.magnitude import random_mask_like
from lthbench.prune.mask import Mask, apply_mask, mask_hooks, prunable_weights
from lthbench.run import Context
from lthbench.runner.resolve import load_experiment
from lthbench.store import RunStore
from lthbench.train import TrainHooks, train
from lthbench.train.vectorised import not_vectorisable, train_many
from tests.conftest import tree

METRICS = ("train_loss", "train_accuracy", "val_loss", "val_accuracy", "test_loss",
           "test_accuracy", "lr", "iteration", "epoch")  # fmt: skip


BN_CNN = {"name": "mnist1d_cnn", "kwargs": {"hidden": None, "channels": 6}}
"""A BatchNorm CNN: its running statistics are stacked with the parameters."""


def _context(
    write_entry: Callable[..., Path], tmp_path: Path, model: dict[str, Any] | None = None,
    **training: Any,
) -> Context:  # fmt: skip
    overrides: dict[str, Any] = {"training": {"optimizer": "sgd", "lr": 0.05, "momentum": 0.9,
                                              "weight_decay": 1e-4, **training}}  # fmt: skip
    if model is not None:
        overrides["model"] = model
    entry = load_experiment(write_entry(overrides, name="tiny"))
    return Context(entry, 0, RunStore(tmp_path / "store"), tmp_path, progress=False)


def _masks(models: list[torch.nn.Module]) -> list[Mask | None]:
    """Run 0 dense, the others with their own random masks of about 20% density."""
    generator = torch.Generator().manual_seed(7)
    masks: list[Mask | None] = [None]
    for model in models[1:]:
        fifth = {
            name: (torch.arange(w.numel()) < w.numel() // 5).view_as(w)
            for name, w in prunable_weights(model).items()
        }
        mask = random_mask_like(fifth, generator)
        for keep in mask.values():  # every channel keeps a weight: BatchNorm would normalise
            keep.view(len(keep), -1)[:, 0] = True  # an all-zero channel's rounding noise
        masks.append(mask)
    return masks


WEIGHT_TOLERANCE = {"mlp": {"rtol": 1e-4, "atol": 1e-5}, "bn": {"rtol": 1e-3, "atol": 1e-3}}
"""Final weights after 120 steps: BatchNorm divides by a batch's spread, which amplifies the
last-bit differences of batched products more than an MLP does (the logged metrics still
agree within the tolerance of ``_close``)."""


def _close(a: float | None, b: float | None) -> bool:
    if a is None or b is None:
        return a is b
    return abs(a - b) <= 1e-5 + 1e-4 * abs(b)


@pytest.mark.parametrize(("optimizer", "model_spec"),
                         [("sgd", None), ("adam", None), ("sgd", BN_CNN), ("adam", BN_CNN)])  # fmt: skip
def test_many_runs_at_once_agree_with_one_run_at_a_time(
    optimizer: str,
    model_spec: dict[str, Any] | None,
    write_entry: Callable[..., Path],
    tmp_path: Path,
) -> None:
    extra = {"optimizer": "adam", "lr": 1e-3, "momentum": 0.0} if optimizer == "adam" else {}
    context = _context(write_entry, tmp_path, model_spec, milestones=["60it"], **extra)
    splits, hp = context.splits(), context.training
    seeds = [0, 1, 2]
    models = [context.build_model(seed) for seed in seeds]
    masks = _masks(models)
    for model, mask in zip(models, masks, strict=True):
        if mask is not None:
            apply_mask(model, mask)
    reference = []
    for model, mask, seed in zip(models, masks, seeds, strict=True):
        alone = copy.deepcopy(model)
        hooks = mask_hooks(alone, mask) if mask is not None else None
        reference.append((alone, train(alone, splits, hp, seed=seed, hooks=hooks)))
    hooks = [
        mask_hooks(m, mask) if mask is not None else None
        for m, mask in zip(models, masks, strict=True)
    ]
    together = train_many(models, splits, hp, seeds=seeds, hooks=hooks)

    for (alone, one), many, model in zip(reference, together, models, strict=True):
        assert len(one.log) == len(many.log) == 4
        for a, b in zip(many.log, one.log, strict=True):
            assert all(_close(a[k], b[k]) for k in METRICS), (a, b)
        assert all(_close(many.summary[k], one.summary[k]) for k in one.summary)
        final = dict(alone.state_dict())  # weights and BatchNorm running statistics
        tolerance = WEIGHT_TOLERANCE["bn" if model_spec else "mlp"]
        for name, value in model.state_dict().items():
            assert torch.allclose(value.double(), final[name].double(), **tolerance), name
    for model, mask in zip(models[1:], masks[1:], strict=True):
        weights = dict(model.named_parameters())
        assert mask is not None
        assert all(torch.all(weights[n][~keep] == 0) for n, keep in mask.items())
        assert all(torch.all(weights[n][keep] != 0) for n, keep in mask.items())
    # the runs are their own: different seeds and masks give different results
    assert len({many.log[-1]["val_loss"] for many in together}) == 3


def test_each_run_keeps_its_own_storage_and_hooks_see_their_run(
    write_entry: Callable[..., Path], tmp_path: Path
) -> None:
    context = _context(write_entry, tmp_path)
    splits, hp = context.splits(), context.training
    models = [context.build_model(seed) for seed in (0, 1)]
    seen: dict[int, list[float]] = {0: [], 1: []}

    def watcher(run: int) -> TrainHooks:
        def after_eval(iteration: int, model: torch.nn.Module) -> dict[str, Any]:
            seen[run].append(float(next(model.parameters()).detach().abs().sum()))
            return {"watched": run}

        return TrainHooks(after_eval=after_eval)

    results = train_many(models, splits, hp, seeds=[0, 1], hooks=[watcher(0), watcher(1)])
    assert [r.log[-1]["watched"] for r in results] == [0, 1]
    assert seen[0] != seen[1] and len(seen[0]) == 4
    first = next(models[0].parameters())
    assert seen[0][-1] == float(first.detach().abs().sum())
    first.data.zero_()  # storage is the run's own again: the other run is untouched
    assert float(next(models[1].parameters()).detach().abs().sum()) == seen[1][-1]


def test_what_cannot_be_vectorised_is_refused(
    write_entry: Callable[..., Path], tmp_path: Path
) -> None:
    context = _context(write_entry, tmp_path)
    splits, hp = context.splits(), context.training
    norm = torch.nn.Sequential(torch.nn.Linear(40, 8), torch.nn.BatchNorm1d(8))
    assert not_vectorisable(norm) is None
    assert "precision" in (not_vectorisable(norm, "int8") or "")
    dropout = torch.nn.Sequential(torch.nn.Linear(40, 8), torch.nn.Dropout(0.5))
    assert "dropout" in (not_vectorisable(dropout) or "")
    models = [context.build_model(0), context.build_model(1)]
    assert not_vectorisable(models[0]) is None
    with pytest.raises(ValueError, match="only before_step, after_step and after_eval"):
        train_many(models, splits, hp, seeds=[0, 1], hooks=[TrainHooks(stop=lambda i: True), None])
    with pytest.raises(ValueError, match="differ in architecture"):
        train_many([models[0], torch.nn.Linear(40, 10)], splits, hp, seeds=[0, 1])


def test_a_run_depends_on_its_group_only_where_convolutions_are_batched(
    write_entry: Callable[..., Path], tmp_path: Path
) -> None:
    """Why a vectorised run's identity names its group: batched linear layers compute each
    run's products alone (bit for bit the same in any group), but vmap batches convolutions
    as one grouped convolution, whose kernel, and so whose rounding, depends on the group."""

    def first_run(model: dict[str, Any] | None, group: list[int]) -> list[dict[str, Any]]:
        context = _context(write_entry, tmp_path, model, duration="40it")
        models = [context.build_model(seed) for seed in group]
        return train_many(models, context.splits(), context.training, seeds=group)[0].log

    assert first_run(None, [0, 1]) == first_run(None, [0, 3, 2]) == first_run(None, [0, 4, 5, 6])
    assert first_run(BN_CNN, [0]) != first_run(BN_CNN, [0, 1])


def test_a_group_rewound_to_step_k_trains_as_the_one_run_loop_from_k(
    write_entry: Callable[..., Path], tmp_path: Path
) -> None:
    context = _context(write_entry, tmp_path, BN_CNN, milestones=["60it"])
    splits, hp = context.splits(), context.training
    models = [context.build_model(seed) for seed in (0, 1)]
    alone = [copy.deepcopy(model) for model in models]
    together = train_many(models, splits, hp, seeds=[0, 1], start_iteration=40)
    for seed, model, many in zip((0, 1), alone, together, strict=True):
        one = train(model, splits, hp, seed=seed, start_iteration=40)
        assert (
            [r["iteration"] for r in many.log] == [r["iteration"] for r in one.log] == [40, 80, 120]
        )
        for a, b in zip(many.log, one.log, strict=True):
            assert all(_close(a[k], b[k]) for k in METRICS), (a, b)


def _lottery(vectorise: bool) -> dict[str, Any]:
    params = {"rounds": 2, "prune_fraction": 0.5, "controls": ["random_reinit", "random_prune"],
              "vectorise": vectorise}  # fmt: skip
    return {"method": {"name": "lottery", "params": params}, "seeds": [0],
            "training": {"duration": "60it", "eval_interval": "20it"}}  # fmt: skip


def test_a_vectorised_lottery_trains_each_round_with_its_controls_and_agrees(
    write_entry: Callable[..., Path], tmp_path: Path
) -> None:
    from lthbench.runner.jobs import Job, execute

    def run(vectorise: bool) -> tuple[list[dict[str, Any]], RunStore]:
        entry = load_experiment(write_entry(_lottery(vectorise), name="tiny"))
        store = RunStore(tmp_path / str(vectorise))
        return execute(Job(entry, 0), store, tmp_path, torch.device("cpu"), progress=False), store

    (reference, _one_store), (together, many_store) = run(False), run(True)
    assert len(reference) == len(together) == 7  # round 0, then a ticket and 2 controls × 2
    for one, many in zip(reference, together, strict=True):
        assert (one["round"], one.get("control")) == (many["round"], many.get("control"))
        assert one["density"] == many["density"]
        assert all(_close(many[k], one[k]) for k in ("final_test_loss", "min_val_loss",
                                                      "final_train_loss", "final_val_accuracy"))  # fmt: skip
        if many["round"] == 0:  # round 0 is one run: shared with the one-run path, untouched
            assert many["run_id"] == one["run_id"] and "vectorised_runs" not in many
        else:
            assert many["run_id"] != one["run_id"] and many["vectorised_runs"] == 3
            stored = many_store.find(many["run_id"])
            assert stored is not None
            final, mask = stored.state("final"), stored.mask()
            assert all(torch.all(final[n][~keep] == 0) for n, keep in mask.items())
    # a second call reads all of it from the store
    again, _ = run(True)
    assert [r["run_id"] for r in again] == [r["run_id"] for r in together]


def test_a_vectorised_group_names_its_runs_and_is_retrained_whole(
    write_entry: Callable[..., Path], tmp_path: Path
) -> None:
    """A rewound BatchNorm CNN's rounds, vectorised: the group joins the identity (another
    set of controls is another computation), and a group missing one run (killed while its
    results were written) is recomputed whole, so the missing run gets exactly the numbers its
    group gives, while the stored runs' files are not touched."""
    from lthbench.runner.jobs import Job, execute

    def entry(controls: list[str]) -> Any:
        data = _lottery(True)
        data["method"]["params"].update(controls=controls, reset="20it", rounds=1)
        data["model"] = BN_CNN
        return load_experiment(write_entry(data, name="tiny"))

    store = RunStore(tmp_path / "store")
    both = execute(Job(entry(["random_reinit", "random_prune"]), 0), store, tmp_path,
                   torch.device("cpu"), progress=False)  # fmt: skip
    one = execute(Job(entry(["random_reinit"]), 0), store, tmp_path, torch.device("cpu"),
                  progress=False)  # fmt: skip
    assert both[0]["run_id"] == one[0]["run_id"]  # round 0: one run, shared
    assert both[1]["run_id"] != one[1]["run_id"]  # the ticket: grouped with other controls
    prune = store.find(both[2 + 1]["run_id"])  # round 1's random_prune control
    assert prune is not None
    (prune.path / "result.json").unlink()
    ticket = store.find(both[1]["run_id"])
    assert ticket is not None
    before = tree(ticket.path)
    again = execute(Job(entry(["random_reinit", "random_prune"]), 0), store, tmp_path,
                    torch.device("cpu"), progress=False)  # fmt: skip
    assert tree(ticket.path) == before
    assert again[3]["final_test_loss"] == both[3]["final_test_loss"]
    assert again[3]["min_val_loss"] == both[3]["min_val_loss"]
