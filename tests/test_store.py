"""Run identity (pinned hashes), atomic writes, and what counts as a completed run."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from lthbench.runner.resolve import load_experiment
from lthbench.store import RunStore, run_id

# Changing any of these breaks every cached result users have: bump the store format instead.
# The entry as it was before its optimizer settings changed (its first pin) is pinned too.
PINNED = {
    ("registry/embedded/mnist5k-lenet300-dense.yaml", 0, ()): "9b699cf94f656affabbc",
    (
        "registry/embedded/mnist5k-lenet300-dense.yaml",
        0,
        ("training.fused_optimizer=false", "training.flush_denormal=false"),
    ): "e2b867c4a1935c031bab",
}


@pytest.mark.parametrize(("path", "seed", "overrides"), sorted(PINNED))
def test_pinned_run_ids(path: str, seed: int, overrides: tuple[str, ...]) -> None:
    entry = load_experiment(Path(__file__).parent.parent / path, overrides)
    assert run_id(entry.run_config(seed)) == PINNED[(path, seed, overrides)]


def test_tiny_entry_id_is_pinned(write_entry: Callable[..., Path]) -> None:
    entry = load_experiment(write_entry())
    assert run_id(entry.run_config(0)) == "8d57db67cba611952d38"


def test_spelling_out_defaults_keeps_the_id(write_entry: Callable[..., Path]) -> None:
    plain = load_experiment(write_entry(name="tiny")).run_config(0)
    explicit = load_experiment(write_entry({
        "precision": "fp32",
        "version": 1,
        "resources": {"cpus": 1, "gpus": 0},
        "dataset": {"augment": False, "resize": None},
        "training": {"momentum": 0.0, "warmup": "0it", "milestones": [], "gamma": 0.1,
                     "weight_decay": 0.0, "nesterov": False, "fused_optimizer": False,
                     "channels_last": False},
    }, name="tiny")).run_config(0)  # fmt: skip
    assert run_id(plain) == run_id(explicit)


def test_description_claims_and_tier_do_not_change_the_id(write_entry: Callable[..., Path]) -> None:
    plain = load_experiment(write_entry(name="tiny")).run_config(0)
    reworded = load_experiment(write_entry({
        "description": "other words", "tier": "paper", "source": {"paper": "elsewhere"},
        "claims": [{"id": "X", "statement": "s", "metric": "final_test_accuracy", "op": ">=",
                    "reference": 0.5, "kind": "lthbench"}],
    }, name="tiny")).run_config(0)  # fmt: skip
    assert run_id(plain) == run_id(reworded)


def test_settings_and_seed_change_the_id(write_entry: Callable[..., Path]) -> None:
    base = load_experiment(write_entry(name="tiny"))
    other = load_experiment(write_entry({"training": {"lr": 2e-3}}, name="tiny"))
    assert run_id(base.run_config(0)) != run_id(base.run_config(1))
    assert run_id(base.run_config(0)) != run_id(other.run_config(0))
    fused = load_experiment(write_entry({"training": {"fused_optimizer": True}}, name="tiny"))
    assert run_id(base.run_config(0)) != run_id(fused.run_config(0))
    nhwc = load_experiment(write_entry({"training": {"channels_last": True}}, name="tiny"))
    assert run_id(base.run_config(0)) != run_id(nhwc.run_config(0))


def test_cpu_threads_change_the_id_and_gpus_do_not(write_entry: Callable[..., Path]) -> None:
    """CPU reductions split by thread, so the thread count is part of what a run computes."""
    base = run_id(load_experiment(write_entry(name="tiny")).run_config(0))
    threads = load_experiment(write_entry({"resources": {"cpus": 4}}, name="tiny")).run_config(0)
    gpus = load_experiment(write_entry({"resources": {"gpus": 1}}, name="tiny")).run_config(0)
    assert run_id(threads) != base and threads["cpu_threads"] == 4
    assert run_id(gpus) == base


def test_result_is_written_last_and_checkpoint_dropped(tmp_path: Path) -> None:
    run = RunStore(tmp_path).run({"x": 1})
    run.save({"iteration": 5})
    assert run.load() == {"iteration": 5} and not run.complete
    run.finish({"final_test_accuracy": 0.5}, {}, [])
    assert run.complete and run.load() is None
    assert run.result() == {"final_test_accuracy": 0.5, "run_id": run.id}


@pytest.mark.parametrize("content", ["", "{", '{"run_id": "someone-else"}', "[]"])
def test_corrupt_or_foreign_result_is_not_a_result(tmp_path: Path, content: str) -> None:
    run = RunStore(tmp_path).run({"x": 1})
    run.path.mkdir(parents=True)
    (run.path / "result.json").write_text(content)
    assert run.result() is None and not run.complete


def test_failed_write_leaves_no_file(tmp_path: Path) -> None:
    run = RunStore(tmp_path).run({"x": 1})

    class Unserialisable:
        def __reduce__(self) -> None:
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        run.save_state("final", Unserialisable())  # type: ignore[arg-type]
    assert not (run.path / "final.pt").exists()
    assert [p.name for p in run.path.iterdir()] == []


def test_nothing_is_created_until_written(tmp_path: Path) -> None:
    run = RunStore(tmp_path / "store").run({"x": 1})
    assert not run.complete and run.result() is None
    assert not (tmp_path / "store").exists()


def test_bumping_an_entrys_version_makes_new_runs(write_entry: Callable[..., Path]) -> None:
    """`version` means something: a version other than 1 joins the identity, so a change the
    identity cannot see retrains instead of reusing stale results; version 1 changes no id."""
    first = load_experiment(write_entry(name="tiny")).run_config(0)
    second = load_experiment(write_entry({"version": 2}, name="tiny")).run_config(0)
    assert second["entry_version"] == 2 and "entry_version" not in first
    assert run_id(first) != run_id(second)
