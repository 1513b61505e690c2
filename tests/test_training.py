"""Determinism and exact resumption of the one training loop."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import torch

from lthbench.run import Context
from lthbench.runner.jobs import Job, execute
from lthbench.runner.resolve import load_experiment
from lthbench.store import RunStore
from lthbench.train import TrainHooks
from lthbench.train.schedule import LearningRate
from tests.conftest import merge

DATA_ROOT = Path("/nonexistent")  # embedded data needs none
CPU = torch.device("cpu")


def _run(entry_path: Path, store: Path, seed: int = 0) -> dict[str, Any]:
    entry = load_experiment(entry_path)
    (record,) = execute(Job(entry, seed), RunStore(store), DATA_ROOT, CPU, progress=False)
    return record


def _log(store: Path, record: dict[str, Any]) -> list[dict[str, Any]]:
    run = RunStore(store).find(record["run_id"])
    assert run is not None
    return run.log()


def test_same_seed_gives_identical_metrics(
    write_entry: Callable[..., Path], tmp_path: Path
) -> None:
    path = write_entry({"training": {"optimizer": "sgd", "lr": 0.05, "momentum": 0.9}})
    first, second = _run(path, tmp_path / "a"), _run(path, tmp_path / "b")
    assert _log(tmp_path / "a", first) == _log(tmp_path / "b", second)
    assert first["run_id"] == second["run_id"]
    final_a = RunStore(tmp_path / "a").find(first["run_id"]).state("final")  # type: ignore[union-attr]
    final_b = RunStore(tmp_path / "b").find(second["run_id"]).state("final")  # type: ignore[union-attr]
    assert all(torch.equal(final_a[k], final_b[k]) for k in final_a)


def test_different_seeds_differ(write_entry: Callable[..., Path], store: Path) -> None:
    path = write_entry()
    assert _log(store, _run(path, store, 0)) != _log(store, _run(path, store, 1))


def test_second_run_is_a_cache_hit(write_entry: Callable[..., Path], store: Path) -> None:
    path = write_entry()
    first = _run(path, store)
    files = {p: p.stat().st_mtime_ns for p in store.rglob("*") if p.is_file()}
    assert _run(path, store) == first
    assert {p: p.stat().st_mtime_ns for p in store.rglob("*") if p.is_file()} == files


class _Crash(Exception):
    pass


@pytest.mark.parametrize("augment", [False, True])
def test_resume_after_interruption_ends_with_identical_metrics(
    write_entry: Callable[..., Path], tmp_path: Path, augment: bool,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    overrides: dict[str, Any] = {"training": {"duration": "150it", "eval_interval": "20it"}}
    if augment:  # CIFAR-like crop+flip on digits exercises the augmentation stream
        overrides.update(
            dataset={"name": "digits", "resize": 16, "augment": True, "validation_size": 100}
        )
        from lthbench.data.embedded import Digits

        monkeypatch.setattr(Digits, "augmentation", "crop_flip")

    entry = load_experiment(write_entry(overrides))
    reference = _run(write_entry(overrides), tmp_path / "reference")

    context = Context(entry, 0, RunStore(tmp_path / "resumed"), DATA_ROOT, CPU, False, 0.0)
    calls = {"n": 0}

    def crash_midway(model: torch.nn.Module, run: Any) -> TrainHooks:
        def after_step(iteration: int, _: torch.nn.Module) -> None:
            calls["n"] += 1
            if calls["n"] == 70:  # between the checkpoints at 60 and 80
                raise _Crash

        return TrainHooks(after_step=after_step)

    with pytest.raises(_Crash):
        context.train_run(prepare=crash_midway)
    run = context.run_for()
    assert run.load()["iteration"] == 60 and not run.complete
    resumed = context.train_run()
    assert _log(tmp_path / "resumed", resumed) == _log(tmp_path / "reference", reference)
    for key in ("final_test_accuracy", "min_val_loss", "early_stop_iteration"):
        assert resumed[key] == reference[key]


def test_learning_rate_warmup_and_step_decay() -> None:
    schedule = LearningRate(base=0.1, warmup_iterations=10, milestones=(20, 30), gamma=0.1)
    assert schedule.at(0) == pytest.approx(0.01)
    assert schedule.at(9) == pytest.approx(0.1)
    assert schedule.at(19) == pytest.approx(0.1)
    assert schedule.at(20) == pytest.approx(0.01)
    assert schedule.at(30) == pytest.approx(0.001)


def test_bf16_training_runs_and_records(write_entry: Callable[..., Path], store: Path) -> None:
    record = _run(write_entry({"precision": "bf16"}), store)
    assert 0.0 <= record["final_test_accuracy"] <= 1.0
    assert record["iterations"] == 120
    assert record["device"] == "cpu" and record["device_model"]  # the CPU's model name


def test_fused_optimizer_is_opt_in_and_trains(
    write_entry: Callable[..., Path], tmp_path: Path
) -> None:
    """The default is torch's per-tensor step (the reference numerics); ``fused_optimizer``
    asks for the one-kernel step, and such a run is another run with its own result."""
    from lthbench.spec.entry import TrainingHparams
    from lthbench.train.loop import make_optimizer

    parameters = [torch.nn.Parameter(torch.zeros(3))]
    for optimizer in ("sgd", "adam"):
        hp = TrainingHparams(optimizer=optimizer, lr=0.1, batch_size=4, duration="10it")
        assert not make_optimizer(parameters, hp).defaults["fused"]
        fused = hp.model_copy(update={"fused_optimizer": True})
        assert make_optimizer(parameters, fused).defaults["fused"]
    plain = _run(write_entry(name="tiny"), tmp_path / "store")
    fused_record = _run(
        write_entry({"training": {"fused_optimizer": True}}, name="tiny"), tmp_path / "store"
    )
    assert fused_record["run_id"] != plain["run_id"]
    assert fused_record["final_test_accuracy"] > 0.2


def test_channels_last_trains_a_cnn_in_nhwc_with_the_same_arithmetic(
    write_entry: Callable[..., Path], tmp_path: Path
) -> None:
    """``channels_last`` holds every 2-D convolution's weights in NHWC from θ0 (built so) through
    every step, starts from the very θ0 of the default layout, and computes the same function:
    the two runs' logs agree to float rounding (other kernels, so other runs)."""
    layouts: list[tuple[bool, bool]] = []

    def watch(iteration: int, model: torch.nn.Module) -> None:
        layouts.extend((m.weight.is_contiguous(memory_format=torch.channels_last),
                        m.weight.is_contiguous())
                       for m in model.modules() if isinstance(m, torch.nn.Conv2d))  # fmt: skip

    def prepare(model: torch.nn.Module, run: object) -> TrainHooks:
        watch(0, model)
        return TrainHooks(after_step=watch)

    cnn = {"model": {"name": "test_resnet", "kwargs": None}, "dataset": {"name": "digits",
           "validation_size": 100, "resize": 16}, "training": {"optimizer": "sgd", "lr": 0.01,
           "batch_size": 32, "duration": "6it", "eval_interval": "3it"}}  # fmt: skip
    runs = {}
    for nhwc in (False, True):
        entry = merge(cnn, {"training": {"channels_last": nhwc}})
        experiment = load_experiment(write_entry(entry, name="cnn"))
        context = Context(experiment, 0, RunStore(tmp_path / str(nhwc)), tmp_path, progress=False)
        record = context.train_run(prepare=prepare if nhwc else None)
        runs[nhwc] = RunStore(tmp_path / str(nhwc)).find(record["run_id"])
    assert all(nhwc for nhwc, _ in layouts)
    assert not all(nchw for _, nchw in layouts)  # a 1x1 kernel is both; a 3x3 one is not
    plain, nhwc_run = runs[False], runs[True]
    assert plain is not None and nhwc_run is not None and plain.id != nhwc_run.id
    init_plain, init_nhwc = plain.state("init"), nhwc_run.state("init")
    assert all(torch.equal(init_plain[k], init_nhwc[k]) for k in init_plain)
    for a, b in zip(plain.log(), nhwc_run.log(), strict=True):
        assert a["test_loss"] == pytest.approx(b["test_loss"], rel=1e-4)
        assert abs(a["test_accuracy"] - b["test_accuracy"]) <= 2 / experiment.test_examples


