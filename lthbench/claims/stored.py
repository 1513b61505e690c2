"""Verdicts on what the store holds, remembered in the store's index.

A verdict is a function of the resolved entries, the code and entries that read them, and the
run folders the read went through; while all of those are unchanged a ``check`` reads the
remembered verdicts after one stat per folder (see :mod:`lthbench.store.index`), which keeps it
fast at tens of thousands of runs. Any change, a new run among them, reads everything again.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from pathlib import Path

from lthbench.claims.check import check_entries
from lthbench.claims.verdict import Verdict
from lthbench.run import Experiment
from lthbench.runner.jobs import collect, reading_code
from lthbench.spec.load import PLUGIN_ENTRIES
from lthbench.store import RunStore


def stored_verdicts(
    experiments: list[Experiment], store: RunStore, registry: Path | None,
    overrides: Iterable[str] = (), budget: float = 1.0, mix_devices: bool = False,
) -> tuple[dict[str, int], list[Verdict]]:  # fmt: skip
    """(how many records each entry read has, by entry id; the verdicts) of ``experiments``,
    as :func:`check_entries` gives them on :func:`collect`'s records."""
    overrides = list(overrides)
    # siblings are read from the registry and plugins' entry folders: their files join the key;
    # records are priced from the cached cost estimates: which exist joins it too
    folders = [f for f in (registry, *PLUGIN_ENTRIES) if f is not None and f.is_dir()]
    key = "verdicts:" + hashlib.sha256(json.dumps(
        [[e.digest for e in experiments], overrides, budget, mix_devices, store.estimate_keys()]
    ).encode()).hexdigest()[:24]  # fmt: skip
    version = reading_code(*folders)
    known = store.recall(key, version)
    if isinstance(known, dict):
        return known["records"], [Verdict.from_dict(v) for v in known["verdicts"]]
    view = store.watched()
    records = collect(experiments, view, registry, overrides, budget)
    verdicts = check_entries(experiments, records, mix_devices)
    counts = {entry_id: len(found) for entry_id, found in records.items()}
    store.remember(
        key, version, view, {"records": counts, "verdicts": [v.as_dict() for v in verdicts]}
    )
    return counts, verdicts
