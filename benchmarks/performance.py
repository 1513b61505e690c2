"""lthbench's cost against a hand-written PyTorch loop and the machine's arithmetic limit.

``nox -s bench`` runs this module (``python -m benchmarks.performance``) and writes ``leaderboards/performance.md``. Every figure is
measured here, in one process run, with repeats interleaved (A, B, A, B, ...) so that drift of
the machine hits both sides alike; each is reported as min / median / max, ratios as the median
of per-repeat ratios. Nothing here is a test: a slow machine gives slow figures, never a failure.

What is compared, and why:

- **loop**: :func:`lthbench.train.train` against the plainest correct loop (pre-normalised
  tensors in memory, ``randperm`` per epoch, forward, loss, backward, step; the same two
  evaluations): the practical limit, so the ratio is lthbench's overhead.
- **mask**: the same lthbench loop with a 20%-density mask held exactly, against unmasked.
- **FLOP/s**: training FLOPs per step (``torch.utils.flop_counter``) over step time, against a
  large matrix product's FLOP/s on this machine: the physical limit.
- **rounds**: an iterative lottery entry at 2, 4 and 8 rounds, and 4 → 8 from the store.
- **vectorised**: R runs of one architecture at once (``train_many``) against R one-run loops
  and against a hand-written batched loop (the practical limit of vectorising).
- **tier**: ``lthbench reproduce`` of the embedded tier at a reduced budget in a fresh store;
  with ``--full-tier``, the README's main command and read times (:mod:`benchmarks.commands`).

The measurements live in :mod:`benchmarks.loops` and :mod:`benchmarks.commands`, the page in
:mod:`benchmarks.page`; this module runs them and writes the page.
"""

from __future__ import annotations

import argparse
import json
import pickle
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from benchmarks.commands import bench_full_tier, bench_reads, bench_startup, bench_tier
from benchmarks.loops import (
    bench_cores,
    bench_evaluation,
    bench_loops,
    bench_mask,
    bench_numerics,
    bench_pruning,
    bench_rounds,
    bench_vectorised,
)
from benchmarks.page import render
from benchmarks.timing import ROOT


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "leaderboards" / "performance.md")
    parser.add_argument("--iterations", type=int, default=400)
    parser.add_argument("--repeats", type=int, default=4)
    parser.add_argument("--tier-budget", type=float, default=0.04)
    parser.add_argument(
        "--full-tier",
        action="store_true",
        help="also time the README's main command on a fresh store (~75 min on 2 cores)",
    )
    parser.add_argument(
        "--full-tier-store",
        type=Path,
        default=None,
        help="where the full tier's fresh store goes (default: a temporary one)",
    )
    parser.add_argument("--resume", action="store_true",
                        help="keep the sections a stopped run saved beside --full-tier-store")  # fmt: skip
    parser.add_argument("--full-tier-pages", type=Path, default=None,
                        help="where the full tier's pages go (default: a temporary folder)")  # fmt: skip
    args = parser.parse_args()
    torch.set_num_threads(1)
    saved = args.full_tier_store.with_suffix(".pickle") if args.full_tier_store else None
    sections: dict[str, Any] = {}
    if args.resume and saved is not None and saved.exists():  # sections a stopped run finished
        sections = pickle.loads(saved.read_bytes())
    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        # cores first: the main command's FLOP floor uses its two-worker rate, measured in the
        # same run; the main command next, so that a stopped run keeps the slowest section
        benches: dict[str, Callable[[], Any]] = {"cores": bench_cores}
        if args.full_tier:
            full_store = args.full_tier_store or tmp / "full-tier"
            benches["full_tier"] = lambda: bench_full_tier(
                full_store, args.full_tier_pages or tmp / "pages"
            )
            benches["reads"] = lambda: bench_reads(full_store)
        benches |= {
            "loops": lambda: bench_loops(tmp, args.iterations, args.repeats),
            "mask": lambda: bench_mask(tmp, args.iterations, args.repeats),
            "rounds": lambda: bench_rounds(tmp),
            "vectorised": lambda: bench_vectorised(tmp, args.iterations, args.repeats),
            "tier": lambda: bench_tier(tmp, args.tier_budget),
            "startup": lambda: bench_startup(tmp / "tier", args.tier_budget),
            "evaluation": lambda: bench_evaluation(tmp),
            "numerics": lambda: bench_numerics(tmp),
            "pruning": bench_pruning,
        }
        for name, bench in benches.items():
            if name in sections:
                continue
            began = time.perf_counter()
            sections[name] = bench()
            print(f"{name}: {time.perf_counter() - began:.0f} s", file=sys.stderr)
            if saved is not None:  # each finished section survives a stop (--resume)
                saved.with_suffix(".json").write_text(json.dumps(sections, indent=1, default=str))
                saved.with_suffix(".partial").write_bytes(pickle.dumps(sections))
                saved.with_suffix(".partial").replace(saved)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    render(args.out, sections, args)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
