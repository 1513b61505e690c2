"""Winning tickets: masks hold exactly, resets restore θ0 / θ_k exactly, densities follow the
schedule, controls start from stored masks, and rounds are cached and resumable units."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import torch
from torch import nn

from lthbench.cli import main
from lthbench.methods import METHODS
from lthbench.methods.lottery import LotteryParams
from lthbench.methods.lottery.identity import dense_extra, round_extra
from lthbench.methods.lottery.train import Chain
from lthbench.models import create_model
from lthbench.prune.magnitude import prune_global, prune_layerwise, random_mask_like
from lthbench.prune.mask import (
    MaskViolation,
    apply_mask,
    density,
    full_mask,
    mask_hooks,
    prunable_weights,
)
from lthbench.run import Context
from lthbench.runner.jobs import Job, execute
from lthbench.runner.resolve import load_experiment
from lthbench.spec.entry import ModelSpec
from lthbench.store import RunStore
from lthbench.train import TrainHooks

CPU = torch.device("cpu")
NO_ROOT = Path("/nonexistent")


def lottery(params: dict[str, Any], **training: Any) -> dict[str, Any]:
    return {
        "method": {"name": "lottery", "params": params},
        "seeds": [0],
        "training": {"duration": "60it", "eval_interval": "20it", **training},
    }


def run_entry(path: Path, store: Path) -> list[dict[str, Any]]:
    return execute(Job(load_experiment(path), 0), RunStore(store), NO_ROOT, CPU, progress=False)


def context_for(path: Path, store: Path, **kwargs: Any) -> Context:
    return Context(load_experiment(path), 0, RunStore(store), NO_ROOT, CPU, False, **kwargs)


# -- pruning rules ------------------------------------------------------------------------


def test_layerwise_removes_the_smallest_survivors() -> None:
    weights = {"a": torch.tensor([[0.5, -0.1, 0.3], [-0.9, 0.2, 0.0]])}
    mask = {"a": torch.tensor([[True, True, True], [True, True, False]])}
    pruned = prune_layerwise(weights, mask, {"a": 0.4})  # 5 survivors → remove 2: -0.1, 0.2
    assert pruned["a"].tolist() == [[True, False, True], [True, False, False]]


def test_global_uses_one_threshold_across_layers() -> None:
    weights = {"a": torch.tensor([1.0, 2.0, 3.0, 4.0]), "b": torch.tensor([0.5, 5.0])}
    pruned = prune_global(
        weights, {k: torch.ones_like(v, dtype=torch.bool) for k, v in weights.items()}, 0.5
    )
    assert pruned["a"].tolist() == [False, False, True, True]
    assert pruned["b"].tolist() == [False, True]


def test_ties_are_broken_by_position() -> None:
    weights = {"a": torch.zeros(10)}
    pruned = prune_layerwise(weights, {"a": torch.ones(10, dtype=torch.bool)}, {"a": 0.3})
    assert pruned["a"].tolist() == [False] * 3 + [True] * 7


def test_random_mask_keeps_per_layer_counts() -> None:
    mask = {"a": torch.rand(30, 20) > 0.7, "b": torch.rand(50) > 0.2}
    random = random_mask_like(mask, torch.Generator().manual_seed(0))
    assert {k: int(v.sum()) for k, v in random.items()} == {
        k: int(v.sum()) for k, v in mask.items()
    }
    assert not torch.equal(random["a"], mask["a"])


def test_prunable_weights_skip_biases_norms_and_output() -> None:
    model = create_model(ModelSpec(name="cifar_resnet20"), 10, (3, 32, 32))
    names = prunable_weights(model)
    assert all(n.endswith(".weight") for n in names)
    assert "fc.weight" not in names and not any("bn" in n for n in names)
    assert "fc.weight" in prunable_weights(model, include_output=True)
    assert not any("shortcut" in n for n in prunable_weights(model, exclude=["*shortcut*"]))


# -- masks hold exactly -------------------------------------------------------------------


@pytest.mark.parametrize(
    "optimizer",
    [
        lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9, weight_decay=1e-2, nesterov=True),
        lambda p: torch.optim.Adam(p, lr=1e-2, weight_decay=1e-2),
        lambda p: torch.optim.AdamW(p, lr=1e-2, weight_decay=1e-1),
        lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9, weight_decay=1e-2, fused=True),
        lambda p: torch.optim.Adam(p, lr=1e-2, weight_decay=1e-2, fused=True),
    ],
    ids=["sgd-momentum-wd", "adam-wd", "adamw", "fused-sgd", "fused-adam"],
)
def test_mask_holds_exactly_through_training(
    optimizer: Callable[..., torch.optim.Optimizer],
) -> None:
    torch.manual_seed(0)
    model = create_model(ModelSpec(name="lenet", kwargs={"hidden": [64, 32]}), 10, (1, 40))
    weights = prunable_weights(model, include_output=True)
    mask = random_mask_like(full_mask(weights), torch.Generator().manual_seed(1))
    mask = {
        k: torch.rand(v.shape, generator=torch.Generator().manual_seed(2)) > 0.8
        for k, v in mask.items()
    }
    apply_mask(model, mask)
    hooks = mask_hooks(model, mask)
    opt = optimizer(model.parameters())
    for step in range(30):
        x, y = torch.randn(16, 1, 40), torch.randint(0, 10, (16,))
        opt.zero_grad()
        nn.functional.cross_entropy(model(x), y).backward()
        hooks.before_step(step, model)  # type: ignore[misc]
        opt.step()
        hooks.after_eval(step + 1, model)  # type: ignore[misc]
        for name, keep in mask.items():
            assert torch.count_nonzero(weights[name][~keep]) == 0, (step, name)
            assert torch.count_nonzero(weights[name][keep]) == int(keep.sum())  # survivors alive
    for name, keep in mask.items():  # the optimizer never accumulated state for pruned weights
        for value in opt.state[weights[name]].values():
            if isinstance(value, torch.Tensor) and value.shape == keep.shape:
                assert torch.count_nonzero(value[~keep]) == 0


def test_a_revived_pruned_weight_stops_training_at_the_next_evaluation() -> None:
    """The mask is held by zeroed gradients alone; anything that revives a pruned weight (as a
    buggy optimizer or hook would) is caught at the next evaluation."""
    torch.manual_seed(0)
    model = create_model(ModelSpec(name="lenet", kwargs={"hidden": [16]}), 10, (1, 40))
    weights = prunable_weights(model)
    mask = {k: torch.rand(v.shape, generator=torch.Generator().manual_seed(3)) > 0.5
            for k, v in weights.items()}  # fmt: skip
    apply_mask(model, mask)
    hooks = mask_hooks(model, mask)
    assert hooks.after_step is None  # no per-step multiply of the weights
    assert hooks.after_eval is not None and hooks.after_eval(0, model) == {}
    name = next(iter(mask))
    with torch.no_grad():
        weights[name][~mask[name]] = 1e-30
    with pytest.raises(
        MaskViolation, match=rf"pruned weights of {name} are non-zero at iteration 7"
    ):
        hooks.after_eval(7, model)


# -- the chain ----------------------------------------------------------------------------


def test_iterative_densities_follow_the_schedule_with_controls(
    write_entry: Callable[..., Path], store: Path
) -> None:
    params = {"rounds": 3, "prune_fraction": 0.2, "controls": ["random_reinit", "random_prune"]}
    records = run_entry(write_entry(lottery(params)), store)
    assert [(r["round"], r["control"]) for r in records] == [
        (0, None), (1, None), (1, "random_reinit"), (1, "random_prune"),
        (2, None), (2, "random_reinit"), (2, "random_prune"),
        (3, None), (3, "random_reinit"), (3, "random_prune"),
    ]  # fmt: skip
    prunable = 40 * 32 + 32 * 16  # the output layer is not pruned by default
    for record in records:
        assert abs(record["density"] - 0.8 ** record["round"]) * prunable <= 3
        assert record["method"] == "dense" or record["method"] == "lottery"
        assert record["weight_movement_all"] > 0


def test_resets_restore_theta0_exactly(write_entry: Callable[..., Path], store: Path) -> None:
    path = write_entry(
        lottery({"rounds": 2, "prune_fraction": 0.5, "controls": ["random_reinit", "random_prune"]})
    )
    run_entry(path, store)
    context = context_for(path, store)
    params = context.experiment.params
    theta0 = context.run_for().state("init")
    assert all(torch.equal(theta0[k], v) for k, v in context.build_model().state_dict().items())
    for round_ in (1, 2):
        run = context.run_for(round_extra(params, round_))
        start, mask = run.state("init"), run.mask()
        final = run.state("final")
        for name, keep in mask.items():
            assert torch.equal(start[name][keep], theta0[name][keep])
            assert torch.count_nonzero(start[name][~keep]) == 0
            assert torch.count_nonzero(final[name][~keep]) == 0
        biases = [k for k in theta0 if k not in mask]
        assert all(torch.equal(start[k], theta0[k]) for k in biases)
        # controls start from the ticket's stored mask
        reinit = context.run_for(round_extra(params, round_, "random_reinit"))
        assert all(torch.equal(reinit.mask()[k], mask[k]) for k in mask)
        reinit_start = reinit.state("init")
        assert not torch.equal(reinit_start["hidden.0.weight"], start["hidden.0.weight"])
        shuffled = context.run_for(round_extra(params, round_, "random_prune"))
        random_mask, random_start = (
            shuffled.mask(),
            shuffled.state("init"),
        )
        for name, keep in random_mask.items():
            assert int(keep.sum()) == int(mask[name].sum())
            assert torch.equal(random_start[name][keep], theta0[name][keep])


def test_rewinding_restores_theta_k_exactly(write_entry: Callable[..., Path], store: Path) -> None:
    path = write_entry(lottery({"rounds": 1, "prune_fraction": 0.5, "reset": "10it"}))
    run_entry(path, store)
    context = context_for(path, store)
    params = context.experiment.params
    theta_k = context.run_for({"saves_state_at": "10it"}).state("rewind")
    # θ_k is what 10 iterations of the same training give
    short = write_entry(
        {"seeds": [0], "training": {"duration": "10it", "eval_interval": "10it"}}, name="short"
    )
    (short_record,) = run_entry(short, store)
    after_ten = RunStore(store).find(short_record["run_id"]).state("final")  # type: ignore[union-attr]
    assert all(torch.equal(theta_k[k], after_ten[k]) for k in theta_k)
    theta0 = context.run_for({"saves_state_at": "10it"}).state("init")
    assert not torch.equal(theta_k["hidden.0.weight"], theta0["hidden.0.weight"])
    run = context.run_for(round_extra(params, 1))
    start, mask = run.state("init"), run.mask()
    for name, keep in mask.items():
        assert torch.equal(start[name][keep], theta_k[name][keep])


def test_oneshot_matches_iterative_densities_and_shares_round0(
    write_entry: Callable[..., Path], store: Path
) -> None:
    iterative = run_entry(
        write_entry(lottery({"rounds": 3, "prune_fraction": 0.3}), name="tiny"), store
    )
    oneshot_path = write_entry(
        {"id": "tiny2", **lottery({"rounds": 3, "prune_fraction": 0.3, "strategy": "oneshot"})}
    )
    oneshot = run_entry(oneshot_path, store)
    assert iterative[0]["run_id"] == oneshot[0]["run_id"]  # round 0 is one shared run
    for a, b in zip(iterative, oneshot, strict=True):
        assert abs(a["density"] - b["density"]) < 2e-3
    assert iterative[3]["run_id"] != oneshot[3]["run_id"]


def test_target_density_and_layer_fractions(write_entry: Callable[..., Path], store: Path) -> None:
    records = run_entry(write_entry(lottery({"rounds": 2, "target_density": 0.25})), store)
    assert records[-1]["density"] == pytest.approx(0.25, abs=2e-3)
    path = write_entry(lottery({
        "rounds": 2, "prune_fraction": 0.2, "include_output": True, "layer_fractions": {"fc": 0.1}
    }), name="tiny")  # fmt: skip
    layers = run_entry(path, RunStore(store).root / "other")[-1]["layer_densities"]
    assert layers["fc.weight"] == pytest.approx(0.81, abs=0.01)
    assert layers["hidden.0.weight"] == pytest.approx(0.64, abs=0.01)


def test_dense_baseline_is_shared_with_a_dense_entry(
    write_entry: Callable[..., Path], store: Path
) -> None:
    (dense,) = run_entry(
        write_entry({"seeds": [0], "training": {"duration": "60it", "eval_interval": "20it"}}),
        store,
    )
    records = run_entry(
        write_entry({"id": "lt", **lottery({"rounds": 1, "prune_fraction": 0.2})}), store
    )
    assert records[0]["run_id"] == dense["run_id"]


def test_extending_rounds_reruns_nothing_and_a_kill_resumes_in_its_round(
    write_entry: Callable[..., Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = tmp_path / "store"
    short = run_entry(
        write_entry(lottery({"rounds": 2, "prune_fraction": 0.2}), name="tiny"), store
    )
    stamps = {p: p.stat().st_mtime_ns for p in store.rglob("*") if p.is_file()}

    longer = write_entry(lottery({"rounds": 4, "prune_fraction": 0.2}), name="tiny")
    original = Chain._prepare_ticket

    class Killed(Exception):
        pass

    def crashing(self: Chain, round_: int, start: int) -> Any:
        prepare = original(self, round_, start)
        if round_ != 3:
            return prepare

        def wrapped(model: nn.Module, run: Any) -> TrainHooks:
            def crash(iteration: int, _: nn.Module) -> None:
                if iteration == 50:
                    raise Killed

            return TrainHooks.combine(prepare(model, run), TrainHooks(after_step=crash))

        return wrapped

    monkeypatch.setattr(Chain, "_prepare_ticket", crashing)
    context = context_for(longer, store, checkpoint_seconds=0.0)
    with pytest.raises(Killed):
        METHODS["lottery"].run(context, context.experiment.params)
    assert {p: p.stat().st_mtime_ns for p in stamps} == stamps  # rounds 0-2 untouched
    monkeypatch.setattr(Chain, "_prepare_ticket", original)
    params = context.experiment.params
    round3 = context.run_for(round_extra(params, 3))
    assert round3.load()["iteration"] == 40  # resumes inside round 3
    resumed = run_entry(longer, store)
    assert [r["run_id"] for r in resumed[:3]] == [r["run_id"] for r in short]
    reference = run_entry(longer, tmp_path / "reference")
    assert [(r["run_id"], r["final_test_accuracy"], r["min_val_loss"]) for r in resumed] == [
        (r["run_id"], r["final_test_accuracy"], r["min_val_loss"]) for r in reference
    ]


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"rounds": 2}, "exactly one of prune_fraction and target_density"),
        ({"rounds": 2, "prune_fraction": 0.2, "target_density": 0.1}, "exactly one"),
        ({"rounds": 2, "prune_fraction": 0.0}, "method.params.prune_fraction"),
        ({"rounds": 2, "prune_fraction": 1.0}, "method.params.prune_fraction"),
        ({"rounds": 0, "prune_fraction": 0.2}, "method.params.rounds"),
        (
            {"rounds": 2, "prune_fraction": 0.2, "reset": "60it"},
            "rewind point 60it is not before the end",
        ),
        (
            {"rounds": 2, "prune_fraction": 0.2, "scope": "global", "layer_fractions": {"fc": 0.1}},
            "layerwise",
        ),
        (
            {"rounds": 2, "prune_fraction": 0.2, "controls": ["random_shuffle"]},
            "method.params.controls",
        ),
    ],
)
def test_bad_lottery_params(
    params: dict[str, Any], message: str, write_entry: Callable[..., Path], store: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    path = write_entry(lottery(params))
    assert main(["run", str(path), "--store", str(store)]) == 2
    assert message in capsys.readouterr().err
    assert not store.exists()


def test_density_helper() -> None:
    assert density({"a": torch.tensor([True, False, True, True])}) == 0.75


def test_early_bird_stop_ends_each_round_once_the_magnitude_mask_is_stable(
    write_entry: Callable[..., Path], store: Path
) -> None:
    stop = {"window": 2, "epsilon": 0.5}
    params = {"rounds": 2, "prune_fraction": 0.2, "early_bird_stop": stop}
    path = write_entry(lottery(params, duration="300it"))
    records = run_entry(path, store)
    # evaluations every 20 iterations: the FIFO is full at the second, where masks differ < 50%
    assert [r["iterations"] for r in records] == [40, 40, 40]
    prunable = 40 * 32 + 32 * 16
    assert [round(r["density"] * prunable) for r in records] == [prunable, 1434, 1147]
    context = context_for(path, store)
    plain = context_for(write_entry(lottery({"rounds": 2, "prune_fraction": 0.2}, duration="300it"), name="plain"), store)  # fmt: skip
    assert context.run_for(dense_extra(LotteryParams(**params))).path != plain.run_for().path  # fmt: skip
    stored = context.run_for(dense_extra(LotteryParams(**params))).detector()  # fmt: skip
    assert stored["iterations"] == [20, 40]
    # never stops when the masks cannot get that close
    strict = {"rounds": 1, "prune_fraction": 0.2, "early_bird_stop": {"window": 2, "epsilon": 1e-9}}
    assert all(r["iterations"] == 300 for r in run_entry(write_entry(lottery(strict, duration="300it"), name="strict"), store))  # fmt: skip


def test_mask_figures_are_cached_per_pruning_rule_and_equal_recomputed_ones(
    write_entry: Callable[..., Path], store: Path
) -> None:
    path = write_entry(lottery({"rounds": 2, "prune_fraction": 0.2}))
    first = run_entry(path, store)
    caches = sorted(p.name for p in store.glob("runs/*/figures-*.json"))
    assert len(caches) == 3 and len(set(caches)) == 1  # one rule, rounds 0-2
    for cache in store.glob("runs/*/figures-*.json"):
        cache.unlink()
    assert run_entry(path, store) == first  # recomputed from the weights: the same figures
    other = write_entry(lottery({"rounds": 1, "prune_fraction": 0.5}), name="other")
    run_entry(other, store)  # shares round 0, another rule: its own cache beside the first
    assert len({p.name for p in store.glob("runs/*/figures-*.json")}) == 2


# -- the official codes' semantics ---------------------------------------------------------


def _lottery_of(path: Path, store: Path) -> tuple[Context, LotteryParams]:
    context = context_for(path, store)
    return context, context.experiment.params


def test_a_rewound_round_trains_from_step_k_to_t_with_the_schedule_continuing(
    write_entry: Callable[..., Path], store: Path
) -> None:
    """open_lth's start_step: a ticket rewound to θ_k trains steps k..T, its learning rate and
    data order those of steps k..T of the dense run, not T more steps with the schedule
    restarted."""
    path = write_entry(
        lottery({"rounds": 1, "prune_fraction": 0.5, "reset": "20it"},
                milestones=["40it"], gamma=0.5, duration="60it", eval_interval="20it")
    )  # fmt: skip
    dense, ticket = run_entry(path, store)
    assert dense["iterations"] == ticket["iterations"] == 60
    context, params = _lottery_of(path, store)
    extra = round_extra(params, 1)
    assert extra["trains_from"] == "rewind_point"
    log = context.run_for(extra).log()
    assert [r["iteration"] for r in log] == [20, 40, 60]  # evaluated at θ_k, then at 40 and 60
    dense_log = context.run_for(dense_extra(params)).log()
    assert [r["lr"] for r in log] == [r["lr"] for r in dense_log if r["iteration"] >= 20]
    assert log[-1]["lr"] == pytest.approx(0.5e-3)  # the milestone at 40 applies, not restarted
    # a rewound ticket's start is θ_k under its mask, and reset to θ0 does not start at k
    init = context_for(write_entry(lottery({"rounds": 1, "prune_fraction": 0.5}), name="b"),
                       store)  # fmt: skip
    init_params = init.experiment.params
    assert "trains_from" not in round_extra(init_params, 1)


def _masked(state: dict[str, torch.Tensor], mask: dict[str, torch.Tensor]) -> dict[str, Any]:
    return {k: v * mask[k] if k in mask else v for k, v in state.items()}


def test_retraining_modes_differ_exactly_where_they_should(
    write_entry: Callable[..., Path], store: Path
) -> None:
    """Renda et al. (ICLR 2020) §2 at an equal retraining budget of T − k = 40 of T = 60 steps:
    weight rewinding starts from θ_k, LR rewinding and fine-tuning from the pruned network's
    final weights; both rewindings replay the schedule from k, fine-tuning holds its final
    rate; all three see the data order's steps k..T and prune the same mask."""
    schedule = {"milestones": ["10it", "40it"], "gamma": 0.5, "lr": 0.1}
    modes = {"weights": "20it", "lr": {"lr_rewind": "20it"}, "finetune": "finetune"}
    runs = {}
    for name, reset in modes.items():
        params = {"rounds": 1, "prune_fraction": 0.5, "reset": reset}
        if reset == "finetune":
            params["finetune_budget"] = "40it"
        path = write_entry(lottery(params, **schedule), name=name)
        _, ticket = run_entry(path, store)
        assert ticket["iterations"] == 60
        context, lp = _lottery_of(path, store)
        runs[name] = context.run_for(round_extra(lp, 1))
    dense_run = context.run_for(dense_extra(lp))
    masks = {name: run.mask() for name, run in runs.items()}
    assert all(torch.equal(masks["lr"][k], m[k]) for m in masks.values() for k in m)
    mask, final0 = masks["lr"], dense_run.state("final")
    theta_k = context.run_for({"saves_state_at": "20it"}).state("rewind")
    starts = {name: run.state("init") for name, run in runs.items()}
    for k, v in _masked(theta_k, mask).items():
        assert torch.equal(starts["weights"][k], v)
    for name in ("lr", "finetune"):
        for k, v in _masked(final0, mask).items():
            assert torch.equal(starts[name][k], v)
    # the learning rate of the step before each evaluation at 20, 40, 60, by hand
    logs = {name: run.log() for name, run in runs.items()}
    assert all([r["iteration"] for r in log] == [20, 40, 60] for log in logs.values())
    rewound = [0.1 * 0.5, 0.1 * 0.5, 0.1 * 0.25]  # steps 19, 39, 59: after 10it, after 40it
    assert [r["lr"] for r in logs["weights"]] == pytest.approx(rewound)
    assert [r["lr"] for r in logs["lr"]] == pytest.approx(rewound)
    assert [r["lr"] for r in logs["finetune"]] == pytest.approx([0.1 * 0.25] * 3)
    assert context.experiment.params.keeps_weights


