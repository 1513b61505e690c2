"""A pruning rule: which tensors, scored by which criterion, removed under which scope and
schedule. One step removes ``fraction`` of the survivors (per layer, with per-layer overrides,
or globally); ``steps`` steps at once remove 1 − (1 − fraction)^steps, which is how one-shot
pruning reaches the density of iterative round r in one go."""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field
from typing import Any, Literal

from torch import nn

from lthbench.prune.criteria import CRITERIA, Scores
from lthbench.prune.mask import Mask, layer_of, prunable_weights
from lthbench.prune.scope import remove_global, remove_layerwise


@dataclass(frozen=True)
class PruningRule:
    fraction: float
    """Fraction of the surviving weights one step removes."""
    criterion: str = "magnitude"
    scope: Literal["layerwise", "global"] = "layerwise"
    layer_fractions: dict[str, float] = field(default_factory=dict)
    """Per-layer fractions by fnmatch pattern over module names (layerwise only)."""
    include_output: bool = False
    exclude: tuple[str, ...] = ()
    prune_biases: bool = False

    def weights(self, model: nn.Module) -> dict[str, nn.Parameter]:
        """The tensors this rule prunes, by parameter name."""
        return prunable_weights(model, self.include_output, self.exclude, self.prune_biases)

    def unmatched(self, model: nn.Module) -> list[str]:
        """The ``layer_fractions`` and ``exclude`` patterns that match no module of ``model``:
        a mistyped pattern would change the run's identity and nothing else."""
        modules = [name for name, _ in model.named_modules() if name]
        return [pattern for pattern in (*self.layer_fractions, *self.exclude)
                if not any(fnmatch.fnmatchcase(m, pattern) for m in modules)]  # fmt: skip

    def layer_fractions_after(self, model: nn.Module, steps: int) -> dict[str, float]:
        """Per tensor, the fraction ``steps`` steps remove at once."""
        fractions = {}
        for name in self.weights(model):
            module = layer_of(name)
            fraction = next(
                (f for pattern, f in self.layer_fractions.items()
                 if fnmatch.fnmatchcase(module, pattern)),
                self.fraction,
            )  # fmt: skip
            fractions[name] = 1.0 - (1.0 - fraction) ** steps
        return fractions

    def prune(
        self, model: nn.Module, weights: dict[str, Any], mask: Mask, steps: int, seed: int = 0,
        invert: bool = False, **context: Any,
    ) -> Mask:  # fmt: skip
        """The mask after ``steps`` steps of pruning ``weights`` under ``mask``: the criterion
        scores them (``seed`` fixes a random one), the scope removes the lowest-scoring
        survivors. ``context`` carries what a criterion needs beyond the weights (a ``batch``
        for SNIP and GraSP, the ``input_size`` for SynFlow); an iterative criterion receives
        ``prune_to(scores, e)``, this rule's scope applied to ``mask`` with every fraction
        taken to the power e of its survival (e = 1: this step's removal). ``invert`` keeps
        the lowest-scoring weights instead (Frankle et al. 2021's inversion ablation); an
        iterative criterion then removes the highest-scoring at each of its own steps."""

        def prune_to(scores: Scores, exponent: float) -> Mask:
            if self.scope == "global":
                kept = (1.0 - self.fraction) ** (steps * exponent)
                return remove_global(scores, mask, 1.0 - kept)
            fractions = {name: 1.0 - (1.0 - f) ** exponent
                         for name, f in self.layer_fractions_after(model, steps).items()}  # fmt: skip
            return remove_layerwise(scores, mask, fractions)

        criterion = CRITERIA[self.criterion]
        scores = criterion.scores(
            {name: weights[name] for name in mask}, seed=seed, model=model, mask=mask,
            prune_to=prune_to, invert=invert, **context,
        )  # fmt: skip
        if invert and not criterion.iterative:
            scores = {name: -score for name, score in scores.items()}
        return prune_to(scores, 1.0)

    def expected_density(self, model: nn.Module, steps: int) -> float:
        """The density of the pruned tensors after ``steps`` steps, as the schedule sets it
        (up to rounding each layer's count); ``model`` may be on the meta device."""
        weights = self.weights(model)
        if self.scope == "global":
            return (1.0 - self.fraction) ** steps
        total = sum(w.numel() for w in weights.values())
        fractions = self.layer_fractions_after(model, steps)
        return sum(weights[n].numel() * (1.0 - f) for n, f in fractions.items()) / total

    def emptied(self, model: nn.Module, steps: int) -> tuple[str, float, int] | None:
        """A layer (or all layers, globally) that ``steps`` steps would leave without a weight:
        (its name, the weights it would keep, its size); None when every one keeps some."""
        weights = self.weights(model)
        if self.scope == "global":
            fractions = {"all prunable layers": 1.0 - (1.0 - self.fraction) ** steps}
            sizes = {"all prunable layers": sum(w.numel() for w in weights.values())}
        else:  # per layer: a layer's masked weight and bias are pruned together
            fractions, sizes = {}, {}
            for name, fraction in self.layer_fractions_after(model, steps).items():
                fractions[layer_of(name)] = fraction
                sizes[layer_of(name)] = sizes.get(layer_of(name), 0) + weights[name].numel()
        for name, fraction in fractions.items():
            kept = sizes[name] * (1.0 - fraction)
            if kept < 1:
                return name, kept, sizes[name]
        return None
