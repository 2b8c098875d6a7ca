"""Mapping the experts' native keypoints to DOPE's 13/21/84 sets.

* Body: BlazePose's 33 landmarks to the 13 LCR-Net joints. Twelve are direct
  (ankles 28/27, knees 26/25, hips 24/23, wrists 16/15, elbows 14/13, shoulders
  12/11; right before left). The head top has no landmark; it is constructed as
  ``ear_mid + up * HEAD_TOP_FACTOR * head_size``, with ``ear_mid`` the middle of
  the ears (7, 8), ``up`` the unit vector from the middle of the shoulders to
  ``ear_mid`` and ``head_size = max(|ear_l - ear_r|, 1.5 * |nose - ear_mid|)``
  (the second term covers profile views, where the ears overlap). The same
  construction applies to 2D (pixels) and 3D (metres).
* Body from COCO's 17 keypoints (the optional YOLO detector): the same twelve joints
  (``COCO_TO_BODY13``) and the same head top construction from its ears, nose and shoulders.
* Hand: the hand landmark model's 21 joints are already in DOPE's order (wrist,
  then thumb, index, middle, ring, little from the palm outwards): identity.
* Face: the 468-point face mesh to the 84 landmarks. The 33 contour points are
  resampled at equal arc length along the mesh's jaw line from the right ear
  (mesh 127) through the chin (152) to the left ear (356); the 51 inner points
  take the mesh vertex at the iBUG-68 landmark's position (``MESH_INNER``).
"""

from __future__ import annotations

import numpy as np

from dope_core.keypoints import FACE_CONTOUR_POINTS

BLAZEPOSE_TO_BODY13 = (28, 27, 26, 25, 24, 23, 16, 15, 14, 13, 12, 11)
"""BlazePose landmark index of the body joints 0..11 (the head top is constructed)."""

BLAZEPOSE_MIRROR = (0, 4, 5, 6, 1, 2, 3, 8, 7, 10, 9) + tuple(j for left in range(11, 33, 2) for j in (left + 1, left))
"""For each of BlazePose's 33 landmarks, its mirror image's: left and right swapped (eyes, ears,
mouth corners, and every limb landmark from the shoulders to the feet), the nose itself."""

BLAZEPOSE_HAND_GUIDES = tuple(range(15, 23))
"""BlazePose's wrists and hand landmarks (pinky, index, thumb), which place the hand expert's regions."""

COCO_TO_BODY13 = (16, 15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5)
"""COCO keypoint index of the body joints 0..11 (COCO has no head top)."""

HEAD_TOP_FACTOR = 0.85
_NOSE, _LEFT_EAR, _RIGHT_EAR, _LEFT_SHOULDER, _RIGHT_SHOULDER = 0, 7, 8, 11, 12
_COCO_NOSE, _COCO_LEFT_EAR, _COCO_RIGHT_EAR, _COCO_LEFT_SHOULDER, _COCO_RIGHT_SHOULDER = 0, 3, 4, 5, 6

MESH_JAW = (127, 234, 93, 132, 58, 172, 136, 150, 149, 176, 148, 152,
            377, 400, 378, 379, 365, 397, 288, 361, 323, 454, 356)
"""Face-mesh vertices along the jaw line, subject's right ear to left ear (image left to right)."""

MESH_INNER = (
    70, 63, 105, 66, 107,            # right brow (iBUG 17-21)
    336, 296, 334, 293, 300,         # left brow (22-26)
    168, 197, 5, 4,                  # nose bridge (27-30)
    75, 97, 2, 326, 305,             # nose base (31-35)
    33, 160, 158, 133, 153, 144,     # right eye (36-41)
    362, 385, 387, 263, 373, 380,    # left eye (42-47)
    61, 39, 37, 0, 267, 269, 291, 405, 314, 17, 84, 181,  # outer lip (48-59)
    78, 82, 13, 312, 308, 317, 14, 87,                    # inner lip (60-67)
)
"""Face-mesh vertex of each inner iBUG-68 landmark 17..67 (face landmarks 33..83)."""

MESH_EYE_OUTER = (33, 263)
"""Face-mesh vertices of the right and left outer eye corners (iBUG 36 and 45)."""


def body_from_blazepose(points: np.ndarray) -> np.ndarray:
    """``(33, D)`` BlazePose landmarks (D = 2 or 3) to the ``(13, D)`` body joints."""
    out = np.empty((13, points.shape[1]))
    out[:12] = points[list(BLAZEPOSE_TO_BODY13)]
    out[12] = head_top(points[[_NOSE, _LEFT_EAR, _RIGHT_EAR, _LEFT_SHOULDER, _RIGHT_SHOULDER]])
    return out


def body_from_coco(points: np.ndarray) -> np.ndarray:
    """``(17, D)`` COCO keypoints (D = 2 or 3) to the ``(13, D)`` body joints."""
    out = np.empty((13, points.shape[1]))
    out[:12] = points[list(COCO_TO_BODY13)]
    out[12] = head_top(points[[_COCO_NOSE, _COCO_LEFT_EAR, _COCO_RIGHT_EAR, _COCO_LEFT_SHOULDER, _COCO_RIGHT_SHOULDER]])
    return out


def head_top(points: np.ndarray) -> np.ndarray:
    """The constructed head top (module docstring) from ``(5, D)`` points: nose, left ear, right ear,
    left shoulder, right shoulder."""
    nose, left_ear, right_ear, left_shoulder, right_shoulder = points
    ear_mid = (left_ear + right_ear) / 2
    up = ear_mid - (left_shoulder + right_shoulder) / 2
    up = up / max(np.linalg.norm(up), 1e-9)
    head_size = max(np.linalg.norm(left_ear - right_ear), 1.5 * np.linalg.norm(nose - ear_mid))
    return ear_mid + up * HEAD_TOP_FACTOR * head_size


def body_confidence_from_blazepose(visibility: np.ndarray) -> np.ndarray:
    """``(33,)`` landmark visibilities to ``(13,)`` joint confidences (head top: the ears' lower one)."""
    return np.concatenate([visibility[list(BLAZEPOSE_TO_BODY13)], [min(visibility[_LEFT_EAR], visibility[_RIGHT_EAR])]])


def resample_polyline(points: np.ndarray, n: int) -> np.ndarray:
    """``n`` points at equal arc length along the polyline ``points`` ``(M, D)``, ends included."""
    seg = np.linalg.norm(np.diff(points, axis=0), axis=1)
    arc = np.concatenate([[0.0], np.cumsum(seg)])
    if arc[-1] <= 0:
        return np.repeat(points[:1], n, axis=0)
    targets = np.linspace(0.0, arc[-1], n)
    return np.stack([np.interp(targets, arc, points[:, d]) for d in range(points.shape[1])], axis=1)


def face_from_mesh(mesh: np.ndarray) -> np.ndarray:
    """``(468+, D)`` face-mesh vertices to the ``(84, D)`` face landmarks."""
    contour = resample_polyline(mesh[list(MESH_JAW)], FACE_CONTOUR_POINTS)
    return np.concatenate([contour, mesh[list(MESH_INNER)]])
