"""Metric placement of part-relative 3D poses in the camera optical frame.

DOPE predicts each part's 3D keypoints relative to the part's root (metres, axes of
the camera optical frame: x right, y down, z forward). With pinhole intrinsics ``K``
the translation ``t`` (metres, camera optical frame) that places them best solves,
for each keypoint ``j`` with part-relative position ``(X, Y, Z)`` and pixel ``(u, v)``,

    x = (u - cx) / fx,  y = (v - cy) / fy,
    (X + tx) = x (Z + tz),  (Y + ty) = y (Z + tz),

which is linear in ``t``: ``tx - x tz = x Z - X`` and ``ty - y tz = y Z - Y``. The
equations are weighted by the keypoints' confidences and solved by least squares.
Each part (body, hands, face) is placed on its own 2D keypoints; the result is
:attr:`PartPose.root_camera`.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Optional

import numpy as np

from dope_core.structures import PartPose, WholeBodyPoses


class InvalidIntrinsicsError(ValueError):
    """Camera intrinsics that cannot describe a pinhole camera (the message says why).

    Attributes:
        reason: short code: ``size``, ``not_finite``, ``all_zero``, ``focal`` or ``last_row``.
    """

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


def validate_intrinsics(k: np.ndarray | list[float] | tuple[float, ...]) -> np.ndarray:
    """Return ``K`` as a ``(3, 3)`` float array after checking it.

    Accepts a ``(3, 3)`` matrix or the 9 row-major values of ``sensor_msgs/CameraInfo.k``.

    Raises:
        InvalidIntrinsicsError: wrong size, NaN/inf values, non-positive focal lengths,
            or a last row other than ``(0, 0, 1)``.
    """
    arr = np.asarray(k, dtype=np.float64)
    if arr.size != 9:
        raise InvalidIntrinsicsError(f"intrinsics must have 9 values (3x3), got {arr.size}", "size")
    arr = arr.reshape(3, 3)
    if not np.all(np.isfinite(arr)):
        raise InvalidIntrinsicsError("intrinsics contain NaN or infinite values", "not_finite")
    if not np.any(arr):
        raise InvalidIntrinsicsError("intrinsics are all zero (camera not calibrated)", "all_zero")
    if arr[0, 0] <= 0 or arr[1, 1] <= 0:
        raise InvalidIntrinsicsError(f"focal lengths must be positive, got fx={arr[0, 0]}, fy={arr[1, 1]}", "focal")
    if not np.allclose(arr[2], (0.0, 0.0, 1.0)):
        raise InvalidIntrinsicsError(f"last row of K must be (0, 0, 1), got {tuple(arr[2])}", "last_row")
    return arr


def solve_translation(
    points_3d: np.ndarray,
    points_2d: np.ndarray,
    k: np.ndarray,
    weights: Optional[np.ndarray] = None,
    *,
    min_points: int = 3,
) -> Optional[np.ndarray]:
    """Translation (metres, camera optical frame) that best reprojects ``points_3d + t`` on ``points_2d``.

    Args:
        points_3d: ``(J, 3)`` part-relative keypoints in metres.
        points_2d: ``(J, 2)`` keypoints in pixels.
        k: ``(3, 3)`` intrinsics (see :func:`validate_intrinsics`).
        weights: ``(J,)`` non-negative weights (confidences); all ones when ``None``.
        min_points: fewest keypoints with positive weight needed.

    Returns:
        ``(3,)`` translation, or ``None`` when there are too few usable keypoints, the
        system is degenerate, or the solution puts a keypoint behind the camera.
    """
    k = validate_intrinsics(k)
    p3 = np.asarray(points_3d, dtype=np.float64)
    p2 = np.asarray(points_2d, dtype=np.float64)
    w = np.ones(len(p3)) if weights is None else np.asarray(weights, dtype=np.float64)
    usable = (w > 0) & np.all(np.isfinite(p3), axis=1) & np.all(np.isfinite(p2), axis=1)
    if usable.sum() < min_points:
        return None
    p3, p2, w = p3[usable], p2[usable], w[usable]
    x = (p2[:, 0] - k[0, 2] - k[0, 1] * (p2[:, 1] - k[1, 2]) / k[1, 1]) / k[0, 0]
    y = (p2[:, 1] - k[1, 2]) / k[1, 1]
    n = len(p3)
    a = np.zeros((2 * n, 3))
    b = np.empty(2 * n)
    a[:n, 0] = 1.0
    a[:n, 2] = -x
    b[:n] = x * p3[:, 2] - p3[:, 0]
    a[n:, 1] = 1.0
    a[n:, 2] = -y
    b[n:] = y * p3[:, 2] - p3[:, 1]
    sw = np.sqrt(np.concatenate([w, w]))
    t, _, rank, _ = np.linalg.lstsq(a * sw[:, None], b * sw, rcond=None)
    if rank < 3 or not np.all(np.isfinite(t)) or np.any(p3[:, 2] + t[2] <= 0):
        return None
    return t


def place_part(pose: PartPose, k: np.ndarray, *, min_confidence: float = 0.1) -> PartPose:
    """A copy of ``pose`` with ``root_camera`` set (``None`` when it cannot be solved).

    Keypoints with confidence below ``min_confidence`` are left out; the others are
    weighted by their confidence.
    """
    weights = np.where(pose.confidence >= min_confidence, pose.confidence, 0.0)
    t = solve_translation(pose.keypoints_3d, pose.keypoints_2d, k, weights)
    return replace(pose, root_camera=t)


def place_poses(poses: WholeBodyPoses, k: np.ndarray, *, min_confidence: float = 0.1) -> WholeBodyPoses:
    """A copy of ``poses`` with every part (assigned or not) placed in the camera frame.

    Raises:
        InvalidIntrinsicsError: ``k`` is not a valid pinhole matrix.
    """
    k = validate_intrinsics(k)
    people = [replace(p, **{slot: place_part(pose, k, min_confidence=min_confidence)
                            for slot, pose in p.parts()})
              for p in poses.people]
    unassigned = [place_part(pose, k, min_confidence=min_confidence) for pose in poses.unassigned]
    return WholeBodyPoses(image_size=poses.image_size, people=people, unassigned=unassigned, backend=poses.backend)
