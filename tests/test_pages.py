"""Methods own their pages: a method registered outside lthbench runs, is checked and gets a
page, with nothing under lthbench/ changed for it; a page exists exactly when its method has
entries."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from lthbench.cli import main
from tests import toy_method  # noqa: F401 - registers the toy method
from tests.conftest import tree


def test_a_toy_method_from_the_tests_folder_runs_is_checked_and_gets_its_page(
    write_entry: Callable[..., Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    learns = {"id": "T-learns", "statement": "above chance", "metric": "final_test_accuracy",
              "op": ">", "reference": 0.1, "kind": "lthbench", "source": "lthbench test"}  # fmt: skip
    registry = write_entry({"method": {"name": "toy_half_budget"}, "seeds": [0, 1],
                            "claims": [learns]}, name="toy").parent  # fmt: skip
    out = tmp_path / "boards"
    args = ["--registry", str(registry), "--store", str(tmp_path / "store"), "--out", str(out)]
    assert main(["reproduce", *args, "--quiet"]) == 0
    printed = capsys.readouterr().out
    assert "lthbench checks: 1/1 reproduced" in printed
    pages = tree(out)
    assert set(pages) == {"index.md", "toy_half_budget.md"}  # no page for methods without entries
    page = pages["toy_half_budget.md"].decode()
    assert page.startswith("# toy_half_budget") and "### toy" in page and "T-learns" in page
    assert "4 stored results" in page  # two seeds × (full budget, half budget)
    assert "[toy_half_budget](toy_half_budget.md)" in pages["index.md"].decode()


def test_show_check_and_leaderboard_build_no_model(
    write_entry: Callable[..., Path], tmp_path: Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    """Reading results never trains and never builds a network: with timm's create_model made
    to raise, show, check and leaderboard give what they gave before."""
    import timm

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
        assert main(["check", *store, "--json"]) == 0
        assert main(["leaderboard", *store, "--out", str(tmp_path / "after")]) == 0
        return capsys.readouterr().out, tree(tmp_path / "after")

    expected = read()

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("a read built a model")

    monkeypatch.setattr(timm, "create_model", refuse)
    assert read() == expected
    assert tree(tmp_path / "after") == tree(tmp_path / "before")
