"""Early-Bird tickets: slimming preserves the masked function, FLOPs are counted right, 8-bit
search rounds without bias, and EB-Train inherits the drawn weights and is accounted exactly."""

from __future__ import annotations

import copy
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import timm
import torch
from torch import nn

from lthbench.cli import main
from lthbench.methods.early_bird import EarlyBird, EarlyBirdParams
from lthbench.methods.early_bird.identity import search_extra, slim_extra
from lthbench.prune.channels import batchnorm_scales, channel_mask, flatten
from lthbench.prune.channels import decode_mask as _bits
from lthbench.prune.channels import encode_mask as _hex
from lthbench.prune.distance import EarlyBirdDetector
from lthbench.prune.slim import slim, zero_dropped
from lthbench.run import Context
from lthbench.runner.jobs import Job, execute
from lthbench.runner.resolve import load_experiment
from lthbench.store import RunStore
from lthbench.train.flops import inference_flops, parameter_count, training_step_flops
from lthbench.train.quantise import LEVELS, int8_hooks, quantise
from lthbench.train.schedule import LearningRate, shifted_schedule
from tests.conftest import tree

CPU = torch.device("cpu")
NO_ROOT = Path("/nonexistent")


def _random_batchnorms(model: nn.Module, seed: int = 0) -> None:
    """Spread γ, β and running statistics so that masks and outputs are not trivial."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, nn.modules.batchnorm._BatchNorm):
                module.weight.copy_(torch.rand(module.weight.shape, generator=generator))
                module.bias.copy_(torch.rand(module.bias.shape, generator=generator) - 0.5)
                module.running_mean.copy_(torch.randn(module.running_mean.shape, generator=generator) * 0.1)  # fmt: skip
                module.running_var.copy_(torch.rand(module.running_var.shape, generator=generator) + 0.5)  # fmt: skip


NETWORKS = {
    "test_resnet": ({"zero_init_last": False}, (3, 24, 24)),
    "mnist1d_cnn": ({}, (1, 40)),
    "cifar_vgg16_bn": ({}, (3, 32, 32)),
    "preresnet101": ({"depth": 20}, (3, 32, 32)),
}


def _network(name: str) -> tuple[nn.Module, tuple[int, ...]]:
    kwargs, input_size = NETWORKS[name]
    torch.manual_seed(0)
    if name == "preresnet101":
        model = timm.create_model("preresnet101", num_classes=10, **kwargs)
    else:
        model = timm.create_model(name, num_classes=10, **kwargs)
    _random_batchnorms(model)
    return model.eval(), input_size


# -- slimming -----------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(NETWORKS))
@pytest.mark.parametrize("ratio", [0.3, 0.7])
def test_slimmed_model_equals_masked_model_with_dropped_channels_zeroed(
    name: str, ratio: float
) -> None:
    model, input_size = _network(name)
    mask = channel_mask(batchnorm_scales(model), ratio)
    masked = copy.deepcopy(model)
    plan = slim(model, mask, torch.zeros((2, *input_size)))
    zero_dropped(masked, plan.effective())
    x = torch.randn((8, *input_size), generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        torch.testing.assert_close(model(x), masked(x), rtol=1e-4, atol=1e-5)
    # never keeps less than asked, and really removes what it drops
    for name_, keep in mask.items():
        assert bool((plan.survivors[name_] | ~keep).all() and (keep <= plan.survivors[name_]).all())
    modules = dict(model.named_modules())
    for name_, survives in plan.survivors.items():
        assert modules[name_].num_features == int(survives.sum())
    assert parameter_count(model) < parameter_count(masked)
    assert inference_flops(model, input_size) < inference_flops(masked, input_size)


def test_preactivation_residual_stream_keeps_its_width() -> None:
    """A raw shortcut convolution reads the stream, so zeroing its BatchNorms is not removal;
    the last stage's stream is read only through BatchNorms and may shrink."""
    model, input_size = _network("preresnet101")
    mask = {name: torch.zeros_like(keep) for name, keep in channel_mask(batchnorm_scales(model), 0.5).items()}  # fmt: skip
    plan = slim(model, mask, torch.zeros((2, *input_size)))
    assert bool(plan.survivors["blocks.0.bn1"].all())  # stage 1's stream feeds a shortcut conv
    assert bool(plan.survivors["blocks.2.bn1"].all())  # so does stage 2's
    assert int(plan.survivors["bn"].sum()) == 1  # stage 3's: BatchNorms only, all but one go
    assert int(plan.survivors["blocks.0.bn2"].sum()) == 1  # inner channels: all but one go


