"""The commands on the store as a whole: ``export-csv`` (flat result tables for pandas) and
``gc`` (disk use, and the weights nothing will read again)."""

from __future__ import annotations

import argparse
import csv
import json
import re
import sys
from collections import Counter
from pathlib import Path
from typing import Any

from lthbench.cli.common import experiments_of, registry_of, store_of


def cmd_export_csv(args: argparse.Namespace) -> int:
    """One row per stored result of the selected entries, every variant labelled: the run
    metrics and the method's selectors (round, control, density, phase, ratio); lists and
    mappings (distance matrices, per-layer densities) are left to ``show --json``."""
    from lthbench.runner.find import variant_records

    store = store_of(args)
    rows = [
        record
        for experiment in experiments_of(args)
        for record in variant_records(experiment.id, store, registry_of(args))
    ]
    columns = sorted({k for r in rows for k, v in r.items() if not isinstance(v, list | dict)})
    first = ["entry_id", "variant", "seed", "method", "round", "control", "density", "phase",
             "ratio", "run_id"]  # fmt: skip
    columns = [c for c in first if c in columns] + [c for c in columns if c not in first]
    if args.out == "-":
        _write_csv(sys.stdout, columns, rows)
        return 0
    with Path(args.out).open("w", newline="", encoding="utf-8") as out:
        _write_csv(out, columns, rows)
    print(f"{len(rows)} results written to {args.out}", file=sys.stderr)
    return 0


def _write_csv(out: Any, columns: list[str], rows: list[dict[str, Any]]) -> None:
    writer = csv.DictWriter(out, fieldnames=columns, extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)


def cmd_gc(args: argparse.Namespace) -> int:
    """The store's disk use by kind of file, and the weights no later round, control or rewind
    reads (each method says which: :meth:`Method.releasable`): listed with ``--dry-run``,
    removed otherwise. Results, logs, masks and cached figures always stay."""
    from lthbench.methods import METHODS
    from lthbench.run import SeedResults
    from lthbench.runner.find import variant_experiments
    from lthbench.runner.resolve import select

    store = store_of(args)
    usage = disk_use(store.root)
    print(f"store {store.root}: {_size(sum(usage.values()))} in {_count_runs(store.root)} runs")
    for kind, size in usage.most_common():
        print(f"  {kind:<24} {_size(size)}")
    releasable: dict[tuple[str, str], Any] = {}
    entries = select([], registry_of(args))
    for _, experiment in variant_experiments(entries, store, registry_of(args)):
        method = METHODS[experiment.method_name]
        for seed in experiment.seeds:
            results = SeedResults(experiment, seed, store)
            for run, kind in method.releasable(results, experiment.params):
                if (run.path / f"{kind}.pt").exists():
                    releasable[(run.id, kind)] = run
    size = sum((run.path / f"{kind}.pt").stat().st_size for (_, kind), run in releasable.items())
    verb = "would free" if args.dry_run else "freed"
    if not args.dry_run:
        for (_, kind), run in releasable.items():
            run.release_state(kind)
    print(f"{verb} {_size(size)}: {len(releasable)} weight files nothing will read again"
          + (" (run without --dry-run to remove them)" if args.dry_run and releasable else ""))  # fmt: skip
    if args.json:
        print(json.dumps({"bytes": dict(usage), "releasable_bytes": size,
                          "releasable_files": len(releasable)}))  # fmt: skip
    return 0


def disk_use(root: Path) -> Counter[str]:
    """Bytes by kind of file: weights (θ0, final, rewind, ...), checkpoints, masks, JSON."""
    usage: Counter[str] = Counter()
    for path in root.rglob("*") if root.is_dir() else []:
        if not path.is_file():
            continue
        name = re.sub(r"_[0-9.]+$", "", path.name.removesuffix(".pt"))  # tags aside
        if ".corrupt-" in str(path.parent.name):
            kind = "quarantined runs"
        elif path.suffix == ".pt":
            kind = f"{name}.pt"
        else:
            kind = "logs, results, figures"
        usage[kind] += path.stat().st_size
    return usage


def _count_runs(root: Path) -> int:
    runs = root / "runs"
    return sum(1 for p in runs.iterdir() if "." not in p.name) if runs.is_dir() else 0


def _size(size: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} GB"
