"""Sparse training from scratch: ERK densities by the RigL paper's formula, every layer's
density constant under SET and RigL, RigL's growth by the largest dense gradients, regrown
weights at zero, and a crash resuming to the same bits."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import torch

from lthbench.methods.sparse_training import SparseTraining, SparseTrainingParams
from lthbench.methods.sparse_training.identity import sparse_extra
from lthbench.methods.sparse_training.train import train_seed
from lthbench.prune import dynamic
from lthbench.prune.dynamic import drop_and_grow
from lthbench.prune.sparsity import layer_densities
from lthbench.run import Context
from lthbench.runner.resolve import load_experiment
from lthbench.store import RunStore

CPU = torch.device("cpu")
NO_ROOT = Path("/nonexistent")
SIZES = {"hidden.0.weight": (32, 40), "hidden.1.weight": (16, 32)}


def sparse_entry(**params: Any) -> dict[str, Any]:
    given = {"update": "rigl", "baselines": ["set", "static"], "densities": [0.3],
             "update_interval": "20it", "drop_fraction": 0.3, **params}  # fmt: skip
    return {"method": {"name": "sparse_training", "params": given}, "seeds": [0],
            "training": {"eval_interval": "20it"}}  # fmt: skip


def test_erk_densities_follow_the_rigl_formula() -> None:
    """ERK (Evci et al. 2020, §3): density_l = ε (Σ dims_l) / (Π dims_l), ε set so that the
    kept weights total the target; a layer above 1 is made dense and ε found again."""
    shapes = {"conv": (4, 1, 3, 3), "fc1": (100, 400), "fc2": (10, 100)}
    sizes = {"conv": 36, "fc1": 40_000, "fc2": 1000}
    out = layer_densities(shapes, 0.2, "erk")
    # by hand: budget 0.2 · 41036 = 8207.2 weights; Σ dims: conv 11, fc1 500, fc2 110.
    # ε = 8207.2 / 621 = 13.2 puts conv at 13.2 · 11/36 = 4.0 > 1: conv dense;
    # ε = (8207.2 − 36) / 610 = 13.4 puts fc2 at 13.4 · 110/1000 = 1.47 > 1: fc2 dense;
    # ε = (8207.2 − 36 − 1000) / 500 = 14.34 puts fc1 at 14.34 · 500/40000 = 0.179
    epsilon = (8207.2 - 36 - 1000) / 500
    assert out == pytest.approx({"conv": 1.0, "fc1": epsilon * 500 / 40_000, "fc2": 1.0})
    assert sum(out[n] * sizes[n] for n in sizes) == pytest.approx(0.2 * sum(sizes.values()))
    shapes = {"conv": (16, 3, 3, 3), "fc1": (100, 400), "fc2": (10, 100)}
    sizes = {"conv": 432, "fc1": 40_000, "fc2": 1000}
    out = layer_densities(shapes, 0.1, "erk")  # no layer saturates: one ε for all
    epsilon = 0.1 * sum(sizes.values()) / (25 + 500 + 110)
    assert out == pytest.approx({"conv": epsilon * 25 / 432, "fc1": epsilon * 500 / 40_000,
                                 "fc2": epsilon * 110 / 1000})  # fmt: skip
    assert layer_densities(shapes, 0.1, "uniform") == dict.fromkeys(shapes, 0.1)
    dense_first = layer_densities(shapes, 0.1, "erk", dense=frozenset({"conv"}))
    assert dense_first["conv"] == 1.0
    assert sum(dense_first[n] * sizes[n] for n in ("fc1", "fc2")) == pytest.approx(0.1 * 41_000)


def test_rigl_grows_the_inactive_weights_with_the_largest_gradients() -> None:
    mask = {"w": torch.tensor([True, True, True, True, False, False, False, False, False, False])}
    weights = {"w": torch.tensor([0.9, -0.05, 0.4, 0.01, 0, 0, 0, 0, 0, 0])}
    gradients = {"w": torch.tensor([5.0, 0, 0, 0, 0.1, -3.0, 0.2, 2.0, 0, -0.3])}
    new = drop_and_grow({"w": weights["w"].abs()}, {"w": gradients["w"].abs()}, mask, 0.5)
    # two of four active go (0.01 and -0.05), two grow: |−3.0| and |2.0|, not the 5.0 (active)
    assert new["w"].tolist() == [True, False, True, False, False, True, False, True, False, False]
    assert int(new["w"].sum()) == int(mask["w"].sum())


def _train(write_entry: Callable[..., Path], store: Path, **params: Any) -> Context:
    experiment = load_experiment(write_entry(sparse_entry(**params)))
    context = Context(experiment, 0, RunStore(store), NO_ROOT, CPU, False, checkpoint_seconds=0)
    train_seed(context, experiment.params)
    return context


def test_every_layer_keeps_its_density_and_regrown_weights_start_at_zero(
    write_entry: Callable[..., Path], store: Path
) -> None:
    context = _train(write_entry, store)
    params: SparseTrainingParams = context.experiment.params
    expected = layer_densities(SIZES, 0.3, "erk")
    counts = {k: round(expected[k] * torch.Size(s).numel()) for k, s in SIZES.items()}
    starts = {}
    for update in ("rigl", "set", "static"):
        run = context.run_for(sparse_extra(params, 0.3, update))
        start, final, mask = run.state("init"), run.state("final"), run.mask()
        assert {k: int(m.sum()) for k, m in mask.items()} == counts
        assert all(torch.count_nonzero(final[k][~keep]) == 0 for k, keep in mask.items())
        starts[update] = {k: start[k] != 0 for k in SIZES}
        assert [r["density"] for r in run.log()] == [sum(counts.values()) / 1792] * 7
        if update == "static":
            assert all(torch.equal(mask[k], start[k] != 0) for k in SIZES)
        else:  # the connectivity changed
            assert any(not torch.equal(mask[k], start[k] != 0) for k in SIZES)
    # every update starts from the same initial mask
    assert all(
        torch.equal(starts["rigl"][k], starts[u][k]) for u in ("set", "static") for k in SIZES
    )


@pytest.mark.parametrize("update", ["rigl", "set"])
def test_regrown_weights_start_as_each_paper_says_with_their_moments_cleared(
    update: str, write_entry: Callable[..., Path], store: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Right after an update, a grown weight is 0 under RigL and drawn from the
    initialisation's distribution under SET (non-zero), its Adam moments 0; a dropped weight's
    moments too (so no stale moment revives it)."""
    seen: list[tuple[Any, ...]] = []
    replace = dynamic.DynamicMask.replace

    def spy(self: Any, new: Any, optimizer: Any, grown: Any = None) -> None:
        before = {k: m.clone() for k, m in self.mask.items()}
        replace(self, new, optimizer, grown)
        if optimizer is not None:
            seen.append((before, {k: m.clone() for k, m in self.mask.items()},
                         {k: p.detach().clone() for k, p in self.parameters.items()},
                         {k: {s: v.clone() for s, v in optimizer.state[p].items()
                              if torch.is_tensor(v) and v.shape == p.shape}
                          for k, p in self.parameters.items()}))  # fmt: skip

    monkeypatch.setattr(dynamic.DynamicMask, "replace", spy)
    _train(write_entry, store, update=update, baselines=[])
    assert len(seen) == 4  # updates after steps 20, 40, 60, 80 (T_end = 90)
    for before, after, values, moments in seen:
        for name in before:
            changed = before[name] ^ after[name]
            grown = after[name] & ~before[name]
            expected = 0 if update == "rigl" else int(grown.sum())
            assert torch.count_nonzero(values[name][grown]) == expected
            for moment in moments[name].values():
                assert torch.count_nonzero(moment[changed]) == 0


