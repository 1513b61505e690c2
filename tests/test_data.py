"""Embedded datasets, real loaders on small files made here, and reproducible batching."""

from __future__ import annotations

import hashlib
import pickle
import struct
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import torch
from mnist1d.data import get_dataset_args

from lthbench.cli import main
from lthbench.data import DATASETS, TensorSplit
from lthbench.data.loader import TrainBatches, crop_flip
from lthbench.errors import UserError
from lthbench.runner.resolve import load_experiment
from lthbench.spec.entry import DatasetSpec
from lthbench.store import RunStore, run_id

NO_ROOT = Path("/nonexistent")


@pytest.mark.parametrize(
    ("name", "shape", "sizes"),
    [("mnist1d", (1, 40), (3500, 500, 1000)), ("mnist5k", (1, 28, 28), (3500, 500, 1000)),
     ("digits", (1, 8, 8), (1237, 200, 360))],
)  # fmt: skip
def test_embedded_splits(name: str, shape: tuple[int, ...], sizes: tuple[int, int, int]) -> None:
    splits = DATASETS[name].load(DatasetSpec(name=name), NO_ROOT)
    got = tuple(len(getattr(splits, s)) for s in ("train", "val", "test"))
    assert got == sizes
    assert tuple(splits.train.x.shape[1:]) == shape == splits.info.input_size
    assert splits.info.train_size == sizes[0]
    assert set(splits.train.y.tolist()) == set(range(10))
    # train and validation are disjoint parts of the training set
    train_rows = {tuple(r) for r in splits.train.x.flatten(1)[:, ::3].tolist()}
    assert not any(tuple(r) in train_rows for r in splits.val.x.flatten(1)[:, ::3].tolist())


def test_mnist5k_is_real_digits_split_by_class() -> None:
    splits = DATASETS["mnist5k"].load(DatasetSpec(name="mnist5k"), NO_ROOT)
    assert torch.bincount(splits.test.y).tolist() == [100] * 10
    again = DATASETS["mnist5k"].load(DatasetSpec(name="mnist5k"), NO_ROOT)
    assert torch.equal(splits.val.x, again.val.x)
    assert abs(splits.train.x.mean().item()) < 0.2  # normalised


def test_digits_resize() -> None:
    splits = DATASETS["digits"].load(DatasetSpec(name="digits", resize=32), NO_ROOT)
    assert splits.train.x.shape[1:] == (1, 32, 32)
    assert DATASETS["digits"].info(DatasetSpec(name="digits", resize=32)).input_size == (1, 32, 32)


def _idx(path: Path, array: np.ndarray, magic: int) -> None:
    path.write_bytes(struct.pack(f">I{array.ndim}I", magic, *array.shape) + array.tobytes())


def test_mnist_loader_reads_torchvision_files(tmp_path: Path) -> None:
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for prefix, count in (("train", 120), ("t10k", 30)):
        _idx(
            raw / f"{prefix}-images-idx3-ubyte",
            rng.integers(0, 256, (count, 28, 28), dtype=np.uint8),
            2051,
        )
        _idx(raw / f"{prefix}-labels-idx1-ubyte", (np.arange(count) % 10).astype(np.uint8), 2049)
    spec = DatasetSpec(name="mnist", validation_size=20)
    DATASETS["mnist"].check(spec, tmp_path)
    splits = DATASETS["mnist"].load(spec, tmp_path)
    assert (len(splits.train), len(splits.val), len(splits.test)) == (100, 20, 30)
    assert splits.train.x.dtype == torch.uint8 and splits.train.x.shape[1:] == (1, 28, 28)
    batch = splits.train.prepare(splits.train.x[:4])
    assert batch.dtype == torch.float32 and batch.shape == (4, 1, 28, 28)


