"""The pruning-at-initialisation page: per entry, accuracy by density for the criterion, each
ablation and the sibling entries its claims name (a lottery ticket, another criterion), one
figure of accuracy against density, and the verdicts."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

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


def density_siblings(entry: Experiment, records: dict[str, Records]) -> list[tuple[str, Records]]:
    """The sibling entries its claims name whose results lie along density (a curve beside
    the entry's); a sibling read otherwise (Early-Bird's slim networks, by ratio) is in the
    verdicts only."""
    return [(s, records[s]) for s in siblings(entry)
            if records.get(s) and all(r.get("density") for r in records[s])]  # fmt: skip


def headline_at_density(label: str, records: Records) -> str:
    """Dense accuracy → ``label``'s at the lowest density: a page's one-line summary."""
    own = by_round(records, None)
    if len(own) < 2:
        return "–"
    density, last = own[-1]
    dense = metric(own[0][1], ACCURACY, 100, 1)
    return f"dense {dense}% → {label} {metric(last, ACCURACY, 100, 1)}% at Pm {100 * density:.1f}%"


def density_rows(records: Records, cells: Callable[[int, Records], list[Any]]) -> list[list[Any]]:
    """A row per sparse round of the entry's own results: target and reached density, seeds,
    accuracy, then ``cells(round, group)`` (its controls', baselines' or siblings' columns)."""
    rows = []
    for density, group in by_round(records, None):
        round_ = group[0]["round"]
        if round_ == 0:
            continue
        rows.append([f"{100 * group[0]['target_density']:g}", f"{100 * density:.2f}", len(group),
                     metric(group, ACCURACY, 100), *cells(round_, group)])  # fmt: skip
    return rows


def density_section(
    entry: Experiment, setting: str, table: str, curves: list[tuple[str, Any]],
    verdicts: list[Verdict], plots: Path, out: Path,
) -> str:  # fmt: skip
    """An entry's section: its description, ``setting`` (what the table shows), the table,
    the figure of ``curves`` against density beside its dense runs, and the verdicts."""
    records = [r for _, points in curves for _, group in points for r in group]
    dense = [r for _, points in curves[:1] for _, group in points for r in group
             if r.get("round") == 0]  # fmt: skip
    parts = [
        f"### {entry.id}",
        entry.description.strip(),
        f"Model `{entry.model.name}`, dataset `{entry.dataset.name}`, {entry.tier} tier{setting} "
        "Values are means ± standard deviations over seeds.",
        table,
    ]
    if records:
        figure = plots / f"{entry.id}.png"
        pai_figure(figure_title(entry), curves, dense, figure, 1 / entry.data.num_classes)
        parts.append(f"![{entry.id}]({figure.relative_to(out).as_posix()})")
    if verdicts:
        parts.append(verdict_table(verdicts))
    return "\n\n".join(parts)


@register_page("pai")
class PaiPage(MethodPage):
    title = "Pruning at initialisation"
    position = 3

    def headline(self, entry: Experiment, records: Records) -> str:
        return headline_at_density(entry.params.criterion, records)

    def section(
        self, entry: Experiment, records: dict[str, Records], verdicts: list[Verdict], plots: Path,
        out: Path,
    ) -> str:  # fmt: skip
        rs = records.get(entry.id, [])
        controls = list(entry.params.controls)
        criterion = entry.params.criterion
        others = density_siblings(entry, records)

        def cells(round_: int, group: Records) -> list[str]:
            theirs = [[r for r in rs if r["round"] == round_ and r.get("control") == c]
                      for c in controls]  # fmt: skip
            return [metric(t, ACCURACY, 100) for t in theirs] + [
                metric(_sibling_at(g, group), ACCURACY, 100) for _, g in others]  # fmt: skip

        headers = ["target Pm (%)", "Pm (%)", "seeds", f"{criterion} acc. (%)"]
        headers += [f"{c} acc. (%)" for c in controls]
        headers += [f"{s} acc. (%)" for s, _ in others]
        dense = [r for r in rs if r.get("round") == 0]
        setting = (
            f", pruned at initialisation by `{criterion}` ({entry.params.scope}); dense: "
            f"{metric(dense, ACCURACY, 100)}% final test accuracy. A sibling's column reads its "
            "tickets at each seed's density, as the claims do: the round there, else interpolated "
            "in log density between its two rounds around it (– outside its range)."
        )
        table = tabulate(density_rows(rs, cells), headers=headers, tablefmt="github",
                         disable_numparse=True)  # fmt: skip
        curves = [(criterion, by_round(rs, None))]
        curves += [(c, by_round(rs, c)) for c in controls]
        curves += [(s, by_round(g, None)) for s, g in others]
        return density_section(entry, setting, table, curves, verdicts, plots, out)
