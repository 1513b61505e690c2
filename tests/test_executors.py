"""Executors and a store that holds up: parallel processes give the local executor's results,
a worker killed mid-job is retried from its checkpoint, two writers on one store neither
corrupt nor duplicate a run, and a damaged run directory is set aside and redone."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

import pytest
import torch

from lthbench.cli import main
from lthbench.runner.executors import LocalExecutor, ProcessExecutor, Settings
from lthbench.runner.jobs import Job
from lthbench.runner.resolve import load_experiment
from lthbench.store import RunStore

TIMING = ("wall_time_s", "finished_at", "total_wall_time_s", "search_wall_time_s",
          "wall_time_saving_vs_dense", "wall_time_saving_vs_slimming", "lthbench_commit")  # fmt: skip
LOTTERY = {"method": {"name": "lottery", "params": {"rounds": 2, "prune_fraction": 0.5}}}


def _stable(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(
        ({k: v for k, v in r.items() if k not in TIMING} for r in records),
        key=lambda r: (r["entry_id"], r["seed"], str(r.get("round")), r["run_id"]),
    )


CNN = {"model": {"name": "mnist1d_cnn", "kwargs": None}}
"""Convolutions whose CPU reductions split by thread: 1 and 2 threads give different numbers."""


def _suite(write_entry: Callable[..., Path]) -> list[Job]:
    dense = load_experiment(write_entry(name="tiny"))
    lottery = load_experiment(write_entry(LOTTERY, name="tiny-lottery"))
    cnn = load_experiment(write_entry(CNN, name="tiny-cnn"))
    return [Job(e, s) for e in (dense, lottery, cnn) for s in e.seeds]


def _collect(executor: Any, jobs: list[Job], store: Path) -> list[dict[str, Any]]:
    records: list[dict[str, Any]] = []
    settings = Settings(store, Path("/nonexistent"), "cpu")
    executor.run(jobs, settings, lambda job, rs: records.extend(rs))
    return records


def test_processes_give_the_local_results_bit_for_bit(
    write_entry: Callable[..., Path], tmp_path: Path
) -> None:
    jobs = _suite(write_entry)
    local = _collect(LocalExecutor(), jobs, tmp_path / "local")
    parallel = _collect(ProcessExecutor(2), jobs, tmp_path / "parallel")
    assert _stable(parallel) == _stable(local)
    for run in RunStore(tmp_path / "local"):
        twin = tmp_path / "parallel" / "runs" / run.id / "final.pt"
        final = torch.load(run.path / "final.pt", weights_only=True)
        assert all(torch.equal(final[k], v) for k, v in torch.load(twin, weights_only=True).items())


def test_a_job_computes_with_its_entrys_threads_under_every_executor(
    write_entry: Callable[..., Path], tmp_path: Path
) -> None:
    """The thread count belongs to the entry, not the executor: the same CNN run at 1 and at 2
    threads can differ (it does on some CPUs: reductions split by thread), so every executor must
    compute with the entry's count (recorded by the run) and local restores its own."""
    before = torch.get_num_threads()
    one = load_experiment(write_entry(CNN, name="cnn-one"))
    two = load_experiment(write_entry({**CNN, "resources": {"cpus": 2}}, name="cnn-two"))
    local = _collect(LocalExecutor(), [Job(one, 0), Job(two, 0)], tmp_path / "local")
    assert torch.get_num_threads() == before
    assert [r["torch_threads"] for r in local] == [1, 2]
    assert local[0]["run_id"] != local[1]["run_id"]
    parallel = _collect(ProcessExecutor(2), [Job(two, 0)], tmp_path / "parallel")
    assert _stable(parallel) == _stable(local[1:])


def _cli(*args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "lthbench", *args],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        env={**os.environ, "LTHBENCH_CHECKPOINT_SECONDS": "0", **(env or {})},
    )  # fmt: skip


def _workers(parent: int) -> list[int]:
    """Process ids of the multiprocessing workers under ``parent``."""
    found = []
    for status in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = status.read_text().rsplit(")", 1)[1].split()
            cmdline = (status.parent / "cmdline").read_bytes()
        except OSError:
            continue
        if int(fields[1]) == parent and b"spawn_main" in cmdline:
            found.append(int(status.parent.name))
    return found


