"""COCO-WholeBody (133 keypoints: 17 body, 6 feet, 68 face, 2 x 21 hands), 2D.

Per annotated person: a body (COCO-17 mapped to the 13 joints; no head top), and
when flagged valid a face (iBUG-68 mapped to the 84 landmarks) and left/right
hands (21 joints, same order as DOPE's). A keypoint is annotated when its
visibility/score is > 0. Crowd annotations and parts with no annotated keypoint
are skipped. Boxes: the file's ``bbox``, ``face_box``, ``lefthand_box``,
``righthand_box`` (``x, y, w, h`` converted to corners).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Optional

import numpy as np

from dope_core.datasets.files import coco_annotations_by_image, read_json
from dope_core.datasets.sample import AnnotatedSample, GroundTruthInstance, box_of, xywh_to_xyxy
from dope_core.metrics.mappings import COCO17_TO_BODY13, HAND21_TO_HAND21, IBUG68_TO_FACE84_MAPPING, KeypointMapping
from dope_core.structures import Handedness

log = logging.getLogger(__name__)


def load_coco_wholebody(annotation_file: str | Path, image_dir: str | Path | None = None) -> list[AnnotatedSample]:
    """Samples of a COCO-WholeBody JSON file.

    Args:
        annotation_file: the JSON file.
        image_dir: folder of the images (default: the JSON file's folder).
    """
    annotation_file = Path(annotation_file)
    image_dir = Path(image_dir) if image_dir is not None else annotation_file.parent
    samples = []
    skipped = 0
    for image, anns in coco_annotations_by_image(read_json(annotation_file), annotation_file):
        instances: list[GroundTruthInstance] = []
        for ann in anns:
            if ann.get("iscrowd", 0):
                skipped += 1
                continue
            parts = [
                _instance(ann.get("keypoints"), 17, ann.get("bbox"), COCO17_TO_BODY13, None),
                _instance(ann.get("face_kpts"), 68, ann.get("face_box"), IBUG68_TO_FACE84_MAPPING, None)
                if ann.get("face_valid") else None,
                _instance(ann.get("lefthand_kpts"), 21, ann.get("lefthand_box"), HAND21_TO_HAND21, Handedness.LEFT)
                if ann.get("lefthand_valid") else None,
                _instance(ann.get("righthand_kpts"), 21, ann.get("righthand_box"), HAND21_TO_HAND21, Handedness.RIGHT)
                if ann.get("righthand_valid") else None,
            ]
            instances.extend(p for p in parts if p is not None)
        samples.append(AnnotatedSample("coco_wholebody", image_dir / image["file_name"], instances))
    if skipped:
        log.warning("%s: skipped %d crowd annotations", annotation_file, skipped)
    return samples


def _instance(
    flat: Optional[list[float]], n: int, box: Any, mapping: KeypointMapping, handedness: Optional[Handedness]
) -> Optional[GroundTruthInstance]:
    if flat is None or len(flat) != 3 * n:
        return None
    kpts = np.asarray(flat, dtype=np.float64).reshape(n, 3)
    xy, visible = mapping.apply(kpts[:, :2], kpts[:, 2] > 0)
    if not visible.any():
        return None
    if box is None or np.asarray(box, dtype=np.float64)[2:].min() <= 0:
        corners = box_of(xy, visible)
    else:
        corners = xywh_to_xyxy(box)
    return GroundTruthInstance(mapping.part, xy, visible, corners, handedness=handedness)
