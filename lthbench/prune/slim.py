"""Structured slimming: physically remove the channels a BatchNorm channel mask drops.

Torch-Pruning's dependency graph finds, for every channel, all the tensors it couples (the
convolution producing it, its BatchNorm, the convolutions and linear layers consuming it, and
across a residual addition every branch that adds into the same stream), so this works on any
timm network without per-architecture code. A coupled channel is removed only when *every*
BatchNorm in its group drops it; then its value is γ·x̂ + β = 0 after every BatchNorm, and a
group is slimmed only when each layer consuming it reads it through those BatchNorms (via
activations, pooling, or additions of such values): then removing the channel leaves the
network's function unchanged, which :func:`zero_dropped` makes testable. A pre-activation
residual stream feeds raw shortcut convolutions, so it keeps its width; but a BatchNorm on it
whose output only one layer reads (a bottleneck's ``bn1`` → ReLU → ``conv1``) still drops its
channels from that layer's *input*, as the Early-Bird code's ``channel_selection`` does: the
layer keeps only the selected input channels and gathers them first (its
``input_channels`` buffer), which again leaves the masked network's function unchanged. A group
the mask empties keeps its channel of largest |γ|, so that the network still computes, and is
named in ``SlimPlan.emptied``: a network trained that way is not the one the mask asked for,
and the method reports it (the official VGG code drops the zero-width layer instead).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch
import torch_pruning as tp
from torch import nn

from lthbench.prune.channels import NORM_LAYERS, ChannelMask, batchnorm_scales


@dataclass(frozen=True)
class SlimPlan:
    """What slimming removes: channel indices per pruning group, and the BatchNorm view."""

    groups: list[tuple[str, list[int]]]
    """(root module name, output-channel indices to remove) for each group that shrinks."""
    survivors: ChannelMask
    """Per BatchNorm layer, True where its channel survives (after the coupling rule)."""
    selections: list[tuple[str, str, list[int]]]
    """(BatchNorm, the one layer reading it, input channels that layer keeps) for BatchNorms
    that keep their width but whose dropped channels leave their reader's input."""
    emptied: list[str] = field(default_factory=list)
    """Layers the mask dropped entirely (a group's root, the layer producing its channels, or
    a BatchNorm whose reader would read nothing): each keeps its channel of largest |γ| so that the network still computes,
    and a claim reading such a network is not about the architecture the mask asked for."""

    def effective(self) -> ChannelMask:
        """Per BatchNorm, True where its channel still reaches a layer: the survivors, less
        the channels a selection removes from the BatchNorm's only reader. Zeroing the rest
        (:func:`zero_dropped`) gives the masked network the slimmed one computes."""
        reaches = {name: keep.clone() for name, keep in self.survivors.items()}
        for norm, _, channels in self.selections:
            reaches[norm] = torch.zeros_like(reaches[norm])
            reaches[norm][channels] = True
        return reaches

    def kept_channels(self) -> tuple[int, int]:
        """(channels that still reach a layer, all channels) over the masked BatchNorms."""
        reaches = self.effective()
        return sum(int(v.sum()) for v in reaches.values()), sum(len(v) for v in reaches.values())


def _graph(model: nn.Module, example_input: torch.Tensor) -> tp.DependencyGraph:
    was_training = model.training
    model.eval()
    with torch.enable_grad():
        graph = tp.DependencyGraph().build_dependency(
            model, example_inputs=(example_input,), verbose=False
        )
    model.train(was_training)
    return graph


CONSUMERS = (nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.Linear)


def _width(module: nn.Module) -> int:
    return module.in_features if isinstance(module, nn.Linear) else module.in_channels  # type: ignore[return-value]


def _sole_reader(graph: tp.DependencyGraph, norm: nn.Module) -> Any | None:
    """The one conv or linear layer that reads ``norm``'s output (through activations and
    pooling) and reads nothing else, channel for channel; None if there is no such layer."""
    readers: list[Any] = []
    stack, visited = list(graph.module2node[norm].outputs), set()
    while stack:
        node = stack.pop()
        if node in visited:
            continue
        visited.add(node)
        if isinstance(node.module, CONSUMERS):
            readers.append(node)
        elif node.type == tp.ops.OPTYPE.ELEMENTWISE and len(node.inputs) == 1:
            stack.extend(node.outputs)
        else:
            return None  # an addition into a stream, a reshape, another norm: not a sole reader
    if len(readers) != 1:
        return None
    reader = readers[0]
    plain = getattr(reader.module, "groups", 1) == 1
    seen: dict[Any, bool] = {}
    reads_only_norm = all(_reads_through_norms(s, {norm}, seen) for s in reader.inputs)
    if not (plain and reads_only_norm and _width(reader.module) == norm.num_features):
        return None
    return reader


_PASS_THROUGH = (tp.ops.OPTYPE.ELEMENTWISE, tp.ops.OPTYPE.RESHAPE)


def _reads_through_norms(node: Any, norms: set[nn.Module], seen: dict[Any, bool]) -> bool:
    """True when every path into ``node`` starts at one of ``norms`` (through pass-through
    ops: activations, pooling, flattening, and additions whose every input qualifies).
    Pass-through ops on parameters alone (a weight's transpose) carry no channel."""
    if node in seen:
        return seen[node]
    seen[node] = False
    if node.module in norms:
        result = True
    elif node.type in _PASS_THROUGH:  # no inputs: an op on parameters, e.g. a transpose
        result = all(_reads_through_norms(source, norms, seen) for source in node.inputs)
    else:
        result = False
    seen[node] = result
    return result


