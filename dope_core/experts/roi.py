"""Rotated square regions of an image: cropping them to a model input and back.

A region is given in pixels by its centre, side length and rotation (radians).
The region's local frame has x to the right and y down; a point ``q`` in
normalised region coordinates (``[0, 1]^2``) is at
``centre + R(rotation) @ ((q - 0.5) * side)`` in the image.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np


@dataclass(frozen=True)
class RotatedRect:
    """A square region of an image (pixels, radians)."""

    cx: float
    cy: float
    side: float
    rotation: float = 0.0

    def rotation_matrix(self) -> np.ndarray:
        c, s = math.cos(self.rotation), math.sin(self.rotation)
        return np.array([[c, -s], [s, c]])

    def to_image(self, q: np.ndarray) -> np.ndarray:
        """Map ``(N, 2)`` normalised region coordinates to image pixels."""
        return (q - 0.5) * self.side @ self.rotation_matrix().T + np.array([self.cx, self.cy])

    def crop(self, image: np.ndarray, size: tuple[int, int], value_range: tuple[float, float]) -> np.ndarray:
        """Warp the region to a float32 ``(h, w, 3)`` tensor with values in ``value_range``.

        Pixels outside the image are black (the range's low end).
        """
        w, h = size
        src = self.to_image(np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]])).astype(np.float32)
        dst = np.array([[0, 0], [w, 0], [0, h]], dtype=np.float32)
        warped = cv2.warpAffine(image, cv2.getAffineTransform(src, dst), (w, h),
                                flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0)
        lo, hi = value_range
        return warped.astype(np.float32) * ((hi - lo) / 255.0) + lo

    def scaled(self, scale: float, *, shift_y: float = 0.0) -> "RotatedRect":
        """The region scaled about its centre, after shifting it by ``shift_y`` sides along its own y."""
        dx, dy = self.rotation_matrix() @ np.array([0.0, shift_y * self.side])
        return RotatedRect(self.cx + dx, self.cy + dy, self.side * scale, self.rotation)


def alignment_rotation(start: np.ndarray, end: np.ndarray, target_angle: float) -> float:
    """Rotation (radians) that turns the direction ``start -> end`` (pixels) to ``target_angle``.

    ``target_angle`` is measured counter-clockwise from the image x axis with y up
    (``pi / 2`` makes the direction point up in the crop).
    """
    angle = target_angle - math.atan2(-(end[1] - start[1]), end[0] - start[0])
    return (angle + math.pi) % (2 * math.pi) - math.pi


def rotate_xy(points: np.ndarray, rotation: float) -> np.ndarray:
    """Rotate the x, y columns of ``(N, 3)`` points by ``rotation`` about the z axis."""
    c, s = math.cos(rotation), math.sin(rotation)
    out = points.copy()
    out[:, 0] = c * points[:, 0] - s * points[:, 1]
    out[:, 1] = s * points[:, 0] + c * points[:, 1]
    return out
