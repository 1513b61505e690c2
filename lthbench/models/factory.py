"""One way to build every model: ``timm.create_model``, for the papers' nets and all of timm."""

from __future__ import annotations

from collections.abc import Sequence

import timm
import torch
from torch import nn

from lthbench.errors import UserError
from lthbench.models import mnist1d_nets, paper_nets
from lthbench.models.names import check_model_name
from lthbench.spec.entry import ModelSpec


def _takes_input_size(name: str) -> bool:
    return timm.models.model_entrypoint(name).__module__ in (
        paper_nets.__name__,
        mnist1d_nets.__name__,
    )


def create_model(spec: ModelSpec, num_classes: int, input_size: Sequence[int]) -> nn.Module:
    """Build ``spec`` for data of shape ``input_size`` (channels, *spatial) and ``num_classes``.

    The papers' nets also receive ``input_size`` (fully connected layers need the input
    width); other timm models get ``in_chans`` and ``num_classes`` like any timm user passes.
    """
    problem = check_model_name(spec.name)
    if problem:
        raise UserError(f"model.name: {problem}")
    kwargs = dict(spec.kwargs)
    if _takes_input_size(spec.name):
        kwargs["input_size"] = tuple(input_size)
    try:
        return timm.create_model(
            spec.name, num_classes=num_classes, in_chans=int(input_size[0]), **kwargs
        )
    except (TypeError, ValueError, AssertionError, RuntimeError) as error:
        raise UserError(
            f"model.kwargs: {spec.name} cannot be built with {spec.kwargs}: {error}"
        ) from None


def check_model(spec: ModelSpec, num_classes: int, input_size: Sequence[int]) -> nn.Module:
    """Build the model on the meta device (no memory, no time) and run one forward pass,
    so bad kwargs or a model that does not fit the data fail at validation, not mid-suite.
    Returns the meta model (shapes without memory) for the method's own checks."""
    with torch.device("meta"):
        model = create_model(spec, num_classes, input_size)
        try:
            out = model(torch.empty(2, *input_size))
        except Exception as error:  # any failure here means model and data do not fit
            raise UserError(
                f"model.name: {spec.name} does not accept inputs of shape {tuple(input_size)}: "
                f"{str(error).splitlines()[0] if str(error) else type(error).__name__}"
            ) from None
    if tuple(out.shape) != (2, num_classes):
        raise UserError(
            f"model.name: {spec.name} gives outputs of shape {tuple(out.shape)[1:]}, "
            f"expected ({num_classes},) class scores"
        )
    return model
