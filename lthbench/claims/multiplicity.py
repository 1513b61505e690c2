"""Many claims checked at once: Holm's step-down adjustment of their one-sided tests.

Each verdict is a one-sided test at level ALPHA (its two-sided 95% interval clears the
boundary on one side). Some 60 paper claims checked together, correlated through shared dense
runs and searches, would each be wrong 2.5% of the time, so a page of them carries about one
false verdict by chance. Holm's procedure (Holm 1979) controls the chance of *any* false
verdict in the family at ALPHA under any dependence between the tests: order the p-values
p(1) ≤ … ≤ p(m) and reject while p(i) ≤ ALPHA / (m − i + 1), stopping at the first that is not.
"""

from __future__ import annotations

ALPHA = 0.025
"""One-sided level of each claim's test (the two-sided 95% interval's tail)."""


def holm_rejections(p_values: list[float], alpha: float = ALPHA) -> list[bool]:
    """For each p-value, whether Holm's step-down procedure at family-wise level ``alpha``
    rejects its null hypothesis."""
    order = sorted(range(len(p_values)), key=lambda i: p_values[i])
    rejected = [False] * len(p_values)
    m = len(p_values)
    for rank, index in enumerate(order):
        if p_values[index] > alpha / (m - rank):
            break
        rejected[index] = True
    return rejected