def plan_slimming(
    model: nn.Module, mask: ChannelMask, example_input: torch.Tensor
) -> tuple[tp.DependencyGraph, SlimPlan]:
    """The channels to remove so that every BatchNorm keeps at least the channels ``mask`` keeps."""
    names = {module: name for name, module in model.named_modules()}
    scales = batchnorm_scales(model)
    unknown = set(mask) - set(scales)
    if unknown:
        raise ValueError(f"the channel mask names layers that are no BatchNorm: {sorted(unknown)}")
    graph = _graph(model, example_input)
    classifier = model.get_classifier() if hasattr(model, "get_classifier") else None
    ignored = [classifier] if isinstance(classifier, nn.Module) else []
    survives = {name: torch.ones_like(keep) for name, keep in mask.items()}
    groups: list[tuple[str, list[int]]] = []
    emptied: list[str] = []
    for group in graph.get_all_groups(ignored_layers=ignored):
        root = group[0].dep.target.module
        width = len(group[0].idxs)
        droppable = torch.ones(width, dtype=torch.bool)
        importance = torch.zeros(width)
        has_norm = False
        for item in group:
            module = item.dep.target.module
            name = names.get(module) if isinstance(module, nn.Module) else None
            if not isinstance(module, NORM_LAYERS) or name not in mask:
                continue
            has_norm = True
            for channel, root_index in zip(item.idxs, item.root_idxs, strict=True):
                droppable[root_index] &= not bool(mask[name][channel])
                importance[root_index] += float(scales[name][channel])
        if not has_norm or not droppable.any():
            continue
        norms = {
            item.dep.target.module
            for item in group
            if isinstance(item.dep.target.module, NORM_LAYERS)
            and names.get(item.dep.target.module) in mask
        }
        seen: dict[Any, bool] = {}
        consumers = [
            item.dep.target
            for item in group
            if isinstance(item.dep.target.module, CONSUMERS)
            and item.dep.handler
            == graph.get_pruner_of_module(item.dep.target.module).prune_in_channels
        ]
        if not all(
            _reads_through_norms(source, norms, seen)
            for node in consumers
            for source in node.inputs
        ):
            continue
        if droppable.all():
            droppable[int(torch.argmax(importance))] = False
            emptied.append(names[root])
        drop = [int(i) for i in torch.nonzero(droppable).flatten()]
        groups.append((names[root], drop))
        for item in group:
            module = item.dep.target.module
            name = names.get(module) if isinstance(module, nn.Module) else None
            if isinstance(module, NORM_LAYERS) and name in survives:
                for channel, root_index in zip(item.idxs, item.root_idxs, strict=True):
                    if droppable[root_index]:
                        survives[name][channel] = False
    selections = []
    modules = dict(model.named_modules())
    for name, keep in mask.items():
        norm = modules[name]
        if bool(keep.all()) or not bool(survives[name].all()):
            continue  # nothing to drop, or its group already shrinks
        reader = _sole_reader(graph, norm)
        if reader is None:
            continue
        channels = [int(i) for i in torch.nonzero(keep).flatten()]
        if not channels:
            emptied.append(name)
        selections.append(
            (name, names[reader.module], channels or [int(torch.argmax(scales[name]))])
        )
    plan = SlimPlan(groups=groups, survivors=survives, selections=selections, emptied=emptied)
    return graph, plan


def _gather_inputs(module: nn.Module, args: tuple[torch.Tensor, ...]) -> tuple[torch.Tensor, ...]:
    return (args[0].index_select(1, module.input_channels), *args[1:])  # type: ignore[arg-type]


@torch.no_grad()
def select_inputs(layer: nn.Module, channels: list[int]) -> None:
    """Keep only ``channels`` of ``layer``'s input: its weight loses the other input channels
    and a pre-hook gathers the kept ones (the index is a buffer, so it is saved and loaded
    with the weights)."""
    index = torch.tensor(channels, dtype=torch.long, device=layer.weight.device)
    layer.weight = nn.Parameter(layer.weight.index_select(1, index).clone())
    if isinstance(layer, nn.Linear):
        layer.in_features = len(channels)
    else:
        layer.in_channels = len(channels)
    layer.register_buffer("input_channels", index)
    layer.register_forward_pre_hook(_gather_inputs)


def slim(model: nn.Module, mask: ChannelMask, example_input: torch.Tensor) -> SlimPlan:
    """Remove the dropped channels from ``model`` in place (its weights are inherited)."""
    graph, plan = plan_slimming(model, mask, example_input)
    modules = dict(model.named_modules())
    for root_name, drop in plan.groups:
        root = modules[root_name]
        pruner = graph.get_pruner_of_module(root)
        group = graph.get_pruning_group(root, pruner.prune_out_channels, idxs=drop)
        group.prune(record_history=False)
    for _, reader, channels in plan.selections:
        select_inputs(modules[reader], channels)
    return plan


@torch.no_grad()
def zero_dropped(model: nn.Module, survives: ChannelMask) -> None:
    """Set γ and β of every dropped channel to zero: the masked network slimming equals."""
    modules = dict(model.named_modules())
    for name, keep in survives.items():
        norm = modules[name]
        norm.weight[~keep] = 0.0
        if norm.bias is not None:
            norm.bias[~keep] = 0.0
