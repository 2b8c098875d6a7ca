"""RenderedHand (RHD) as stored by mmpose: COCO-style JSON, one hand per annotation.

Each annotation has ``keypoints`` (21 x (x, y, v), pixels), ``joint_cam`` (21 x 3,
camera frame, **millimetres**), ``hand_type`` (``"left"``/``"right"``) and a box;
each image has ``cam_param`` (``focal``, ``princpt`` in pixels). Fingers run tip
to palm in the file; they are reordered to DOPE's hand (palm to tip) and the 3D is
converted to metres, made wrist-relative (``root_camera`` = the wrist in the camera).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from dope_core.datasets.coco_style import load_coco_style
from dope_core.datasets.sample import AnnotatedSample, GroundTruthInstance, split_root, xywh_to_xyxy
from dope_core.keypoints import Part
from dope_core.metrics.mappings import RHD21_TO_HAND21

MM_TO_M = 1e-3


def load_rhd(annotation_file: str | Path, image_dir: str | Path | None = None) -> list[AnnotatedSample]:
    """Samples of an RHD JSON file (images in ``image_dir``, default the file's folder)."""
    return load_coco_style(annotation_file, "rhd", _hand, image_dir=image_dir, intrinsics=_intrinsics)


def _hand(ann: dict[str, Any]) -> GroundTruthInstance:
    kpts = np.asarray(ann["keypoints"], dtype=np.float64).reshape(21, 3)
    cam = np.asarray(ann["joint_cam"], dtype=np.float64).reshape(21, 3) * MM_TO_M
    xy, visible = RHD21_TO_HAND21.apply(kpts[:, :2], kpts[:, 2] > 0)
    xyz, valid3d = RHD21_TO_HAND21.apply(cam)
    rel, root = split_root(Part.HAND, xyz, valid3d)
    hand_type = ann.get("hand_type")
    if hand_type not in ("left", "right"):
        raise ValueError(f"hand_type must be 'left' or 'right', got {hand_type!r}")
    return GroundTruthInstance(Part.HAND, xy, visible, xywh_to_xyxy(ann["bbox"]),
                               keypoints_3d=rel, valid_3d=valid3d, root_camera=root, handedness=hand_type)


def _intrinsics(image: dict[str, Any]) -> np.ndarray | None:
    cam = image.get("cam_param")
    if not cam:
        return None
    (fx, fy), (cx, cy) = cam["focal"], cam["princpt"]
    return np.array([[fx, 0.0, cx], [0.0, fy, cy], [0.0, 0.0, 1.0]], dtype=np.float64)
