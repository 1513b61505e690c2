"""Whole commands as a user types them: the tier at a reduced budget, the README's main
command (timed line by line), read times and start-up."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.timing import ROOT, Timings


def bench_tier(tmp: Path, budget: float) -> tuple[float, str]:
    """The default command at a reduced budget (default executor: every core)."""
    command = [sys.executable, "-m", "lthbench", "reproduce", "--tier", "embedded",
               "--budget", str(budget), "--store", str(tmp / "tier"), "--out", str(tmp / "pages"),
               "--quiet"]  # fmt: skip
    began = time.perf_counter()
    done = subprocess.run(command, check=False, capture_output=True, text=True)
    if done.returncode not in (0, 1) or "Traceback" in done.stderr:  # 1: a required claim failed
        raise RuntimeError(
            f"lthbench reproduce exited with {done.returncode}: {done.stderr[-2000:]}"
        )
    return time.perf_counter() - began, " ".join(["lthbench", *command[3:]]).replace(
        str(tmp), "$TMP"
    )


ETA = re.compile(r"ETA (?:(\d+):)?(\d+):(\d\d)")
RUN_LINE = re.compile(r"\(\d+\.\ds, run [0-9a-f]{20}\)$")
ETA_MINUTES = (1, 3, 10, 20)


def bench_full_tier(store: Path, pages: Path) -> dict[str, Any]:
    """The README's main command as a new user types it: a fresh store, default flags, its
    output a pipe (its pages go to ``pages``: ``--full-tier-pages leaderboards`` republishes
    from this run). Every line is timed as it arrives: the ETA shown at minutes 1, 3, 10 and
    20 against the time the last run really ended, and when the first verdict line came."""
    if store.exists() and any(store.iterdir()):
        raise SystemExit(f"--full-tier-store {store}: not empty; the full tier needs a fresh store")
    environment = {**os.environ, "LTHBENCH_STORE": str(store)}
    environment.pop("LTHBENCH_EXECUTOR", None)
    began = time.perf_counter()
    process = subprocess.Popen([sys.executable, "-m", "lthbench", "reproduce", "--out",
                                str(pages)], env=environment, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True, bufsize=1)  # fmt: skip
    assert process.stdout is not None
    lines = [(time.perf_counter() - began, line.rstrip("\n")) for line in process.stdout]
    seconds = time.perf_counter() - began
    if process.wait() not in (0, 1):
        raise RuntimeError(f"lthbench reproduce failed: {[t for _, t in lines[-20:]]}")
    trained = max((t for t, line in lines if RUN_LINE.search(line)), default=seconds)
    shown: dict[int, dict[str, float]] = {}
    for minute in ETA_MINUTES:
        before = [(t, ETA.search(line)) for t, line in lines if t <= minute * 60 and "ETA" in line]
        before = [(t, m) for t, m in before if m is not None]
        if before and trained > minute * 60:
            t, match = before[-1]
            hours, minutes, secs = (int(g or 0) for g in match.groups())
            eta = hours * 3600 + minutes * 60 + secs
            shown[minute] = {"at": t, "eta": eta, "true": trained - t}
    first_verdict = next((t for t, line in lines if line.startswith("verdicts: ")), None)
    planned = subprocess.run([sys.executable, "-m", "lthbench", "plan", "--tier", "embedded",
                              "--json", "--store", str(store)], env=environment,
                             capture_output=True, text=True, check=True)  # fmt: skip
    flops = sum(e["training_flops"] + e["evaluation_flops"] for e in json.loads(planned.stdout))
    store.with_suffix(".log").write_text("".join(f"{t:8.1f}  {line}\n" for t, line in lines))
    return {"seconds": seconds, "trained": trained, "flops": flops, "eta": shown,
            "first_verdict": first_verdict,
            "runs": sum(1 for _ in store.rglob("result.json"))}  # fmt: skip


def bench_reads(store: Path) -> dict[str, Any]:
    """Read times at the full tier's store and at a synthetic one 8× larger
    (:mod:`benchmarks.reads`)."""
    from benchmarks.reads import stored_runs, synthetic_store, time_reads

    registry = ROOT / "registry"
    with tempfile.TemporaryDirectory(dir=store.parent) as tmp:
        grown_registry, grown = synthetic_store(store, registry, Path(tmp), 8)
        return {
            label: {"runs": stored_runs(where), "times": time_reads(where, reg, 3)}
            for label, (where, reg) in {"today": (store, registry),
                                        "grown": (grown, grown_registry)}.items()
        }  # fmt: skip


READ_COMMANDS = {
    "list": ["list"],
    "show ENTRY": ["show", "mnist1d-mlp-lottery"],
    "check": ["check"],
    "run (all stored)": ["run"],
}


def bench_startup(store: Path, budget: float, repeats: int = 5) -> dict[str, Timings]:
    """Seconds of each read-only command against the store the tier bench filled (the budget
    flag selects its runs), median of ``repeats`` fresh processes."""
    times: dict[str, Timings] = {}
    for label, command in READ_COMMANDS.items():
        flags = ["--store", str(store)]
        if command[0] in ("check", "run"):
            flags += ["--budget", str(budget), "--tier", "embedded"]
        times[label] = []
        for _ in range(repeats):
            began = time.perf_counter()
            subprocess.run([sys.executable, "-m", "lthbench", *command, *flags], check=False,
                           capture_output=True, timeout=120)  # fmt: skip
            times[label].append(time.perf_counter() - began)
            if times[label][-1] > 30:
                raise RuntimeError(f"lthbench {' '.join(command)} trained: not a cache hit")
    return times
