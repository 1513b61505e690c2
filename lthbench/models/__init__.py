"""Stage 2a: models. Every model is built by ``timm.create_model``; the papers' nets are
registered into timm's registry on import (see :mod:`lthbench.models.paper_nets`).

Checking a model's name needs neither timm nor torch (:mod:`lthbench.models.names`); building
one imports them, on first use of ``create_model`` or ``check_model``."""

from typing import Any

from lthbench.models.names import check_model_name

__all__ = ["check_model", "check_model_name", "create_model"]


def __getattr__(name: str) -> Any:
    if name in ("check_model", "create_model"):
        from lthbench.models import factory

        return getattr(factory, name)
    raise AttributeError(f"module 'lthbench.models' has no attribute {name!r}")
