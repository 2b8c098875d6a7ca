"""A multi-class SSD object detector (TensorFlow Object Detection API layout) used for one class.

MediaPipe's Objectron solution ships an SSD MobileNetV2 trained on Open Images V4
(``object_detection_ssd_mobilenetv2_oidv4_fp16.tflite``, Apache-2.0, 300x300 input, 24
classes, class 4 ``Person``). It sees whole people at any pose and from any side, where
BlazePose's detector keys on faces. This module decodes it: the anchor grid
(:class:`MultiScaleAnchors`), the box coder (:func:`decode_boxes`) and the detector on
letterboxed views of an image (:class:`ObjectSSD`); boxes come back in image pixels.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from dope_core.experts.ssd import Detection, letterbox, tile_views, weighted_nms
from dope_core.experts.tflite import TFLiteModel

OIDV4_PERSON = 4
"""Index of ``Person`` in the Objectron SSD's label map (0 is the background)."""


@dataclass(frozen=True)
class MultiScaleAnchors:
    """The anchor grid of an SSD with one anchor scale per feature map.

    Layer ``l`` (feature map ``ceil(input_size / strides[l])`` cells a side) has scale
    ``min_scale + (max_scale - min_scale) l / (L - 1)`` (fractions of the input), one anchor
    per aspect ratio and one more of ratio 1 at the geometric mean of this layer's and the
    next layer's scale (1.0 after the last). With ``reduce_lowest_layer`` the first layer has
    three anchors only: ratio 1 at scale 0.1, ratios 2 and 0.5 at ``min_scale``. Anchors run
    row by row, cell by cell, anchor by anchor (the model's output order).
    """

    input_size: int = 300
    strides: tuple[int, ...] = (16, 32, 64, 128, 256, 512)
    min_scale: float = 0.2
    max_scale: float = 0.95
    aspect_ratios: tuple[float, ...] = (1.0, 2.0, 0.5, 3.0, 1.0 / 3.0)
    reduce_lowest_layer: bool = True

    def anchors(self) -> np.ndarray:
        """``(A, 4)`` anchors ``cx, cy, w, h``, normalised to the input (0..1)."""
        n_layers = len(self.strides)
        scales = [self.min_scale + (self.max_scale - self.min_scale) * i / max(n_layers - 1, 1)
                  for i in range(n_layers)] + [1.0]
        out = []
        for layer, stride in enumerate(self.strides):
            if layer == 0 and self.reduce_lowest_layer:
                specs = [(0.1, 1.0), (scales[0], 2.0), (scales[0], 0.5)]
            else:
                specs = [(scales[layer], r) for r in self.aspect_ratios]
                specs.append((math.sqrt(scales[layer] * scales[layer + 1]), 1.0))
            size = np.array([[s * math.sqrt(r), s / math.sqrt(r)] for s, r in specs])
            n = math.ceil(self.input_size / stride)
            ys, xs = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
            centres = np.stack([(xs + 0.5) / n, (ys + 0.5) / n], axis=-1).reshape(-1, 1, 2)
            cells = np.concatenate([np.broadcast_to(centres, (n * n, len(specs), 2)),
                                    np.broadcast_to(size[None], (n * n, len(specs), 2))], axis=-1)
            out.append(cells.reshape(-1, 4))
        return np.concatenate(out)


def decode_boxes(raw: np.ndarray, anchors: np.ndarray, *, scales: Sequence[float] = (10.0, 10.0, 5.0, 5.0)) -> np.ndarray:
    """Boxes ``x1, y1, x2, y2`` (normalised to the input) from raw ``(A, 4)`` outputs
    ``ty, tx, th, tw`` relative to ``(A, 4)`` anchors ``cx, cy, w, h`` (the Faster R-CNN box coder
    with the given ``y, x, h, w`` scales)."""
    sy, sx, sh, sw = scales
    cx = raw[:, 1] / sx * anchors[:, 2] + anchors[:, 0]
    cy = raw[:, 0] / sy * anchors[:, 3] + anchors[:, 1]
    w = np.exp(np.clip(raw[:, 3] / sw, -10, 10)) * anchors[:, 2]
    h = np.exp(np.clip(raw[:, 2] / sh, -10, 10)) * anchors[:, 3]
    return np.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], axis=1)


