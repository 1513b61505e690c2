"""Stage 4: the one training loop, its learning-rate schedule and precision."""

from lthbench.train.loop import TrainHooks, TrainResult, train

__all__ = ["TrainHooks", "TrainResult", "train"]
