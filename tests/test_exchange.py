"""Results between machines: a bundle exported, imported into an empty store with the same
verdicts; tampered bundles refused with nothing written; compare exits 1 on a flipped verdict."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import stat
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from lthbench.cli import main
from tests.conftest import tree

CLAIMS = [
    {"id": "ABOVE", "statement": "s", "metric": "final_test_accuracy", "op": ">=",
     "reference": 0.05, "where": {"round": 0}, "kind": "lthbench"},
    {"id": "ROUND1", "statement": "s", "metric": "final_test_accuracy", "op": ">=",
     "reference": "dense", "tolerance": 0.5, "where": {"round": 1}, "kind": "lthbench"},
]  # fmt: skip
ENTRY: dict[str, Any] = {
    "method": {"name": "lottery", "params": {"rounds": 1, "prune_fraction": 0.5,
                                             "controls": ["random_prune"]}},
    "seeds": [0, 1],
    "training": {"duration": "40it", "eval_interval": "20it"},
    "claims": CLAIMS,
}  # fmt: skip


@pytest.fixture
def filled(write_entry: Callable[..., Path], tmp_path: Path) -> tuple[Path, list[str]]:
    """A store with a small lottery entry's runs, and the flags that name it."""
    path = write_entry(ENTRY)
    store = tmp_path / "store"
    flags = ["--store", str(store), "--registry", str(path.parent)]
    assert main(["run", "tiny", *flags, "--quiet"]) == 0
    return store, flags


def _check(flags: list[str], capsys: pytest.CaptureFixture[str]) -> list[dict[str, Any]]:
    capsys.readouterr()
    main(["check", "tiny", *flags, "--json"])
    return json.loads(capsys.readouterr().out)


