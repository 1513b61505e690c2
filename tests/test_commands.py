"""The commands a user of ML tooling expects: JSON out, the resolved config, a new entry from an
old one, a CSV export, store clean-up (gc, keep_weights) and TensorBoard curves."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from lthbench.cli import main

LOTTERY: dict[str, Any] = {
    "method": {"name": "lottery", "params": {"rounds": 3, "prune_fraction": 0.5,
                                             "controls": ["random_reinit"]}},
    "seeds": [0],
    "training": {"duration": "40it", "eval_interval": "20it"},
}  # fmt: skip


def test_list_validate_and_run_speak_json(
    write_entry: Callable[..., Path], store: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_entry({"seeds": [0, 1], "training": {"duration": "40it"}})
    assert main(["list", "--registry", str(path.parent), "--json"]) == 0
    (listed,) = json.loads(capsys.readouterr().out)
    assert listed["id"] == "tiny" and listed["seeds"] == [0, 1]
    assert main(["validate", str(path), "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == {"valid": [str(path)], "problems": []}
    for _ in range(2):  # trained, then read from the store: one JSON record per run each time
        assert main(["run", str(path), "--store", str(store), "--json", "--quiet"]) == 0
        records = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
        assert sorted(r["seed"] for r in records) == [0, 1]
        assert all(r["entry_id"] == "tiny" and "final_test_accuracy" in r for r in records)


def test_config_prints_the_entry_resolved_with_every_default(
    write_entry: Callable[..., Path], capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_entry(LOTTERY)
    assert main(["config", str(path), "--budget", "0.5"]) == 0
    config = yaml.safe_load(capsys.readouterr().out)
    assert config["method"]["params"]["scope"] == "layerwise"  # a default, shown
    assert config["training"]["momentum"] == 0.0
    assert config["training"]["duration"] == "20it"  # the budget applied
    assert config["resolved"]["total_iterations"] == 20
    assert config["resolved"]["variant"] == "budget 0.5"


def test_every_shipped_entrys_resolved_params_validate_again(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """``config`` spells out every default: what it prints is an entry's params as they are,
    so a user may copy them into a new entry (a validator reading which fields were *given*
    would refuse its own defaults)."""
    from lthbench.methods import METHODS
    from lthbench.spec.load import default_registry

    for path in sorted(default_registry().rglob("*.yaml")):
        assert main(["config", str(path)]) == 0
        method = yaml.safe_load(capsys.readouterr().out)["method"]
        METHODS[method["name"]].Params.model_validate(method["params"], strict=False)


def test_new_writes_an_entry_to_edit_and_refuses_to_overwrite(
    write_entry: Callable[..., Path], capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_entry(LOTTERY)
    registry = ["--registry", str(path.parent)]
    assert main(["new", "my-lottery", "--from", "tiny", *registry]) == 0
    target = path.parent / "my-lottery.yaml"
    assert yaml.safe_load(target.read_text())["id"] == "my-lottery"
    assert main(["validate", str(target)]) == 0
    capsys.readouterr()
    assert main(["new", "my-lottery", "--from", "tiny", *registry]) == 2
    assert "already exists" in capsys.readouterr().err
    assert main(["new", "Bad Id", "--from", "tiny", *registry]) == 2


def _trained(
    write_entry: Callable[..., Path], store: Path, capsys: pytest.CaptureFixture[str]
) -> list[str]:
    """The LOTTERY entry trained into ``store``; the flags that name both."""
    path = write_entry(LOTTERY)
    flags = ["--store", str(store), "--registry", str(path.parent)]
    assert main(["run", "tiny", *flags, "--quiet"]) == 0
    capsys.readouterr()
    return flags


def test_export_csv_has_a_row_per_result(
    write_entry: Callable[..., Path], store: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    flags = _trained(write_entry, store, capsys)
    assert main(["export-csv", "tiny", *flags]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert len(rows) == 1 + 3 * 2  # round 0, then a ticket and a control per round
    assert {r["variant"] for r in rows} == {"full budget"}
    assert [r["round"] for r in rows][:3] == ["0", "1", "1"]
    assert all(float(r["final_test_accuracy"]) > 0 for r in rows)


def _weights(store: Path) -> set[str]:
    return {str(p.relative_to(store)) for p in store.rglob("*.pt")}


def test_gc_removes_only_weights_nothing_reads_and_the_runs_stay_sound(
    write_entry: Callable[..., Path], store: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    flags = _trained(write_entry, store, capsys)
    assert main(["run", "tiny", *flags, "--quiet", "--json"]) == 0  # read from the store
    before = capsys.readouterr().out
    weights = _weights(store)
    assert main(["gc", *flags, "--dry-run"]) == 0
    report = capsys.readouterr().out
    assert f"store {store}" in report and "would free" in report and "init.pt" in report
    assert _weights(store) == weights  # a dry run removes nothing
    assert main(["gc", *flags]) == 0
    assert "freed" in capsys.readouterr().out
    kept = _weights(store)
    assert kept < weights
    # round 0 keeps everything; the last round's ticket keeps its final weights (an
    # extension prunes from them); controls keep only their masks
    assert main(["run", "tiny", *flags, "--quiet", "--json"]) == 0  # nothing retrained
    assert capsys.readouterr().out == before
    assert _weights(store) == kept
    longer = {**LOTTERY, "method": {**LOTTERY["method"], "params": {
        **LOTTERY["method"]["params"], "rounds": 4}}}  # fmt: skip
    write_entry(longer)
    assert main(["run", "tiny", *flags, "--quiet", "--json"]) == 0  # round 4 from round 3
    trained = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert sorted((r["round"], r.get("control", "")) for r in trained) == [
        (4, ""),
        (4, "random_reinit"),
    ]


def test_keep_weights_false_removes_them_as_it_goes_and_changes_no_run_id(
    write_entry: Callable[..., Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ids = {}
    for keep in (True, False):
        data = {**LOTTERY, "training": {**LOTTERY["training"], "keep_weights": keep}}
        path = write_entry(data)
        store = tmp_path / f"store-{keep}"
        assert main(["run", str(path), "--store", str(store), "--quiet", "--json"]) == 0
        records = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
        ids[keep] = sorted((r["run_id"], r["final_test_loss"]) for r in records)
        if not keep:
            assert len(_weights(store)) < len(_weights(tmp_path / "store-True"))
    assert ids[True] == ids[False]


def test_tensorboard_gets_every_run_once(
    write_entry: Callable[..., Path], store: Path, tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    path = write_entry(LOTTERY)
    board = tmp_path / "board"
    args = ["run", str(path), "--store", str(store), "--quiet", "--tensorboard", str(board)]
    assert main(args) == 0
    assert "TensorBoard: 7 new runs" in capsys.readouterr().err
    assert list((board / "tiny" / "seed_0" / "run").glob("events.out.tfevents.*"))
    assert list((board / "tiny" / "seed_0" / "round_2-control_random_reinit").glob("events*"))
    assert main(args) == 0
    assert "TensorBoard: 0 new runs" in capsys.readouterr().err


def test_the_readme_override_and_budget_work_on_every_shipped_entry() -> None:
    import re

    from lthbench.runner.resolve import select

    readme = (Path(__file__).parents[1] / "README.md").read_text()
    examples = set(re.findall(r"`--set ([^`\s]+)`", readme))
    assert examples, "the README shows a --set example"
    for example in examples:
        assert len(select([], overrides=[example], budget=0.05)) == len(select([]))


def test_the_readme_states_the_measured_time_of_its_main_command() -> None:
    """The set-up time a new user reads is the bench's measurement of that very command."""
    import re

    root = Path(__file__).parents[1]
    readme = " ".join((root / "README.md").read_text().split())
    stated = re.search(r"([0-9.]+) minutes with the default flags", readme)
    page = (root / "leaderboards" / "performance.md").read_text()
    measured = re.search(r"its output a pipe\) took \*\*([0-9.]+) min\*\*", page) or re.search(
        r"\| the README's main command, fresh store, minutes\s*\|\s*([0-9.]+)", page
    )  # the page's prose since the main command is timed line by line; its row before
    assert stated and measured, "both the README and the bench page give the figure"
    assert float(stated.group(1)) == round(float(measured.group(1)), 1)


