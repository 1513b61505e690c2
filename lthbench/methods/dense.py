"""``dense``: train the unpruned network. The baseline every claim is measured against."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from lthbench.methods.base import Experiment, Method, NoParams, SeedResults, register_method
from lthbench.methods.training_cost import run_flops
from lthbench.store import Run

if TYPE_CHECKING:
    from lthbench.run.context import Context


@register_method
class Dense(Method):
    name = "dense"
    Params = NoParams

    def plan(self, results: SeedResults, params: Any) -> list[Run]:
        return [results.run_for()]

    def run(self, context: Context, params: Any) -> None:
        context.train_run()

    def records(self, results: SeedResults, params: Any) -> list[dict[str, Any]]:
        result = results.result()
        return [result] if result is not None else []

    def training_flops(self, experiment: Experiment, records: list[dict[str, Any]],
                       forward: Mapping[str, int]) -> list[float | None]:  # fmt: skip
        batch = experiment.training.batch_size
        return [run_flops(forward, None, r["iterations"], batch) for r in records]
