"""``dense``: train the unpruned network. The baseline every claim is measured against."""

from __future__ import annotations

from typing import Any

from lthbench.methods.base import Context, Method, NoParams, register_method
from lthbench.store import Run


@register_method
class Dense(Method):
    name = "dense"
    Params = NoParams

    def plan(self, context: Context, params: Any) -> list[Run]:
        return [context.run_for()]

    def run(self, context: Context, params: Any) -> list[dict[str, Any]]:
        result = context.train_run()
        return [result] if result is not None else []
