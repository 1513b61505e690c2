"""Content-addressed run directories: a run's identity is the hash of what determines it.

``<store>/runs/<run_id>/`` holds ``config.json`` (the fully resolved configuration),
``init.pt`` (θ0), ``checkpoint.pt`` while running, ``final.pt``, ``log.json`` (the evaluation
log) and ``result.json``, written last: a run is complete exactly when its result exists.
Methods keep more (rewind weights, masks, cached figures) through :class:`Run`'s typed
artifact API; only this module knows how an artifact is named on disk.
Every file is written to a temporary name and renamed, so a kill never leaves half a file;
a lock per run keeps two processes from training the same run at once.

The id hashes the store format version and the *non-default* settings only, so adding a field
whose default changes nothing keeps every existing id (pinned in the tests).
"""

from __future__ import annotations

import copy
import functools
import hashlib
import json
import math
import os
import pickle
import re
import sys
import tempfile
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import platformdirs
from filelock import FileLock

from lthbench.store.index import index_of, stamp, stamp_text

if TYPE_CHECKING:
    import torch


STORE_FORMAT_VERSION = 1
STORE_ENV = "LTHBENCH_STORE"
RESULT = "result.json"

StateKind = Literal["init", "final", "rewind", "prune_from", "ticket"]
"""Weights a run keeps: θ0 (the weights it starts from), its final weights, a rewind point
θ_k, the weights the next pruning reads, a drawn ticket (tagged by its pruning ratio)."""
MaskKind = Literal["weights", "channels", "ticket_channels"]
"""A run's unstructured weight mask, the channels a slimmed run kept, a drawn ticket's
channel mask (tagged by its pruning ratio)."""
_MASK_FILES = {"weights": "mask", "channels": "channel_mask", "ticket_channels": "ticket_mask"}
_RESERVED = {"checkpoint", "config", "result", "log", "timing", "detector", "released", "imported"}
_TAG = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,80}$")


FRACTIONS = ("final_test_accuracy", "test_accuracy_at_early_stop", "final_val_accuracy",
             "val_accuracy_at_early_stop", "final_train_accuracy")  # fmt: skip
LOSSES = ("min_val_loss", "final_val_loss", "final_train_loss", "final_test_loss",
          "test_loss_at_early_stop")  # fmt: skip
COUNTS = ("iterations", "early_stop_iteration")


def result_problem(result: dict[str, Any]) -> str | None:
    """What makes a result's figures impossible (None: each is a finite number in its range):
    accuracies are fractions in [0, 1], losses and times finite and ≥ 0, counts whole numbers
    ≥ 0. A string, NaN or 5.0 where an accuracy belongs is a damaged (or forged) result."""

    def number(value: Any) -> bool:
        return (
            isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
        )

    for key in (*FRACTIONS, *LOSSES, *COUNTS, "wall_time_s"):
        value = result.get(key)
        if value is None:
            continue
        if not number(value):
            return f"{key} is {value!r}, not a finite number"
        if key in FRACTIONS and not 0.0 <= value <= 1.0:
            return f"{key} is {value!r}, not a fraction in [0, 1]"
        if key in COUNTS and (value < 0 or value != int(value)):
            return f"{key} is {value!r}, not a count"
        if value < 0:
            return f"{key} is {value!r}, below 0"
    return None


def default_store() -> Path:
    """``$LTHBENCH_STORE`` is the store itself, exactly as ``--store`` is; else the user
    cache's ``store`` folder."""
    named = os.environ.get(STORE_ENV)
    if not named:
        return Path(platformdirs.user_cache_dir("lthbench")) / "store"
    root = Path(named)
    legacy = root / "store"
    if (root / "runs").exists() or not (legacy / "runs").is_dir():
        return root
    # before 2026-12 the variable named the folder above the store: still found, said once
    _notice(f"note: ${STORE_ENV}={root} holds the old layout; using {legacy} (move its "
            f"contents up into {root} to silence this)")  # fmt: skip
    return legacy


@functools.cache
def _notice(message: str) -> None:
    print(message, file=sys.stderr)


