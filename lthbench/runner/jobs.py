"""Entries × seeds → jobs; every check that can fail runs before anything is written.

A job is one (entry, seed): the method's chain of runs for that seed, executed in order.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from pydantic import BaseModel

from lthbench.data import DATASETS
from lthbench.data.loader import iterations_per_epoch
from lthbench.errors import UserError
from lthbench.methods import METHODS
from lthbench.models import check_model
from lthbench.run import Context
from lthbench.spec.duration import Duration
from lthbench.spec.entry import Entry
from lthbench.store import RunStore

MAX_TOTAL_ITERATIONS = 100_000_000


@dataclass
class Job:
    entry: Entry
    seed: int

    @property
    def method(self) -> Any:
        return METHODS[self.entry.method.name]

    @property
    def params(self) -> Any:
        return self.method.Params.model_validate(self.entry.method.params)

    def context(
        self,
        store: RunStore,
        data_root: Path,
        device: torch.device,
        progress: bool,
        checkpoint_seconds: float | None = None,
    ) -> Context:
        seconds = checkpoint_interval() if checkpoint_seconds is None else checkpoint_seconds
        return Context(self.entry, self.seed, store, data_root, device, progress, seconds)

    def records(self, results: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Result records with the entry's identity in front (runs may be shared by entries)."""
        return [
            {"entry_id": self.entry.id, "seed": self.seed, "method": self.entry.method.name, **r}
            for r in results
        ]


def check_entry(entry: Entry, data_root: Path | None = None) -> None:
    """What the schema cannot see: model and data fit, the budget, and (given a data root)
    that the data files are there. Needs no data loaded and writes nothing."""
    dataset = DATASETS[entry.dataset.name]
    if data_root is not None:
        dataset.check(entry.dataset, data_root)
    info = dataset.info(entry.dataset)
    check_model(entry.model, info.num_classes, info.input_size)
    hp = entry.training
    per_epoch = iterations_per_epoch(info.train_size, hp.batch_size)
    total = hp.duration.to_iterations(per_epoch)
    if total > MAX_TOTAL_ITERATIONS:
        raise UserError(
            f"training.duration: {hp.duration} is {total} iterations; at most {MAX_TOTAL_ITERATIONS}"
        )
    if hp.batch_size > info.train_size:
        raise UserError(
            f"training.batch_size: {hp.batch_size} exceeds the {info.train_size} training examples"
        )
    if hp.warmup.to_iterations(per_epoch) > total:
        raise UserError(
            f"training.warmup: {hp.warmup} is longer than training.duration {hp.duration}"
        )
    method = METHODS[entry.method.name]
    method.check(entry, method.Params.model_validate(entry.method.params), per_epoch)
    for index, milestone in enumerate(hp.milestones):
        if milestone.to_iterations(per_epoch) > total:
            raise UserError(
                f"training.milestones[{index}]: {milestone} is past training.duration {hp.duration}"
            )


def _scale(value: Any, factor: float, per_epoch: int) -> Any:
    if isinstance(value, Duration):
        if value.is_zero:
            return value
        return Duration(iterations=max(1, round(value.to_iterations(per_epoch) * factor)))
    if isinstance(value, list):
        return [_scale(v, factor, per_epoch) for v in value]
    if isinstance(value, BaseModel):
        return value.model_copy(
            update={
                k: _scale(getattr(value, k), factor, per_epoch) for k in type(value).model_fields
            }
        )
    return value


def scale_budget(entry: Entry, factor: float) -> Entry:
    """The entry with every duration (budget, warmup, milestones, evaluation interval, rewind
    points) scaled by ``factor``: a quick run with the entry's structure, e.g. for smoke tests.
    The scaled durations become part of the runs' identities, so nothing is confused."""
    if not 0 < factor <= 1:
        raise UserError(f"--budget: {factor} is not in (0, 1]")
    info = DATASETS[entry.dataset.name].info(entry.dataset)
    per_epoch = iterations_per_epoch(info.train_size, entry.training.batch_size)
    method = METHODS[entry.method.name]
    params = _scale(method.Params.model_validate(entry.method.params), factor, per_epoch)
    scaled = entry.model_copy(
        update={
            "training": _scale(entry.training, factor, per_epoch),
            "method": entry.method.model_copy(
                update={"params": params.model_dump(mode="json", exclude_defaults=True)}
            ),
        }
    )
    scaled._file = entry.file
    return scaled


def plan(
    entries: Iterable[Entry], seed: int | None, data_root: Path, budget: float = 1.0
) -> list[Job]:
    jobs: list[Job] = []
    for entry in entries:
        if budget != 1.0:
            entry = scale_budget(entry, budget)
        try:
            check_entry(entry, data_root)
        except UserError as error:
            raise UserError(f"{entry.file}: {error}") from None
        seeds = entry.seeds if seed is None else [seed]
        jobs.extend(Job(entry, s) for s in seeds)
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
    context = job.context(store, data_root, device, progress, checkpoint_seconds)
    return job.records(job.method.run(context, job.params))


def stored_records(job: Job, store: RunStore, data_root: Path) -> list[dict[str, Any]]:
    """The job's completed results without training anything (for `show`)."""
    context = job.context(store, data_root, torch.device("cpu"), progress=False)
    context.read_only = True
    return job.records(job.method.run(context, job.params))


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
    entries: Iterable[Entry],
    store: RunStore,
    data_root: Path,
    registry: Path | None = None,
    overrides: Iterable[str] = (),
    budget: float = 1.0,
) -> dict[str, list[dict[str, Any]]]:
    """Stored records by entry id for ``entries`` and every sibling entry their claims name
    (siblings get the same overrides and budget)."""
    from lthbench.spec.load import resolve

    todo = list(entries)
    records: dict[str, list[dict[str, Any]]] = {}
    while todo:
        entry = todo.pop()
        if entry.id in records:
            continue
        records[entry.id] = [
            record
            for seed in entry.seeds
            for record in stored_records(Job(entry, seed), store, data_root)
        ]
        for claim in entry.claims:
            if isinstance(claim.reference, str) and claim.reference.startswith("entry:"):
                sibling = claim.reference.removeprefix("entry:")
                if sibling not in records:
                    try:
                        found = resolve([sibling], registry, list(overrides))
                        todo.extend(scale_budget(e, budget) if budget != 1.0 else e for e in found)
                    except UserError:
                        records[sibling] = []
    return records
