"""Every paper-tier entry starts: synthetic files in the real formats (tests/paper_data.py),
each entry end to end for a few steps at a small batch (its budget and evaluations scaled; one
seed; all its rounds, controls, searches and baselines), then its claims checked. Slow (about
15 minutes on one CPU core, 8 of them in the four VGG-19 lottery entries' 41 runs each):
``nox -s paper_smoke`` runs it, in CI too."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from lthbench.claims.check import WORDS
from lthbench.cli import main
from lthbench.methods import METHODS
from lthbench.spec.load import default_registry
from tests.paper_data import write_all

STEPS = 4
"""Training steps of each entry's full-budget run at the smoke's batch size, about (more where
its method needs more evaluations: an Early-Bird detector fills its window first)."""
SMOKE = ["--set", "seeds=[0]", "--set", "dataset.validation_size=10",
         "--set", "training.batch_size=8"]  # fmt: skip
PAPER = sorted(p.stem for p in (default_registry() / "paper").glob("*.yaml"))


@pytest.fixture(scope="module")
def data_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("paper-data")
    write_all(root)
    return root


def _budget(entry: str, capsys: pytest.CaptureFixture[str]) -> str:
    """The budget that gives the entry about STEPS steps, or as many evaluations as its
    method needs at least (an Early-Bird detector fills its window), one per step."""
    capsys.readouterr()
    assert main(["config", entry, *SMOKE]) == 0
    resolved = yaml.safe_load(capsys.readouterr().out)
    method = METHODS[resolved["method"]["name"]]
    params = method.Params.model_validate(resolved["method"]["params"], strict=False)
    steps = max(STEPS, method.min_evaluations(params))
    return f"{min(1.0, steps / resolved['resolved']['total_iterations']):.8f}"


@pytest.mark.slow
@pytest.mark.parametrize("entry", PAPER)
def test_every_paper_entry_starts_and_is_checked(
    entry: str, data_root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    flags = [*SMOKE, "--budget", _budget(entry, capsys), "--store", str(tmp_path / "store")]
    run = ["run", entry, *flags, "--data-root", str(data_root), "--no-verify", "--quiet"]
    assert main(run) == 0, capsys.readouterr().err
    capsys.readouterr()
    assert main(["show", entry, *flags, "--json"]) == 0
    records = json.loads(capsys.readouterr().out)
    # every planned run has a record; at a dozen steps a ticket drawn at the last evaluation
    # has no EB-Train result, so not every record has an accuracy
    assert any(r.get("final_test_accuracy") is not None for r in records)
    assert main(["check", entry, *flags, "--json"]) in (0, 1)  # 1: a required claim refuted
    verdicts = json.loads(capsys.readouterr().out)
    # every claim of the entry has a verdict on its own metric, one of the five words, with its
    # replication probability where it has one
    claims = yaml.safe_load((default_registry() / "paper" / f"{entry}.yaml").read_text()).get(
        "claims", []
    )
    assert [(v["claim_id"], v["metric"]) for v in verdicts] == [
        (c["id"], c["metric"]) for c in claims]  # fmt: skip
    assert all(v["verdict"] in WORDS for v in verdicts)
    assert all(v["verdict"] == "missing" or v["fragile"] or v["replication"] is not None
               for v in verdicts)  # fmt: skip
