"""The instability method: linear mode connectivity (Frankle, Dziugaite, Roy & Carbin, "Linear
Mode Connectivity and the Lottery Ticket Hypothesis", ICML 2020).

A network is *stable* at iteration k when two copies trained from θ_k under different SGD
noise (data order and augmentation) end in one linearly connected minimum. Per seed: the
network is trained once from θ0, keeping θ_k at every rewind point k; from each θ_k two copies
train to the end of the schedule (T − k steps) with two other data-order seeds; the error is
evaluated at ``points`` evenly spaced points of the straight path between their end weights
(parameters and BatchNorm statistics interpolated alike). The barrier is the largest error on
the path minus the mean of the two end points' errors, on the training and the test set: 0
for two identical copies, large when the copies found different minima.

Records are per rewind point (``round`` is its place in the list), so claims select by round.
"""

from lthbench.methods.instability.method import Instability
from lthbench.methods.instability.params import InstabilityParams

__all__ = ["Instability", "InstabilityParams"]
