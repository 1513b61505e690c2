"""Pruning criteria: per-weight scores, the seam SNIP, GraSP and SynFlow plug into.

A criterion scores every prunable weight (higher: more worth keeping); a scope
(:mod:`lthbench.prune.scope`) then removes the lowest-scoring survivors, per layer or
globally. Magnitude (Frankle & Carbin) and random are the first two. A criterion that needs
the model or data (gradient-based ones) receives them; these two need neither. Register a new
one with ``@register_criterion``; entries name it in ``method.params.criterion``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from lthbench.registry import Registry

if TYPE_CHECKING:
    import torch

Scores = dict[str, "torch.Tensor"]


class Criterion:
    """Subclass, set ``name``, implement ``scores``; register it."""

    name: ClassVar[str]
    needs_data: ClassVar[bool] = False
    """Whether it scores on a batch of training data (``context['batch']``)."""
    iterative: ClassVar[bool] = False
    """Whether it prunes step by step through ``context['prune_to']``, its scores ranking
    survival: it then applies ``context['invert']`` at each of its steps itself (the rule
    inverts the final ranking of the others)."""

    def scores(self, weights: dict[str, torch.Tensor], *, seed: int = 0, **context: Any) -> Scores:
        """A score per weight, shaped like it. ``seed`` fixes any randomness; ``context`` may
        carry the model and a batch for criteria that need them."""
        raise NotImplementedError


CRITERIA: Registry[Criterion] = Registry("criterion")


def register_criterion(cls: type[Criterion]) -> type[Criterion]:
    """Class decorator: entries name the criterion by ``cls.name`` (a name taken by another
    module is an error)."""
    CRITERIA.add(cls.name, cls(), cls.__module__)
    return cls


@register_criterion
class Magnitude(Criterion):
    """|w|: the smallest weights go first (Frankle & Carbin, Han et al.)."""

    name = "magnitude"

    def scores(self, weights: dict[str, torch.Tensor], *, seed: int = 0, **context: Any) -> Scores:
        return {name: w.detach().abs().float().cpu() for name, w in weights.items()}


@register_criterion
class Random(Criterion):
    """Uniform random scores: random pruning with the scope's per-layer or global counts."""

    name = "random"

    def scores(self, weights: dict[str, torch.Tensor], *, seed: int = 0, **context: Any) -> Scores:
        import torch

        generator = torch.Generator().manual_seed(seed)
        return {name: torch.rand(w.shape, generator=generator) for name, w in weights.items()}
