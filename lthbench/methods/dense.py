"""``dense``: train the unpruned network. The baseline every claim is measured against."""

from __future__ import annotations

from typing import Any

from lthbench.methods.base import Context, Method, NoParams, SeedResults, register_method
from lthbench.store import Run


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
