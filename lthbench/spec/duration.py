"""One duration type for every length of training: budgets, warmup, milestones, rewind points.

Written like open_lth's steps: ``160ep``, ``500it`` or ``2ep100it``. A duration stays in the
units it was written in (so a config's hash is what the author wrote) and becomes a count of
iterations only once the number of iterations per epoch is known.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import BeforeValidator, PlainSerializer, WithJsonSchema

_PATTERN = re.compile(r"^(?:(?P<ep>\d+)ep)?(?:(?P<it>\d+)it)?$")

# Far beyond any real training run (ImageNet ResNet-50 is ~450K iterations); rejects typos.
MAX_ITERATIONS = 10**9


@dataclass(frozen=True, order=True)
class Duration:
    """A length of training in whole epochs plus iterations."""

    epochs: int = 0
    iterations: int = 0

    def __post_init__(self) -> None:
        if self.epochs < 0 or self.iterations < 0:
            raise ValueError("a duration cannot be negative")

    @classmethod
    def parse(cls, text: str) -> Duration:
        match = _PATTERN.match(text.strip()) if isinstance(text, str) else None
        if not match or not text.strip():
            raise ValueError(
                f"{text!r} is not a duration; write it like '160ep', '500it' or '2ep100it'"
            )
        return cls(epochs=int(match["ep"] or 0), iterations=int(match["it"] or 0))

    def to_iterations(self, iterations_per_epoch: int) -> int:
        if iterations_per_epoch <= 0:
            raise ValueError("iterations_per_epoch must be positive")
        return self.epochs * iterations_per_epoch + self.iterations

    @property
    def is_zero(self) -> bool:
        return self.epochs == 0 and self.iterations == 0

    def __str__(self) -> str:
        if self.is_zero:
            return "0it"
        return (f"{self.epochs}ep" if self.epochs else "") + (
            f"{self.iterations}it" if self.iterations else ""
        )


def _coerce(value: Any) -> Duration:
    if isinstance(value, Duration):
        return value
    if isinstance(value, bool) or not isinstance(value, str):
        raise ValueError(
            f"{value!r} is not a duration; write it as a string like '160ep', '500it' or '2ep100it'"
        )
    duration = Duration.parse(value)
    if duration.epochs > MAX_ITERATIONS or duration.iterations > MAX_ITERATIONS:
        raise ValueError(f"{value!r} is absurdly long (more than {MAX_ITERATIONS:.0e} steps)")
    return duration


DurationField = Annotated[
    Duration,
    BeforeValidator(_coerce),
    PlainSerializer(str, return_type=str),
    WithJsonSchema({"type": "string", "pattern": _PATTERN.pattern}),
]
"""A :class:`Duration` inside a pydantic model: parsed from and written back as a string."""
