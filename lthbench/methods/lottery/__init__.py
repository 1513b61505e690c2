"""``lottery``: Frankle & Carbin's winning tickets, by one-shot or iterative magnitude pruning.

Round 0 trains the dense network from θ0 (it is the same stored run as a ``dense`` entry with
the same settings, so the baseline is shared). Round r ≥ 1 prunes, resets the survivors to θ0
(or rewinds them to θ_k, saved during round 0, and trains from step k to T with the schedule
and data order continuing, as open_lth's ``start_step``) and trains again with the mask held
exactly:

- ``iterative``: round r prunes ``fraction`` of the survivors of round r-1's trained weights;
- ``oneshot``: round r prunes round 0's trained weights to the density of iterative round r,
  in one step, so both strategies are compared at equal densities.

Each round, and each control of a round, is its own cached, resumable run. Controls start
from the round's stored mask, never from a recomputed pruning chain:
``random_reinit`` (same mask, a fresh initialisation) and ``random_prune`` (a random mask with
the same per-layer densities, the original initialisation).
"""

from lthbench.methods.lottery.method import Lottery
from lthbench.methods.lottery.params import LotteryParams, MaskStability

__all__ = ["Lottery", "LotteryParams", "MaskStability"]
