"""Named registries that refuse a clash: methods, criteria, datasets, executors and pages.

A name is registered once. A second registration under the same name, from another module,
is an error naming both sources, so a plugin cannot silently replace a built-in (or another
plugin) the way a last-writer-wins dict would. Re-importing the same module re-registers its
own names and is allowed. Every registry remembers which module registered each name, which is
how ``lthbench list --plugins`` tells what each plugin added.
"""

from __future__ import annotations

from typing import ClassVar, TypeVar

from lthbench.errors import UserError

T = TypeVar("T")


class Registry(dict[str, T]):
    """A dict of name → object, filled by :meth:`add` (reading it is plain dict reading)."""

    every: ClassVar[list[Registry]] = []

    def __init__(self, kind: str) -> None:
        super().__init__()
        self.kind = kind
        self.sources: dict[str, str] = {}
        Registry.every.append(self)

    def add(self, name: str, value: T, source: str) -> T:
        """Register ``value`` as ``name``, from module ``source``."""
        known = self.sources.get(name) if name in self else None
        if known is not None and known != source:
            raise UserError(f"{self.kind} {name!r} is registered twice: by {known} and by "
                            f"{source}; rename one of them")  # fmt: skip
        self[name] = value
        self.sources[name] = source
        return value

    def added_by(self, module: str) -> list[str]:
        """The names registered by ``module`` or one of its submodules."""
        return sorted(name for name, source in self.sources.items()
                      if source == module or source.startswith(module + "."))  # fmt: skip