def test_a_stream_batchnorms_dropped_channels_leave_its_only_readers_input() -> None:
    """The Early-Bird code's channel_selection: a bottleneck's bn1 keeps the stream's width, but
    conv1 reads only the channels bn1's mask keeps (fewer FLOPs, the same function)."""
    model, input_size = _network("preresnet101")
    mask = channel_mask(batchnorm_scales(model), 0.5)
    full = inference_flops(copy.deepcopy(model), input_size)
    plan = slim(model, mask, torch.zeros((2, *input_size)))
    by_norm = {norm: (reader, channels) for norm, reader, channels in plan.selections}
    assert "blocks.0.bn1" in by_norm and by_norm["blocks.0.bn1"][0] == "blocks.0.conv1"
    reader, channels = by_norm["blocks.0.bn1"]
    conv = model.get_submodule(reader)
    assert conv.in_channels == len(channels) == int(mask["blocks.0.bn1"].sum())
    assert model.get_submodule("blocks.0.bn1").num_features == len(mask["blocks.0.bn1"])
    assert "blocks.0.conv1.input_channels" in model.state_dict()
    assert inference_flops(model, input_size) < full
    kept, total = plan.kept_channels()
    assert kept < sum(int(v.sum()) for v in plan.survivors.values()) and total == sum(
        map(len, mask.values())
    )


def test_slim_inherits_the_surviving_weights_exactly() -> None:
    model, input_size = _network("cifar_vgg16_bn")
    original = copy.deepcopy(model)
    plan = slim(model, channel_mask(batchnorm_scales(model), 0.5), torch.zeros((2, *input_size)))
    first_conv, first_bn = "features.0", "features.1"
    keep = plan.survivors[first_bn]
    assert torch.equal(model.get_submodule(first_conv).weight, original.get_submodule(first_conv).weight[keep])  # fmt: skip
    assert torch.equal(model.get_submodule(first_bn).weight, original.get_submodule(first_bn).weight[keep])  # fmt: skip


def test_a_layer_the_mask_empties_is_named_not_silently_given_a_channel_back() -> None:
    """The global threshold can drop every channel of a layer (the 25-channel MNIST-1D CNN at
    p = 70%); the slim network keeps one so that it computes, and the plan says which layer
    was emptied, so the run's record and the page can report it."""
    model, input_size = _network("mnist1d_cnn")
    mask = channel_mask(batchnorm_scales(model), 0.3)
    first = next(iter(mask))
    assert slim(copy.deepcopy(model), mask, torch.zeros((2, *input_size))).emptied == []
    mask[first] = torch.zeros_like(mask[first])
    plan = slim(model, mask, torch.zeros((2, *input_size)))
    assert plan.emptied == ["features.0"]  # the convolution producing features.1's channels
    assert first == "features.1"
    assert int(plan.survivors[first].sum()) == 1


# -- FLOPs --------------------------------------------------------------------------------


def _analytic_forward_flops(model: nn.Module, input_size: tuple[int, ...]) -> int:
    """2 · multiply-adds of every convolution and linear layer, from the shapes they see."""
    total = 0

    def count(module: nn.Module, inputs: Any, output: torch.Tensor) -> None:
        nonlocal total
        if isinstance(module, nn.Linear):
            total += 2 * module.in_features * module.out_features * output.shape[0]
        else:
            per_output = module.in_channels // module.groups * math.prod(module.kernel_size)
            total += 2 * per_output * output.numel()

    handles = [
        m.register_forward_hook(count)
        for m in model.modules()
        if isinstance(m, nn.Linear | nn.Conv1d | nn.Conv2d)
    ]
    with torch.no_grad():
        model.eval()(torch.zeros((1, *input_size)))
    for handle in handles:
        handle.remove()
    return total


