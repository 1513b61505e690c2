"""Entry → :class:`~lthbench.run.experiment.Experiment`: the one place an entry is validated.

The schema (:mod:`lthbench.spec`) checks types and keys; this module checks what needs the
plugin registries and the dataset's facts: the model, dataset and method names, the method's
typed params, claim metrics and selectors, the budget in iterations. ``fit=True`` also builds
the network on the meta device (no memory, no time) to check that it fits the data and the
method's params; reading stored results skips it, so reads build no model.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from lthbench.data import DATASETS
from lthbench.data.base import iterations_per_epoch
from lthbench.errors import UserError
from lthbench.methods import METHODS
from lthbench.methods.records import where_keys
from lthbench.models import check_model_name
from lthbench.run.experiment import Experiment, Variant
from lthbench.spec.duration import Duration
from lthbench.spec.entry import Entry
from lthbench.spec.load import (
    describe,
    find_entries,
    known_ids,
    load_entries,
    load_entry,
    registry_folders,
    unknown_siblings,
)

MAX_TOTAL_ITERATIONS = 100_000_000


def resolve_entry(
    entry: Entry, budget: float = 1.0, fit: bool = False, overrides: Iterable[str] = ()
) -> Experiment:
    """Validate ``entry`` against the registries and resolve it; ``budget`` < 1 scales every
    duration (a quick run with the entry's structure; the scaled durations join the runs'
    identities, so nothing is confused). ``overrides`` (already applied to ``entry``) only
    name the variant. Errors name the entry's file and key."""
    try:
        overrides = list(overrides)
        experiment = _resolve(entry, budget, fit, overrides)
        return dataclasses.replace(experiment, variant=Variant(budget, tuple(overrides)))
    except UserError as error:
        message = str(error)
        prefix = f"{entry.file}: "
        raise UserError(message if message.startswith(prefix) else prefix + message) from None


def _resolve(entry: Entry, budget: float, fit: bool, overrides: list[str]) -> Experiment:
    problem = check_model_name(entry.model.name)
    if problem:
        raise UserError(f"model.name: {problem}")
    if entry.dataset.name not in DATASETS:
        allowed = ", ".join(sorted(DATASETS))
        raise UserError(f"dataset.name: unknown dataset {entry.dataset.name!r}; allowed: {allowed}")
    dataset = DATASETS[entry.dataset.name]
    problem = dataset.spec_problem(entry.dataset)
    if problem:
        raise UserError(f"dataset.{problem}")
    if entry.method.name not in METHODS:
        allowed = ", ".join(sorted(METHODS))
        raise UserError(f"method.name: unknown method {entry.method.name!r}; allowed: {allowed}")
    method = METHODS[entry.method.name]
    try:
        params: BaseModel = method.Params.model_validate(entry.method.params)
    except ValidationError as error:
        raise describe(error, Path(entry.file), prefix="method.params", overrides=overrides,
                       model=method.Params) from None  # fmt: skip
    _check_claims(entry, method, params)
    if budget != 1.0:
        if not 0 < budget <= 1:
            raise UserError(f"--budget: {budget} is not in (0, 1]")
        entry, params = _scaled(entry, params, method, budget)
    experiment = experiment_of(entry, params)
    _check_budget(experiment)
    method.check(experiment)
    if fit:
        check_fit(experiment)
    return experiment


def check_fit(experiment: Experiment) -> None:
    """Build the network on the meta device (no memory, no time; it imports torch and timm)
    and check that it fits the data and the method's params: what training needs beyond
    resolution. Errors name the entry's file."""
    from lthbench.models import check_model

    data = experiment.data
    try:
        model = check_model(experiment.model, data.num_classes, data.input_size)
        METHODS[experiment.method_name].check_fit(experiment, model)
    except UserError as error:
        raise UserError(f"{experiment.file}: {error}") from None


