"""NMS post-processing: the best anchor class per proposal, thresholded, then NMS on pose boxes."""

from __future__ import annotations

import numpy as np
import torch
from torchvision.ops import nms

from dope_core.postprocess.detections import PartDetections, pose_boxes


def pose_nms(
    scores: np.ndarray, pose2d: np.ndarray, pose3d: np.ndarray, *, min_score: float = 0.3,
    iou_threshold: float = 0.1, box_margin: float = 0.1,
) -> PartDetections:
    """Detections of one part by non-maximum suppression.

    Each proposal keeps its best non-background class; proposals scoring below
    ``min_score`` are dropped; a box is the 2D pose extent pushed out by ``box_margin``
    on each side; boxes overlapping a better one by IoU above ``iou_threshold`` go.

    Args:
        scores: ``(N, K + 1)`` softmax scores (column 0 = background).
        pose2d: ``(N, K, J, 2)`` pixels; pose3d: ``(N, K, J, 3)`` metres.

    Returns:
        The kept detections, by decreasing score.
    """
    j = pose2d.shape[2]
    if scores.shape[0] == 0:
        return PartDetections.empty(j)
    best = scores[:, 1:].argmax(axis=1)
    best_score = scores[np.arange(len(best)), best + 1]
    keep = np.flatnonzero(best_score >= min_score)
    if len(keep) == 0:
        return PartDetections.empty(j)
    p2d = pose2d[keep, best[keep]]
    boxes = pose_boxes(p2d, box_margin)
    kept = nms(torch.from_numpy(boxes).double(), torch.from_numpy(best_score[keep]).double(), iou_threshold).numpy()
    sel = keep[kept]
    return PartDetections(
        scores=best_score[sel].astype(np.float64), boxes=boxes[kept], pose2d=p2d[kept].astype(np.float64),
        pose3d=pose3d[sel, best[sel]].astype(np.float64), classes=best[sel].astype(np.int64))
