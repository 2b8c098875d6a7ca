"""2D PCK: the fraction of keypoints within a normalised distance of the ground truth.

A keypoint is correct when ``||pred - gt|| <= threshold * normaliser`` (pixels). The
normaliser is one length per instance; the ones used in this project are:

* :func:`bbox_size`: the larger side of the instance's ground-truth box (mmpose's
  ``PCKAccuracy`` ``norm_item='bbox'`` convention; used for bodies and hands);
* :func:`torso_size`: the distance between a shoulder and the opposite hip, the
  larger of the two diagonals (when both are annotated);
* :func:`head_size`: the PCKh normaliser, the head segment length (MPII uses 0.6
  times the head box diagonal; with no head box the head-top to upper-neck length).
"""

from __future__ import annotations

import numpy as np

from dope_core.boxes import box_side
from dope_core.keypoints import BODY_JOINTS


def keypoint_errors(pred: np.ndarray, gt: np.ndarray) -> np.ndarray:
    """``(..., J)`` Euclidean distances between ``(..., J, D)`` predictions and ground truth."""
    pred = np.asarray(pred, dtype=np.float64)
    gt = np.asarray(gt, dtype=np.float64)
    if pred.shape != gt.shape:
        raise ValueError(f"prediction shape {pred.shape} differs from ground truth shape {gt.shape}")
    return np.linalg.norm(pred - gt, axis=-1)


def pck_correct(
    pred: np.ndarray, gt: np.ndarray, visible: np.ndarray, normaliser: float, threshold: float
) -> np.ndarray:
    """Per-keypoint correctness of one instance.

    Args:
        pred, gt: ``(J, 2)`` keypoints in pixels (``pred`` may hold NaN for missing joints,
            which count as wrong).
        visible: ``(J,)`` bool, which ground-truth keypoints are annotated.
        normaliser: the instance's length in pixels (> 0).
        threshold: fraction of the normaliser (e.g. 0.1, 0.2, 0.5).

    Returns:
        ``(K,)`` bool for the K visible keypoints, in order.
    """
    if not normaliser > 0:
        raise ValueError(f"PCK normaliser must be positive, got {normaliser}")
    visible = np.asarray(visible, dtype=bool)
    err = keypoint_errors(pred, gt)[visible]
    return np.nan_to_num(err, nan=np.inf) <= threshold * normaliser


def pck(
    pred: np.ndarray, gt: np.ndarray, visible: np.ndarray, normaliser: np.ndarray, threshold: float
) -> float:
    """PCK over a batch: correct visible keypoints / visible keypoints.

    Args:
        pred, gt: ``(N, J, 2)`` pixels. visible: ``(N, J)`` bool. normaliser: ``(N,)`` pixels.
        threshold: fraction of the normaliser.

    Returns:
        PCK in [0, 1]; NaN when no keypoint is visible.
    """
    pred, gt, visible = np.asarray(pred), np.asarray(gt), np.asarray(visible, dtype=bool)
    normaliser = np.asarray(normaliser, dtype=np.float64).reshape(-1)
    correct = [pck_correct(p, g, v, n, threshold) for p, g, v, n in zip(pred, gt, visible, normaliser)]
    total = sum(len(c) for c in correct)
    return float(sum(c.sum() for c in correct) / total) if total else float("nan")


def bbox_size(box: np.ndarray) -> float:
    """Larger side in pixels of a box ``x1, y1, x2, y2`` (:func:`dope_core.boxes.box_side`)."""
    return box_side(np.asarray(box, dtype=np.float64))


def torso_size(body_2d: np.ndarray, visible: np.ndarray) -> float:
    """Larger shoulder-to-opposite-hip distance of a 13-joint body, pixels (NaN if unknown)."""
    j = {n: i for i, n in enumerate(BODY_JOINTS)}
    pairs = ((j["right_shoulder"], j["left_hip"]), (j["left_shoulder"], j["right_hip"]))
    lengths = [np.linalg.norm(body_2d[a] - body_2d[b]) for a, b in pairs if visible[a] and visible[b]]
    return float(max(lengths)) if lengths else float("nan")


def head_size(head_top: np.ndarray, upper_neck: np.ndarray) -> float:
    """PCKh normaliser without a head box: the head-top to upper-neck distance, pixels."""
    return float(np.linalg.norm(np.asarray(head_top, dtype=np.float64) - np.asarray(upper_neck, dtype=np.float64)))
