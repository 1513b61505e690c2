"""Markdown leaderboards from stored results and verdicts.

An index page and one page per method family; every page says how it was produced (lthbench
version and commit, torch version, device, date of the newest result). Rendering depends on
the results alone, so the same results give byte-identical pages.
"""

from __future__ import annotations

import statistics
from collections import Counter
from pathlib import Path
from typing import Any

from tabulate import tabulate

from lthbench.claims import Verdict
from lthbench.report import early_bird
from lthbench.report.plots import by_round, lottery_figure
from lthbench.spec.entry import Entry

Records = list[dict[str, Any]]
FAMILIES = {
    "dense": "Dense baselines",
    "lottery": "Lottery tickets",
    "early_bird": "Early-Bird tickets",
}


def _stat(values: list[float], scale: float = 1.0, digits: int = 2) -> str:
    if not values:
        return "–"
    mean = statistics.fmean(values) * scale
    if len(values) == 1:
        return f"{mean:.{digits}f}"
    return f"{mean:.{digits}f} ± {statistics.stdev(values) * scale:.{digits}f}"


def _metric(records: Records, metric: str, scale: float = 1.0, digits: int = 2) -> str:
    return _stat([float(r[metric]) for r in records if r.get(metric) is not None], scale, digits)


def _number(value: float | None, digits: int = 4) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def provenance(records: Records) -> str:
    def values(key: str) -> str:
        return ", ".join(sorted({str(r.get(key, "unknown")) for r in records})) or "–"

    newest = max((r.get("finished_at", "") for r in records), default="") or "–"
    return (
        f"_Rendered by `lthbench leaderboard` from {len(records)} stored results: "
        f"lthbench {values('lthbench_version')} (commit {values('lthbench_commit')}), "
        f"torch {values('torch_version')}, device {values('device')}, "
        f"CPU threads per run {values('torch_threads')}; "
        f"newest result {newest}._"
    )


ORDER = ("reproduced", "refuted", "inconclusive", "missing")
VERDICT_RULE = (
    "How a verdict is decided: per seed, the margin by which the claim holds (metric − "
    "reference, paired over seeds); its 95% t-interval, with the seeds' spread floored at the "
    "rounding noise of the metric's grid (one step / √12) and widened by one step on each side "
    "(a step: one test example for an accuracy, one evaluation interval for an iteration count, "
    "0 for FLOPs). **reproduced**: the whole interval satisfies the claim; **refuted**: it "
    "violates it; **inconclusive**: it straddles the boundary, fewer than two seeds, or a network "
    "the claim reads collapsed (test accuracy ≤ 2× chance); **missing**: no results. So no "
    "difference smaller than one step, and no zero-width interval, decides a verdict. A claim "
    "given others (e.g. a FLOP saving *at comparable accuracy*) is refuted when one of them is "
    "refuted and inconclusive while one is not reproduced. *Seeds needed*: the seeds whose "
    "interval would clear the boundary at the observed margin and spread (∞: the margin is "
    "within one step, so only a finer measure resolves it). † marks a claim whose paper point "
    "lies where two curves cross (expected margin ≈ 0). *paper* claims are the papers' (or their "
    "embedded analogues); *lthbench* checks are lthbench's own sanity and acceptance checks."
)


def _counts(verdicts: list[Verdict]) -> Counter[str]:
    return Counter(v.verdict for v in verdicts)


def verdict_counts(verdicts: list[Verdict]) -> str:
    """Paper claims and lthbench's own checks, counted apart."""
    paper = _counts([v for v in verdicts if v.kind == "paper"])
    own = [v for v in verdicts if v.kind == "lthbench"]
    parts = []
    if paper:
        parts.append("paper claims: " + ", ".join(f"{paper[w]} {w}" for w in ORDER if paper[w]))
    if own:
        counts = _counts(own)
        rest = "".join(f", {counts[w]} {w}" for w in ORDER[1:] if counts[w])
        parts.append(f"lthbench checks: {counts['reproduced']}/{len(own)} reproduced{rest}")
    return " · ".join(parts) or "no claims"


def seeds_needed_text(v: Verdict) -> str:
    if v.verdict in ("reproduced", "refuted", "missing"):
        return "–"
    if v.seeds_needed is not None:
        return str(v.seeds_needed)
    return "∞" if "more seeds cannot" in v.advice else "> 1000" if "1000" in v.advice else "–"


def verdict_table(verdicts: list[Verdict]) -> str:
    rows = [
        [
            v.claim_id + (" †" if v.crossing else "") + (" (required)" if v.required else ""),
            v.kind,
            v.statement,
            f"**{v.verdict}**",
            v.seeds,
            seeds_needed_text(v),
            "–" if v.density is None else f"{100 * v.density:.1f}%",
            _number(v.mean),
            _number(v.reference_mean),
            "–" if v.ci_low is None else f"[{v.ci_low:.4f}, {v.ci_high:.4f}]",
            f"{v.resolution:.4g}",
        ]
        for v in verdicts
    ]
    headers = ["claim", "kind", "statement", "verdict", "seeds", "seeds needed", "Pm", "mean",
               "reference", "decision interval", "step"]  # fmt: skip
    return tabulate(rows, headers=headers, tablefmt="github")


