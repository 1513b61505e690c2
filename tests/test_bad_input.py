"""Bad input gets one clear line (file, key, what is allowed), exit status 2, nothing written."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from lthbench.cli import main
from tests.conftest import tree

LOTTERY: dict[str, Any] = {"method": {"name": "lottery"}}

EARLY_BIRD: dict[str, Any] = {
    "model": {"name": "mnist1d_cnn", "kwargs": {"hidden": None}},
    "method": {"name": "early_bird"},
    "training": {"duration": "10ep", "eval_interval": "1ep"},
}

A_CLAIM = {
    "id": "X",
    "statement": "s",
    "metric": "final_test_accuracy",
    "op": ">=",
    "reference": 0.5,
}
VECTORISED_LOTTERY = {  # a lottery that asks for vectorised rounds, refused for other reasons
    "name": "lottery",
    "params": {"rounds": 1, "prune_fraction": 0.5, "controls": ["random_reinit"],
               "vectorise": True},
}  # fmt: skip
BAD_ENTRIES: dict[str, tuple[dict[str, Any] | str, str]] = {
    "unknown key": ({"epochs": 3}, "epochs: unknown key"),
    "a key typo": ({"training": {"duraton": "3ep"}}, "unknown key; did you mean 'duration'?"),
    "a params key typo": (
        {
            "method": {
                "name": "lottery",
                "params": {"rounds": 1, "prune_fraction": 0.5, "stratgy": "oneshot"},
            }
        },
        "method.params.stratgy: unknown key; did you mean 'strategy'?",
    ),
    "wrong type": ({"training": {"lr": "fast"}}, "training.lr"),
    "wrong type echoes the value": ({"seeds": [0, "one"]}, "(given: 'one')"),
    "a claim no round reaches": (
        {
            "method": {"name": "lottery", "params": {"rounds": 2, "prune_fraction": 0.2}},
            "claims": [{**A_CLAIM, "kind": "lthbench", "where": {"density": 0.05}}],
        },
        "claims[0].where.density: 0.05 is not within a factor 1.25 of any round's density",
    ),
    "unknown timm model": ({"model": {"name": "resnet_9000"}}, "model.name: unknown timm model"),
    "unknown dataset": (
        {"dataset": {"name": "svhn"}},
        "dataset.name: unknown dataset 'svhn'; allowed:",
    ),
    "unknown method": (
        {"method": {"name": "snip"}},
        "method.name: unknown method 'snip'; allowed:",
    ),
    "unknown method param": (
        {"method": {"params": {"rounds": 3}}},
        "method.params.rounds: unknown key",
    ),
    "negative seed": ({"seeds": [-1]}, "seeds[0]"),
    "duplicate seeds": ({"seeds": [1, 1]}, "seeds: duplicate seeds [1]"),
    "no seeds": ({"seeds": []}, "seeds"),
    "bad duration": (
        {"training": {"duration": "3 epochs"}},
        "training.duration: '3 epochs' is not a duration",
    ),
    "zero duration": (
        {"training": {"duration": "0it"}},
        "training.duration: must be longer than 0it",
    ),
    "absurd duration": ({"training": {"duration": "1000000000000it"}}, "training.duration"),
    "batch size zero": ({"training": {"batch_size": 0}}, "training.batch_size"),
    "missing key": ({"training": None}, "training: required key is missing"),
    "bad tier": ({"tier": "huge"}, "tier: allowed: 'embedded' or 'paper'"),
    "unknown generation parameter": (
        {"dataset": {"generation": {"noise": 0.1}}},
        "dataset.generation.noise: unknown parameter of mnist1d; allowed:",
    ),
    "ill-typed generation parameter": (
        {"dataset": {"generation": {"seed": 1.5}}},
        "dataset.generation.seed: 1.5 is not like the default 42",
    ),
    "generation of a shipped dataset": (
        {"dataset": {"name": "digits", "generation": {"seed": 1}}},
        "dataset.generation: digits is not generated",
    ),
    "paper claim without a quote": (
        {"claims": [{**A_CLAIM, "source": "Table 2"}]},
        "source must quote the paper",
    ),
    "claim given an unknown claim": (
        {"claims": [{**A_CLAIM, "kind": "lthbench", "given": ["Y"]}]},
        "claims[0].given: 'Y' is no claim of this entry",
    ),
    "vectorise a bf16 run": (
        {"precision": "bf16", "method": VECTORISED_LOTTERY},
        "method.params.vectorise: cannot vectorise: precision bf16",
    ),
    "vectorise with channels_last": (
        {"training": {"channels_last": True}, "method": VECTORISED_LOTTERY},
        "method.params.vectorise: cannot vectorise: training.channels_last",
    ),
    "vectorise without controls": (
        {
            "method": {
                "name": "lottery",
                "params": {"rounds": 1, "prune_fraction": 0.5, "vectorise": True},
            }
        },
        "method.params.vectorise: cannot vectorise: without controls",
    ),
    "fractional cpus": ({"resources": {"cpus": 0.5}}, "resources.cpus"),
    "zero cpus": ({"resources": {"cpus": 0}}, "resources.cpus"),
    "fused_optimizer not a boolean": (
        {"training": {"fused_optimizer": "maybe"}},
        "training.fused_optimizer",
    ),
    "bad optimizer": ({"training": {"optimizer": "lion"}}, "training.optimizer"),
    "nesterov with adam": ({"training": {"nesterov": True}}, "nesterov needs optimizer 'sgd'"),
    "id not file name": ({"id": "other"}, "id: 'other' must equal the file name"),
    "id with path": ({"id": "../evil"}, "id: String should match pattern"),
    "claim with unknown metric": (
        {
            "claims": [
                {
                    "id": "X",
                    "statement": "s",
                    "metric": "accuracy",
                    "op": ">=",
                    "reference": 1.0,
                    "kind": "lthbench",
                }
            ]
        },
        "claims[0].metric: unknown metric 'accuracy'",
    ),
    "model does not fit data": (
        {"model": {"name": "resnet18", "kwargs": None}},
        "model.name: resnet18 does not accept inputs",
    ),
    "bad model kwargs": ({"model": {"kwargs": {"depth": 3}}}, "model.kwargs"),
    "warmup past the end": (
        {"training": {"warmup": "1000it"}},
        "training.warmup: 1000it is longer",
    ),
    "milestone past the end": ({"training": {"milestones": ["5ep"]}}, "training.milestones[0]"),
    "batch larger than data": (
        {"training": {"batch_size": 4000}},
        "training.batch_size: 4000 exceeds",
    ),
    "validation split too large": (
        {"dataset": {"validation_size": 4000}},
        "dataset.validation_size",
    ),
    "early_bird early decay without milestones": (
        {
            **EARLY_BIRD,
            "method": {"name": "early_bird", "params": {"search_schedule": "early_decay"}},
        },
        "method.params.search_schedule: 'early_decay' moves the entry's first milestone",
    ),
    "early_bird shorter than its window": (
        {**EARLY_BIRD, "training": {"duration": "4ep", "eval_interval": "1ep"}},
        "training.duration: 4ep gives 4 evaluations (every 1ep), fewer than the detector's window of 5",
    ),
    "early_bird ratio out of range": (
        {**EARLY_BIRD, "method": {"name": "early_bird", "params": {"ratios": [1.5]}}},
        "method.params.ratios[0]",
    ),
    "early_bird claim at an untracked ratio": (
        {
            **EARLY_BIRD,
            "claims": [
                {
                    "id": "X",
                    "statement": "s",
                    "kind": "lthbench",
                    "metric": "drawn",
                    "op": ">=",
                    "reference": 1.0,
                    "where": {"ratio": 0.9},
                }
            ],
        },
        "where.ratio: 0.9 is not among this entry's ratios",
    ),
    "lottery claim selected by ratio": (
        {
            "method": {"name": "lottery", "params": {"rounds": 1, "prune_fraction": 0.2}},
            "claims": [
                {
                    "id": "X",
                    "statement": "s",
                    "kind": "lthbench",
                    "metric": "density",
                    "op": ">=",
                    "reference": 0.5,
                    "where": {"ratio": 0.5},
                }
            ],
        },
        "claims[0].where.ratio: not a field of method 'lottery''s records (LotteryRecord); "
        "allowed: control, density,",
    ),
    "claim compared with an entry that does not exist": (
        {
            "method": {"name": "lottery", "params": {"rounds": 1, "prune_fraction": 0.2}},
            "claims": [
                {
                    "id": "X",
                    "statement": "s",
                    "kind": "lthbench",
                    "metric": "final_test_accuracy",
                    "op": ">=",
                    "reference": "entry:no-such-entry",
                    "where": {"density": 0.8},
                }
            ],
        },
        "claims[0].reference: entry:no-such-entry names no entry",
    ),
    "claim where key misspelt": (
        {
            "method": {"name": "lottery", "params": {"rounds": 1, "prune_fraction": 0.2}},
            "claims": [
                {
                    "id": "X",
                    "statement": "s",
                    "kind": "lthbench",
                    "metric": "density",
                    "op": ">=",
                    "reference": 0.5,
                    "where": {"densty": 0.8},
                }
            ],
        },
        "claims[0].where.densty: not a field of method 'lottery''s records (LotteryRecord)",
    ),
    "sibling selection misspelt": (
        {
            "method": {"name": "lottery", "params": {"rounds": 1, "prune_fraction": 0.2}},
            "claims": [
                {
                    "id": "X",
                    "statement": "s",
                    "kind": "lthbench",
                    "metric": "final_test_accuracy",
                    "op": ">=",
                    "reference": "entry:tiny",
                    "reference_where": {"ratoi": 0.7},
                }
            ],
        },
        "claims[0].reference_where.ratoi: not a field of any method's records",
    ),
    "claim metric misspelt": (
        {
            "method": {"name": "lottery", "params": {"rounds": 1, "prune_fraction": 0.2}},
            "claims": [
                {
                    "id": "X",
                    "statement": "s",
                    "kind": "lthbench",
                    "metric": "final_test_acuracy",
                    "op": ">=",
                    "reference": 0.5,
                }
            ],
        },
        "claims[0].metric: unknown metric 'final_test_acuracy' for method 'lottery'",
    ),
    "prune fraction zero": (
        {**LOTTERY, "method": {"name": "lottery", "params": {"rounds": 2, "prune_fraction": 0.0}}},
        "method.params.prune_fraction",
    ),
    "prune fraction one": (
        {**LOTTERY, "method": {"name": "lottery", "params": {"rounds": 2, "prune_fraction": 1.0}}},
        "method.params.prune_fraction",
    ),
    "zero rounds": (
        {**LOTTERY, "method": {"name": "lottery", "params": {"rounds": 0, "prune_fraction": 0.2}}},
        "method.params.rounds",
    ),
    "target density unreachable": (
        {
            **LOTTERY,
            "method": {"name": "lottery", "params": {"rounds": 2, "target_density": 1.0e-7}},
        },
        "method.params.target_density: after 2 rounds hidden.0 would keep",
    ),
    "pruning point before the rewind point": (
        {
            **LOTTERY,
            "method": {
                "name": "lottery",
                "params": {"rounds": 1, "prune_fraction": 0.2, "reset": "40it", "prune_at": "20it"},
            },
        },
        "method.params.prune_at: 20it is before the rewind point 40it",
    ),
    "rewind point past the end": (
        {
            **LOTTERY,
            "method": {
                "name": "lottery",
                "params": {"rounds": 1, "prune_fraction": 0.2, "reset": "1000it"},
            },
        },
        "method.params.reset: rewind point 1000it is not before the end of training",
    ),
    "id with a slash": ({"id": "a/b"}, "id: String should match pattern"),
    "a NaN learning rate": (
        {"training": {"lr": float("nan")}},
        "training.lr: Input should be a finite number",
    ),
    "YAML syntax error": ("id: tiny\nmodel: [unclosed\n", "YAML error at line"),
    "empty file": ("", "the file is empty"),
    "a list": ("- id: tiny\n", "(top level): an entry is a mapping of keys, not a list"),
    "duplicate key": ("id: tiny\nid: tiny\n", "duplicate key 'id'"),
    "billion laughs": (
        'a: &a ["lol","lol"]\nb: &b [*a,*a,*a]\nc: [*b,*b,*b]\n',
        "aliases (*name) are not allowed",
    ),
}


def _write(write_entry: Callable[..., Path], content: dict[str, Any] | str) -> Path:
    if isinstance(content, str):
        path = write_entry()
        path.write_text(content)
        return path
    return write_entry(content, name="tiny")


@pytest.mark.parametrize("case", sorted(BAD_ENTRIES))
@pytest.mark.parametrize("command", ["validate", "run"])
def test_bad_entry_is_one_clear_line_and_writes_nothing(
    case: str, command: str, write_entry: Callable[..., Path], store: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    content, expected = BAD_ENTRIES[case]
    path = _write(write_entry, content)
    before = tree(store)
    # validate --fit builds the network as run does (plain validate imports no torch)
    args = ([command, str(path), "--store", str(store), "--quiet"] if command == "run"
            else [command, "--fit", str(path)])  # fmt: skip
    assert main(args) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    assert str(path) in err, err
    assert expected in err, err
    assert tree(store) == before


def test_unknown_entry_id(store: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "no-such-entry", "--store", str(store)]) == 2
    assert "unknown entry 'no-such-entry'" in capsys.readouterr().err
    assert not store.exists()


def test_missing_data_says_where_to_put_it(
    tmp_path: Path, store: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["run", "cifar10-conv2-dense", "--store", str(store), "--data-root", str(tmp_path)])
    assert code == 2
    err = capsys.readouterr().err
    assert "dataset cifar10 not found: put" in err and str(tmp_path / "cifar-10-batches-py") in err
    assert not store.exists()


def test_one_bad_entry_stops_the_whole_run_before_anything_is_written(
    write_entry: Callable[..., Path], store: Path
) -> None:
    write_entry(name="tiny")
    bad = write_entry({"id": "tiny2", "training": {"warmup": "1000it"}}, name="tiny2")
    assert main(["run", str(bad.parent), "--store", str(store), "--quiet"]) == 2
    assert not store.exists()


def test_negative_seed_flag(store: Path, write_entry: Callable[..., Path]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["run", str(write_entry()), "--seed", "-3", "--store", str(store)])
    assert exit_info.value.code == 2
    assert not store.exists()


def test_shipped_registry_is_valid(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", "registry"]) == 0
    assert "entries valid" in capsys.readouterr().out


def test_duplicate_entry_ids_in_one_registry(
    write_entry: Callable[..., Path], store: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    first = write_entry(name="tiny")
    for folder in ("a", "b"):
        (first.parent / folder).mkdir()
        (first.parent / folder / "tiny.yaml").write_text(first.read_text())
    first.unlink()
    assert main(["run", str(first.parent), "--store", str(store), "--quiet"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "id: duplicate entry id 'tiny'" in err, err
    assert not store.exists()


def test_a_file_with_several_problems_lists_them_all(
    write_entry: Callable[..., Path], capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_entry({"epochs": 3, "training": {"lr": "fast"}}, name="tiny")
    assert main(["validate", str(path)]) == 2
    err = capsys.readouterr().err
    assert "epochs: unknown key" in err and "training.lr" in err and "more problem" not in err


def test_validate_reports_every_bad_file(
    write_entry: Callable[..., Path], capsys: pytest.CaptureFixture[str]
) -> None:
    good = write_entry(name="tiny")
    write_entry({"id": "bad1", "epochs": 3}, name="bad1")
    write_entry({"id": "bad2", "model": {"name": "resnet10"}}, name="bad2")
    assert main(["validate", str(good.parent)]) == 2
    out, err = capsys.readouterr()
    assert "bad1.yaml: epochs: unknown key" in err
    assert "bad2.yaml: model.name: unknown timm model 'resnet10'" in err
    assert "did you mean: resnet10t," in err  # the close spelling first
    assert "1 entry valid, 2 with problems" in out
    assert main(["validate", str(good.parent), "--json"]) == 2
    report = json.loads(capsys.readouterr().out)
    assert report["valid"] == [str(good)] and len(report["problems"]) == 2


def test_a_set_typo_is_blamed_on_the_set(
    write_entry: Callable[..., Path], store: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_entry(name="tiny")
    args = ["run", str(path), "--store", str(store), "--set", "training.duraton=300it"]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "--set training.duraton=300it: unknown key; did you mean 'duration'?" in err
    assert not store.exists()


def test_refused_commands_write_nothing(
    write_entry: Callable[..., Path], store: Path, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    """Ray missing, --jobs 0, more threads than cores, or pages with no results over the
    published ones: one line, exit 2, and nothing written (no variants index, no pages)."""
    import importlib.util

    path = write_entry({"training": {"duration": "40it"}})
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "ray" else real(name, *a))  # fmt: skip
    reduced = ["run", str(path), "--store", str(store), "--budget", "0.5", "--quiet"]
    assert main([*reduced, "--executor", "ray"]) == 2
    assert main([*reduced, "--jobs", "0"]) == 2
    many = write_entry({"resources": {"cpus": 512}}, name="greedy")
    assert main(["run", str(many), "--store", str(store), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert (
        "Ray is not installed" in err
        and "--jobs: 0" in err
        and "resources.cpus: 512 torch threads" in err
    )
    assert tree(store) == {}
    store.mkdir()  # an empty store (a missing one is refused as a mistyped --store)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "leaderboards").mkdir()
    (tmp_path / "leaderboards" / "index.md").write_text("published")
    assert main(["leaderboard", str(path), "--store", str(store), "--out", "leaderboards"]) == 2
    assert "holds no result of these entries" in capsys.readouterr().err
    assert (tmp_path / "leaderboards" / "index.md").read_text() == "published"


def test_a_layer_pattern_matching_no_module_is_refused_before_training(
    write_entry: Callable[..., Path], store: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A mistyped ``exclude`` or ``layer_fractions`` pattern would change the run's identity
    and nothing else."""
    params = {"rounds": 1, "prune_fraction": 0.5, "exclude": ["fcc*"]}
    path = write_entry({"method": {"name": "lottery", "params": params}})
    for command in (["validate", "--fit", str(path)],
                    ["run", str(path), "--store", str(store), "--quiet"]):  # fmt: skip
        assert main(command) == 2
        err = capsys.readouterr().err
        assert "'fcc*'" in err and "match no module" in err, err
    assert not store.exists()


def test_reads_refuse_a_missing_store_and_list_shows_the_valid_entries(
    write_entry: Callable[..., Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_entry()
    for command in ("check", "show", "export", "gc"):
        extra = ["--out", str(tmp_path / "x.zip")] if command == "export" else []
        target = ["tiny"] if command == "show" else []
        assert main([command, *target, "--registry", str(path.parent), "--store",
                     str(tmp_path / "stroe"), *extra]) == 2  # fmt: skip
        assert "no such store" in capsys.readouterr().err
    assert not (tmp_path / "stroe").exists() and not (tmp_path / "x.zip").exists()
    (path.parent / "broken.yaml").write_text("id: broken\nmodel: [unclosed\n")
    assert main(["list", "--registry", str(path.parent)]) == 2
    out, err = capsys.readouterr()
    assert "tiny" in out and "broken.yaml" in err and len(err.splitlines()) == 1
    assert main(["show", "abc", "--registry", str(path.parent), "--store", str(tmp_path)]) == 2
    assert "at least 4 characters" in capsys.readouterr().err
