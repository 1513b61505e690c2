"""The commands that read: list, validate, show, check, leaderboard. None imports torch."""

from __future__ import annotations

import argparse
import json

from lthbench.cli.common import (
    experiments_of,
    experiments_of_tier,
    pages_out,
    print_summary,
    print_verdicts,
    registry_of,
    store_of,
    verdicts_of,
)


def cmd_list(args: argparse.Namespace) -> int:
    from tabulate import tabulate

    rows = [
        [e.id, e.tier, e.model.name, e.dataset.name, e.method_name, ",".join(map(str, e.seeds))]
        for e in experiments_of(args)
        if args.tier in (None, e.tier)
    ]
    print(tabulate(rows, headers=["id", "tier", "model", "dataset", "method", "seeds"]))
    return 0


def cmd_validate(args: argparse.Namespace) -> int:
    from lthbench.runner.resolve import load_experiments
    from lthbench.spec.load import default_registry

    experiments = load_experiments(args.paths or [default_registry()], fit=True)
    print(f"{len(experiments)} entries valid")
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    _, verdicts = verdicts_of(args, experiments_of_tier(args))
    print_verdicts(verdicts, args.json)
    return print_summary(verdicts, quiet=args.json)


def cmd_leaderboard(args: argparse.Namespace) -> int:
    from lthbench.report.leaderboard import render

    experiments = experiments_of_tier(args)
    out, banner = pages_out(args)
    records, verdicts = verdicts_of(args, experiments)
    for path in render(experiments, records, verdicts, out, banner):
        print(path)
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    from tabulate import tabulate

    from lthbench.runner.jobs import Job, stored_records
    from lthbench.runner.resolve import select

    store = store_of(args)
    run = store.find(args.target) if len(args.target) >= 6 else None
    if run is not None:
        records = [run.result() or {"run_id": run.id, "status": "incomplete"}]
    else:
        records = [
            record
            for experiment in select([args.target], registry_of(args), budget=args.budget)
            for seed in experiment.seeds
            for record in stored_records(Job(experiment, seed), store)
        ]
    if args.json:
        print(json.dumps(records, indent=1, sort_keys=True))
        return 0
    if not records:
        print(f"no stored results for {args.target} in {store.root}")
        return 0
    selectors = [k for k in ("round", "control", "density", "phase", "ratio", "draw_epoch")
                 if any(r.get(k) is not None for r in records)]  # fmt: skip
    keys = ["entry_id", "seed", "method", *selectors, "final_test_accuracy",
            "test_accuracy_at_early_stop", "early_stop_iteration", "min_val_loss", "wall_time_s",
            "run_id"]  # fmt: skip
    print(tabulate([[r.get(k) for k in keys] for r in records], headers=keys, floatfmt=".4f"))
    return 0