def test_cifar10_loader_reads_torchvision_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from torchvision.datasets import CIFAR10

    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    rng = np.random.default_rng(0)
    names = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]
    for name in names:
        batch = {
            "data": rng.integers(0, 256, (20, 3072), dtype=np.uint8),
            "labels": [i % 10 for i in range(20)],
        }
        (folder / name).write_bytes(pickle.dumps(batch))
    (folder / "batches.meta").write_bytes(
        pickle.dumps({"label_names": [str(i) for i in range(10)]})
    )

    def md5(name: str) -> str:
        return hashlib.md5((folder / name).read_bytes()).hexdigest()

    monkeypatch.setattr(CIFAR10, "train_list", [[n, md5(n)] for n in names[:5]])
    monkeypatch.setattr(CIFAR10, "test_list", [["test_batch", md5("test_batch")]])
    monkeypatch.setattr(CIFAR10, "meta", {**CIFAR10.meta, "md5": md5("batches.meta")})
    spec = DatasetSpec(name="cifar10", validation_size=10, augment=True)
    DATASETS["cifar10"].check(spec, tmp_path)
    splits = DATASETS["cifar10"].load(spec, tmp_path)
    assert (len(splits.train), len(splits.val), len(splits.test)) == (90, 10, 20)
    assert splits.train.x.shape[1:] == (3, 32, 32) and splits.augment == "crop_flip"
    x, y = next(TrainBatches(splits.train, 16, 0, torch.device("cpu"), splits.augment).batches())
    assert x.shape == (16, 3, 32, 32) and x.dtype == torch.float32 and y.shape == (16,)


