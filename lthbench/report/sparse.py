"""The pages of gradual pruning and sparse training: per entry, accuracy and training cost by
density for the entry's own result and each baseline, one figure of accuracy against density
(the sibling entries its claims name beside it), and the verdicts."""

from __future__ import annotations

from pathlib import Path

from tabulate import tabulate

from lthbench.claims import Verdict
from lthbench.report.pages import MethodPage, register_page
from lthbench.report.pai import ACCURACY, pai_figure
from lthbench.report.plots import by_round, figure_title
from lthbench.report.tables import Records, metric, siblings, verdict_table
from lthbench.run.experiment import Experiment
from lthbench.runner.cost import flops_label


def _flops(group: Records) -> str:
    values = [float(r["training_flops"]) for r in group if r.get("training_flops") is not None]
    return flops_label(sum(values) / len(values)) if values else "–"


class SparsePage(MethodPage):
    """Results by target density: the entry's own (``control`` None) and each baseline's."""

    def own_label(self, entry: Experiment) -> str:
        return entry.method_name

    def headline(self, entry: Experiment, records: Records) -> str:
        own = by_round(records, None)
        if len(own) < 2:
            return "–"
        density, last = own[-1]
        dense = metric(own[0][1], ACCURACY, 100, 1)
        return (f"dense {dense}% → {self.own_label(entry)} {metric(last, ACCURACY, 100, 1)}% "
                f"at Pm {100 * density:.1f}%")  # fmt: skip

    def section(
        self, entry: Experiment, records: dict[str, Records], verdicts: list[Verdict], plots: Path,
        out: Path,
    ) -> str:  # fmt: skip
        rs = records.get(entry.id, [])
        baselines = list(getattr(entry.params, "baselines", []))
        own = self.own_label(entry)
        rows = []
        for density, group in by_round(rs, None):
            round_ = group[0]["round"]
            if round_ == 0:
                continue
            row = [f"{100 * group[0]['target_density']:g}", f"{100 * density:.2f}", len(group),
                   metric(group, ACCURACY, 100), _flops(group)]  # fmt: skip
            for baseline in baselines:
                theirs = [r for r in rs if r["round"] == round_ and r.get("control") == baseline]
                row += [metric(theirs, ACCURACY, 100), _flops(theirs)]
            rows.append(row)
        headers = ["target Pm (%)", "Pm (%)", "seeds", f"{own} acc. (%)", f"{own} training FLOPs"]
        for baseline in baselines:
            headers += [f"{baseline} acc. (%)", f"{baseline} training FLOPs"]
        dense = [r for r in rs if r.get("round") == 0]
        parts = [
            f"### {entry.id}",
            entry.description.strip(),
            f"Model `{entry.model.name}`, dataset `{entry.dataset.name}`, {entry.tier} tier; "
            f"dense: {metric(dense, ACCURACY, 100)}% final test accuracy, "
            f"{_flops(dense)} to train. Training FLOPs as each run trained (see the "
            "[training-cost page](training-cost.md)). Values are means ± standard deviations "
            "over seeds.",
            tabulate(rows, headers=headers, tablefmt="github", disable_numparse=True),
        ]
        if rs:
            figure = plots / f"{entry.id}.png"
            others = [(s, records[s]) for s in siblings(entry) if records.get(s)]
            curves = [(own, by_round(rs, None))]
            curves += [(b, by_round(rs, b)) for b in baselines]
            curves += [(s, by_round(g, None)) for s, g in others]
            pai_figure(figure_title(entry), curves, dense, figure, 1 / entry.data.num_classes)
            parts.append(f"![{entry.id}]({figure.relative_to(out).as_posix()})")
        if verdicts:
            parts.append(verdict_table(verdicts))
        return "\n\n".join(parts)


@register_page("gradual")
class GradualPage(SparsePage):
    title = "Gradual magnitude pruning"
    position = 5

    def own_label(self, entry: Experiment) -> str:
        return "GMP"


@register_page("sparse_training")
class SparseTrainingPage(SparsePage):
    title = "Sparse training from scratch"
    position = 6

    def own_label(self, entry: Experiment) -> str:
        return f"{entry.params.update} ({entry.params.distribution})"
