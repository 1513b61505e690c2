"""Pruning criteria and scopes, cross-checked against torch.nn.utils.prune.

Magnitude masks must equal PyTorch's own pruning on the same weights (random weights have no
ties): ``l1_unstructured`` per layer for the layer-wise scope, ``global_unstructured`` with
``L1Unstructured`` for the global one, over several rounds (PyTorch's pruning containers also
take each amount from the surviving weights), with and without the output layer. A masked
model computes what ``prune.custom_from_mask`` computes with the same mask.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest
import torch
from torch import nn
from torch.nn.utils import prune

from lthbench.methods.lottery import LotteryParams
from lthbench.models import create_model
from lthbench.prune.criteria import CRITERIA, Criterion, register_criterion
from lthbench.prune.mask import apply_mask, full_mask, output_layer_name, prunable_weights
from lthbench.prune.scope import remove_global, remove_layerwise
from lthbench.spec.entry import ModelSpec


def _lenet() -> nn.Module:
    torch.manual_seed(0)
    return create_model(ModelSpec(name="lenet", kwargs={"hidden": [64, 32]}), 10, (1, 40))


def _torch_modules(model: nn.Module, include_output: bool) -> list[tuple[nn.Module, str]]:
    names = prunable_weights(model, include_output)
    return [(model.get_submodule(name.removesuffix(".weight")), "weight") for name in names]


def _torch_masks(model: nn.Module, include_output: bool) -> dict[str, torch.Tensor]:
    return {f"{name}.weight_mask".removesuffix("_mask"): module.weight_mask.bool()
            for name, module in model.named_modules() if hasattr(module, "weight_mask")
            if include_output or name != output_layer_name(model)}  # fmt: skip


@pytest.mark.parametrize("include_output", [False, True])
@pytest.mark.parametrize("scope", ["layerwise", "global"])
def test_magnitude_masks_equal_torch_nn_utils_prune(scope: str, include_output: bool) -> None:
    model = _lenet()
    reference = copy.deepcopy(model)
    weights = prunable_weights(model, include_output)
    mask = full_mask(weights)
    fractions = [0.2, 0.2, 0.5]
    for fraction in fractions:
        scores = CRITERIA["magnitude"].scores(weights)
        if scope == "global":
            mask = remove_global(scores, mask, fraction)
            prune.global_unstructured(_torch_modules(reference, include_output),
                                      pruning_method=prune.L1Unstructured, amount=fraction)  # fmt: skip
        else:
            mask = remove_layerwise(scores, mask, dict.fromkeys(mask, fraction))
            for module, name in _torch_modules(reference, include_output):
                prune.l1_unstructured(module, name, amount=fraction)
    expected = _torch_masks(reference, include_output)
    assert set(expected) == set(mask)
    for name, keep in mask.items():
        assert torch.equal(keep, expected[name]), name
    assert (output_layer_name(model) + ".weight" in mask) == include_output


def test_a_masked_model_computes_what_custom_from_mask_computes() -> None:
    model = _lenet()
    weights = prunable_weights(model, include_output=True)
    mask = remove_global(CRITERIA["magnitude"].scores(weights), full_mask(weights), 0.7)
    reference = copy.deepcopy(model)
    for name, keep in mask.items():
        prune.custom_from_mask(
            reference.get_submodule(name.removesuffix(".weight")), "weight", keep
        )
    apply_mask(model, mask)
    x = torch.randn(16, 1, 40, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        assert torch.equal(model(x), reference(x))


def test_random_criterion_keeps_the_scopes_counts_and_its_seed_decides() -> None:
    weights = prunable_weights(_lenet(), include_output=True)
    mask = full_mask(weights)
    fractions = dict.fromkeys(mask, 0.5)
    one = remove_layerwise(CRITERIA["random"].scores(weights, seed=1), mask, fractions)
    again = remove_layerwise(CRITERIA["random"].scores(weights, seed=1), mask, fractions)
    other = remove_layerwise(CRITERIA["random"].scores(weights, seed=2), mask, fractions)
    magnitude = remove_layerwise(CRITERIA["magnitude"].scores(weights), mask, fractions)
    for name in mask:
        assert int(one[name].sum()) == int(magnitude[name].sum())
        assert torch.equal(one[name], again[name])
    assert any(not torch.equal(one[n], other[n]) for n in mask)
    assert any(not torch.equal(one[n], magnitude[n]) for n in mask)


def test_a_criterion_registered_outside_lthbench_is_usable_by_name() -> None:
    """The seam SNIP or SynFlow will use: one class and a decorator, nothing else."""

    @register_criterion
    class Negative(Criterion):
        name = "negative_magnitude_for_tests"

        def scores(
            self, weights: dict[str, torch.Tensor], *, seed: int = 0, **context: Any
        ) -> dict[str, torch.Tensor]:
            return {n: -w.detach().abs() for n, w in weights.items()}

    try:
        params = LotteryParams(
            rounds=1, prune_fraction=0.5, criterion="negative_magnitude_for_tests"
        )
        weights = prunable_weights(_lenet())
        kept = remove_layerwise(CRITERIA[params.criterion].scores(weights), full_mask(weights),
                                dict.fromkeys(weights, 0.5))  # fmt: skip
        name = next(iter(weights))
        survivors = weights[name].detach().abs()[kept[name]]
        pruned = weights[name].detach().abs()[~kept[name]]
        assert survivors.max() <= pruned.min()  # the largest weights went first
    finally:
        CRITERIA.pop("negative_magnitude_for_tests")
    with pytest.raises(ValueError, match="criterion 'nope' is unknown"):
        LotteryParams(rounds=1, prune_fraction=0.5, criterion="nope")


@pytest.mark.parametrize("seed", range(5))
def test_selection_picks_the_set_a_stable_sort_puts_first(seed: int) -> None:
    """The scopes select the lowest scores by k-th value instead of sorting (linear time);
    the set is exactly the one a stable sort gives, ties going to the lower index."""
    from lthbench.prune.scope import lowest

    generator = torch.Generator().manual_seed(seed)
    values = torch.randint(0, 20, (5000,), generator=generator).float()  # many ties
    for count in (0, 1, 7, 250, 2500, 4999, 5000):
        expected = torch.argsort(values, stable=True)[:count]
        assert sorted(lowest(values, count).tolist()) == sorted(expected.tolist())
