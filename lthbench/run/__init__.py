"""Stage 5: the run layer. An experiment (an entry resolved once), the stored results of one
seed (reading), and the context that trains one run (identity, lock, checkpoints, threads,
provenance)."""

from lthbench.run.context import Context, RunSpec, source_commit
from lthbench.run.experiment import Experiment
from lthbench.run.results import SeedResults

__all__ = ["Context", "Experiment", "RunSpec", "SeedResults", "source_commit"]
