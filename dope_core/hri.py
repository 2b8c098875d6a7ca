"""DOPE's people in ROS4HRI's terms (REP-155, ``hri_msgs``): ids, 18-joint 2D skeletons, regions (pure numpy).

ROS4HRI gives each tracked body a string id (``/humans/bodies/tracked``) and, per body,
a ``Skeleton2D`` of the 18 joints of OpenPose's COCO model and a
``NormalizedRegionOfInterest2D``, both in image coordinates normalised by the image
size: x / width, y / height in [0, 1], origin at the image's top-left corner, with a
confidence ``c`` in [0, 1].

DOPE's body has 13 joints (LCR-Net: ankles, knees, hips, wrists, elbows, shoulders,
head top) and a separate 84-landmark face. The 18 joints come from them as follows
(:data:`COCO18_SOURCES`; a joint's position is the mean of its sources, its confidence
the smallest of theirs; a joint whose part is missing has ``c = 0`` and ``x = y = 0``):

=================  =====================================================
COCO-18 joint      from
=================  =====================================================
nose               face ``nose_bridge_3`` (iBUG 30, the nose tip)
neck               body: middle of ``right_shoulder`` and ``left_shoulder``
shoulders, elbows, body joints of the same name
wrists, hips,
knees, ankles
right/left eye     face: mean of ``right_eye_0..5`` / ``left_eye_0..5``
right/left ear     face: ``contour_0`` / ``contour_32``, the ends of the jaw
                   line next to the ears (an approximation: DOPE has no ear)
(none)             body ``head_top`` has no COCO-18 counterpart
=================  =====================================================

Points outside the image are clipped to [0, 1] (ROS4HRI's range), keeping their confidence.
"""

from __future__ import annotations

from typing import Optional

import numpy as np

from dope_core.keypoints import BODY_JOINTS, FACE_LANDMARKS, Part
from dope_core.structures import Person

COCO18_JOINTS: tuple[str, ...] = (
    "nose", "neck", "right_shoulder", "right_elbow", "right_wrist", "left_shoulder", "left_elbow", "left_wrist",
    "right_hip", "right_knee", "right_ankle", "left_hip", "left_knee", "left_ankle", "left_eye", "right_eye",
    "left_ear", "right_ear",
)
"""The joints of ``hri_msgs/Skeleton2D`` in its order (OpenPose COCO-18)."""


def _body(*names: str) -> tuple[Part, tuple[int, ...]]:
    return Part.BODY, tuple(BODY_JOINTS.index(n) for n in names)


def _face(*names: str) -> tuple[Part, tuple[int, ...]]:
    return Part.FACE, tuple(FACE_LANDMARKS.index(n) for n in names)


COCO18_SOURCES: tuple[tuple[Part, tuple[int, ...]], ...] = (
    _face("nose_bridge_3"),
    _body("right_shoulder", "left_shoulder"),
    *(_body(name) for name in COCO18_JOINTS[2:14]),
    _face(*(f"left_eye_{i}" for i in range(6))),
    _face(*(f"right_eye_{i}" for i in range(6))),
    _face("contour_32"),
    _face("contour_0"),
)
"""Per COCO-18 joint: the DOPE part and the keypoint indices whose mean it is."""


def body_id(track_id: int) -> str:
    """The ROS4HRI body id of a DOPE track (``b`` and the track id: ``b12``); a TF frame ``body_b12``."""
    return f"b{track_id}"


def skeleton_2d(person: Person, image_size: tuple[int, int]) -> np.ndarray:
    """``(18, 3)`` array of ``x, y, c`` per COCO-18 joint, normalised by ``image_size`` = (width, height)."""
    w, h = image_size
    out = np.zeros((len(COCO18_JOINTS), 3))
    parts = {Part.BODY: person.body, Part.FACE: person.face}
    for j, (part, indices) in enumerate(COCO18_SOURCES):
        pose = parts[part]
        if pose is None:
            continue
        xy = pose.keypoints_2d[list(indices)].mean(axis=0)
        out[j] = (np.clip(xy[0] / w, 0.0, 1.0), np.clip(xy[1] / h, 0.0, 1.0), pose.confidence[list(indices)].min())
    return out


def normalized_roi(person: Person, image_size: tuple[int, int]) -> Optional[tuple[float, float, float, float, float]]:
    """``(xmin, ymin, xmax, ymax, c)`` of the body box normalised by ``image_size``, ``c`` the body score; None without body."""
    if person.body is None:
        return None
    w, h = image_size
    x1, y1, x2, y2 = person.body.box
    return (float(np.clip(x1 / w, 0, 1)), float(np.clip(y1 / h, 0, 1)), float(np.clip(x2 / w, 0, 1)),
            float(np.clip(y2 / h, 0, 1)), float(person.body.score))
