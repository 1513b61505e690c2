"""The lottery page: per entry, ticket accuracy and early-stop iteration by round beside the
controls and a one-shot sibling, the accuracy/speed figure, and the verdicts."""

from __future__ import annotations

from pathlib import Path

from tabulate import tabulate

from lthbench.claims import Verdict
from lthbench.report.pages import MethodPage, register_page
from lthbench.report.plots import by_round, figure_title, lottery_figure
from lthbench.report.tables import Records, metric, siblings, verdict_table
from lthbench.run.experiment import Experiment


@register_page("lottery")
class LotteryPage(MethodPage):
    title = "Lottery tickets"
    position = 1

    def headline(self, entry: Experiment, records: Records) -> str:
        tickets = by_round(records, None)
        if len(tickets) < 2:
            return "–"
        dense_acc = metric(tickets[0][1], "test_accuracy_at_early_stop", 100, 1)
        density, last = tickets[-1]
        ticket = metric(last, "test_accuracy_at_early_stop", 100, 1)
        return f"dense {dense_acc}% → ticket {ticket}% at Pm {100 * density:.1f}%"

    def section(
        self, entry: Experiment, records: dict[str, Records], verdicts: list[Verdict], plots: Path,
        out: Path,
    ) -> str:  # fmt: skip
        rs = records.get(entry.id, [])
        controls = list(entry.params.controls)
        sibling_ids = [s for s in siblings(entry) if records.get(s)]
        sibling_rounds = (
            {g[0]["round"]: g for _, g in by_round(records[sibling_ids[0]], None)}
            if sibling_ids
            else {}
        )
        control_rounds = {c: {g[0]["round"]: g for _, g in by_round(rs, c)} for c in controls}
        rows = []
        for density, group in by_round(rs, None):
            round_ = group[0]["round"]
            row = [round_, f"{100 * density:.2f}", len(group),
                   metric(group, "test_accuracy_at_early_stop", 100),
                   metric(group, "early_stop_iteration", 1, 0),
                   metric(group, "final_test_accuracy", 100)]  # fmt: skip
            for control in controls:
                row.append(
                    metric(
                        control_rounds[control].get(round_, []), "test_accuracy_at_early_stop", 100
                    )
                )
            if sibling_ids:
                row.append(
                    metric(sibling_rounds.get(round_, []), "test_accuracy_at_early_stop", 100)
                )
            rows.append(row)
        headers = ["round", "Pm (%)", "seeds", "ticket acc. at early stop (%)", "ticket early-stop it.",
                   "ticket final acc. (%)"]  # fmt: skip
        headers += [f"{c.replace('_', ' ')} acc. (%)" for c in controls]
        headers += [f"one-shot ({sibling_ids[0]}) acc. (%)"] if sibling_ids else []
        figure = plots / f"{entry.id}.png"
        sibling = (sibling_ids[0], records[sibling_ids[0]]) if sibling_ids else None
        if rs:
            lottery_figure(figure_title(entry), rs, sibling, figure,
                           1 / entry.data.num_classes)  # fmt: skip
        parts = [
            f"### {entry.id}",
            entry.description.strip(),
            f"Model `{entry.model.name}`, dataset `{entry.dataset.name}`, {entry.tier} tier, "
            f"{entry.params.strategy} pruning; round 0 is the dense network. "
            "Values are means ± standard deviations over seeds.",
            tabulate(rows, headers=headers, tablefmt="github", disable_numparse=True),
        ]
        if rs:
            parts.append(f"![{entry.id}]({figure.relative_to(out).as_posix()})")
        if verdicts:
            parts.append(verdict_table(verdicts))
        return "\n\n".join(parts)
