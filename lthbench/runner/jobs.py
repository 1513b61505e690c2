"""Experiments × seeds → jobs; every check that can fail runs before anything is written.

A job is one (entry, seed): the method's chain of runs for that seed, executed in order, then
read back as result records. Reading alone (``stored_records``) never trains.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from lthbench.data import DATASETS
from lthbench.errors import UserError
from lthbench.methods import METHODS, Method
from lthbench.run import Context, Experiment, SeedResults
from lthbench.runner.resolve import select
from lthbench.store import RunStore


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
    ) -> Context:
        seconds = checkpoint_interval() if checkpoint_seconds is None else checkpoint_seconds
        return Context(self.experiment, self.seed, store, data_root, device, progress, seconds)

    def records(self, results: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Result records with the entry's identity in front (runs may be shared by entries)."""
        return [
            {"entry_id": self.experiment.id, "seed": self.seed,
             "method": self.experiment.method_name, **r}
            for r in results
        ]  # fmt: skip


def plan(experiments: Iterable[Experiment], seed: int | None, data_root: Path) -> list[Job]:
    """Jobs for the experiments' seeds (or one seed), once their data files are found."""
    jobs: list[Job] = []
    for experiment in experiments:
        try:
            DATASETS[experiment.dataset.name].check(experiment.dataset, data_root)
        except UserError as error:
            raise UserError(f"{experiment.file}: {error}") from None
        seeds = experiment.seeds if seed is None else [seed]
        jobs.extend(Job(experiment, s) for s in seeds)
    return jobs


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
) -> list[dict[str, Any]]:
    """Train the job's runs (stored ones are read), then read its records."""
    context = job.context(store, data_root, device, progress, checkpoint_seconds)
    job.method.run(context, job.experiment.params)
    return job.records(job.method.records(context, job.experiment.params))


def stored_records(job: Job, store: RunStore) -> list[dict[str, Any]]:
    """The job's completed results, read from the store: no data, no model, no training."""
    return job.records(job.method.records(job.results(store), job.experiment.params))


def choose_device(name: str) -> torch.device:
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
        for claim in experiment.claims:
            if isinstance(claim.reference, str) and claim.reference.startswith("entry:"):
                sibling = claim.reference.removeprefix("entry:")
                if sibling not in records:
                    try:
                        todo.extend(select([sibling], registry, list(overrides), budget))
                    except UserError:
                        records[sibling] = []
    return records
