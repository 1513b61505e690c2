"""Experiments × seeds → jobs; every check that can fail runs before anything is written.

A job is one (entry, seed): the method's chain of runs for that seed, executed in order, then
read back as result records. Reading alone (``stored_records``) never trains.
"""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import lthbench
from lthbench.data import DATASETS
from lthbench.data.base import OFFLINE, DataAccess
from lthbench.errors import UserError
from lthbench.methods import METHODS, Method
from lthbench.methods.records import checked
from lthbench.methods.training_cost import priced
from lthbench.provenance import code_stamp
from lthbench.run import Experiment, SeedResults
from lthbench.runner.cost import stored_estimate
from lthbench.runner.resolve import check_fit, resolve_sibling
from lthbench.store import RunStore

if TYPE_CHECKING:  # training needs torch; planning and reading do not
    import torch

    from lthbench.run.context import Context


@dataclass
class Job:
    experiment: Experiment
    seed: int

    @property
    def method(self) -> Method:
        return METHODS[self.experiment.method_name]

    def results(self, store: RunStore) -> SeedResults:
        return SeedResults(self.experiment, self.seed, store)

    def context(
        self,
        store: RunStore,
        data_root: Path,
        device: torch.device,
        progress: bool,
        checkpoint_seconds: float | None = None,
        access: DataAccess = OFFLINE,
    ) -> Context:
        from lthbench.run.context import Context

        seconds = checkpoint_interval() if checkpoint_seconds is None else checkpoint_seconds
        return Context(self.experiment, self.seed, store, data_root, device, progress, seconds,
                       access)  # fmt: skip

    read: list[dict[str, Any]] | None = field(default=None, compare=False, repr=False)
    """Its records, where :func:`has_work` found it done and read them."""

    @property
    def digest(self) -> str:
        """What this job's records are a function of, besides its runs' folders and the code
        that reads them (:func:`reading_code`): the resolved entry and the seed."""
        return f"{self.experiment.digest}:{self.seed}"

    def records(self, results: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Result records with the entry's identity in front (runs may be shared by entries),
        each checked against the method's record contract."""
        method, model = self.experiment.method_name, self.method.Record
        return [
            checked(method, model, {"entry_id": self.experiment.id, "seed": self.seed,
                                    "method": method, **r})
            for r in results
        ]  # fmt: skip


def reading_code(*also: Path) -> str:
    """:func:`~lthbench.provenance.code_stamp` of lthbench, every registered method's package
    (plugins' among them) and ``also`` (a registry folder)."""
    return _reading_code(tuple(METHODS), also)


@functools.cache
def _reading_code(methods: tuple[str, ...], also: tuple[Path, ...]) -> str:
    packages = {Path(lthbench.__file__).parent, *also}
    for name in methods:
        packages.add(Path(sys.modules[type(METHODS[name]).__module__].__file__ or ".").parent)
    return code_stamp(frozenset(packages))


def plan(experiments: Iterable[Experiment], seed: int | None = None) -> list[Job]:
    """One job per experiment and seed (or the one ``seed``)."""
    return [Job(e, s) for e in experiments for s in (e.seeds if seed is None else [seed])]


def ordered(jobs: list[Job], cost: dict[str, float]) -> list[Job]:
    """The order that shows a verdict early without lengthening the suite: first the jobs of
    the cheapest entry whose claims compare with no other entry (its verdict can be printed
    within minutes), then every other job longest first (the longest-processing-time rule,
    which keeps every worker busy to the end). ``cost``: an entry's planned FLOPs."""
    entries = {job.experiment.id: job.experiment for job in jobs}
    alone = [e for e in entries.values() if not e.entry.siblings]
    first = min(alone, key=lambda e: (cost.get(e.id, 0.0), e.id), default=None)
    head = [job for job in jobs if first is not None and job.experiment.id == first.id]
    rest = [job for job in jobs if first is None or job.experiment.id != first.id]
    per_job = {e.id: cost.get(e.id, 0.0) / max(len(e.seeds), 1) for e in entries.values()}
    return head + sorted(rest, key=lambda job: -per_job[job.experiment.id])


def pending(jobs: Iterable[Job], store: RunStore) -> list[Job]:
    """The jobs with work left (a run to train, figures to cache): read from the store alone."""
    return [job for job in jobs if has_work(job, store)]


def has_work(job: Job, store: RunStore) -> bool:
    """Whether ``job`` has work left. A job found done is read at once (into ``job.read``)
    and remembered like any read (see :func:`stored_records`): a cache-hit ``run`` then
    stats each folder once and parses nothing else."""
    key = f"done:{job.digest}"
    known = store.recall(key, reading_code())
    if isinstance(known, list):
        job.read = known
        return False
    view = store.watched()
    results = job.results(view)
    if job.method.pending(results, job.experiment.params):
        return True
    job.read = _read_and_remember(job, store, view, results, key)
    return False


def check_trainable(jobs: Iterable[Job], data_root: Path, access: DataAccess = OFFLINE) -> None:
    """What training needs beyond resolution, checked for every job before any trains: each
    network fits its data and method (built on the meta device) and the data files are there."""
    seen: set[str] = set()
    for job in jobs:
        experiment = job.experiment
        if experiment.id in seen:
            continue
        seen.add(experiment.id)
        check_fit(experiment)
        try:
            DATASETS[experiment.dataset.name].check(experiment.dataset, data_root, access)
        except UserError as error:
            raise UserError(f"{experiment.file}: {error}") from None


def checkpoint_interval() -> float:
    """Seconds between checkpoints: $LTHBENCH_CHECKPOINT_SECONDS, else 60."""
    return float(os.environ.get("LTHBENCH_CHECKPOINT_SECONDS", "60"))


def execute(
    job: Job,
    store: RunStore,
    data_root: Path,
    device: torch.device,
    progress: bool = True,
    checkpoint_seconds: float | None = None,
    access: DataAccess = OFFLINE,
) -> list[dict[str, Any]]:
    """Train the job's runs (stored ones are read), then read its records."""
    context = job.context(store, data_root, device, progress, checkpoint_seconds, access)
    job.method.run(context, job.experiment.params)
    return job.records(job.method.records(context, job.experiment.params))


def stored_records(job: Job, store: RunStore) -> list[dict[str, Any]]:
    """The job's completed results, read from the store: no data, no model, no training.

    A read is remembered in the store's index under :attr:`Job.digest` while every run folder
    it read stays as it was (and the code that read it is unchanged), so reading thousands of
    runs parses none of them twice. A read that met an unsound run is never remembered: its
    warning is said each time."""
    if job.read is not None:
        return job.read
    for key in (f"done:{job.digest}", f"records:{job.digest}"):
        known = store.recall(key, reading_code())
        if isinstance(known, list):
            return known
    view = store.watched()
    return _read_and_remember(job, store, view, job.results(view), f"records:{job.digest}")


def _read_and_remember(job: Job, store: RunStore, view: RunStore, results: SeedResults,
                       key: str) -> list[dict[str, Any]]:  # fmt: skip
    """The job's records read through ``view`` (from ``store.watched()``), remembered under
    ``key`` unless a run read was unsound."""
    records = job.records(job.method.records(results, job.experiment.params))
    assert view.watch is not None
    view.watch.sound = all(results.inspect(run)[0] is None for run in view.watch.handed)
    store.remember(key, reading_code(), view, records)
    return records


def choose_device(name: str) -> torch.device:
    import torch

    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise UserError(f"--device {name}: no CUDA device is available")
    try:
        return torch.device(name)
    except RuntimeError:
        raise UserError(f"--device: {name!r} is not a device (auto, cpu, cuda, cuda:1)") from None


def collect(
    experiments: Iterable[Experiment],
    store: RunStore,
    registry: Path | None = None,
    overrides: Iterable[str] = (),
    budget: float = 1.0,
) -> dict[str, list[dict[str, Any]]]:
    """Stored records by entry id for ``experiments`` and every sibling entry their claims
    name (siblings get the same overrides and budget), each with the training FLOPs its
    method prices it at (:func:`~lthbench.methods.training_cost.priced`) where ``lthbench
    plan`` left the entry's estimate in the store."""
    todo = list(experiments)
    records: dict[str, list[dict[str, Any]]] = {}
    while todo:
        experiment = todo.pop()
        if experiment.id in records:
            continue
        found = [
            record
            for seed in experiment.seeds
            for record in stored_records(Job(experiment, seed), store)
        ]
        estimate = stored_estimate(experiment, store) if found else None
        records[experiment.id] = priced(METHODS[experiment.method_name], experiment, found,
                                        estimate.forward_flops if estimate else None)  # fmt: skip
        for sibling in experiment.entry.siblings:
            if sibling not in records:
                found = resolve_sibling(sibling, registry, overrides, budget)
                if found is None:
                    records[sibling] = []
                else:
                    todo.append(found)
    return records
