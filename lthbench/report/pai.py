"""The pruning-at-initialisation page: per entry, accuracy by density for the criterion, each
ablation and the sibling entries its claims name (a lottery ticket, another criterion), one
figure of accuracy against density, and the verdicts."""

from __future__ import annotations

from pathlib import Path

from tabulate import tabulate

from lthbench.claims import Verdict
from lthbench.claims.select import at_density
from lthbench.report.pages import MethodPage, register_page
from lthbench.report.plots import (
    by_round,
    chance_line,
    density_axis,
    figure_title,
    mean_std,
    pyplot,
    save_figure,
)
from lthbench.report.tables import Records, metric, siblings, verdict_table
from lthbench.run.experiment import Experiment

ACCURACY = "final_test_accuracy"
COLOURS = ["tab:blue", "tab:orange", "tab:green", "tab:red", "tab:brown", "tab:purple",
           "tab:pink", "tab:olive", "tab:cyan"]  # fmt: skip


def _sibling_at(sibling: Records, group: Records) -> Records:
    """A sibling's tickets read where this entry's results lie, seed by seed, exactly as its
    claims read them (:func:`lthbench.claims.select.at_density`: the round at that density,
    else interpolated in log density between the two around it; none outside its range)."""
    read = []
    for result in group:
        mine = [s for s in sibling if s["seed"] == result["seed"] and s.get("control") is None]
        at = at_density(mine, float(result["density"]), (ACCURACY,))
        if at is not None:
            read.append(at)
    return read


def pai_figure(title: str, curves: list[tuple[str, list[tuple[float, Records]]]],
               dense: Records, path: Path, chance: float | None = None) -> None:  # fmt: skip
    """Final test accuracy against the percent of weights remaining, one line per curve."""
    figure, axis = pyplot().subplots(figsize=(7, 4.5))
    for (label, points), colour in zip(curves, COLOURS * 2, strict=False):
        points = [(d, g) for d, g in points if d < 1.0]
        if not points:
            continue
        stats = [mean_std([100 * float(r[ACCURACY]) for r in g]) for _, g in points]
        axis.errorbar([100 * d for d, _ in points], [m for m, _ in stats],
                      yerr=[s for _, s in stats], label=label, color=colour, marker="o",
                      markersize=4, capsize=3)  # fmt: skip
    if dense:
        mean, _ = mean_std([100 * float(r[ACCURACY]) for r in dense])
        axis.axhline(mean, color="black", linestyle="--", linewidth=1, label="dense")
    if chance is not None:
        chance_line(axis, chance)
    density_axis(axis)
    axis.set_ylabel("final test accuracy (%)")
    axis.legend(fontsize=8)
    shown = [*dense, *(r for _, points in curves for _, group in points for r in group)]
    save_figure(figure, title, path, shown)


@register_page("pai")
class PaiPage(MethodPage):
    title = "Pruning at initialisation"
    position = 3

    def headline(self, entry: Experiment, records: Records) -> str:
        pruned = by_round(records, None)
        if len(pruned) < 2:
            return "–"
        density, last = pruned[-1]
        dense = metric(pruned[0][1], ACCURACY, 100, 1)
        return (f"dense {dense}% → {entry.params.criterion} {metric(last, ACCURACY, 100, 1)}% "
                f"at Pm {100 * density:.1f}%")  # fmt: skip

    def section(
        self, entry: Experiment, records: dict[str, Records], verdicts: list[Verdict], plots: Path,
        out: Path,
    ) -> str:  # fmt: skip
        rs = records.get(entry.id, [])
        controls = list(entry.params.controls)
        criterion = entry.params.criterion
        others = [(s, records[s]) for s in siblings(entry) if records.get(s)]
        rows = []
        for density, group in by_round(rs, None):
            round_ = group[0]["round"]
            if round_ == 0:
                continue
            row = [f"{100 * group[0]['target_density']:g}", f"{100 * density:.2f}", len(group),
                   metric(group, ACCURACY, 100)]  # fmt: skip
            row += [metric([r for r in rs if r["round"] == round_ and r.get("control") == c],
                           ACCURACY, 100) for c in controls]  # fmt: skip
            row += [metric(_sibling_at(g, group), ACCURACY, 100) for _, g in others]
            rows.append(row)
        headers = ["target Pm (%)", "Pm (%)", "seeds", f"{criterion} acc. (%)"]
        headers += [f"{c} acc. (%)" for c in controls]
        headers += [f"{s} acc. (%)" for s, _ in others]
        dense = [r for r in rs if r.get("round") == 0]
        parts = [
            f"### {entry.id}",
            entry.description.strip(),
            f"Model `{entry.model.name}`, dataset `{entry.dataset.name}`, {entry.tier} tier, "
            f"pruned at initialisation by `{criterion}` ({entry.params.scope}); dense: "
            f"{metric(dense, ACCURACY, 100)}% final test accuracy. A sibling's column reads its "
            "tickets at each seed's density, as the claims do: the round there, else interpolated "
            "in log density between its two rounds around it (– outside its range). Values are means ± standard deviations over seeds.",
            tabulate(rows, headers=headers, tablefmt="github", disable_numparse=True),
        ]
        if rs:
            figure = plots / f"{entry.id}.png"
            curves = [(criterion, by_round(rs, None))]
            curves += [(c, by_round(rs, c)) for c in controls]
            curves += [(s, by_round(g, None)) for s, g in others]
            pai_figure(figure_title(entry), curves, dense, figure, 1 / entry.data.num_classes)
            parts.append(f"![{entry.id}]({figure.relative_to(out).as_posix()})")
        if verdicts:
            parts.append(verdict_table(verdicts))
        return "\n\n".join(parts)
