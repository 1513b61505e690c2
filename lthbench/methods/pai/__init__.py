"""The pai method: pruning at initialisation (Frankle, Dziugaite, Roy & Carbin, "Pruning Neural
Networks at Initialization: Why are We Missing the Mark?", ICLR 2021).

Per seed: the dense network (round 0, shared with every entry that trains it the same way),
then for each target density a network pruned at θ0 by a criterion (SNIP, GraSP, SynFlow,
magnitude or random; :mod:`lthbench.prune.at_init`) and trained from θ0 with its mask held.
The paper's ablations are controls, each trained beside it at the same density:

- ``shuffle``: each layer's mask randomly permuted (every layer keeps exactly its count): if
  accuracy survives, the criterion found per-layer densities, not weights;
- ``reinit``: the same mask on a fresh initialisation;
- ``invert``: the weights the criterion scores lowest are kept instead;
- ``random``: random pruning under the entry's scope (the random baseline).

Results are records like the lottery method's (``round`` is the density's place in the list,
``density`` the mask's), so claims select by density and control and compare with ``dense``,
a control, or a sibling entry (``entry:<id>``: a lottery ticket at the nearest density).
"""

from lthbench.methods.pai.method import Pai
from lthbench.methods.pai.params import PaiParams

__all__ = ["Pai", "PaiParams"]
