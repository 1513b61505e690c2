"""Figures like the LTH paper's: accuracy and early-stopping iteration vs. weights remaining.

Rendered with matplotlib's Agg backend and no timestamp in the PNG, so the same results give
byte-identical files.
"""

from __future__ import annotations

import statistics
from pathlib import Path
from typing import Any

Records = list[dict[str, Any]]

CURVES = [  # (label, control, colour, marker)
    ("winning ticket", None, "tab:blue", "o"),
    ("random reinit", "random_reinit", "tab:orange", "s"),
    ("random prune", "random_prune", "tab:green", "^"),
]


def pyplot() -> Any:
    """matplotlib's pyplot on the Agg backend, imported when a figure is drawn (it takes half
    a second, which commands that draw nothing should not pay)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def by_round(records: Records, control: str | None) -> list[tuple[float, list[dict[str, Any]]]]:
    """Records of one curve grouped by round: (mean density, records over seeds)."""
    rounds: dict[int, list[dict[str, Any]]] = {}
    for record in records:
        if record.get("control") == control and record.get("round") is not None:
            rounds.setdefault(record["round"], []).append(record)
    return [
        (statistics.fmean(r["density"] for r in group), group)
        for _, group in sorted(rounds.items())
    ]


def mean_std(values: list[float]) -> tuple[float, float]:
    return statistics.fmean(values), statistics.stdev(values) if len(values) > 1 else 0.0


def density_axis(axis: Any) -> None:
    """A log axis of the percent of weights remaining, densest on the left, as the papers
    draw it."""
    from matplotlib import ticker

    axis.set_xscale("log")
    axis.xaxis.set_major_locator(ticker.LogLocator(subs=(1.0, 2.0, 5.0)))
    axis.xaxis.set_major_formatter(ticker.FuncFormatter(lambda v, _: f"{v:g}"))
    axis.xaxis.set_minor_formatter(ticker.NullFormatter())
    axis.invert_xaxis()
    axis.set_xlabel("percent of weights remaining")
    axis.grid(True, which="both", alpha=0.3)


def figure_title(entry: Any) -> str:
    """An entry's figure title, marked when its runs are a reduced variant (``--budget``,
    ``--set``): a PNG travels without the page's banner."""
    variant = entry.variant
    return entry.id if variant.full else f"{entry.id} [reduced: {variant.label}]"


def whole_numbers(axis: Any) -> None:
    """Ticks at whole numbers only (iterations, epochs)."""
    from matplotlib import ticker

    axis.set_major_locator(ticker.MaxNLocator(integer=True))


def save_figure(figure: Any, title: str, path: Path, records: Records) -> None:
    """Title (how many seeds the error bars span), layout, and a PNG without a timestamp (the
    same results give the same bytes)."""
    plt = pyplot()
    per_entry: dict[Any, set[Any]] = {}
    for r in records:
        per_entry.setdefault(r.get("entry_id"), set()).add(r["seed"])
    counts = sorted({len(seeds) for seeds in per_entry.values()}) or [0]
    seeds = f"{counts[0]}" if len(counts) == 1 else f"{counts[0]}–{counts[-1]}"
    spread = "one seed: no spread shown" if counts == [1] else f"mean ± 1 s.d. over {seeds} seeds"
    figure.suptitle(f"{title} ({spread})")
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=90, metadata={"Software": None})
    plt.close(figure)


def chance_line(axis: Any, chance: float) -> None:
    """Chance accuracy and twice it (at or below which a claim calls a network collapsed, see
    the verdict rules), where the plotted range reaches them: drawn elsewhere they would
    squeeze the curves into a band."""
    low, high = axis.get_ylim()
    for level, style, label in ((chance, ":", "chance"),
                                (2 * chance, "-.", "2× chance (collapsed at or below)")):  # fmt: skip
        if low <= 100 * level <= high:
            axis.axhline(100 * level, color="grey", linestyle=style, linewidth=0.8, label=label)
    axis.set_ylim(low, high)


def lottery_figure(
    title: str, records: Records, sibling: tuple[str, Records] | None, path: Path,
    chance: float | None = None,
) -> None:  # fmt: skip
    """Test accuracy at early stop and early-stop iteration vs. percent of weights remaining."""
    plt = pyplot()
    figure, (accuracy, speed) = plt.subplots(1, 2, figsize=(11, 4))
    curves = [
        (label, records, control, colour, marker) for label, control, colour, marker in CURVES
    ]
    if sibling is not None:
        curves.append((f"one-shot ({sibling[0]})", sibling[1], None, "tab:purple", "D"))
    for label, source, control, colour, marker in curves:
        points = [(d, g) for d, g in by_round(source, control) if g[0]["round"] > 0]
        if not points:
            continue
        x = [100 * d for d, _ in points]
        for axis, metric in (
            (accuracy, "test_accuracy_at_early_stop"),
            (speed, "early_stop_iteration"),
        ):
            scale = 100.0 if "accuracy" in metric else 1.0
            stats = [mean_std([scale * float(r[metric]) for r in group]) for _, group in points]
            axis.errorbar(x, [m for m, _ in stats], yerr=[s for _, s in stats], label=label,
                          color=colour, marker=marker, markersize=4, capsize=3)  # fmt: skip
    dense = [r for r in records if r.get("round") == 0 and r.get("control") is None]
    for axis, metric in (
        (accuracy, "test_accuracy_at_early_stop"),
        (speed, "early_stop_iteration"),
    ):
        if dense:
            scale = 100.0 if "accuracy" in metric else 1.0
            mean, _ = mean_std([scale * float(r[metric]) for r in dense])
            axis.axhline(mean, color="black", linestyle="--", linewidth=1, label="dense")
        density_axis(axis)
    if chance is not None:
        chance_line(accuracy, chance)
    accuracy.set_ylabel("test accuracy at early stop (%)")
    speed.set_ylabel("early-stop iteration (min. validation loss)")
    whole_numbers(speed.yaxis)
    accuracy.legend(fontsize=8)
    save_figure(figure, title, path, records)