def test_a_crash_between_updates_resumes_to_identical_bits(
    write_entry: Callable[..., Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    reference = _train(write_entry, tmp_path / "reference", baselines=[])
    calls = 0

    def crash_on_third(*args: Any) -> Any:
        nonlocal calls
        calls += 1
        if calls == 3:
            raise KeyboardInterrupt
        return drop_and_grow(*args)

    monkeypatch.setattr("lthbench.methods.sparse_training.train.drop_and_grow", crash_on_third)
    with pytest.raises(KeyboardInterrupt):
        _train(write_entry, tmp_path / "crashed", baselines=[])
    monkeypatch.undo()
    resumed = _train(write_entry, tmp_path / "crashed", baselines=[])
    params = reference.experiment.params
    for context in (reference, resumed):
        assert context.run_for(sparse_extra(params, 0.3, "rigl")).result() is not None
    a = reference.run_for(sparse_extra(params, 0.3, "rigl"))
    b = resumed.run_for(sparse_extra(params, 0.3, "rigl"))
    assert all(torch.equal(a.state("final")[k], b.state("final")[k]) for k in a.state("final"))
    assert all(torch.equal(a.mask()[k], b.mask()[k]) for k in a.mask())


def test_training_flops_count_sparse_steps_at_their_density_and_rigls_dense_gradients(
    write_entry: Callable[..., Path], store: Path
) -> None:
    """RigL's appendix H, by hand for the tiny LeNet (forward FLOPs per example: 2·40·32,
    2·32·16 and 2·16·10 in its three layers; the output layer stays dense): a step costs
    3 f_S per example, a RigL update step 2 f_S + f_D; the dense network 3 f_D."""
    context = _train(write_entry, store)
    params = context.experiment.params
    records = {r["control"] or r.get("update", "dense"): r
               for r in SparseTraining().records(context, params)}  # fmt: skip
    layers = {"hidden.0.weight": 2 * 40 * 32, "hidden.1.weight": 2 * 32 * 16}
    dense = sum(layers.values()) + 2 * 16 * 10
    expected = layer_densities(SIZES, 0.3, "erk")
    counts = {k: round(expected[k] * torch.Size(s).numel()) for k, s in SIZES.items()}
    sparse = dense - sum((1 - counts[k] / torch.Size(SIZES[k]).numel()) * f
                         for k, f in layers.items())  # fmt: skip
    batch, steps = 100, 120
    assert records["dense"]["training_flops"] == 3 * dense * batch * steps
    assert records["dense"]["inference_flops"] == dense
    for update in ("static", "set"):
        assert records[update]["training_flops"] == pytest.approx(3 * sparse * batch * steps)
        assert records[update]["inference_flops"] == pytest.approx(sparse)
    rigl = (3 * sparse * steps + 4 * (dense - sparse)) * batch  # 4 updates: at 20, 40, 60, 80
    assert records["rigl"]["training_flops"] == pytest.approx(rigl)