def _siblings(entry: Entry) -> list[str]:
    return sorted({
        c.reference.removeprefix("entry:") for c in entry.claims
        if isinstance(c.reference, str) and c.reference.startswith("entry:")
    })  # fmt: skip


def _headline(entry: Entry, records: Records) -> str:
    if entry.method.name == "lottery":
        tickets = by_round(records, None)
        if len(tickets) < 2:
            return "–"
        dense_acc = _metric(tickets[0][1], "test_accuracy_at_early_stop", 100, 1)
        density, last = tickets[-1]
        ticket = _metric(last, "test_accuracy_at_early_stop", 100, 1)
        return f"dense {dense_acc}% → ticket {ticket}% at Pm {100 * density:.1f}%"
    if entry.method.name == "early_bird":
        ratio = _middle_ratio(entry)
        tickets = [r for r in records if r.get("phase") == "eb_train" and r.get("ratio") == ratio]
        dense = [r for r in records if r.get("phase") == "dense"]
        if not tickets:
            return "–"
        return (
            f"dense {_metric(dense, 'final_test_accuracy', 100, 1)}% → EB-Train "
            f"{_metric(tickets, 'final_test_accuracy', 100, 1)}% at p {100 * ratio:g}%, "
            f"FLOPs ÷{_metric(tickets, 'training_flops_saving_vs_dense', 1, 2)} vs dense"
        )
    return f"{_metric(records, 'test_accuracy_at_early_stop', 100, 1)}%"


def _dense_page(
    entries: list[Entry], records: dict[str, Records], verdicts: dict[str, list[Verdict]]
) -> str:
    rows = []
    for entry in entries:
        rs = records.get(entry.id, [])
        rows.append([
            entry.id, entry.tier, entry.model.name, entry.dataset.name, len(rs),
            _metric(rs, "test_accuracy_at_early_stop", 100), _metric(rs, "final_test_accuracy", 100),
            _metric(rs, "early_stop_iteration", 1, 0), _metric(rs, "wall_time_s", 1, 1),
            verdict_counts(verdicts.get(entry.id, [])),
        ])  # fmt: skip
    headers = ["entry", "tier", "model", "dataset", "seeds", "test acc. at early stop (%)",
               "final test acc. (%)", "early-stop iteration", "wall time per run (s)", "verdicts"]  # fmt: skip
    parts = [tabulate(rows, headers=headers, tablefmt="github")]
    for entry in entries:
        if verdicts.get(entry.id):
            parts.append(f"### {entry.id}\n\n{verdict_table(verdicts[entry.id])}")
    return "\n\n".join(parts)


def _lottery_section(
    entry: Entry, records: dict[str, Records], verdicts: list[Verdict], plots: Path, out: Path
) -> str:
    rs = records.get(entry.id, [])
    controls = entry.method.params.get("controls", [])
    siblings = [s for s in _siblings(entry) if records.get(s)]
    sibling_rounds = (
        {g[0]["round"]: g for _, g in by_round(records[siblings[0]], None)} if siblings else {}
    )
    control_rounds = {c: {g[0]["round"]: g for _, g in by_round(rs, c)} for c in controls}
    rows = []
    for density, group in by_round(rs, None):
        round_ = group[0]["round"]
        row = [round_, f"{100 * density:.2f}", len(group),
               _metric(group, "test_accuracy_at_early_stop", 100),
               _metric(group, "early_stop_iteration", 1, 0),
               _metric(group, "final_test_accuracy", 100)]  # fmt: skip
        for control in controls:
            row.append(
                _metric(control_rounds[control].get(round_, []), "test_accuracy_at_early_stop", 100)
            )
        if siblings:
            row.append(_metric(sibling_rounds.get(round_, []), "test_accuracy_at_early_stop", 100))
        rows.append(row)
    headers = ["round", "Pm (%)", "seeds", "ticket acc. at early stop (%)", "ticket early-stop it.",
               "ticket final acc. (%)"]  # fmt: skip
    headers += [f"{c.replace('_', ' ')} acc. (%)" for c in controls]
    headers += [f"one-shot ({siblings[0]}) acc. (%)"] if siblings else []
    figure = plots / f"{entry.id}.png"
    sibling = (siblings[0], records[siblings[0]]) if siblings else None
    if rs:
        lottery_figure(entry.id, rs, sibling, figure)
    parts = [
        f"### {entry.id}",
        entry.description.strip(),
        f"Model `{entry.model.name}`, dataset `{entry.dataset.name}`, {entry.tier} tier, "
        f"{entry.method.params.get('strategy', 'iterative')} pruning; round 0 is the dense network. "
        "Values are means ± standard deviations over seeds.",
        tabulate(rows, headers=headers, tablefmt="github"),
    ]
    if rs:
        parts.append(f"![{entry.id}]({figure.relative_to(out).as_posix()})")
    if verdicts:
        parts.append(verdict_table(verdicts))
    return "\n\n".join(parts)


