"""The command line: a thin layer that wires the pipeline's stages together.

Bad input (an invalid entry, an unknown id, missing data) prints one line to stderr and
exits with status 2, before anything is written to the store. One module per kind of command:
:mod:`.train` (run, reproduce), :mod:`.read` (list, validate, show, check, leaderboard);
:mod:`.common` holds what they share.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from lthbench import __version__
from lthbench.cli.entries import cmd_config, cmd_new, cmd_plan
from lthbench.cli.exchange import cmd_compare, cmd_export, cmd_import
from lthbench.cli.read import cmd_check, cmd_leaderboard, cmd_list, cmd_show, cmd_validate
from lthbench.cli.store import cmd_export_csv, cmd_gc
from lthbench.cli.train import cmd_reproduce, cmd_run
from lthbench.errors import UserError
from lthbench.plugins import load_plugins

__all__ = ["build_parser", "main"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="lthbench", description="Reproducibility benchmark suite for lottery-ticket research."
    )
    parser.add_argument("--version", action="version", version=f"lthbench {__version__}")
    parser.add_argument("--plugin", action="append", metavar="MODULE_OR_PATH",
                        help="load a plugin (a module, a .py file or a package folder) before "
                             "the command, anywhere on the line; repeatable. Installed plugins "
                             "(entry points in 'lthbench.plugins') and $LTHBENCH_PLUGINS load "
                             "too; `lthbench list --plugins` shows what each added")  # fmt: skip
    commands = parser.add_subparsers(dest="command", required=True)

    def variant_flags(sub: argparse.ArgumentParser, budget_help: str, set_help: str) -> None:
        """--budget and --set: what makes a variant of an entry (see run --budget)."""
        sub.add_argument("--budget", type=float, default=1.0, metavar="FACTOR", help=budget_help)
        sub.add_argument("--set", action="append", metavar="KEY=VALUE", help=set_help)

    def common(sub: argparse.ArgumentParser) -> None:
        sub.add_argument("--registry", help="registry folder (default: $LTHBENCH_REGISTRY, else "
                         "./registry, else the shipped one)")  # fmt: skip
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

    def tensorboard(sub: argparse.ArgumentParser) -> None:
        sub.add_argument("--tensorboard", metavar="DIR", default=None,
                         help="also write every finished run's curves for TensorBoard under "
                              "DIR/<entry>/seed_<s>/<round, control, phase> (the store stays "
                              "the source of truth)")  # fmt: skip

    listing = commands.add_parser("list", help="list the registry's entries")
    common(listing)
    listing.add_argument("--tier", choices=["embedded", "paper"])
    listing.add_argument("--json", action="store_true", help="print the entries as JSON")
    listing.add_argument("--plugins", action="store_true", dest="plugins_only",
                         help="list the loaded plugins and what each registered instead")  # fmt: skip
    listing.set_defaults(func=cmd_list, entries=[])

    validate = commands.add_parser("validate", help="validate entry files or folders")
    validate.add_argument("paths", nargs="*", help="files or folders (default: the registry)")
    validate.add_argument("--json", action="store_true",
                          help="print {valid: [files], problems: [messages]} as JSON")  # fmt: skip
    validate.add_argument("--registry", help="registry folder whose entries are validated, and "
                          "against whose ids `entry:` references are checked (default: "
                          "$LTHBENCH_REGISTRY, else ./registry, else the shipped one)")  # fmt: skip
    validate.add_argument("--fit", action="store_true",
                          help="also build each network on the meta device and check that it "
                          "fits its data and method (imports torch and timm: seconds; `run` "
                          "checks this before it trains anyway)")  # fmt: skip
    validate.set_defaults(func=cmd_validate)

    run = commands.add_parser("run", help="run entries (by id, file or folder)")
    common(run)
    run.add_argument("entries", nargs="*", help="entry ids, files or folders (default: all)")
    run.add_argument("--tier", choices=["embedded", "paper"])
    run.add_argument("--seed", type=int, help="run only this seed")
    run.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N")
    run.add_argument("--dry-run", action="store_true", help="list the runs and their state only")
    run.add_argument("--download", action="store_true", help="let torchvision download datasets")
    run.add_argument("--no-verify", action="store_true",
                     help="read dataset files without torchvision's checksums (your own copies)")  # fmt: skip
    run.add_argument("--quiet", action="store_true", help="no progress bars")
    run.add_argument("--json", action="store_true",
                     help="one JSON record per line on stdout for every finished run")  # fmt: skip
    variant_flags(run, "scale every duration of the entries by FACTOR in (0, 1], e.g. 0.05 for a "
                  "smoke run", "override an entry key before validation, e.g. seeds=[0] "
                  "(repeatable)")  # fmt: skip
    executors(run)
    tensorboard(run)
    run.set_defaults(func=cmd_run)

    def origins(sub: argparse.ArgumentParser) -> None:
        sub.add_argument("--results-from", metavar="BUNDLE", default=None,
                         help="read the results an imported bundle brought for run ids this "
                              "store already had (kept beside them under imported/BUNDLE/; "
                              "the bundle's name, file name or path) instead of the store's "
                              "own")  # fmt: skip

    def selection(sub: argparse.ArgumentParser, default_tier: str | None) -> None:
        common(sub)
        sub.add_argument("entries", nargs="*", help="entry ids, files or folders (default: all)")
        sub.add_argument("--tier", choices=["embedded", "paper"], default=default_tier)
        variant_flags(sub, "the budget the runs were made with (see run --budget)",
                      "the overrides the runs were made with (see run --set)")  # fmt: skip
        sub.add_argument("--mix-devices", action="store_true",
                         help="let one verdict read results computed on different devices "
                              "(default: the device with the most seeds, the rest left out "
                              "and named)")  # fmt: skip

    check = commands.add_parser("check", help="check entries' claims against stored results")
    selection(check, None)
    origins(check)
    check.add_argument("--json", action="store_true", help="print the verdicts as JSON")
    check.set_defaults(func=cmd_check)

    leaderboard = commands.add_parser("leaderboard", help="render markdown leaderboards")
    selection(leaderboard, None)
    origins(leaderboard)
    leaderboard.add_argument("--out", default="leaderboards", help="output folder")
    leaderboard.add_argument("--publish-reduced", action="store_true",
                        help="write a reduced run's pages (--budget, --set) into leaderboards/")  # fmt: skip
    leaderboard.set_defaults(func=cmd_leaderboard)

    reproduce = commands.add_parser(
        "reproduce", help="run a tier (default: embedded), check its claims and render the "
        "leaderboards", description="Run a tier (default: --tier embedded), check its claims "
        "and render the leaderboards into --out (default: leaderboards/).",
    )  # fmt: skip
    selection(reproduce, "embedded")
    reproduce.add_argument("--out", default="leaderboards", help="output folder")
    reproduce.add_argument("--publish-reduced", action="store_true",
                        help="write a reduced run's pages (--budget, --set) into leaderboards/")  # fmt: skip
    reproduce.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N")
    reproduce.add_argument("--quiet", action="store_true", help="no progress bars")
    reproduce.add_argument("--no-verify", action="store_true",
                           help="read dataset files without torchvision's checksums")  # fmt: skip
    executors(reproduce)
    tensorboard(reproduce)
    reproduce.set_defaults(func=cmd_reproduce)

    show = commands.add_parser("show", help="show stored results of an entry or a run id")
    common(show)
    show.add_argument("target", help="entry id / file, or run id (a prefix of 4 or more)")
    show.add_argument("--json", action="store_true", help="print the records as JSON")
    origins(show)
    variant_flags(show, "also a budget not recorded in the store (every stored variant is "
                  "listed anyway)", "also these overrides (see run --set)")  # fmt: skip
    show.set_defaults(func=cmd_show)

    config = commands.add_parser("config", help="print an entry resolved, every default shown")
    common(config)
    config.add_argument("entries", nargs=1, metavar="ENTRY", help="entry id or file")
    variant_flags(config, "resolve at this budget (see run --budget)",
                  "with these overrides (see run --set)")  # fmt: skip
    config.set_defaults(func=cmd_config)

    from lthbench.runner.cost import ASSUMED_TFLOPS

    plan = commands.add_parser(
        "plan", help="what entries will cost to train: FLOPs and GPU-hours (nothing runs)"
    )
    common(plan)
    plan.add_argument("entries", nargs="*", help="entry ids, files or folders (default: all)")
    plan.add_argument("--tier", choices=["embedded", "paper"])
    plan.add_argument("--tflops", type=float, default=ASSUMED_TFLOPS, metavar="T",
                      help="sustained device throughput the GPU-hours assume, in TFLOP/s "
                           f"(default {ASSUMED_TFLOPS:g}: about a V100's FP32 peak)")  # fmt: skip
    plan.add_argument("--json", action="store_true", help="print the estimates as JSON")
    variant_flags(plan, "plan at this budget (see run --budget)",
                  "with these overrides (see run --set)")  # fmt: skip
    plan.set_defaults(func=cmd_plan)

    new = commands.add_parser("new", help="write a new entry file from an existing one")
    common(new)
    new.add_argument("id", help="the new entry's id (its file name)")
    new.add_argument("--from", dest="source", required=True, metavar="ENTRY",
                     help="the entry to start from (id or file)")  # fmt: skip
    new.set_defaults(func=cmd_new)

    export = commands.add_parser("export-csv", help="stored results as a flat CSV table")
    common(export)
    export.add_argument("entries", nargs="*", help="entry ids, files or folders (default: all)")
    export.add_argument("--out", default="-", help="file to write (default: stdout)")
    export.set_defaults(func=cmd_export_csv)

    gc = commands.add_parser("gc", help="the store's disk use; remove weights nothing reads")
    common(gc)
    gc.add_argument("--dry-run", action="store_true", help="report only, remove nothing")
    gc.add_argument("--json", action="store_true", help="also print the figures as JSON")
    gc.set_defaults(func=cmd_gc)

    exporting = commands.add_parser("export", help="write stored runs to one bundle file")
    common(exporting)
    exporting.add_argument(
        "entries", nargs="*", help="entry ids, files or folders (default: every run in the store)"
    )
    exporting.add_argument("--tier", choices=["embedded", "paper"])
    exporting.add_argument("--out", required=True, help="the bundle to write (a .zip)")
    exporting.add_argument("--weights", action="store_true", help="include the runs' weights")
    exporting.set_defaults(func=cmd_export)

    importing = commands.add_parser("import", help="add a bundle's runs, verified first")
    common(importing)
    importing.add_argument("bundle", help="a bundle written by `lthbench export`")
    importing.set_defaults(func=cmd_import)

    comparing = commands.add_parser(
        "compare",
        help="two stores or bundles, claim by claim; exit 1 when a stable verdict flips "
        "or one flips between reproduced and refuted",
    )
    common(comparing)
    comparing.add_argument("a", help="a store folder or a bundle")
    comparing.add_argument("b", help="a store folder or a bundle")
    comparing.add_argument("entries", nargs="*", help="entries to compare (default: all)")
    comparing.add_argument("--tier", choices=["embedded", "paper"])
    comparing.add_argument("--json", action="store_true", help="print the comparison as JSON")
    variant_flags(
        comparing,
        "the budget both sides' runs were made with (see run --budget)",
        "the overrides both sides' runs were made with (see run --set)",
    )
    comparing.set_defaults(func=cmd_compare)  # fmt: skip
    return parser


def plugin_flags(argv: Sequence[str]) -> tuple[list[str], list[str]]:
    """(the --plugin values, the other arguments): plugins load before the parser is built
    (they add executors, and methods that entries name), wherever the flag stands."""
    plugins, rest = [], []
    arguments = iter(argv)
    for argument in arguments:
        if argument == "--plugin":
            plugins.append(next(arguments, ""))
        elif argument.startswith("--plugin="):
            plugins.append(argument.split("=", 1)[1])
        else:
            rest.append(argument)
    return plugins, rest


def main(argv: Sequence[str] | None = None) -> int:
    plugins, argv = plugin_flags(sys.argv[1:] if argv is None else list(argv))
    try:
        load_plugins(plugins)
    except UserError as error:
        print(f"lthbench: error: {error}", file=sys.stderr)
        return error.exit_status
    parser = build_parser()
    args = parser.parse_args(argv)
    args.plugins = plugins
    if getattr(args, "seed", None) is not None and args.seed < 0:
        parser.exit(2, "lthbench: error: --seed must be a non-negative integer\n")
    try:
        return int(args.func(args))
    except BrokenPipeError:  # `lthbench check --json | head`: the reader has what it wanted
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - Python flushes stdout at exit
        return 0
    except UserError as error:
        print(f"lthbench: error: {error}", file=sys.stderr)
        return error.exit_status
    except KeyboardInterrupt:
        print("lthbench: interrupted; completed runs are stored, the current one resumes next time",
              file=sys.stderr)  # fmt: skip
        return 130
