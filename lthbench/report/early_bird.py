"""The Early-Bird section of the leaderboards: draw epochs, retrained accuracy against the
baselines, training-FLOP and wall-clock savings, and the mask-distance heatmaps.

The heatmap is You et al.'s Figure 2: the normalised Hamming distance between the channel
masks of every pair of epochs of the search (first seed), one panel per pruning ratio, with
the draw epoch marked. Savings are ratios of costs (baseline ÷ EB-Train), so > 1 is a saving.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tabulate import tabulate

from lthbench.claims import Verdict
from lthbench.report.pages import MethodPage, register_page
from lthbench.report.plots import figure_title, pyplot
from lthbench.report.tables import metric, siblings, verdict_table
from lthbench.run.experiment import Experiment

Records = list[dict[str, Any]]


def _of(records: Records, phase: str, ratio: float | None) -> Records:
    return [r for r in records if r.get("phase") == phase and r.get("ratio") == ratio]


def summary_rows(records: Records, ratios: list[float], metric: Any) -> list[list[str]]:
    """One row per ratio; ``metric(records, name, scale, digits)`` formats mean ± sd."""
    dense = _of(records, "dense", None)
    rows = []
    for ratio in ratios:
        tickets = _of(records, "eb_train", ratio)
        rows.append([
            f"{100 * ratio:g}", len(tickets), metric(tickets, "draw_epoch", 1, 1),
            metric(tickets, "draw_fraction", 100, 1), metric(tickets, "channel_density", 100, 1),
            metric(tickets, "final_test_accuracy", 100), metric(dense, "final_test_accuracy", 100),
            metric(_of(records, "network_slimming", ratio), "final_test_accuracy", 100),
            metric(_of(records, "scratch", ratio), "final_test_accuracy", 100),
            metric(_of(records, "lottery_oneshot", ratio), "final_test_accuracy", 100),
            metric(tickets, "training_flops_saving_vs_dense", 1),
            metric(tickets, "training_flops_saving_vs_slimming", 1),
            metric(tickets, "wall_time_saving_vs_dense", 1),
            metric(tickets, "wall_time_saving_vs_slimming", 1),
        ])  # fmt: skip
    return rows


HEADERS = [
    "p (%)", "seeds", "draw epoch", "draw (% of budget)", "channels kept (%)",
    "EB-Train acc. (%)", "dense acc. (%)", "network slimming acc. (%)", "scratch acc. (%)",
    "LT one-shot acc. (%)", "FLOPs saving vs dense (×)", "FLOPs saving vs NS (×)", "wall saving vs dense (×)",
    "wall saving vs NS (×)",
]  # fmt: skip


def section_table(records: Records, ratios: list[float], metric: Any) -> str:
    return tabulate(
        summary_rows(records, ratios, metric),
        headers=HEADERS,
        tablefmt="github",
        disable_numparse=True,
    )


def sibling_table(
    entry_id: str,
    records: Records,
    sibling: str,
    others: Records,
    ratios: list[float],
    metric: Any,
) -> str:
    """This entry's tickets beside a sibling's (e.g. the 8-bit search beside the fp32 one)."""
    rows = [
        [f"{100 * ratio:g}",
         metric(_of(records, "eb_train", ratio), "draw_epoch", 1, 1),
         metric(_of(others, "eb_train", ratio), "draw_epoch", 1, 1),
         metric(_of(records, "eb_train", ratio), "final_test_accuracy", 100),
         metric(_of(others, "eb_train", ratio), "final_test_accuracy", 100)]
        for ratio in ratios
    ]  # fmt: skip
    headers = ["p (%)", f"draw epoch ({entry_id})", f"draw epoch ({sibling})",
               f"EB-Train acc. ({entry_id}) (%)", f"EB-Train acc. ({sibling}) (%)"]  # fmt: skip
    return tabulate(rows, headers=headers, tablefmt="github", disable_numparse=True)


def cost_table(records: Records, ratios: list[float]) -> str:
    """Per-step and total training FLOPs of each architecture (first seed), and its size."""
    seeds = sorted({r["seed"] for r in records if "seed" in r})
    if not seeds:
        return ""
    first = [r for r in records if r.get("seed") == seeds[0]]
    rows = []
    for phase, ratio in [("dense", None)] + [
        (phase, ratio)
        for ratio in ratios
        for phase in ("eb_train", "network_slimming", "scratch", "lottery_oneshot")
    ]:
        for record in _of(first, phase, ratio):
            rows.append([
                phase.replace("_", " "), "–" if ratio is None else f"{100 * ratio:g}",
                f"{record.get('parameters', 0):,}", f"{record.get('inference_flops', 0) / 1e6:.2f}",
                f"{record.get('step_flops', 0) / 1e9:.3f}",
                f"{record.get('training_flops', 0) / 1e12:.3f}",
                record.get("iterations", "–"),
            ])  # fmt: skip
    headers = ["run", "p (%)", "parameters", "inference MFLOPs / example",
               "GFLOPs / training step", "training TFLOPs (incl. search)", "iterations"]  # fmt: skip
    return tabulate(rows, headers=headers, tablefmt="github", disable_numparse=True)


def heatmap_figure(title: str, records: Records, ratios: list[float], path: Path) -> bool:
    """Mask-distance matrices of the first seed's search; False when there is nothing to draw."""
    seeds = sorted({r["seed"] for r in records if "seed" in r})
    panels = []
    for ratio in ratios:
        tickets = [r for r in _of(records, "eb_train", ratio) if seeds and r["seed"] == seeds[0]]
        if tickets and tickets[0].get("distance_matrix"):
            panels.append((ratio, tickets[0]))
    if not panels:
        return False
    plt = pyplot()
    figure, axes = plt.subplots(1, len(panels), figsize=(4.2 * len(panels), 3.8), squeeze=False)
    top = max(0.3, *(max(map(max, t["distance_matrix"])) for _, t in panels))  # one scale
    for axis, (ratio, ticket) in zip(axes[0], panels, strict=True):
        matrix = ticket["distance_matrix"]
        epochs = ticket["mask_epochs"]
        image = axis.imshow(matrix, cmap="viridis", vmin=0, vmax=top,
                            origin="lower", extent=(epochs[0] - 0.5, epochs[-1] + 0.5,
                                                    epochs[0] - 0.5, epochs[-1] + 0.5))  # fmt: skip
        draw = ticket.get("draw_epoch")
        if draw is not None:
            axis.axvline(draw, color="white", linestyle="--", linewidth=1)
            axis.axhline(draw, color="white", linestyle="--", linewidth=1)
        axis.set_title(
            f"p = {100 * ratio:g}%, drawn at epoch {'–' if draw is None else f'{draw:g}'}"
        )
        axis.set_xlabel("epoch")
        axis.set_ylabel("epoch")
        bar = figure.colorbar(image, ax=axis, fraction=0.046, pad=0.04)
        bar.set_label("mask distance (normalised Hamming)")
    figure.suptitle(f"{title}: mask distance between epochs (seed {seeds[0]})")
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=90, metadata={"Software": None})
    plt.close(figure)
    return True