def experiment_of(entry: Entry, params: BaseModel) -> Experiment:
    """The experiment of a schema-valid entry with its method's typed params: the dataset's
    facts joined (no checks; :func:`resolve_entry` is the checked way)."""
    dataset = DATASETS[entry.dataset.name]
    info = dataset.info(entry.dataset)
    return Experiment(
        entry=_with(entry, params=params.model_dump(mode="json", exclude_defaults=True)),
        params=params,
        data=info,
        iterations_per_epoch=iterations_per_epoch(info.train_size, entry.training.batch_size),
        test_examples=dataset.test_examples(entry.dataset),
        validation_examples=dataset.validation_size(entry.dataset),
    )


def _with(entry: Entry, **update: Any) -> Entry:
    """A copy of ``entry`` with new training or method params (it keeps its file)."""
    if "params" in update:
        update["method"] = entry.method.model_copy(update={"params": update.pop("params")})
    copy = entry.model_copy(update=update)
    copy._file = entry._file
    return copy


def _check_claims(entry: Entry, method: Any, params: BaseModel) -> None:
    for index, claim in enumerate(entry.claims):
        if claim.metric not in method.metrics:
            allowed = ", ".join(sorted(method.metrics))
            raise UserError(
                f"claims[{index}].metric: unknown metric {claim.metric!r} for method "
                f"{entry.method.name!r}; allowed: {allowed}"
            )
        allowed_where = where_keys(method.Record)
        for key in claim.where:
            if key not in allowed_where:
                raise UserError(
                    f"claims[{index}].where.{key}: not a field of method {entry.method.name!r}'s "
                    f"records ({method.Record.__name__}); allowed: {', '.join(sorted(allowed_where))}"
                )
        anywhere = set().union(*(where_keys(m.Record) for m in METHODS.values()))
        for key in claim.reference_where:
            if key not in anywhere:
                raise UserError(f"claims[{index}].reference_where.{key}: not a field of any "
                                f"method's records; allowed: {', '.join(sorted(anywhere))}")  # fmt: skip
        problem = method.claim_problem(claim, params)
        if problem:
            raise UserError(f"claims[{index}].{problem}")
    ids = [claim.id for claim in entry.claims]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        raise UserError(f"claims: duplicate claim ids {duplicates}")
    conditions = {claim.id: claim.given for claim in entry.claims}
    for index, claim in enumerate(entry.claims):
        for given in claim.given:
            if given not in conditions:
                raise UserError(f"claims[{index}].given: {given!r} is no claim of this "
                                f"entry; allowed: {sorted(set(ids) - {claim.id})}")  # fmt: skip
            if conditions[given]:
                raise UserError(f"claims[{index}].given: {given!r} has conditions of "
                                "its own; a condition must be a plain claim")  # fmt: skip
    kinds = {claim.id: claim.kind for claim in entry.claims}
    for index, claim in enumerate(entry.claims):
        for condition in claim.preconditions:
            if kinds.get(condition) != "lthbench":
                checks = sorted(i for i, k in kinds.items() if k == "lthbench")
                raise UserError(f"claims[{index}].preconditions: {condition!r} is no lthbench "
                                f"check of this entry; allowed: {checks}")  # fmt: skip


def _check_budget(experiment: Experiment) -> None:
    hp, total = experiment.training, experiment.total_iterations
    if total > MAX_TOTAL_ITERATIONS:
        raise UserError(
            f"training.duration: {hp.duration} is {total} iterations; at most {MAX_TOTAL_ITERATIONS}"
        )
    if hp.batch_size > experiment.data.train_size:
        raise UserError(f"training.batch_size: {hp.batch_size} exceeds the "
                        f"{experiment.data.train_size} training examples")  # fmt: skip
    if experiment.iterations(hp.warmup) > total:
        raise UserError(
            f"training.warmup: {hp.warmup} is longer than training.duration {hp.duration}"
        )
    for index, milestone in enumerate(hp.milestones):
        if experiment.iterations(milestone) > total:
            raise UserError(
                f"training.milestones[{index}]: {milestone} is past training.duration {hp.duration}"
            )
    points = [experiment.iterations(m) for m in hp.milestones]
    if points != sorted(points):
        raise UserError("training.milestones: list them in order, earliest first")
    if experiment.eval_iterations > total:
        raise UserError(f"training.eval_interval: {hp.eval_interval} is longer than "
                        f"training.duration {hp.duration}: no evaluation would happen")  # fmt: skip


