"""Learning rate as a pure function of the iteration: linear warmup times step decay.

No scheduler object carries state, so a resumed run needs nothing but its iteration.
"""

from __future__ import annotations

from dataclasses import dataclass

from lthbench.spec.duration import Duration
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


def shifted_schedule(
    training: TrainingHparams, start: int, total: int, per_epoch: int
) -> TrainingHparams:
    """The entry's schedule from iteration ``start`` on, as a run of ``total − start`` steps.

    Milestones already passed sit at 0 (their decay applies from the first step); a warmup
    still in progress finishes over what is left of it."""
    milestones = [
        Duration(iterations=max(m.to_iterations(per_epoch) - start, 0)) for m in training.milestones
    ]
    warmup = max(training.warmup.to_iterations(per_epoch) - start, 0)
    return training.model_copy(
        update={
            "duration": Duration(iterations=total - start),
            "milestones": milestones,
            "warmup": Duration(iterations=warmup),
        }
    )


def rescaled_schedule(
    training: TrainingHparams, duration: Duration, per_epoch: int
) -> TrainingHparams:
    """The entry's schedule stretched to ``duration`` (milestones and warmup in proportion)."""
    total = training.duration.to_iterations(per_epoch)
    length = duration.to_iterations(per_epoch)

    def scale(point: Duration) -> Duration:
        return Duration(iterations=round(point.to_iterations(per_epoch) * length / total))

    return training.model_copy(
        update={
            "duration": Duration(iterations=length),
            "milestones": [scale(m) for m in training.milestones],
            "warmup": scale(training.warmup),
        }
    )
