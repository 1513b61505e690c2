"""The dataset plugin interface, its registry, and the split every dataset returns.

A dataset knows its shape without loading (so entries validate in milliseconds), says in one
line where its files belong when they are missing, and returns train / validation / test
splits. The validation split is carved from the training set with a fixed seed; the test
set is never used to choose anything.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import platformdirs
import torch
from torch.utils.data import Dataset

from lthbench.errors import UserError
from lthbench.spec.entry import DatasetSpec

DATA_ENV = "LTHBENCH_DATA"
SPLIT_SEED = 0
"""Seed of every dataset's fixed validation split; a run's seed never changes the split."""


def default_data_root() -> Path:
    return Path(os.environ.get(DATA_ENV) or platformdirs.user_cache_dir("lthbench")) / "data"


@dataclass(frozen=True)
class DataInfo:
    num_classes: int
    input_size: tuple[int, ...]
    """(channels, *spatial) of one example as the model sees it."""
    train_size: int
    """Training examples after the validation split is removed."""


@dataclass
class TensorSplit:
    """A split held in memory: uint8 images are normalised per batch, float data as is."""

    x: torch.Tensor
    y: torch.Tensor
    mean: tuple[float, ...] | None = None
    std: tuple[float, ...] | None = None

    def __len__(self) -> int:
        return len(self.y)

    def prepare(self, x: torch.Tensor) -> torch.Tensor:
        if self.mean is None or self.std is None:
            return x.float()
        shape = (1, -1) + (1,) * (x.dim() - 2)
        mean = torch.tensor(self.mean, device=x.device).view(shape)
        std = torch.tensor(self.std, device=x.device).view(shape)
        return (x.float() / 255.0 - mean) / std

    def to(self, device: torch.device) -> TensorSplit:
        return TensorSplit(self.x.to(device), self.y.to(device), self.mean, self.std)


@dataclass
class Splits:
    train: TensorSplit | Dataset
    val: TensorSplit | Dataset
    test: TensorSplit | Dataset
    info: DataInfo
    augment: str | None = None
    """Name of the tensor augmentation to apply to training batches (see data.loader)."""


class DatasetPlugin:
    """Subclass, set ``name`` and the class attributes, implement ``load``; register it."""

    name: ClassVar[str]
    num_classes: ClassVar[int]
    input_size: ClassVar[tuple[int, ...]]
    full_train_size: ClassVar[int]
    default_validation_size: ClassVar[int]
    augmentation: ClassVar[str | None] = None
    """The standard augmentation `augment: true` turns on; None: the dataset has none."""

    def info(self, spec: DatasetSpec) -> DataInfo:
        validation = self.validation_size(spec)
        size = self.input_size
        if spec.resize is not None:
            if len(size) != 3:
                raise UserError(f"dataset.resize: {self.name} is not an image dataset")
            size = (size[0], spec.resize, spec.resize)
        return DataInfo(self.num_classes, size, self.full_train_size - validation)

    def validation_size(self, spec: DatasetSpec) -> int:
        size = (
            self.default_validation_size if spec.validation_size is None else spec.validation_size
        )
        if not 1 <= size < self.full_train_size:
            raise UserError(
                f"dataset.validation_size: {size} is not in [1, {self.full_train_size - 1}] "
                f"for {self.name} ({self.full_train_size} training examples)"
            )
        return size

    def check(self, spec: DatasetSpec, data_root: Path) -> None:
        """Raise UserError (one line: where the files belong) when the data is unusable."""
        self.info(spec)
        if spec.augment and self.augmentation is None:
            raise UserError(f"dataset.augment: {self.name} has no standard augmentation")

    def load(self, spec: DatasetSpec, data_root: Path) -> Splits:
        raise NotImplementedError


DATASETS: dict[str, DatasetPlugin] = {}


def register_dataset(cls: type[DatasetPlugin]) -> type[DatasetPlugin]:
    """Class decorator: make a dataset available to entries under ``cls.name``."""
    DATASETS[cls.name] = cls()
    return cls


def carve_validation(
    x: torch.Tensor, y: torch.Tensor, size: int
) -> tuple[tuple[torch.Tensor, torch.Tensor], tuple[torch.Tensor, torch.Tensor]]:
    """Split (x, y) into train and validation with the fixed split seed."""
    order = torch.randperm(len(y), generator=torch.Generator().manual_seed(SPLIT_SEED))
    val, train = order[:size], order[size:]
    return (x[train], y[train]), (x[val], y[val])


def resize_images(x: torch.Tensor, side: int | None) -> torch.Tensor:
    if side is None or tuple(x.shape[-2:]) == (side, side):
        return x
    return torch.nn.functional.interpolate(
        x.float(), size=(side, side), mode="bilinear", align_corners=False
    )