@pytest.mark.timeout(300)
def test_a_worker_killed_mid_job_is_retried_and_resumes(
    write_entry: Callable[..., Path], tmp_path: Path
) -> None:
    path = write_entry({"training": {"duration": "4000it", "eval_interval": "100it"}}, name="tiny")
    assert main(["run", str(path), "--store", str(tmp_path / "reference"), "--quiet"]) == 0
    store = tmp_path / "store"
    process = _cli("run", str(path), "--store", str(store), "--quiet",
                   "--executor", "processes", "--jobs", "2")  # fmt: skip
    deadline = time.monotonic() + 120
    while not list(store.glob("runs/*/checkpoint.pt")):
        assert process.poll() is None and time.monotonic() < deadline, process.communicate()[0]
        time.sleep(0.05)
    victims = _workers(process.pid)
    assert victims
    for pid in victims:
        os.kill(pid, signal.SIGKILL)
    output, _ = process.communicate(timeout=240)
    assert process.returncode == 0, output
    assert "a worker died" in output
    reference = {r.id: r.result() for r in RunStore(tmp_path / "reference")}
    resumed = {r.id: r.result() for r in RunStore(store)}
    assert reference.keys() == resumed.keys()
    for run_id, result in resumed.items():
        assert {k: v for k, v in result.items() if k not in TIMING} == {
            k: v for k, v in reference[run_id].items() if k not in TIMING
        }


@pytest.mark.timeout(300)
def test_two_writers_on_one_store_train_each_run_once(
    write_entry: Callable[..., Path], tmp_path: Path
) -> None:
    path = write_entry(LOTTERY, name="tiny-lottery")
    store = tmp_path / "store"
    runs = [_cli("run", str(path), "--store", str(store), "--quiet") for _ in range(2)]
    outputs = [p.communicate(timeout=240)[0] for p in runs]
    assert [p.returncode for p in runs] == [0, 0], outputs
    # each result line names its run and wall time: the second writer read the first's result
    assert sorted(outputs[0].splitlines()) == sorted(outputs[1].splitlines())
    stored = list(RunStore(store))
    assert len(stored) == len({r.id for r in stored}) == 6  # rounds 0-2 of seeds 0 and 1
    assert all(r.problem() is None and r.complete for r in stored)


DAMAGES = ["truncated final.pt", "garbage result.json", "bad checkpoint", "other threads"]


