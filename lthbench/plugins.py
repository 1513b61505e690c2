"""Plugins: methods, criteria, datasets, models, executors, pages and entries from outside
lthbench, without forking it.

A plugin is a module that registers things on import (``@register_method``,
``@register_criterion``, ``@register_dataset``, timm's ``@register_model``,
``@register_executor``, ``@register_page``) and may add a folder of entries
(:func:`lthbench.spec.load.register_entries`). lthbench loads, in this order:

1. every installed distribution's entry point in the ``lthbench.plugins`` group (as pytest loads
   ``pytest11``): ``[project.entry-points."lthbench.plugins"] name = "package.module"``;
2. the modules or paths in ``$LTHBENCH_PLUGINS`` (separated by ``:``);
3. each ``--plugin MODULE_OR_PATH`` of the command.

A path is a ``.py`` file or a package folder: its parent folder goes on ``sys.path`` and it is
imported by name, so worker processes and Ray tasks import it the same way. The CLI loads
plugins before it parses its arguments; every executor's workers load the same list before
they read a job. A name a plugin registers that is already taken is an error naming both
modules (:mod:`lthbench.registry`).
"""

from __future__ import annotations

import importlib
import os
import sys
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from lthbench.errors import UserError
from lthbench.registry import Registry

GROUP = "lthbench.plugins"
PLUGINS_ENV = "LTHBENCH_PLUGINS"


@dataclass(frozen=True)
class Plugin:
    spec: str
    """As given: an entry point's value, a module name or a path."""
    module: str
    origin: str
    """'entry point <dist>', '$LTHBENCH_PLUGINS' or '--plugin'."""


LOADED: dict[str, Plugin] = {}
"""Loaded plugins by module name (loading twice is a no-op)."""


def requested(flags: list[str] | tuple[str, ...] = ()) -> list[tuple[str, str]]:
    """(spec, origin) of the plugins named outside entry points: the environment, then flags."""
    from_env = [s for s in os.environ.get(PLUGINS_ENV, "").split(os.pathsep) if s.strip()]
    return [(s.strip(), f"${PLUGINS_ENV}") for s in from_env] + [(s, "--plugin") for s in flags]


def load_plugins(flags: list[str] | tuple[str, ...] = ()) -> list[Plugin]:
    """Load the entry points, then ``$LTHBENCH_PLUGINS``, then ``flags``; return all loaded."""
    for point in metadata.entry_points(group=GROUP):
        dist = point.dist.name if point.dist is not None else "?"
        _load(point.value, f"entry point of {dist}", entry_point=point)
    for spec, origin in requested(flags):
        _load(spec, origin)
    return list(LOADED.values())


def _load(spec: str, origin: str, entry_point: metadata.EntryPoint | None = None) -> None:
    module_name, _, function = spec.partition(":")
    path = Path(module_name)
    if entry_point is None and (module_name.endswith(".py") or path.is_dir()):
        if not path.exists():
            raise UserError(f"{origin}: plugin {spec!r}: no such file or folder")
        path = path.resolve()
        folder = str(path.parent)
        if folder not in sys.path:
            sys.path.insert(0, folder)
        module_name = path.stem if path.suffix == ".py" else path.name
    if module_name in LOADED:
        return
    try:
        module = importlib.import_module(module_name)
        if function:
            getattr(module, function)()
    except UserError as error:  # a clash: say which plugin brought it
        raise UserError(f"{origin}: plugin {spec!r}: {error}") from None
    except Exception as error:  # any failure of someone else's code: one line, exit 2
        raise UserError(f"{origin}: plugin {spec!r} cannot be loaded: "
                        f"{type(error).__name__}: {error}") from None  # fmt: skip
    LOADED[module_name] = Plugin(spec, module_name, origin)


def added_by(plugin: Plugin) -> dict[str, list[str]]:
    """What the plugin registered, by kind (timm models too, when timm is loaded)."""
    added = {r.kind: r.added_by(plugin.module) for r in Registry.every}
    timm_registry = sys.modules.get("timm.models._registry")
    if timm_registry is not None:
        builders = getattr(timm_registry, "_model_entrypoints", {})
        added["model"] = sorted(name for name, build in builders.items()
                                if build.__module__ == plugin.module
                                or build.__module__.startswith(plugin.module + "."))  # fmt: skip
    return {kind: names for kind, names in added.items() if names}