def emptied_warning(records: Records) -> str:
    """A warning naming every slim network whose mask emptied a layer (it kept one channel
    so that it computes; the claims reading it are not applicable)."""
    hits: dict[tuple[str, float], set[str]] = {}
    for r in records:
        for layer in r.get("emptied_layers") or []:
            hits.setdefault((str(r.get("phase")), float(r.get("ratio") or 0)), set()).add(layer)
    if not hits:
        return ""
    listed = "; ".join(f"{phase} at p {100 * ratio:g}%: {', '.join(sorted(layers))}"
                       for (phase, ratio), layers in sorted(hits.items()))  # fmt: skip
    return (f"> **Warning: the global BatchNorm threshold emptied a layer** ({listed}). Each such "
            "layer kept its channel of largest |γ| so that the network computes, which is not "
            "the network the mask asked for; claims reading it are not applicable.")  # fmt: skip


def _ratios(entry: Experiment) -> list[float]:
    return list(entry.params.ratios)


def _middle_ratio(entry: Experiment) -> float:
    ratios = sorted(_ratios(entry))
    return ratios[len(ratios) // 2]


@register_page("early_bird")
class EarlyBirdPage(MethodPage):
    title = "Early-Bird tickets"
    position = 2

    def headline(self, entry: Experiment, records: Records) -> str:
        ratio = _middle_ratio(entry)
        tickets = [r for r in records if r.get("phase") == "eb_train" and r.get("ratio") == ratio]
        dense = [r for r in records if r.get("phase") == "dense"]
        if not tickets:
            return "–"
        return (
            f"dense {metric(dense, 'final_test_accuracy', 100, 1)}% → EB-Train "
            f"{metric(tickets, 'final_test_accuracy', 100, 1)}% at p {100 * ratio:g}%, "
            f"FLOPs ÷{metric(tickets, 'training_flops_saving_vs_dense', 1, 2)} vs dense"
        )

    def section(
        self, entry: Experiment, records: dict[str, Records], verdicts: list[Verdict], plots: Path,
        out: Path,
    ) -> str:  # fmt: skip
        rs = records.get(entry.id, [])
        params = entry.params
        ratios = _ratios(entry)
        figure = plots / f"{entry.id}.png"
        parts = [
            f"### {entry.id}",
            entry.description.strip(),
            f"Model `{entry.model.name}`, dataset `{entry.dataset.name}`, {entry.tier} tier; search "
            f"at {params.search_precision} with the "
            f"{params.search_schedule} schedule. Accuracies are final test "
            "accuracies, means ± standard deviations over seeds; savings are baseline cost ÷ "
            "EB-Train cost (training FLOPs count the search up to the draw, the detector and the "
            "slim network's steps; wall times are measured on the device in the page header).",
            "The 8-bit search is simulated (values quantised, arithmetic in fp32): its wall time is "
            "not 8-bit hardware's, and its FLOPs are counted like full-precision ones."
            if params.search_precision == "int8"
            else "",
            emptied_warning(rs),
            section_table(rs, ratios, metric),
            *[
                sibling_table(entry.id, rs, sibling, records[sibling], ratios, metric)
                for sibling in siblings(entry)
                if records.get(sibling)
            ],
            cost_table(rs, ratios),
        ]
        if rs and heatmap_figure(figure_title(entry), rs, ratios, figure):
            parts.append(f"![{entry.id}]({figure.relative_to(out).as_posix()})")
        if verdicts:
            parts.append(verdict_table(verdicts))
        return "\n\n".join(p for p in parts if p)
