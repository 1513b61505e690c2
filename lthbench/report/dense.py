"""The dense page: one table of every dense baseline, then each entry's verdicts."""

from __future__ import annotations

from pathlib import Path

from tabulate import tabulate

from lthbench.claims import Verdict
from lthbench.report.pages import MethodPage, register_page
from lthbench.report.tables import Records, metric, verdict_counts, verdict_table
from lthbench.spec.entry import Entry


@register_page("dense")
class DensePage(MethodPage):
    title = "Dense baselines"
    position = 0

    def body(
        self,
        entries: list[Entry],
        records: dict[str, Records],
        verdicts: dict[str, list[Verdict]],
        plots: Path,
        out: Path,
    ) -> str:
        rows = []
        for entry in entries:
            rs = records.get(entry.id, [])
            rows.append([
                entry.id, entry.tier, entry.model.name, entry.dataset.name, len(rs),
                metric(rs, "test_accuracy_at_early_stop", 100), metric(rs, "final_test_accuracy", 100),
                metric(rs, "early_stop_iteration", 1, 0), metric(rs, "wall_time_s", 1, 1),
                verdict_counts(verdicts.get(entry.id, [])),
            ])  # fmt: skip
        headers = ["entry", "tier", "model", "dataset", "seeds", "test acc. at early stop (%)",
                   "final test acc. (%)", "early-stop iteration", "wall time per run (s)", "verdicts"]  # fmt: skip
        parts = [tabulate(rows, headers=headers, tablefmt="github")]
        for entry in entries:
            if verdicts.get(entry.id):
                parts.append(f"### {entry.id}\n\n{verdict_table(verdicts[entry.id])}")
        return "\n\n".join(parts)
