"""A store's index: what reading a run needs, kept in one SQLite file beside the run folders.

Reading a run from its folder parses its result, its log and its cached figures and opens its
weights; over thousands of runs that is most of what ``check`` and ``show`` cost. The index
(``<store>/index.sqlite``) keeps, per run, what those reads found (the result, the figures, what
makes the folder unsound, the identity) under a *stamp*: the modification times and sizes of
the run's folder, ``result.json`` and ``final.pt``. Every write lthbench makes is a rename into
the folder, which changes the folder's time; a hand edit of the result or a cut weights file
changes its own. A row whose stamp differs is read again from the folder.

The index is never the source of truth: a missing, damaged or foreign index is rebuilt from
the folders, a read-only store is read without one, and a row is trusted only when it was
recorded more than :data:`RACY_NS` after the newest of its stamp's times (a change within the
file system's clock tick of the recording could otherwise hide; git's index has the same
rule).
"""

from __future__ import annotations

import atexit
import functools
import json
import os
import sqlite3
import time
from pathlib import Path
from typing import Any

import orjson

INDEX = "index.sqlite"
SCHEMA = 3
RACY_NS = 2_000_000_000
FLUSH_EVERY = 256

Stamp = tuple[int, ...]


def stamp(folder: Path | str) -> Stamp | None:
    """The run folder's stamp, or None while it has no result (absent or in progress)."""
    try:
        own = os.stat(folder)
        result = os.stat(f"{folder}/result.json")
    except OSError:
        return None
    try:
        final = os.stat(f"{folder}/final.pt")
        weights = (final.st_mtime_ns, final.st_size)
    except OSError:
        weights = (0, -1)
    return (own.st_mtime_ns, result.st_mtime_ns, result.st_size, *weights)


