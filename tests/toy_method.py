"""A method that lives outside lthbench: the dense run plus the same network trained for half
the budget. Registering it is all it takes to run, check and render it (tests/test_pages.py)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict

from lthbench.methods import Context, Method, SeedResults, register_method
from lthbench.methods.base import RUN_METRICS
from lthbench.methods.records import RunRecord
from lthbench.methods.units import points
from lthbench.spec.duration import Duration
from lthbench.store import Run


class HalfRecord(RunRecord):
    budget_fraction: float
    test_error: float


class HalfParams(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    fraction: float = 0.5


@register_method
class HalfBudget(Method):
    name = "toy_half_budget"
    Params = HalfParams
    Record = HalfRecord
    metrics = RUN_METRICS | {"budget_fraction", "test_error"}
    units = {
        "test_error": points("test")
    }  # not an "accuracy" by name, on the test grid all the same

    def _extra(self, params: HalfParams) -> dict[str, Any]:
        return {"toy_half_budget": params.fraction}

    def plan(self, results: SeedResults, params: Any) -> list[Run]:
        return [results.run_for(), results.run_for(self._extra(params))]

    def run(self, context: Context, params: HalfParams) -> None:
        total = context.experiment.total_iterations
        short = context.training.model_copy(
            update={"duration": Duration(iterations=max(1, round(total * params.fraction)))}
        )
        context.train_run(label="budget 1")
        context.train_run(self._extra(params), label=f"budget {params.fraction:g}", training=short)

    def records(self, results: SeedResults, params: HalfParams) -> list[dict[str, Any]]:
        """The full-budget run is the entry's result; the shorter one a control."""
        records = []
        for fraction, extra, control in (
            (1.0, None, None),
            (params.fraction, self._extra(params), "half_budget"),
        ):
            result = results.result(extra)
            if result is not None:
                records.append({**result, "budget_fraction": fraction, "control": control,
                                "test_error": 1 - result["final_test_accuracy"]})  # fmt: skip
        return records
