"""The papers' architectures, registered into timm's own registry.

Each is a plain ``nn.Module`` plus an entry point decorated with ``@register_model`` (timm's
convention), so ``timm.create_model('lenet_300_100', num_classes=10, in_chans=1)`` builds it and
``timm.list_models('lenet*')`` finds it. Entry points take ``input_size`` (channels, *spatial)
because fully connected nets must know their input width; lthbench's factory passes it.

Every net exposes ``get_classifier()`` like timm models, so the output layer can be found
(and excluded from pruning) the same way for all of them.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence
from typing import Any

import torch
from timm.models import register_model
from torch import nn

from lthbench.models.inits import glorot_gaussian, initialise, slimming_init


class Classifier(nn.Module):
    """Mixin: timm's ``get_classifier`` so pruning can find the output layer by one rule."""

    fc: nn.Module

    def get_classifier(self) -> nn.Module:
        return self.fc


class LeNet(Classifier):
    """Fully connected net on the flattened input (LeNet-300-100 and its width variants)."""

    def __init__(self, input_size: Sequence[int], hidden: Sequence[int], num_classes: int) -> None:
        super().__init__()
        widths = [math.prod(input_size), *hidden]
        self.hidden = nn.ModuleList(nn.Linear(a, b) for a, b in itertools.pairwise(widths))
        self.fc = nn.Linear(widths[-1], num_classes)
        glorot_gaussian(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.flatten(1)
        for layer in self.hidden:
            x = torch.relu(layer(x))
        return self.fc(x)


class ConvNet(Classifier):
    """Frankle & Carbin's Conv-2/4/6: pairs of 3x3 convs with max-pooling, then FC 256-256."""

    def __init__(
        self, input_size: Sequence[int], conv_widths: Sequence[int], num_classes: int
    ) -> None:
        super().__init__()
        channels, height, width = input_size
        layers: list[nn.Module] = []
        for index, out_channels in enumerate(conv_widths):
            layers += [nn.Conv2d(channels, out_channels, 3, padding=1), nn.ReLU()]
            channels = out_channels
            if index % 2 == 1:
                layers.append(nn.MaxPool2d(2))
                height, width = height // 2, width // 2
        self.features = nn.Sequential(*layers)
        self.fc1 = nn.Linear(channels * height * width, 256)
        self.fc2 = nn.Linear(256, 256)
        self.fc = nn.Linear(256, num_classes)
        glorot_gaussian(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.features(x).flatten(1)
        x = torch.relu(self.fc1(x))
        x = torch.relu(self.fc2(x))
        return self.fc(x)


class _BasicBlock(nn.Module):
    def __init__(self, in_planes: int, planes: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_planes, planes, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.shortcut: nn.Module = nn.Identity()
        if stride != 1 or in_planes != planes:
            self.shortcut = nn.Sequential(
                nn.Conv2d(in_planes, planes, 1, stride, bias=False), nn.BatchNorm2d(planes)
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = torch.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return torch.relu(out + self.shortcut(x))


class CifarResNet(Classifier):
    """The CIFAR ResNet of He et al. (depth 6n+2; widths w, 2w, 4w), as in open_lth, with
    open_lth's initialisation by default."""

    def __init__(
        self, depth: int, width: int, in_chans: int, num_classes: int, init: str = "open_lth"
    ) -> None:
        super().__init__()
        if (depth - 2) % 6 != 0 or depth < 8:
            raise ValueError(f"cifar_resnet depth must be 6n+2 (20, 56, 110), got {depth}")
        blocks = (depth - 2) // 6
        self.conv = nn.Conv2d(in_chans, width, 3, 1, 1, bias=False)
        self.bn = nn.BatchNorm2d(width)
        stages: list[nn.Module] = []
        in_planes = width
        for stage, planes in enumerate((width, 2 * width, 4 * width)):
            for block in range(blocks):
                stride = 2 if stage > 0 and block == 0 else 1
                stages.append(_BasicBlock(in_planes, planes, stride))
                in_planes = planes
        self.blocks = nn.Sequential(*stages)
        self.fc = nn.Linear(in_planes, num_classes)
        initialise(self, init)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.blocks(torch.relu(self.bn(self.conv(x))))
        return self.fc(torch.flatten(nn.functional.adaptive_avg_pool2d(x, 1), 1))


class _WideBlock(nn.Module):
    """A pre-activation wide block: BN-ReLU, 3x3 conv (stride), BN-ReLU, dropout, 3x3 conv;
    the skip is a 1x1 conv of the pre-activated input where the width or stride changes."""

    def __init__(self, in_planes: int, planes: int, stride: int, dropout: float) -> None:
        super().__init__()
        self.bn1 = nn.BatchNorm2d(in_planes)
        self.conv1 = nn.Conv2d(in_planes, planes, 3, stride, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.dropout = nn.Dropout(dropout) if dropout else nn.Identity()
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.shortcut = (
            nn.Conv2d(in_planes, planes, 1, stride, bias=False)
            if stride != 1 or in_planes != planes
            else None
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        activated = torch.relu(self.bn1(x))
        skip = x if self.shortcut is None else self.shortcut(activated)
        out = self.conv1(activated)
        out = self.conv2(self.dropout(torch.relu(self.bn2(out))))
        return out + skip


class CifarWideResNet(Classifier):
    """Wide ResNet-d-k for CIFAR (Zagoruyko & Komodakis 2016) as RigL's CIFAR-10 code builds
    it: a 16-channel 3x3 conv, three stages of (d − 4)/6 pre-activation blocks of widths 16k,
    32k, 64k (dropout between a block's convolutions), BN-ReLU, average pooling, one linear
    layer. Glorot-uniform weights, TensorFlow's default there."""

    def __init__(self, depth: int, width: int, in_chans: int, num_classes: int,
                 dropout: float) -> None:  # fmt: skip
        super().__init__()
        if (depth - 4) % 6 != 0 or depth < 10:
            raise ValueError(f"cifar_wrn depth must be 6n+4 (16, 22, 28), got {depth}")
        blocks = (depth - 4) // 6
        self.conv = nn.Conv2d(in_chans, 16, 3, 1, 1, bias=False)
        stages: list[nn.Module] = []
        in_planes = 16
        for stage, planes in enumerate((16 * width, 32 * width, 64 * width)):
            for block in range(blocks):
                stride = 2 if stage > 0 and block == 0 else 1
                stages.append(_WideBlock(in_planes, planes, stride, dropout))
                in_planes = planes
        self.blocks = nn.Sequential(*stages)
        self.bn = nn.BatchNorm2d(in_planes)
        self.fc = nn.Linear(in_planes, num_classes)
        for layer in self.modules():
            if isinstance(layer, (nn.Conv2d, nn.Linear)):
                nn.init.xavier_uniform_(layer.weight)
                if layer.bias is not None:
                    nn.init.zeros_(layer.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.relu(self.bn(self.blocks(self.conv(x))))
        return self.fc(torch.flatten(nn.functional.adaptive_avg_pool2d(x, 1), 1))


_VGG_PLANS = {
    16: [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512],
    19: [64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M",
         512, 512, 512, 512, "M", 512, 512, 512, 512],
}  # fmt: skip


class CifarVGG(Classifier):
    """VGG with BatchNorm for 32x32 inputs (network-slimming / open_lth variant): one FC.
    ``init``: 'slimming' (the Early-Bird code's VGG-16) or 'open_lth' (the LTH VGG-19)."""

    def __init__(self, depth: int, in_chans: int, num_classes: int, init: str) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        channels = in_chans
        for item in _VGG_PLANS[depth]:
            if item == "M":
                layers.append(nn.MaxPool2d(2))
            else:
                layers += [
                    nn.Conv2d(channels, int(item), 3, padding=1, bias=False),
                    nn.BatchNorm2d(int(item)),
                    nn.ReLU(),
                ]
                channels = int(item)
        self.features = nn.Sequential(*layers)
        self.fc = nn.Linear(channels, num_classes)
        initialise(self, init)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = nn.functional.adaptive_avg_pool2d(self.features(x), 1)
        return self.fc(torch.flatten(x, 1))


class _PreActBottleneck(nn.Module):
    expansion = 4

    def __init__(self, in_planes: int, planes: int, stride: int) -> None:
        super().__init__()
        out_planes = planes * self.expansion
        self.bn1 = nn.BatchNorm2d(in_planes)
        self.conv1 = nn.Conv2d(in_planes, planes, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(planes)
        self.conv3 = nn.Conv2d(planes, out_planes, 1, bias=False)
        self.shortcut: nn.Module = nn.Identity()
        if stride != 1 or in_planes != out_planes:
            self.shortcut = nn.Conv2d(in_planes, out_planes, 1, stride, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.conv1(torch.relu(self.bn1(x)))
        out = self.conv2(torch.relu(self.bn2(out)))
        out = self.conv3(torch.relu(self.bn3(out)))
        return out + self.shortcut(x)


class PreResNet(Classifier):
    """Pre-activation bottleneck ResNet for CIFAR (depth 9n+2), as used by Early-Bird."""

    def __init__(self, depth: int, in_chans: int, num_classes: int) -> None:
        super().__init__()
        if (depth - 2) % 9 != 0:
            raise ValueError(f"preresnet depth must be 9n+2 (e.g. 101, 164), got {depth}")
        blocks = (depth - 2) // 9
        self.conv = nn.Conv2d(in_chans, 16, 3, 1, 1, bias=False)
        layers: list[nn.Module] = []
        in_planes = 16
        for stage, planes in enumerate((16, 32, 64)):
            for block in range(blocks):
                stride = 2 if stage > 0 and block == 0 else 1
                layers.append(_PreActBottleneck(in_planes, planes, stride))
                in_planes = planes * _PreActBottleneck.expansion
        self.blocks = nn.Sequential(*layers)
        self.bn = nn.BatchNorm2d(in_planes)
        self.fc = nn.Linear(in_planes, num_classes)
        slimming_init(self, normal_linear=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.relu(self.bn(self.blocks(self.conv(x))))
        return self.fc(torch.flatten(nn.functional.adaptive_avg_pool2d(x, 1), 1))


def build(builder: Callable[..., nn.Module], pretrained: bool, kwargs: dict[str, Any]) -> Any:
    """timm's entry-point convention: drop timm's own keys, reject unknown ones loudly."""
    if pretrained:
        raise ValueError("lthbench's paper nets have no pretrained weights")
    for key in ("pretrained_cfg", "pretrained_cfg_overlay", "cache_dir"):
        kwargs.pop(key, None)
    return builder(**kwargs)


def _lenet(
    num_classes: int = 10,
    in_chans: int = 1,
    input_size: Sequence[int] = (1, 28, 28),
    hidden: Sequence[int] = (300, 100),
) -> LeNet:
    return LeNet(input_size, tuple(hidden), num_classes)


def _convnet(widths: Sequence[int]) -> Callable[..., ConvNet]:
    def build(
        num_classes: int = 10, in_chans: int = 3, input_size: Sequence[int] = (3, 32, 32)
    ) -> ConvNet:
        return ConvNet(input_size, widths, num_classes)

    return build


def _resnet(
    num_classes: int = 10,
    in_chans: int = 3,
    input_size: Sequence[int] | None = None,
    depth: int = 20,
    width: int = 16,
    init: str = "open_lth",
) -> CifarResNet:
    channels = in_chans if input_size is None else int(input_size[0])
    return CifarResNet(depth, width, channels, num_classes, init)


def _wrn(
    num_classes: int = 10,
    in_chans: int = 3,
    input_size: Sequence[int] | None = None,
    depth: int = 22,
    width: int = 2,
    dropout: float = 0.3,
) -> CifarWideResNet:
    channels = in_chans if input_size is None else int(input_size[0])
    return CifarWideResNet(depth, width, channels, num_classes, dropout)


def _vgg(depth: int, default_init: str) -> Callable[..., CifarVGG]:
    def build(
        num_classes: int = 10,
        in_chans: int = 3,
        input_size: Sequence[int] | None = None,
        init: str = default_init,
    ) -> CifarVGG:
        channels = in_chans if input_size is None else int(input_size[0])
        return CifarVGG(depth, channels, num_classes, init)

    return build


def _preresnet(
    num_classes: int = 10,
    in_chans: int = 3,
    input_size: Sequence[int] | None = None,
    depth: int = 101,
) -> PreResNet:
    return PreResNet(depth, in_chans if input_size is None else int(input_size[0]), num_classes)


@register_model
def lenet_300_100(pretrained: bool = False, **kwargs: Any) -> LeNet:
    """LeNet-300-100 (Frankle & Carbin, MNIST): FC 300, 100 on the flattened input."""
    return build(_lenet, pretrained, {"hidden": (300, 100), **kwargs})


@register_model
def lenet(pretrained: bool = False, **kwargs: Any) -> LeNet:
    """Fully connected LeNet with any `hidden` widths (open_lth's mnist_lenet_N_M)."""
    return build(_lenet, pretrained, kwargs)


@register_model
def conv2(pretrained: bool = False, **kwargs: Any) -> ConvNet:
    """Conv-2 (Frankle & Carbin, CIFAR-10): conv 64, 64, pool; FC 256, 256."""
    return build(_convnet((64, 64)), pretrained, kwargs)


@register_model
def conv4(pretrained: bool = False, **kwargs: Any) -> ConvNet:
    """Conv-4: conv 64, 64, pool, 128, 128, pool; FC 256, 256."""
    return build(_convnet((64, 64, 128, 128)), pretrained, kwargs)


@register_model
def conv6(pretrained: bool = False, **kwargs: Any) -> ConvNet:
    """Conv-6: Conv-4 plus 256, 256, pool."""
    return build(_convnet((64, 64, 128, 128, 256, 256)), pretrained, kwargs)


@register_model
def cifar_resnet20(pretrained: bool = False, **kwargs: Any) -> CifarResNet:
    """ResNet-20 for CIFAR (the LTH paper's 'ResNet-18', 274K weights); `width` scales it."""
    return build(_resnet, pretrained, {"depth": 20, **kwargs})


@register_model
def cifar_resnet56(pretrained: bool = False, **kwargs: Any) -> CifarResNet:
    """ResNet-56 for CIFAR."""
    return build(_resnet, pretrained, {"depth": 56, **kwargs})


@register_model
def cifar_resnet110(pretrained: bool = False, **kwargs: Any) -> CifarResNet:
    """ResNet-110 for CIFAR."""
    return build(_resnet, pretrained, {"depth": 110, **kwargs})


@register_model
def cifar_resnet(pretrained: bool = False, **kwargs: Any) -> CifarResNet:
    """CIFAR ResNet of any `depth` 6n+2 and `width`."""
    return build(_resnet, pretrained, kwargs)


@register_model
def cifar_wrn22_2(pretrained: bool = False, **kwargs: Any) -> CifarWideResNet:
    """WRN-22-2 for CIFAR (RigL's CIFAR-10 network, Evci et al. 2020, §4.2)."""
    return build(_wrn, pretrained, {"depth": 22, "width": 2, **kwargs})


@register_model
def cifar_vgg16_bn(pretrained: bool = False, **kwargs: Any) -> CifarVGG:
    """VGG-16 with BatchNorm for CIFAR (Early-Bird's VGG-16, network slimming's init)."""
    return build(_vgg(16, "slimming"), pretrained, kwargs)


@register_model
def cifar_vgg19_bn(pretrained: bool = False, **kwargs: Any) -> CifarVGG:
    """VGG-19 with BatchNorm for CIFAR (the LTH paper's VGG-19, 20.0M weights, open_lth's init)."""
    return build(_vgg(19, "open_lth"), pretrained, kwargs)


@register_model
def preresnet101(pretrained: bool = False, **kwargs: Any) -> PreResNet:
    """Pre-activation bottleneck ResNet-101 for CIFAR (Early-Bird)."""
    return build(_preresnet, pretrained, {"depth": 101, **kwargs})