@pytest.mark.parametrize("damage", DAMAGES)
def test_a_damaged_run_is_reported_set_aside_and_redone(
    damage: str, write_entry: Callable[..., Path], store: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    path = write_entry({"seeds": [0]}, name="tiny")
    assert main(["run", str(path), "--store", str(store), "--quiet"]) == 0
    (run,) = list(RunStore(store))
    original = run.result()
    if damage == "truncated final.pt":
        data = (run.path / "final.pt").read_bytes()
        (run.path / "final.pt").write_bytes(data[: len(data) // 2])
    elif damage == "garbage result.json":
        (run.path / "result.json").write_text('{"run_id": ')
    elif damage == "bad checkpoint":
        (run.path / "result.json").unlink()
        (run.path / "checkpoint.pt").write_bytes(b"not a checkpoint")
    else:  # sound files, but computed with 2 threads (before threads were fixed per entry)
        (run.path / "result.json").write_text(json.dumps({**original, "torch_threads": 2}))
    assert (run.problem() is not None) == (damage != "other threads")
    capsys.readouterr()
    main(["run", str(path), "--store", str(store), "--dry-run"])
    assert "\tredo (" in capsys.readouterr().out
    main(["show", str(path), "--store", str(store)])
    captured = capsys.readouterr()
    assert "not counted" in captured.err and "no stored results" in captured.out
    assert main(["run", str(path), "--store", str(store), "--quiet"]) == 0
    err = capsys.readouterr().err
    assert f"run {run.id}:" in err and "moved to" in err
    assert (store / "runs" / f"{run.id}.corrupt-1").is_dir()
    redone = run.result()
    assert redone is not None and run.problem() is None
    assert {k: v for k, v in redone.items() if k not in TIMING} == {
        k: v for k, v in original.items() if k not in TIMING
    }
    assert [r.id for r in RunStore(store)] == [run.id]


def test_a_malicious_checkpoint_is_never_unpickled(tmp_path: Path) -> None:
    """Tensor files load with weights_only=True: a pickle that would run code is refused."""
    marker = tmp_path / "pwned"

    class Exploit:
        def __reduce__(self) -> tuple[Any, ...]:
            return (os.system, (f"touch {marker}",))

    (run,) = [RunStore(tmp_path / "store").run({"seed": 0})]
    run.path.mkdir(parents=True)
    torch.save({"model": Exploit()}, run.path / "checkpoint.pt")
    assert run.load() is None  # refused, set aside: the run starts over
    assert not marker.exists()
    assert (run.path / "checkpoint.pt.rejected").exists() and not (
        run.path / "checkpoint.pt"
    ).exists()


def test_store_lookups_never_leave_the_store(tmp_path: Path) -> None:
    store = RunStore(tmp_path / "store")
    (tmp_path / "store" / "runs").mkdir(parents=True)
    (tmp_path / "secret").mkdir()
    for target in ("../secret", "..", "/etc", "a/b"):
        assert store.find(target) is None
    run = store.run({"id": "../../escape"})
    assert run.path.parent == tmp_path / "store" / "runs" and "/" not in run.id
    json.dumps(run.identity)


def test_an_executor_registered_outside_lthbench_is_a_cli_choice(
    write_entry: Callable[..., Path], tmp_path: Path
) -> None:
    """Executors register like methods and datasets; the CLI's --executor choices are the
    registry's, so a new one is one class and a decorator."""
    from lthbench.runner.executors import EXECUTORS, make_executor, register_executor

    @register_executor
    class Recording(LocalExecutor):
        name = "recording_for_tests"
        seen: ClassVar[list[str]] = []

        @classmethod
        def from_args(cls, args: Any) -> Recording:
            return cls()

        def run(self, jobs: list[Job], settings: Any, on_records: Any) -> None:
            Recording.seen.extend(f"{j.experiment.id}/{j.seed}" for j in jobs)
            super().run(jobs, settings, on_records)

    try:
        assert isinstance(make_executor("recording_for_tests"), Recording)
        path = write_entry({"seeds": [0]}, name="reg")
        args = [
            "run",
            str(path),
            "--store",
            str(tmp_path / "s"),
            "--quiet",
            "--executor",
            "recording_for_tests",
        ]
        assert main(args) == 0 and Recording.seen == ["reg/0"]
    finally:
        EXECUTORS.pop("recording_for_tests")


@pytest.mark.parametrize(
    ("cores", "flag", "job_count", "expected"),
    [(2, None, 15, ("processes", 2)), (16, None, 3, ("processes", 3)), (1, None, 15, ("local", 1)),
     (8, None, 1, ("local", 1)), (8, 2, 15, ("processes", 2))],
)  # fmt: skip
def test_the_default_executor_uses_every_usable_core(
    cores: int, flag: int | None, job_count: int, expected: tuple[str, int],
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    """`auto` (the default without $LTHBENCH_EXECUTOR): one worker process per usable core, at
    most one per job; this process alone on one core or for one job."""
    from lthbench.cli import build_parser
    from lthbench.runner import executors

    monkeypatch.delenv("LTHBENCH_EXECUTOR")
    monkeypatch.setattr(executors, "usable_cores", lambda: cores)
    args = build_parser().parse_args(["run"] + ([] if flag is None else ["--jobs", str(flag)]))
    assert args.executor == "auto"
    chosen = executors.make_executor(args.executor, args.jobs, None, job_count)
    assert (chosen.name, getattr(chosen, "workers", 1)) == expected


PARENT = """
import multiprocessing, os, sys, time
from concurrent.futures import ProcessPoolExecutor
from lthbench.runner.executors import end_with_parent

if __name__ == "__main__":
    pool = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"),
                               initializer=end_with_parent, initargs=(os.getpid(),))
    print(pool.submit(os.getpid).result(), flush=True)  # the worker is up and armed
    pool.submit(time.sleep, 120)
    time.sleep(120)
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux's parent-death signal")
def test_a_killed_lthbench_takes_its_workers_with_it(tmp_path: Path) -> None:
    """SIGKILL leaves the parent no chance to clean up; its pool workers must not train on."""
    script = tmp_path / "parent.py"
    script.write_text(PARENT)
    parent = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True)
    assert parent.stdout is not None
    worker = int(parent.stdout.readline())
    os.kill(parent.pid, signal.SIGKILL)
    parent.wait(timeout=10)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and _alive(worker):
        time.sleep(0.1)
    assert not _alive(worker)


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"  # a zombie has ended


def test_jobs_are_ordered_for_an_early_verdict_then_longest_first() -> None:
    from types import SimpleNamespace

    from lthbench.runner.jobs import ordered

    def job(entry: str, seed: int, seeds: int, siblings: tuple[str, ...] = ()) -> Any:
        experiment = SimpleNamespace(id=entry, seeds=list(range(seeds)),
                                     entry=SimpleNamespace(siblings=list(siblings)))  # fmt: skip
        return SimpleNamespace(experiment=experiment, seed=seed)

    jobs = [job("big", s, 2) for s in range(2)] + [job("tiny", s, 3, ("big",)) for s in range(3)]
    jobs += [job("small", s, 2) for s in range(2)] + [job("mid", s, 1) for s in range(1)]
    cost = {"big": 100.0, "tiny": 1.0, "small": 4.0, "mid": 10.0}
    order = [(j.experiment.id, j.seed) for j in ordered(jobs, cost)]
    # tiny compares with big, so the cheapest entry standing alone (small) goes first
    assert order[:2] == [("small", 0), ("small", 1)]
    assert [e for e, _ in order[2:]] == ["big", "big", "mid", "tiny", "tiny", "tiny"]
