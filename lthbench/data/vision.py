"""The papers' datasets through torchvision, read from a data root (``--data-root`` or
``$LTHBENCH_DATA``). MNIST and CIFAR are held in memory as uint8 tensors and normalised per
batch; ImageNet is an image folder read by a DataLoader with workers.

Nothing is downloaded unless asked (``--download``); missing files give one line that says
where to put them.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from lthbench.data.base import (
    OFFLINE,
    SPLIT_SEED,
    DataAccess,
    DataInfo,
    DatasetPlugin,
    Splits,
    TensorSplit,
    carve_validation,
    register_dataset,
    validation_split,
)
from lthbench.errors import UserError
from lthbench.spec.entry import DatasetSpec

if TYPE_CHECKING:
    import torch
    from torch.utils.data import Dataset


def _missing(name: str, where: Path, files: str, downloadable: bool = True) -> UserError:
    fetch = ", or pass --download where a network is available" if downloadable else ""
    return UserError(
        f"dataset {name} not found: put {files} under {where} "
        f"(or set --data-root / LTHBENCH_DATA{fetch})"
    )


def readable_image(path: str) -> object:
    """An image folder's file as RGB, or one line naming the file that is not an image
    (images are read as batches need them: checking 1.3M files first would take an hour; a
    run stopped here resumes from its checkpoint once the file is fixed)."""
    from PIL import Image, UnidentifiedImageError

    try:
        with open(path, "rb") as stream:
            return Image.open(stream).convert("RGB")
    except (OSError, UnidentifiedImageError, ValueError) as error:
        raise UserError(f"{path}: not a readable image ({type(error).__name__}); replace or "
                        "remove it, then rerun (training resumes from its checkpoint)") from None  # fmt: skip


def _unverified(cls: type) -> type:
    """``cls`` (a torchvision CIFAR) that checks its files exist, not their checksums."""
    import os
    import pickle

    class Unverified(cls):  # type: ignore[misc, valid-type]
        def _check_integrity(self) -> bool:
            folder = Path(self.root) / self.base_folder
            return all((folder / name).is_file() for name, _ in self.train_list + self.test_list)

        def _load_meta(self) -> None:
            path = os.path.join(self.root, self.base_folder, self.meta["filename"])
            with open(path, "rb") as stream:
                self.classes = pickle.load(stream, encoding="latin1")[self.meta["key"]]
            self.class_to_idx = {name: i for i, name in enumerate(self.classes)}

    return Unverified


class _TorchvisionInMemory(DatasetPlugin):
    """A torchvision dataset small enough to live in memory as uint8 tensors."""

    folder: str
    files: str
    mean: tuple[float, ...]
    std: tuple[float, ...]

    def _dataset(self, root: Path, train: bool, access: DataAccess) -> object:
        raise NotImplementedError

    def spec_problem(self, spec: DatasetSpec) -> str | None:
        if spec.resize is not None:
            return f"resize: not supported for {self.name}"
        return super().spec_problem(spec)

    def check(self, spec: DatasetSpec, data_root: Path, access: DataAccess = OFFLINE) -> None:
        if access.download:
            return
        try:
            self._dataset(data_root, True, access)
            self._dataset(data_root, False, access)
        except RuntimeError:
            raise self._problem(data_root) from None
        except Exception as error:  # files there but not in the format (garbage, truncated)
            raise UserError(
                f"dataset {self.name}: the files under {data_root / self.folder} cannot be read "
                f"({type(error).__name__}: {str(error).splitlines()[0] if str(error) else '?'}); "
                "replace them with the published files"
            ) from None

    def _problem(self, root: Path) -> UserError:
        """Files missing, or there but failing torchvision's checksums: two different fixes."""
        from torchvision.datasets.utils import check_integrity

        listed = self._listed_files()
        folder = root / self.folder
        if not listed or any(not (folder / name).is_file() for name, _ in listed):
            return _missing(self.name, folder, self.files)
        corrupted = [name for name, md5 in listed if not check_integrity(str(folder / name), md5)]
        return UserError(
            f"dataset {self.name}: {', '.join(corrupted)} under {folder} corrupted (checksum "
            "mismatch): replace them with the published files, or pass --no-verify to use "
            "these copies as they are"
        )

    def _listed_files(self) -> list[tuple[str, str]]:
        """The files and MD5 sums torchvision checks (none: it only checks they exist)."""
        return []

    def _tensors(
        self, root: Path, train: bool, access: DataAccess
    ) -> tuple[torch.Tensor, torch.Tensor]:
        import numpy as np
        import torch

        try:
            dataset = self._dataset(root, train, access)
        except RuntimeError:
            raise self._problem(root) from None
        data = torch.as_tensor(np.asarray(dataset.data))  # type: ignore[attr-defined]
        x = data.unsqueeze(1) if data.dim() == 3 else data.permute(0, 3, 1, 2)
        return x.contiguous(), torch.as_tensor(np.asarray(dataset.targets)).long()  # type: ignore[attr-defined]

    def load(self, spec: DatasetSpec, data_root: Path, access: DataAccess = OFFLINE) -> Splits:
        size = self.validation_size(spec)
        train, val = carve_validation(*self._tensors(data_root, True, access), size)
        test = TensorSplit(*self._tensors(data_root, False, access), self.mean, self.std)
        return Splits(
            train=TensorSplit(*train, self.mean, self.std),
            val=validation_split(TensorSplit(*val, self.mean, self.std), test, size),
            test=test,
            info=self.info(spec),
            augment=self.augmentation if spec.augment else None,
        )


