"""The commands for writing entries: ``config`` (an entry resolved, every default shown) and
``new`` (a new entry file from an existing one, to edit)."""

from __future__ import annotations

import argparse
import re
from pathlib import Path
from typing import Any

from lthbench.cli.common import experiments_of, registry_of
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
    from lthbench.spec.load import find_entries

    if not ENTRY_ID.match(args.id):
        raise UserError(f"new {args.id!r}: an id is lower-case letters, digits, '.', '_', '-'")
    (source,) = find_entries([args.source], registry_of(args))
    folder = Path(source.file).parent
    target = folder / f"{args.id}.yaml"
    if target.exists():
        raise UserError(f"{target}: already exists; choose another id")
    text = Path(source.file).read_text(encoding="utf-8")  # the file as written, comments kept
    text, count = re.subn(r"(?m)^id:.*$", f"id: {args.id}", text, count=1)
    if count != 1:
        raise UserError(f"{source.file}: id: no top-level 'id:' line to change")
    target.write_text(text, encoding="utf-8")
    print(target)
    print(f"next: edit it, then `lthbench validate {target}` and `lthbench run {args.id} "
          "--budget 0.05` for a smoke run")  # fmt: skip
    return 0
