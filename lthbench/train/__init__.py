"""Stage 4: the one-run training loop, its vectorised multi-run form, the learning-rate
schedule and precision."""

from lthbench.train.loop import TrainHooks, TrainResult, train

__all__ = ["TrainHooks", "TrainResult", "train"]
