"""Shared fixtures: tiny real entries (mnist1d, a small LeNet, a few hundred iterations)."""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

TINY_ENTRY: dict[str, Any] = {
    "id": "tiny",
    "description": "a tiny mnist1d LeNet for tests",
    "tier": "embedded",
    "model": {"name": "lenet", "kwargs": {"hidden": [32, 16]}},
    "dataset": {"name": "mnist1d", "validation_size": 200},
    "method": {"name": "dense"},
    "seeds": [0, 1],
    "training": {
        "optimizer": "adam",
        "lr": 1.0e-3,
        "batch_size": 100,
        "duration": "120it",
        "eval_interval": "40it",
    },
    "source": {"paper": "tests"},
}


def merge(base: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    """Deep-merge; a value of None deletes the key."""
    out = copy.deepcopy(base)
    for key, value in overrides.items():
        if value is None:
            out.pop(key, None)
        elif isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        else:
            out[key] = value
    return out


@pytest.fixture
def write_entry(tmp_path: Path) -> Callable[..., Path]:
    """Write an entry file (the tiny entry with overrides) and return its path."""

    def write(overrides: dict[str, Any] | None = None, name: str | None = None) -> Path:
        data = merge(TINY_ENTRY, overrides or {})
        if name is not None and "id" not in (overrides or {}):
            data["id"] = name
        folder = tmp_path / "registry"
        folder.mkdir(exist_ok=True)
        path = folder / f"{name or data.get('id', 'tiny')}.yaml"
        path.write_text(yaml.safe_dump(data, sort_keys=False))
        return path

    return write


@pytest.fixture(autouse=True)
def _plugin_entries_kept_apart() -> Iterator[None]:
    """A plugin imported by one test (the example's LAMP package registers its entry folder)
    must not add entries to later tests' registries: the folders are restored after each."""
    from lthbench.spec.load import PLUGIN_ENTRIES

    saved = list(PLUGIN_ENTRIES)
    yield
    PLUGIN_ENTRIES[:] = saved


@pytest.fixture(autouse=True)
def _in_process(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests run their suites in this process (they monkeypatch it) unless they ask for an
    executor; the default `auto` has its own tests."""
    monkeypatch.setenv("LTHBENCH_EXECUTOR", "local")


@pytest.fixture
def store(tmp_path: Path) -> Path:
    return tmp_path / "store"


def tree(path: Path) -> dict[str, bytes]:
    """Every file under ``path`` with its bytes (to prove a store unchanged)."""
    if not path.exists():
        return {}
    return {
        str(p.relative_to(path)): p.read_bytes() for p in sorted(path.rglob("*")) if p.is_file()
    }
