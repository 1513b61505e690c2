"""The commands for writing and planning entries: ``config`` (an entry resolved, every default
shown), ``new`` (a new entry file from an existing one, to edit) and ``plan`` (what entries
will cost to train: FLOPs and GPU-hours, before anything runs)."""

from __future__ import annotations

import argparse
import re
from pathlib import Path
from typing import Any

from lthbench.cli.common import experiments_of, experiments_of_tier, registry_of, store_of
from lthbench.errors import UserError

ENTRY_ID = re.compile(r"^[a-z0-9][a-z0-9._-]*$")


def cmd_config(args: argparse.Namespace) -> int:
    """The entry as lthbench runs it: every default filled in, the method's params typed, the
    budget and overrides applied, and what the data implies (iterations per epoch, total)."""
    import yaml

    experiments = experiments_of(args)
    if len(experiments) != 1:
        raise UserError(f"config {args.entries[0]}: names {len(experiments)} entries; name one")
    (experiment,) = experiments
    resolved: dict[str, Any] = experiment.entry.model_dump(mode="json", by_alias=True)
    resolved["method"]["params"] = experiment.params.model_dump(mode="json")
    resolved["resolved"] = {
        "variant": experiment.variant.label,
        "iterations_per_epoch": experiment.iterations_per_epoch,
        "total_iterations": experiment.total_iterations,
        "evaluation_every_iterations": experiment.eval_iterations,
        "train_examples": experiment.data.train_size,
        "validation_examples": experiment.validation_examples,
        "test_examples": experiment.test_examples,
    }
    print(yaml.safe_dump(resolved, sort_keys=False, allow_unicode=True), end="")
    return 0


def cmd_new(args: argparse.Namespace) -> int:
    """Copy ENTRY's file beside it as ``<ID>.yaml`` with its id changed; nothing else."""
    from lthbench.spec.load import find_entries, known_ids

    if not ENTRY_ID.match(args.id):
        raise UserError(f"new {args.id!r}: an id is lower-case letters, digits, '.', '_', '-'")
    (source,) = find_entries([args.source], registry_of(args))
    folder = Path(source.file).parent
    target = folder / f"{args.id}.yaml"
    if target.exists():
        raise UserError(f"{target}: already exists; choose another id")
    if args.id in known_ids(registry_of(args)):  # in the other tier's folder, or a plugin's
        raise UserError(f"new {args.id!r}: an entry of that id exists; choose another id")
    text = Path(source.file).read_text(encoding="utf-8")  # the file as written, comments kept
    text, count = re.subn(r"(?m)^id:.*$", f"id: {args.id}", text, count=1)
    if count != 1:
        raise UserError(f"{source.file}: id: no top-level 'id:' line to change")
    target.write_text(text, encoding="utf-8")
    print(target)
    print(f"next: edit it, then `lthbench validate {target}` and `lthbench run {args.id} "
          "--budget 0.05` for a smoke run")  # fmt: skip
    return 0


def cmd_plan(args: argparse.Namespace) -> int:
    """Each entry's training and evaluation FLOPs (one step counted by FlopCounterMode on the
    meta device, times what its method will train) and GPU-hours at ``--tflops``; cached in
    the store for the leaderboard pages."""
    import json

    from tabulate import tabulate

    from lthbench.runner.cost import ensure_estimate, flops_label, hours_label

    if not args.tflops > 0:
        raise UserError(f"--tflops: {args.tflops} is not a positive throughput")
    store = store_of(args)
    estimates = [ensure_estimate(e, store) for e in experiments_of_tier(args)]
    if args.json:
        rows = [{**e.as_dict(), "gpu_hours": e.gpu_hours(args.tflops), "tflops": args.tflops}
                for e in estimates]  # fmt: skip
        print(json.dumps(rows, indent=1))
        return 0
    table = [
        [e.entry, e.seeds, e.runs, f"{e.iterations:,}", flops_label(e.step_flops),
         flops_label(e.training_flops), f"{e.evaluation_share:.0%}", e.gpu_time(args.tflops)]
        for e in estimates
    ]  # fmt: skip
    headers = ["entry", "seeds", "runs", "steps", "FLOPs per step", "training", "evaluation share",
               f"GPU time at {args.tflops:g} TFLOP/s"]  # fmt: skip
    print(tabulate(table, headers=headers, tablefmt="github", disable_numparse=True))
    total = sum(e.gpu_hours(args.tflops) for e in estimates)
    print(f"\ntotal: {hours_label(total)} at {args.tflops:g} TFLOP/s sustained "
          "(≤: an upper bound, the run may stop early or train a slimmed network)")  # fmt: skip
    return 0
