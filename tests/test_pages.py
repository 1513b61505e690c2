"""Methods own their pages: a method registered outside lthbench runs, is checked and gets a
page, with nothing under lthbench/ changed for it; a page exists exactly when its method has
entries."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest

from lthbench.cli import main
from lthbench.runner.resolve import load_experiment
from tests import toy_method  # noqa: F401 - registers the toy method
from tests.conftest import tree


def test_a_toy_method_from_the_tests_folder_runs_is_checked_and_gets_its_page(
    write_entry: Callable[..., Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    learns = {"id": "T-learns", "statement": "above chance", "metric": "final_test_accuracy",
              "op": ">", "reference": 0.1, "kind": "lthbench", "source": "lthbench test"}  # fmt: skip
    errs = {"id": "T-errs", "statement": "errs on under 90%", "metric": "test_error", "op": "<",
            "reference": 0.9, "kind": "lthbench", "source": "lthbench test"}  # fmt: skip
    registry = write_entry({"method": {"name": "toy_half_budget"}, "seeds": [0, 1],
                            "claims": [learns, errs]}, name="toy").parent  # fmt: skip
    out = tmp_path / "boards"
    args = ["--registry", str(registry), "--store", str(tmp_path / "store"), "--out", str(out)]
    assert main(["reproduce", *args, "--quiet"]) == 0
    printed = capsys.readouterr().out
    assert "lthbench checks: 2/2 reproduced" in printed
    pages = tree(out)
    # no page for methods without entries; the results behind the pages beside them
    assert set(pages) == {"index.md", "toy_half_budget.md", "results.zip"}
    page = pages["toy_half_budget.md"].decode()
    assert page.startswith("# toy_half_budget") and "### toy" in page and "T-learns" in page
    assert "4 stored results" in page  # two seeds × (full budget, half budget)
    # the method's declared unit: the test split's grid (one example), printed in pp
    row = next(line for line in page.splitlines() if line.startswith("| T-errs"))
    test_examples = load_experiment(registry / "toy.yaml").test_examples
    assert f"| {100 / test_examples:.2f} pp " in row and row.count(" pp") >= 4  # mean, ref, Δ, step
    assert "[toy_half_budget](toy_half_budget.md)" in pages["index.md"].decode()


def test_show_check_and_leaderboard_build_no_model(
    write_entry: Callable[..., Path], tmp_path: Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    """Reading results never trains, loads no data and never builds a network: with timm's
    create_model, every dataset's loader, the run layer's training and every method's training
    path made to raise, show, check and leaderboard give what they gave before."""
    import timm

    from lthbench.data import DATASETS
    from lthbench.methods import METHODS
    from lthbench.run import Context
    from tests.test_early_bird import TINY_PARAMS, early_bird_entry

    learns = {"id": "L", "statement": "above chance", "metric": "final_test_accuracy",
              "op": ">", "reference": 0.1, "kind": "lthbench", "source": "lthbench test"}  # fmt: skip
    write_entry({"claims": [learns], "seeds": [0]}, name="tiny")
    write_entry({"method": {"name": "lottery", "params": {"rounds": 2, "prune_fraction": 0.5,
                 "controls": ["random_reinit"]}}, "seeds": [0]}, name="tiny-lottery")  # fmt: skip
    registry = write_entry({**early_bird_entry(TINY_PARAMS), "seeds": [0]}, name="tiny-eb").parent
    store = ["--registry", str(registry), "--store", str(tmp_path / "store")]
    assert main(["reproduce", *store, "--out", str(tmp_path / "before"), "--quiet"]) == 0
    capsys.readouterr()

    def read() -> tuple[str, dict[str, bytes]]:
        assert main(["show", "tiny-eb", *store, "--json"]) == 0
        assert main(["show", "tiny-lottery", *store, "--json"]) == 0
        assert main(["check", *store, "--json"]) == 0
        assert main(["leaderboard", *store, "--out", str(tmp_path / "after")]) == 0
        return capsys.readouterr().out, tree(tmp_path / "after")

    expected = read()

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("a read built a model")

    monkeypatch.setattr(timm, "create_model", refuse)
    monkeypatch.setattr(Context, "train_run", refuse)
    monkeypatch.setattr(Context, "splits", refuse)
    for plugin in {type(d) for d in DATASETS.values()}:
        monkeypatch.setattr(plugin, "load", refuse)
    for method in {type(m) for m in METHODS.values()}:
        monkeypatch.setattr(method, "run", refuse)
    assert read() == expected
    assert tree(tmp_path / "after") == tree(tmp_path / "before")


def test_figures_missing_from_a_run_are_not_computed_by_a_read_but_by_the_next_run(
    write_entry: Callable[..., Path], tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    """A store from before figures were cached: reading says so and counts the run as missing
    (it does not build a model to fill them in); `lthbench run` fills them in and retrains
    nothing."""
    import json

    path = write_entry({"method": {"name": "lottery", "params": {"rounds": 1,
                        "prune_fraction": 0.5}}, "seeds": [0]}, name="tiny-lottery")  # fmt: skip
    store = ["--store", str(tmp_path / "store")]
    assert main(["run", str(path), *store, "--quiet"]) == 0
    capsys.readouterr()
    assert main(["show", str(path), *store, "--json"]) == 0
    complete = json.loads(capsys.readouterr().out)
    assert [r["round"] for r in complete] == [0, 1]
    (figures,) = (tmp_path / "store" / "runs").glob(f"{complete[1]['run_id']}/figures-*.json")
    figures.unlink()
    assert main(["show", str(path), *store, "--json"]) == 0
    captured = capsys.readouterr()
    assert [r["round"] for r in json.loads(captured.out)] == [0]
    assert "mask figures are not computed yet" in captured.err
    stamps = {p: p.stat().st_mtime_ns for p in (tmp_path / "store").rglob("*.pt")}
    assert main(["run", str(path), *store, "--quiet"]) == 0
    assert {p: p.stat().st_mtime_ns for p in (tmp_path / "store").rglob("*.pt")} == stamps
    capsys.readouterr()
    assert main(["show", str(path), *store, "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == complete


def test_pages_define_their_columns_and_show_claims_in_the_metrics_units(
    write_entry: Callable[..., Path], store: Path, tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    claims = [
        {"id": "ACC", "statement": "s", "metric": "final_test_accuracy", "op": ">=",
         "reference": 0.05, "kind": "lthbench"},
        {"id": "IT", "statement": "s", "metric": "early_stop_iteration", "op": "within",
         "reference": [0, 400], "kind": "lthbench"},
    ]  # fmt: skip
    path = write_entry({"claims": claims, "training": {"duration": "80it"}})
    assert main(["run", str(path), "--store", str(store), "--quiet"]) == 0
    assert (
        main(["leaderboard", str(path), "--store", str(store), "--out", str(tmp_path / "p")]) == 0
    )
    for page in (tmp_path / "p").glob("*.md"):
        text = page.read_text()
        assert "**Pm**: the percent of weights remaining" in text
        assert "marked Δ" in text and "error bars" in text
    dense = (tmp_path / "p" / "dense.md").read_text()
    row = next(line for line in dense.splitlines() if line.startswith("| ACC"))
    assert "| 5.00% " in row and "Δ [" in row  # accuracies in %, the margin marked Δ
    cells = [cell.strip() for cell in row.strip("|").split("|")]
    assert cells[-2] == "0.10 pp"  # the step: one test example of 1000, a difference in pp
    # one number format per column: with one seed an accuracy is a bare number of 1000 test
    # examples (x.y0 %), which tabulate's number parsing would print as "x.y"
    one = write_entry({"training": {"duration": "80it"}, "seeds": [0]}, name="one")
    assert main(["run", str(one), "--store", str(store), "--quiet"]) == 0
    assert main(["leaderboard", str(one), "--store", str(store), "--out", str(tmp_path / "q")]) == 0
    summary = next(line for line in (tmp_path / "q" / "dense.md").read_text().splitlines()
                   if line.startswith("| one"))  # fmt: skip
    accuracies = [cell.strip() for cell in summary.strip("|").split("|")][5:7]
    assert all(re.fullmatch(r"\d+\.\d0", cell) for cell in accuracies), accuracies
    row = next(line for line in dense.splitlines() if line.startswith("| IT"))
    assert "[0, 400]" in row  # an interval claim shows its bounds as the reference
    capsys.readouterr()
    assert main(["check", str(path), "--store", str(store)]) == 0
    assert "5.00%" in capsys.readouterr().out  # check prints the same units


def test_dry_run_names_each_runs_place_and_reproduce_says_its_default_tier(
    write_entry: Callable[..., Path], store: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lottery = {"method": {"name": "lottery", "params": {"rounds": 1, "prune_fraction": 0.5,
                                                        "controls": ["random_prune"]}}}  # fmt: skip
    path = write_entry({**lottery, "seeds": [0]})
    assert main(["run", str(path), "--store", str(store), "--dry-run"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("tiny seed 0\t") and lines[2].startswith(
        "tiny seed 0 round 1 control random_prune\t"
    )
    with pytest.raises(SystemExit):
        main(["reproduce", "--help"])
    assert "default: --tier embedded" in capsys.readouterr().out


def test_a_reduced_runs_figure_says_so() -> None:
    """A PNG travels without its page's banner: its title names the variant."""
    from lthbench.report.plots import figure_title
    from lthbench.runner.resolve import load_experiment

    path = Path(__file__).parents[1] / "registry" / "embedded" / "mnist1d-lenet300-lottery.yaml"
    assert figure_title(load_experiment(path)) == "mnist1d-lenet300-lottery"
    reduced = figure_title(load_experiment(path, budget=0.5))
    assert reduced == "mnist1d-lenet300-lottery [reduced: budget 0.5]"
