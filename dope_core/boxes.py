"""Axis-aligned boxes ``x1, y1, x2, y2`` in pixels (x right, y down): areas, overlaps, points inside."""

from __future__ import annotations

import numpy as np


def box_area(boxes: np.ndarray) -> np.ndarray:
    """Areas (square pixels) of ``(..., 4)`` boxes; 0 for empty or inverted boxes."""
    return np.clip(boxes[..., 2] - boxes[..., 0], 0, None) * np.clip(boxes[..., 3] - boxes[..., 1], 0, None)


def box_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Intersection over union between ``(N, 4)`` and ``(M, 4)`` boxes: ``(N, M)`` in [0, 1]
    (0 where both boxes are empty)."""
    lt = np.maximum(a[:, None, :2], b[None, :, :2])
    rb = np.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = np.clip(rb - lt, 0, None).prod(-1)
    return inter / np.maximum(box_area(a)[:, None] + box_area(b)[None, :] - inter, 1e-9)


def box_contains(box: np.ndarray, point: np.ndarray) -> bool:
    """The point ``(x, y)`` lies in the ``(4,)`` box, edges included (pixels)."""
    return bool(box[0] <= point[0] <= box[2] and box[1] <= point[1] <= box[3])


def box_side(box: np.ndarray) -> float:
    """The longer side (pixels) of the ``(4,)`` box: its size whether the part stands or lies."""
    return float(max(box[2] - box[0], box[3] - box[1]))


def scaled_box(box: np.ndarray, scale: float) -> np.ndarray:
    """The ``(4,)`` box ``x1, y1, x2, y2`` (pixels) scaled ``scale`` times about its centre."""
    box = np.asarray(box[:4], dtype=np.float64)
    centre, half = (box[:2] + box[2:]) / 2, (box[2:] - box[:2]) / 2 * scale
    return np.concatenate([centre - half, centre + half])


def box_centre(box: np.ndarray) -> np.ndarray:
    """The centre ``(x, y)`` (pixels) of the ``(4,)`` box."""
    return (np.asarray(box[:2], dtype=float) + np.asarray(box[2:], dtype=float)) / 2


def fraction_within(box: np.ndarray, other: np.ndarray) -> float:
    """The fraction of ``box``'s area that lies in ``other`` (both ``x1, y1, x2, y2``, pixels); 0 for
    an empty box."""
    ax1, ay1, ax2, ay2 = (float(v) for v in box[:4])
    bx1, by1, bx2, by2 = (float(v) for v in other[:4])
    area = max(ax2 - ax1, 0.0) * max(ay2 - ay1, 0.0)
    if area <= 0:
        return 0.0
    return max(min(ax2, bx2) - max(ax1, bx1), 0.0) * max(min(ay2, by2) - max(ay1, by1), 0.0) / area


def fraction_inside(box: np.ndarray, width: float, height: float) -> float:
    """The fraction of ``box`` ``(x1, y1, x2, y2)`` (pixels) that lies in the image ``[0, width] x
    [0, height]``; 0 for an empty box."""
    return fraction_within(box, np.array([0.0, 0.0, float(width), float(height)]))
