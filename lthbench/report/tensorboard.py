"""Runs' curves for TensorBoard (``--tensorboard DIR``), written from the store.

The store stays the source of truth: each finished run's evaluation log is copied into
``DIR/<entry>/[<variant>/]seed_<s>/<place in the seed>`` with torch's own ``SummaryWriter``, once per run
(a marker file remembers it), so rerunning a suite adds only the runs that are new.
"""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path
from typing import Any

from lthbench.errors import UserError
from lthbench.store import Run

CURVES = ("train_loss", "train_accuracy", "val_loss", "val_accuracy", "test_loss",
          "test_accuracy", "lr")  # fmt: skip


def place(run: Run) -> str:
    """Where a run sits within its seed: round and control, phase and ratio, or 'run'."""
    parts = [f"{key}_{run.identity[key]}" for key in ("round", "control", "phase", "ratio")
             if run.identity.get(key) is not None]  # fmt: skip
    return "-".join(parts) or "run"


def require_tensorboard() -> None:
    """Refuse ``--tensorboard`` before anything trains when TensorBoard is not installed (after
    the training, the error would cost the verdicts and pages too)."""
    if importlib.util.find_spec("tensorboard") is None:
        raise UserError(
            "--tensorboard: TensorBoard is not installed; pip install 'lthbench[tensorboard]'"
        )


def variant_folder(variant: Any) -> str:
    """A variant's folder name ('' for the entry itself), so curves of a reduced run never
    share a folder with the full run's (their steps would interleave)."""
    if variant.full:
        return ""
    return re.sub(r"[^A-Za-z0-9_.=-]+", "_", variant.label).strip("_")


def write_runs(jobs: list[Any], store: Any, log_dir: Path) -> int:
    """Write every finished run of ``jobs`` not written before; return how many were."""
    require_tensorboard()
    from torch.utils.tensorboard import SummaryWriter

    written = 0
    for job in jobs:
        for run in job.method.plan(job.results(store), job.experiment.params):
            if not run.complete:
                continue
            entry = log_dir / job.experiment.id / variant_folder(job.experiment.variant)
            target = entry / f"seed_{job.seed}" / place(run)
            marker = target / f".lthbench-{run.id}"
            if marker.exists():
                continue
            writer = SummaryWriter(log_dir=str(target))
            for record in run.log():
                for curve in CURVES:
                    if record.get(curve) is not None:
                        writer.add_scalar(curve, record[curve], record["iteration"])
            writer.close()
            marker.touch()
            written += 1
    return written
