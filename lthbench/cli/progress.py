"""A suite's progress, whichever executor trains it: runs done, an honest ETA, and each
entry's verdicts as soon as its last run ends.

A thread in the command's process watches the store (a run is done when its result is
written, started when its config is), so workers in other processes or on a Ray cluster need
no channel back: on a terminal a bar with the runs done, an ETA and the runs in progress; when
the output is a file or a pipe, a plain line every few seconds (no ``\\r``). Each run's result
line is printed as the run ends.

The ETA weighs every waiting run by its planned FLOPs (``lthbench plan``'s estimate of its
entry, per run), converted to seconds at the rate measured so far for its family (one method
training one network, a model with its settings, on one dataset at one batch size: the FLOPs
of its finished runs over their time). A family none of whose runs has ended is priced at the
rate a few timed training steps of its network reached when the suite started. The sum is
shared among the workers. Counting runs instead (a 55-s test_resnet run and a 0.3-s
LeNet run alike) gave ETAs off by 5× early in a suite; one rate for every network of a model
name left the ETA 31% short at minute 20 on a machine whose matrix product was fast (a
32-channel 1-D CNN ran at a tenth of the 96-channel one's FLOP rate).
"""

from __future__ import annotations

import contextlib
import io
import json
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import Any, TextIO

from lthbench.store import Run

PLAIN_EVERY_S = 5.0
"""Seconds between progress lines when the output is not a terminal."""
POLL_S = 1.0
PRIOR_EFFICIENCY = 0.3
"""The share of a 1024² matmul's FLOP/s a training step is assumed to reach before any run
of the suite has ended (the bench page measured 7.5% to 63% across the embedded nets)."""


def interactive(stream: TextIO | None = None) -> bool:
    stream = stream or sys.stderr
    return hasattr(stream, "isatty") and stream.isatty()


@dataclass
class Clock:
    """Seconds left from the planned FLOPs of the runs left, at the rates measured so far."""

    workers: int
    prior_flops_per_s: float
    """One worker's rate before any run has ended."""
    flops: dict[str, float] = field(default_factory=dict)
    """Planned FLOPs of every waiting run, by run id."""
    family: dict[str, str] = field(default_factory=dict)
    """Each run's model family (its entry's model name): its loop's efficiency."""
    job: dict[str, Any] = field(default_factory=dict)
    """Each run's job: a job's runs train one after the other."""
    done_flops: dict[str, float] = field(default_factory=dict)
    done_seconds: dict[str, float] = field(default_factory=dict)
    timed: dict[str, float] = field(default_factory=dict)
    """Each family's FLOP/s in a few timed training steps of its network (a prior)."""

    def finished(self, run_id: str, seconds: float) -> None:
        name = self.family.get(run_id, "?")
        self.done_flops[name] = self.done_flops.get(name, 0.0) + self.flops.pop(run_id, 0.0)
        self.job.pop(run_id, None)
        self.done_seconds[name] = self.done_seconds.get(name, 0.0) + max(seconds, 1e-3)

    def rate(self, name: str) -> float:
        """One worker's FLOP/s for runs of family ``name``: measured on its finished runs,
        else its network's timed steps' rate, else every finished run's rate, else the prior.
        (Scaling the timed rate by how the finished runs compared with theirs made the ETA
        worse: replayed over a finished tier, 42-49% long at minutes 1 and 3.)"""
        if self.done_seconds.get(name):
            return self.done_flops[name] / self.done_seconds[name]
        if name in self.timed:
            return self.timed[name]
        seconds = sum(self.done_seconds.values())
        return sum(self.done_flops.values()) / seconds if seconds else self.prior_flops_per_s

    def left(self) -> float:
        """The work left shared among the workers, but never less than the longest job's own
        (its runs are sequential) and never more workers than jobs left."""
        per_job: dict[int, float] = {}
        for run_id, flops in self.flops.items():
            seconds = flops / max(self.rate(self.family.get(run_id, "?")), 1.0)
            key = id(self.job.get(run_id))
            per_job[key] = per_job.get(key, 0.0) + seconds
        if not per_job:
            return 0.0
        workers = max(min(self.workers, len(per_job)), 1)
        return max(sum(per_job.values()) / workers, max(per_job.values()))


