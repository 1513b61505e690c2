"""The dense page: one table of every dense baseline, then each entry's verdicts."""

from __future__ import annotations

from pathlib import Path

from tabulate import tabulate

from lthbench.claims import Verdict
from lthbench.report.pages import MethodPage, register_page
from lthbench.report.tables import (
    RUN_SUMMARY_HEADERS,
    Records,
    run_summary,
    verdict_counts,
    verdict_table,
)
from lthbench.run.experiment import Experiment


@register_page("dense")
class DensePage(MethodPage):
    title = "Dense baselines"
    position = 0

    def body(
        self,
        entries: list[Experiment],
        records: dict[str, Records],
        verdicts: dict[str, list[Verdict]],
        plots: Path,
        out: Path,
    ) -> str:
        rows = []
        for entry in entries:
            rs = records.get(entry.id, [])
            rows.append([entry.id, entry.tier, entry.model.name, entry.dataset.name, len(rs),
                         *run_summary(rs), verdict_counts(verdicts.get(entry.id, []))])  # fmt: skip
        headers = ["entry", "tier", "model", "dataset", "seeds", *RUN_SUMMARY_HEADERS, "verdicts"]
        parts = [tabulate(rows, headers=headers, tablefmt="github", disable_numparse=True)]
        for entry in entries:
            if verdicts.get(entry.id):
                parts.append(f"### {entry.id}\n\n{verdict_table(verdicts[entry.id])}")
        return "\n\n".join(parts)
