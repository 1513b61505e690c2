"""Stage 7: claims are checked against stored results, with statistics over seeds."""

from lthbench.claims.check import check_entries, required_failures
from lthbench.claims.verdict import Verdict

__all__ = ["Verdict", "check_entries", "required_failures"]