def matmul_flops_per_s(size: int = 512, repeats: int = 3) -> float:
    """One core's FLOP/s on a square matrix product (the physical limit the prior scales)."""
    import torch

    a, b = torch.randn(size, size), torch.randn(size, size)
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        a @ b
        best = min(best, time.perf_counter() - start)
    return 2 * size**3 / best


class SuiteProgress:
    """Watch the runs ``jobs`` plan (those not stored yet) while an executor trains them."""

    def __init__(
        self, jobs: list[Any], store: Any, quiet: bool = False, as_json: bool = False,
        clock: Clock | None = None,
    ) -> None:  # fmt: skip
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
        self.clock = clock
        self.began = time.monotonic()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._bar: Any = None
        self._last_line = 0.0
        self._lock = threading.Lock()

    def __enter__(self) -> SuiteProgress:
        if interactive() and not self.quiet:
            from tqdm import tqdm

            self._bar = tqdm(total=self.total, desc="suite", unit="run", position=0,
                             dynamic_ncols=True, bar_format="{l_bar}{bar}| {n}/{total} "
                             "[{elapsed}{postfix}]")  # fmt: skip
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
        with self._lock:
            running = []
            for run_id, (job, run) in list(self.waiting.items()):
                result = run.result() if (run.path / "result.json").exists() else None
                if result is not None:
                    del self.waiting[run_id]
                    self.done += 1
                    if self.clock is not None:
                        self.clock.finished(run_id, _occupied(run, result))
                    self.write(run_json(job, run, result) if self.as_json
                               else run_line(job, run, result))  # fmt: skip
                elif (run.path / "config.json").exists():
                    running.append(run_label(job, run))
            now = ", ".join(running[:4]) + (" …" if len(running) > 4 else "")
            if self._bar is not None:
                self._bar.n = self.done
                eta = self.eta()
                shown = [f"ETA {_clock(eta)}"] if eta is not None else []
                shown += [f"now: {now}"] if now else []
                self._bar.set_postfix_str(", ".join(shown), refresh=True)
            elif not self.quiet and time.monotonic() - self._last_line >= PLAIN_EVERY_S:
                self._last_line = time.monotonic()
                print(self.status_line(now), file=sys.stderr, flush=True)

    def eta(self) -> float | None:
        """Seconds left: the clock's, else (no plan) the mean time per run so far."""
        if self.clock is not None:
            return self.clock.left()
        elapsed = time.monotonic() - self.began
        return elapsed / self.done * (self.total - self.done) if self.done else None

    def status_line(self, now: str) -> str:
        elapsed = time.monotonic() - self.began
        eta = self.eta()
        parts = [f"suite: {self.done}/{self.total} runs", f"elapsed {_clock(elapsed)}"]
        if eta is not None:
            parts.append(f"ETA {_clock(eta)}")
        if now:
            parts.append(f"now: {now}")
        return ", ".join(parts)

    def write(self, line: str) -> None:
        if self._bar is not None:
            self._bar.write(line, file=sys.stdout)
        else:
            print(line, flush=True)


def _occupied(run: Run, result: dict[str, Any]) -> float:
    """How long the run held its worker: from its config (written as it starts) to its
    result, model building, data and checkpoints included; else its training time."""
    try:
        return (run.path / "result.json").stat().st_mtime - (
            run.path / "config.json"
        ).stat().st_mtime
    except OSError:
        return float(result.get("wall_time_s") or 0.0)


TIMED_STEP_FLOPS = 4e9
"""Networks whose training step is at most this many FLOPs get their steps timed when a suite
starts on a CPU (tens of milliseconds each); larger ones run near the matrix-product rate."""


