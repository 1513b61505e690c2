"""Experiments × seeds → jobs; every check that can fail runs before anything is written.

A job is one (entry, seed): the method's chain of runs for that seed, executed in order, then
read back as result records. Reading alone (``stored_records``) never trains.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lthbench.data import DATASETS
from lthbench.data.base import OFFLINE, DataAccess
from lthbench.errors import UserError
from lthbench.methods import METHODS, Method
from lthbench.methods.records import checked
from lthbench.run import Experiment, SeedResults
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

    def records(self, results: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Result records with the entry's identity in front (runs may be shared by entries),
        each checked against the method's record contract."""
        method, model = self.experiment.method_name, self.method.Record
        return [
            checked(method, model, {"entry_id": self.experiment.id, "seed": self.seed,
                                    "method": method, **r})
            for r in results
        ]  # fmt: skip


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
    return [job for job in jobs if job.method.pending(job.results(store), job.experiment.params)]


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
    """The job's completed results, read from the store: no data, no model, no training."""
    return job.records(job.method.records(job.results(store), job.experiment.params))


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
    name (siblings get the same overrides and budget)."""
    todo = list(experiments)
    records: dict[str, list[dict[str, Any]]] = {}
    while todo:
        experiment = todo.pop()
        if experiment.id in records:
            continue
        records[experiment.id] = [
            record
            for seed in experiment.seeds
            for record in stored_records(Job(experiment, seed), store)
        ]
        for sibling in experiment.entry.siblings:
            if sibling not in records:
                found = resolve_sibling(sibling, registry, overrides, budget)
                if found is None:
                    records[sibling] = []
                else:
                    todo.append(found)
    return records
