"""How sparsity is spread over layers and over training: the rules sparse training and
gradual pruning share.

- :func:`layer_densities`: uniform, Erdős–Rényi (ER, Mocanu et al. 2018) or Erdős–Rényi-Kernel
  (ERK, Evci et al. 2020, "Rigging the Lottery", §3 and appendix) densities per layer, whose
  kept weights add up to the target density of the layers they cover.
- :func:`gradual_sparsity`: Zhu & Gupta's (2017) cubic schedule,
  s_t = s_f + (s_i − s_f)(1 − (t − t0)/(nΔt))³, pruned every Δt steps from t0 to t0 + nΔt.
- :func:`drop_fraction`: RigL's cosine-decayed fraction of a layer's weights replaced at an
  update, α/2 · (1 + cos(π t / T_end)), none after T_end.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Literal

Distribution = Literal["uniform", "er", "erk"]


def layer_densities(
    shapes: Mapping[str, tuple[int, ...]], density: float, distribution: Distribution,
    dense: frozenset[str] = frozenset(),
) -> dict[str, float]:  # fmt: skip
    """Each layer's density, for weight tensors of ``shapes``, such that the layers not in
    ``dense`` keep ``density`` of their weights in all (``dense`` layers, such as RigL's dense
    first layer, keep every weight and are left out of that budget, as in the paper's code).

    ERK scales a layer's density with (sum of its dimensions) / (product of them), a linear
    layer's (n_in + n_out) / (n_in · n_out) and a convolution's with its kernel too; ER uses
    the last two dimensions only. A layer that would exceed density 1 is made dense and the
    scale is found again for the others, until none does."""
    if not 0.0 < density <= 1.0:
        raise ValueError(f"density {density} is not in (0, 1]")
    sparse = {name: shape for name, shape in shapes.items() if name not in dense}
    out = {name: 1.0 for name in shapes if name in dense}
    if distribution == "uniform":
        return {**out, **dict.fromkeys(sparse, density)}
    full: set[str] = set()  # layers the scale pushed to density 1
    while True:
        budget = density * sum(math.prod(shape) for shape in sparse.values())
        budget -= sum(math.prod(sparse[name]) for name in full)  # they keep every weight
        raw = {name: _raw(shape, distribution) for name, shape in sparse.items()
               if name not in full}  # fmt: skip
        if not raw:  # every layer had to be dense (a density of 1)
            return {**out, **dict.fromkeys(full, 1.0)}
        scale = budget / sum(raw[name] * math.prod(sparse[name]) for name in raw)
        largest = max(raw.values())
        if scale * largest <= 1.0:
            break
        full |= {name for name, value in raw.items() if value == largest}
    return {**out, **dict.fromkeys(full, 1.0), **{n: scale * v for n, v in raw.items()}}


def _raw(shape: tuple[int, ...], distribution: Distribution) -> float:
    if distribution == "erk":
        return sum(shape) / math.prod(shape)
    n_out, n_in = shape[0], shape[1]  # torch's (out, in, *kernel) layout
    return (n_in + n_out) / (n_in * n_out)


def gradual_sparsity(step: int, initial: float, final: float, start: int, end: int,
                     frequency: int) -> float:  # fmt: skip
    """The sparsity Zhu & Gupta's schedule asks for after ``step`` steps: ``initial`` before
    ``start``, then raised at ``start``, ``start + frequency``, … along the cubic, held
    between pruning steps, ``final`` from ``end``. Where ``end − start`` is not a multiple of
    ``frequency`` (a schedule scaled by ``--budget`` rounds each point), the last step of the
    grid before ``end`` is followed by one at ``end``."""
    if not 0 <= start <= end or frequency <= 0:
        raise ValueError(f"a schedule from {start} to {end} every {frequency} steps")
    if step < start:
        return initial
    if step >= end:
        return final
    pruned_at = start + (step - start) // frequency * frequency
    progress = (pruned_at - start) / (end - start)
    return final + (initial - final) * (1.0 - progress) ** 3


def drop_fraction(step: int, initial: float, end: int) -> float:
    """RigL's fraction of each layer's active weights dropped (and as many regrown) at an
    update at ``step``: cosine-decayed from ``initial`` to 0 at ``end``, none after."""
    if step >= end:
        return 0.0
    return initial / 2.0 * (1.0 + math.cos(math.pi * step / end))