class StoreIndex:
    """Rows keyed by run id; see the module's docstring for when a row is trusted."""

    def __init__(self, root: Path) -> None:
        self.path = root / INDEX
        self.runs = str((root / "runs").absolute())
        self._connection: sqlite3.Connection | None = None
        self._broken = False
        self._pending: dict[str, tuple[str, int, str | None, str]] = {}

    def _connect(self) -> sqlite3.Connection | None:
        if self._connection is not None or self._broken:
            return self._connection
        for attempt in range(2):
            try:
                connection = self._open()
                break
            except sqlite3.DatabaseError as error:
                damaged = "not a database" in str(error) or "malformed" in str(error)
                if attempt or not damaged:
                    self._broken = True  # read-only, or locked for long: read the folders
                    return None
                for suffix in ("", "-wal", "-shm"):  # damaged: rebuilt from the folders
                    Path(f"{self.path}{suffix}").unlink(missing_ok=True)
            except OSError:
                self._broken = True
                return None
        self._connection = connection
        atexit.register(self.flush)
        return connection

    def _open(self) -> sqlite3.Connection:
        connection = sqlite3.connect(self.path, timeout=10, isolation_level=None)
        try:
            version = connection.execute("PRAGMA user_version").fetchone()[0]
            if version != SCHEMA:  # new, or another format: rebuilt from the folders
                connection.executescript(
                    "PRAGMA journal_mode=WAL; DROP TABLE IF EXISTS runs;"
                    "CREATE TABLE runs (id TEXT PRIMARY KEY, stamp TEXT NOT NULL,"
                    " recorded_ns INTEGER NOT NULL, config TEXT, snapshot TEXT NOT NULL);"
                    "DROP TABLE IF EXISTS reads;"
                    "CREATE TABLE reads (key TEXT PRIMARY KEY, version TEXT NOT NULL,"
                    " recorded_ns INTEGER NOT NULL, depends TEXT NOT NULL, value TEXT NOT NULL);"
                    f"PRAGMA user_version={SCHEMA};"
                )
            connection.execute("PRAGMA synchronous=NORMAL")
        except BaseException:
            connection.close()
            raise
        return connection

    def get(self, run_id: str, current: Stamp) -> dict[str, Any] | None:
        """The recorded snapshot of a run whose folder still has ``current`` as its stamp."""
        pending = self._pending.get(run_id)
        connection = self._connect()
        try:
            row = pending or (
                connection is not None
                and connection.execute(
                    "SELECT stamp, recorded_ns, config, snapshot FROM runs WHERE id = ?",
                    (run_id,),
                ).fetchone()
            )
        except sqlite3.Error:
            row = None
        if not row or row[0] != _text(current) or row[1] - newest(current) <= RACY_NS:
            return None
        try:
            snapshot = _loads(row[3])
        except ValueError:
            return None
        return snapshot if isinstance(snapshot, dict) else None

    def put(self, run_id: str, current: Stamp, config: dict[str, Any] | None,
            snapshot: dict[str, Any]) -> None:  # fmt: skip
        """Record what the folder held at ``current`` (written in batches, and at exit)."""
        text = json.dumps(snapshot, sort_keys=True, allow_nan=True)
        config_text = None if config is None else json.dumps(config, sort_keys=True)
        self._pending[run_id] = (_text(current), time.time_ns(), config_text, text)
        if len(self._pending) >= FLUSH_EVERY:
            self.flush()

    def recall(self, key: str, version: str) -> tuple[Any, dict[str, str | None]] | None:
        """(what a read under ``key`` found, the run folders it read), while the read's
        ``version`` (the code that read) is the same and every run folder it read has the
        stamp it had then (a folder without a result must still have none). Folders are kept
        relative to the store's ``runs`` folder where inside it."""
        connection = self._connect()
        try:
            row = (
                connection
                and connection.execute(
                    "SELECT recorded_ns, depends, value FROM reads WHERE key = ? AND version = ?",
                    (key, version),
                ).fetchone()
            )
            if not row:
                return None
            depends: dict[str, str | None] = {}
            latest = 0
            for name, then in _loads(row[1]).items():
                folder = name if name.startswith("/") else f"{self.runs}/{name}"
                now = stamp(folder)
                if (None if now is None else _text(now)) != then:
                    return None
                latest = latest if now is None else max(latest, newest(now))
                depends[folder] = then
            return (_loads(row[2]), depends) if row[0] - latest > RACY_NS else None
        except (sqlite3.Error, ValueError, TypeError, AttributeError):
            return None

    def remember(self, key: str, version: str, depends: dict[str, str | None],
                 value: Any) -> None:  # fmt: skip
        """Record what a read under ``key`` found, with the stamp each run folder it read had
        *before* it was read (so a change during the read shows as a changed stamp). A read
        by other code (another ``version``) under the same key is replaced."""
        connection = self._connect()
        if connection is None:
            return
        inside = f"{self.runs}/"
        named = {folder.removeprefix(inside): then for folder, then in depends.items()}
        try:
            with connection:
                connection.execute(
                    "INSERT OR REPLACE INTO reads VALUES (?, ?, ?, ?, ?)",
                    (key, version, time.time_ns(), json.dumps(named),
                     json.dumps(value, allow_nan=True)),
                )  # fmt: skip
        except (sqlite3.Error, TypeError, ValueError):
            pass

    def configs(self) -> dict[str, dict[str, Any]]:
        """Every recorded run's config by id (rows only: the caller checks the folders)."""
        self.flush()
        connection = self._connect()
        if connection is None:
            return {}
        try:
            rows = connection.execute("SELECT id, config FROM runs WHERE config IS NOT NULL")
            return {run_id: json.loads(config) for run_id, config in rows}
        except (sqlite3.Error, ValueError):
            return {}

    def flush(self) -> None:
        pending, self._pending = self._pending, {}
        connection = self._connect()
        if not pending or connection is None:
            return
        try:
            with connection:
                connection.execute("BEGIN IMMEDIATE")
                connection.executemany(
                    "INSERT OR REPLACE INTO runs VALUES (?, ?, ?, ?, ?)",
                    [(run_id, *row) for run_id, row in pending.items()],
                )
        except sqlite3.Error:
            pass  # a cache: rows not written are read from the folders next time

    def __getstate__(self) -> dict[str, Any]:  # a pickled store opens its own connection
        return {"path": self.path, "_connection": None, "_broken": False, "_pending": {}}


def _loads(text: str) -> Any:
    """orjson parses a large read several times faster; it refuses NaN, which json writes."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)


def newest(current: Stamp) -> int:
    """The latest of a stamp's times (its folder's, its result's, its weights')."""
    return max(current[0], current[1], current[3])


def stamp_text(folder: Path | str) -> str | None:
    """:func:`stamp` as text (None: no result), as reads record it."""
    current = stamp(folder)
    return None if current is None else _text(current)


def _text(current: Stamp) -> str:
    return ",".join(map(str, current))


@functools.cache
def index_of(root: Path) -> StoreIndex:
    """One index per store and process."""
    return StoreIndex(root)
