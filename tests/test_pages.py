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
