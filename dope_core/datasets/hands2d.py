"""2D hand sets stored COCO-style by mmpose (OneHand10K, FreiHAND, CMU Panoptic hands).

Each annotation holds 21 keypoints ``(x, y, v)`` in pixels in DOPE's hand order
(wrist, then per finger the joints from the palm to the tip) and a box ``x, y, w, h``.
A keypoint is annotated when ``v > 0``. Handedness is not labelled.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from dope_core.datasets.coco_style import load_coco_style
from dope_core.datasets.sample import AnnotatedSample, GroundTruthInstance, box_of, xywh_to_xyxy
from dope_core.keypoints import Part
from dope_core.metrics.mappings import HAND21_TO_HAND21


def load_hand_json(annotation_file: str | Path, dataset: str, image_dir: str | Path | None = None) -> list[AnnotatedSample]:
    """Samples of a COCO-style 21-keypoint hand file (images in ``image_dir``, default the file's folder)."""
    return load_coco_style(annotation_file, dataset, _hand, image_dir=image_dir)


def _hand(ann: dict[str, Any]) -> GroundTruthInstance:
    flat = np.asarray(ann.get("keypoints", []), dtype=np.float64)
    if flat.size != 63:
        raise ValueError(f"{flat.size} values, not 21 keypoints")
    kpts = flat.reshape(21, 3)
    xy, visible = HAND21_TO_HAND21.apply(kpts[:, :2], kpts[:, 2] > 0)
    if not visible.any():
        raise ValueError("no annotated keypoint")
    box = xywh_to_xyxy(ann["bbox"]) if "bbox" in ann else box_of(xy, visible)
    return GroundTruthInstance(Part.HAND, xy, visible, box)
