"""Learning rate as a pure function of the iteration: linear warmup times step decay.

No scheduler object carries state, so a resumed run needs nothing but its iteration.
"""

from __future__ import annotations

from dataclasses import dataclass

from lthbench.spec.entry import TrainingHparams


@dataclass(frozen=True)
class LearningRate:
    base: float
    warmup_iterations: int
    milestones: tuple[int, ...]
    gamma: float

    @classmethod
    def from_hparams(cls, hp: TrainingHparams, iterations_per_epoch: int) -> LearningRate:
        return cls(
            base=hp.lr,
            warmup_iterations=hp.warmup.to_iterations(iterations_per_epoch),
            milestones=tuple(sorted(m.to_iterations(iterations_per_epoch) for m in hp.milestones)),
            gamma=hp.gamma,
        )

    def at(self, iteration: int) -> float:
        """Learning rate for the step taken at ``iteration`` (0-based)."""
        decays = sum(1 for milestone in self.milestones if iteration >= milestone)
        lr = self.base * self.gamma**decays
        if iteration < self.warmup_iterations:
            lr *= (iteration + 1) / self.warmup_iterations
        return lr
