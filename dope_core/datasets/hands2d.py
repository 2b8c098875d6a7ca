"""2D hand sets stored COCO-style by mmpose (OneHand10K, FreiHAND, CMU Panoptic hands).

Each annotation holds 21 keypoints ``(x, y, v)`` in pixels in DOPE's hand order
(wrist, then per finger the joints from the palm to the tip) and a box ``x, y, w, h``.
A keypoint is annotated when ``v > 0``. Handedness is not labelled.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from dope_core.datasets.files import coco_annotations_by_image, read_json
from dope_core.datasets.sample import AnnotatedSample, GroundTruthInstance, box_of, xywh_to_xyxy
from dope_core.keypoints import Part
from dope_core.metrics.mappings import HAND21_TO_HAND21

log = logging.getLogger(__name__)


def load_hand_json(annotation_file: str | Path, dataset: str, image_dir: str | Path | None = None) -> list[AnnotatedSample]:
    """Samples of a COCO-style 21-keypoint hand file (images in ``image_dir``, default the file's folder)."""
    annotation_file = Path(annotation_file)
    image_dir = Path(image_dir) if image_dir is not None else annotation_file.parent
    samples = []
    for image, anns in coco_annotations_by_image(read_json(annotation_file), annotation_file):
        instances = []
        for ann in anns:
            flat = np.asarray(ann.get("keypoints", []), dtype=np.float64)
            if flat.size != 63:
                log.warning("%s: skipping annotation %s: %d values, not 21 keypoints", annotation_file, ann.get("id"), flat.size)
                continue
            kpts = flat.reshape(21, 3)
            xy, visible = HAND21_TO_HAND21.apply(kpts[:, :2], kpts[:, 2] > 0)
            if not visible.any():
                log.warning("%s: skipping annotation %s: no annotated keypoint", annotation_file, ann.get("id"))
                continue
            box = xywh_to_xyxy(ann["bbox"]) if "bbox" in ann else box_of(xy, visible)
            instances.append(GroundTruthInstance(Part.HAND, xy, visible, box))
        samples.append(AnnotatedSample(dataset, image_dir / image["file_name"], instances))
    return samples
