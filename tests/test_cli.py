"""The command line end to end: run, cache hits, show --json, progress, kill -9 and resume."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import torch

from lthbench.cli import main

REQUIRED_FIELDS = {"entry_id", "seed", "method", "final_test_accuracy", "min_val_loss",
                   "early_stop_iteration", "wall_time_s", "run_id"}  # fmt: skip


def test_run_show_and_cache_hit(
    write_entry: Callable[..., Path], store: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_entry()
    assert main(["run", str(path), "--store", str(store)]) == 0
    out, err = capsys.readouterr()
    assert "\r" not in err and "it/s" not in err  # not a terminal: plain progress lines only
    assert len(out.strip().splitlines()) == 2  # one result line per run as it ends
    assert main(["show", str(path), "--store", str(store), "--json"]) == 0
    records = json.loads(capsys.readouterr().out)
    assert [r["seed"] for r in records] == [0, 1]
    for record in records:
        assert set(record) >= REQUIRED_FIELDS
        assert record["entry_id"] == "tiny" and record["method"] == "dense"
    assert main(["run", str(path), "--store", str(store)]) == 0
    again_out, again_err = capsys.readouterr()
    assert "suite" not in again_err  # nothing trained
    assert sorted(r["run_id"] for r in records) == sorted(
        line.split("run ")[-1].rstrip(")") for line in again_out.strip().splitlines()
    )
    assert main(["show", records[0]["run_id"][:8], "--store", str(store), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)[0]["run_id"] == records[0]["run_id"]


def test_dry_run_lists_states_and_writes_nothing(
    write_entry: Callable[..., Path], store: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_entry()
    assert main(["run", str(path), "--store", str(store), "--dry-run"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 2 and all(line.endswith("new") for line in lines)
    assert not store.exists()


def test_list_shows_the_registry(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["list", "--tier", "embedded"]) == 0
    out = capsys.readouterr().out
    assert "mnist5k-lenet300-dense" in out and "cifar10-conv2-dense" not in out


def _cli(*args: str, env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "lthbench", *args], env=env,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip


def test_piped_output_is_plain_lines(write_entry: Callable[..., Path], tmp_path: Path) -> None:
    """Not a terminal: no bars, no carriage returns; progress lines and a result per run."""
    path = write_entry({"training": {"duration": "400it"}})
    env = {**os.environ, "LTHBENCH_EXECUTOR": "processes"}
    process = _cli("run", str(path), "--store", str(tmp_path / "store"), "--jobs", "2", env=env)
    out, err = process.communicate(timeout=300)
    assert process.returncode == 0, err.decode()
    assert b"\r" not in out and b"\r" not in err
    assert len(out.decode().strip().splitlines()) == 2  # a result line per run
    progress = err.decode().strip().splitlines()
    assert progress and all(line.startswith("suite: ") for line in progress)


def test_kill_9_mid_run_then_rerun_gives_the_uninterrupted_result(
    write_entry: Callable[..., Path], tmp_path: Path
) -> None:
    path = write_entry({"seeds": [0], "training": {"duration": "4000it", "eval_interval": "50it"}})
    env = {**os.environ, "LTHBENCH_CHECKPOINT_SECONDS": "0"}
    killed_store, reference_store = tmp_path / "killed", tmp_path / "reference"

    process = _cli("run", str(path), "--store", str(killed_store), "--quiet", env=env)
    deadline = time.monotonic() + 120
    while not list(killed_store.glob("runs/*/checkpoint.pt")) and time.monotonic() < deadline:
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    assert process.returncode == -signal.SIGKILL
    (run_dir,) = killed_store.glob("runs/*")
    assert not (run_dir / "result.json").exists()
    checkpoint = torch.load(run_dir / "checkpoint.pt", weights_only=True)
    assert 0 < checkpoint["iteration"] < 4000  # killed mid-run, resumes from here

    assert main(["run", str(path), "--store", str(killed_store), "--quiet"]) == 0
    assert main(["run", str(path), "--store", str(reference_store), "--quiet"]) == 0
    reference_dir = next(reference_store.glob("runs/*"))
    assert json.loads((run_dir / "log.json").read_text()) == json.loads(
        (reference_dir / "log.json").read_text()
    )
    resumed, reference = (
        json.loads((d / "result.json").read_text()) for d in (run_dir, reference_dir)
    )
    for key in (
        "final_test_accuracy",
        "test_accuracy_at_early_stop",
        "early_stop_iteration",
        "min_val_loss",
    ):
        assert resumed[key] == reference[key]


def test_module_entry_point_prints_version() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "lthbench", "--version"], capture_output=True, text=True
    )
    assert done.returncode == 0 and done.stdout.startswith("lthbench ")


def test_budget_scales_every_duration_and_the_number_of_evaluations(
    write_entry: Callable[..., Path], store: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_entry({
        "training": {"duration": "2ep", "warmup": "20it", "milestones": ["1ep"], "eval_interval": "40it"},
        "method": {"name": "lottery", "params": {"rounds": 1, "prune_fraction": 0.5, "reset": "50it"}},
        "seeds": [0],
    })  # fmt: skip
    assert main(["run", str(path), "--store", str(store), "--budget", "0.1", "--quiet"]) == 0
    configs = [json.loads(p.read_text()) for p in store.glob("runs/*/config.json")]
    training = {c["resolved"]["training"]["duration"] for c in configs}
    assert training == {"8it"}  # 2 epochs of 38 iterations (3800 examples / 100) x 0.1
    assert {c["resolved"]["training"]["milestones"][0] for c in configs} == {"4it"}
    assert any(c["identity"].get("saves_state_at") == "5it" for c in configs)
    # 76 iterations evaluated every 40: 1.9 evaluations x 0.1, at least 2 (start aside)
    assert {c["resolved"]["training"]["eval_interval"] for c in configs} == {"4it"}
    capsys.readouterr()
    assert main(["show", str(path), "--store", str(store), "--budget", "0.1", "--json"]) == 0
    assert {r["round"] for r in json.loads(capsys.readouterr().out)} == {0, 1}
    assert main(["run", str(path), "--store", str(store), "--budget", "1.5"]) == 2
    assert "--budget: 1.5 is not in (0, 1]" in capsys.readouterr().err


def test_reads_and_a_cache_hit_run_import_no_torch(
    write_entry: Callable[..., Path], tmp_path: Path
) -> None:
    """list, show, check and a run whose results are all stored start in well under a second
    because they import neither torch nor timm, torchvision or matplotlib (each ~0.5-2 s)."""
    learns = {"id": "L", "statement": "above chance", "metric": "final_test_accuracy",
              "op": ">", "reference": 0.1, "kind": "lthbench", "source": "lthbench test"}  # fmt: skip
    path = write_entry({"claims": [learns], "seeds": [0]}, name="tiny")
    lottery = write_entry({"method": {"name": "lottery", "params": {"rounds": 1,
                           "prune_fraction": 0.5}}, "seeds": [0]}, name="tiny-lottery")  # fmt: skip
    store = ["--registry", str(path.parent), "--store", str(tmp_path / "store")]
    assert main(["run", *store, "--quiet"]) == 0
    heavy = ("torch", "timm", "torchvision", "matplotlib", "scipy.stats")
    for command in (["list"], ["show", "tiny-lottery"], ["check"], ["run"], ["run", str(lottery)]):
        script = (
            "import sys\nfrom lthbench.cli import main\n"
            f"code = main({[*command, *store]!r})\n"
            f"print(code, sorted(m for m in {heavy!r} if m in sys.modules))\n"
        )
        done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                              timeout=120, check=True)  # fmt: skip
        assert done.stdout.strip().splitlines()[-1] == "0 []", (command, done.stdout, done.stderr)


def test_a_piped_suite_prints_each_entrys_verdicts_as_its_last_run_ends(
    write_entry: Callable[..., Path], tmp_path: Path
) -> None:
    """The cheapest entry goes first and its verdict line comes before any run of the next."""
    claim = {"id": "LEARNS", "statement": "s", "kind": "lthbench", "op": ">=", "reference": 0.1,
             "metric": "final_test_accuracy"}  # fmt: skip
    write_entry({"seeds": [0], "training": {"duration": "40it", "eval_interval": "20it"},
                 "claims": [claim]}, name="quick")  # fmt: skip
    path = write_entry({"seeds": [0, 1], "training": {"duration": "400it"}, "claims": [claim]},
                       name="slow")  # fmt: skip
    env = {**os.environ, "LTHBENCH_EXECUTOR": "local"}
    process = _cli("run", str(path.parent), "--store", str(tmp_path / "store"), env=env)
    out, err = process.communicate(timeout=300)
    assert process.returncode == 0, err.decode()
    lines = out.decode().strip().splitlines()
    verdicts = [i for i, line in enumerate(lines) if line.startswith("verdicts: ")]
    assert [lines[i].split(": ")[1] for i in verdicts] == ["quick", "slow"]
    assert all("lthbench checks: " in lines[i] for i in verdicts)
    assert lines[verdicts[0] - 1].startswith("quick seed 0") and lines[verdicts[0] + 1].startswith(
        "slow"
    )


def test_the_eta_prices_an_unseen_network_at_its_timed_steps_as_the_finished_runs_compare(
) -> None:  # fmt: skip
    from lthbench.cli.progress import Clock

    clock = Clock(workers=1, prior_flops_per_s=1e9)
    clock.flops = {"a1": 4e9, "a2": 4e9, "b1": 2e9}
    clock.family = {"a1": "big", "a2": "big", "b1": "small"}
    jobs = [object(), object()]
    clock.job = {"a1": jobs[0], "a2": jobs[0], "b1": jobs[1]}
    clock.timed = {"big": 4e9, "small": 0.5e9}  # the small net's steps: 8x fewer FLOP/s
    assert clock.left() == pytest.approx(1.0 + 1.0 + 4.0)  # at the timed rates
    clock.finished("a1", seconds=2.0)  # big ran at half its timed rate: measured wins
    assert clock.left() == pytest.approx(4e9 / 2e9 + 2e9 / 0.5e9)  # small still at its own
    clock.finished("b1", seconds=1.0)
    assert clock.rate("small") == pytest.approx(2e9)
    assert Clock(workers=1, prior_flops_per_s=1e9).rate("never timed") == 1e9  # the prior


def test_a_network_family_is_the_model_with_its_settings_data_and_batch(
    write_entry: Callable[..., Path],
) -> None:  # fmt: skip
    from lthbench.cli.progress import network_family, step_seconds
    from lthbench.runner.resolve import select

    paths = [write_entry(name="base"),
             write_entry({"model": {"kwargs": {"hidden": [16, 8]}}}, name="narrow"),
             write_entry({"training": {"batch_size": 50}}, name="small-batch")]  # fmt: skip
    base, narrow, small_batch = select([str(p) for p in paths], None, [], 1.0, False, None)
    families = {network_family(e) for e in (base, narrow, small_batch)}
    assert len(families) == 3 and "hidden=[16, 8]" in network_family(narrow)
    other = base
    threads = torch.get_num_threads()
    assert 0 < step_seconds(other) < 5.0 and torch.get_num_threads() == threads


def test_the_eta_shares_the_planned_work_among_workers_at_each_familys_rate() -> None:
    from lthbench.cli.progress import Clock

    clock = Clock(workers=2, prior_flops_per_s=1e9)
    clock.flops = {"a1": 4e9, "a2": 4e9, "b1": 2e9, "c1": 1e9}
    clock.family = {"a1": "lenet", "a2": "lenet", "b1": "cnn", "c1": "cnn"}
    jobs = [object(), object(), object()]
    clock.job = {"a1": jobs[0], "a2": jobs[0], "b1": jobs[1], "c1": jobs[2]}
    assert clock.left() == pytest.approx(max(11e9 / 1e9 / 2, 8.0))  # job 0's runs are in a row
    clock.finished("a1", seconds=2.0)  # lenet at 2 GFLOP/s; cnn unmeasured: every run's rate
    assert clock.left() == pytest.approx(max((4e9 / 2e9 + 3e9 / 2e9) / 2, 2.0))
    clock.finished("b1", seconds=4.0)  # cnn at 0.5 GFLOP/s
    assert clock.left() == pytest.approx(max(2.0, 2.0))  # two jobs left on two workers
