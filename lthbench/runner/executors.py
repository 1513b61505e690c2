"""Executors: where a suite's jobs run. One interface, registered by name
(``@register_executor``) and chosen with ``--executor`` (default ``$LTHBENCH_EXECUTOR``, else
``auto``); the CLI's choices are the registry's.

- ``auto``: every usable core of this machine: ``processes`` with one worker per core (at most
  one per job) when there is more than one of each, else ``local``.
- ``local``: in this process, one job after the other.
- ``processes``: N worker processes on this machine (``--jobs N``). A job is a whole
  (entry, seed) chain, so its rounds stay in order while independent chains run side by side.
- ``ray``: each job a Ray task, with the CPUs and GPUs its entry's ``resources`` ask for, on an
  existing cluster (``--ray-address``). Workers read and write the same store path (a shared
  filesystem), exactly as local processes do.

Under every executor a job computes with its entry's ``resources.cpus`` torch threads (set by
``Context.cpu_threads`` around every training run): CPU kernels split reductions by thread,
so a thread count that followed the executor (all cores locally, a share per worker) would
give one run id several results.

Every executor writes through the same store, whose per-run file lock makes runs shared by
jobs (a dense run behind several entries) train once. A worker that dies (``kill -9``, a lost
Ray node) costs only its job's progress since the last checkpoint: the job is retried and
resumes there. Local workers end with the process that started them, however it ends.
"""

from __future__ import annotations

import importlib.util
import multiprocessing
import os
import pickle
import sys
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

from lthbench.errors import UserError
from lthbench.plugins import load_plugins
from lthbench.registry import Registry

if TYPE_CHECKING:  # the jobs module imports torch; this one stays light for the CLI's parser
    from lthbench.runner.jobs import Job

Records = list[dict[str, Any]]
OnRecords = Callable[["Job", Records], None]
EXECUTOR_ENV = "LTHBENCH_EXECUTOR"


def usable_cores() -> int:
    """The cores this process may run on (its affinity mask, e.g. a container's or a batch
    job's share), not all the machine has."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def default_executor() -> str:
    return os.environ.get(EXECUTOR_ENV) or "auto"


@dataclass(frozen=True)
class Settings:
    """What a worker needs besides the job (all picklable)."""

    store_root: Path
    data_root: Path
    device: str
    """'auto', 'cpu', 'cuda', 'cuda:N' (resolved where the job runs)."""
    progress: bool = False
    deterministic: bool = True
    checkpoint_seconds: float = field(default_factory=lambda: _checkpoint_interval())
    """Read where the suite starts: Ray workers do not inherit the driver's environment."""
    download: bool = False
    """``--download``: torchvision may fetch missing real datasets (in every worker)."""
    verify: bool = True
    """``--no-verify`` clears it: datasets are read without torchvision's checksums."""
    plugins: tuple[str, ...] = ()
    """The command's ``--plugin`` values: a worker loads them (and the installed entry points,
    and ``$LTHBENCH_PLUGINS`` where it inherits the environment) before it reads a job."""


def _checkpoint_interval() -> float:
    from lthbench.runner.jobs import checkpoint_interval

    return checkpoint_interval()


def run_job(job: Job, settings: Settings) -> Records:
    """Execute one job (in whichever process or Ray worker this is) and return its records."""
    import torch

    load_plugins(settings.plugins)
    from lthbench.data.base import DataAccess
    from lthbench.runner.jobs import choose_device, execute
    from lthbench.store import RunStore

    device = choose_device(settings.device)
    if device.type == "cuda":
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    torch.use_deterministic_algorithms(settings.deterministic, warn_only=True)
    store = RunStore(settings.store_root)
    return execute(job, store, settings.data_root, device, settings.progress,
                   settings.checkpoint_seconds, DataAccess(settings.download, settings.verify))  # fmt: skip


def run_pickled_job(job: bytes, settings: Settings) -> Records:
    """A Ray task: the job travels pickled and is read after the plugins load (Ray would
    unpickle an argument before the task's first line)."""
    load_plugins(settings.plugins)
    return run_job(pickle.loads(job), settings)


class Executor(Protocol):
    def run(self, jobs: list[Job], settings: Settings, on_records: OnRecords) -> None:
        """Run every job; call ``on_records`` in this process as each one finishes."""


EXECUTORS: Registry[Callable[[Any], Executor]] = Registry("executor")
"""Executor factories by name; each takes the parsed CLI arguments (``jobs``, ``ray_address``)."""


def register_executor(cls: Any) -> Any:
    """Class decorator: ``--executor cls.name`` builds ``cls.from_args(args)``."""
    EXECUTORS.add(cls.name, cls.from_args, cls.__module__)
    return cls


@register_executor
class LocalExecutor:
    name: ClassVar[str] = "local"

    @classmethod
    def from_args(cls, args: Any) -> LocalExecutor:
        return cls()

    def run(self, jobs: list[Job], settings: Settings, on_records: OnRecords) -> None:
        for job in jobs:
            on_records(job, run_job(job, settings))


