"""The command line: a thin layer that wires the pipeline's stages together.

Bad input (an invalid entry, an unknown id, missing data) prints one line to stderr and
exits with status 2, before anything is written to the store.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from lthbench import __version__
from lthbench.errors import UserError


def _registry(args: argparse.Namespace) -> Path:
    from lthbench.spec.load import default_registry

    return Path(args.registry) if args.registry else default_registry()


def _experiments(args: argparse.Namespace, fit: bool = False) -> list[Any]:
    """The named entries (none: the registry), resolved once; ``fit`` also checks that each
    network fits its data and method (needed to train, not to read)."""
    from lthbench.runner.resolve import select

    overrides = getattr(args, "set", None) or []
    budget = getattr(args, "budget", 1.0)
    return select(args.entries, _registry(args), overrides, budget, fit)


def _store(args: argparse.Namespace) -> Any:
    from lthbench.store import RunStore

    return RunStore(args.store)


def _data_root(args: argparse.Namespace) -> Path:
    from lthbench.data import default_data_root

    return Path(args.data_root) if args.data_root else default_data_root()


def cmd_list(args: argparse.Namespace) -> int:
    from tabulate import tabulate

    rows = [
        [e.id, e.tier, e.model.name, e.dataset.name, e.method_name, ",".join(map(str, e.seeds))]
        for e in _experiments(args)
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


def cmd_run(args: argparse.Namespace) -> int:
    """Train what is not stored. Seeds whose runs are all stored are read, not resumed: a
    cache-hit run imports no torch."""
    from lthbench.data import vision
    from lthbench.runner.jobs import check_trainable, pending, plan, stored_records

    vision.DOWNLOAD["enabled"] = args.download
    jobs = plan(_experiments_of_tier(args), args.seed)
    store = _store(args)
    todo = pending(jobs, store)
    if todo:
        check_trainable(todo, _data_root(args))
    if args.dry_run:
        for job in jobs:
            results = job.results(store)
            for run in job.method.plan(results, job.experiment.params):
                problem, stored = results.inspect(run)
                state = (
                    "done"
                    if stored is not None
                    else f"redo ({problem})"
                    if problem is not None
                    else ("resumable" if run.resumable else "new")
                )
                print(f"{job.experiment.id}\tseed {job.seed}\t{run.id}\t{state}")
        return 0
    waiting = {id(job) for job in todo}
    for job in jobs:
        if id(job) not in waiting:
            for record in stored_records(job, store):
                print(_summary_line(record))
    if todo:
        from lthbench.runner.jobs import choose_device

        _execute(todo, store, args, choose_device(args.device))
    return 0


def _execute(jobs: list[Any], store: Any, args: argparse.Namespace, device: Any) -> None:
    from tqdm import tqdm

    from lthbench.runner.executors import LocalExecutor, Settings, make_executor

    executor = make_executor(args.executor, args.jobs, args.ray_address, len(jobs))
    in_process = isinstance(executor, LocalExecutor)
    settings = Settings(store.root, _data_root(args), str(device),
                        progress=in_process and not args.quiet,
                        download=getattr(args, "download", False))  # fmt: skip
    suite = tqdm(total=len(jobs), desc="suite", unit="job", position=0,
                 disable=args.quiet or (in_process and len(jobs) < 2))  # fmt: skip

    def finished(job: Any, records: list[dict[str, Any]]) -> None:
        suite.set_postfix_str(f"{job.experiment.id} seed {job.seed}", refresh=False)
        for record in records:
            suite.write(_summary_line(record))  # above the bars; plain print when disabled
        suite.update(1)

    executor.run(jobs, settings, finished)
    suite.close()


def _verdicts(args: argparse.Namespace, experiments: list[Any]) -> tuple[dict[str, Any], list[Any]]:
    """Stored records (of these entries and the siblings their claims name) and verdicts."""
    from lthbench.claims import check_entries
    from lthbench.runner.jobs import collect

    records = collect(experiments, _store(args), _registry(args), args.set or [], args.budget)
    return records, check_entries(experiments, records)


def _print_verdicts(verdicts: list[Any], as_json: bool) -> None:
    from tabulate import tabulate

    if as_json:
        print(json.dumps([v.as_dict() for v in verdicts], indent=1))
        return
    from lthbench.report.leaderboard import seeds_needed_text

    rows = [
        [v.entry_id, v.claim_id + ("*" if v.required else "") + (" †" if v.crossing else ""),
         v.kind, v.verdict, v.seeds, seeds_needed_text(v),
         "–" if v.density is None else f"{100 * v.density:.1f}%",
         "–" if v.mean is None else f"{v.mean:.4f}",
         "–" if v.reference_mean is None else f"{v.reference_mean:.4f}",
         "–" if v.ci_low is None else f"[{v.ci_low:.4f}, {v.ci_high:.4f}]"]
        for v in verdicts
    ]  # fmt: skip
    headers = ["entry", "claim", "kind", "verdict", "seeds", "seeds needed", "Pm", "mean",
               "reference", "decision interval"]  # fmt: skip
    print(tabulate(rows, headers=headers))


def _summary(verdicts: list[Any], quiet: bool = False) -> int:
    """Print the verdict counts (unless quiet); 1 when a required claim is refuted or missing."""
    from lthbench.claims import required_failures
    from lthbench.report.leaderboard import verdict_counts

    if not quiet:
        print(verdict_counts(verdicts))
    failures = required_failures(verdicts)
    for failure in failures:
        print(
            f"required claim {failure.entry_id}/{failure.claim_id} is {failure.verdict}",
            file=sys.stderr,
        )
    return 1 if failures else 0


def _experiments_of_tier(args: argparse.Namespace, fit: bool = False) -> list[Any]:
    experiments = [e for e in _experiments(args, fit) if args.tier in (None, e.tier)]
    if not experiments:
        raise UserError("no entries selected")
    return experiments


def cmd_check(args: argparse.Namespace) -> int:
    _, verdicts = _verdicts(args, _experiments_of_tier(args))
    _print_verdicts(verdicts, args.json)
    return _summary(verdicts, quiet=args.json)


def cmd_leaderboard(args: argparse.Namespace) -> int:
    from lthbench.report.leaderboard import render

    experiments = _experiments_of_tier(args)
    records, verdicts = _verdicts(args, experiments)
    for path in render(experiments, records, verdicts, Path(args.out)):
        print(path)
    return 0


def cmd_reproduce(args: argparse.Namespace) -> int:
    from lthbench.report.leaderboard import render
    from lthbench.runner.jobs import check_trainable, choose_device, pending, plan

    experiments = _experiments_of_tier(args)
    store = _store(args)
    todo = pending(plan(experiments), store)
    if todo:
        check_trainable(todo, _data_root(args))
        _execute(todo, store, args, choose_device(args.device))
    records, verdicts = _verdicts(args, experiments)
    render(experiments, records, verdicts, Path(args.out))
    _print_verdicts(verdicts, as_json=False)
    print(f"leaderboards written to {args.out}/")
    return _summary(verdicts)


def _summary_line(record: dict[str, Any]) -> str:
    parts = [f"{record['entry_id']} seed {record['seed']}"]
    for key in ("round", "phase", "ratio", "control", "density", "draw_epoch"):
        if record.get(key) is not None:
            parts.append(f"{key} {record[key]}")
    if record.get("final_test_accuracy") is None:
        parts.append("no result (no ticket drawn)" if record.get("drawn") == 0 else "no result")
        return "  ".join(parts)
    parts.append(f"test acc {record['final_test_accuracy']:.4f}")
    parts.append(f"early stop {record['early_stop_iteration']}it")
    parts.append(f"({record['wall_time_s']:.1f}s, run {record['run_id']})")
    return "  ".join(parts)


def cmd_show(args: argparse.Namespace) -> int:
    from tabulate import tabulate

    from lthbench.runner.jobs import Job, stored_records
    from lthbench.runner.resolve import select

    store = _store(args)
    run = store.find(args.target) if len(args.target) >= 6 else None
    if run is not None:
        records = [run.result() or {"run_id": run.id, "status": "incomplete"}]
    else:
        records = [
            record
            for experiment in select([args.target], _registry(args), budget=args.budget)
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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="lthbench", description="Reproducibility benchmark suite for lottery-ticket research."
    )
    parser.add_argument("--version", action="version", version=f"lthbench {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)

    def common(sub: argparse.ArgumentParser) -> None:
        sub.add_argument("--registry", help="registry folder (default: the shipped registry/)")
        sub.add_argument("--store", help="run store (default: $LTHBENCH_STORE or the user cache)")
        sub.add_argument(
            "--data-root", help="dataset root (default: $LTHBENCH_DATA or the user cache)"
        )

    from lthbench.runner.executors import EXECUTORS, default_executor

    def executors(sub: argparse.ArgumentParser) -> None:
        sub.add_argument("--executor", choices=sorted(EXECUTORS), default=default_executor(),
                         help="where jobs run: auto (every core: local processes, or this "
                              "process on one core or for one job), local (this process), "
                              "processes (N local processes), ray (a Ray cluster); default "
                              "$LTHBENCH_EXECUTOR, else auto")  # fmt: skip
        sub.add_argument("--jobs", type=int, default=None, metavar="N",
                         help="worker processes for auto and processes (default: every "
                              "usable core)")  # fmt: skip
        sub.add_argument("--ray-address", default=None, metavar="HOST:PORT",
                         help="the Ray cluster for --executor ray (default: $RAY_ADDRESS)")  # fmt: skip

    listing = commands.add_parser("list", help="list the registry's entries")
    common(listing)
    listing.add_argument("--tier", choices=["embedded", "paper"])
    listing.set_defaults(func=cmd_list, entries=[])

    validate = commands.add_parser("validate", help="validate entry files or folders")
    validate.add_argument("paths", nargs="*")
    validate.set_defaults(func=cmd_validate)

    run = commands.add_parser("run", help="run entries (by id, file or folder)")
    common(run)
    run.add_argument("entries", nargs="*", help="entry ids, files or folders (default: all)")
    run.add_argument("--tier", choices=["embedded", "paper"])
    run.add_argument("--seed", type=int, help="run only this seed")
    run.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N")
    run.add_argument("--dry-run", action="store_true", help="list the runs and their state only")
    run.add_argument("--download", action="store_true", help="let torchvision download datasets")
    run.add_argument("--quiet", action="store_true", help="no progress bars")
    run.add_argument(
        "--budget",
        type=float,
        default=1.0,
        metavar="FACTOR",
        help="scale every duration of the entries by FACTOR in (0, 1], e.g. 0.05 for a smoke run",
    )
    run.add_argument(
        "--set",
        action="append",
        metavar="KEY=VALUE",
        help="override an entry key before validation, e.g. training.duration=200it (repeatable)",
    )
    executors(run)
    run.set_defaults(func=cmd_run)

    def selection(sub: argparse.ArgumentParser, default_tier: str | None) -> None:
        common(sub)
        sub.add_argument("entries", nargs="*", help="entry ids, files or folders (default: all)")
        sub.add_argument("--tier", choices=["embedded", "paper"], default=default_tier)
        sub.add_argument("--budget", type=float, default=1.0, metavar="FACTOR",
                         help="the budget the runs were made with (see run --budget)")  # fmt: skip
        sub.add_argument("--set", action="append", metavar="KEY=VALUE",
                         help="the overrides the runs were made with (see run --set)")  # fmt: skip

    check = commands.add_parser("check", help="check entries' claims against stored results")
    selection(check, None)
    check.add_argument("--json", action="store_true", help="print the verdicts as JSON")
    check.set_defaults(func=cmd_check)

    leaderboard = commands.add_parser("leaderboard", help="render markdown leaderboards")
    selection(leaderboard, None)
    leaderboard.add_argument("--out", default="leaderboards", help="output folder")
    leaderboard.set_defaults(func=cmd_leaderboard)

    reproduce = commands.add_parser(
        "reproduce", help="run a tier, check its claims and render the leaderboards"
    )
    selection(reproduce, "embedded")
    reproduce.add_argument("--out", default="leaderboards", help="output folder")
    reproduce.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N")
    reproduce.add_argument("--quiet", action="store_true", help="no progress bars")
    executors(reproduce)
    reproduce.set_defaults(func=cmd_reproduce)

    show = commands.add_parser("show", help="show stored results of an entry or a run id")
    common(show)
    show.add_argument("target", help="entry id / file, or run id (prefix)")
    show.add_argument("--json", action="store_true", help="print the records as JSON")
    show.add_argument("--budget", type=float, default=1.0, metavar="FACTOR",
                      help="the budget the runs were made with (see run --budget)")  # fmt: skip
    show.set_defaults(func=cmd_show)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "seed", None) is not None and args.seed < 0:
        parser.exit(2, "lthbench: error: --seed must be a non-negative integer\n")
    try:
        return int(args.func(args))
    except UserError as error:
        print(f"lthbench: error: {error}", file=sys.stderr)
        return error.exit_status
    except KeyboardInterrupt:
        print("lthbench: interrupted; completed runs are stored, the current one resumes next time",
              file=sys.stderr)  # fmt: skip
        return 130
