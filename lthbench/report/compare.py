"""Two sets of results side by side: claim by claim (verdicts, flips marked) and run by run
(metric differences for the run ids both hold). CPU against GPU, one commit against another,
one lab against another.

A flip of a verdict either side called fragile (its replication probability below
:data:`lthbench.claims.replication.STABLE`) is what another sample of seeds was predicted to
do now and then; a flip of a verdict both sides called stable, or any flip between reproduced
and refuted, is not, and ``lthbench compare`` exits 1 on it."""

from __future__ import annotations

from collections.abc import Iterable
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

    @property
    def unexpected(self) -> list[dict[str, Any]]:
        """Flips of a verdict both sides called stable, and reproduced ↔ refuted flips."""
        return [row for row in self.flips if row["unexpected"]]

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "flips": len(self.flips), "unexpected": len(self.unexpected)}

    def markdown(self, a: str, b: str) -> str:
        def shown(word: str, fragile: bool) -> str:
            return f"{word} (fragile)" if fragile and word != "missing" else word

        def mark(r: dict[str, Any]) -> str:
            if not r["flipped"]:
                return ""
            return "**flipped, unexpected**" if r["unexpected"] else "flipped (fragile)"

        rows = [[r["entry_id"], r["claim_id"], shown(r["a"], r["a_fragile"]),
                 shown(r["b"], r["b_fragile"]), mark(r)] for r in self.claims]  # fmt: skip
        differing = [r for r in self.runs if r["largest_difference"] != 0]
        lines = [
            f"# {a} vs {b}",
            "",
            f"{len(self.flips)} of {len(self.claims)} verdicts flipped, "
            f"{len(self.unexpected)} of them unexpected (stable on both sides, or reproduced ↔ "
            f"refuted); {len(self.runs)} runs in both, {len(differing)} with different metrics.",
            "",
            tabulate(
                rows, headers=["entry", "claim", a, b, ""], tablefmt="github", disable_numparse=True
            ),
        ]
        if differing:
            run_rows = [[r["run_id"], r["seed"],
                         *(f"{r['differences'].get(m, 0):+.4g}" for m in COMPARED_METRICS)]
                        for r in differing]  # fmt: skip
            lines += ["", "Runs whose metrics differ (B − A):", "",
                      tabulate(run_rows, headers=["run", "seed", *COMPARED_METRICS],
                               tablefmt="github", disable_numparse=True)]  # fmt: skip
        return "\n".join(lines)


def flip_row(key: tuple[str, str], a: str, a_fragile: bool, b: str, b_fragile: bool
             ) -> dict[str, Any]:  # fmt: skip
    """One claim in both: flipped, and unexpected when neither side called it fragile (a
    verdict missing on one side is a run to do, not a flip of the other's) or when it went
    between reproduced and refuted."""
    flipped = a != b
    decided = {a, b} == {"reproduced", "refuted"}
    stable = not a_fragile and not b_fragile and "missing" not in (a, b)
    return {"entry_id": key[0], "claim_id": key[1], "a": a, "b": b, "flipped": flipped,
            "a_fragile": a_fragile, "b_fragile": b_fragile,
            "unexpected": flipped and (decided or stable)}  # fmt: skip


def compare(
    experiments: list[Experiment], a: RunStore, b: RunStore, registry: Path | None = None,
    overrides: Iterable[str] = (), budget: float = 1.0,
) -> Comparison:  # fmt: skip
    from lthbench.runner.jobs import collect

    overrides = list(overrides)
    verdicts = [
        {(v.entry_id, v.claim_id): (v.verdict, v.fragile)
         for v in check_entries(experiments, collect(experiments, store, registry, overrides,
                                                     budget))}
        for store in (a, b)
    ]  # fmt: skip
    result = Comparison()
    for key in sorted(set(verdicts[0]) | set(verdicts[1])):
        (left, left_fragile), (right, right_fragile) = (
            side.get(key, ("missing", False)) for side in verdicts)  # fmt: skip
        result.claims.append(flip_row(key, left, left_fragile, right, right_fragile))
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
