"""The commands that train: run and reproduce, and the progress display of a suite."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from lthbench.cli.common import (
    data_root_of,
    estimates_of,
    experiments_of,
    experiments_of_tier,
    pages_out,
    print_summary,
    print_verdicts,
    registry_of,
    store_of,
    summary_line,
    verdicts_of,
)
from lthbench.cli.exchange import publish_results
from lthbench.errors import UserError


def cmd_run(args: argparse.Namespace) -> int:
    """Train what is not stored. Seeds whose runs are all stored are read, not resumed: a
    cache-hit run imports no torch."""
    from lthbench.data.base import DataAccess
    from lthbench.runner.jobs import check_trainable, pending, plan, stored_records

    _require_tensorboard(args)
    experiments = experiments_of_tier(args)
    if args.seed is not None:
        outside = [e.id for e in experiments if args.seed not in e.seeds]
        if outside:
            raise UserError(f"--seed {args.seed}: not a seed of {', '.join(outside[:3])} (its "
                            "checks would never read it); add it with --set 'seeds=[...]'")  # fmt: skip
    jobs = plan(experiments, args.seed)
    store = store_of(args)
    todo = pending(jobs, store)
    if todo:
        check_trainable(todo, data_root_of(args), DataAccess(args.download, not args.no_verify))
    if args.dry_run:
        from lthbench.cli.progress import run_label

        counts: dict[str, int] = {}
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
                print(f"{run_label(job, run)}\t{run.id}\t{state}")
                word = state.split(" ")[0]
                counts[word] = counts.get(word, 0) + 1
        shown = ", ".join(f"{n} {w}" for w, n in sorted(counts.items()))
        print(f"{sum(counts.values())} runs: {shown or 'none planned'}", file=sys.stderr)
        return 0
    waiting = {id(job) for job in todo}
    lines = [json.dumps(record, sort_keys=True) if args.json else summary_line(record)
             for job in jobs if id(job) not in waiting
             for record in stored_records(job, store)]  # fmt: skip
    if lines:  # one write: thousands of stored records print at once
        sys.stdout.write("\n".join(lines) + "\n")
        sys.stdout.flush()
    if todo:
        from lthbench.runner.jobs import choose_device

        _execute(todo, store, args, choose_device(args.device))
    _tensorboard(args, jobs, store)
    return 0


def _page_entries(args: argparse.Namespace, trained: list[Any], store: Any) -> list[Any]:
    """The entries the pages show. A whole tier's run shows every tier, the others as the
    store holds them (missing until run) with their cost estimates computed, so the pages it
    writes over the published ones keep the other tier's rows (as `plan && leaderboard` does);
    named entries show only themselves."""
    if args.entries:
        return trained
    from lthbench.runner.cost import ensure_estimate

    every = experiments_of(argparse.Namespace(**{**vars(args), "tier": None}))
    for experiment in every:
        ensure_estimate(experiment, store)
    return every


def _require_tensorboard(args: argparse.Namespace) -> None:
    if args.tensorboard:
        from lthbench.report.tensorboard import require_tensorboard

        require_tensorboard()


def _tensorboard(args: argparse.Namespace, jobs: list[Any], store: Any) -> None:
    if args.tensorboard:
        from lthbench.report.tensorboard import write_runs

        count = write_runs(jobs, store, Path(args.tensorboard))
        print(f"TensorBoard: {count} new runs under {args.tensorboard}", file=sys.stderr)


def _execute(jobs: list[Any], store: Any, args: argparse.Namespace, device: Any) -> None:
    from lthbench.cli.progress import (
        SuiteProgress,
        VerdictsOnArrival,
        entry_flops,
        interactive,
        suite_clock,
    )
    from lthbench.runner.executors import (
        LocalExecutor,
        RayExecutor,
        Settings,
        make_executor,
        usable_cores,
    )
    from lthbench.runner.jobs import ordered

    executor = make_executor(args.executor, args.jobs, args.ray_address, len(jobs))
    if not isinstance(executor, RayExecutor):
        cores = usable_cores()
        for job in jobs:
            cpus = job.experiment.resources.cpus
            if cpus > cores:
                raise UserError(f"{job.experiment.file}: resources.cpus: {cpus} torch threads per "
                                f"run on a machine with {cores} usable cores would oversubscribe "
                                "it many times over; run it on a Ray cluster that has them")  # fmt: skip
    for experiment in {job.experiment.id: job.experiment for job in jobs}.values():
        if not experiment.variant.full:  # so show, check and leaderboard can name it
            store.record_variant(experiment.id, experiment.variant.as_dict())
    in_process = isinstance(executor, LocalExecutor)
    settings = Settings(store.root, data_root_of(args), str(device),
                        progress=in_process and not args.quiet and interactive(),
                        download=getattr(args, "download", False),
                        verify=not getattr(args, "no_verify", False),
                        plugins=tuple(getattr(args, "plugins", None) or ()))  # fmt: skip
    as_json = getattr(args, "json", False)
    progress = SuiteProgress(jobs, store, quiet=args.quiet, as_json=as_json)
    if not isinstance(executor, RayExecutor):  # a cluster's workers are not counted here
        progress.clock = suite_clock(progress.waiting, store, getattr(executor, "workers", 1),
                                     time_steps=device.type == "cpu")  # fmt: skip
        jobs = ordered(jobs, entry_flops(progress.clock))
    with progress:
        arrival = VerdictsOnArrival(jobs, store, registry_of(args), progress.write,
                                    list(args.set or []), args.budget)  # fmt: skip

        def on_job(job: Any, records: Any) -> None:
            progress.poll()  # the job's last result line before its verdict
            if not as_json:
                arrival.on_job(job, records)

        executor.run(jobs, settings, on_job)


def cmd_reproduce(args: argparse.Namespace) -> int:
    from lthbench.data.base import DataAccess
    from lthbench.report.leaderboard import render
    from lthbench.runner.jobs import check_trainable, choose_device, pending, plan

    _require_tensorboard(args)
    experiments = experiments_of_tier(args)
    out, banner = pages_out(args)  # refused before anything trains
    store = store_of(args)
    todo = pending(plan(experiments), store)
    if todo:
        check_trainable(todo, data_root_of(args), DataAccess(False, not args.no_verify))
        _execute(todo, store, args, choose_device(args.device))
    _tensorboard(args, plan(experiments), store)
    pages = _page_entries(args, experiments, store)
    records, verdicts = verdicts_of(args, pages)
    render(pages, records, verdicts, out, banner, estimates_of(pages, store))
    publish_results(pages, store, out, banner)
    trained = {e.id for e in experiments}
    verdicts = [v for v in verdicts if v.entry_id in trained]
    print_verdicts(verdicts, as_json=False)
    print(f"leaderboards written to {args.out}/")
    return print_summary(verdicts)
