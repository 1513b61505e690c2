"""The pages of gradual pruning and sparse training: per entry, accuracy and training cost by
density for the entry's own result and each baseline, one figure of accuracy against density
(the sibling entries its claims name beside it), and the verdicts."""

from __future__ import annotations

from pathlib import Path

from tabulate import tabulate

from lthbench.claims import Verdict
from lthbench.report.pages import MethodPage, register_page
from lthbench.report.pai import (
    ACCURACY,
    density_rows,
    density_section,
    density_siblings,
    headline_at_density,
)
from lthbench.report.plots import by_round
from lthbench.report.tables import Records, metric
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
        return headline_at_density(self.own_label(entry), records)

    def section(
        self, entry: Experiment, records: dict[str, Records], verdicts: list[Verdict], plots: Path,
        out: Path,
    ) -> str:  # fmt: skip
        rs = records.get(entry.id, [])
        baselines = list(getattr(entry.params, "baselines", []))
        own = self.own_label(entry)

        def cells(round_: int, group: Records) -> list[str]:
            out = [_flops(group)]
            for baseline in baselines:
                theirs = [r for r in rs if r["round"] == round_ and r.get("control") == baseline]
                out += [metric(theirs, ACCURACY, 100), _flops(theirs)]
            return out

        headers = ["target Pm (%)", "Pm (%)", "seeds", f"{own} acc. (%)", f"{own} training FLOPs"]
        for baseline in baselines:
            headers += [f"{baseline} acc. (%)", f"{baseline} training FLOPs"]
        dense = [r for r in rs if r.get("round") == 0]
        setting = (
            f"; dense: {metric(dense, ACCURACY, 100)}% final test accuracy, {_flops(dense)} to "
            "train. Training FLOPs as each run trained (see the "
            "[training-cost page](training-cost.md))."
        )
        table = tabulate(density_rows(rs, cells), headers=headers, tablefmt="github",
                         disable_numparse=True)  # fmt: skip
        others = density_siblings(entry, records)
        curves = [(own, by_round(rs, None))]
        curves += [(b, by_round(rs, b)) for b in baselines]
        curves += [(s, by_round(g, None)) for s, g in others]
        return density_section(entry, setting, table, curves, verdicts, plots, out)


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
