"""SNIP, GraSP and SynFlow (lthbench/prune/at_init.py) against hand computations on a two-layer
linear network f(x) = W2 W1 x, where every gradient has a closed form: with p = softmax(f/T)
and e the one-hot label, ∂L/∂W2 = (p − e) h^T / (T n) summed over the batch (h = W1 x) and
∂L/∂W1 = W2^T (p − e) x^T / (T n). The Hessian-vector product of GraSP is checked by central
finite differences of that closed form, in float64."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from lthbench.prune.at_init import GraSP, Snip, SynFlow, synflow_scores
from lthbench.prune.criteria import CRITERIA
from lthbench.prune.scope import remove_global

W1 = "0.weight"
W2 = "1.weight"


def _net(seed: int = 0) -> nn.Sequential:
    torch.manual_seed(seed)
    net = nn.Sequential(nn.Linear(3, 4, bias=False), nn.Linear(4, 2, bias=False)).double()
    return net


def _batch(seed: int = 1, n: int = 5) -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    return torch.randn(n, 3, generator=generator, dtype=torch.float64), torch.randint(
        0, 2, (n,), generator=generator
    )


def _weights(net: nn.Module) -> dict[str, torch.Tensor]:
    return {W1: net[0].weight.detach().clone(), W2: net[1].weight.detach().clone()}


def _gradient(weights: dict[str, torch.Tensor], batch: tuple, temperature: float = 1.0) -> dict:
    """The closed-form gradient of the mean cross-entropy of softmax(W2 W1 x / T)."""
    x, y = batch
    w1, w2 = weights[W1], weights[W2]
    h = x @ w1.T
    p = torch.softmax(h @ w2.T / temperature, dim=1)
    delta = (p - nn.functional.one_hot(y, 2).double()) / (temperature * len(y))
    return {W2: delta.T @ h, W1: (delta @ w2).T @ x}


def test_snip_is_the_hand_computed_connection_sensitivity() -> None:
    net, batch = _net(), _batch()
    weights = _weights(net)
    gradient = _gradient(weights, batch)
    scores = Snip().scores(weights, model=net, batch=batch)
    for name in weights:
        assert torch.allclose(scores[name].double(), (gradient[name] * weights[name]).abs(),
                              rtol=1e-5, atol=1e-7)  # fmt: skip


def test_grasp_is_w_times_the_finite_difference_hessian_gradient_product() -> None:
    net, batch = _net(), _batch()
    weights = _weights(net)
    t = GraSP.temperature
    g = _gradient(weights, batch, t)
    eps = 1e-4
    plus = _gradient({n: w + eps * g[n] for n, w in weights.items()}, batch, t)
    minus = _gradient({n: w - eps * g[n] for n, w in weights.items()}, batch, t)
    scores = GraSP().scores(weights, model=net, batch=batch)
    for name, w in weights.items():
        hessian_gradient = (plus[name] - minus[name]) / (2 * eps)
        expected = (w * hessian_gradient).float()
        assert torch.allclose(scores[name], expected, rtol=1e-3, atol=1e-12)


def test_synflow_scores_are_the_hand_computed_synaptic_flow() -> None:
    """R = 1ᵀ|W2||W1|1: ∂R/∂W2[i, j] = (|W1| 1)_j and ∂R/∂W1[j, k] = (1ᵀ|W2|)_j."""
    net = _net()
    weights = _weights(net)
    a1, a2 = weights[W1].abs(), weights[W2].abs()
    scores = synflow_scores(net, weights, None, (3,))
    assert torch.allclose(scores[W2], a2 * (a1 @ torch.ones(3, dtype=torch.float64))[None, :])
    assert torch.allclose(scores[W1], a1 * (torch.ones(2, dtype=torch.float64) @ a2)[:, None])


def test_synflow_reads_no_data_and_removes_exactly_what_its_iterations_removed() -> None:
    net = _net()
    weights = _weights(net)
    full = {n: torch.ones_like(w, dtype=torch.bool) for n, w in weights.items()}

    def prune_to(scores: dict, exponent: float) -> dict:
        return remove_global(scores, full, 1 - 0.5**exponent)

    context = {"model": net, "prune_to": prune_to, "input_size": (3,)}
    one = SynFlow().scores(weights, batch=_batch(1), **context)
    other = SynFlow().scores(weights, batch=_batch(2, n=9), **context)
    assert all(torch.equal(one[n], other[n]) for n in weights)
    final = remove_global(one, full, 0.5)
    removed = sum(int((~m).sum()) for m in final.values())
    assert removed == round(0.5 * 20)
    for name in weights:  # the scope removes the weights SynFlow's iterations removed
        assert torch.equal(final[name], one[name] > SynFlow.iterations)


def test_scoring_leaves_the_model_untouched_and_all_three_are_registered() -> None:
    net = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.Linear(4, 2))
    before = {k: v.clone() for k, v in net.state_dict().items()}
    weights = {"0.weight": net[0].weight, "2.weight": net[2].weight}
    batch = (torch.randn(6, 3), torch.randint(0, 2, (6,)))
    Snip().scores(weights, model=net, batch=batch)
    GraSP().scores(weights, model=net, batch=batch)
    synflow_scores(net, weights, None, (3,))
    assert all(torch.equal(before[k], v) for k, v in net.state_dict().items())
    assert {"snip", "grasp", "synflow"} <= set(CRITERIA)


def test_every_criterion_through_a_rule_prunes_to_the_rules_counts() -> None:
    """Through PruningRule, per layer and globally: the same weights removed as magnitude
    would remove in number, whatever the criterion."""
    from lthbench.prune.mask import full_mask
    from lthbench.prune.rule import PruningRule

    net = nn.Sequential(nn.Linear(6, 8), nn.ReLU(), nn.Linear(8, 8), nn.ReLU(), nn.Linear(8, 3))
    batch = (torch.randn(10, 6), torch.randint(0, 3, (10,)))
    for scope in ("layerwise", "global"):
        counts = {}
        for criterion in ("magnitude", "snip", "grasp", "synflow"):
            rule = PruningRule(0.2, criterion=criterion, scope=scope)
            weights = {n: w.detach() for n, w in rule.weights(net).items()}
            mask = rule.prune(net, weights, full_mask(weights), 3, batch=batch, input_size=(6,))
            counts[criterion] = {n: int(m.sum()) for n, m in mask.items()}
        if scope == "layerwise":
            assert all(c == counts["magnitude"] for c in counts.values())
        else:
            totals = {c: sum(v.values()) for c, v in counts.items()}
            assert set(totals.values()) == {totals["magnitude"]}


def test_inverted_synflow_removes_the_highest_scoring_weights_at_each_of_its_iterations(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Frankle et al. (2021)'s inversion of an iterative criterion: every iteration removes the
    survivors with the highest synaptic flow (checked by hand, over few iterations that
    leave no tied scores at a cut), so the result is not the plain run's removal order
    reversed (which is what negating the final ranking would give)."""
    from lthbench.prune.mask import full_mask
    from lthbench.prune.rule import PruningRule

    monkeypatch.setattr(SynFlow, "iterations", 4)
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(6, 8), nn.ReLU(), nn.Linear(8, 8), nn.ReLU(), nn.Linear(8, 3))
    rule = PruningRule(0.15, criterion="synflow", scope="global")
    weights = {n: w.detach() for n, w in rule.weights(net).items()}
    full = full_mask(weights)
    inverted = rule.prune(net, weights, full, 1, input_size=(6,), invert=True)

    mask, total = full, sum(w.numel() for w in weights.values())
    for k in range(1, SynFlow.iterations + 1):  # by hand: drop the highest-flow survivors
        scores = synflow_scores(net, weights, mask, (6,))
        keep = total - round((1 - 0.85 ** (k / SynFlow.iterations)) * total)
        alive = sorted(((float(scores[n].flatten()[i]), n, i) for n in weights
                        for i in torch.nonzero(mask[n].flatten()).flatten().tolist()),
                       reverse=True)  # fmt: skip
        cut = len(alive) - keep
        assert alive[cut - 1][0] > alive[cut][0]  # no tie decides what goes
        flat = {n: mask[n].flatten().clone() for n in weights}
        for _, n, i in alive[:cut]:
            flat[n][i] = False
        mask = {n: flat[n].view_as(weights[n]) for n in weights}
    assert all(torch.equal(inverted[n], mask[n]) for n in weights)

    plain_order = SynFlow().scores(weights, model=net, mask=full, input_size=(6,),
                                   prune_to=lambda s, e: remove_global(s, full, 1 - 0.85**e))  # fmt: skip
    reversed_order = remove_global({n: -s for n, s in plain_order.items()}, full, 0.15)
    assert any(not torch.equal(inverted[n], reversed_order[n]) for n in weights)
