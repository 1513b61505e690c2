"""Markdown leaderboards from stored results and verdicts.

An index page and one page per method that has entries; every page says how it was produced
(lthbench version and commit, torch version, device, date of the newest result). What a
method's page shows is the method's page plugin (:mod:`lthbench.report.pages`); this module
names no method. Rendering depends on the results alone, so the same results give
byte-identical pages.
"""

from __future__ import annotations

from pathlib import Path

from tabulate import tabulate

from lthbench.claims import Verdict
from lthbench.claims.devices import device_list
from lthbench.report import training_cost
from lthbench.report.pages import ordered, page_of, title_of
from lthbench.report.tables import (
    COLUMNS,
    VERDICT_RULE,
    Records,
    holm_family,
    machine_note,
    provenance,
    seeds_needed_text,
    verdict_counts,
    verdict_table,
)
from lthbench.run.experiment import Experiment
from lthbench.runner.cost import ASSUMED_TFLOPS, CostEstimate, flops_label

__all__ = ["render", "seeds_needed_text", "verdict_counts", "verdict_table"]


def origins(records: Records) -> list[str]:
    """The devices and sources (this store, or an imported bundle) of an entry's results."""
    sources = sorted({str(r.get("source", "this store")) for r in records}) or ["–"]
    return [device_list(records), ", ".join(sources)]


def gpu_time(estimate: CostEstimate | None) -> str:
    if estimate is None:
        return "– (lthbench plan)"
    return estimate.gpu_time()


def cost_table(entries: list[Experiment], estimates: dict[str, CostEstimate]) -> str:
    """What each paper-tier entry will cost to train, before anyone runs it."""
    rows = []
    for entry in entries:
        e = estimates.get(entry.id)
        if e is None:
            rows.append([entry.id, "–", "–", "–", "–", gpu_time(None)])
            continue
        rows.append([entry.id, e.runs, flops_label(e.step_flops), flops_label(e.training_flops),
                     f"{e.evaluation_share:.0%}", gpu_time(e)])  # fmt: skip
    headers = ["entry", "runs", "FLOPs per step", "training FLOPs", "evaluation share",
               f"GPU time at {ASSUMED_TFLOPS:g} TFLOP/s"]  # fmt: skip
    return (
        "## What the paper tier will cost\n\nEstimated by `lthbench plan` before anything runs: "
        "one training step counted by `torch.utils.flop_counter` on the meta device, times the "
        "steps each run trains (a masked network at its dense cost, as a GPU trains it), plus "
        "every evaluation of the validation and test sets; GPU time at a sustained "
        f"{ASSUMED_TFLOPS:g} TFLOP/s (about a V100's FP32 peak; small CIFAR networks rarely "
        "sustain it, so read it as a lower bound on wall time). ≤: an upper bound (a search that "
        "stops at its draw, a slimmed network counted at the dense one's cost).\n\n"
        + tabulate(rows, headers=headers, tablefmt="github", disable_numparse=True)
    )


INDEX_NOTES = (
    "Each entry's headline reads its own runs: entries on one network and dataset that train "
    "with different schedules, seeds or budgets each show their own dense figure (they share "
    "a dense run only where every setting that determines it is the same). *GPU time (est.)*: "
    "`lthbench plan`'s FLOPs (training and every evaluation) at a sustained "
    f"{ASSUMED_TFLOPS:g} TFLOP/s, an upper bound for sizing a GPU job, not a measurement; the "
    "embedded tier runs on CPUs, and its measured times are on the performance page."
)


def render(
    entries: list[Experiment], records: dict[str, Records], verdicts: list[Verdict], out: Path,
    banner: str | None = None, estimates: dict[str, CostEstimate] | None = None,
) -> list[Path]:  # fmt: skip
    """Write the pages under ``out`` and return their paths; ``banner`` (a reduced run's
    notice) heads every page; ``estimates`` (cached by ``lthbench plan``) give each entry's
    GPU time on the index."""
    estimates = estimates or {}
    out.mkdir(parents=True, exist_ok=True)
    entries = sorted(entries, key=lambda e: (e.tier, e.id))
    by_entry: dict[str, list[Verdict]] = {}
    for verdict in verdicts:
        by_entry.setdefault(verdict.entry_id, []).append(verdict)
    all_records = [r for e in entries for r in records.get(e.id, [])]
    methods = ordered({e.method_name for e in entries})
    written: list[Path] = []

    def page(name: str, title: str, body: str, scope: Records) -> None:
        path = out / name
        head = f"{banner}\n\n" if banner else ""
        text = f"# {title}\n\n{head}{provenance(scope)}\n\n{body}\n\n{COLUMNS}\n"
        path.write_text(text, encoding="utf-8")
        written.append(path)

    index_rows = [
        [f"[{e.id}]({e.method_name}.md#{e.id})", e.tier, e.model.name, e.dataset.name,
         e.method_name, len({r['seed'] for r in records.get(e.id, [])}),
         page_of(e.method_name).headline(e, records.get(e.id, [])),
         verdict_counts(by_entry.get(e.id, [])), *origins(records.get(e.id, [])),
         gpu_time(estimates.get(e.id))]
        for e in entries
    ]  # fmt: skip
    headers = ["entry", "tier", "model", "dataset", "method", "seeds", "headline (test acc.)",
               "verdicts", "device", "source", "GPU time (est.)"]  # fmt: skip
    paper = [e for e in entries if e.tier == "paper"]
    cost_body = training_cost.body(entries, records, out / "plots", out)
    cost_link = (f", [{training_cost.TITLE}]({training_cost.PAGE})" if cost_body is not None
                 else "")  # fmt: skip
    page(
        "index.md",
        "lthbench leaderboards",
        f"Claims checked: {verdict_counts(verdicts)}.\n\nHolm view: {holm_family(verdicts)}."
        f"\n\n{machine_note(all_records, verdicts)}\n\n{VERDICT_RULE}\n\n"
        + tabulate(index_rows, headers=headers, tablefmt="github", disable_numparse=True)
        + f"\n\n{INDEX_NOTES}"
        + "\n\nPages: " + ", ".join(f"[{title_of(m)}]({m}.md)" for m in methods) + cost_link
        + (f"\n\n{cost_table(paper, estimates)}" if paper else ""),
        all_records,
    )  # fmt: skip
    for method in methods:
        family = [e for e in entries if e.method_name == method]
        scope = [r for e in family for r in records.get(e.id, [])]
        body = page_of(method).body(family, records, by_entry, out / "plots", out)
        page(f"{method}.md", title_of(method), body, scope)
    if cost_body is not None:
        page(training_cost.PAGE, training_cost.TITLE, cost_body, all_records)
    return written
