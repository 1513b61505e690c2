"""Small synthetic datasets in the real on-disk formats the paper tier reads (torchvision's
layouts): MNIST IDX files, the CIFAR-10 and CIFAR-100 python pickles, an ImageNet-style image
folder. Random pixels and labels: enough to prove every paper entry starts, never a result."""

from __future__ import annotations

import pickle
import struct
from pathlib import Path

import numpy as np

TRAIN, TEST = 120, 20


def write_mnist(root: Path, rng: np.random.Generator) -> None:
    folder = root / "MNIST" / "raw"
    folder.mkdir(parents=True, exist_ok=True)
    for prefix, count in (("train", TRAIN), ("t10k", TEST)):
        images = rng.integers(0, 256, (count, 28, 28), dtype=np.uint8)
        labels = (np.arange(count) % 10).astype(np.uint8)
        header = struct.pack(">IIII", 2051, count, 28, 28)
        (folder / f"{prefix}-images-idx3-ubyte").write_bytes(header + images.tobytes())
        (folder / f"{prefix}-labels-idx1-ubyte").write_bytes(
            struct.pack(">II", 2049, count) + labels.tobytes()
        )


def _cifar_batch(count: int, classes: int, key: str, rng: np.random.Generator) -> bytes:
    data = rng.integers(0, 256, (count, 3072), dtype=np.uint8)
    return pickle.dumps({"data": data, key: [i % classes for i in range(count)]})


def write_cifar10(root: Path, rng: np.random.Generator) -> None:
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True, exist_ok=True)
    for index in range(1, 6):
        (folder / f"data_batch_{index}").write_bytes(_cifar_batch(TRAIN // 5, 10, "labels", rng))
    (folder / "test_batch").write_bytes(_cifar_batch(TEST, 10, "labels", rng))
    (folder / "batches.meta").write_bytes(
        pickle.dumps({"label_names": [str(i) for i in range(10)]})
    )


def write_cifar100(root: Path, rng: np.random.Generator) -> None:
    folder = root / "cifar-100-python"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "train").write_bytes(_cifar_batch(TRAIN * 2, 100, "fine_labels", rng))
    (folder / "test").write_bytes(_cifar_batch(TEST * 2, 100, "fine_labels", rng))
    (folder / "meta").write_bytes(pickle.dumps({"fine_label_names": [str(i) for i in range(100)]}))


def write_imagenet(root: Path, rng: np.random.Generator, classes: int = 3) -> None:
    from PIL import Image

    for split, count in (("train", 8), ("val", 2)):
        for label in range(classes):
            folder = root / "imagenet" / split / f"n{label:08d}"
            folder.mkdir(parents=True, exist_ok=True)
            for index in range(count):
                pixels = rng.integers(0, 256, (40, 48, 3), dtype=np.uint8)
                Image.fromarray(pixels).save(folder / f"{index}.JPEG", format="JPEG")


def write_all(root: Path, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    write_mnist(root, rng)
    write_cifar10(root, rng)
    write_cifar100(root, rng)
    write_imagenet(root, rng)