def run_id(identity: dict[str, Any]) -> str:
    """Hash of the store format version and a run's identifying (non-default) settings."""
    canonical = json.dumps(
        {"store_format": STORE_FORMAT_VERSION, **identity}, sort_keys=True, separators=(",", ":")
    )
    return hashlib.sha256(canonical.encode()).hexdigest()[:20]


def atomic_write(path: Path, write: Any) -> None:
    """Write through ``write(stream)`` to a temporary file beside ``path``, then rename it:
    a kill leaves the old file or the new one, never half of one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as stream:
            write(stream)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


class Run:
    """One run directory. Nothing is created on disk until something is written."""

    def __init__(self, root: Path, identity: dict[str, Any]) -> None:
        self.identity = identity
        self.id = run_id(identity)
        self.path = root / "runs" / self.id
        self._index = index_of(root)

    # -- files (private: everything outside names artifacts, not files) ------------------
    def _write_json(self, name: str, value: Any) -> None:
        text = json.dumps(value, indent=1, sort_keys=True, allow_nan=True).encode()
        atomic_write(self.path / name, lambda stream: stream.write(text))

    def _read_json(self, name: str) -> Any | None:
        """The parsed file, or None when it is absent or unreadable (never half-trusted)."""
        try:
            return json.loads((self.path / name).read_text())
        except (OSError, ValueError):
            return None

    def _save_tensors(self, name: str, value: Any) -> None:
        import torch

        atomic_write(self.path / name, lambda stream: torch.save(value, stream))

    def _load_tensors(self, name: str) -> Any | None:
        import torch

        file = self.path / name
        if not file.exists():
            return None
        return torch.load(file, map_location="cpu", weights_only=True)

    # -- the typed artifacts ------------------------------------------------------------
    def state(self, kind: StateKind, tag: str = "") -> dict[str, torch.Tensor] | None:
        """Weights the run kept (None: never saved)."""
        return self._load_tensors(_tagged(kind, tag) + ".pt")

    def save_state(self, kind: StateKind, state: dict[str, Any], tag: str = "") -> None:
        self._save_tensors(_tagged(kind, tag) + ".pt", state)

    def has_state(self, kind: StateKind, tag: str = "") -> bool:
        return (self.path / (_tagged(kind, tag) + ".pt")).exists()

    def release_state(self, kind: StateKind, tag: str = "") -> int:
        """Delete kept weights nothing will read again (``lthbench gc``, ``keep_weights:
        false``) and note it, so the run stays sound without them; returns the bytes freed."""
        name = _tagged(kind, tag)
        file = self.path / f"{name}.pt"
        if not file.exists():
            return 0
        size = file.stat().st_size
        self._write_json("released.json", sorted({*self.released(), name}))
        file.unlink()
        return size

    def released(self) -> list[str]:
        """The weights released so far (by name: 'final', 'init', ...)."""
        snapshot = self._snapshot()
        names = self._read_json("released.json") if snapshot is None else snapshot["released"]
        return names if isinstance(names, list) else []

    def mask(self, kind: MaskKind = "weights", tag: str = "") -> dict[str, torch.Tensor] | None:
        """A stored mask by parameter or BatchNorm name (None: never saved)."""
        return self._load_tensors(_tagged(_MASK_FILES[kind], tag) + ".pt")

    def has_mask(self, kind: MaskKind = "weights", tag: str = "") -> bool:
        return (self.path / (_tagged(_MASK_FILES[kind], tag) + ".pt")).exists()

    def save_mask(self, mask: dict[str, torch.Tensor], kind: MaskKind = "weights",
                  tag: str = "") -> None:  # fmt: skip
        self._save_tensors(_tagged(_MASK_FILES[kind], tag) + ".pt", mask)

    def detector(self) -> dict[str, Any] | None:
        """A mask-stability detector's FIFO (iterations and masks), to resume it exactly."""
        return self._load_tensors("detector.pt")

    def save_detector(self, value: dict[str, Any]) -> None:
        self._save_tensors("detector.pt", value)

    def log(self) -> list[dict[str, Any]]:
        """The evaluation log (empty until the run is complete)."""
        log = self._read_json("log.json")
        return log if isinstance(log, list) else []

    def elapsed_at_eval(self) -> list[float]:
        """Seconds of training at each evaluation of the log."""
        timing = self._read_json("timing.json") or {}
        return list(timing.get("elapsed_at_eval_s", []))

    def save_elapsed_at_eval(self, elapsed: list[float]) -> None:
        self._write_json("timing.json", {"elapsed_at_eval_s": elapsed})

    def config(self) -> dict[str, Any] | None:
        return self._read_json("config.json")

    def save_config(self, config: dict[str, Any]) -> None:
        self._write_json("config.json", config)

    def figures(self, name: str) -> dict[str, Any] | None:
        """Figures computed from the run's files once (so reading results builds no model)."""
        file = _figures_file(name)
        snapshot = self._snapshot()
        return self._read_json(file) if snapshot is None else snapshot["figures"].get(name)

    def save_figures(self, name: str, figures: dict[str, Any]) -> None:
        self._write_json(_figures_file(name), figures)

    @property
    def resumable(self) -> bool:
        """A checkpoint of an unfinished run is there to resume from."""
        return (self.path / "checkpoint.pt").exists()

    @property
    def imported(self) -> dict[str, Any] | None:
        """Where an imported run came from (its bundle and the bundle's provenance)."""
        snapshot = self._snapshot()
        return self._read_json("imported.json") if snapshot is None else snapshot["imported"]

    def result(self) -> dict[str, Any] | None:
        snapshot = self._snapshot()
        return None if snapshot is None else snapshot["result"]

    @property
    def complete(self) -> bool:
        return self.result() is not None

    def problem(self) -> str | None:
        """What makes this directory untrustworthy (None: absent, in progress, or sound).

        Atomic writes mean a kill cannot cause these; a full disk, a copy cut short or a hand
        edit can. Tensor files must be whole zip archives (torch.save's format)."""
        snapshot = self._snapshot()
        if snapshot is not None:
            return snapshot["problem"]
        return self._checkpoint_problem()

    # -- reading a complete folder once (kept in the store's index under its stamp) ------
    def _snapshot(self) -> dict[str, Any] | None:
        """What reading needs from a folder with a result file (None: absent, in progress)."""
        current = stamp(self.path)
        if current is None:
            return None
        known = self._index.get(self.id, current)
        if known is not None:
            return known
        snapshot = self._observe()
        self._index.put(self.id, current, self.config(), snapshot)
        return snapshot

    def _observe(self) -> dict[str, Any]:
        record = self._read_json(RESULT)
        result = record if isinstance(record, dict) and record.get("run_id") == self.id else None
        released = self._read_json("released.json")
        released = released if isinstance(released, list) else []
        imported = self._read_json("imported.json")
        figures = {}
        for name in os.listdir(self.path):
            stem = name.removesuffix(".json")
            if name.endswith(".json") and _TAG.match(stem) and stem not in _RESERVED:
                value = self._read_json(name)
                if value is not None:
                    figures[stem] = value
        return {"result": result, "released": released, "imported": imported,
                "figures": figures, "problem": self._examine(result, released, imported)}  # fmt: skip

    def _checkpoint_problem(self) -> str | None:
        checkpoint = self.path / "checkpoint.pt"
        if checkpoint.exists() and not zipfile.is_zipfile(checkpoint):
            return "checkpoint.pt is not a readable checkpoint"
        return None

    def _examine(self, result: dict[str, Any] | None, released: list[str],
                 imported: Any) -> str | None:  # fmt: skip
        problem = self._checkpoint_problem()
        if problem is not None:
            return problem
        if result is None:
            return f"{RESULT} is unreadable or belongs to another run"
        figures = result_problem(result)
        if figures is not None:
            return f"{RESULT}: {figures}"
        if not isinstance(self._read_json("log.json"), list):
            return "log.json is missing or unreadable"
        final = self.path / "final.pt"
        if not final.exists() and ("final" in released or imported):
            return None  # released by gc, or imported without weights: the result stands
        if not final.exists() or not zipfile.is_zipfile(final):
            return "final.pt is missing or truncated"
        return None

    def quarantine(self) -> Path:
        """Move the directory aside (kept for inspection, never counted) and return where."""
        for number in range(1, 1000):
            target = self.path.with_name(f"{self.id}.corrupt-{number}")
            if not target.exists():
                os.replace(self.path, target)
                return target
        raise RuntimeError(f"too many quarantined copies of run {self.id}")

    def lock(self) -> FileLock:
        """One lock file per run, kept beside the run directories so a directory moved aside
        (quarantined) never takes its lock with it."""
        locks = self.path.parent.parent / "locks"
        locks.mkdir(parents=True, exist_ok=True)
        return FileLock(str(locks / f"{self.id}.lock"))

    # The training loop's Checkpoints protocol:
    def load(self) -> dict[str, Any] | None:
        """The checkpoint; one that does not load as plain tensors (weights_only refuses it,
        e.g. a pickle that would run code) is set aside and training starts over."""
        try:
            return self._load_tensors("checkpoint.pt")
        except (pickle.UnpicklingError, RuntimeError, EOFError, zipfile.BadZipFile) as error:
            rejected = self.path / "checkpoint.pt.rejected"
            os.replace(self.path / "checkpoint.pt", rejected)
            reason = str(error).splitlines()[0]
            print(f"warning: run {self.id}: checkpoint refused ({reason}); moved to {rejected}",
                  file=sys.stderr)  # fmt: skip
            return None

    def save(self, state: dict[str, Any]) -> None:
        self._save_tensors("checkpoint.pt", state)

    def finish(self, result: dict[str, Any], final_state: dict[str, Any], log: list[Any]) -> None:
        """Write final weights and log, then the result; only then drop the checkpoint."""
        self._save_tensors("final.pt", final_state)
        self._write_json("log.json", log)
        self._write_json(RESULT, {**result, "run_id": self.id})
        (self.path / "checkpoint.pt").unlink(missing_ok=True)
        self._snapshot()  # the store's index learns of the run at once
        self._index.flush()