@register_dataset
class Mnist(_TorchvisionInMemory):
    name = "mnist"
    num_classes = 10
    input_size = (1, 28, 28)
    full_train_size = 60000
    test_size = 10000
    default_validation_size = 5000
    folder = "MNIST/raw"
    files = "train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte"
    mean, std = (0.1307,), (0.3081,)

    def _dataset(self, root: Path, train: bool, access: DataAccess) -> object:
        from torchvision.datasets import MNIST

        return MNIST(str(root), train=train, download=access.download)


@register_dataset
class Cifar10(_TorchvisionInMemory):
    name = "cifar10"
    num_classes = 10
    input_size = (3, 32, 32)
    full_train_size = 50000
    test_size = 10000
    default_validation_size = 5000
    augmentation = "crop_flip"
    folder = "cifar-10-batches-py"
    files = "the python version of CIFAR-10 (data_batch_1..5, test_batch, batches.meta)"
    mean, std = (0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616)

    def _dataset(self, root: Path, train: bool, access: DataAccess) -> object:
        from torchvision.datasets import CIFAR10

        reader = CIFAR10 if access.verify else _unverified(CIFAR10)
        return reader(str(root), train=train, download=access.download)

    def _listed_files(self) -> list[tuple[str, str]]:
        from torchvision.datasets import CIFAR10

        files = CIFAR10.train_list + CIFAR10.test_list
        return [*files, (CIFAR10.meta["filename"], CIFAR10.meta["md5"])]


@register_dataset
class Cifar100(_TorchvisionInMemory):
    name = "cifar100"
    num_classes = 100
    input_size = (3, 32, 32)
    full_train_size = 50000
    test_size = 10000
    default_validation_size = 5000
    augmentation = "crop_flip"
    folder = "cifar-100-python"
    files = "the python version of CIFAR-100 (train, test, meta)"
    mean, std = (0.5071, 0.4865, 0.4409), (0.2673, 0.2564, 0.2762)

    def _dataset(self, root: Path, train: bool, access: DataAccess) -> object:
        from torchvision.datasets import CIFAR100

        reader = CIFAR100 if access.verify else _unverified(CIFAR100)
        return reader(str(root), train=train, download=access.download)

    def _listed_files(self) -> list[tuple[str, str]]:
        from torchvision.datasets import CIFAR100

        files = CIFAR100.train_list + CIFAR100.test_list
        return [*files, (CIFAR100.meta["filename"], CIFAR100.meta["md5"])]


@register_dataset
class ImageNet(DatasetPlugin):
    """ImageNet as an image folder: ``<root>/imagenet/{train,val}/<class>/<image>``.

    The official validation set serves as the test set; the validation split for early
    stopping is carved from the training images.
    """

    name = "imagenet"
    num_classes = 1000
    input_size = (3, 224, 224)
    full_train_size = 1281167
    test_size = 50000
    default_validation_size = 10000
    augmentation = "random_resized_crop_flip"

    def _folder(self, data_root: Path, split: str) -> Path:
        return data_root / "imagenet" / split

    def check(self, spec: DatasetSpec, data_root: Path, access: DataAccess = OFFLINE) -> None:
        for split in ("train", "val"):
            folder = self._folder(data_root, split)
            if not folder.is_dir() or not any(folder.iterdir()):
                raise _missing(
                    self.name, folder, "one folder of images per class", downloadable=False
                )  # torchvision cannot fetch ImageNet

    def load(self, spec: DatasetSpec, data_root: Path, access: DataAccess = OFFLINE) -> Splits:
        import torch
        from torch.utils.data import Subset
        from torchvision import transforms
        from torchvision.datasets import ImageFolder

        self.check(spec, data_root)
        side = spec.resize or 224
        normalize = transforms.Normalize((0.485, 0.456, 0.406), (0.229, 0.224, 0.225))
        plain = transforms.Compose([
            transforms.Resize(int(side * 256 / 224)), transforms.CenterCrop(side),
            transforms.ToTensor(), normalize,
        ])  # fmt: skip
        augmented = transforms.Compose([
            transforms.RandomResizedCrop(side), transforms.RandomHorizontalFlip(),
            transforms.ToTensor(), normalize,
        ])  # fmt: skip
        train_folder = ImageFolder(
            str(self._folder(data_root, "train")),
            augmented if spec.augment else plain,
            loader=readable_image,
        )
        plain_train = ImageFolder(str(self._folder(data_root, "train")), plain,
                                  loader=readable_image)  # fmt: skip
        test: Dataset = ImageFolder(str(self._folder(data_root, "val")), plain,
                                    loader=readable_image)  # fmt: skip
        size = len(train_folder.samples)
        validation = self.validation_size(spec)
        if validation >= size:
            raise UserError(
                f"dataset.validation_size: {validation} is not below the {size} training images"
            )
        order = torch.randperm(size, generator=torch.Generator().manual_seed(SPLIT_SEED)).tolist()
        classes = len(train_folder.classes)
        info = DataInfo(classes, (3, side, side), size - validation)
        return Splits(
            train=Subset(train_folder, order[validation:]),
            val=validation_split(Subset(plain_train, order[:validation]), test, validation),
            test=test,
            info=info,
        )
