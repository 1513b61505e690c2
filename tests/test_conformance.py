"""The conformance suite: every registered method's hooks agree (lthbench.runner.conformance),
on a tiny entry of its own; a method registered without one here fails, and a method whose
``pending`` lies is caught."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from lthbench.methods import METHODS, SeedResults
from lthbench.methods.base import register_method
from lthbench.methods.records import RecordError, RunRecord, checked
from lthbench.runner.conformance import conformance_problems
from lthbench.runner.resolve import load_experiment
from tests import toy_method
from tests.test_early_bird import TINY_PARAMS, early_bird_entry
from tests.test_gradual import gradual_entry
from tests.test_instability import instability_entry
from tests.test_pai import pai_entry
from tests.test_sparse_training import sparse_entry

NO_DATA = Path("/nonexistent")

ENTRIES: dict[str, dict[str, Any]] = {
    "dense": {},
    "lottery": {"method": {"name": "lottery", "params": {
        "rounds": 2, "prune_fraction": 0.5, "reset": "40it",
        "controls": ["random_reinit", "random_prune"]}}},
    "early_bird": early_bird_entry(TINY_PARAMS),
    "pai": pai_entry(),
    "instability": instability_entry(),
    "toy_half_budget": {"method": {"name": "toy_half_budget"}},
    "gradual": gradual_entry(),
    "sparse_training": sparse_entry(),
}  # fmt: skip
"""A tiny entry per method (over the tests' tiny mnist1d LeNet): a new method adds its own."""


@pytest.mark.parametrize("method", sorted(METHODS))
def test_every_method_conforms(
    method: str, write_entry: Callable[..., Path], tmp_path: Path
) -> None:
    assert method in ENTRIES, f"method {method!r} has no conformance entry: add one to ENTRIES"
    experiment = load_experiment(write_entry({**ENTRIES[method], "claims": None}, name=method))
    assert conformance_problems(experiment, tmp_path / "store", NO_DATA) == []


def problems_of(method: type, write_entry: Callable[..., Path], tmp_path: Path) -> list[str]:
    """The conformance problems of a toy entry run by ``method``, registered for this call."""
    register_method(method)
    try:
        experiment = load_experiment(write_entry({"method": {"name": method.name}}))
        return conformance_problems(experiment, tmp_path / "store", NO_DATA)
    finally:
        METHODS.pop(method.name)


class LyingPending(toy_method.HalfBudget):
    """The toy method, but ``pending`` forgets its half-budget run."""

    name = "toy_lying_pending"

    def pending(self, results: SeedResults, params: Any) -> bool:
        return results.inspect(results.run_for())[1] is None


def test_a_method_whose_pending_lies_fails_conformance(
    write_entry: Callable[..., Path], tmp_path: Path
) -> None:
    problems = problems_of(LyingPending, write_entry, tmp_path)
    assert len(problems) == 1 and problems[0].startswith("pending is False with planned run ")


class MispricedRecords(toy_method.HalfBudget):
    """The toy method, but ``training_flops`` prices one record too few and one at zero."""

    name = "toy_mispriced"

    def training_flops(self, experiment: Any, records: list[dict[str, Any]],
                       forward: Any) -> list[float | None]:  # fmt: skip
        return [0.0] * (len(records) - 1) if len(records) > 1 else [0.0]


def test_a_method_whose_prices_do_not_fit_its_records_fails_conformance(
    write_entry: Callable[..., Path], tmp_path: Path
) -> None:
    problems = problems_of(MispricedRecords, write_entry, tmp_path)
    assert len(problems) == 1
    assert problems[0].startswith("training_flops priced ")


def test_a_record_with_a_misspelt_key_is_refused_when_emitted() -> None:
    record = {"entry_id": "e", "seed": 0, "method": "lottery", "final_test_acuracy": 0.9}
    with pytest.raises(RecordError, match="final_test_acuracy: Extra inputs are not permitted"):
        checked("lottery", METHODS["lottery"].Record, record)
    with pytest.raises(RecordError, match="density: Input should be a valid number"):
        checked("lottery", METHODS["lottery"].Record, {**record | {"final_test_accuracy": 0.9},
                                                         "round": 1, "density": "dense"})  # fmt: skip


def test_a_metric_that_is_no_numeric_field_of_the_record_is_refused_at_registration() -> None:
    class Loose(toy_method.HalfBudget):
        name = "toy_loose_metrics"
        Record = RunRecord  # declares neither budget_fraction nor test_error

    with pytest.raises(TypeError, match=r"metrics \['budget_fraction', 'test_error'\]"):
        register_method(Loose)
    assert "toy_loose_metrics" not in METHODS
