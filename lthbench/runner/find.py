"""Finding stored results the way people ask for them: every variant of an entry (full budget,
a ``--budget``, ``--set`` overrides), and the entry, seed and variant a run id belongs to.

Reading only: no torch, no model, nothing trained.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from lthbench.errors import UserError
from lthbench.run.experiment import Experiment, Variant
from lthbench.runner.jobs import Job, stored_records
from lthbench.runner.resolve import select
from lthbench.store import RunStore

MIN_PREFIX = 4
"""The shortest run-id prefix ``show`` takes (shorter ones name too many runs)."""


def stored_variants(entry_id: str, store: RunStore, asked: Variant | None = None) -> list[Variant]:
    """The entry itself, the variant asked for, and every variant the store has runs of."""
    variants = [Variant()] + ([asked] if asked else [])
    for known in store.variants(entry_id):
        variant = Variant(float(known.get("budget", 1.0)), tuple(known.get("overrides", [])))
        variants.append(variant)
    return list(dict.fromkeys(variants))


def has_results(experiment: Experiment, store: RunStore) -> bool:
    """Whether the store holds any result record of ``experiment`` (at its variant)."""
    return any(stored_records(Job(experiment, seed), store) for seed in experiment.seeds)


def variant_experiments(
    entries: Iterable[Experiment], store: RunStore, registry: Path | None,
    asked: Variant | None = None,
) -> Iterator[tuple[Variant, Experiment]]:  # fmt: skip
    """Each entry resolved at itself, at the variant asked for and at every variant the store
    has runs of; a variant the entry no longer resolves with (the entry changed since) is
    skipped."""
    for entry in entries:
        for variant in stored_variants(entry.id, store, asked):
            try:
                yield variant, entry if variant == entry.variant else _resolved(
                    entry.file if entry.file.endswith((".yaml", ".yml")) else entry.id,
                    registry, variant,
                )  # fmt: skip
            except UserError:
                continue


def variant_records(
    target: str, store: RunStore, registry: Path | None, asked: Variant | None = None
) -> list[dict[str, Any]]:
    """Every stored record of the entry ``target``, each variant's labelled (``variant``)."""
    variants = variant_experiments(select([target], registry), store, registry, asked)
    return [
        {**record, "variant": variant.label}
        for variant, experiment in variants
        for seed in experiment.seeds
        for record in stored_records(Job(experiment, seed), store)
    ]


def locate_run(run_id: str, store: RunStore, registry: Path | None) -> dict[str, Any] | None:
    """The record of stored run ``run_id`` as its entry reports it (entry, seed, method, round,
    control, variant), searching the registry's entries and their stored variants; None when
    no entry plans this run."""
    for variant, experiment in variant_experiments(select([], registry), store, registry):
        for seed in experiment.seeds:
            job = Job(experiment, seed)
            if any(run.id == run_id for run in job.method.plan(job.results(store),
                                                               experiment.params)):  # fmt: skip
                for record in stored_records(job, store):
                    if record.get("run_id") == run_id:
                        return {**record, "variant": variant.label}
    return None


def _resolved(target: str, registry: Path | None, variant: Variant) -> Experiment:
    return select([target], registry, variant.overrides, variant.budget)[0]
