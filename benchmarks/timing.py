"""Timing helpers every benchmark shares: interleaved repeats, spreads, ratios, tables."""

from __future__ import annotations

import statistics
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tabulate import tabulate

ROOT = Path(__file__).resolve().parent.parent
REGISTRY = ROOT / "registry" / "embedded"
Timings = list[float]


def spread(values: Timings, scale: float = 1.0, digits: int = 2) -> str:
    low, mid, high = min(values), statistics.median(values), max(values)
    return f"{mid * scale:.{digits}f} ({low * scale:.{digits}f}–{high * scale:.{digits}f})"


def interleaved(
    functions: dict[str, Callable[[], float]], repeats: int, warm_up: bool = True
) -> dict[str, Timings]:
    """Each function returns seconds; run them in turn ``repeats`` times (after one warm-up,
    unless the same code has just run)."""
    for function in functions.values() if warm_up else ():
        function()
    timings: dict[str, Timings] = {name: [] for name in functions}
    for _ in range(repeats):
        for name, function in functions.items():
            timings[name].append(function())
    return timings


def table(rows: list[list[Any]], headers: list[str]) -> str:
    return tabulate(rows, headers=headers, tablefmt="github")


def ratios(a: Timings, b: Timings) -> list[float]:
    """Per-repeat ratios: each repeat ran ``a`` and ``b`` back to back, so a slow spell of a
    shared machine scales both."""
    return [x / y for x, y in zip(a, b, strict=True)]


def ratio(a: Timings, b: Timings) -> float:
    return statistics.median(ratios(a, b))
