"""Stage 5: the run layer. An experiment (an entry resolved once), the stored results of one
seed (reading), and the context that trains one run (identity, lock, checkpoints, threads,
provenance).

Reading needs neither torch nor a model, so :class:`Context` (which trains) is imported on
first use: commands that only read stay light."""

from typing import Any

from lthbench.run.experiment import Experiment
from lthbench.run.results import SeedResults

__all__ = ["Context", "Experiment", "RunSpec", "SeedResults"]


def __getattr__(name: str) -> Any:
    if name in ("Context", "RunSpec"):
        from lthbench.run import context

        return getattr(context, name)
    raise AttributeError(f"module 'lthbench.run' has no attribute {name!r}")
