"""The accuracy-against-training-cost page: every method's results on one network and dataset,
at matched final density, against the training FLOPs each result cost.

Sparse training is about cost (Evci et al. 2020 report accuracy beside training and inference
FLOPs), and a pruning method's result costs everything trained to find it: an iterative
ticket, its whole chain of rounds. Records arrive priced: each method prices its own
(:meth:`lthbench.methods.base.Method.training_flops`, RigL's convention of
:mod:`lthbench.methods.training_cost`), from ``lthbench plan``'s per-layer forward FLOPs or
from what the run counted, so the page builds no model. Results are matched by final density:
points whose densities stand for one another (:func:`lthbench.spec.density.stands_for`) share
a panel; a structurally slimmed network (Early-Bird's) stands at its share of the parameters.
"""

from __future__ import annotations

import re
import statistics
from pathlib import Path
from typing import Any

from tabulate import tabulate

from lthbench.report.plots import mean_std, pyplot, save_figure
from lthbench.report.tables import Records, stat
from lthbench.run.experiment import Experiment
from lthbench.runner.cost import flops_label
from lthbench.spec.density import stands_for

ACCURACY = "final_test_accuracy"
PAGE = "training-cost.md"
TITLE = "Accuracy against training cost"
MARKERS = "osD^vP*Xph<>"


def final_density(record: dict[str, Any]) -> float:
    """Where a result stands among sparse ones: its ``density`` (the share of prunable
    weights kept), or for a structurally slimmed network its ``parameter_density`` (the share
    of the dense network's parameters it keeps); 1 for a dense network."""
    return float(record.get("density") or record.get("parameter_density") or 1.0)


