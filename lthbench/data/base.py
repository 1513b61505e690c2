"""The dataset plugin interface, its registry, and the split every dataset returns.

A dataset knows its shape without loading (so entries validate in milliseconds), says in one
line where its files belong when they are missing, and returns train / validation / test
splits. The validation split is carved from the training set with a fixed seed; the test
set is never used to choose anything, except by an entry that sets ``validation_size: 0``
(the setting of papers and official codes that train on the whole training set and evaluate
on the test set): then the validation figures are the test figures, and says so.
"""

from __future__ import annotations

import math
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import platformdirs

from lthbench.errors import UserError
from lthbench.registry import Registry
from lthbench.spec.entry import DatasetSpec

if TYPE_CHECKING:
    import torch
    from torch.utils.data import Dataset


DATA_ENV = "LTHBENCH_DATA"
SPLIT_SEED = 0
"""Seed of every dataset's fixed validation split; a run's seed never changes the split."""


def default_data_root() -> Path:
    """``$LTHBENCH_DATA`` is the data root itself, exactly as ``--data-root`` is; else the
    user cache's ``data`` folder."""
    named = os.environ.get(DATA_ENV)
    if not named:
        return Path(platformdirs.user_cache_dir("lthbench")) / "data"
    root = Path(named)
    legacy = root / "data"
    if not legacy.is_dir() or any(child.name != "data" for child in root.iterdir()):
        return root
    # before 2026-12 the variable named the folder above the data root: still found
    print(f"note: ${DATA_ENV}={root} holds the old layout; using {legacy} (move its contents "
          f"up into {root} to silence this)", file=sys.stderr)  # fmt: skip
    return legacy


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
        import torch

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


@dataclass(frozen=True)
class DataAccess:
    """How a command may reach real datasets' files: ``download`` lets torchvision fetch the
    missing ones (``--download``; never otherwise), ``verify`` checks their published
    checksums (``--no-verify`` reads a user's own copies as they are). Passed to every load and
    check, and part of the split cache's key: no global flag to set or forget."""

    download: bool = False
    verify: bool = True


OFFLINE = DataAccess()
"""The default access: nothing downloaded, checksums verified."""


class DatasetPlugin:
    """Subclass, set ``name`` and the class attributes, implement ``load``; register it."""

    name: ClassVar[str]
    num_classes: ClassVar[int]
    input_size: ClassVar[tuple[int, ...]]
    full_train_size: ClassVar[int]
    test_size: ClassVar[int]
    """Test examples (one of them is the resolution of a test accuracy)."""
    default_validation_size: ClassVar[int]
    augmentation: ClassVar[str | None] = None
    """The standard augmentation `augment: true` turns on; None: the dataset has none."""
    generation_defaults: ClassVar[dict[str, Any]] = {}
    """For a generated dataset, the generator's parameters an entry may set under
    ``dataset.generation`` (with their defaults, which fix the type of each)."""

    def spec_problem(self, spec: DatasetSpec) -> str | None:
        """What is wrong with an entry's dataset settings for this dataset (None: fine)."""
        if spec.augment and self.augmentation is None:
            return f"augment: {self.name} has no standard augmentation"
        if spec.generation and not self.generation_defaults:
            return f"generation: {self.name} is not generated; it has no generation parameters"
        for key, value in spec.generation.items():
            if key not in self.generation_defaults:
                allowed = ", ".join(sorted(self.generation_defaults))
                return f"generation.{key}: unknown parameter of {self.name}; allowed: {allowed}"
            default = self.generation_defaults[key]
            if not _like(value, default):
                return f"generation.{key}: {value!r} is not like the default {default!r}"
        return None

    def test_examples(self, spec: DatasetSpec) -> int:
        return self.test_size

    def full_train_examples(self, spec: DatasetSpec) -> int:
        """Training examples before the validation split (a generated set may change it)."""
        return self.full_train_size

    def info(self, spec: DatasetSpec) -> DataInfo:
        validation = self.validation_size(spec)
        size = self.input_size
        if spec.resize is not None:
            if len(size) != 3:
                raise UserError(f"dataset.resize: {self.name} is not an image dataset")
            size = (size[0], spec.resize, spec.resize)
        return DataInfo(self.num_classes, size, self.full_train_examples(spec) - validation)

    def validation_size(self, spec: DatasetSpec) -> int:
        size = (
            self.default_validation_size if spec.validation_size is None else spec.validation_size
        )
        full = self.full_train_examples(spec)
        if not 0 <= size < full:
            raise UserError(
                f"dataset.validation_size: {size} is not in [0, {full - 1}] "
                f"for {self.name} ({full} training examples)"
            )
        return size

    def check(self, spec: DatasetSpec, data_root: Path, access: DataAccess = OFFLINE) -> None:
        """Raise UserError (one line: where the files belong) when the data files are not
        there (an embedded dataset has none to miss)."""

    def load(self, spec: DatasetSpec, data_root: Path, access: DataAccess = OFFLINE) -> Splits:
        raise NotImplementedError


DATASETS: Registry[DatasetPlugin] = Registry("dataset")


def _like(value: Any, default: Any) -> bool:
    """Whether ``value`` has the type of ``default`` (an int is a float; a bool is neither;
    a list of ints of the same length)."""
    if isinstance(value, list) or isinstance(default, list):
        return (isinstance(value, list) and isinstance(default, list)
                and len(value) == len(default) and all(_like(v, 0) for v in value))  # fmt: skip
    if isinstance(default, bool) or isinstance(value, bool):
        return isinstance(value, bool) and isinstance(default, bool)
    return isinstance(value, int) if isinstance(default, int) else isinstance(value, int | float)


def register_dataset(cls: type[DatasetPlugin]) -> type[DatasetPlugin]:
    """Class decorator: make a dataset available to entries under ``cls.name`` (a name taken
    by another module is an error)."""
    DATASETS.add(cls.name, cls(), cls.__module__)
    return cls


def carve_validation(
    x: torch.Tensor, y: torch.Tensor, size: int
) -> tuple[tuple[torch.Tensor, torch.Tensor], tuple[torch.Tensor, torch.Tensor]]:
    """Split (x, y) into train and validation with the fixed split seed. Size 0 keeps the
    training set whole and in its order, with an empty validation split (callers then
    validate on the test split, see :func:`validation_split`)."""
    import torch

    if size == 0:
        return (x, y), (x[:0], y[:0])
    order = torch.randperm(len(y), generator=torch.Generator().manual_seed(SPLIT_SEED))
    val, train = order[:size], order[size:]
    return (x[train], y[train]), (x[val], y[val])


def resize_images(x: torch.Tensor, side: int | None) -> torch.Tensor:
    import torch

    if side is None or tuple(x.shape[-2:]) == (side, side):
        return x
    return torch.nn.functional.interpolate(
        x.float(), size=(side, side), mode="bilinear", align_corners=False
    )


def validation_split(val: Dataset, test: Dataset, size: int) -> Dataset:
    """The split early stopping reads: the carved validation split, or with ``validation_size:
    0`` the test split itself (no held-out data; early-stopping figures then select on test)."""
    return test if size == 0 else val


def iterations_per_epoch(train_size: int, batch_size: int) -> int:
    """Every example once per epoch; the last batch may be smaller."""
    return math.ceil(train_size / batch_size)
