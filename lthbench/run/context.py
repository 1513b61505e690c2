"""One training run of an entry's seed: what a method trains through.

:class:`Context` owns everything a run needs besides the method's own decisions: its identity
(the experiment's resolved settings plus the method's ``extra``), the store's lock,
checkpoints and resumption, the entry's CPU thread count, and provenance (versions, commit,
device). Methods say *what* to train (``extra``, how to prepare the model, the hooks); a run
trains the same way whichever method asked.
"""

from __future__ import annotations

import contextlib
import datetime
import functools
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

import lthbench
from lthbench.data import DATASETS, Splits
from lthbench.data.base import DataAccess, DataInfo
from lthbench.models import create_model
from lthbench.provenance import device_model, source_commit
from lthbench.run.results import SeedResults
from lthbench.spec.entry import DatasetSpec, TrainingHparams
from lthbench.store import Run
from lthbench.train import TrainHooks, TrainResult, train
from lthbench.train.loop import to_layout
from lthbench.train.vectorised import train_many


@functools.lru_cache(maxsize=8)
def _load_splits(dataset_json: str, data_root: Path, device: str, access: DataAccess) -> Splits:
    """Cached by the dataset spec's JSON (the spec holds a dict, so is not hashable), the
    root, the device and the access (a split read without checksums is not one read with)."""
    entry_dataset = DatasetSpec.model_validate_json(dataset_json)
    splits = DATASETS[entry_dataset.name].load(entry_dataset, data_root, access)
    if device != "cpu":
        for name in ("train", "val", "test"):
            split = getattr(splits, name)
            if hasattr(split, "to"):
                setattr(splits, name, split.to(torch.device(device)))
    return splits


@dataclass(frozen=True)
class RunSpec:
    """One run to train: what joins the identity, how to prepare the model, a label."""

    extra: dict[str, Any] | None = None
    prepare: Callable[[nn.Module, Run], TrainHooks | None] | None = None
    label: str = ""
    start_iteration: int = 0
    """The schedule step the run starts at (a rewound ticket: the rewind point)."""
    training: TrainingHparams | None = None
    """Hyperparameters replacing the entry's for this run (fine-tuning's constant rate)."""


