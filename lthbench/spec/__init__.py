"""Stage 1 of the pipeline: the typed registry entry, durations, and loading YAML files."""

from lthbench.spec.duration import Duration
from lthbench.spec.entry import Claim, Entry, TrainingHparams

__all__ = ["Claim", "Duration", "Entry", "TrainingHparams"]
