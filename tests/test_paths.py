"""Paths mean what they say: an environment variable names the same folder its flag does, the
registry is the working directory's, and a store of the old layout is still found."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from lthbench.cli import main
from lthbench.data import default_data_root
from lthbench.spec.load import default_registry
from lthbench.store import default_store


def test_lthbench_store_is_the_store_itself(
    write_entry: Callable[..., Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    path = write_entry({"seeds": [0], "training": {"duration": "40it"}})
    store = tmp_path / "X"
    monkeypatch.setenv("LTHBENCH_STORE", str(store))
    assert main(["run", str(path), "--quiet"]) == 0
    assert len(list((store / "runs").glob("*/result.json"))) == 1
    assert not (store / "store").exists()
    capsys.readouterr()
    assert main(["show", str(path), "--store", str(store), "--json"]) == 0  # the flag agrees
    assert len(json.loads(capsys.readouterr().out)) == 1


def test_a_store_of_the_old_layout_is_found_with_a_notice(
    write_entry: Callable[..., Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    path = write_entry({"seeds": [0], "training": {"duration": "40it"}})
    assert main(["run", str(path), "--quiet", "--store", str(tmp_path / "X" / "store")]) == 0
    capsys.readouterr()
    monkeypatch.setenv("LTHBENCH_STORE", str(tmp_path / "X"))
    assert default_store() == tmp_path / "X" / "store"
    assert main(["show", str(path), "--json"]) == 0
    out, err = capsys.readouterr()
    assert len(json.loads(out)) == 1  # nothing lost
    assert "old layout" in err and str(tmp_path / "X" / "store") in err


def test_lthbench_data_is_the_data_root_itself(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("LTHBENCH_DATA", str(tmp_path / "D"))
    assert default_data_root() == tmp_path / "D"
    (tmp_path / "D" / "MNIST" / "raw").mkdir(parents=True)
    assert default_data_root() == tmp_path / "D"
    (tmp_path / "old" / "data" / "MNIST" / "raw").mkdir(parents=True)
    monkeypatch.setenv("LTHBENCH_DATA", str(tmp_path / "old"))
    assert default_data_root() == tmp_path / "old" / "data"
    assert "old layout" in capsys.readouterr().err


def test_the_registry_is_the_variables_else_the_working_directorys(
    write_entry: Callable[..., Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    write_entry(name="my-new-entry")  # written to tmp_path/registry
    elsewhere = tmp_path / "elsewhere"
    shutil.copytree(tmp_path / "registry", elsewhere)
    (elsewhere / "my-new-entry.yaml").rename(elsewhere / "from-env.yaml")
    text = (elsewhere / "from-env.yaml").read_text().replace("my-new-entry", "from-env")
    (elsewhere / "from-env.yaml").write_text(text)
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("LTHBENCH_REGISTRY", raising=False)
    assert default_registry() == tmp_path / "registry"
    assert main(["list"]) == 0
    assert "my-new-entry" in capsys.readouterr().out
    monkeypatch.setenv("LTHBENCH_REGISTRY", str(elsewhere))  # set: it beats ./registry
    assert default_registry() == elsewhere
    assert main(["list"]) == 0
    assert "from-env" in capsys.readouterr().out


def test_reduced_pages_carry_a_banner_and_are_refused_in_leaderboards(
    write_entry: Callable[..., Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    path = write_entry({"seeds": [0], "training": {"duration": "40it"}})
    store = tmp_path / "store"
    monkeypatch.chdir(tmp_path)
    smoke = ["reproduce", str(path), "--store", str(store), "--quiet", "--budget", "0.5"]
    assert main(smoke) == 2  # default --out: the published leaderboards/
    assert "reduced run" in capsys.readouterr().err
    assert not (tmp_path / "leaderboards").exists() and not store.exists()
    assert main([*smoke, "--out", "smoke-pages"]) in (0, 1)
    index = (tmp_path / "smoke-pages" / "index.md").read_text()
    assert "Reduced run: budget 0.5" in index
    assert all("Reduced run" in p.read_text() for p in (tmp_path / "smoke-pages").glob("*.md"))
    overrides = ["leaderboard", str(path), "--store", str(store), "--set", "training.lr=0.01"]
    assert main(overrides) == 2
    assert main([*overrides, "--publish-reduced"]) == 0
    assert "overrides `training.lr=0.01`" in (tmp_path / "leaderboards" / "index.md").read_text()
    full = ["leaderboard", str(path), "--store", str(store)]
    assert main(full) == 2  # no full-budget result: it would replace the published pages
    assert "holds no result of these entries" in capsys.readouterr().err
    assert main([*full, "--out", "full-pages"]) == 0  # a full-budget render has no banner
    assert "Reduced run" not in (tmp_path / "full-pages" / "index.md").read_text()


def test_show_lists_every_stored_variant_and_check_names_the_flag(
    write_entry: Callable[..., Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_entry({"seeds": [0], "training": {"duration": "40it"}})
    store = ["--store", str(tmp_path / "store"), "--registry", str(path.parent)]
    assert main(["run", "tiny", *store, "--quiet", "--budget", "0.5"]) == 0
    capsys.readouterr()
    assert main(["show", "tiny", *store, "--json"]) == 0
    (record,) = json.loads(capsys.readouterr().out)
    assert record["variant"] == "budget 0.5" and record["iterations"] == 20
    assert main(["show", "tiny", *store]) == 0
    assert "budget 0.5" in capsys.readouterr().out
    assert main(["check", "tiny", *store]) == 0
    err = capsys.readouterr().err
    assert "no stored results for the full budget" in err and "--budget 0.5" in err
    assert main(["run", "tiny", *store, "--quiet", "--set", "training.lr=0.002"]) == 0
    capsys.readouterr()
    assert main(["show", "tiny", *store, "--json"]) == 0
    variants = {r["variant"] for r in json.loads(capsys.readouterr().out)}
    assert variants == {"budget 0.5", "set training.lr=0.002"}
    # a run by a 4-character prefix, every column filled from the entry that plans it
    assert main(["show", record["run_id"][:4], *store, "--json"]) == 0
    (by_id,) = json.loads(capsys.readouterr().out)
    assert (by_id["entry_id"], by_id["seed"], by_id["method"]) == ("tiny", 0, "dense")
    assert by_id["run_id"] == record["run_id"] and by_id["variant"] == "budget 0.5"
