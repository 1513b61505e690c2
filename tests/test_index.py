"""The store's index is a cache: reads through it equal reads from the folders, whatever
happened to the folders or to the index itself."""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest

from lthbench.claims.verdict import Verdict
from lthbench.cli import main
from lthbench.store import RunStore
from lthbench.store import index as store_index
from lthbench.store.index import INDEX, StoreIndex


@pytest.fixture(autouse=True)
def trusted_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """Rows are trusted as soon as they are recorded after the folder's last change (the
    two-second margin for a file system's clock tick would otherwise need a sleep)."""
    monkeypatch.setattr(store_index, "RACY_NS", -1)
    store_index.index_of.cache_clear()


def finished(root: Path, value: float, x: int = 1) -> RunStore:
    store = RunStore(root)
    run = store.run({"x": x})
    run.finish({"final_test_accuracy": value}, {}, [])
    return store


def fresh(root: Path) -> RunStore:
    """The store as another process sees it (its own index connection, nothing in memory)."""
    store_index.index_of.cache_clear()
    return RunStore(root)


def test_a_result_edited_in_place_is_read_again(tmp_path: Path) -> None:
    store = finished(tmp_path, 0.5)
    run = store.run({"x": 1})
    assert run.result() == {"final_test_accuracy": 0.5, "run_id": run.id}
    path = run.path / "result.json"
    path.write_text(json.dumps({"final_test_accuracy": 0.25, "run_id": run.id, "pad": 1}))
    assert fresh(tmp_path).run({"x": 1}).result()["final_test_accuracy"] == 0.25
    path.write_text(json.dumps({"final_test_accuracy": 7.0, "run_id": run.id, "pad": 22}))
    assert "not a fraction" in (fresh(tmp_path).run({"x": 1}).problem() or "")


def test_figures_added_later_are_seen(tmp_path: Path) -> None:
    store = finished(tmp_path, 0.5)
    assert store.run({"x": 1}).figures("extra") is None
    store.run({"x": 1}).save_figures("extra", {"a": 1})
    assert fresh(tmp_path).run({"x": 1}).figures("extra") == {"a": 1}


@pytest.mark.parametrize("damage", ["deleted", "garbage", "other schema"])
def test_a_missing_or_damaged_index_is_rebuilt(tmp_path: Path, damage: str) -> None:
    finished(tmp_path, 0.5)
    StoreIndex(tmp_path).flush()
    index = tmp_path / INDEX
    assert index.exists()
    for suffix in ("", "-wal", "-shm"):
        Path(f"{index}{suffix}").unlink(missing_ok=True)
    if damage == "garbage":
        index.write_bytes(b"not a database at all" * 100)
    elif damage == "other schema":
        with sqlite3.connect(index) as connection:
            connection.execute("CREATE TABLE runs (junk TEXT)")
            connection.execute("PRAGMA user_version = 999")
    run = fresh(tmp_path).run({"x": 1})
    assert run.result() == {"final_test_accuracy": 0.5, "run_id": run.id}
    assert run.problem() is None
    store_index.index_of(tmp_path).flush()
    with sqlite3.connect(index) as connection:  # rebuilt: the run's row is back
        assert connection.execute("SELECT id FROM runs").fetchall() == [(run.id,)]


def test_a_read_only_store_is_read_without_an_index(tmp_path: Path) -> None:
    finished(tmp_path, 0.5)
    for suffix in ("", "-wal", "-shm"):
        Path(f"{tmp_path / INDEX}{suffix}").unlink(missing_ok=True)
    os.chmod(tmp_path, 0o555)
    try:
        run = fresh(tmp_path).run({"x": 1})
        assert run.result() == {"final_test_accuracy": 0.5, "run_id": run.id}
    finally:
        os.chmod(tmp_path, 0o755)


def test_a_remembered_read_is_forgotten_when_a_folder_changes(tmp_path: Path) -> None:
    store = finished(tmp_path, 0.5)
    view = store.watched()
    view.run({"x": 1}).result()
    view.run({"x": 2})  # not there yet: the read depends on its absence too
    store.remember("k", "v1", view, ["value"])
    assert fresh(tmp_path).recall("k", "v1") == ["value"]
    assert fresh(tmp_path).recall("k", "v2") is None  # other code read it
    finished(tmp_path, 0.75, x=2)  # a run the read found absent is now there
    assert fresh(tmp_path).recall("k", "v1") is None


def test_a_read_that_met_an_unsound_run_is_not_remembered(tmp_path: Path) -> None:
    store = finished(tmp_path, 0.5)
    view = store.watched()
    view.run({"x": 1})
    assert view.watch is not None
    view.watch.sound = False
    store.remember("k", "v1", view, ["value"])
    assert fresh(tmp_path).recall("k", "v1") is None


def test_check_through_the_index_equals_check_from_the_folders(
    write_entry: Callable[..., Path], store: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    claims = [{"id": "C1", "statement": "tiny learns", "metric": "final_test_accuracy",
               "op": ">=", "reference": 0.1, "kind": "lthbench"}]  # fmt: skip
    path = write_entry({"claims": claims, "seeds": [0, 1]})
    assert main(["run", str(path), "--store", str(store), "--quiet", "--seed", "0"]) == 0

    def check() -> list[dict[str, object]]:
        capsys.readouterr()
        store_index.index_of.cache_clear()
        main(["check", str(path), "--store", str(store), "--json"])
        return json.loads(capsys.readouterr().out)

    first = check()
    assert first == check() and first[0]["seeds"] == 1  # the second read is remembered
    for suffix in ("", "-wal", "-shm"):
        Path(f"{store / INDEX}{suffix}").unlink(missing_ok=True)
    assert check() == first  # and the same without the index
    assert main(["run", str(path), "--store", str(store), "--quiet", "--seed", "1"]) == 0
    assert check()[0]["seeds"] == 2  # a new run is read at once
    verdicts = [Verdict.from_dict(v) for v in first]
    assert json.loads(json.dumps([v.as_dict() for v in verdicts])) == first