@pytest.mark.parametrize("name", ["test_resnet", "mnist1d_cnn", "cifar_vgg16_bn"])
def test_slim_flops_match_the_layer_shapes(name: str) -> None:
    model, input_size = _network(name)
    slim(model, channel_mask(batchnorm_scales(model), 0.5), torch.zeros((2, *input_size)))
    forward = inference_flops(model, input_size)
    assert forward == _analytic_forward_flops(model, input_size)
    step = training_step_flops(model, 16, input_size)
    # backward costs twice the forward, except the first layer's input gradient
    assert 2 * 16 * forward < step <= 3 * 16 * forward


# -- 8-bit search -------------------------------------------------------------------------


def test_stochastic_rounding_is_unbiased_and_on_the_grid() -> None:
    x = torch.linspace(-1.0, 1.0, 101)
    generator = torch.Generator().manual_seed(0)
    samples = torch.stack([quantise(x, generator) for _ in range(4000)])
    scale = 1.0 / LEVELS
    levels = samples / scale
    assert torch.allclose(levels, levels.round(), atol=1e-4)
    assert levels.abs().max() <= LEVELS + 1e-4
    # each sample is one of the two neighbouring levels; the mean converges to x
    standard_error = scale / 2 / math.sqrt(len(samples))
    assert (samples.mean(0) - x).abs().max() < 6 * standard_error
    nearest = (x / scale).round() * scale
    assert (nearest - x).abs().max() > 20 * standard_error  # round-to-nearest would be biased


def test_int8_training_keeps_weights_gradients_and_momentum_on_8_bit_grids() -> None:
    torch.manual_seed(0)
    model = timm.create_model("mnist1d_cnn", num_classes=10)
    hooks = int8_hooks(model)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    x, y = torch.randn(32, 1, 40), torch.randint(0, 10, (32,))
    seen_activations: list[torch.Tensor] = []
    model.features[0].register_forward_hook(lambda m, i, o: seen_activations.append(o.detach()))
    for step in range(3):
        loss = nn.functional.cross_entropy(model(x), y)
        optimizer.zero_grad()
        loss.backward()
        assert hooks.before_step is not None and hooks.after_step is not None
        hooks.before_step(step, model)
        for parameter in model.parameters():
            assert _on_grid(parameter.grad)
        optimizer.step()
        assert hooks.after_update is not None
        hooks.after_update(optimizer)
        hooks.after_step(step + 1, model)
    for parameter in model.parameters():
        assert _on_grid(parameter.detach())
        assert _on_grid(optimizer.state[parameter]["momentum_buffer"])
    assert _on_grid(seen_activations[-1])


def _on_grid(tensor: torch.Tensor) -> bool:
    scale = tensor.abs().max() / LEVELS
    if scale == 0:
        return True
    levels = tensor / scale
    return bool(torch.allclose(levels, levels.round(), atol=1e-3))


# -- schedules and encodings --------------------------------------------------------------


def test_eb_train_continues_the_entry_schedule_after_the_draw(
    write_entry: Callable[..., Path],
) -> None:
    entry = load_experiment(write_entry({"training": {"duration": "300it", "milestones": ["150it", "225it"], "warmup": "20it"}}))  # fmt: skip
    full = LearningRate.from_hparams(entry.training, 38)
    for start in (0, 10, 100, 200):
        rest = LearningRate.from_hparams(shifted_schedule(entry.training, start, 300, 38), 38)
        for i in range(300 - start):
            if start + i >= 20:  # after the warmup the rates agree exactly
                assert rest.at(i) == full.at(start + i)


def test_mask_encoding_round_trips() -> None:
    mask = {"a": torch.tensor([True, False, True]), "b": torch.tensor([False] * 6 + [True])}
    assert torch.equal(_bits(_hex(mask)), flatten(mask))


# -- the method, end to end on a tiny entry -----------------------------------------------


def early_bird_entry(params: dict[str, Any], **training: Any) -> dict[str, Any]:
    return {
        "model": {"name": "mnist1d_cnn", "kwargs": {"hidden": None, "channels": 8}},
        "method": {"name": "early_bird", "params": params},
        "seeds": [0],
        "training": {
            "optimizer": "sgd", "lr": 0.1, "momentum": 0.9, "batch_size": 100,
            "duration": "6ep", "milestones": ["3ep"], "eval_interval": "1ep", **training,
        },
    }  # fmt: skip


TINY_PARAMS = {"ratios": [0.3, 0.5], "window": 2, "epsilon": 0.5}


