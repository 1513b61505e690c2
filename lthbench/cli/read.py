"""The commands that read: list, validate, show, check, leaderboard. None imports torch."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from lthbench.cli.common import (
    estimates_of,
    experiments_of,
    experiments_of_tier,
    pages_out,
    print_summary,
    print_verdicts,
    refuse_empty_pages,
    registry_of,
    store_of,
    verdicts_of,
    verdicts_only,
)
from lthbench.cli.exchange import publish_results
from lthbench.errors import UserError


def cmd_list(args: argparse.Namespace) -> int:
    from tabulate import tabulate

    if args.plugins_only:
        return list_plugins(args.json)

    found, problems = _listed(args)
    experiments = [e for e in found if args.tier in (None, e.tier)]
    for problem in problems:  # the valid entries are still listed
        print(f"lthbench: error: {problem}", file=sys.stderr)
    if args.json:
        print(json.dumps([
            {"id": e.id, "tier": e.tier, "model": e.model.name, "dataset": e.dataset.name,
             "method": e.method_name, "seeds": e.seeds, "file": e.file}
            for e in experiments
        ], indent=1))  # fmt: skip
        return 2 if problems else 0
    rows = [
        [e.id, e.tier, e.model.name, e.dataset.name, e.method_name, ",".join(map(str, e.seeds))]
        for e in experiments
    ]
    print(tabulate(rows, headers=["id", "tier", "model", "dataset", "method", "seeds"]))
    return 2 if problems else 0


def _listed(args: argparse.Namespace) -> tuple[list[Any], list[str]]:
    """The entries to list, and the problems of the files that do not resolve: one bad file
    in the registry does not hide the others (named entries must all resolve)."""
    if args.entries:
        return experiments_of(args), []
    from lthbench.runner.resolve import resolve_entry
    from lthbench.spec.load import entry_files, load_entry, registry_folders

    found: list[Any] = []
    problems: list[str] = []
    for file in entry_files(registry_folders(registry_of(args))):
        try:
            found.append(resolve_entry(load_entry(file)))
        except UserError as error:
            problems.append(str(error))
    return found, problems


def cmd_validate(args: argparse.Namespace) -> int:
    """Every file checked, every problem of every file reported (exit 2 when there is one)."""

    from lthbench.runner.resolve import resolve_entry
    from lthbench.spec.load import (
        entry_files,
        known_ids,
        load_entry,
        registry_folders,
        unknown_siblings,
    )

    valid: list[str] = []
    problems: list[str] = []
    where: dict[str, str] = {}
    registry = Path(args.registry) if args.registry else None
    if registry is not None and not registry.is_dir():
        raise UserError(f"--registry {registry}: not a folder")
    files = entry_files(args.paths or registry_folders(registry))
    known = known_ids(registry) | {file.stem for file in files}
    for file in files:
        try:
            entry = load_entry(file)
            problem = unknown_siblings(entry, known)
            if problem:
                raise UserError(problem)
            experiment = resolve_entry(entry, fit=args.fit)
        except UserError as error:
            problems.append(str(error))
            continue
        if experiment.id in where:
            problems.append(f"{file}: id: duplicate entry id {experiment.id!r} "
                            f"(also in {where[experiment.id]})")  # fmt: skip
            continue
        where[experiment.id] = str(file)
        valid.append(str(file))
    if args.json:
        print(json.dumps({"valid": valid, "problems": problems}, indent=1))
    else:
        for problem in problems:
            print(f"lthbench: error: {problem}", file=sys.stderr)
        bad = f", {len(problems)} with problems" if problems else ""
        print(f"{len(valid)} {'entry' if len(valid) == 1 else 'entries'} valid{bad}")
    return 2 if problems else 0


def cmd_check(args: argparse.Namespace) -> int:
    verdicts = verdicts_only(args, experiments_of_tier(args))
    print_verdicts(verdicts, args.json)
    return print_summary(verdicts, quiet=args.json)


def cmd_leaderboard(args: argparse.Namespace) -> int:
    from lthbench.report.leaderboard import render

    experiments = experiments_of_tier(args)
    out, banner = pages_out(args)
    records, verdicts = verdicts_of(args, experiments)
    refuse_empty_pages(out, records, store_of(args), args.publish_reduced)
    estimates = estimates_of(experiments, store_of(args))
    for path in render(experiments, records, verdicts, out, banner, estimates):
        print(path)
    publish_results(experiments, store_of(args), out, banner)
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    """An entry's stored results, every variant labelled, or one run by id prefix."""

    store = store_of(args)
    records = _entry_records(args, store)
    if records is None:
        records = _run_records(args, store)
    if args.json:
        print(json.dumps(records, indent=1, sort_keys=True))
        return 0
    if not records:
        print(f"no stored results for {args.target} in {store.root}")
        return 0
    selectors = [k for k in ("round", "control", "density", "phase", "ratio", "draw_epoch")
                 if any(r.get(k) is not None for r in records)]  # fmt: skip
    variants = ["variant"] if len({r.get("variant") for r in records}) > 1 else []
    keys = ["entry_id", "seed", "method", *variants, *selectors, "final_test_accuracy",
            "test_accuracy_at_early_stop", "early_stop_iteration", "min_val_loss", "wall_time_s",
            "run_id"]  # fmt: skip
    rows = [[_cell(r.get(k)) for k in keys] for r in records]
    numeric = [any(isinstance(r.get(k), int | float) for r in records[:50]) for k in keys]
    print(_table(rows, keys, numeric))
    if not variants:
        print(f"({records[0].get('variant', 'full budget')})")
    _say_results_beside(store, {str(r.get("run_id")) for r in records})
    return 0