def _tagged(name: str, tag: str) -> str:
    if tag and not _TAG.match(tag):
        raise ValueError(f"artifact tag {tag!r} is not a plain name")
    return f"{name}_{tag}" if tag else name


def _figures_file(name: str) -> str:
    if not _TAG.match(name) or name in _RESERVED:
        raise ValueError(f"figures name {name!r} is reserved or not a plain name")
    return f"{name}.json"


def _plain(key: str) -> str:
    if not key.isalnum():
        raise ValueError(f"store key {key!r} is not alphanumeric")
    return key


@dataclass
class Watch:
    """What a read depended on: each run folder's stamp (as text) when it was handed out, the
    runs handed out, and whether every one of them was sound."""

    depends: dict[str, str | None] = field(default_factory=dict)
    handed: list[Run] = field(default_factory=list)
    sound: bool = True

    def hand_out(self, run: Run) -> None:
        folder = str(run.path.absolute())
        if folder not in self.depends:
            self.depends[folder] = stamp_text(folder)
            self.handed.append(run)


class RunStore:
    def __init__(self, root: Path | str | None = None, results_from: str | None = None) -> None:
        """``results_from`` names an imported bundle whose results are read, where it brought
        one, instead of this store's own for the same run id (kept beside them on import)."""
        self.root = Path(root) if root is not None else default_store()
        self.alternative = None if results_from is None else self.root / "imported" / results_from
        self.watch: Watch | None = None

    def run(self, identity: dict[str, Any]) -> Run:
        run = Run(self.root, identity)
        if self.alternative is not None:
            other = Run(self.alternative, identity)
            if (other.path / RESULT).exists():
                run = other
        if self.watch is not None:
            self.watch.hand_out(run)
        return run

    def watched(self) -> RunStore:
        """This store, noting in :attr:`watch` every run folder a read through it depends on."""
        view = copy.copy(self)
        view.watch = Watch()
        return view

    def recall(self, key: str, version: str) -> Any | None:
        """The value a read under ``key`` remembered, while every folder it read is unchanged
        (a cache in the store's index: see :mod:`lthbench.store.index`). Through a watched
        view, the folders it read join the view's."""
        found = index_of(self.root).recall(f"{key}:{self.alternative}", version)
        if found is None:
            return None
        if self.watch is not None:
            self.watch.depends.update(found[1])
        return found[0]

    def remember(self, key: str, version: str, view: RunStore, value: Any) -> None:
        """Remember ``value``, read through ``view`` (from :meth:`watched`) under ``key``,
        unless the read met an unsound run (its warning is then said on every read)."""
        assert view.watch is not None
        if view.watch.sound:
            depends = view.watch.depends
            index_of(self.root).remember(f"{key}:{self.alternative}", version, depends, value)
        if self.watch is not None:  # a read inside a watched read: the outer one depends too
            self.watch.depends.update(view.watch.depends)
            self.watch.sound &= view.watch.sound

    def alternatives(self) -> list[str]:
        """Bundles whose results for run ids this store already had are kept beside them."""
        folder = self.root / "imported"
        return sorted(p.name for p in folder.iterdir() if p.is_dir()) if folder.is_dir() else []

    def record_variant(self, entry_id: str, variant: dict[str, Any]) -> None:
        """Remember that ``entry_id``'s runs were requested with ``variant`` (a budget and
        overrides), so that reading commands can list and name them."""
        path = self.root / "variants" / f"{entry_id}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        with FileLock(str(path) + ".lock"):
            known = self.variants(entry_id)
            if variant not in known:
                text = json.dumps([*known, variant], indent=1, sort_keys=True).encode()
                atomic_write(path, lambda stream: stream.write(text))

    def variant_entries(self) -> list[str]:
        """The entries some of whose runs were requested as a variant."""
        folder = self.root / "variants"
        return sorted(p.stem for p in folder.glob("*.json")) if folder.is_dir() else []

    def variants(self, entry_id: str) -> list[dict[str, Any]]:
        """The variants ``entry_id``'s runs were requested with besides the entry itself."""
        try:
            known = json.loads((self.root / "variants" / f"{entry_id}.json").read_text())
        except (OSError, ValueError):
            return []
        return known if isinstance(known, list) else []

    def save_estimate(self, key: str, estimate: dict[str, Any]) -> None:
        """Cache an entry's cost estimate (see :mod:`lthbench.runner.cost`) under ``key``."""
        text = json.dumps(estimate, indent=1, sort_keys=True).encode()
        path = self.root / "estimates" / f"{_plain(key)}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(path, lambda stream: stream.write(text))

    def estimate_keys(self) -> list[str]:
        """The keys of the cached estimates (what a read that prices results depends on)."""
        folder = self.root / "estimates"
        return sorted(p.stem for p in folder.glob("*.json")) if folder.is_dir() else []

    def estimate(self, key: str) -> dict[str, Any] | None:
        try:
            value = json.loads((self.root / "estimates" / f"{_plain(key)}.json").read_text())
        except (OSError, ValueError):
            return None
        return value if isinstance(value, dict) else None

    def matching(self, run_id_prefix: str) -> list[str]:
        """The ids of stored runs that start with ``run_id_prefix``."""
        runs = self.root / "runs"
        if not run_id_prefix.isalnum() or not runs.is_dir():
            return []
        return sorted(
            p.name for p in runs.iterdir() if p.name.startswith(run_id_prefix) and "." not in p.name
        )

    def find(self, run_id_prefix: str) -> Run | None:
        matches = self.matching(run_id_prefix)
        if len(matches) != 1:
            return None
        config = json.loads((self.root / "runs" / matches[0] / "config.json").read_text())
        return Run(self.root, config["identity"])

    def __iter__(self) -> Iterator[Run]:
        runs = self.root / "runs"
        if not runs.is_dir():
            return
        known = index_of(self.root).configs()  # an id's config never changes: its hash is the id
        for path in sorted(runs.iterdir()):
            if ".corrupt-" in path.name:
                continue
            config = known.get(path.name)
            if config is None:
                try:
                    config = json.loads((path / "config.json").read_text())
                except (OSError, ValueError):
                    continue
            yield Run(self.root, config["identity"])
