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
