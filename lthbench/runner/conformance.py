"""A method's hooks agree with each other: the contract behind ``plan``, ``run``, ``records``,
``pending`` and ``releasable``, checked on one seed of a real (tiny) entry.

Run it on your own method (tests/test_conformance.py runs it on every registered method)::

    problems = conformance_problems(load_experiment("my-entry.yaml"), tmp_store, data_root)
    assert not problems, problems

What it checks, in order:

1. before anything ran, ``pending`` is True and ``plan`` lists runs;
2. ``run`` trains exactly what ``plan`` lists (plan may drop runs that the stored results
   show will never exist, e.g. EB-Train for a ticket never drawn, but never add one);
3. after ``run``, ``pending`` is False, and True again with any one planned run taken out of
   the store (a run another entry shares may be there while this entry's others are not);
4. ``records`` reads without building a model, loading data or loading weights, returns
   records, and every one conforms to the method's ``Record`` model;
5. ``training_flops`` prices the records from the entry's ``lthbench plan`` estimate: one
   price per record, each None or a positive finite number, and a record that counted its own
   cost priced at it;
6. after ``gc`` removes what ``releasable`` offers, ``pending`` is still False and ``run``
   retrains nothing: every stored result stays byte for byte, and ``records`` is unchanged.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from unittest import mock

import torch

from lthbench.data import DATASETS
from lthbench.methods import Method
from lthbench.methods.records import RecordError
from lthbench.run import Experiment
from lthbench.runner.cost import ensure_estimate
from lthbench.runner.jobs import Job, execute, stored_records
from lthbench.store import RunStore

CPU = torch.device("cpu")


@contextlib.contextmanager
def reading_only() -> Iterator[None]:
    """Building a model, loading a dataset or loading weights raises inside this block."""

    def refuse(what: str) -> Any:
        def refused(*args: Any, **kwargs: Any) -> Any:
            raise AssertionError(f"records {what}")

        return refused

    with contextlib.ExitStack() as stack:
        stack.enter_context(mock.patch("timm.create_model", refuse("built a model")))
        stack.enter_context(mock.patch("torch.load", refuse("loaded weights")))
        for dataset in DATASETS.values():
            stack.enter_context(mock.patch.object(dataset, "load", refuse("loaded data")))
        yield


def _results(store: RunStore) -> dict[str, bytes]:
    return {p.parent.name: p.read_bytes() for p in store.root.glob("runs/*/result.json")}


def _price_problems(method: Method, experiment: Experiment, records: list[dict[str, Any]],
                    store: RunStore) -> list[str]:  # fmt: skip
    forward = ensure_estimate(experiment, store).forward_flops
    prices = method.training_flops(experiment, records, forward)
    if len(prices) != len(records):
        return [f"training_flops priced {len(prices)} of {len(records)} records"]
    problems = []
    for record, price in zip(records, prices, strict=True):
        own = record.get("training_flops")
        if price is not None and not (math.isfinite(price) and price > 0):
            problems.append(f"training_flops priced a record at {price!r}")
        elif own is not None and price != own:
            problems.append(f"training_flops priced a record that counted {own} at {price}")
    return problems


def conformance_problems(experiment: Experiment, store_root: Path, data_root: Path,
                         seed: int | None = None) -> list[str]:  # fmt: skip
    """What breaks the contract for ``experiment``'s method on one seed (its first unless
    ``seed``), trained into the empty store ``store_root``; an empty list when nothing does."""
    job = Job(experiment, experiment.seeds[0] if seed is None else seed)
    method, params, store = job.method, experiment.params, RunStore(store_root)
    results = job.results(store)
    problems: list[str] = []
    if _results(store):
        return [f"the store {store_root} is not empty"]
    planned_before = {run.id for run in method.plan(results, params)}
    if not planned_before:
        problems.append("plan lists no run before anything ran")
    if not method.pending(results, params):
        problems.append("pending is False before anything ran")
    execute(job, store, data_root, CPU, progress=False)
    trained = set(_results(store))
    planned = {run.id for run in method.plan(results, params)}
    if trained - planned:
        problems.append(f"run trained runs that plan does not list: {sorted(trained - planned)}")
    if planned - trained:
        problems.append(f"plan lists runs that run did not train: {sorted(planned - trained)}")
    if planned - planned_before:
        problems.append("plan after run lists runs that plan before it did not: "
                        f"{sorted(planned - planned_before)}")  # fmt: skip
    if method.pending(results, params):
        problems.append("pending is True after run")
    for run in method.plan(results, params):
        aside = run.path.with_name(run.path.name + ".aside")
        run.path.rename(aside)
        try:
            if not method.pending(results, params):
                problems.append(f"pending is False with planned run {run.id} missing")
        finally:
            aside.rename(run.path)
    try:
        with reading_only():
            records = stored_records(job, store)
    except (AssertionError, RecordError) as error:
        return [*problems, str(error)]
    if not records:
        problems.append("records returned nothing after run")
    problems += _price_problems(method, experiment, records, store)
    before = _results(store)
    for run, kind in method.releasable(results, params):
        run.release_state(kind)
    if method.pending(results, params):
        problems.append("pending is True after gc: releasable let gc remove what run needs")
    execute(job, store, data_root, CPU, progress=False)
    changed = sorted(i for i, text in _results(store).items() if before.get(i) != text)
    if changed:
        problems.append(f"run retrained after gc (releasable offered what it needs): {changed}")
    if stored_records(job, store) != records:
        problems.append("records changed after gc and another run")
    return problems