def test_tensorboard_keeps_variants_apart_and_is_refused_before_training_without_it(
    write_entry: Callable[..., Path], store: Path, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    import importlib.util

    path = write_entry({"training": {"duration": "40it", "eval_interval": "20it"}, "seeds": [0]})
    board = tmp_path / "board"
    base = ["run", str(path), "--store", str(store), "--quiet", "--tensorboard", str(board)]
    assert main(base) == 0
    assert main([*base, "--budget", "0.5"]) == 0
    assert list((board / "tiny" / "seed_0" / "run").glob("events*"))
    assert list((board / "tiny" / "budget_0.5" / "seed_0" / "run").glob("events*"))
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "tensorboard" else real(name, *a))  # fmt: skip
    fresh = tmp_path / "fresh"
    capsys.readouterr()
    assert (
        main(["run", str(path), "--store", str(fresh), "--quiet", "--tensorboard", str(board)]) == 2
    )
    assert "TensorBoard is not installed" in capsys.readouterr().err
    assert not (fresh / "runs").exists()  # refused before anything trained


def test_new_refuses_an_id_the_other_tier_has(
    write_entry: Callable[..., Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_entry(LOTTERY)
    other = path.parent / "paper"
    other.mkdir()
    write_entry({"tier": "paper"}, name="taken").rename(other / "taken.yaml")
    assert main(["new", "taken", "--from", "tiny", "--registry", str(path.parent)]) == 2
    assert "an entry of that id exists" in capsys.readouterr().err
    assert not (path.parent / "taken.yaml").exists()


NO_TORCH = """
import sys
from lthbench.cli import main
code = main(sys.argv[1:])
print(code, "torch" in sys.modules, "timm" in sys.modules)
"""


def test_export_and_a_one_file_validate_import_no_torch(
    write_entry: Callable[..., Path], store: Path, tmp_path: Path
) -> None:
    """Importing torch and timm takes seconds: reading commands never need them (``validate
    --fit`` builds the networks, and so does)."""
    import subprocess
    import sys

    path = write_entry({"seeds": [0], "training": {"duration": "40it"}})
    assert main(["run", str(path), "--store", str(store), "--quiet"]) == 0

    def imports(*argv: str) -> str:
        done = subprocess.run([sys.executable, "-c", NO_TORCH, *argv], capture_output=True,
                              text=True, timeout=120, check=True)  # fmt: skip
        return done.stdout.strip().splitlines()[-1]

    assert imports("validate", str(path)) == "0 False False"
    bundle = tmp_path / "out.zip"
    assert imports("export", str(path), "--store", str(store), "--out", str(bundle)) == (
        "0 False False"
    )
    assert imports("validate", "--fit", str(path)) == "0 True True"
