"""A suite's progress, counted in runs, whichever executor trains them.

A thread in the command's process watches the store (a run is done when its result is
written, started when its config is), so workers in other processes or on a Ray cluster need
no channel back: on a terminal a bar with the runs done, an ETA and the runs in progress; when
the output is a file or a pipe, a plain line every few seconds (no ``\\r``). Each run's result
line is printed as the run ends.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from typing import Any, TextIO

from lthbench.store import Run

PLAIN_EVERY_S = 5.0
"""Seconds between progress lines when the output is not a terminal."""
POLL_S = 1.0


def interactive(stream: TextIO | None = None) -> bool:
    stream = stream or sys.stderr
    return hasattr(stream, "isatty") and stream.isatty()


class SuiteProgress:
    """Watch the runs ``jobs`` plan (those not stored yet) while an executor trains them."""

    def __init__(
        self, jobs: list[Any], store: Any, quiet: bool = False, as_json: bool = False
    ) -> None:
        planned: dict[str, tuple[Any, Run]] = {}
        for job in jobs:
            results = job.results(store)
            for run in job.method.plan(results, job.experiment.params):
                if run.id not in planned and results.inspect(run)[1] is None:
                    planned[run.id] = (job, run)
        self.waiting = planned
        self.total = len(planned)
        self.done = 0
        self.quiet = quiet
        self.as_json = as_json
        self.began = time.monotonic()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._bar: Any = None
        self._last_line = 0.0

    def __enter__(self) -> SuiteProgress:
        if interactive() and not self.quiet:
            from tqdm import tqdm

            self._bar = tqdm(total=self.total, desc="suite", unit="run", position=0,
                             dynamic_ncols=True)  # fmt: skip
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self.poll()  # the last runs' lines
        if self._bar is not None:
            self._bar.close()

    def _watch(self) -> None:
        while not self._stop.wait(POLL_S):
            self.poll()

    def poll(self) -> None:
        """Print the result line of every run that ended since the last poll; refresh."""
        running = []
        for run_id, (job, run) in list(self.waiting.items()):
            result = run.result() if (run.path / "result.json").exists() else None
            if result is not None:
                del self.waiting[run_id]
                self.done += 1
                self._write(run_json(job, run, result) if self.as_json
                            else run_line(job, run, result))  # fmt: skip
            elif (run.path / "config.json").exists():
                running.append(run_label(job, run))
        now = ", ".join(running[:4]) + (" …" if len(running) > 4 else "")
        if self._bar is not None:
            self._bar.n = self.done
            self._bar.set_postfix_str(f"now: {now}" if now else "", refresh=True)
        elif not self.quiet and time.monotonic() - self._last_line >= PLAIN_EVERY_S:
            self._last_line = time.monotonic()
            print(self.status_line(now), file=sys.stderr, flush=True)

    def status_line(self, now: str) -> str:
        elapsed = time.monotonic() - self.began
        eta = elapsed / self.done * (self.total - self.done) if self.done else None
        parts = [f"suite: {self.done}/{self.total} runs", f"elapsed {_clock(elapsed)}"]
        if eta is not None:
            parts.append(f"ETA {_clock(eta)}")
        if now:
            parts.append(f"now: {now}")
        return ", ".join(parts)

    def _write(self, line: str) -> None:
        if self._bar is not None:
            self._bar.write(line, file=sys.stdout)
        else:
            print(line, flush=True)


def run_label(job: Any, run: Run) -> str:
    """Entry, seed and what the run is within the seed (its identity's method part)."""
    identity = run.identity
    parts = [f"{job.experiment.id} seed {job.seed}"]
    for key in ("round", "control", "phase", "ratio"):
        if identity.get(key) is not None:
            parts.append(f"{key} {identity[key]}")
    return " ".join(parts)


def run_json(job: Any, run: Run, result: dict[str, Any]) -> str:
    """One finished run as a JSON line: its entry, seed, method, place in the seed, result."""
    place = {k: run.identity[k] for k in ("round", "control", "phase", "ratio")
             if run.identity.get(k) is not None}  # fmt: skip
    return json.dumps({"entry_id": job.experiment.id, "seed": job.seed,
                       "method": job.experiment.method_name, **place, **result}, sort_keys=True)  # fmt: skip


def run_line(job: Any, run: Run, result: dict[str, Any]) -> str:
    accuracy = result.get("final_test_accuracy")
    shown = "no result" if accuracy is None else f"test acc {100 * accuracy:.2f}%"
    return f"{run_label(job, run)}  {shown}  ({result.get('wall_time_s', 0):.1f}s, run {run.id})"


def _clock(seconds: float) -> str:
    minutes, seconds = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{seconds:02d}" if hours else f"{minutes}:{seconds:02d}"