def test_finetuning_and_lr_rewinding_differ_only_in_the_learning_rate(
    write_entry: Callable[..., Path], store: Path
) -> None:
    """With a constant schedule the final rate is the rate: same weights, same rate, same
    batches, so the two retrain to the same bits; and each round's mask holds exactly."""
    finals = []
    for name, params in {"lr": {"reset": {"lr_rewind": "20it"}},
                         "ft": {"reset": "finetune", "finetune_budget": "40it"}}.items():  # fmt: skip
        path = write_entry(lottery({"rounds": 2, "prune_fraction": 0.5, **params}), name=name)
        run_entry(path, store)
        context, lp = _lottery_of(path, store)
        run = context.run_for(round_extra(lp, 2))
        final, mask = run.state("final"), run.mask()
        assert all(torch.count_nonzero(final[k][~keep]) == 0 for k, keep in mask.items())
        # round 2 retrains round 1's final weights, not round 0's
        previous = context.run_for(round_extra(lp, 1)).state("final")
        start = run.state("init")
        assert all(torch.equal(start[k][keep], previous[k][keep]) for k, keep in mask.items())
        finals.append(final)
    assert all(torch.equal(finals[0][k], finals[1][k]) for k in finals[0])


def test_finetuning_is_refused_where_it_cannot_mean_anything(
    write_entry: Callable[..., Path], capsys: pytest.CaptureFixture[str]
) -> None:
    for params, expected in (
        ({"finetune_budget": "20it"}, "finetune_budget needs reset 'finetune'"),
        ({"reset": "finetune", "finetune_budget": "90it"}, "longer than the training duration"),
        ({"reset": {"lr_rewind": "60it"}}, "is not before the end of training"),
    ):
        path = write_entry(lottery({"rounds": 1, "prune_fraction": 0.5, **params}))
        assert main(["validate", str(path)]) == 2
        assert expected in capsys.readouterr().err


