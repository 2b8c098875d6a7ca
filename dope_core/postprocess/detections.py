"""Per-part detections of one image, as numpy arrays, and boxes around 2D poses."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class PartDetections:
    """``M`` detections of one part.

    Attributes:
        scores: ``(M,)`` in [0, 1].
        boxes: ``(M, 4)`` ``x1, y1, x2, y2`` pixels (around the 2D pose).
        pose2d: ``(M, J, 2)`` pixels.
        pose3d: ``(M, J, 3)`` metres, part-relative.
        classes: ``(M,)`` anchor-pose index in ``[0, K)`` of each detection (hands:
            the class decides handedness).
    """

    scores: np.ndarray
    boxes: np.ndarray
    pose2d: np.ndarray
    pose3d: np.ndarray
    classes: np.ndarray

    def __len__(self) -> int:
        return int(self.scores.shape[0])

    @classmethod
    def empty(cls, num_joints: int) -> "PartDetections":
        """No detection of a part with ``num_joints`` joints."""
        return cls(np.zeros(0), np.zeros((0, 4)), np.zeros((0, num_joints, 2)), np.zeros((0, num_joints, 3)),
                   np.zeros(0, dtype=np.int64))


def pose_boxes(pose2d: np.ndarray, margin: float = 0.1) -> np.ndarray:
    """``(M, 4)`` boxes around ``(M, J, 2)`` poses, each side pushed out by ``margin`` x the extent."""
    lo, hi = pose2d.min(axis=1), pose2d.max(axis=1)
    pad = (hi - lo) * margin
    return np.concatenate([lo - pad, hi + pad], axis=1)


def box_iou_one(box: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """IoU of one ``(4,)`` box with ``(M, 4)`` boxes (0 where the union is empty)."""
    x1 = np.maximum(box[0], boxes[:, 0])
    y1 = np.maximum(box[1], boxes[:, 1])
    x2 = np.minimum(box[2], boxes[:, 2])
    y2 = np.minimum(box[3], boxes[:, 3])
    inter = np.clip(x2 - x1, 0, None) * np.clip(y2 - y1, 0, None)
    union = _area(box) + _area(boxes) - inter
    return np.where(union > 0, inter / np.where(union > 0, union, 1), 0.0)


def _area(boxes: np.ndarray) -> np.ndarray:
    return np.clip(boxes[..., 2] - boxes[..., 0], 0, None) * np.clip(boxes[..., 3] - boxes[..., 1], 0, None)
