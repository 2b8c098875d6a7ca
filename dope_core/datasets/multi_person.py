"""Multi-person body sets of ``annotated/mmpose``: COCO, CrowdPose, OCHuman, PoseTrack18.

Every file is COCO-style with a ``keypoints`` name list in its category; the body
joints are taken **by name** (COCO-17, CrowdPose-14 and PoseTrack-17 name the limb
joints alike; CrowdPose's ``head`` and PoseTrack's ``head_top`` give the head top).
A keypoint is annotated when its visibility flag is > 0. Crowd annotations and
people with no annotated body joint are skipped; every other person is kept, so
that a prediction on a lightly labelled person is matched to that person, not
to a neighbour (the metrics choose which people count). Boxes: the file's
``bbox`` (``x, y, w, h``), else the extent of the keypoints.

COCO-WholeBody's body annotations are the COCO file's, on the same four images:
``coco`` stands for both.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from dope_core.datasets.files import coco_annotations_by_image, read_json
from dope_core.datasets.sample import AnnotatedSample, GroundTruthInstance, box_of, xywh_to_xyxy
from dope_core.keypoints import BODY_JOINTS, Part

_SETS: dict[str, tuple[str, str]] = {  # name: (annotation file, image folder), relative to the annotated root
    "coco": ("mmpose/coco/test_coco.json", "mmpose/coco"),
    "crowdpose": ("mmpose/crowdpose/test_crowdpose.json", "mmpose/crowdpose"),
    "ochuman": ("mmpose/ochuman/test_ochuman.json", "mmpose/ochuman"),
    "posetrack18": ("mmpose/posetrack18/annotations/test_posetrack18_val.json", "mmpose/posetrack18"),
}
MULTI_PERSON_SETS: tuple[str, ...] = tuple(_SETS)

_ALIASES = {"head": "head_top"}
"""Source joint names that mean one of :data:`dope_core.keypoints.BODY_JOINTS` (CrowdPose's top of head)."""


def load_multi_person(name: str, root: str | Path) -> list[AnnotatedSample]:
    """Samples of the multi-person set ``name`` (one of :data:`MULTI_PERSON_SETS`) under ``root``.

    Raises:
        ValueError: unknown name, missing or malformed file.
    """
    if name not in _SETS:
        raise ValueError(f"unknown multi-person set {name!r}; choose from {', '.join(MULTI_PERSON_SETS)}")
    annotation_file, image_dir = (Path(root) / p for p in _SETS[name])
    return load_named_body_json(annotation_file, name, image_dir=image_dir)


def load_named_body_json(annotation_file: str | Path, dataset: str, *,
                         image_dir: str | Path | None = None) -> list[AnnotatedSample]:
    """Body samples of a COCO-style file whose category names its keypoints.

    Args:
        annotation_file: the JSON file.
        dataset: the samples' dataset name.
        image_dir: folder the images' ``file_name`` are relative to (default: the file's folder).

    Raises:
        ValueError: missing file, not COCO-style, or no keypoint names.
    """
    annotation_file = Path(annotation_file)
    image_dir = Path(image_dir) if image_dir is not None else annotation_file.parent
    data = read_json(annotation_file)
    index = _joint_index(data, annotation_file)
    samples = []
    for image, anns in coco_annotations_by_image(data, annotation_file):
        instances = [inst for ann in anns if not ann.get("iscrowd", 0)
                     for inst in [_body(ann, index)] if inst is not None]
        samples.append(AnnotatedSample(dataset, image_dir / image["file_name"], instances))
    return samples


def _joint_index(data: Any, path: Path) -> np.ndarray:
    """For each of the 13 body joints, its index in the file's keypoint list (-1: absent)."""
    try:
        names = list(data["categories"][0]["keypoints"])
    except (KeyError, IndexError, TypeError):
        raise ValueError(f"{path}: the first category names no keypoints") from None
    names = [_ALIASES.get(n, n) for n in names]
    return np.array([names.index(j) if j in names else -1 for j in BODY_JOINTS])


def _body(ann: dict[str, Any], index: np.ndarray) -> GroundTruthInstance | None:
    raw = np.asarray(ann.get("keypoints", []), dtype=np.float64).reshape(-1, 3)
    if len(raw) <= index.max():
        return None
    has = index >= 0
    kp = np.full((len(BODY_JOINTS), 2), np.nan)
    visible = np.zeros(len(BODY_JOINTS), dtype=bool)
    kp[has] = raw[index[has], :2]
    visible[has] = raw[index[has], 2] > 0
    if not visible.any():
        return None
    bbox = ann.get("bbox")
    box = xywh_to_xyxy(bbox) if bbox is not None and len(bbox) == 4 and bbox[2] > 0 else box_of(kp, visible)
    return GroundTruthInstance(Part.BODY, np.where(visible[:, None], kp, np.nan), visible, box)
