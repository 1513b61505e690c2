"""timm's model names, cached on disk, so that validating an entry imports neither timm nor
torch (together about 2 s, against a read command's whole budget of 1 s).

The cache is keyed by timm's version and the source of lthbench's own registered nets, so a
timm upgrade or a new paper net refreshes it. It only ever answers "yes": a name it does not
hold is asked of timm itself, so an unusual but valid name (a pretrained tag, a hub prefix)
is never refused by a stale list.
"""

from __future__ import annotations

import difflib
import functools
import hashlib
import json
import os
import tempfile
from collections.abc import Iterable
from importlib import metadata
from pathlib import Path

import platformdirs

CACHE_ENV = "LTHBENCH_CACHE"


def _cache_file() -> Path:
    sources = sorted(Path(__file__).parent.glob("*.py"))
    digest = hashlib.sha256(b"".join(p.read_bytes() for p in sources)).hexdigest()[:16]
    root = Path(os.environ.get(CACHE_ENV) or platformdirs.user_cache_dir("lthbench"))
    return root / "timm-models" / f"timm-{metadata.version('timm')}-{digest}.json"


@functools.cache
def known_names() -> frozenset[str]:
    """Every architecture name timm knows, lthbench's nets included."""
    file = _cache_file()
    try:
        return frozenset(json.loads(file.read_text()))
    except (OSError, ValueError):
        pass
    import timm

    from lthbench.models import mnist1d_nets, paper_nets  # noqa: F401 - register into timm

    names = sorted(timm.list_models())
    try:
        file.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=file.parent, suffix=".tmp")
        with os.fdopen(handle, "w") as stream:
            json.dump(names, stream)
        os.replace(temporary, file)
    except OSError:
        pass  # a read-only cache only costs the next command the same lookup
    return frozenset(names)


def check_model_name(name: str) -> str | None:
    """None when timm knows the name, else what is wrong."""
    if name in known_names():
        return None
    import timm

    from lthbench.models import mnist1d_nets, paper_nets  # noqa: F401 - register into timm

    if timm.is_model(name):
        return None
    close = similar_names(name, known_names() | set(timm.list_models()))
    hint = f"; did you mean: {', '.join(close)}" if close else ""
    return f"unknown timm model {name!r} (see timm.list_models()){hint}"


def similar_names(name: str, names: Iterable[str], count: int = 5) -> list[str]:
    """The closest spellings first (``resnet10`` → ``resnet10t``): names that extend it
    without changing its number, then names that contain it, then by difflib's similarity."""
    lowered = name.lower()
    scored = []
    for candidate in names:
        other = candidate.lower()
        ratio = difflib.SequenceMatcher(None, lowered, other).ratio()
        extends = other.startswith(lowered) and len(other) > len(lowered)
        renumbers = extends and lowered[-1:].isdigit() and other[len(lowered)].isdigit()
        contains = 2 if extends and not renumbers else 1 if lowered in other else 0
        scored.append((contains, ratio, candidate))
    scored.sort(key=lambda item: (-item[0], -item[1], len(item[2]), item[2]))
    return [candidate for contains, ratio, candidate in scored[:count] if contains or ratio > 0.6]
