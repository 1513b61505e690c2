"""Stage 7: claims are checked against stored results, with statistics over seeds."""

from lthbench.claims.check import Verdict, check_entries, required_failures

__all__ = ["Verdict", "check_entries", "required_failures"]
