"""Read times as the store grows: ``list``, ``show``, ``check`` and a cache-hit ``run`` against a
filled store, and against a synthetic one about 8× larger.

The synthetic store is the filled one with every embedded entry's seeds extended: seed ``n + i``
of an entry with ``n`` seeds gets a copy of seed ``i % n``'s runs under its own identities (the
method's own ``plan`` names them, so they are exactly the runs a real rerun would have stored;
weights are hard links, text files are rewritten with the new run id). The registry copy lists
the new seeds, so every read reads every run, as it would after a researcher ran 8× the seeds.
Nothing here trains.

    python -m benchmarks.reads --store STORE [--factor 8] [--out reads.json]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

from lthbench.methods import METHODS
from lthbench.run import SeedResults
from lthbench.runner.resolve import load_experiment
from lthbench.store import RunStore

ROOT = Path(__file__).resolve().parent.parent
READS = {
    "list": ["list"],
    "show ENTRY": ["show", "mnist1d-cnn-eb"],
    "check": ["check", "--tier", "embedded"],
    "check ENTRY": ["check", "mnist1d-cnn-eb"],
    "run (all stored)": ["run", "--tier", "embedded"],
}


def extended_registry(registry: Path, out: Path, factor: int) -> dict[str, list[int]]:
    """Copy ``registry`` to ``out`` with each embedded entry's seeds ×``factor``; returns each
    entry's original seeds."""
    shutil.copytree(registry, out)
    original: dict[str, list[int]] = {}
    for file in sorted((out / "embedded").glob("*.yaml")):
        entry = yaml.safe_load(file.read_text())
        seeds = list(entry["seeds"])
        original[entry["id"]] = seeds
        extra = [max(seeds) + 1 + i for i in range(len(seeds) * (factor - 1))]
        entry["seeds"] = seeds + extra
        file.write_text(yaml.safe_dump(entry, sort_keys=False))
    return original


def copy_run(source: Path, target: Path, identity: dict[str, Any], new_id: str) -> None:
    target.mkdir(parents=True, exist_ok=True)
    old_id = source.name
    for file in source.iterdir():
        if file.name.startswith(".") or file.is_dir():
            continue
        if file.suffix == ".json":
            value = json.loads(file.read_text())
            if file.name == "config.json":
                value["identity"] = identity
            elif isinstance(value, dict) and value.get("run_id") == old_id:
                value["run_id"] = new_id
            (target / file.name).write_text(json.dumps(value, indent=1, sort_keys=True))
        else:
            os.link(file, target / file.name)


def synthetic_store(store: Path, registry: Path, out: Path, factor: int) -> tuple[Path, Path]:
    """(registry, store) with every embedded entry's runs ×``factor``, built from ``store``."""
    new_registry, new_store = out / "registry", out / "store"
    original = extended_registry(registry, new_registry, factor)
    shutil.copytree(store / "runs", new_store / "runs", copy_function=os.link)
    source, target = RunStore(store), RunStore(new_store)
    for file in sorted((new_registry / "embedded").glob("*.yaml")):
        experiment = load_experiment(file)
        method = METHODS[experiment.method_name]
        seeds = original[experiment.id]
        for position, seed in enumerate(experiment.seeds[len(seeds) :]):
            old = method.plan(SeedResults(experiment, seeds[position % len(seeds)], source),
                              experiment.params)  # fmt: skip
            new = method.plan(SeedResults(experiment, seed, target), experiment.params)
            for a, b in zip(old, new, strict=True):
                if a.path.is_dir() and not b.path.exists():
                    copy_run(a.path, b.path, b.identity, b.id)
    return new_registry, new_store


def time_reads(store: Path, registry: Path, repeats: int) -> dict[str, list[float]]:
    """Seconds of each read in a fresh process, ``repeats`` times after one warm-up (which
    builds the store's index, as the first read after a run or an import does)."""
    times: dict[str, list[float]] = {}
    for label, command in READS.items():
        full = [sys.executable, "-m", "lthbench", *command, "--store", str(store),
                "--registry", str(registry)]  # fmt: skip
        times[label] = []
        for attempt in range(repeats + 1):
            began = time.perf_counter()
            done = subprocess.run(full, capture_output=True, text=True, timeout=600, check=False)
            if done.returncode not in (0, 1):
                raise RuntimeError(f"{' '.join(command)}: {done.stderr[-1500:]}")
            if attempt:
                times[label].append(time.perf_counter() - began)
    return times


def stored_runs(store: Path) -> int:
    return sum(1 for _ in (store / "runs").glob("*/result.json"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", type=Path, required=True)
    parser.add_argument("--registry", type=Path, default=ROOT / "registry")
    parser.add_argument("--factor", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    report: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(dir=args.store.parent) as tmp:
        grown_registry, grown = synthetic_store(args.store, args.registry, Path(tmp), args.factor)
        for label, (store, registry) in {"today": (args.store, args.registry),
                                         "grown": (grown, grown_registry)}.items():  # fmt: skip
            times = time_reads(store, registry, args.repeats)
            report[label] = {"runs": stored_runs(store),
                             "seconds": {k: statistics.median(v) for k, v in times.items()},
                             "all": times}  # fmt: skip
            print(label, json.dumps(report[label]["seconds"]), report[label]["runs"], flush=True)
    if args.out:
        args.out.write_text(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