def test_flush_denormal_is_opt_in_holds_while_training_and_is_off_afterwards(
    write_entry: Callable[..., Path], tmp_path: Path
) -> None:
    """``flush_denormal`` flushes subnormals to zero during the run's steps and evaluations
    (and only then); such a run is another run, and it is as deterministic as any."""
    subnormal = torch.tensor([1e-40])
    seen: list[bool] = []

    def watch(iteration: int, model: torch.nn.Module) -> None:
        seen.append(float(subnormal * 1.0) == 0.0)

    def prepare(model: torch.nn.Module, run: object) -> TrainHooks:
        return TrainHooks(after_step=watch)

    records = []
    for flush, name in ((False, "a"), (True, "b"), (True, "c")):
        experiment = load_experiment(
            write_entry({"training": {"flush_denormal": flush}}, name="tiny")
        )
        context = Context(experiment, 0, RunStore(tmp_path / name), tmp_path, progress=False)
        records.append(context.train_run(prepare=prepare))
        assert set(seen) == {flush}
        seen.clear()
        assert float(subnormal * 1.0) != 0.0  # off again
    plain, flushed, again = records
    assert flushed["run_id"] != plain["run_id"] and flushed["run_id"] == again["run_id"]
    timing = ("wall_time_s", "finished_at")
    assert {k: v for k, v in flushed.items() if k not in timing} == {
        k: v for k, v in again.items() if k not in timing
    }