def points(entry: Experiment, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One point per result of the entry (round and control) over its seeds."""
    groups: dict[tuple[Any, Any], list[dict[str, Any]]] = {}
    for record in records:
        if record.get("training_flops") is None or record.get(ACCURACY) is None:
            continue
        key = (record.get("round"), record.get("control"), record.get("ratio"))
        groups.setdefault(key, []).append(record)
    out = []
    for (round_, control, ratio), group in groups.items():
        density = statistics.fmean(final_density(r) for r in group)
        label = (
            entry.id
            + (f" {control}" if control else "")
            + (f" p = {100 * ratio:.3g}%" if ratio is not None and density < 1.0 else "")
        )
        out.append({"entry": entry.id, "method": entry.method_name, "label": label,
                    "round": round_, "control": control, "density": density,
                    "records": group,
                    "flops": statistics.fmean(r["training_flops"] for r in group),
                    "inference": _mean_of(group, "inference_flops")})  # fmt: skip
    return out


def _mean_of(group: list[dict[str, Any]], key: str) -> float | None:
    values = [float(r[key]) for r in group if r.get(key) is not None]
    return statistics.fmean(values) if values else None


def shared_dense(dense: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Dense points once per set of runs: an entry whose dense runs are among another's (the
    same network, fewer seeds) shares that entry's point."""
    kept: list[tuple[set[str], dict[str, Any], list[str]]] = []
    for point in sorted(dense, key=lambda p: (-len(p["records"]), p["entry"])):
        runs = {str(r.get("run_id")) for r in point["records"]}
        home = next((k for k in kept if runs <= k[0]), None)
        if home is None:
            kept.append((runs, point, [point["entry"]]))
        else:
            home[2].append(point["entry"])
    return [{**point, "label": "dense: " + ", ".join(sorted(entries))}
            for _, point, entries in kept]  # fmt: skip


def matched(all_points: list[dict[str, Any]]) -> list[tuple[float, list[dict[str, Any]]]]:
    """Sparse points grouped by final density (largest first); a group is kept where at
    least two methods have a point in it."""
    sparse = sorted((p for p in all_points if p["density"] < 1.0), key=lambda p: -p["density"])
    groups: list[tuple[float, list[dict[str, Any]]]] = []
    for point in sparse:
        for density, members in groups:
            if stands_for(point["density"], density):
                members.append(point)
                break
        else:
            groups.append((point["density"], [point]))
    return [(d, m) for d, m in groups if len({p["method"] for p in m}) >= 2]


def _figure(title: str, panels: list[tuple[float, list[dict[str, Any]]]],
            dense: list[dict[str, Any]], path: Path) -> None:  # fmt: skip
    """A panel per matched density, two to a row, and one legend for all of them below."""
    plt = pyplot()
    columns = min(2, len(panels))
    rows = -(-len(panels) // columns)
    labels = sorted({p["label"] for _, members in panels for p in members})
    legend_height = 0.17 * (len(labels) + len(dense)) / 2 + 0.3
    figure = plt.figure(figsize=(6.5 * columns, 4.2 * rows + legend_height))
    grid = figure.add_gridspec(rows + 1, columns, height_ratios=[4.2] * rows + [legend_height])
    style = {label: (f"C{i % 10}", MARKERS[i % len(MARKERS)]) for i, label in enumerate(labels)}
    shown: Records = [r for p in dense for r in p["records"]]
    handles: dict[str, Any] = {}
    for index, (density, members) in enumerate(panels):
        axis = figure.add_subplot(grid[index // columns, index % columns])
        for point in sorted(members, key=lambda p: p["label"]):
            mean, sd = mean_std([100 * float(r[ACCURACY]) for r in point["records"]])
            colour, marker = style[point["label"]]
            handles[point["label"]] = axis.errorbar(
                [point["flops"]], [mean], yerr=[sd], color=colour, marker=marker, capsize=3,
                linestyle="none")  # fmt: skip
            shown += point["records"]
        for number, point in enumerate(dense):
            mean, _ = mean_std([100 * float(r[ACCURACY]) for r in point["records"]])
            (handles[point["label"]],) = axis.plot(
                [point["flops"]], [mean], marker=MARKERS[number % len(MARKERS)], color="black",
                linestyle="none", markerfacecolor="none")  # fmt: skip
        axis.set_xscale("log")
        axis.xaxis.set_minor_formatter(plt.NullFormatter())  # labelled minor ticks overlap
        axis.set_xlabel("training FLOPs")
        axis.set_ylabel("final test accuracy (%)")
        axis.set_title(f"final density ≈ {100 * density:.3g}%")
    legend = figure.add_subplot(grid[rows, :])
    legend.axis("off")
    legend.legend(list(handles.values()), list(handles), loc="center", ncol=2, fontsize=7,
                  frameon=False)  # fmt: skip
    save_figure(figure, title, path, shown)


def section(title: str, entries: list[Experiment], records: dict[str, Records], plots: Path,
            out: Path) -> str | None:  # fmt: skip
    """One network and dataset: a figure with a panel per matched density and its table."""
    all_points: list[dict[str, Any]] = []
    unpriced = []
    for entry in entries:
        own = records.get(entry.id, [])
        if own and all(r.get("training_flops") is None for r in own):
            unpriced.append(entry.id)
        all_points += points(entry, own)
    panels = matched(all_points)
    if not panels:
        return None
    dense = shared_dense([p for p in all_points if p["density"] >= 1.0])
    own_dense = {p["entry"]: p["flops"] for p in all_points if p["density"] >= 1.0}
    rows = []
    for density, members in panels:
        for point in sorted(members, key=lambda p: p["flops"]):
            base = own_dense.get(point["entry"])
            rows.append([f"{100 * density:.3g}", point["method"], point["label"],
                         f"{100 * point['density']:.2f}", len(point["records"]),
                         stat([float(r[ACCURACY]) for r in point["records"]], 100),
                         flops_label(point["flops"]),
                         f"{point['flops'] / base:.2f}×" if base else "–",
                         "–" if point["inference"] is None else flops_label(point["inference"])])  # fmt: skip
    figure = plots / f"training-cost-{re.sub(r'[^A-Za-z0-9_.]+', '-', title).strip('-')}.png"
    _figure(f"{title}: accuracy against training FLOPs", panels, dense, figure)
    headers = ["matched density (%)", "method", "result", "density (%)", "seeds",
               "final test acc. (%)", "training FLOPs", "÷ its dense run",
               "inference FLOPs (one example)"]  # fmt: skip
    parts = [f"## {title}",
             f"![{title}]({figure.relative_to(out).as_posix()})",
             tabulate(rows, headers=headers, tablefmt="github", disable_numparse=True)]  # fmt: skip
    if unpriced:
        parts.append("Not priced (its method gives these results no training cost, or this "
                     "store has no `lthbench plan` estimate of the entry): "
                     + ", ".join(sorted(unpriced)) + ".")  # fmt: skip
    return "\n\n".join(parts)


def _named(spec: Any) -> str:
    """A model or dataset spec as a title: its name, and the settings it sets."""
    settings = {
        **spec.model_dump(mode="json", exclude_defaults=True),
        **getattr(spec, "kwargs", {}),
    }
    shown = ", ".join(
        f"{k} {v}" for k, v in sorted(settings.items()) if k not in ("name", "kwargs")
    )
    return f"{spec.name} ({shown})" if shown else spec.name


def body(entries: list[Experiment], records: dict[str, Records], plots: Path,
         out: Path) -> str | None:  # fmt: skip
    """The page's body, one section per network and dataset where two methods meet at a
    density; None when there is none."""
    groups: dict[tuple[str, str], list[Experiment]] = {}
    for entry in entries:
        key = (entry.model.model_dump_json(), entry.dataset.model_dump_json())
        groups.setdefault(key, []).append(entry)
    sections = []
    for group in groups.values():
        if len({e.method_name for e in group}) < 2:
            continue
        title = f"{_named(group[0].model)} on {_named(group[0].dataset)}"
        shown = section(title, group, records, plots, out)
        if shown is not None:
            sections.append(shown)
    if not sections:
        return None
    intro = (
        "Every method's results on one network and dataset, at matched final density, against "
        "the training FLOPs each cost: a training step counts three forward passes per example "
        "of a full batch, a sparse layer's forward its density times the dense one's, and a "
        "step that took RigL's dense gradient 2 f_S + f_D (Evci et al. 2020, appendix H; "
        "ShrinkBench's convention). A pruning method's result costs everything trained to "
        "find it: an iterative ticket its whole chain of rounds, a rewound round the steps "
        "from its rewind point; Early-Bird's a search up to its draw and the slim network's training "
        "after it, each at the cost `torch.utils.flop_counter` counts for it, its slim networks "
        "placed at the share of the dense network's parameters they keep. Forward FLOPs per "
        "layer are `lthbench plan`'s "
        "(`torch.utils.flop_counter`). Inference FLOPs are one example's forward pass at the "
        "final mask, as Evci et al. report them beside training FLOPs (a slim network's own "
        "count). Accuracies are means ± standard deviations over seeds; FLOPs are means."
    )
    return "\n\n".join([intro, *sections])
