"""Masks and the pruning rules that produce them: magnitude, random, and the pruning-at-
initialisation criteria SNIP, GraSP and SynFlow (registered when this package is imported)."""

from lthbench.prune import at_init as at_init
