"""The sparse_training method: networks sparse from the first step, at a fixed density per
layer, with or without connectivity updates.

- ``static``: a random mask, drawn once and held (the static sparse baseline);
- ``set``: Sparse Evolutionary Training (Mocanu et al., Nature Communications 2018): every ΔT
  steps each layer drops the fraction of its active weights nearest zero and grows as many at
  random, drawn from the initialisation's distribution;
- ``rigl``: Rigging the Lottery (Evci, Gale, Menick, Castro & Elsen, ICML 2020, §3): drops by
  magnitude likewise and grows the inactive weights with the largest dense-gradient magnitude,
  initialised to zero; the dense gradient is taken only at update steps.

The drop fraction decays along RigL's cosine, α/2 · (1 + cos(πt / T_end)), and no update comes
after T_end (3/4 of training unless set). Layer densities are uniform, Erdős–Rényi (ER) or
Erdős–Rényi-Kernel (ERK, RigL §3), optionally with the first layer dense
(:mod:`lthbench.prune.sparsity`); every update keeps each layer's count of active weights.

Per seed: the dense network (round 0, shared), then per density the entry's ``update`` and each
of its ``baselines`` (other updates, trained beside it from the same initial mask), so claims
compare ``rigl`` with ``reference: set`` at each density, or with a sibling entry.
"""

from lthbench.methods.sparse_training.method import SparseTraining
from lthbench.methods.sparse_training.params import SparseTrainingParams

__all__ = ["SparseTraining", "SparseTrainingParams"]
