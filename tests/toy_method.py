"""A method that lives outside lthbench: the dense run plus the same network trained for half
the budget. Registering it is all it takes to run, check and render it (tests/test_pages.py)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict

from lthbench.methods import Context, Method, register_method
from lthbench.methods.base import RUN_METRICS
from lthbench.spec.duration import Duration
from lthbench.store import Run


class HalfParams(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    fraction: float = 0.5


@register_method
class HalfBudget(Method):
    name = "toy_half_budget"
    Params = HalfParams
    metrics = RUN_METRICS | {"budget_fraction"}

    def _extra(self, params: HalfParams) -> dict[str, Any]:
        return {"toy_half_budget": params.fraction}

    def plan(self, context: Context, params: Any) -> list[Run]:
        return [context.run_for(), context.run_for(self._extra(params))]

    def run(self, context: Context, params: Any) -> list[dict[str, Any]]:
        total = context.entry.training.duration.to_iterations(context.iterations_per_epoch)
        short = context.entry.training.model_copy(
            update={"duration": Duration(iterations=max(1, round(total * params.fraction)))}
        )
        records = []
        runs = (
            (1.0, None, None, None),
            (params.fraction, self._extra(params), short, "half_budget"),
        )
        for fraction, extra, training, control in runs:
            result = context.train_run(extra, label=f"budget {fraction:g}", training=training)
            if result is not None:  # the full-budget run is the entry's result; the other a control
                records.append({**result, "budget_fraction": fraction, "control": control})
        return records
