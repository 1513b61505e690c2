"""Gradual magnitude pruning (Zhu & Gupta 2017): the density follows the cubic schedule exactly
at every pruning step, holds between them, and the mask holds exactly to the end."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import torch

from lthbench.cli import main
from lthbench.methods.gradual.identity import pruned_extra
from lthbench.prune.sparsity import gradual_sparsity
from lthbench.run import Context
from lthbench.runner.jobs import Job, execute
from lthbench.runner.resolve import load_experiment
from lthbench.store import RunStore

CPU = torch.device("cpu")
NO_ROOT = Path("/nonexistent")
LAYERS = {"hidden.0.weight": 40 * 32, "hidden.1.weight": 32 * 16}  # the tiny LeNet, output dense


def gradual_entry(**params: Any) -> dict[str, Any]:
    given = {"densities": [0.5, 0.1], "start": "20it", "end": "80it", "frequency": "20it",
             **params}  # fmt: skip
    return {"method": {"name": "gradual", "params": given}, "seeds": [0],
            "training": {"eval_interval": "20it"}}  # fmt: skip


def test_the_schedule_is_zhu_and_guptas_cubic_by_hand() -> None:
    # s_f = 0.9, s_i = 0, t0 = 20, nΔt = 60, Δt = 20: s = 0.9 (1 − (1 − p)³), p = 0, 1/3, 2/3, 1
    by_hand = [0.0, 0.9 * (1 - 8 / 27), 0.9 * (1 - 1 / 27), 0.9]
    assert [gradual_sparsity(t, 0.0, 0.9, 20, 80, 20) for t in (20, 40, 60, 80)] == (
        pytest.approx(by_hand)
    )
    assert gradual_sparsity(59, 0.0, 0.9, 20, 80, 20) == gradual_sparsity(40, 0.0, 0.9, 20, 80, 20)
    assert gradual_sparsity(10, 0.0, 0.9, 20, 80, 20) == 0.0
    assert gradual_sparsity(119, 0.0, 0.9, 20, 80, 20) == 0.9


@pytest.mark.parametrize("scope", ["layerwise", "global"])
def test_density_follows_the_schedule_exactly_and_the_mask_holds(
    scope: str, write_entry: Callable[..., Path], store: Path
) -> None:
    path = write_entry(gradual_entry(scope=scope))
    experiment = load_experiment(path)
    records = execute(Job(experiment, 0), RunStore(store), NO_ROOT, CPU, progress=False)
    assert [(r["round"], r["target_density"]) for r in records] == [(0, 1.0), (1, 0.5), (2, 0.1)]
    context = Context(experiment, 0, RunStore(store), NO_ROOT, CPU, False)
    total = sum(LAYERS.values())
    for target in (0.5, 0.1):
        run = context.run_for(pruned_extra(experiment.params, target))
        expected = []
        for t in (0, 20, 40, 60, 80, 100, 120):  # each evaluation sees the last pruning step's
            last = min(max(t, 20), 80) // 20 * 20
            d = 1 - gradual_sparsity(last, 0.0, 1 - target, 20, 80, 20)
            kept = (round(d * total) if scope == "global"
                    else sum(round(d * n) for n in LAYERS.values()))  # fmt: skip
            expected.append(kept / total)
        assert [r["density"] for r in run.log()] == expected
        mask, final = run.mask(), run.state("final")
        assert sorted(mask) == sorted(LAYERS)
        assert all(torch.count_nonzero(final[k][~keep]) == 0 for k, keep in mask.items())
        assert all(
            torch.count_nonzero(final[k][keep]) == int(keep.sum()) for k, keep in mask.items()
        )
        if scope == "layerwise":  # every layer at the final density, by its own count
            assert {k: int(m.sum()) for k, m in mask.items()} == {
                k: round(target * n) for k, n in LAYERS.items()
            }


def test_gradual_entries_refuse_a_schedule_that_cannot_run(
    write_entry: Callable[..., Path], capsys: pytest.CaptureFixture[str]
) -> None:
    for params, expected in (
        ({"frequency": "80it"}, "longer than the schedule from start to end"),
        ({"end": "200it"}, "within the training duration"),
        ({"criterion": "snip"}, "scores at initialisation"),
        ({"densities": [0.1, 0.5]}, "largest first"),
    ):
        assert main(["validate", str(write_entry(gradual_entry(**params)))]) == 2
        assert expected in capsys.readouterr().err
