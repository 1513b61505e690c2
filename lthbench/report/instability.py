"""The instability page: per entry, the error barrier between two copies trained from θ_k
against k (train and test), the copies' accuracy, and the verdicts."""

from __future__ import annotations

from pathlib import Path

from tabulate import tabulate

from lthbench.claims import Verdict
from lthbench.report.pages import MethodPage, register_page
from lthbench.report.plots import figure_title, mean_std, pyplot, save_figure, whole_numbers
from lthbench.report.tables import Records, metric, verdict_table
from lthbench.run.experiment import Experiment


def _by_point(records: Records, group: str | None = None) -> list[tuple[int, Records]]:
    """One network's records (the dense one, or the ticket's) by rewind iteration."""
    points: dict[int, Records] = {}
    for record in records:
        if record.get("control") == group:
            points.setdefault(record["rewind_iteration"], []).append(record)
    return sorted(points.items())


def _label(group: str | None, records: Records) -> str:
    if group is None:
        return "dense"
    density = sum(r["density"] for r in records) / len(records)
    return f"IMP ticket (Pm {100 * density:.1f}%)"


def barrier_figure(title: str, records: Records, path: Path) -> None:
    """Error barrier (percentage points) against the rewind iteration k, train and test."""
    figure, (barriers, paths) = pyplot().subplots(1, 2, figsize=(11, 4))
    points = _by_point(records)
    groups = [g for g in (None, "ticket") if _by_point(records, g)]
    for group in groups:
        mine = [r for r in records if r.get("control") == group]
        for split, colour in (("train", "tab:orange"), ("test", "tab:blue")):
            stats = [mean_std([100 * r[f"{split}_barrier"] for r in g])
                     for _, g in _by_point(records, group)]  # fmt: skip
            barriers.errorbar([k for k, _ in _by_point(records, group)], [m for m, _ in stats],
                              yerr=[s for _, s in stats], label=f"{_label(group, mine)}, {split}",
                              color=colour, marker="o" if group is None else "s",
                              linestyle="-" if group is None else "--", markersize=4,
                              capsize=3)  # fmt: skip
    barriers.axhline(0, color="black", linewidth=0.8)
    barriers.set_xlabel("rewind iteration k (copies trained from θ_k)")
    whole_numbers(barriers.xaxis)
    barriers.set_ylabel("error barrier (percentage points)")
    barriers.legend(fontsize=8)
    barriers.grid(True, alpha=0.3)
    for k, group in points:  # mean test error along the path, one line per k
        alphas = group[0]["path"]["alphas"]
        errors = [sum(r["path"]["test_error"][i] for r in group) / len(group)
                  for i in range(len(alphas))]  # fmt: skip
        paths.plot(alphas, [100 * e for e in errors], marker=".", label=f"k = {k}")
    seeds = len({r["seed"] for r in records})
    paths.set_xlabel(f"interpolation α (0: copy 1, 1: copy 2); the dense network's copies, "
                     f"mean over {seeds} seed{'s' if seeds != 1 else ''}")  # fmt: skip
    paths.set_ylabel("test error (%)")
    paths.legend(fontsize=8)
    paths.grid(True, alpha=0.3)
    save_figure(figure, title, path, records)


@register_page("instability")
class InstabilityPage(MethodPage):
    title = "Instability (linear mode connectivity)"
    position = 4

    def headline(self, entry: Experiment, records: Records) -> str:
        points = _by_point(records)
        if not points:
            return "–"
        first, group = points[0]
        return f"test barrier {metric(group, 'test_barrier', 100, 1)} pp at k = {first}"

    def section(
        self, entry: Experiment, records: dict[str, Records], verdicts: list[Verdict], plots: Path,
        out: Path,
    ) -> str:  # fmt: skip
        rs = records.get(entry.id, [])
        rows = []
        for network in (None, "ticket"):
            mine = [r for r in rs if r.get("control") == network]
            rows += [[_label(network, mine), k, group[0]["rewind_point"], len(group),
                      metric(group, "test_barrier", 100), metric(group, "train_barrier", 100),
                      metric(group, "final_test_accuracy", 100)]
                     for k, group in _by_point(rs, network)]  # fmt: skip
        headers = ["network", "k (it.)", "rewind point", "seeds", "test barrier (pp)",
                   "train barrier (pp)", "copies' final test acc. (%)"]  # fmt: skip
        parts = [
            f"### {entry.id}",
            entry.description.strip(),
            f"Model `{entry.model.name}`, dataset `{entry.dataset.name}`, {entry.tier} tier; "
            f"{entry.params.points} points on each path. Values are means ± standard deviations "
            "over seeds.",
            tabulate(rows, headers=headers, tablefmt="github", disable_numparse=True),
        ]
        if rs:
            figure = plots / f"{entry.id}.png"
            barrier_figure(figure_title(entry), rs, figure)
            parts.append(f"![{entry.id}]({figure.relative_to(out).as_posix()})")
        if verdicts:
            parts.append(verdict_table(verdicts))
        return "\n\n".join(parts)