def _say_results_beside(store: Any, shown: set[str]) -> None:
    """Name the imported bundles that brought another result for a run shown (stderr)."""
    for bundle in store.alternatives():
        runs = store.root / "imported" / bundle / "runs"
        beside = sum(1 for p in runs.iterdir() if p.name in shown) if runs.is_dir() else 0
        if beside and store.alternative is None:
            print(f"note: {beside} of these runs have another result, imported from {bundle} "
                  f"(read it with --results-from {bundle})", file=sys.stderr)  # fmt: skip


def _table(rows: list[list[str]], headers: list[str], right: list[bool]) -> str:
    """tabulate's "simple" layout for cells already formatted (its type guessing costs a
    second over the thousands of rows an entry with many seeds has)."""
    widths = [max([len(h), *(len(row[i]) for row in rows)]) for i, h in enumerate(headers)]

    def line(cells: list[str]) -> str:
        return "  ".join(c.rjust(w) if r else c.ljust(w)
                         for c, w, r in zip(cells, widths, right, strict=True)).rstrip()  # fmt: skip

    return "\n".join([line(headers), "  ".join("-" * w for w in widths), *map(line, rows)])


def _cell(value: Any) -> str:
    if value is None:
        return "–"
    return f"{value:.4f}" if isinstance(value, float) else str(value)


def _entry_records(args: argparse.Namespace, store: Any) -> list[dict[str, Any]] | None:
    """Every variant's records when ``args.target`` names an entry (None: it does not)."""
    from lthbench.run.experiment import Variant
    from lthbench.runner.find import variant_records
    from lthbench.spec.load import find_entries

    try:
        find_entries([args.target], registry_of(args))
    except UserError as error:
        if _looks_like_run_id(args.target):
            return None
        if args.target and all(c in "0123456789abcdef" for c in args.target):
            from lthbench.runner.find import MIN_PREFIX

            raise UserError(f"{error} (a run id prefix needs at least {MIN_PREFIX} "
                            "characters)") from None  # fmt: skip
        raise
    asked = Variant(args.budget, tuple(args.set or []))
    return variant_records(args.target, store, registry_of(args), asked)


def _looks_like_run_id(target: str) -> bool:
    from lthbench.runner.find import MIN_PREFIX

    return len(target) >= MIN_PREFIX and all(c in "0123456789abcdef" for c in target)


def _run_records(args: argparse.Namespace, store: Any) -> list[dict[str, Any]]:
    from lthbench.runner.find import locate_run

    matches = store.matching(args.target)
    if len(matches) > 1:
        shown = ", ".join(matches[:5]) + (", ..." if len(matches) > 5 else "")
        raise UserError(f"run id prefix {args.target!r} matches {len(matches)} runs ({shown}); "
                        "give more characters")  # fmt: skip
    if not matches:
        return []
    located = locate_run(matches[0], store, registry_of(args))
    if located is not None:
        return [located]
    run = store.find(matches[0])
    result = (run.result() if run else None) or {"run_id": matches[0], "status": "incomplete"}
    seed = run.identity.get("seed") if run else None
    return [{"entry_id": "(no registry entry plans it)", "seed": seed, **result}]


def list_plugins(as_json: bool) -> int:
    """Each loaded plugin, where it came from, and what it registered by kind."""
    from tabulate import tabulate

    from lthbench.methods import METHODS  # noqa: F401 - the built-ins, to tell them apart
    from lthbench.plugins import LOADED, added_by
    from lthbench.spec.load import PLUGIN_ENTRIES

    shown = [{"plugin": p.module, "from": p.origin, "spec": p.spec, "added": added_by(p)}
             for p in LOADED.values()]  # fmt: skip
    if as_json:
        print(json.dumps({"plugins": shown, "entry_folders": [str(f) for f in PLUGIN_ENTRIES]},
                         indent=1))  # fmt: skip
        return 0
    if not shown:
        print("no plugins loaded (entry points in 'lthbench.plugins', $LTHBENCH_PLUGINS, --plugin)")
        return 0
    rows = [[p["plugin"], p["from"],
             "; ".join(f"{kind}: {', '.join(names)}" for kind, names in p["added"].items())
             or "nothing registered"] for p in shown]  # fmt: skip
    print(tabulate(rows, headers=["plugin", "loaded from", "added"]))
    for folder in PLUGIN_ENTRIES:
        print(f"entries: {folder}")
    return 0
