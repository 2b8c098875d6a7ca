"""Greedy instance matching on hand-made cases."""

from __future__ import annotations

import numpy as np
import pytest

from dope_core.metrics.matching import greedy_match, match_instances, oks_similarity


def test_oks_similarity_values():
    gt = np.zeros((2, 2))
    assert oks_similarity(gt, gt, np.ones(2, bool), 100.0) == 1.0
    # one joint at d = kappa * s: exp(-1/2); the other exact.
    pred = np.array([[10.0, 0.0], [0.0, 0.0]])
    assert oks_similarity(pred, gt, np.ones(2, bool), 100.0, kappa=0.1) == pytest.approx((np.exp(-0.5) + 1) / 2)
    # missing predicted joint contributes 0; invisible joints are ignored
    pred = np.array([[np.nan, np.nan], [500.0, 0.0]])
    assert oks_similarity(pred, gt, np.array([True, False]), 100.0) == 0.0
    assert oks_similarity(gt, gt, np.zeros(2, bool), 100.0) == 0.0


def test_greedy_takes_best_pairs_first():
    sim = np.array([[0.9, 0.8], [0.85, 0.1]])
    # (0,0) first, then pred 1 can only take gt 1, which is below threshold 0.2
    assert greedy_match(sim, min_similarity=0.2) == [(0, 0)]
    assert greedy_match(sim, min_similarity=0.05) == [(0, 0), (1, 1)]
    assert greedy_match(np.zeros((0, 3)), min_similarity=0.1) == []


def test_match_instances_two_people_swapped_order():
    a = np.array([[0.0, 0.0], [10.0, 0.0]])
    b = a + 200.0
    vis = [np.ones(2, bool)] * 2
    out = match_instances([b + 1.0, a - 1.0, a + 500], [a, b], vis, [50.0, 50.0])
    assert out == {0: 1, 1: 0}
    assert match_instances([], [a], vis[:1], [50.0]) == {}


def test_greedy_match_keeps_a_pair_at_exactly_the_minimum_similarity() -> None:
    """A pair whose similarity equals ``min_similarity`` is matched ("at least", inclusive)."""
    assert greedy_match(np.array([[0.5, 0.2]]), min_similarity=0.5) == [(0, 0)]
    assert greedy_match(np.array([[0.4999]]), min_similarity=0.5) == []
