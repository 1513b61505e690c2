"""Stage 8: markdown leaderboards and plots rendered from stored results.

Method pages register by method name (``@register_page``); importing them here registers them.
"""

from lthbench.report import (  # noqa: F401 - registers the pages
    dense,
    early_bird,
    instability,
    lottery,
    pai,
    sparse,
)