def test_biases_are_masked_with_their_layer_and_held_exactly(
    write_entry: Callable[..., Path], store: Path
) -> None:
    """prune_biases (the MNIST-1D notebook masks every parameter of a layer): one ranking over
    a layer's weight and bias, both held at zero through training."""
    weights = {
        "l.weight": torch.tensor([[0.5, -0.1], [0.3, 0.9]]),
        "l.bias": torch.tensor([0.05, 2.0]),
    }
    mask = {name: torch.ones_like(w, dtype=torch.bool) for name, w in weights.items()}
    pruned = prune_layerwise(weights, mask, {"l.weight": 0.5, "l.bias": 0.5})
    assert pruned["l.weight"].tolist() == [[True, False], [False, True]]  # 0.05, -0.1, 0.3 go
    assert pruned["l.bias"].tolist() == [False, True]
    path = write_entry(lottery({"rounds": 2, "prune_fraction": 0.5, "prune_biases": True,
                                "include_output": True}))  # fmt: skip
    records = run_entry(path, store)
    context, params = _lottery_of(path, store)
    run = context.run_for(round_extra(params, 2))
    stored_mask, final = run.mask(), run.state("final")
    assert any(name.endswith(".bias") for name in stored_mask)
    for name, keep in stored_mask.items():
        assert torch.count_nonzero(final[name][~keep]) == 0
    for layer in {name.rsplit(".", 1)[0] for name in stored_mask}:
        parts = [keep for name, keep in stored_mask.items() if name.startswith(layer + ".")]
        kept, total = sum(int(k.sum()) for k in parts), sum(k.numel() for k in parts)
        assert kept == pytest.approx(total * 0.25, abs=2)  # the layer's fraction, jointly
    assert records[-1]["density"] == pytest.approx(0.25, abs=1e-2)