@dataclass
class Context(SeedResults):
    """Everything a method needs to train the runs of one (entry, seed)."""

    data_root: Path = field(default_factory=Path)
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))
    progress: bool = True
    checkpoint_seconds: float = 60.0
    access: DataAccess = field(default_factory=DataAccess)

    @property
    def training(self) -> TrainingHparams:
        return self.experiment.training

    @property
    def data_info(self) -> DataInfo:
        return self.experiment.data

    def splits(self) -> Splits:
        dataset = self.experiment.dataset
        return _load_splits(dataset.model_dump_json(), self.data_root, str(self.device),
                            self.access)  # fmt: skip

    def build_model(self, seed: int | None = None) -> nn.Module:
        """The network at initialisation θ0, determined by the seed alone, in the entry's
        memory layout (so evaluations outside the loop compute as the loop's own do)."""
        info = self.data_info
        torch.manual_seed(self.seed if seed is None else seed)
        model = create_model(self.experiment.model, info.num_classes, info.input_size)
        return to_layout(model, self.training)

    def train_run(
        self,
        extra: dict[str, Any] | None = None,
        prepare: Callable[[nn.Module, Run], TrainHooks | None] | None = None,
        label: str = "",
        training: TrainingHparams | None = None,
        start_iteration: int = 0,
    ) -> dict[str, Any]:
        """Train one stored run, or return its stored result.

        ``extra`` joins the run's identity (e.g. a lottery round); ``prepare`` may change the
        freshly initialised model (load θ0 or a rewind point, apply a mask, slim it) and
        return hooks for the loop. The weights a run starts from are stored as its
        ``init.pt``. ``training`` replaces the entry's hyperparameters for this run; it must be
        a function of the entry and ``extra`` (e.g. the rest of a schedule after a draw), and
        so must ``start_iteration`` (a rewound ticket starts at the rewind point's step).
        """
        run = self.run_for(extra)
        problem, stored = self.inspect(run)
        if stored is not None:
            return stored
        with run.lock(), self.cpu_threads():
            problem, stored = self.inspect(run)
            if problem is not None:
                moved = run.quarantine()
                print(f"warning: run {run.id}: {problem}; moved to {moved} and redone",
                      file=sys.stderr)  # fmt: skip
            if stored is not None:
                return stored
            splits = self.splits()
            model, hooks = self._start(run, prepare, training)
            outcome = train(
                model,
                splits,
                training or self.training,
                seed=self.seed,
                precision=self.experiment.precision,
                device=self.device,
                checkpoints=run,
                checkpoint_seconds=self.checkpoint_seconds,
                hooks=hooks,
                progress=f"{self.experiment.id} seed {self.seed}{' ' + label if label else ''}"
                if self.progress
                else None,
                start_iteration=start_iteration,
            )
            self._finish(run, model, outcome)
        result = run.result()
        assert result is not None
        return result

    def train_together(self, specs: list[RunSpec]) -> list[dict[str, Any]]:
        """Train runs of one architecture at once with the vectorised loop
        (:mod:`lthbench.train.vectorised`), each with this seed's data order.

        The caller makes sure the runs can be vectorised (no dropout, no ``stop`` or
        ``penalty`` hooks, one ``start_iteration``) and names the group in each run's
        ``extra``: batched convolutions round by the group's size, so a group is trained whole
        whenever one of its runs is missing (stored members are recomputed, not rewritten).
        No checkpoints are written mid-group: a killed group starts over, and the group is
        small by construction."""
        runs = [self.run_for(spec.extra) for spec in specs]
        with contextlib.ExitStack() as locks, self.cpu_threads():
            for run in sorted(runs, key=lambda r: r.id):
                locks.enter_context(run.lock())
            missing: list[bool] = []
            for run in runs:
                problem, stored = self.inspect(run)
                if problem is not None:
                    moved = run.quarantine()
                    print(f"warning: run {run.id}: {problem}; moved to {moved} and redone",
                          file=sys.stderr)  # fmt: skip
                missing.append(stored is None)
            if any(missing):
                self._train_group(specs, runs, missing)
        results = [run.result() for run in runs]
        assert all(result is not None for result in results)
        return results  # type: ignore[return-value]

    def _train_group(self, specs: list[RunSpec], runs: list[Run], missing: list[bool]) -> None:
        starts = {spec.start_iteration for spec in specs}
        if len(starts) != 1:
            raise ValueError("a vectorised group starts at one schedule step")
        if any(spec.training is not None for spec in specs):
            raise ValueError("a vectorised group trains with the entry's hyperparameters")
        splits = self.splits()
        started = [
            self._start(run, spec.prepare, None, save=is_missing)
            for spec, run, is_missing in zip(specs, runs, missing, strict=True)
        ]
        models = [model for model, _ in started]
        if self.progress:
            labels = ", ".join(spec.label for spec in specs)
            print(f"{self.experiment.id} seed {self.seed}: {labels} (vectorised)", flush=True)
        outcomes = train_many(models, splits, self.training, seeds=[self.seed] * len(models),
                              hooks=[hooks for _, hooks in started], device=self.device,
                              start_iteration=starts.pop())  # fmt: skip
        for run, model, outcome, is_missing in zip(runs, models, outcomes, missing, strict=True):
            if is_missing:
                self._finish(run, model, outcome, {"vectorised_runs": len(models)})

    @contextlib.contextmanager
    def cpu_threads(self) -> Iterator[None]:
        """Train with the entry's ``resources.cpus`` torch threads, whoever calls (any executor,
        a test, a notebook): CPU reductions split by thread, so the count is part of the run."""
        previous = torch.get_num_threads()
        torch.set_num_threads(self.experiment.resources.cpus)
        try:
            yield
        finally:
            torch.set_num_threads(previous)

    def _start(
        self,
        run: Run,
        prepare: Callable[[nn.Module, Run], TrainHooks | None] | None,
        training: TrainingHparams | None,
        save: bool = True,
    ) -> tuple[nn.Module, TrainHooks | None]:
        """The run's resolved config, its prepared model at the start, and its hooks
        (``save=False``: a stored run recomputed for its group; its files stay as they are)."""
        if save:
            run.save_config(self._resolved(run, training or self.training))
        model = self.build_model()
        hooks = prepare(model, run) if prepare is not None else None
        if save and not run.has_state("init"):
            run.save_state("init", model.state_dict())
        return model, hooks

    def _finish(
        self, run: Run, model: nn.Module, outcome: TrainResult, extra: dict[str, Any] | None = None
    ) -> None:
        record = {
            **outcome.summary,
            "iterations": outcome.iterations,
            "wall_time_s": outcome.wall_time_s,
            "device": str(self.device),
            "device_model": device_model(str(self.device)),
            "torch_threads": torch.get_num_threads(),
            "torch_version": torch.__version__,
            "lthbench_version": lthbench.__version__,
            "lthbench_commit": source_commit(),
            "finished_at": datetime.datetime.now(datetime.timezone.utc).isoformat(
                timespec="seconds"
            ),
            **(extra or {}),
        }
        run.save_elapsed_at_eval(outcome.elapsed_s)
        run.finish(record, model.state_dict(), outcome.log)

    def _resolved(self, run: Run, training: TrainingHparams) -> dict[str, Any]:
        full = self.experiment.entry.model_dump(
            mode="json", include={"model", "dataset", "precision"}
        )
        full["training"] = training.model_dump(mode="json")
        return {
            "identity": run.identity,
            "resolved": {**full, "seed": self.seed},
            "data": {
                "train_size": self.data_info.train_size,
                "iterations_per_epoch": self.iterations_per_epoch,
                "total_iterations": self.experiment.iterations(training.duration),
            },
        }