def end_with_parent(parent: int) -> None:
    """Worker initializer: the worker ends when the lthbench process that started it does,
    killed (SIGTERM, SIGKILL) as well as interrupted, instead of training on for nobody
    (Linux's parent-death signal; elsewhere a worker ends with its job). Whatever it had
    finished is stored; its run in progress resumes from its checkpoint next time."""
    if not sys.platform.startswith("linux"):
        return
    import ctypes
    import signal

    pr_set_pdeathsig = 1
    ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)
    if os.getppid() != parent:  # the parent was gone before the signal was armed
        os._exit(1)


def start_worker(parent: int, plugins: tuple[str, ...]) -> None:
    """Worker initializer: end with the parent, and load the plugins before any job is
    unpickled (a job's typed params may be a plugin's class)."""
    end_with_parent(parent)
    load_plugins(plugins)


@register_executor
class ProcessExecutor:
    """A pool of spawned worker processes; a pool broken by a dead worker is replaced and the
    unfinished jobs are resubmitted (they resume from their checkpoints)."""

    name: ClassVar[str] = "processes"

    @classmethod
    def from_args(cls, args: Any) -> ProcessExecutor:
        return cls(args.jobs or usable_cores())

    def __init__(self, workers: int, retries: int = 2) -> None:
        if workers < 1:
            raise UserError(f"--jobs: {workers} is not a number of workers (1 or more)")
        self.workers = workers
        self.retries = retries

    def run(self, jobs: list[Job], settings: Settings, on_records: OnRecords) -> None:
        pending = list(jobs)
        threads = self.workers * max((job.experiment.resources.cpus for job in jobs), default=1)
        if threads > (os.cpu_count() or 1):
            print(f"note: {self.workers} workers × up to {threads // self.workers} torch threads "
                  f"each oversubscribe this machine's {os.cpu_count()} CPUs", flush=True)  # fmt: skip
        context = multiprocessing.get_context("spawn")
        for attempt in range(self.retries + 1):
            if not pending:
                return
            with ProcessPoolExecutor(self.workers, mp_context=context,
                                     initializer=start_worker,
                                     initargs=(os.getpid(), settings.plugins)) as pool:  # fmt: skip
                running: dict[Future[Records], Job] = {
                    pool.submit(run_job, job, settings): job for job in pending
                }
                try:
                    while running:
                        done, _ = wait(running, return_when=FIRST_COMPLETED)
                        for future in done:
                            job = running.pop(future)
                            records = future.result()
                            pending.remove(job)
                            on_records(job, records)
                except BrokenProcessPool:
                    left = ", ".join(f"{j.experiment.id} seed {j.seed}" for j in pending)
                    print(f"a worker died (attempt {attempt + 1}); retrying: {left}", flush=True)
        if pending:
            left = ", ".join(f"{j.experiment.id} seed {j.seed}" for j in pending)
            raise RuntimeError(
                f"workers kept dying; unfinished after {self.retries + 1} attempts: {left}"
            )


@register_executor
class RayExecutor:
    """Jobs as Ray tasks on an existing cluster; Ray retries a task whose worker dies."""

    name: ClassVar[str] = "ray"

    @classmethod
    def from_args(cls, args: Any) -> RayExecutor:
        if importlib.util.find_spec("ray") is None:  # refused before anything is written
            raise UserError("--executor ray: Ray is not installed; pip install 'lthbench[ray]'")
        return cls(args.ray_address)

    def __init__(self, address: str | None, retries: int = 3) -> None:
        self.address = address
        self.retries = retries

    def run(self, jobs: list[Job], settings: Settings, on_records: OnRecords) -> None:
        try:
            import ray
        except ImportError:
            raise UserError(
                "--executor ray: Ray is not installed; pip install 'lthbench[ray]'"
            ) from None
        ray.init(address=self.address, log_to_driver=False, include_dashboard=False)
        try:
            task = ray.remote(max_retries=self.retries)(run_pickled_job)
            running = {}
            for job in jobs:
                resources = job.experiment.resources
                options = {"num_cpus": resources.cpus, "num_gpus": resources.gpus}
                ref = task.options(**options).remote(pickle.dumps(job), settings)
                running[ref] = job
            while running:
                done, _ = ray.wait(list(running), num_returns=1)
                job = running.pop(done[0])
                on_records(job, ray.get(done[0]))
        finally:
            ray.shutdown()


@register_executor
class AutoExecutor:
    """The default: ``processes`` on every usable core when that is more than one worker for
    more than one job; ``local`` otherwise (a pool's start-up would only cost time)."""

    name: ClassVar[str] = "auto"

    @classmethod
    def from_args(cls, args: Any) -> Executor:
        workers = min(args.jobs or usable_cores(), max(args.job_count, 1))
        return ProcessExecutor(workers) if workers > 1 else LocalExecutor()


def make_executor(
    name: str, jobs: int | None = None, ray_address: str | None = None, job_count: int = 1
) -> Executor:
    """The executor ``name`` for ``job_count`` jobs (``jobs``: workers; None: every core)."""
    if name not in EXECUTORS:
        allowed = ", ".join(sorted(EXECUTORS))
        raise UserError(f"--executor: {name!r} is not an executor; allowed: {allowed}")
    if jobs is not None and jobs < 1:
        raise UserError(f"--jobs: {jobs} is not a number of workers (1 or more)")
    return EXECUTORS[name](SimpleNamespace(jobs=jobs, ray_address=ray_address,
                                           job_count=job_count))  # fmt: skip
