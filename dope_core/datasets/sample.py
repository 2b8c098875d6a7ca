"""Ground truth of annotated images in the data model's conventions.

Every loader in :mod:`dope_core.datasets` returns :class:`AnnotatedSample` objects:

* ``keypoints_2d`` in pixels of the image (x right, y down, origin at the top-left
  corner of the top-left pixel), reordered to DOPE's 13/21/84 sets with
  :mod:`dope_core.metrics.mappings`, NaN where the dataset has no counterpart;
* ``keypoints_3d`` (when the dataset has 3D) in metres, **part-relative** like
  :class:`dope_core.structures.PartPose`: camera-optical-frame axes (x right,
  y down, z forward), origin at the part root (body: middle of the hips; hand:
  the wrist); ``root_camera`` holds the root's position in the camera frame;
* ``visible`` / ``valid_3d`` say which keypoints are annotated (a dataset's
  "labelled but occluded" keypoints count as annotated);
* ``box`` ``x1, y1, x2, y2`` in pixels: the dataset's box when it has one, else
  the extent of the annotated 2D keypoints.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

import numpy as np

from dope_core.keypoints import BODY_LEFT_HIP, BODY_RIGHT_HIP, HAND_WRIST, Part
from dope_core.structures import Handedness


@dataclass
class GroundTruthInstance:
    """One annotated part of one person.

    Attributes:
        part: body, hand or face.
        keypoints_2d: ``(J, 2)`` pixels, DOPE order (NaN where not annotated).
        visible: ``(J,)`` bool, annotated 2D keypoints.
        box: ``(4,)`` ``x1, y1, x2, y2`` pixels.
        keypoints_3d: ``(J, 3)`` metres, part-relative (see module docstring), or ``None``.
        valid_3d: ``(J,)`` bool, annotated 3D keypoints, or ``None``.
        root_camera: ``(3,)`` metres, the part root in the camera optical frame, or ``None``.
        handedness: for hands, whose hand it is, when known.
        head_size: for bodies with a head annotation, the PCKh normaliser in pixels.
    """

    part: Part
    keypoints_2d: np.ndarray
    visible: np.ndarray
    box: np.ndarray
    keypoints_3d: Optional[np.ndarray] = None
    valid_3d: Optional[np.ndarray] = None
    root_camera: Optional[np.ndarray] = None
    handedness: Optional[Handedness] = None
    head_size: Optional[float] = None

    def __post_init__(self) -> None:
        self.part = Part(self.part)
        j = self.part.num_keypoints
        self.keypoints_2d = np.asarray(self.keypoints_2d, dtype=np.float64).reshape(j, 2)
        self.visible = np.asarray(self.visible, dtype=bool).reshape(j)
        self.box = np.asarray(self.box, dtype=np.float64).reshape(4)
        if (self.keypoints_3d is None) != (self.valid_3d is None):
            raise ValueError("keypoints_3d and valid_3d go together")
        if self.keypoints_3d is not None:
            self.keypoints_3d = np.asarray(self.keypoints_3d, dtype=np.float64).reshape(j, 3)
            self.valid_3d = np.asarray(self.valid_3d, dtype=bool).reshape(j)
        if self.handedness is not None:
            self.handedness = Handedness(self.handedness)


@dataclass
class AnnotatedSample:
    """One annotated image.

    Attributes:
        dataset: name of the dataset (``"coco_wholebody"``, ``"h36m"``, ...).
        image_path: the image file.
        instances: the annotated parts (several people and parts per image allowed).
        intrinsics: ``(3, 3)`` camera matrix in pixels when the dataset gives one.
    """

    dataset: str
    image_path: Path
    instances: list[GroundTruthInstance] = field(default_factory=list)
    intrinsics: Optional[np.ndarray] = None

    def of_part(self, part: Part | str) -> list[GroundTruthInstance]:
        """The instances of one part."""
        return [i for i in self.instances if i.part is Part(part)]


ROOT_JOINTS: dict[Part, tuple[int, ...]] = {
    Part.BODY: (BODY_RIGHT_HIP, BODY_LEFT_HIP),
    Part.HAND: (HAND_WRIST,),
}
"""Joints whose mean is the origin of each part's 3D keypoints (faces: all landmarks)."""


def box_of(keypoints_2d: np.ndarray, visible: np.ndarray) -> np.ndarray:
    """Extent ``x1, y1, x2, y2`` (pixels) of the visible keypoints; raises if none is visible."""
    pts = np.asarray(keypoints_2d, dtype=np.float64)[np.asarray(visible, dtype=bool)]
    if len(pts) == 0:
        raise ValueError("no visible keypoint to make a box from")
    return np.concatenate([pts.min(axis=0), pts.max(axis=0)])


def xywh_to_xyxy(box: list[float] | np.ndarray) -> np.ndarray:
    """COCO ``x, y, w, h`` to ``x1, y1, x2, y2`` (pixels)."""
    x, y, w, h = (float(v) for v in box)
    return np.array([x, y, x + w, y + h])


def split_root(part: Part, keypoints_3d_camera: np.ndarray, valid: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Camera-frame keypoints (metres) to ``(part-relative keypoints, root in camera)``.

    Raises:
        ValueError: the part's root joints are not all annotated.
    """
    root_joints = list(ROOT_JOINTS[Part(part)])
    if not np.asarray(valid, dtype=bool)[root_joints].all():
        raise ValueError(f"the {Part(part).value} root joints are not annotated in 3D")
    root = np.asarray(keypoints_3d_camera, dtype=np.float64)[root_joints].mean(axis=0)
    return keypoints_3d_camera - root, root