def _scaled(entry: Entry, params: BaseModel, method: Any, factor: float) -> tuple[Entry, Any]:
    """Every duration (budget, warmup, milestones, rewind points) times ``factor``, and the
    number of evaluations too (an evaluation costs a pass over validation and test data, so a
    quick run must not keep the full budget's count), but never fewer than the method needs
    (its detectors' windows)."""
    full = experiment_of(entry, params)
    per_epoch = full.iterations_per_epoch
    params = _scale(params, factor, per_epoch)
    training = _scale(entry.training, factor, per_epoch)
    total = training.duration.to_iterations(per_epoch)
    evaluations = max(method.min_evaluations(params),
                      round(full.total_iterations / full.eval_iterations * factor))  # fmt: skip
    interval = Duration(iterations=max(1, total // max(evaluations, 1)))
    return _with(entry, training=training.model_copy(update={"eval_interval": interval})), params


def _scale(value: Any, factor: float, per_epoch: int) -> Any:
    if isinstance(value, Duration):
        if value.is_zero:
            return value
        return Duration(iterations=max(1, round(value.to_iterations(per_epoch) * factor)))
    if isinstance(value, list):
        return [_scale(v, factor, per_epoch) for v in value]
    if isinstance(value, BaseModel):
        return value.model_copy(
            update={
                k: _scale(getattr(value, k), factor, per_epoch) for k in type(value).model_fields
            }
        )
    return value


def load_experiment(
    path: Path | str, overrides: Iterable[str] = (), budget: float = 1.0, fit: bool = False
) -> Experiment:
    """Read one entry file and resolve it (errors name the file and the key)."""
    return resolve_entry(load_entry(path, overrides), budget, fit, overrides)


def load_experiments(
    paths: Iterable[Path | str], overrides: Iterable[str] = (), budget: float = 1.0,
    fit: bool = False,
) -> list[Experiment]:  # fmt: skip
    """Every entry under the given files and folders, resolved; entry ids must be unique."""
    overrides = list(overrides)
    return [resolve_entry(e, budget, fit, overrides) for e in load_entries(paths, overrides)]


def resolve_sibling(
    sibling: str, registry: Path | None, overrides: Iterable[str], budget: float
) -> Experiment | None:
    """The entry a claim compares with (``entry:<id>``), at the variant of the entry that
    names it; None where it cannot take that variant (a budget too small for its method)."""
    try:
        (experiment,) = select([sibling], registry, overrides, budget)
    except UserError:
        return None
    return experiment


def select(
    names: Iterable[str], registry: Path | None = None, overrides: Iterable[str] = (),
    budget: float = 1.0, fit: bool = False, tier: str | None = None,
) -> list[Experiment]:  # fmt: skip
    """Entries by id or path, resolved (none named: the whole registry); ``tier`` keeps only
    that tier's entries, before resolution (a paper-tier budget need not fit embedded ones)."""
    names, overrides = list(names), list(overrides)
    entries = (
        load_entries(registry_folders(registry), overrides)
        if not names
        else find_entries(names, registry, overrides)
    )
    known = known_ids(registry) | {e.id for e in entries}
    for entry in entries:
        problem = unknown_siblings(entry, known)
        if problem:
            raise UserError(problem)
    return [resolve_entry(e, budget, fit, overrides) for e in entries if tier in (None, e.tier)]