def _ratios(entry: Entry) -> list[float]:
    return list(entry.method.params.get("ratios", [0.3, 0.5, 0.7]))


def _middle_ratio(entry: Entry) -> float:
    ratios = sorted(_ratios(entry))
    return ratios[len(ratios) // 2]


def _early_bird_section(
    entry: Entry, records: dict[str, Records], verdicts: list[Verdict], plots: Path, out: Path
) -> str:
    rs = records.get(entry.id, [])
    params = entry.method.params
    ratios = _ratios(entry)
    figure = plots / f"{entry.id}.png"
    parts = [
        f"### {entry.id}",
        entry.description.strip(),
        f"Model `{entry.model.name}`, dataset `{entry.dataset.name}`, {entry.tier} tier; search "
        f"at {params.get('search_precision', 'fp32')} with the "
        f"{params.get('search_schedule', 'entry')} schedule. Accuracies are final test "
        "accuracies, means ± standard deviations over seeds; savings are baseline cost ÷ "
        "EB-Train cost (training FLOPs count the search up to the draw, the detector and the "
        "slim network's steps; wall times are measured on the device in the page header).",
        "The 8-bit search is simulated (values quantised, arithmetic in fp32): its wall time is "
        "not 8-bit hardware's, and its FLOPs are counted like full-precision ones."
        if params.get("search_precision") == "int8"
        else "",
        early_bird.section_table(rs, ratios, _metric),
        *[
            early_bird.sibling_table(entry.id, rs, sibling, records[sibling], ratios, _metric)
            for sibling in _siblings(entry)
            if records.get(sibling)
        ],
        early_bird.cost_table(rs, ratios),
    ]
    if rs and early_bird.heatmap_figure(entry.id, rs, ratios, figure):
        parts.append(f"![{entry.id}]({figure.relative_to(out).as_posix()})")
    if verdicts:
        parts.append(verdict_table(verdicts))
    return "\n\n".join(p for p in parts if p)


SECTIONS = {"lottery": _lottery_section, "early_bird": _early_bird_section}
"""Per-entry sections of a method's page (the dense page is one table of all entries)."""


def render(
    entries: list[Entry], records: dict[str, Records], verdicts: list[Verdict], out: Path
) -> list[Path]:
    """Write the pages under ``out`` and return their paths."""
    out.mkdir(parents=True, exist_ok=True)
    entries = sorted(entries, key=lambda e: (e.tier, e.id))
    by_entry: dict[str, list[Verdict]] = {}
    for verdict in verdicts:
        by_entry.setdefault(verdict.entry_id, []).append(verdict)
    all_records = [r for e in entries for r in records.get(e.id, [])]
    written: list[Path] = []

    def page(name: str, title: str, body: str, scope: Records) -> None:
        path = out / name
        path.write_text(f"# {title}\n\n{provenance(scope)}\n\n{body}\n", encoding="utf-8")
        written.append(path)

    index_rows = [
        [f"[{e.id}]({e.method.name}.md#{e.id})", e.tier, e.model.name, e.dataset.name,
         e.method.name, len({r['seed'] for r in records.get(e.id, [])}),
         _headline(e, records.get(e.id, [])), verdict_counts(by_entry.get(e.id, []))]
        for e in entries
    ]  # fmt: skip
    headers = [
        "entry",
        "tier",
        "model",
        "dataset",
        "method",
        "seeds",
        "headline (test acc.)",
        "verdicts",
    ]
    summary = verdict_counts(verdicts)
    page(
        "index.md",
        "lthbench leaderboards",
        f"Claims checked: {summary}.\n\n{VERDICT_RULE}\n\n"
        + tabulate(index_rows, headers=headers, tablefmt="github")
        + "\n\nPages: " + ", ".join(f"[{t}]({m}.md)" for m, t in FAMILIES.items()),
        all_records,
    )  # fmt: skip
    for method, title in FAMILIES.items():
        family = [e for e in entries if e.method.name == method]
        scope = [r for e in family for r in records.get(e.id, [])]
        if method in SECTIONS:
            body = "\n\n".join(
                SECTIONS[method](e, records, by_entry.get(e.id, []), out / "plots", out)
                for e in family
            )
        else:
            body = _dense_page(family, records, by_entry)
        page(f"{method}.md", title, body or "No entries.", scope)
    return written