class ObjectSSD:
    """One class of a multi-class SSD, on letterboxed square views of an image.

    Args:
        model: the tflite model name (a key of :data:`dope_core.experts.tflite.MODEL_FILES`).
        class_index: the class to detect (its column of the class outputs).
        anchors: the model's anchor grid.
        nms_iou: detections overlapping above this IoU are merged (score-weighted).
        max_per_view: at most this many detections per view, the best, go to the merge (a
            threshold near 0 lets all 1917 boxes through: about 0.6 s of merging instead of 40 ms).
        num_threads: LiteRT CPU threads.
    """

    def __init__(self, *, model: str = "person_ssd", class_index: int = OIDV4_PERSON,
                 anchors: MultiScaleAnchors = MultiScaleAnchors(), nms_iou: float = 0.5, max_per_view: int = 200,
                 num_threads: int = 2) -> None:
        self.model = TFLiteModel(model, num_threads=num_threads)
        self.anchors = anchors.anchors()
        self.size = anchors.input_size
        self.class_index = class_index
        self.nms_iou = nms_iou
        self.max_per_view = max_per_view
        n = self.model(np.zeros((self.size, self.size, 3), np.float32))[0].shape[0]
        if n != len(self.anchors):
            raise RuntimeError(f"{model}: the model outputs {n} boxes, the anchor grid has {len(self.anchors)}")

    def detect_view(self, image: np.ndarray, view: np.ndarray, min_score: float) -> list[Detection]:
        """Detections (image pixels, no keypoints) in the ``view`` ``x1, y1, x2, y2`` of the RGB image,
        letterboxed into the square input (black borders), pixels scaled to [-1, 1]."""
        boxed = letterbox(image, view, self.size)
        if boxed is None:
            return []
        tensor, (ox, oy, side) = boxed
        raw, logits = self.model(tensor.astype(np.float32) * (2.0 / 255.0) - 1.0)
        scores = 1.0 / (1.0 + np.exp(-np.clip(logits[:, self.class_index].astype(np.float64), -100, 100)))
        keep = np.flatnonzero(scores >= min_score)
        if not len(keep):
            return []
        keep = keep[np.argsort(-scores[keep], kind="stable")[:self.max_per_view]]
        boxes = decode_boxes(raw[keep].astype(np.float64), self.anchors[keep]) * side + np.array([ox, oy, ox, oy])
        return [Detection(box=b, keypoints=np.zeros((0, 2)), score=float(s)) for b, s in zip(boxes, scores[keep])]

    def detections(self, image: np.ndarray, *, min_score: float, tile_fractions: Sequence[float] = ()) -> list[Detection]:
        """Detections in the whole image and, per fraction of its longer side, in overlapping tiles
        (:func:`~dope_core.experts.ssd.tile_views`, tiles under 3/4 of the input left out), each view's
        own, not merged (:meth:`merged` merges them)."""
        h, w = image.shape[:2]
        views = tile_views(w, h, tile_fractions=tile_fractions, min_side=0.75 * self.size)
        return [d for v in views for d in self.detect_view(image, v, min_score)]

    def merged(self, detections: Sequence[Detection]) -> list[Detection]:
        """``detections`` overlapping above ``nms_iou`` merged (score-weighted), best first."""
        return weighted_nms(list(detections), self.nms_iou)

    def detect(self, image: np.ndarray, *, min_score: float, tile_fractions: Sequence[float] = ()) -> list[Detection]:
        """:meth:`detections`, merged."""
        return self.merged(self.detections(image, min_score=min_score, tile_fractions=tile_fractions))
