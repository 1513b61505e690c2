"""The record contract: what a method's result records hold, typed.

Every record a method emits (``Method.records``) is validated against the method's ``Record``
model as it is emitted: a key the model does not declare, or a value of the wrong type, is an
error in the method, raised at once instead of surfacing later as a claim that reads "missing".
A method's ``Record`` extends :class:`RunRecord` (what every trained run reports, and where it
was computed) with its own fields; its ``metrics`` (what claims may compare) must be numeric
fields of that model, and a claim's ``where`` keys must be fields of it too (checked when the
entry is validated).

The selectors claims and pages select results by are fields here: ``round`` and ``control``
for every method; ``density`` and ``ratio`` where a method has them.
"""

from __future__ import annotations

import types
from typing import Any, Union, get_args, get_origin

from pydantic import BaseModel, ConfigDict, ValidationError

SELECTION_KEYWORDS = frozenset({"min_density", "max_density", "for_all"})
"""``where`` keys that are not fields: the range of densities a claim is about, and whether
it is about every round inside it."""


class RunRecord(BaseModel):
    """One result: a trained run's figures (:func:`lthbench.train.loop.summarise`; accuracies
    are fractions, losses per example, iterations steps), its identity and provenance. Figures
    are None where a record has no trained run behind it (an Early-Bird ticket never drawn)."""

    model_config = ConfigDict(extra="forbid", strict=False)

    entry_id: str
    seed: int
    method: str
    run_id: str | None = None
    round: int | None = None
    """The record's place in its method's sequence (a lottery round, a PaI density's index, a
    rewind point's index); None where a method has no sequence (Early-Bird's slim runs)."""
    control: str | None = None
    """None for the method's own result (a ticket); else the control or baseline's name."""
    final_test_accuracy: float | None = None
    test_accuracy_at_early_stop: float | None = None
    early_stop_iteration: int | None = None
    min_val_loss: float | None = None
    final_val_loss: float | None = None
    final_val_accuracy: float | None = None
    val_accuracy_at_early_stop: float | None = None
    final_train_accuracy: float | None = None
    final_train_loss: float | None = None
    final_test_loss: float | None = None
    test_loss_at_early_stop: float | None = None
    iterations: int | None = None
    wall_time_s: float | None = None
    device: str | None = None
    device_model: str | None = None
    torch_threads: int | None = None
    torch_version: str | None = None
    lthbench_version: str | None = None
    lthbench_commit: str | None = None
    finished_at: str | None = None
    source: str | None = None
    """Where an imported result was computed (the bundle and its machine)."""
    vectorised_runs: int | None = None
    """How many runs were trained together as one batched model (``vectorise``)."""


class RecordError(TypeError):
    """A method emitted a record its ``Record`` model does not allow (a bug in the method)."""


def checked(method: str, model: type[RunRecord], record: dict[str, Any]) -> dict[str, Any]:
    """``record`` unchanged when it conforms to ``model``; else RecordError naming the key."""
    try:
        model.model_validate(record)
    except ValidationError as error:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in error.errors())
        raise RecordError(
            f"method {method!r} emitted a record that breaks its contract "
            f"({model.__name__}): {problems}"
        ) from None
    return record


def _of(annotation: Any, kinds: tuple[type, ...]) -> bool:
    """Whether ``annotation`` is one of ``kinds`` (optionally None)."""
    if get_origin(annotation) in (Union, types.UnionType):
        args = [a for a in get_args(annotation) if a is not type(None)]
        return bool(args) and all(_of(a, kinds) for a in args)
    return annotation in kinds


def numeric_fields(model: type[RunRecord]) -> frozenset[str]:
    """The fields a claim could compare (int or float, optionally None)."""
    return frozenset(name for name, field in model.model_fields.items()
                     if _of(field.annotation, (int, float)))  # fmt: skip


def where_keys(model: type[RunRecord]) -> frozenset[str]:
    """The keys a claim's ``where`` may use with records of ``model``: the selectors every
    record has (``round``, ``control``) and the fields the method adds, not a run's figures,
    identity or provenance (a claim is about every seed, wherever it ran)."""
    own = {name for name, field in model.model_fields.items()
           if name not in RunRecord.model_fields and _of(field.annotation, (int, float, str, bool))}  # fmt: skip
    return frozenset(own | {"round", "control"}) | SELECTION_KEYWORDS
