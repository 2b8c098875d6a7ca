"""Helpers shared by the three experts."""

from __future__ import annotations

from typing import Any, Callable, Optional

import numpy as np

from dope_core.boxes import box_iou
from dope_core.image_io import MIN_SIDE


def sigmoid(x: np.ndarray | float) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(np.asarray(x, dtype=np.float64), -100, 100)))


def probability(x: float) -> float:
    """A model flag as a probability: kept if already in [0, 1], else passed through a sigmoid."""
    x = float(x)
    return x if 0.0 <= x <= 1.0 else float(sigmoid(x))


def extent(points: np.ndarray) -> np.ndarray:
    """Box ``x1, y1, x2, y2`` around ``(N, 2)`` points (pixels)."""
    return np.concatenate([points.min(axis=0), points.max(axis=0)])


def dedupe(items: list, boxes: list[np.ndarray], scores: list[float], iou: float,
           same: Optional[Callable[[Any, Any], bool]] = None,
           distinct: Optional[Callable[[Any, Any], bool]] = None) -> list:
    """Keep the best-scoring of any group of items whose boxes overlap above ``iou``
    (or that ``same(item, kept_item)`` says are one), except where ``distinct(item, kept_item)``
    says they are two."""
    order = np.argsort(-np.asarray(scores, dtype=np.float64))
    kept: list[int] = []
    for i in order:
        if kept:
            overlap = box_iou(boxes[i][None], np.stack([boxes[k] for k in kept]))[0]
            if any(o > iou and not (distinct is not None and distinct(items[i], items[k]))
                   for o, k in zip(overlap, kept)):
                continue
        if same is not None and any(same(items[i], items[k]) and not (distinct is not None and distinct(items[i], items[k]))
                                    for k in kept):
            continue
        kept.append(int(i))
    return [items[k] for k in kept]


def check_image(image: np.ndarray) -> None:
    """Raise ``ValueError`` unless ``image`` is an RGB ``uint8`` array ``(H, W, 3)`` of at least
    :data:`~dope_core.image_io.MIN_SIDE` pixels a side."""
    if not isinstance(image, np.ndarray) or image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        shape = getattr(image, "shape", None)
        dtype = getattr(image, "dtype", type(image).__name__)
        raise ValueError(f"expected an RGB uint8 image of shape (H, W, 3), got shape {shape} dtype {dtype} "
                         "(dope_core.image_io.to_rgb8 converts grayscale, RGBA and 16-bit images)")
    if min(image.shape[:2]) < MIN_SIDE:
        raise ValueError(f"image is too small: {image.shape[1]}x{image.shape[0]} pixels (at least {MIN_SIDE} a side)")
