"""Batches for the training loop, reproducible from a seed and resumable mid-epoch.

In-memory splits are batched by indexing tensors (no DataLoader, no per-example Python);
large ones use a DataLoader with workers. Either way the order of epoch ``e`` is a function
of (seed, e) alone, so a resumed run replays exactly the batches an uninterrupted one sees.
"""

from __future__ import annotations

from collections.abc import Iterator

import torch
from torch.utils.data import DataLoader, Dataset

from lthbench.data.base import TensorSplit, iterations_per_epoch

__all__ = ["AUGMENTATIONS", "TrainBatches", "eval_batches", "iterations_per_epoch"]


def _epoch_generator(seed: int, epoch: int, stream: int) -> torch.Generator:
    return torch.Generator().manual_seed((seed * 1_000_003 + epoch) * 7 + stream)


def crop_flip(x: torch.Tensor, generator: torch.Generator, padding: int = 4) -> torch.Tensor:
    """CIFAR's standard augmentation, vectorised: random crop after zero padding, random flip."""
    batch, _, height, width = x.shape
    padded = torch.nn.functional.pad(x, (padding,) * 4)
    dy = torch.randint(0, 2 * padding + 1, (batch,), generator=generator).to(x.device)
    dx = torch.randint(0, 2 * padding + 1, (batch,), generator=generator).to(x.device)
    flip = (torch.rand(batch, generator=generator) < 0.5).to(x.device)
    rows = dy[:, None] + torch.arange(height, device=x.device)[None]
    cols = dx[:, None] + torch.arange(width, device=x.device)[None]
    cols = torch.where(flip[:, None], cols.flip(1), cols)
    index = torch.arange(batch, device=x.device)[:, None, None]
    out = padded.permute(0, 2, 3, 1)[index, rows[:, :, None], cols[:, None, :]]
    return out.permute(0, 3, 1, 2).contiguous()


AUGMENTATIONS = {"crop_flip": crop_flip}


class TrainBatches:
    """Endless training batches; ``position`` (iterations consumed) is the whole state."""

    def __init__(
        self,
        split: TensorSplit | Dataset,
        batch_size: int,
        seed: int,
        device: torch.device,
        augment: str | None = None,
        workers: int = 4,
    ) -> None:
        self.split = split
        self.batch_size = batch_size
        self.seed = seed
        self.device = device
        self.augment = AUGMENTATIONS.get(augment)
        self.workers = workers
        self.per_epoch = iterations_per_epoch(len(split), batch_size)  # type: ignore[arg-type]

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        raise TypeError("use batches(start_iteration)")

    def batches(self, start: int = 0) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """Batches from iteration ``start`` on, identical to those of an unbroken run."""
        epoch, skip = divmod(start, self.per_epoch)
        while True:
            yield from self._epoch(epoch, skip)
            epoch, skip = epoch + 1, 0

    def indices(self, start: int = 0) -> Iterator[torch.Tensor]:
        """The example indices of each batch from iteration ``start`` on: what :meth:`batches`
        gathers from an in-memory split (several runs' batches can be gathered at once)."""
        epoch, skip = divmod(start, self.per_epoch)
        while True:
            yield from self._order(epoch).split(self.batch_size)[skip:]
            epoch, skip = epoch + 1, 0

    def _order(self, epoch: int) -> torch.Tensor:
        """Epoch ``epoch``'s seeded order of the examples; batches are its consecutive slices
        (the last may be smaller)."""
        return torch.randperm(len(self.split), generator=_epoch_generator(self.seed, epoch, 0))  # type: ignore[arg-type]

    def _epoch(self, epoch: int, skip: int) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        order = self._order(epoch)
        if isinstance(self.split, TensorSplit):
            augment_rng = _epoch_generator(self.seed, epoch, 1)
            for index, chosen in enumerate(order.split(self.batch_size)):
                if self.augment is None and index < skip:
                    continue
                x = self.split.prepare(self.split.x[chosen.to(self.split.x.device)])
                if self.augment is not None:
                    # skipped batches draw their augmentation too, so the stream stays identical
                    x = self.augment(x, augment_rng)
                if index < skip:
                    continue
                yield (
                    x.to(self.device),
                    self.split.y[chosen.to(self.split.y.device)].to(self.device),
                )
        else:
            loader = DataLoader(
                self.split,
                batch_size=self.batch_size,
                sampler=order.tolist(),
                num_workers=self.workers,
                pin_memory=self.device.type == "cuda",
                generator=_epoch_generator(self.seed, epoch, 1),  # seeds the workers' augmentation
            )
            for index, (x, y) in enumerate(loader):
                if index >= skip:
                    yield x.to(self.device, non_blocking=True), y.to(self.device, non_blocking=True)


def eval_batches(
    split: TensorSplit | Dataset, device: torch.device, batch_size: int = 1000, workers: int = 4
) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """The whole split in a fixed order, in fixed-size batches (so sums are reproducible)."""
    if isinstance(split, TensorSplit):
        for start in range(0, len(split), batch_size):
            x = split.prepare(split.x[start : start + batch_size])
            yield x.to(device), split.y[start : start + batch_size].to(device)
    else:
        yield from DataLoader(split, batch_size=batch_size, num_workers=workers)
