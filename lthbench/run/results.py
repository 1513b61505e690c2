"""The stored results of one (entry, seed): what reading needs, and all it needs.

:class:`SeedResults` names a run by its identity (the experiment's resolved settings plus a
method's ``extra``) and reads its result when the run is complete and sound. ``show``,
``check`` and ``leaderboard`` read through it; they load no data, build no model and train
nothing. :class:`~lthbench.run.context.Context` extends it with training.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import Any

from lthbench.run.experiment import Experiment
from lthbench.store import Run, RunStore


@dataclass
class SeedResults:
    experiment: Experiment
    seed: int
    store: RunStore

    @property
    def iterations_per_epoch(self) -> int:
        return self.experiment.iterations_per_epoch

    def identity(self, extra: dict[str, Any] | None = None) -> dict[str, Any]:
        return {**self.experiment.run_config(self.seed), **(extra or {})}

    def run_for(self, extra: dict[str, Any] | None = None) -> Run:
        return self.store.run(self.identity(extra))

    def inspect(self, run: Run) -> tuple[str | None, dict[str, Any] | None]:
        """(what is wrong with the run directory, its result if sound). Besides the store's
        checks: a result computed with another CPU thread count than the entry's (stored before
        threads were fixed per entry) is another computation than the run id names."""
        problem = run.problem()
        result = run.result() if problem is None else None
        imported = run.imported if result is not None else None
        if imported is not None:  # where the result was computed, for the pages
            machine = imported.get("provenance", {}).get("machine", "?")
            result = {**result, "source": f"{imported.get('bundle', '?')} ({machine})"}
        threads = None if result is None else result.get("torch_threads")
        want = self.experiment.resources.cpus
        if threads is not None and threads != want:
            return (
                f"computed with {threads} CPU threads, the entry's resources.cpus is {want}",
                None,
            )
        return problem, result

    def result(self, extra: dict[str, Any] | None = None) -> dict[str, Any] | None:
        """The run's stored result; None while it is not complete (or not sound: said once on
        stderr, and not counted)."""
        run = self.run_for(extra)
        problem, stored = self.inspect(run)
        if problem is not None:
            print(f"warning: run {run.id}: {problem}; not counted", file=sys.stderr)
        return stored
