"""The experts' shared duplicate rule (dope_core/experts/common.py: dedupe), on hand-made boxes."""

import numpy as np

from dope_core.experts.common import dedupe


def test_dedupe_keeps_the_best_of_overlapping_boxes_only_above_iou() -> None:
    """dedupe: of boxes overlapping above ``iou`` the best-scoring stays; exactly ``iou`` is not above it."""
    boxes = [np.array([0, 0, 100, 100.0]), np.array([0, 0, 100, 200.0]), np.array([300, 0, 400, 100.0])]
    assert dedupe(["low", "high", "apart"], boxes, [0.5, 0.9, 0.7], iou=0.49) == ["high", "apart"]
    assert dedupe(["low", "high", "apart"], boxes, [0.5, 0.9, 0.7], iou=0.5) == ["high", "apart", "low"]   # IoU 0.5


def test_dedupe_distinct_keeps_overlapping_items_apart() -> None:
    """dedupe: items that ``distinct`` says are two both stay, whether their boxes overlap or ``same`` says one."""
    boxes = [np.array([0, 0, 100, 200.0]), np.array([5, 5, 105, 205.0])]

    def always_same(a: str, b: str) -> bool:
        return True

    def told_apart(a: str, b: str) -> bool:
        return {a, b} == {"front", "behind"}

    assert dedupe(["front", "behind"], boxes, [0.9, 0.8], iou=0.5) == ["front"]
    assert dedupe(["front", "behind"], boxes, [0.9, 0.8], iou=0.5, distinct=told_apart) == ["front", "behind"]
    apart = [np.array([0, 0, 100, 200.0]), np.array([500, 0, 600, 200.0])]
    assert dedupe(["front", "behind"], apart, [0.9, 0.8], iou=0.5, same=always_same) == ["front"]
    assert dedupe(["front", "behind"], apart, [0.9, 0.8], iou=0.5, same=always_same,
                  distinct=told_apart) == ["front", "behind"]
