"""SSD-style detectors (BlazePose person, BlazePalm, BlazeFace): anchors, decoding, NMS.

A detector runs on a letterboxed square view of the image or of a region of it,
decodes boxes and keypoints relative to its anchors, maps them back to image
pixels, and merges overlapping detections by score-weighted averaging.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional, Sequence

import cv2
import numpy as np

from dope_core.boxes import box_iou
from dope_core.experts.tflite import TFLiteModel


@dataclass(frozen=True)
class AnchorConfig:
    """Anchor layout of an SSD detector (the models' published settings)."""

    input_size: int
    strides: tuple[int, ...]
    interpolated_scale: bool = True
    anchor_offset: float = 0.5

    def anchors(self) -> np.ndarray:
        """``(A, 2)`` anchor centres in normalised input coordinates (fixed unit size)."""
        centres = []
        layer = 0
        while layer < len(self.strides):
            last = layer
            per_location = 0
            while last < len(self.strides) and self.strides[last] == self.strides[layer]:
                per_location += 1 + int(self.interpolated_scale)
                last += 1
            n = math.ceil(self.input_size / self.strides[layer])
            ys, xs = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
            grid = np.stack([(xs + self.anchor_offset) / n, (ys + self.anchor_offset) / n], axis=-1).reshape(-1, 2)
            centres.append(np.repeat(grid, per_location, axis=0))
            layer = last
        return np.concatenate(centres)


@dataclass
class Detection:
    """A detector output in image pixels: box ``x1, y1, x2, y2``, keypoints ``(K, 2)``, score."""

    box: np.ndarray
    keypoints: np.ndarray
    score: float


class SSDDetector:
    """One SSD detector model with its anchors.

    Args:
        model: the tflite model name (see :mod:`dope_core.experts.tflite`).
        anchors: anchor layout of that model.
        num_keypoints: keypoints predicted per detection.
        value_range: input pixel range the model expects.
        nms_iou: IoU above which detections are merged.
        num_threads: LiteRT CPU threads.
    """

    def __init__(self, *, model: str, anchors: AnchorConfig, num_keypoints: int,
                 value_range: tuple[float, float], nms_iou: float = 0.3, num_threads: int = 2) -> None:
        self.model = TFLiteModel(model, num_threads=num_threads)
        self.anchors = anchors.anchors()
        self.size = anchors.input_size
        self.num_keypoints = num_keypoints
        self.value_range = value_range
        self.nms_iou = nms_iou
        n = self.model(np.zeros((self.size, self.size, 3), np.float32))[0].shape[0]
        if n != len(self.anchors):
            raise RuntimeError(f"{model}: the model outputs {n} anchors, the anchor layout has {len(self.anchors)}")

    def detect_view(self, image: np.ndarray, view: np.ndarray, min_score: float) -> list[Detection]:
        """Detect in the axis-aligned ``view`` ``(x1, y1, x2, y2)`` of the image (pixels)."""
        boxed = letterbox(image, view, self.size)
        if boxed is None:
            return []
        tensor, (ox, oy, side) = boxed
        lo, hi = self.value_range
        tensor = tensor.astype(np.float32) * ((hi - lo) / 255.0) + lo
        raw, logits = self.model(tensor)
        scores = 1.0 / (1.0 + np.exp(-np.clip(logits[:, 0].astype(np.float64), -100, 100)))
        keep = np.flatnonzero(scores >= min_score)
        out = []
        for i in keep:
            r = raw[i] / self.size
            cx, cy = r[0] + self.anchors[i, 0], r[1] + self.anchors[i, 1]
            w, h = r[2], r[3]
            kps = r[4:4 + 2 * self.num_keypoints].reshape(-1, 2) + self.anchors[i]
            box = np.array([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2]) * side + np.array([ox, oy, ox, oy])
            out.append(Detection(box=box, keypoints=kps * side + np.array([ox, oy]), score=float(scores[i])))
        return out

    def whole_image_views(self, width: int, height: int, tile_fractions: Sequence[float], *,
                          zoom_out: float = 0.0) -> list[np.ndarray]:
        """The whole image and, where they are at least 3/4 of the input wide, tiles (:func:`tile_views`);
        with ``zoom_out > 1`` also the image shrunk inside a square that many times its longer side
        (:func:`zoomed_out_view`)."""
        views = tile_views(width, height, tile_fractions=tile_fractions, min_side=0.75 * self.size)
        return views + [zoomed_out_view(width, height, zoom_out)] if zoom_out > 1 else views

    def detect(self, image: np.ndarray, views: Sequence[np.ndarray], min_score: float) -> list[Detection]:
        """Detect in every view and merge the results."""
        dets = [d for v in views for d in self.detect_view(image, np.asarray(v, dtype=np.float64), min_score)]
        return weighted_nms(dets, self.nms_iou)


def letterbox(image: np.ndarray, view: np.ndarray, size: int) -> Optional[tuple[np.ndarray, tuple[float, float, float]]]:
    """The axis-aligned ``view`` ``(x1, y1, x2, y2)`` (pixels) of ``image``, centred in a square of
    its longer side and resized to ``size`` x ``size`` (``uint8``; the square's pixels outside the
    view, or outside the image, are black, as the detectors were trained). Returns the input and
    the square's top-left corner and side in image pixels ``(ox, oy, side)``; ``None`` when the
    view is under 2 pixels."""
    x1, y1, x2, y2 = (float(v) for v in view)
    side = max(x2 - x1, y2 - y1)
    if side < 2:
        return None
    ox, oy = x1 - (side - (x2 - x1)) / 2, y1 - (side - (y2 - y1)) / 2
    scale = size / side
    m = np.array([[scale, 0, -ox * scale], [0, scale, -oy * scale]], dtype=np.float32)
    # Bilinear even where the view shrinks (OpenCV's warpAffine has no area interpolation and treats
    # INTER_AREA as bilinear); area-averaged shrinking was measured and not taken (docs/accuracy.md).
    tensor = cv2.warpAffine(image, m, (size, size), flags=cv2.INTER_LINEAR,
                            borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    return tensor, (ox, oy, side)


def weighted_nms(dets: list[Detection], iou: float) -> list[Detection]:
    """Merge detections overlapping above ``iou``: score-weighted mean box and keypoints, top score.

    The top detection always heads its own group, even when its box is empty (a detector can
    regress one at a very low ``min_score``); a group whose scores are all 0 is averaged evenly.
    """
    if not dets:
        return []
    dets = sorted(dets, key=lambda d: -d.score)
    boxes = np.stack([d.box for d in dets])
    remaining = list(range(len(dets)))
    out = []
    while remaining:
        top = remaining[0]
        ious = box_iou(boxes[top:top + 1], boxes[remaining])[0]
        group = [top] + [remaining[k] for k in np.flatnonzero(ious > iou) if remaining[k] != top]
        w = np.array([dets[g].score for g in group])
        w = w / w.sum() if w.sum() > 0 else np.full(len(group), 1.0 / len(group))
        out.append(Detection(
            box=np.tensordot(w, boxes[group], axes=1),
            keypoints=np.tensordot(w, np.stack([dets[g].keypoints for g in group]), axes=1),
            score=dets[top].score,
        ))
        remaining = [r for r in remaining if r not in set(group)]
    return out


def tile_views(width: int, height: int, *, tile_fractions: Sequence[float] = (0.5,), overlap: float = 0.25,
               min_side: float = 64.0) -> list[np.ndarray]:
    """The whole image plus, per fraction ``f``, overlapping square tiles of side ``f * max(width, height)``.

    Tiles let a detector with a small input find small people, hands and faces;
    tiles smaller than ``min_side`` pixels are left out (they would show the
    detector little more than the whole image does), as are fractions >= 1.
    """
    views = [np.array([0.0, 0.0, width, height])]
    for fraction in tile_fractions:
        side = fraction * max(width, height)
        if fraction >= 1 or side < min_side:
            continue
        step = side * (1 - overlap)
        xs = _starts(width, side, step)
        ys = _starts(height, side, step)
        views += [np.array([x, y, min(x + side, width), min(y + side, height)]) for y in ys for x in xs]
    return views


def zoomed_out_view(width: int, height: int, factor: float) -> np.ndarray:
    """A square view ``(x1, y1, x2, y2)`` (pixels) centred on the image, of side ``factor`` times
    its longer side: with ``factor > 1`` the detector sees the whole image shrunk inside a black
    border, so that a part filling the image (a close-up hand) comes to the sizes its anchors cover."""
    side = factor * max(width, height)
    cx, cy = width / 2, height / 2
    return np.array([cx - side / 2, cy - side / 2, cx + side / 2, cy + side / 2])


def _starts(length: float, side: float, step: float) -> list[float]:
    if length <= side:
        return [0.0]
    n = math.ceil((length - side) / step) + 1
    return list(np.linspace(0, length - side, n))
