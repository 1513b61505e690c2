"""The Ray executor on a real local cluster (started by `nox -s ray` inside a loopback-only
network namespace, which sets LTHBENCH_RAY_ADDRESS): results equal the local executor's bit
for bit, and a Ray worker killed mid-job is retried and resumes from its checkpoint."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from lthbench.runner.executors import LocalExecutor, RayExecutor
from lthbench.store import RunStore
from tests.test_executors import TIMING, _collect, _stable, _suite

ADDRESS = os.environ.get("LTHBENCH_RAY_ADDRESS")
pytestmark = [
    pytest.mark.ray,
    pytest.mark.timeout(600),
    pytest.mark.skipif(not ADDRESS, reason="needs a Ray cluster (run `nox -s ray`)"),
]


def test_ray_gives_the_local_results_bit_for_bit(
    write_entry: Callable[..., Path], tmp_path: Path
) -> None:
    pytest.importorskip("ray")
    jobs = _suite(write_entry)
    local = _collect(LocalExecutor(), jobs, tmp_path / "local")
    remote = _collect(RayExecutor(ADDRESS), jobs, tmp_path / "ray")
    assert _stable(remote) == _stable(local)


def _ray_workers() -> list[int]:
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            if b"ray::run_pickled_job" in cmdline.read_bytes():  # the task's process title
                found.append(int(cmdline.parent.name))
        except OSError:
            continue
    return found


def test_a_killed_ray_worker_is_retried_and_resumes(
    write_entry: Callable[..., Path], tmp_path: Path
) -> None:
    pytest.importorskip("ray")
    path = write_entry(
        {"seeds": [0], "training": {"duration": "4000it", "eval_interval": "100it"}}, name="tiny"
    )
    reference = _collect(LocalExecutor(), _suite_of(path), tmp_path / "reference")
    store = tmp_path / "store"
    process = subprocess.Popen(
        [sys.executable, "-m", "lthbench", "run", str(path), "--store", str(store),
         "--quiet", "--executor", "ray", "--ray-address", str(ADDRESS)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        env={**os.environ, "LTHBENCH_CHECKPOINT_SECONDS": "0"},
    )  # fmt: skip
    deadline = time.monotonic() + 300
    while not list(store.glob("runs/*/checkpoint.pt")):
        assert process.poll() is None and time.monotonic() < deadline, process.communicate()[0]
        time.sleep(0.05)
    victims = _ray_workers()
    assert victims
    for pid in victims:
        os.kill(pid, signal.SIGKILL)
    output, _ = process.communicate(timeout=400)
    assert process.returncode == 0, output
    (run,) = list(RunStore(store))
    expected = {k: v for k, v in reference[0].items() if k not in TIMING and k != "entry_id"}
    assert {k: v for k, v in run.result().items() if k in expected} == {
        k: v for k, v in expected.items() if k in run.result()
    }


def _suite_of(path: Path) -> list:
    from lthbench.runner.jobs import Job
    from lthbench.runner.resolve import load_experiment

    entry = load_experiment(path)
    return [Job(entry, seed) for seed in entry.seeds]