def _run(path: Path, store: Path) -> list[dict[str, Any]]:
    return execute(Job(load_experiment(path), 0), RunStore(store), NO_ROOT, CPU, progress=False)


def test_eb_train_inherits_the_drawn_ticket_and_is_accounted(
    write_entry: Callable[..., Path], store: Path
) -> None:
    path = write_entry(early_bird_entry(TINY_PARAMS))
    records = _run(path, store)
    by_phase = {(r["phase"], r["ratio"]): r for r in records}
    assert set(by_phase) == {("dense", None)} | {
        (phase, p) for p in (0.3, 0.5) for phase in ("eb_train", "network_slimming", "scratch")
    }
    entry = load_experiment(path)
    context = Context(entry, 0, RunStore(store), NO_ROOT, CPU, False)
    params = EarlyBirdParams(**TINY_PARAMS)
    search = context.run_for(search_extra(params))
    per_epoch = context.iterations_per_epoch
    total = 6 * per_epoch
    dense = by_phase[("dense", None)]
    assert dense["training_flops"] == dense["step_flops"] * total
    for p in (0.3, 0.5):
        ticket = by_phase[("eb_train", p)]
        epoch = ticket["draw_epoch"]
        assert ticket["drawn"] == 1.0 and 2 <= epoch < 6
        assert ticket["iterations"] == total - epoch * per_epoch
        assert len(ticket["distance_matrix"]) == len(ticket["mask_epochs"]) >= epoch
        # the detector, replayed on the logged masks, draws at the same epoch
        detector = EarlyBirdDetector(window=2, epsilon=0.5)
        log = search.log()
        for record in log:
            if "channel_masks" in record:
                detector.update(_bits(record["channel_masks"][f"{p:g}"]))
        assert detector.draw_index is not None and detector.draw_index + 1 == epoch
        # EB-Train starts from the drawn weights, slimmed: the kept channels, bit for bit
        eb_run = context.run_for(slim_extra(params, p, "eb_train"))
        drawn = search.state("ticket", tag=f"{p:g}")
        start = eb_run.state("init")
        keep = eb_run.mask("channels")
        for bn in keep:
            assert torch.equal(start[f"{bn}.weight"], drawn[f"{bn}.weight"][keep[bn]])
            assert torch.equal(start[f"{bn}.running_var"], drawn[f"{bn}.running_var"][keep[bn]])
        assert ticket["step_flops"] < dense["step_flops"]
        expected = dense["step_flops"] * epoch * per_epoch + ticket["step_flops"] * ticket["iterations"]  # fmt: skip
        assert expected < ticket["training_flops"] < expected * 1.001  # + the detector's work
        assert ticket["training_flops_saving_vs_dense"] == pytest.approx(dense["training_flops"] / ticket["training_flops"])  # fmt: skip
        slimming = by_phase[("network_slimming", p)]
        assert slimming["training_flops"] == dense["step_flops"] * total + slimming["step_flops"] * total  # fmt: skip
        assert ticket["training_flops_saving_vs_slimming"] > ticket["training_flops_saving_vs_dense"] > 1  # fmt: skip
        scratch_run = context.run_for(slim_extra(params, p, "scratch"))
        assert not torch.equal(scratch_run.state("init")["features.0.weight"],
                               start["features.0.weight"])  # fmt: skip
    # rerunning trains nothing and gives the same records
    before = {run.path: (run.path / "result.json").stat().st_mtime_ns for run in RunStore(store)}
    assert _run(path, store) == records
    assert before == {run.path: (run.path / "result.json").stat().st_mtime_ns for run in RunStore(store)}  # fmt: skip


def test_int8_search_stops_at_the_draw_and_retrains_at_full_precision(
    write_entry: Callable[..., Path], store: Path
) -> None:
    params = {**TINY_PARAMS, "search_precision": "int8", "baselines": []}
    path = write_entry(early_bird_entry(params))
    records = _run(path, store)
    assert [r["phase"] for r in records] == ["dense", "eb_train", "eb_train"]
    context = Context(load_experiment(path), 0, RunStore(store), NO_ROOT, CPU, False)
    search = context.run_for(search_extra(EarlyBirdParams(**params)))
    last_draw = max(r["draw_epoch"] for r in records[1:])
    per_epoch = context.iterations_per_epoch
    assert search.result()["iterations"] == last_draw * per_epoch < 6 * per_epoch
    ticket = search.state("ticket", tag="0.5")
    assert _on_grid(ticket["features.0.weight"])  # searched at 8 bits
    eb_final = context.run_for(slim_extra(EarlyBirdParams(**params), 0.5, "eb_train")).state("final")  # fmt: skip
    assert not _on_grid(eb_final["features.0.weight"])  # retrained at full precision
    assert all(r["final_test_accuracy"] > 0.2 for r in records)