def test_cifar_files_that_fail_the_checksum_are_corrupted_not_missing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Files in torchvision's layout that are not the published ones (the real checksums
    apply): one line saying which and what to do; --no-verify reads them as they are."""
    from lthbench.data.base import DataAccess

    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        batch = {"data": rng.integers(0, 256, (20, 3072), dtype=np.uint8),
                 "labels": [i % 10 for i in range(20)]}  # fmt: skip
        (folder / name).write_bytes(pickle.dumps(batch))
    (folder / "batches.meta").write_bytes(pickle.dumps({"label_names": list("abcdefghij")}))
    spec = DatasetSpec(name="cifar10", validation_size=10)
    with pytest.raises(UserError) as error:
        DATASETS["cifar10"].check(spec, tmp_path)
    message = str(error.value)
    assert "corrupted (checksum mismatch)" in message and "data_batch_1" in message
    assert "not found" not in message and "--no-verify" in message
    own_copies = DataAccess(verify=False)  # --no-verify
    DATASETS["cifar10"].check(spec, tmp_path, own_copies)
    splits = DATASETS["cifar10"].load(spec, tmp_path, own_copies)
    assert (len(splits.train), len(splits.val), len(splits.test)) == (90, 10, 20)


def test_imagenet_image_folder(tmp_path: Path) -> None:
    from PIL import Image

    rng = np.random.default_rng(0)
    for split, count in (("train", 12), ("val", 4)):
        for label in ("n01", "n02"):
            folder = tmp_path / "imagenet" / split / label
            folder.mkdir(parents=True)
            for i in range(count):
                Image.fromarray(rng.integers(0, 256, (20, 24, 3), dtype=np.uint8)).save(
                    folder / f"{i}.png"
                )
    spec = DatasetSpec(name="imagenet", resize=16, validation_size=4)
    splits = DATASETS["imagenet"].load(spec, tmp_path)
    assert (len(splits.train), len(splits.val), len(splits.test)) == (20, 4, 8)
    batches = TrainBatches(splits.train, 5, 0, torch.device("cpu"), workers=0)
    x, _ = next(batches.batches())
    assert x.shape == (5, 3, 16, 16)
    broken = tmp_path / "imagenet" / "val" / "n01" / "0.png"
    broken.write_bytes(b"not an image")  # found only when a batch reads it
    with pytest.raises(UserError) as error:
        [splits.test[i] for i in range(len(splits.test))]
    assert str(broken) in str(error.value) and "\n" not in str(error.value)


@pytest.mark.parametrize("name", ["mnist", "cifar10", "cifar100", "imagenet"])
def test_missing_real_data_is_one_line_saying_where(name: str, tmp_path: Path) -> None:
    with pytest.raises(UserError) as error:
        DATASETS[name].check(DatasetSpec(name=name), tmp_path)
    message = str(error.value)
    assert f"dataset {name} not found: put" in message and str(tmp_path) in message
    assert "\n" not in message


@pytest.mark.parametrize("augment", [None, "crop_flip"])
def test_batches_resume_mid_epoch_identically(augment: str | None) -> None:
    split = TensorSplit(torch.randn(50, 1, 8, 8), torch.arange(50) % 10)
    batches = TrainBatches(split, 8, seed=4, device=torch.device("cpu"), augment=augment)
    stream = batches.batches(0)
    reference = [next(stream) for _ in range(20)]
    resumed = batches.batches(11)  # 7 batches per epoch: resume inside the second epoch
    for x, y in reference[11:]:
        rx, ry = next(resumed)
        assert torch.equal(x, rx) and torch.equal(y, ry)


@pytest.mark.parametrize("start", [0, 6, 11])
def test_batch_indices_are_what_batches_gather(start: int) -> None:
    """Vectorised training gathers several runs' batches with one index; it must be each run's
    own stream, ragged last batch and mid-epoch start included."""
    split = TensorSplit(torch.randn(50, 1, 4), torch.arange(50))  # label = index
    batches = TrainBatches(split, 8, seed=3, device=torch.device("cpu"))
    indices, stream = batches.indices(start), batches.batches(start)
    for _ in range(16):
        chosen = next(indices)
        x, y = next(stream)
        assert torch.equal(chosen, y) and torch.equal(split.prepare(split.x[chosen]), x)


def test_epochs_visit_every_example_once_in_a_seeded_order() -> None:
    split = TensorSplit(torch.arange(30).float().view(30, 1), torch.arange(30))
    first = TrainBatches(split, 7, seed=1, device=torch.device("cpu")).batches()
    labels = torch.cat([next(first)[1] for _ in range(5)])
    assert sorted(labels.tolist()) == list(range(30))
    other = TrainBatches(split, 7, seed=2, device=torch.device("cpu")).batches()
    assert not torch.equal(labels, torch.cat([next(other)[1] for _ in range(5)]))


def test_crop_flip_shapes_and_content() -> None:
    x = torch.arange(2 * 3 * 6 * 6).float().view(2, 3, 6, 6)
    out = crop_flip(x, torch.Generator().manual_seed(0), padding=0)
    for image, result in zip(x, out, strict=False):
        assert torch.equal(result, image) or torch.equal(result, image.flip(-1))
    padded = crop_flip(x, torch.Generator().manual_seed(0), padding=2)
    assert padded.shape == x.shape


def test_mnist1d_generation_parameters_validate_and_give_their_own_data_and_run_ids(
    write_entry: Callable[..., Path], store: Path
) -> None:
    """dataset.generation: a non-default mnist1d seed is another dataset (other examples, other
    run ids); the default changes no identity; unknown or ill-typed parameters are refused."""
    plugin = DATASETS["mnist1d"]
    default = plugin.load(DatasetSpec(name="mnist1d"), Path("/nonexistent"))
    other = plugin.load(DatasetSpec(name="mnist1d", generation={"seed": 7}), Path("/nonexistent"))
    assert not torch.equal(default.train.x, other.train.x)
    package = get_dataset_args(as_dict=True)
    assert {k: package[k] for k in plugin.generation_defaults} == plugin.generation_defaults
    plain = load_experiment(write_entry(name="plain"))
    seeded = load_experiment(write_entry({"dataset": {"generation": {"seed": 7}}}, name="seeded"))
    assert "generation" not in plain.run_config(0)["dataset"]
    assert seeded.run_config(0)["dataset"]["generation"] == {"seed": 7}
    assert run_id(plain.run_config(0)) != run_id(seeded.run_config(0))
    path = write_entry({"dataset": {"generation": {"seed": 7}}}, name="seeded")
    assert main(["run", str(path), "--store", str(store), "--quiet", "--seed", "0"]) == 0
    assert RunStore(store).find(run_id(seeded.run_config(0))) is not None


def test_validation_size_zero_trains_on_every_example_and_validates_on_test() -> None:
    splits = DATASETS["mnist1d"].load(DatasetSpec(name="mnist1d", validation_size=0), Path("/x"))
    assert len(splits.train.y) == 4000
    assert splits.val is splits.test
