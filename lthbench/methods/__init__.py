"""Stage 3: methods, as plugins registered by name (``@register_method``).

Adding a method is one new module here and one import line below.
"""

from lthbench.methods import dense, early_bird, lottery  # noqa: F401 - registers the methods
from lthbench.methods.base import METHODS, Context, Method, SeedResults, register_method

__all__ = ["METHODS", "Context", "Method", "SeedResults", "register_method"]
