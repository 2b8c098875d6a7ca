"""Augmentation of an image with its part targets: horizontal flip, rescaling, zoom; visible boxes.

The network's input transform resizes every image to a fixed size, so scale jitter
must change the size of the people inside a fixed canvas: :func:`zoom` scales the
content and crops (zoom in) or pads with black (zoom out) back to the original size.

Coordinates are pixels with the origin at the top-left corner of the top-left
pixel, so a flip maps ``x`` to ``W - x`` exactly. A flip also mirrors the 3D
poses (``x`` to ``-x``, camera-parallel axes) and swaps left and right joints with
:data:`dope_core.keypoints.FLIP_PERMUTATION`; a flipped right hand looks like a left
hand, so its nearest anchor (and so its handedness class) changes side with it.

An expert's box surrounds its whole 2D pose, also the joints it places outside the
image (a close-up face's body, a person cut by the frame). The detector proposes
boxes inside the image only, so such a box could never be matched by a proposal and
its visible part would be taught as background: :func:`zoom` keeps an instance by how
much of its *visible* part stays in the canvas, and :func:`visible_boxes` clips the
boxes to the image after augmentation (the poses keep their outside joints).
"""

from __future__ import annotations

import cv2
import numpy as np

from dope_core.keypoints import FLIP_PERMUTATION, Part
from dope_core.train.targets import PartTargets


def hflip(image: np.ndarray, targets: dict[Part, PartTargets]) -> tuple[np.ndarray, dict[Part, PartTargets]]:
    """Mirror an ``(H, W, 3)`` image and its targets left-right."""
    w = image.shape[1]
    out: dict[Part, PartTargets] = {}
    for part, t in targets.items():
        perm = list(FLIP_PERMUTATION[part])
        boxes = t["boxes"].copy()
        boxes[:, [0, 2]] = w - t["boxes"][:, [2, 0]]
        pose2d = t["pose2d"][:, perm].copy()
        pose2d[..., 0] = w - pose2d[..., 0]
        pose3d = t["pose3d"][:, perm].copy()
        pose3d[..., 0] = -pose3d[..., 0]
        out[part] = {"boxes": boxes, "pose2d": pose2d, "pose3d": pose3d, "scores": t["scores"].copy()}
    return np.ascontiguousarray(image[:, ::-1]), out


def rescale(image: np.ndarray, targets: dict[Part, PartTargets], factor: float) -> tuple[np.ndarray, dict[Part, PartTargets]]:
    """Resize an image by ``factor`` (area interpolation when shrinking) and scale 2D targets.

    3D poses are metric and do not change.
    """
    if factor <= 0:
        raise ValueError(f"scale factor must be positive, got {factor}")
    h, w = image.shape[:2]
    nw, nh = max(1, round(w * factor)), max(1, round(h * factor))
    interp = cv2.INTER_AREA if factor < 1 else cv2.INTER_LINEAR
    resized = cv2.resize(image, (nw, nh), interpolation=interp)
    sx, sy = nw / w, nh / h
    out: dict[Part, PartTargets] = {}
    for part, t in targets.items():
        boxes = t["boxes"] * np.array([sx, sy, sx, sy], np.float32)
        pose2d = t["pose2d"] * np.array([sx, sy], np.float32)
        out[part] = {"boxes": boxes, "pose2d": pose2d, "pose3d": t["pose3d"].copy(), "scores": t["scores"].copy()}
    return resized, out


def zoom(image: np.ndarray, targets: dict[Part, PartTargets], factor: float, rng: np.random.Generator,
         *, min_visible: float = 0.5) -> tuple[np.ndarray, dict[Part, PartTargets]]:
    """Scale the content by ``factor`` inside the same ``(H, W)`` canvas, at a random offset.

    Zooming in crops a random window; instances that keep less than ``min_visible`` of
    their visible area (their box inside the scaled image) inside the canvas are
    dropped. Zooming out pastes the scaled image at a random place on a black canvas.
    """
    h, w = image.shape[:2]
    scaled, scaled_t = rescale(image, targets, factor)
    sh, sw = scaled.shape[:2]
    canvas = np.zeros_like(image)
    # Offset of the scaled image's origin in the canvas (negative: cropped away).
    ox = int(rng.integers(min(0, w - sw), max(0, w - sw) + 1))
    oy = int(rng.integers(min(0, h - sh), max(0, h - sh) + 1))
    src_x, src_y, dst_x, dst_y = max(0, -ox), max(0, -oy), max(0, ox), max(0, oy)
    cw, ch = min(sw - src_x, w - dst_x), min(sh - src_y, h - dst_y)
    canvas[dst_y:dst_y + ch, dst_x:dst_x + cw] = scaled[src_y:src_y + ch, src_x:src_x + cw]
    out: dict[Part, PartTargets] = {}
    shift = np.array([ox, oy], np.float32)
    for part, t in scaled_t.items():
        visible = _clipped_area(t["boxes"], 0, 0, sw, sh)
        boxes = t["boxes"] + np.tile(shift, 2)
        inside = _clipped_area(boxes, max(0, ox), max(0, oy), min(w, ox + sw), min(h, oy + sh))
        keep = (visible > 0) & (inside >= min_visible * visible)
        out[part] = {"boxes": boxes[keep], "pose2d": (t["pose2d"] + shift)[keep],
                     "pose3d": t["pose3d"][keep], "scores": t["scores"][keep]}
    return canvas, out


def visible_boxes(targets: dict[Part, PartTargets], width: int, height: int, *,
                  min_side: float = 2.0) -> dict[Part, PartTargets]:
    """Targets whose boxes are clipped to the ``width x height`` image (pixels).

    The boxes are what proposals are matched to; the 2D poses (regression targets)
    keep their joints outside the image. Instances whose visible box is narrower or
    lower than ``min_side`` pixels are dropped.
    """
    out: dict[Part, PartTargets] = {}
    for part, t in targets.items():
        boxes = np.stack([np.clip(t["boxes"][:, 0], 0, width), np.clip(t["boxes"][:, 1], 0, height),
                          np.clip(t["boxes"][:, 2], 0, width), np.clip(t["boxes"][:, 3], 0, height)],
                         axis=1).astype(np.float32).reshape(-1, 4)
        keep = ((boxes[:, 2] - boxes[:, 0]) >= min_side) & ((boxes[:, 3] - boxes[:, 1]) >= min_side)
        out[part] = {"boxes": boxes[keep], "pose2d": t["pose2d"][keep], "pose3d": t["pose3d"][keep],
                     "scores": t["scores"][keep]}
    return out


def _clipped_area(boxes: np.ndarray, x1: float, y1: float, x2: float, y2: float) -> np.ndarray:
    """Areas of ``(N, 4)`` boxes inside the rectangle ``x1, y1, x2, y2`` (pixels)."""
    w = np.minimum(boxes[:, 2], x2) - np.maximum(boxes[:, 0], x1)
    h = np.minimum(boxes[:, 3], y2) - np.maximum(boxes[:, 1], y1)
    return np.maximum(w, 0) * np.maximum(h, 0)
