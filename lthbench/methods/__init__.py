"""Stage 3: methods, as plugins registered by name (``@register_method``).

Adding a method is one new module here and one import line below.
"""

from typing import Any

from lthbench.methods import (  # noqa: F401 - registers the methods
    dense,
    early_bird,
    gradual,
    instability,
    lottery,
    pai,
    sparse_training,
)
from lthbench.methods.base import METHODS, Method, SeedResults, register_method

__all__ = ["METHODS", "Context", "Method", "SeedResults", "register_method"]


def __getattr__(name: str) -> Any:
    if name == "Context":  # the training context imports torch: only when asked for
        from lthbench.run.context import Context

        return Context
    raise AttributeError(f"module 'lthbench.methods' has no attribute {name!r}")
