"""Stage 5: the run store (content-addressed, atomic, resumable)."""

from lthbench.store.runs import Run, RunStore, default_store, run_id

__all__ = ["Run", "RunStore", "default_store", "run_id"]