def test_prune_at_prunes_from_that_iterations_weights(
    write_entry: Callable[..., Path], store: Path
) -> None:
    """prune_at (the MNIST-1D notebook prunes from the step-1000 checkpoint): the next round's
    mask is the magnitude mask of the round's weights at that step, not of its final ones."""
    path = write_entry(lottery({"rounds": 1, "prune_fraction": 0.5, "prune_at": "20it"}))
    run_entry(path, store)
    context, params = _lottery_of(path, store)
    dense = context.run_for(dense_extra(params))
    at_20, final = dense.state("prune_from"), dense.state("final")
    model = context.build_model()
    weights = params.rule.weights(model)
    expected = params.rule.prune(model, at_20, full_mask(weights), 1)
    from_final = params.rule.prune(model, final, full_mask(weights), 1)
    stored = context.run_for(round_extra(params, 1)).mask()
    assert all(torch.equal(stored[k], expected[k]) for k in expected)
    assert not all(torch.equal(stored[k], from_final[k]) for k in expected)


def test_prune_at_the_first_step_prunes_from_the_initial_weights(
    write_entry: Callable[..., Path], store: Path
) -> None:
    """prune_at 0it: the weights at a round's first step are its prepared model (θ0 for round
    0), saved before training; no step fires a hook at iteration 0."""
    path = write_entry(lottery({"rounds": 1, "prune_fraction": 0.5, "prune_at": "0it"}))
    run_entry(path, store)
    context, params = _lottery_of(path, store)
    dense = context.run_for(dense_extra(params))
    theta0 = dense.state("init")
    assert all(torch.equal(v, theta0[k]) for k, v in dense.state("prune_from").items())
    model = context.build_model()
    expected = params.rule.prune(model, theta0, full_mask(params.rule.weights(model)), 1)
    stored = context.run_for(round_extra(params, 1)).mask()
    assert all(torch.equal(stored[k], expected[k]) for k in expected)
