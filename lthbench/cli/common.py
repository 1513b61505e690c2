"""What the commands share: the entries, store and data root a command's flags select, the
verdicts of stored results, and how a result prints as one line."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from lthbench.errors import UserError


def registry_of(args: argparse.Namespace) -> Path:
    from lthbench.spec.load import default_registry

    return Path(args.registry) if args.registry else default_registry()


def experiments_of(args: argparse.Namespace, fit: bool = False) -> list[Any]:
    """The named entries (none: the registry), resolved once; ``fit`` also checks that each
    network fits its data and method (needed to train, not to read)."""
    from lthbench.runner.resolve import select

    overrides = getattr(args, "set", None) or []
    budget = getattr(args, "budget", 1.0)
    tier = getattr(args, "tier", None)
    return select(args.entries, registry_of(args), overrides, budget, fit, tier)


READING = {"check", "show", "export", "gc"}
"""Commands that only read a store: one that does not exist is a mistake, not an empty one
(``leaderboard`` renders a store never run, e.g. the paper tier's costs; its own guard keeps
empty pages off the published ones)."""


def store_of(args: argparse.Namespace) -> Any:
    from lthbench.store import RunStore

    if args.store and Path(args.store).exists() and not Path(args.store).is_dir():
        raise UserError(f"--store {args.store}: a file, not a store folder")
    if args.store and args.command in READING and not Path(args.store).exists():
        # a mistyped --store would read as "every result missing"
        raise UserError(f"--store {args.store}: no such store (`lthbench {args.command}` reads "
                        "a store; `lthbench run` creates one)")  # fmt: skip
    named = getattr(args, "results_from", None)
    # the bundle's file name or path works as well as its stem (the folder it is kept in)
    store = RunStore(args.store, None if named is None else Path(named).name.removesuffix(".zip"))
    if store.alternative is not None and not store.alternative.is_dir():
        kept = ", ".join(store.alternatives()) or "none"
        raise UserError(f"--results-from: {args.results_from!r} has no results kept beside this "
                        f"store's (bundles with results kept beside: {kept})")  # fmt: skip
    return store


def data_root_of(args: argparse.Namespace) -> Path:
    from lthbench.data import default_data_root

    return Path(args.data_root) if args.data_root else default_data_root()


def experiments_of_tier(args: argparse.Namespace, fit: bool = False) -> list[Any]:
    experiments = [e for e in experiments_of(args, fit) if args.tier in (None, e.tier)]
    if not experiments:
        raise UserError("no entries selected")
    return experiments


def verdicts_of(
    args: argparse.Namespace, experiments: list[Any]
) -> tuple[dict[str, Any], list[Any]]:
    """Stored records (of these entries and the siblings their claims name) and verdicts."""
    from lthbench.claims import check_entries
    from lthbench.runner.jobs import collect

    store = store_of(args)
    records = collect(experiments, store, registry_of(args), args.set or [], args.budget)
    _say_variants(experiments, records, store, registry_of(args))
    return records, check_entries(experiments, records, getattr(args, "mix_devices", False))


def verdicts_only(args: argparse.Namespace, experiments: list[Any]) -> list[Any]:
    """The verdicts of :func:`verdicts_of`, remembered in the store's index while the runs
    they read are unchanged (``check`` needs no records)."""
    from lthbench.claims.stored import stored_verdicts

    store = store_of(args)
    counts, verdicts = stored_verdicts(experiments, store, registry_of(args), args.set or [],
                                       args.budget, getattr(args, "mix_devices", False))  # fmt: skip
    _say_variants(experiments, counts, store, registry_of(args))
    return verdicts


def estimates_of(experiments: list[Any], store: Any) -> dict[str, Any]:
    """The cost estimates ``lthbench plan`` cached for these entries (read, never computed:
    the pages build no model); the entries without one are named on stderr."""
    from lthbench.runner.cost import stored_estimate

    found = {e.id: stored_estimate(e, store) for e in experiments}
    missing = sorted(name for name, estimate in found.items() if estimate is None)
    if missing:
        print(f"note: {len(missing)} entries have no cost estimate yet ({', '.join(missing[:3])}"
              f"{', …' if len(missing) > 3 else ''}): `lthbench plan` counts them",
              file=sys.stderr)  # fmt: skip
    return {name: estimate for name, estimate in found.items() if estimate is not None}


def _say_variants(experiments: list[Any], records: dict[str, Any], store: Any,
                  registry: Path) -> None:  # fmt: skip
    """Which variant's runs are read, and the flags of the others the store holds (stderr):
    those it recorded as requested, and the entry itself where it has results."""
    from lthbench.runner.find import has_results, variant_experiments

    others: list[str] = []
    for experiment in experiments:
        current = experiment.variant
        elsewhere = [variant for variant, found in variant_experiments([experiment], store, registry)
                     if variant != current and (not variant.full or has_results(found, store))]  # fmt: skip
        if not elsewhere:
            continue
        flags = "; ".join(v.flags or "no flags" for v in elsewhere)
        if not records.get(experiment.id):
            print(f"note: {experiment.id} has no stored results for the {current.label}; "
                  f"it has results for: {flags}", file=sys.stderr)  # fmt: skip
        else:
            others.append(f"{experiment.id} ({flags})")
    if others:
        label = experiments[0].variant.label
        print(f"note: reading the {label} runs; other stored variants: {', '.join(others)}",
              file=sys.stderr)  # fmt: skip


def print_verdicts(verdicts: list[Any], as_json: bool) -> None:
    from tabulate import tabulate

    if as_json:
        print(json.dumps([v.as_dict() for v in verdicts], indent=1))
        return
    from lthbench.report.tables import (
        FIGURE_HEADERS,
        replication_text,
        reported_text,
        seeds_needed_text,
        verdict_figures,
    )

    rows = [
        [v.entry_id, v.claim_id + ("*" if v.required else "") + (" †" if v.crossing else ""),
         v.kind, v.verdict + (f" (own: {v.own_verdict})" if v.given_only else ""),
         v.holm_verdict if v.kind == "paper" else "–",
         replication_text(v).replace("**", ""), v.seeds, seeds_needed_text(v),
         reported_text(v), *verdict_figures(v)]
        for v in verdicts
    ]  # fmt: skip
    headers = ["entry", "claim", "kind", "verdict", "Holm", "replicates", "seeds",
               "seeds needed", "paper", *FIGURE_HEADERS]  # fmt: skip
    print(tabulate(rows, headers=headers, disable_numparse=True))
    for v in verdicts:
        if v.reason:
            print(f"{v.entry_id}/{v.claim_id} {v.verdict}: {v.reason}")


def print_summary(verdicts: list[Any], quiet: bool = False) -> int:
    """Print the verdict counts (unless quiet); 1 when a required claim is refuted or missing."""
    from lthbench.claims import required_failures
    from lthbench.report.tables import holm_family, verdict_counts

    if not quiet:
        print(verdict_counts(verdicts))
        if any(v.kind == "paper" and v.p_value is not None for v in verdicts):
            print(f"Holm view: {holm_family(verdicts)}")
    failures = required_failures(verdicts)
    for failure in failures:
        print(
            f"required claim {failure.entry_id}/{failure.claim_id} is {failure.verdict}",
            file=sys.stderr,
        )
    return 1 if failures else 0


def summary_line(record: dict[str, Any]) -> str:
    parts = [f"{record['entry_id']} seed {record['seed']}"]
    for key in ("round", "phase", "ratio", "control", "density", "draw_epoch"):
        value = record.get(key)
        if value is not None:
            parts.append(f"{key} {value:.3g}" if isinstance(value, float) else f"{key} {value}")
    if record.get("final_test_accuracy") is None:
        parts.append("no result (no ticket drawn)" if record.get("drawn") == 0 else "no result")
        return "  ".join(parts)
    parts.append(f"test acc {100 * record['final_test_accuracy']:.2f}%")
    parts.append(f"early stop {record['early_stop_iteration']}it")
    parts.append(f"({record['wall_time_s']:.1f}s, run {record['run_id']})")
    return "  ".join(parts)


PUBLISHED = "leaderboards"
"""The committed pages: only full-budget, unmodified runs are published there by default."""


def is_published(out: Path) -> bool:
    """Whether ``out`` is the committed ``leaderboards/`` of the working directory."""
    return out.resolve() == (Path.cwd() / PUBLISHED).resolve()


def refuse_empty_pages(out: Path, records: dict[str, Any], store: Any, meant: bool) -> None:
    """Pages with no result at all do not replace the published ones (a mistyped --store, a
    fresh clone's empty store, a store of another budget) unless ``meant``
    (``--publish-reduced``)."""
    if is_published(out) and not meant and not any(records.values()):
        raise UserError(
            f"--out {out}: the store {store.root} holds no result of these entries, and the "
            f"published {PUBLISHED}/ would be replaced by empty pages; check --store (and "
            "--budget/--set), or give another --out"
        )


def pages_out(args: argparse.Namespace) -> tuple[Path, str | None]:
    """Where pages go and their banner (None: a full-budget run without overrides).

    Pages of a reduced run (``--budget`` below 1 or any ``--set``) carry a banner, and are
    refused in the committed ``leaderboards/`` unless ``--publish-reduced`` asks for it, so a
    smoke run cannot pass for the real thing."""
    out = Path(args.out)
    overrides = list(args.set or [])
    reduced = []
    if args.budget != 1.0:
        reduced.append(f"budget {args.budget:g} (every duration × {args.budget:g})")
    if overrides:
        reduced.append("overrides " + ", ".join(f"`{o}`" for o in overrides))
    if not reduced:
        return out, None
    if is_published(out) and not args.publish_reduced:
        raise UserError(
            f"--out {args.out}: these pages come from a reduced run ({'; '.join(reduced)}) and "
            f"would replace the published {PUBLISHED}/; give another --out, or "
            "--publish-reduced to mean it"
        )
    banner = (
        f"> **Reduced run: {'; '.join(reduced)}.** These pages do not show the entries at "
        "their stated settings; their verdicts are not the papers' claims checked."
    )
    return out, banner
