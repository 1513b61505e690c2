"""The papers' nets are in timm's registry, built by one factory, with the papers' sizes."""

from __future__ import annotations

import pytest
import timm
import torch

from lthbench.errors import UserError
from lthbench.models import check_model, create_model
from lthbench.spec.entry import ModelSpec

# (name, input size, weights as stated in the papers or their code)
PAPER_NETS = [
    ("lenet_300_100", (1, 28, 28), 266_610),  # "266K"
    ("conv2", (3, 32, 32), 4_301_642),  # "4.3M"
    ("conv4", (3, 32, 32), 2_425_930),  # "2.4M"
    ("cifar_resnet20", (3, 32, 32), 272_474),  # "274K" (0.7% apart: BN and shortcut counting)
    ("cifar_vgg19_bn", (3, 32, 32), 20_035_018),  # "20.0M"
    ("mnist1d_mlp", (1, 40), 276_010),  # "≈ 276K"
    # no count stated; by hand: conv 432, stages 51,552 + 205,504 + 820,608 (each block's two
    # 3x3 convs, two BNs, a 1x1 skip where the width changes), final BN 256, FC 1,290
    ("cifar_wrn22_2", (3, 32, 32), 1_079_642),
]


def test_registered_in_timm() -> None:
    assert set(timm.list_models("lenet*")) >= {"lenet_300_100", "lenet"}
    for name in ("conv2", "conv4", "conv6", "cifar_resnet20", "cifar_vgg16_bn", "cifar_vgg19_bn",
                 "preresnet101", "mnist1d_mlp", "mnist1d_cnn", "cifar_wrn22_2"):  # fmt: skip
        assert timm.is_model(name), name


@pytest.mark.parametrize(("name", "shape", "weights"), PAPER_NETS)
def test_paper_net_sizes(name: str, shape: tuple[int, ...], weights: int) -> None:
    model = create_model(ModelSpec(name=name), 10, shape)
    assert sum(p.numel() for p in model.parameters()) == weights
    assert model(torch.zeros(2, *shape)).shape == (2, 10)
    assert isinstance(model.get_classifier(), torch.nn.Linear)


@pytest.mark.parametrize(
    ("name", "shape"),
    [("conv6", (3, 32, 32)), ("cifar_vgg16_bn", (3, 32, 32)), ("preresnet101", (3, 32, 32)),
     ("mnist1d_cnn", (1, 40)), ("test_resnet", (1, 32, 32)), ("cifar_resnet20", (1, 16, 16))],
)  # fmt: skip
def test_builds_and_fits(name: str, shape: tuple[int, ...]) -> None:
    check_model(ModelSpec(name=name), 10, shape)


def test_kwargs_reach_the_model() -> None:
    wide = create_model(ModelSpec(name="cifar_resnet20", kwargs={"width": 32}), 10, (3, 32, 32))
    assert wide.conv.out_channels == 32
    deep = create_model(ModelSpec(name="cifar_resnet", kwargs={"depth": 56}), 100, (3, 32, 32))
    assert len(deep.blocks) == 27 and deep.fc.out_features == 100


def test_same_seed_same_initialisation() -> None:
    torch.manual_seed(3)
    a = create_model(ModelSpec(name="lenet_300_100"), 10, (1, 28, 28)).state_dict()
    torch.manual_seed(3)
    b = create_model(ModelSpec(name="lenet_300_100"), 10, (1, 28, 28)).state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_lenet_uses_gaussian_glorot_and_zero_bias() -> None:
    torch.manual_seed(0)
    model = create_model(ModelSpec(name="lenet_300_100"), 10, (1, 28, 28))
    layer = model.hidden[0]
    expected_std = (2.0 / (784 + 300)) ** 0.5
    assert abs(layer.weight.std().item() - expected_std) / expected_std < 0.02
    assert torch.count_nonzero(layer.bias) == 0


def test_lth_resnet_and_vgg19_use_open_lths_init_and_eb_nets_network_slimmings() -> None:
    """open_lth (model_init kaiming_normal, batchnorm_init uniform) for the LTH ResNet-20 and
    VGG-19; the Early-Bird code's (He-normal over fan-out, BN scales 0.5, VGG classifier
    N(0, 0.01)) for its VGG-16 and PreResNet-101."""
    torch.manual_seed(0)
    for name in ("cifar_resnet20", "cifar_vgg19_bn"):
        model = create_model(ModelSpec(name=name), 10, (3, 32, 32))
        scales = torch.cat(
            [m.weight for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d)]
        )
        assert scales.min() >= 0 and scales.max() < 1 and 0.45 < scales.mean() < 0.55
        conv = next(
            m for m in model.modules() if isinstance(m, torch.nn.Conv2d) and m.in_channels == 64
        )
        fan_in = conv.weight[0].numel()
        assert abs(conv.weight.std().item() - (2 / fan_in) ** 0.5) < 0.05 * (2 / fan_in) ** 0.5
    for name in ("cifar_vgg16_bn", "preresnet101"):
        model = create_model(ModelSpec(name=name), 10, (3, 32, 32))
        for module in model.modules():
            if isinstance(module, torch.nn.BatchNorm2d):
                assert torch.all(module.weight == 0.5) and torch.all(module.bias == 0)
        conv = next(
            m for m in model.modules() if isinstance(m, torch.nn.Conv2d) and m.out_channels == 256
        )
        fan_out = conv.weight[0, 0].numel() * conv.out_channels
        assert abs(conv.weight.std().item() - (2 / fan_out) ** 0.5) < 0.05 * (2 / fan_out) ** 0.5
    vgg = create_model(ModelSpec(name="cifar_vgg16_bn"), 10, (3, 32, 32))
    assert abs(vgg.fc.weight.std().item() - 0.01) < 0.002 and torch.count_nonzero(vgg.fc.bias) == 0
    kaiming = create_model(
        ModelSpec(name="cifar_resnet20", kwargs={"init": "kaiming"}), 10, (3, 32, 32)
    )
    assert all(
        torch.all(m.weight == 1) for m in kaiming.modules() if isinstance(m, torch.nn.BatchNorm2d)
    )


@pytest.mark.parametrize(
    ("spec", "message"),
    [(ModelSpec(name="nope_net"), "unknown timm model"),
     (ModelSpec(name="conv2", kwargs={"widths": 3}), "cannot be built"),
     (ModelSpec(name="cifar_resnet", kwargs={"depth": 21}), r"6n\+2")],
)  # fmt: skip
def test_bad_models_are_user_errors(spec: ModelSpec, message: str) -> None:
    with pytest.raises(UserError, match=message):
        check_model(spec, 10, (3, 32, 32))