def test_export_then_import_into_an_empty_store_gives_the_same_verdicts(
    filled: tuple[Path, list[str]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store, flags = filled
    bundle = tmp_path / "results.zip"
    assert main(["export", "tiny", *flags, "--out", str(bundle)]) == 0
    assert "6 runs exported" in capsys.readouterr().out  # 2 seeds × (round 0, ticket, control)
    with zipfile.ZipFile(bundle) as archive:
        manifest = json.loads(archive.read("manifest.json"))
        assert not any(name.endswith(".pt") for name in archive.namelist())  # no weights
    assert manifest["format"] == "lthbench-bundle" and manifest["provenance"]["torch"]
    other = ["--store", str(tmp_path / "other"), *flags[2:]]
    assert main(["import", str(bundle), *other]) == 0
    assert "6 runs added" in capsys.readouterr().out
    assert _check(other, capsys) == _check(flags, capsys)
    pages = tmp_path / "pages"
    assert main(["leaderboard", "tiny", *other, "--out", str(pages)]) == 0
    index = (pages / "index.md").read_text()
    assert "| device" in index and "results.zip (" in index  # the imported results' source
    assert main(["import", str(bundle), *other]) == 0  # again: nothing new
    assert "0 runs added, 6 already stored" in capsys.readouterr().out
    assert main(["compare", str(store), str(bundle), "tiny", *flags[2:]]) == 0


def _tamper(bundle: Path, out: Path, change: Callable[[dict[str, bytes]], None],
            rehash: bool = True, link: str | None = None) -> Path:  # fmt: skip
    with zipfile.ZipFile(bundle) as archive:
        files = {name: archive.read(name) for name in archive.namelist()}
    manifest = json.loads(files.pop("manifest.json"))
    change(files)
    if rehash:
        manifest["files"] = {n: hashlib.sha256(d).hexdigest() for n, d in files.items()}
    with zipfile.ZipFile(out, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
        if link is not None:  # a symbolic link member, as zip tools store one
            info = zipfile.ZipInfo(link)
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            archive.writestr(info, "/etc/passwd")
            manifest["files"][link] = hashlib.sha256(b"/etc/passwd").hexdigest()
        archive.writestr("manifest.json", json.dumps(manifest))
    return out


def _result_name(files: dict[str, bytes]) -> str:
    return next(name for name in files if name.endswith("/result.json"))


def _changed_result(files: dict[str, bytes]) -> None:
    name = _result_name(files)
    result = json.loads(files[name])
    result["final_test_accuracy"] = 0.999
    files[name] = json.dumps(result).encode()


def _wrong_config(files: dict[str, bytes]) -> None:
    name = next(n for n in files if n.endswith("/config.json"))
    config = json.loads(files[name])
    config["identity"]["seed"] = 12345
    files[name] = json.dumps(config).encode()


def _escape(files: dict[str, bytes]) -> None:
    files["runs/../../escaped.json"] = b"{}"


def _impossible(value: object) -> Callable[[dict[str, bytes]], None]:
    def change(files: dict[str, bytes]) -> None:
        name = _result_name(files)
        files[name] = json.dumps({**json.loads(files[name]), "final_test_accuracy": value}).encode()

    return change


TAMPERED = {
    "a changed result (hash mismatch)": (_changed_result, False, None, "does not match"),
    "a string accuracy, rehashed": (_impossible("0.9"), True, None, "not a finite number"),
    "an accuracy of 5.0, rehashed": (_impossible(5.0), True, None, "not a fraction in [0, 1]"),
    "a true accuracy, rehashed": (_impossible(True), True, None, "not a finite number"),
    "a changed result, rehashed": (_changed_result, True, None, None),
    "a config that does not hash to its id": (_wrong_config, True, None, "does not hash"),
    "a ../ path": (_escape, True, None, "not a run file"),
    "a symlink": (lambda files: None, True, "runs/0123456789abcdef0123/log.json", "link"),
}


@pytest.mark.parametrize("case", sorted(TAMPERED))
def test_a_tampered_bundle_is_refused_and_the_store_is_unchanged(
    case: str, filled: tuple[Path, list[str]], tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    store, flags = filled
    bundle = tmp_path / "results.zip"
    assert main(["export", "tiny", *flags, "--out", str(bundle)]) == 0
    change, rehash, link, message = TAMPERED[case]
    bad = _tamper(bundle, tmp_path / "bad.zip", change, rehash, link)
    target = tmp_path / "target"
    shutil.copytree(store, target)
    before = tree(target)
    capsys.readouterr()
    code = main(["import", str(bad), "--store", str(target)])
    err = capsys.readouterr().err.strip()
    if message is None:  # a rehashed changed result is a different result: kept beside
        assert code == 0
        assert tree(target) != before and (target / "imported").is_dir()
        assert {k: v for k, v in tree(target).items() if not k.startswith("imported")} == before
        return
    assert code == 2 and len(err.splitlines()) == 1 and message in err, err
    assert tree(target) == before
    assert not os.path.exists(tmp_path / "escaped.json")


def test_compare_exits_1_and_names_a_flipped_claim(
    filled: tuple[Path, list[str]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store, flags = filled
    registry = flags[2:]
    capsys.readouterr()
    assert main(["compare", str(store), str(store), *registry]) == 0
    assert "0 of 2 verdicts flipped" in capsys.readouterr().out
    other = tmp_path / "other"
    shutil.copytree(store, other)
    for result_file in other.glob("runs/*/result.json"):  # every run collapses in B
        result = json.loads(result_file.read_text())
        result["final_test_accuracy"] = 0.0
        result_file.write_text(json.dumps(result))
    assert main(["compare", str(store), str(other), *registry, "--json"]) == 1
    out, err = capsys.readouterr()
    comparison = json.loads(out)
    assert comparison["flips"] >= 1 and "tiny/ABOVE" in err
    assert any(r["largest_difference"] != 0 for r in comparison["runs"])


def test_a_result_from_another_device_is_kept_beside_and_read_only_when_asked(
    filled: tuple[Path, list[str]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A bundle whose seed-1 ticket was computed on a GPU, for a run id this store computed on
    its CPU: both are kept. The store's own result is read by default; --results-from reads
    the bundle's, and the verdict then leaves seed 1 out (its ticket and its dense reference
    come from two devices) and says so."""
    _, flags = filled
    bundle = tmp_path / "results.zip"
    assert main(["export", "tiny", *flags, "--out", str(bundle)]) == 0

    def on_a_gpu(files: dict[str, bytes]) -> None:
        for name in [n for n in files if n.endswith("/config.json")]:
            identity = json.loads(files[name])["identity"]
            if (identity["seed"], identity.get("round"), identity.get("control")) == (1, 1, None):
                result = name.replace("config.json", "result.json")
                files[result] = json.dumps(
                    {**json.loads(files[result]), "device": "cuda:0", "device_model": "NVIDIA H200"}
                ).encode()

    gpu = _tamper(bundle, tmp_path / "gpu.zip", on_a_gpu)
    before = _check(flags, capsys)
    assert main(["import", str(gpu), *flags]) == 0
    out = capsys.readouterr().out
    assert "1 with a different result kept beside" in out and "--results-from gpu" in out
    assert main(["show", "tiny", *flags]) == 0
    assert "1 of these runs have another result, imported from gpu" in capsys.readouterr().err
    assert _check(flags, capsys) == before
    (round1,) = [v for v in _check([*flags, "--results-from", "gpu"], capsys)
                 if v["claim_id"] == "ROUND1"]  # fmt: skip
    assert round1["seeds"] == 1
    assert "seed(s) 1 on cuda:0 (NVIDIA H200) left out" in round1["results_from"]
    mixed = _check([*flags, "--results-from", "gpu", "--mix-devices"], capsys)
    assert next(v for v in mixed if v["claim_id"] == "ROUND1")["seeds"] == 2
    assert main(["check", "tiny", *flags, "--results-from", "nope"]) == 2
    assert "bundles with results kept beside: gpu" in capsys.readouterr().err


def test_a_hand_edited_result_is_not_counted_and_is_redone(
    write_entry: Callable[..., Path], store: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An impossible figure in a stored result (a hand edit: NaN, a string, 500%) makes the run
    damaged: reads skip it with a warning instead of crashing, and the next run redoes it."""
    path = write_entry({"seeds": [0], "training": {"duration": "40it", "eval_interval": "20it"}})
    flags = ["--store", str(store), "--quiet"]
    assert main(["run", str(path), *flags]) == 0
    (result,) = store.glob("runs/*/result.json")
    original = json.loads(result.read_text())
    result.write_text(json.dumps({**original, "final_test_accuracy": "NaN"}))
    capsys.readouterr()
    assert main(["check", str(path), "--store", str(store)]) in (0, 1)
    assert "not a finite number" in capsys.readouterr().err
    assert main(["run", str(path), *flags]) == 0  # set aside and trained again
    assert json.loads(result.read_text()) == original | {
        k: v
        for k, v in json.loads(result.read_text()).items()
        if k in ("finished_at", "wall_time_s")
    }
    assert list(store.glob("runs/*.corrupt-1"))


def test_an_exported_entry_carries_the_runs_its_claims_compare_with(
    write_entry: Callable[..., Path], store: Path, tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    lottery = {"method": {"name": "lottery", "params": {"rounds": 1, "prune_fraction": 0.5}},
               "seeds": [0, 1], "training": {"duration": "40it", "eval_interval": "20it"}}  # fmt: skip
    write_entry({**lottery, "method": {"name": "lottery", "params": {
        "rounds": 1, "prune_fraction": 0.5, "strategy": "oneshot", "scope": "global"}}},
        name="other")  # fmt: skip
    path = write_entry({**lottery, "claims": [{
        "id": "VS", "statement": "s", "kind": "lthbench", "metric": "final_test_accuracy",
        "op": ">=", "reference": "entry:other", "tolerance": 1.0, "where": {"density": 0.5}}]},
        name="mine")  # fmt: skip
    registry = ["--registry", str(path.parent)]
    assert main(["run", "mine", "other", "--store", str(store), "--quiet", *registry]) == 0
    bundle = tmp_path / "mine.zip"
    assert main(["export", "mine", "--store", str(store), "--out", str(bundle), *registry]) == 0
    empty = tmp_path / "empty"
    assert main(["import", str(bundle), "--store", str(empty)]) == 0
    capsys.readouterr()
    assert main(["check", "mine", "--store", str(empty), "--json", *registry]) == 0
    (verdict,) = json.loads(capsys.readouterr().out)
    assert verdict["verdict"] != "missing"


def test_compare_reads_the_variant_its_flags_name_and_refuses_when_nothing_compares(
    write_entry: Callable[..., Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Two smoke stores compared without their flags would compare 'missing' with 'missing'
    and call that agreement: refused (exit 2); with the flags, the smoke runs are compared."""
    path = write_entry(ENTRY)
    store = tmp_path / "store"
    registry = ["--registry", str(path.parent)]
    assert main(["run", "tiny", "--store", str(store), *registry, "--quiet",
                 "--budget", "0.5"]) == 0  # fmt: skip
    capsys.readouterr()
    assert main(["compare", str(store), str(store), *registry]) == 2
    assert "same flags" in capsys.readouterr().err
    assert main(["compare", str(store), str(store), *registry, "--budget", "0.5"]) == 0
    assert "0 of 2 verdicts flipped" in capsys.readouterr().out


def test_a_bundle_carries_the_variants_its_runs_were_requested_with(
    write_entry: Callable[..., Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_entry(ENTRY)
    store, target = tmp_path / "store", tmp_path / "target"
    registry = ["--registry", str(path.parent)]
    assert main(["run", "tiny", "--store", str(store), *registry, "--quiet",
                 "--budget", "0.5"]) == 0  # fmt: skip
    bundle = tmp_path / "smoke.zip"
    assert main(["export", "tiny", "--store", str(store), *registry, "--out", str(bundle)]) == 0
    assert main(["import", str(bundle), "--store", str(target)]) == 0
    capsys.readouterr()
    assert main(["show", "tiny", "--store", str(target), *registry, "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert len(shown) == 6 and {r["variant"] for r in shown} == {"budget 0.5"}

    with zipfile.ZipFile(bundle) as archive:
        files = {n: archive.read(n) for n in archive.namelist()}
    manifest = json.loads(files["manifest.json"])
    manifest["variants"] = {"tiny": [{"budget": 7, "overrides": []}]}
    files["manifest.json"] = json.dumps(manifest).encode()
    forged = tmp_path / "forged.zip"
    with zipfile.ZipFile(forged, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    empty = tmp_path / "empty"
    assert main(["import", str(forged), "--store", str(empty)]) == 2
    assert "variants" in capsys.readouterr().err and not empty.exists()
