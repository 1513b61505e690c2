"""Two sets of results side by side: claim by claim (verdicts, flips marked) and run by run
(metric differences for the run ids both hold). CPU against GPU, one commit against another,
one lab against another; ``lthbench compare`` exits 1 when a verdict flips."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from tabulate import tabulate

from lthbench.claims import check_entries
from lthbench.run.experiment import Experiment
from lthbench.store import RunStore

COMPARED_METRICS = ("final_test_accuracy", "test_accuracy_at_early_stop", "min_val_loss",
                    "early_stop_iteration")  # fmt: skip


@dataclass
class Comparison:
    claims: list[dict[str, Any]] = field(default_factory=list)
    """Per claim: entry, claim, verdict in A and in B, whether it flipped."""
    runs: list[dict[str, Any]] = field(default_factory=list)
    """Per run id both hold: the largest metric difference (B − A) and each metric's."""

    @property
    def flips(self) -> list[dict[str, Any]]:
        return [row for row in self.claims if row["flipped"]]

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "flips": len(self.flips)}

    def markdown(self, a: str, b: str) -> str:
        rows = [[r["entry_id"], r["claim_id"], r["a"], r["b"], "**flipped**" if r["flipped"]
                 else ""] for r in self.claims]  # fmt: skip
        differing = [r for r in self.runs if r["largest_difference"] != 0]
        lines = [
            f"# {a} vs {b}",
            "",
            f"{len(self.flips)} of {len(self.claims)} verdicts flipped; {len(self.runs)} runs in "
            f"both, {len(differing)} with different metrics.",
            "",
            tabulate(rows, headers=["entry", "claim", a, b, ""], tablefmt="github"),
        ]
        if differing:
            run_rows = [[r["run_id"], r["seed"],
                         *(f"{r['differences'].get(m, 0):+.4g}" for m in COMPARED_METRICS)]
                        for r in differing]  # fmt: skip
            lines += ["", "Runs whose metrics differ (B − A):", "",
                      tabulate(run_rows, headers=["run", "seed", *COMPARED_METRICS],
                               tablefmt="github")]  # fmt: skip
        return "\n".join(lines)


def compare(
    experiments: list[Experiment], a: RunStore, b: RunStore, registry: Path | None = None
) -> Comparison:
    from lthbench.runner.jobs import collect

    verdicts = [
        {(v.entry_id, v.claim_id): v.verdict
         for v in check_entries(experiments, collect(experiments, store, registry))}
        for store in (a, b)
    ]  # fmt: skip
    result = Comparison()
    for key in sorted(set(verdicts[0]) | set(verdicts[1])):
        left, right = verdicts[0].get(key, "missing"), verdicts[1].get(key, "missing")
        result.claims.append({"entry_id": key[0], "claim_id": key[1], "a": left, "b": right,
                              "flipped": left != right})  # fmt: skip
    for run in a:
        mine, theirs = run.result(), b.run(run.identity).result()
        if mine is None or theirs is None:
            continue
        differences = {
            m: float(theirs[m]) - float(mine[m])
            for m in COMPARED_METRICS
            if isinstance(mine.get(m), int | float) and isinstance(theirs.get(m), int | float)
        }
        result.runs.append({
            "run_id": run.id, "seed": run.identity.get("seed"),
            "differences": differences,
            "largest_difference": max((abs(d) for d in differences.values()), default=0.0),
        })  # fmt: skip
    return result
