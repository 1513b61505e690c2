"""Stage 5: one training run (identity, lock, checkpoints, threads, provenance)."""

from lthbench.run.context import Context, RunSpec, source_commit

__all__ = ["Context", "RunSpec", "source_commit"]
