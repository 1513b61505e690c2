"""Sparsity over layers and over time, against hand computations."""

from __future__ import annotations

import math

import pytest

from lthbench.prune.sparsity import drop_fraction, gradual_sparsity, layer_densities

LENET = {"fc1": (300, 784), "fc2": (100, 300), "fc3": (10, 100)}


def test_erk_by_hand() -> None:
    """At density 0.1: raw scores (sum/product of dims) 1084/235200, 400/30000, 110/1000; the
    first scale (26620 / 1594 = 16.70) pushes fc3 past 1, so fc3 is dense and the scale is
    found again for fc1 and fc2: (26620 − 1000) / (1084 + 400) = 17.264."""
    found = layer_densities(LENET, 0.1, "erk")
    scale = (0.1 * 266200 - 1000) / (1084 + 400)
    assert found["fc3"] == 1.0
    assert found["fc1"] == pytest.approx(scale * 1084 / 235200)
    assert found["fc2"] == pytest.approx(scale * 400 / 30000)
    kept = sum(found[name] * math.prod(shape) for name, shape in LENET.items())
    assert kept == pytest.approx(0.1 * 266200)


def test_erk_counts_a_convolutions_kernel_and_er_does_not() -> None:
    shapes = {"conv": (16, 8, 3, 3), "fc": (10, 64)}
    erk, er = (layer_densities(shapes, 0.2, kind) for kind in ("erk", "er"))
    assert erk["conv"] / erk["fc"] == pytest.approx((30 / 1152) / (74 / 640))
    assert er["conv"] / er["fc"] == pytest.approx((24 / 128) / (74 / 640))


def test_uniform_and_dense_layers_outside_the_budget() -> None:
    assert layer_densities(LENET, 0.05, "uniform") == dict.fromkeys(LENET, 0.05)
    found = layer_densities(LENET, 0.05, "erk", dense=frozenset({"fc1"}))
    assert found["fc1"] == 1.0
    kept = sum(found[n] * math.prod(LENET[n]) for n in ("fc2", "fc3"))
    assert kept == pytest.approx(0.05 * (30000 + 1000))
    assert layer_densities(LENET, 1.0, "erk") == dict.fromkeys(LENET, 1.0)


def test_the_cubic_schedule_by_hand() -> None:
    """s_f + (s_i − s_f)(1 − (t − t0)/(nΔt))³ with s_i = 0, s_f = 0.9, t0 = 0, nΔt = 100,
    Δt = 10, held between pruning steps."""

    def at(step: int) -> float:
        return gradual_sparsity(step, 0.0, 0.9, 0, 100, 10)

    assert at(0) == 0.0
    assert at(9) == 0.0
    assert at(15) == pytest.approx(0.9 - 0.9 * 0.9**3)
    assert at(99) == pytest.approx(0.9 - 0.9 * 0.1**3)
    assert at(100) == at(10_000) == 0.9
    assert gradual_sparsity(5, 0.1, 0.9, 20, 60, 20) == 0.1  # before start: the initial
    # end off the grid (a scaled schedule): 0, 10, …, 90, then 95
    assert gradual_sparsity(94, 0.0, 0.9, 0, 95, 10) == pytest.approx(0.9 - 0.9 * (5 / 95) ** 3)
    assert gradual_sparsity(95, 0.0, 0.9, 0, 95, 10) == 0.9
    with pytest.raises(ValueError):
        gradual_sparsity(0, 0.0, 0.9, 50, 40, 10)  # ends before it starts


def test_the_cosine_drop_fraction_by_hand() -> None:
    assert drop_fraction(0, 0.3, 100) == pytest.approx(0.3)
    assert drop_fraction(50, 0.3, 100) == pytest.approx(0.15)
    assert drop_fraction(25, 0.3, 100) == pytest.approx(0.15 * (1 + math.cos(math.pi / 4)))
    assert drop_fraction(100, 0.3, 100) == drop_fraction(500, 0.3, 100) == 0.0
