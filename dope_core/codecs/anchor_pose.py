"""Anchor-pose codec of DOPE / LCR-Net: poses as an anchor class plus a regressed offset.

An anchor-pose table of one part is a tensor of shape ``(K, J, 5)``: columns 0-1 hold
the 2D pose normalised inside its box (0 = left/top edge, 1 = right/bottom edge),
columns 2-4 the 3D pose in metres (part-relative, see :mod:`dope_core.structures`).

For a proposal box ``(x1, y1, x2, y2)`` in pixels with size ``s = (x2 - x1, y2 - y1)``
and anchor ``k``::

    pose2d = (x1, y1) + (anchor2d_k + delta2d / weight_2d) * s      # pixels
    pose3d = anchor3d_k + delta3d / weight_3d                        # metres

The regression vector of one anchor is laid out ``[delta2d (J*2) | delta3d (J*3)]``,
as in the released checkpoints.
"""

from __future__ import annotations

import torch
from torch import Tensor


class AnchorPoseCodec:
    """Encode/decode poses against anchor poses, for one part.

    Args:
        weight_2d: scale of the 2D regression targets (5.0 in the release).
        weight_3d: scale of the 3D regression targets (5.0 in the release).
    """

    def __init__(self, *, weight_2d: float = 5.0, weight_3d: float = 5.0) -> None:
        if weight_2d <= 0 or weight_3d <= 0:
            raise ValueError(f"regression weights must be positive, got {weight_2d}, {weight_3d}")
        self.weight_2d = float(weight_2d)
        self.weight_3d = float(weight_3d)

    def decode(self, regression: Tensor, boxes: Tensor, anchors: Tensor) -> tuple[Tensor, Tensor]:
        """Poses of every anchor class of every box.

        Args:
            regression: ``(N, K * J * 5)`` or ``(N, K, J * 5)`` network output.
            boxes: ``(N, 4)`` proposal boxes ``x1, y1, x2, y2`` in pixels.
            anchors: ``(K, J, 5)`` anchor poses.

        Returns:
            ``pose2d`` ``(N, K, J, 2)`` in pixels and ``pose3d`` ``(N, K, J, 3)`` in metres.
        """
        k, j, _ = anchors.shape
        n = boxes.shape[0]
        reg = regression.reshape(n, k, j * 5)
        delta2d = reg[:, :, : 2 * j].reshape(n, k, j, 2)
        delta3d = reg[:, :, 2 * j :].reshape(n, k, j, 3)
        offset = boxes[:, None, None, 0:2]
        size = (boxes[:, 2:4] - boxes[:, 0:2])[:, None, None, :]
        pose2d = offset + (anchors[None, :, :, 0:2] + delta2d / self.weight_2d) * size
        pose3d = anchors[None, :, :, 2:5] + delta3d / self.weight_3d
        return pose2d, pose3d

    def encode(self, pose2d: Tensor, pose3d: Tensor, boxes: Tensor, anchors: Tensor, classes: Tensor) -> Tensor:
        """Regression targets: the exact inverse of :meth:`decode` for the given anchor classes.

        Args:
            pose2d: ``(N, J, 2)`` ground-truth 2D poses in pixels.
            pose3d: ``(N, J, 3)`` ground-truth 3D poses in metres.
            boxes: ``(N, 4)`` proposal boxes in pixels (width and height > 0).
            anchors: ``(K, J, 5)`` anchor poses.
            classes: ``(N,)`` anchor index in ``[0, K)`` of each pose.

        Returns:
            ``(N, J * 5)`` targets laid out ``[delta2d | delta3d]``.
        """
        n, j, _ = pose2d.shape
        size = (boxes[:, 2:4] - boxes[:, 0:2]).clamp(min=1e-6)[:, None, :]
        a = anchors[classes]  # (N, J, 5)
        delta2d = ((pose2d - boxes[:, None, 0:2]) / size - a[:, :, 0:2]) * self.weight_2d
        delta3d = (pose3d - a[:, :, 2:5]) * self.weight_3d
        return torch.cat([delta2d.reshape(n, j * 2), delta3d.reshape(n, j * 3)], dim=1)


def normalise_in_box(pose2d: Tensor, boxes: Tensor) -> Tensor:
    """``(N, J, 2)`` pixel poses expressed in their ``(N, 4)`` boxes (0..1 across the box)."""
    size = (boxes[:, 2:4] - boxes[:, 0:2]).clamp(min=1e-6)[:, None, :]
    return (pose2d - boxes[:, None, 0:2]) / size


def nearest_anchor(
    pose2d_normalised: Tensor, pose3d: Tensor, anchors: Tensor, *, weight_2d: float = 1.0, weight_3d: float = 1.0
) -> Tensor:
    """Anchor class of each ground-truth pose.

    The distance to anchor ``k`` is ``weight_2d * mean_j |p2d_j - a2d_kj| + weight_3d *
    mean_j |p3d_j - a3d_kj|`` (Euclidean per joint; 2D in box units, 3D in metres).

    Args:
        pose2d_normalised: ``(N, J, 2)`` poses normalised in their boxes (:func:`normalise_in_box`).
        pose3d: ``(N, J, 3)`` poses in metres.
        anchors: ``(K, J, 5)`` anchor poses.

    Returns:
        ``(N,)`` int64 anchor indices in ``[0, K)``.
    """
    if pose2d_normalised.shape[0] == 0:
        return torch.zeros(0, dtype=torch.int64, device=anchors.device)
    d2 = (pose2d_normalised[:, None] - anchors[None, :, :, 0:2]).norm(dim=-1).mean(dim=-1)
    d3 = (pose3d[:, None] - anchors[None, :, :, 2:5]).norm(dim=-1).mean(dim=-1)
    return (weight_2d * d2 + weight_3d * d3).argmin(dim=1)