def suite_clock(waiting: dict[str, tuple[Any, Run]], store: Any, workers: int,
                time_steps: bool = True) -> Clock:  # fmt: skip
    """The ETA's clock for the waiting runs (a :class:`SuiteProgress`'s): each run's share of
    its entry's planned FLOPs (``lthbench plan``'s estimate, computed and cached when missing);
    ``time_steps``: time a few steps of each small network on this CPU (not for a GPU)."""
    from lthbench.runner.cost import ensure_estimate

    clock = Clock(workers, matmul_flops_per_s() * PRIOR_EFFICIENCY)
    per_run: dict[str, float] = {}
    timed: dict[str, float] = {}  # seconds per step, by network
    for run_id, (job, _) in waiting.items():
        experiment = job.experiment
        network = network_family(experiment)
        family = f"{experiment.method_name}: {network}"  # a method's hooks cost per step too
        if experiment.id not in per_run:
            estimate = ensure_estimate(experiment, store)
            per_run[experiment.id] = ((estimate.training_flops + estimate.evaluation_flops)
                                      / max(estimate.runs, 1))  # fmt: skip
            if time_steps and 0 < estimate.step_flops <= TIMED_STEP_FLOPS:
                if network not in timed:
                    timed[network] = step_seconds(experiment)
                clock.timed[family] = estimate.step_flops / timed[network]
        clock.flops[run_id] = per_run[experiment.id]
        clock.family[run_id] = family
        clock.job[run_id] = job
    return clock


def network_family(experiment: Any) -> str:
    """Runs whose steps cost alike: one network (model and its settings) on one dataset at one
    batch size."""
    model = experiment.model
    settings = ",".join(f"{k}={v}" for k, v in sorted((model.kwargs or {}).items()))
    return (f"{model.name}({settings}) on {experiment.dataset.name}, "
            f"batch {experiment.training.batch_size}")  # fmt: skip


def step_seconds(experiment: Any) -> float:
    """A few timed training steps of the entry's network at its batch size (a CPU model)."""
    from lthbench.models import create_model
    from lthbench.train.flops import training_step_seconds

    data = experiment.data
    model = create_model(experiment.model, data.num_classes, data.input_size)
    return max(training_step_seconds(model, experiment.training.batch_size,
                                     tuple(data.input_size)), 1e-6)  # fmt: skip


def entry_flops(clock: Clock) -> dict[str, float]:
    """Each entry's planned FLOPs left (its waiting runs'), for the jobs' order."""
    left: dict[str, float] = {}
    for run_id, flops in clock.flops.items():
        entry = clock.job[run_id].experiment.id
        left[entry] = left.get(entry, 0.0) + flops
    return left


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
    if accuracy is not None and result.get("early_stop_iteration") is not None:
        shown += f"  early stop {result['early_stop_iteration']}it"
    return f"{run_label(job, run)}  {shown}  ({result.get('wall_time_s', 0):.1f}s, run {run.id})"


def _clock(seconds: float) -> str:
    minutes, seconds = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{seconds:02d}" if hours else f"{minutes}:{seconds:02d}"


class VerdictsOnArrival:
    """Print an entry's verdict line as soon as its last job (and its siblings') has ended,
    instead of only after the whole suite: ``on_job`` is the executor's per-job callback."""

    def __init__(self, jobs: list[Any], store: Any, registry: Any, write: Any,
                 overrides: list[str], budget: float) -> None:  # fmt: skip
        self.left: dict[str, int] = {}
        self.experiments: dict[str, Any] = {}
        for job in jobs:
            self.left[job.experiment.id] = self.left.get(job.experiment.id, 0) + 1
            self.experiments[job.experiment.id] = job.experiment
        self.store, self.registry, self.write = store, registry, write
        self.overrides, self.budget = overrides, budget
        self.said: set[str] = set()

    def on_job(self, job: Any, records: Any) -> None:
        self.left[job.experiment.id] -= 1
        for entry_id, experiment in self.experiments.items():
            siblings = [s for s in experiment.entry.siblings if s in self.left]
            ready = all(self.left.get(e, 0) == 0 for e in [entry_id, *siblings])
            if ready and entry_id not in self.said:
                self.said.add(entry_id)
                if experiment.claims:
                    self.write(self.line(experiment))

    def line(self, experiment: Any) -> str:
        from lthbench.claims import check_entries
        from lthbench.report.tables import verdict_counts
        from lthbench.runner.jobs import collect

        with contextlib.redirect_stderr(io.StringIO()):  # the final summary says the warnings
            records = collect([experiment], self.store, self.registry, self.overrides, self.budget)
            verdicts = check_entries([experiment], records)
        own = [v for v in verdicts if v.entry_id == experiment.id]
        return f"verdicts: {experiment.id}: {verdict_counts(own) if own else 'no claims'}"
