"""The commands that move results between machines: ``export`` (a bundle), ``import`` (verified
before anything is written) and ``compare`` (two stores or bundles, claim by claim)."""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from lthbench.cli.common import experiments_of, registry_of, store_of
from lthbench.errors import UserError


def cmd_export(args: argparse.Namespace) -> int:
    """The named entries' runs (every stored variant), a tier's, or the whole store's."""
    from lthbench.store.bundle import export

    store = store_of(args)
    target = Path(args.out)
    if target.is_dir() or not target.parent.is_dir():
        raise UserError(f"--out {args.out}: " + ("a folder; name the bundle file to write"
                        if target.is_dir() else f"no folder {target.parent} to write into"))  # fmt: skip
    if not (store.root / "runs").is_dir():
        raise UserError(f"--store {store.root}: no runs stored there; nothing to export")
    runs = _planned_runs(args, store) if args.entries or args.tier else list(store)
    named = ({e.id for e in experiments_of(args) if args.tier in (None, e.tier)}
             if args.entries or args.tier else None)  # fmt: skip
    variants = {entry_id: known for entry_id in store.variant_entries()
                if (named is None or entry_id in named) and (known := store.variants(entry_id))}  # fmt: skip
    count = export(runs, Path(args.out), weights=args.weights, variants=variants)
    print(f"{count} runs exported to {args.out}" + (" (with weights)" if args.weights else ""))
    return 0


def _planned_runs(args: argparse.Namespace, store: Any) -> list[Any]:
    """The entries' runs at every stored variant, and the runs of the entries their claims
    compare with (``entry:<id>``) at the same variant: imported alone, a bundle's claims then
    read what they read here."""
    from lthbench.runner.find import variant_experiments
    from lthbench.runner.resolve import resolve_sibling

    pairs = list(variant_experiments(experiments_of(args), store, registry_of(args)))
    experiments = {e.id + e.variant.label: e for _, e in pairs}
    for _, experiment in pairs:
        variant = experiment.variant
        for sibling in experiment.entry.siblings:
            other = resolve_sibling(sibling, registry_of(args), variant.overrides, variant.budget)
            if other is not None:
                experiments.setdefault(other.id + other.variant.label, other)
    return planned_runs(list(experiments.values()), store)


def planned_runs(experiments: list[Any], store: Any) -> list[Any]:
    """Every run the experiments' methods plan, once each (shared runs are shared)."""
    from lthbench.runner.jobs import Job

    runs: dict[str, Any] = {}
    for experiment in experiments:
        for seed in experiment.seeds:
            job = Job(experiment, seed)
            for run in job.method.plan(job.results(store), experiment.params):
                runs[run.id] = run
    return list(runs.values())


PUBLISHED_BUNDLE = "results.zip"
"""The results behind a set of pages, beside them: anyone can ``lthbench compare`` a store of
their own with it, claim by claim."""


def publish_results(experiments: list[Any], store: Any, out: Path, banner: str | None) -> None:
    """Write the bundle behind full-budget pages (results and figures, no weights) into
    ``out``; dated by the newest result, so the same store gives the same bytes."""
    from lthbench.store.bundle import export

    if banner is not None:
        return
    runs = [run for run in planned_runs(experiments, store) if run.complete]
    if not runs:
        return
    newest = max(str((run.result() or {}).get("finished_at", "")) for run in runs)
    count = export(runs, out / PUBLISHED_BUNDLE, created=newest or None)
    print(f"{count} runs behind these pages written to {out / PUBLISHED_BUNDLE}")


def cmd_import(args: argparse.Namespace) -> int:
    from lthbench.store.bundle import import_into

    store = store_of(args)
    added, same, beside = import_into(store, Path(args.bundle))
    kept = store.root / "imported" / Path(args.bundle).stem
    print(f"{added} runs added, {same} already stored with the same result, {beside} with a "
          f"different result kept beside the local one under {kept}"
          + (f" (read them with --results-from {Path(args.bundle).stem})" if beside else ""))  # fmt: skip
    return 0


@contextlib.contextmanager
def _results(path: str) -> Iterator[Any]:
    """A store folder as it is, or a bundle verified and unpacked into a throwaway store."""
    from lthbench.store import RunStore
    from lthbench.store.bundle import import_into

    where = Path(path)
    if where.is_dir():
        if not (where / "runs").is_dir():
            raise UserError(f"{where}: not a store (no runs/ folder)")
        yield RunStore(where)
        return
    if not where.is_file():
        raise UserError(f"{where}: no such store or bundle")
    with tempfile.TemporaryDirectory(prefix="lthbench-compare-") as folder:
        store = RunStore(folder)
        import_into(store, where)
        yield store


def cmd_compare(args: argparse.Namespace) -> int:
    """Exit 1 on an unexpected flip between A and B: a verdict both called stable, or one
    between reproduced and refuted (so CI can catch a changed result); flips of fragile
    verdicts are reported, not failed."""
    from lthbench.report.compare import compare

    experiments = [e for e in experiments_of(args) if args.tier in (None, e.tier)]
    with _results(args.a) as a, _results(args.b) as b:
        comparison = compare(experiments, a, b, registry_of(args), args.set or [], args.budget)
    if all(row["a"] == row["b"] == "missing" for row in comparison.claims):
        label = experiments[0].variant.label if experiments else "full budget"
        raise UserError(f"neither side has a result for any claim at the {label} (runs made "
                        "with --budget or --set are compared with the same flags)")  # fmt: skip
    if args.json:
        print(json.dumps(comparison.as_dict(), indent=1, sort_keys=True))
    else:
        print(comparison.markdown(args.a, args.b))
    for flip in comparison.flips:
        kind = "unexpected" if flip["unexpected"] else "fragile"
        print(f"verdict flipped ({kind}): {flip['entry_id']}/{flip['claim_id']}: {flip['a']} -> "
              f"{flip['b']}", file=sys.stderr)  # fmt: skip
    return 1 if comparison.unexpected else 0