def test_a_crash_inside_the_search_resumes_to_identical_results(
    write_entry: Callable[..., Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    params = EarlyBirdParams(**{**TINY_PARAMS, "window": 3, "baselines": []})
    entry = load_experiment(write_entry(early_bird_entry(params.model_dump(mode="json"))))

    def run(store: Path) -> list[dict[str, Any]]:
        context = Context(entry, 0, RunStore(store), NO_ROOT, CPU, False, checkpoint_seconds=0)
        EarlyBird().run(context, params)
        return EarlyBird().records(context, params)

    reference = run(tmp_path / "reference")
    calls = 0

    def crash_in_epoch_3(scales: Any, ratio: float) -> Any:
        nonlocal calls
        calls += 1
        if calls == 5:  # two ratios per epoch: the first mask of epoch 3
            raise KeyboardInterrupt
        return channel_mask(scales, ratio)

    monkeypatch.setattr("lthbench.methods.early_bird.train.channel_mask", crash_in_epoch_3)
    with pytest.raises(KeyboardInterrupt):
        run(tmp_path / "crashed")
    monkeypatch.undo()
    resumed = run(tmp_path / "crashed")
    timing = ("wall_time_s", "finished_at", "total_wall_time_s", "search_wall_time_s",
              "wall_time_saving_vs_dense", "wall_time_saving_vs_slimming")  # fmt: skip

    def untimed(record: dict[str, Any]) -> dict[str, Any]:
        kept = {k: v for k, v in record.items() if k not in timing}
        if "steps" in kept:  # a wall saving's step is a wall time too
            kept["steps"] = {k: v for k, v in kept["steps"].items() if k not in timing}
        return kept

    assert [untimed(r) for r in resumed] == [untimed(r) for r in reference]


def test_early_bird_page_shows_verdicts_heatmaps_and_the_8_bit_search_beside_fp32(
    write_entry: Callable[..., Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store, out = tmp_path / "store", tmp_path / "boards"
    drawn = {"id": "E-drawn", "statement": "drawn", "metric": "drawn", "op": ">=", "kind": "lthbench",
             "reference": 1.0, "where": {"ratio": 0.5}}  # fmt: skip
    versus_ns = {"id": "E-ns", "statement": "vs NS", "metric": "final_test_accuracy", "kind": "lthbench",
                 "op": ">=", "reference": "network_slimming", "tolerance": 0.05,
                 "where": {"ratio": 0.5}}  # fmt: skip
    fp32 = {**TINY_PARAMS, "baselines": ["network_slimming"]}
    write_entry({**early_bird_entry(fp32), "seeds": [0, 1], "claims": [drawn, versus_ns]}, name="eb")  # fmt: skip
    beside = {**drawn, "id": "E-acc", "metric": "final_test_accuracy", "reference": "entry:eb",
              "tolerance": 0.05}  # fmt: skip
    int8 = {**TINY_PARAMS, "search_precision": "int8", "baselines": []}
    registry = write_entry({**early_bird_entry(int8), "seeds": [0, 1], "claims": [beside]}, name="eb-int8").parent  # fmt: skip
    args = ["--registry", str(registry), "--store", str(store), "--out", str(out), "--quiet"]
    assert main(["reproduce", *args]) == 0
    capsys.readouterr()
    first = tree(out)
    assert {"early_bird.md", "plots/eb.png", "plots/eb-int8.png"} <= set(first)
    page = first["early_bird.md"].decode()
    assert "![eb](plots/eb.png)" in page and "FLOPs saving vs NS (×)" in page
    assert "EB-Train acc. (eb) (%)" in page and "simulated" in page
    for claim_id in ("E-drawn", "E-ns", "E-acc"):
        assert claim_id in page
    assert "[eb](early_bird.md#eb)" in first["index.md"].decode()
    leaderboard = ["leaderboard", "--registry", str(registry), "--store", str(store), "--out", str(out)]  # fmt: skip
    assert main(leaderboard) == 0
    assert tree(out) == first


def test_eb_train_and_scratch_keep_the_l1_penalty_and_network_slimming_does_not(
    write_entry: Callable[..., Path], store: Path
) -> None:
    """The official retrain_continue.sh and retrain_scratch.sh pass --sparsity-regularization;
    network slimming's fine-tuning has none. The penalty is part of those runs' identity."""
    params = EarlyBirdParams(sparsity=1e-4)
    assert params.penalised("eb_train") and params.penalised("scratch")
    assert not params.penalised("network_slimming")
    assert not EarlyBirdParams(retrain_penalty=False).penalised("eb_train")
    assert slim_extra(params, 0.5, "eb_train")["retrain_penalty"] == 1e-4
    assert "retrain_penalty" not in slim_extra(params, 0.5, "network_slimming")
    off = EarlyBirdParams(retrain_penalty=False)
    assert "retrain_penalty" not in slim_extra(off, 0.5, "eb_train")


def test_lottery_oneshot_is_the_slimming_channels_reset_to_theta0(
    write_entry: Callable[..., Path], store: Path
) -> None:
    """Table 2's LT (one-shot) column: the channels network slimming keeps at the end of the
    search, their weights reset to the search's θ0, trained for the full budget."""
    params = {**TINY_PARAMS, "ratios": [0.5], "baselines": ["network_slimming", "lottery_oneshot"]}
    path = write_entry(early_bird_entry(params))
    records = _run(path, store)
    context = Context(load_experiment(path), 0, RunStore(store), NO_ROOT, CPU, False)
    typed = EarlyBirdParams(**params)
    search = context.run_for(search_extra(typed))
    lottery = context.run_for(slim_extra(typed, 0.5, "lottery_oneshot"))
    slimming = context.run_for(slim_extra(typed, 0.5, "network_slimming"))
    keep = lottery.mask("channels")
    assert all(torch.equal(keep[k], v) for k, v in slimming.mask("channels").items())
    theta0, start = search.state("init"), lottery.state("init")
    for bn, kept in keep.items():
        assert torch.equal(start[f"{bn}.weight"], theta0[f"{bn}.weight"][kept])
    (record,) = [r for r in records if r["phase"] == "lottery_oneshot"]
    total = 6 * context.iterations_per_epoch
    assert record["iterations"] == total and record["control"] == "lottery_oneshot"
    dense = next(r for r in records if r["phase"] == "dense")
    assert record["training_flops"] == dense["step_flops"] * total + record["step_flops"] * total


def test_a_quick_budget_keeps_the_evaluations_the_detector_needs(
    write_entry: Callable[..., Path],
) -> None:
    """`--budget` scales the number of evaluations with the budget, but an Early-Bird search
    keeps enough to fill its detector's FIFO and draw."""
    path = write_entry(early_bird_entry({**TINY_PARAMS, "window": 4}, duration="40ep"))
    full = load_experiment(path)
    quick = load_experiment(path, budget=0.05)
    assert full.total_iterations // full.eval_iterations == 40
    assert quick.total_iterations // quick.eval_iterations == 5  # the floor: window + 1
    assert quick.total_iterations == round(full.total_iterations * 0.05)


def test_a_ticket_drawn_at_the_last_evaluation_has_no_eb_train_run(
    write_entry: Callable[..., Path], store: Path
) -> None:
    """The detector may draw at the budget's end (a short budget makes it likely): EB-Train
    then has no step left, so no run is planned or trained for it; the ticket counts as
    drawn, scratch still trains its architecture, and the seed is complete."""
    params = {"ratios": [0.5], "window": 2, "epsilon": 1.0, "baselines": ["scratch"]}
    path = write_entry(early_bird_entry(params, duration="2ep", milestones=["1ep"]))
    records = _run(path, store)
    (ticket,) = [r for r in records if r["phase"] == "eb_train"]
    assert ticket["drawn"] == 1.0 and ticket["draw_fraction"] == 1.0
    assert "final_test_accuracy" not in ticket
    assert [r["phase"] for r in records if r["phase"] == "scratch"] == ["scratch"]
    experiment = load_experiment(path)
    job = Job(experiment, 0)
    assert not job.method.pending(job.results(RunStore(store)), experiment.params)
