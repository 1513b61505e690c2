"""Early-Bird detection: masks stop changing.

After each epoch the current mask joins a FIFO of the last ``window`` masks; the ticket is drawn
once the queue is full and the largest normalised Hamming distance between the newest mask and
each older one in the queue falls below ``epsilon`` (You et al.: window 5, ε = 0.1). The
detector takes any mask (channel masks from BatchNorm scales, or weight-magnitude masks for a
lottery round) and keeps the full epoch × epoch distance matrix for the leaderboard heatmap.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

import torch


def hamming(a: torch.Tensor, b: torch.Tensor) -> float:
    """Fraction of positions where two boolean masks of the same shape differ."""
    if a.shape != b.shape:
        raise ValueError(
            f"masks of shapes {tuple(a.shape)} and {tuple(b.shape)} cannot be compared"
        )
    if a.numel() == 0:
        return 0.0
    return float((a != b).float().mean())


@dataclass
class EarlyBirdDetector:
    window: int = 5
    epsilon: float = 0.1
    masks: list[torch.Tensor] = field(default_factory=list)
    """Every mask seen, one per evaluation (for the distance matrix)."""
    draw_index: int | None = None
    """Index (0-based) into ``masks`` of the evaluation whose mask was drawn; None until the
    ticket emerges. Not an epoch: records turn it into ``draw_epoch`` via the evaluation's
    iteration."""

    def __post_init__(self) -> None:
        if self.window < 2:
            raise ValueError("the FIFO must hold at least two masks")
        self._queue: deque[torch.Tensor] = deque(maxlen=self.window)

    def update(self, mask: torch.Tensor) -> bool:
        """Add this epoch's mask; True exactly once, at the epoch the ticket is drawn."""
        mask = mask.detach().flatten().bool().cpu()
        self.masks.append(mask)
        self._queue.append(mask)
        if self.draw_index is not None or len(self._queue) < self.window:
            return False
        newest = self._queue[-1]
        if max(hamming(newest, older) for older in list(self._queue)[:-1]) < self.epsilon:
            self.draw_index = len(self.masks) - 1
            return True
        return False

    def distance_matrix(self) -> list[list[float]]:
        """Hamming distance between every pair of masks seen: |a xor b| = |a| + |b| − 2 a·b,
        one matrix product instead of E² comparisons (exact: integer counts below 2^24)."""
        if not self.masks:
            return []
        stacked = torch.stack(self.masks).float()
        counts = stacked.sum(1)
        differ = counts[:, None] + counts[None, :] - 2 * stacked @ stacked.T
        return (differ / stacked.shape[1]).tolist()
