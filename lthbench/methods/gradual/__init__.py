"""The gradual method: gradual magnitude pruning (GMP; Zhu & Gupta, "To prune, or not to
prune: exploring the efficacy of pruning for model compression", 2017, §3), the baseline Gale,
Elsen & Hooker ("The State of Sparsity in Deep Neural Networks", 2019) found to match or beat
more complex methods.

Per seed: the dense network (round 0, shared with every entry that trains it the same way),
then for each final density one network trained from θ0 whose sparsity rises during training
along the cubic schedule s_t = s_f + (s_i − s_f)(1 − (t − t0)/(nΔt))³: every Δt steps from t0
to t0 + nΔt the lowest-scoring surviving weights (by magnitude, unless the entry names another
criterion) are removed until the schedule's density holds, per layer or over all layers. The
mask holds exactly between pruning steps, and the network trains on with its final mask to the
end of the budget.

Records are like the pai method's: ``round`` is the density's place in the list, ``density``
the final mask's, so claims select by density and compare with ``dense`` or a sibling entry.
"""

from lthbench.methods.gradual.method import Gradual
from lthbench.methods.gradual.params import GradualParams

__all__ = ["Gradual", "GradualParams"]
