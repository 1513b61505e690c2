"""Method pages: each method's part of the leaderboards, registered by method name.

A page supplies the method's title, its headline on the index, its per-entry sections (tables,
plots, verdicts) and its position among the pages. A method without a registered page gets
the generic one (the run metrics every method records and its verdicts), so a new method has a
page without any edit here; registering a page (``@register_page("name")``) refines it.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import ClassVar

from tabulate import tabulate

from lthbench.claims import Verdict
from lthbench.registry import Registry
from lthbench.report.tables import (
    RUN_SUMMARY_HEADERS,
    Records,
    metric,
    run_summary,
    verdict_counts,
    verdict_table,
)
from lthbench.run.experiment import Experiment


class MethodPage:
    """The generic page: one section per entry. Subclass and register to refine it."""

    title: ClassVar[str] = ""
    """The page's title (default: the method's name)."""
    position: ClassVar[int] = 100
    """Pages are listed by position, then by method name."""

    def headline(self, entry: Experiment, records: Records) -> str:
        shown = metric(records, "test_accuracy_at_early_stop", 100, 1)
        return shown if shown == "–" else f"{shown}%"

    def body(
        self,
        entries: list[Experiment],
        records: dict[str, Records],
        verdicts: dict[str, list[Verdict]],
        plots: Path,
        out: Path,
    ) -> str:
        return "\n\n".join(
            self.section(e, records, verdicts.get(e.id, []), plots, out) for e in entries
        )

    def section(
        self, entry: Experiment, records: dict[str, Records], verdicts: list[Verdict], plots: Path,
        out: Path,
    ) -> str:  # fmt: skip
        rs = records.get(entry.id, [])
        row = [len({r["seed"] for r in rs}), *run_summary(rs), verdict_counts(verdicts)]
        headers = ["seeds", *RUN_SUMMARY_HEADERS, "verdicts"]
        parts = [f"### {entry.id}", entry.description.strip(),
                 f"Model `{entry.model.name}`, dataset `{entry.dataset.name}`, {entry.tier} tier, "
                 f"method `{entry.method_name}`; means ± standard deviations over its "
                 f"{len(rs)} stored results.",
                 tabulate([row], headers=headers, tablefmt="github", disable_numparse=True)]  # fmt: skip
        if verdicts:
            parts.append(verdict_table(verdicts))
        return "\n\n".join(parts)


PAGES: Registry[MethodPage] = Registry("page")


def register_page(method: str) -> Callable[[type[MethodPage]], type[MethodPage]]:
    """Class decorator: the page of entries whose method is ``method``."""

    def register(cls: type[MethodPage]) -> type[MethodPage]:
        PAGES.add(method, cls(), cls.__module__)
        return cls

    return register


def page_of(method: str) -> MethodPage:
    return PAGES.get(method, MethodPage())


def title_of(method: str) -> str:
    return page_of(method).title or method


def ordered(methods: set[str]) -> list[str]:
    return sorted(methods, key=lambda m: (page_of(m).position, m))
