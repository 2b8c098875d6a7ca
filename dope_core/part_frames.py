"""6-DoF frames of bodies, hands and faces from their 3D keypoints.

Every frame is right-handed; its rotation (a unit quaternion ``x, y, z, w``) takes the
part's axes into the **camera optical frame's** axes (x right, y down, z forward). The
origin is given relative to the part root (:class:`dope_core.structures.PartFrame`),
so it is in the camera frame when the part is placed (``PartPose.root_camera``) and
part-relative otherwise; the rotation is the same in both cases, because part-relative
keypoints keep the camera's axes.

Conventions (the person's own left and right)::

    hand (both hands)                   body (REP-155)           face
                 z out of the palm         z up the spine         z up (towards the brows)
       middle    |                         |                      |
    index | ring |                         |  y (person's left)   |  y (person's left)
       \\  |  /   |                         | /                    | /
    thumb \\ | / little                     |/                     |/
           wrist ----> x (to the           o------> x forward    o------> x forward, out
                 middle-finger base)     mid-hips                between the eyes, of the face

* **hand**: origin at the wrist; ``x`` from the wrist to the middle-finger base
  (MCP); ``z`` the palm normal, pointing out of the palm (towards what the hand
  grasps) for both hands, from the index and little-finger bases (right hand:
  ``(index - wrist) x (little - wrist)``, left hand: the opposite order); ``y = z x x``,
  so ``y`` points from the little finger towards the index on a left hand and from
  the index towards the little finger on a right hand. Handedness is needed: a hand
  without it gets no orientation.
* **body** (REP-155 / REP-103 body frame): origin at the middle of the hips; ``z`` up
  the spine (mid-hips to mid-shoulders); ``y`` towards the person's left (from the
  right hip and shoulder to the left ones, made orthogonal to ``z``); ``x = y x z``,
  forward.
* **face/head**: origin between the eyes (the mean of the two eye centres); ``y``
  from the right eye centre to the left one; ``z`` up, from the mouth centre to
  between the eyes, made orthogonal to ``y``; ``x = y x z``, forward out of the face.

**No orientation** (``PartFrame.quaternion`` is ``None``, confidence 0) when a keypoint
the frame needs has a confidence under ``min_confidence`` or is not finite, or when the
two directions that span the frame are too close to parallel (sine of their angle
under :data:`MIN_SINE`): a frame is never made of NaNs.

**Orientation confidence**: the lowest confidence of the keypoints used, times
``min(1, sine / REFERENCE_SINE)``, so nearly degenerate geometry lowers it.
"""

from __future__ import annotations

import dataclasses
from typing import Optional

import numpy as np

from dope_core.keypoints import BODY_JOINTS, FACE_LANDMARKS, HAND_JOINTS, Part
from dope_core.rotations import matrix_to_quaternion
from dope_core.structures import Handedness, PartFrame, PartPose, WholeBodyPoses

MIN_SINE = 0.05
"""Below this sine of the angle between the two spanning directions: no orientation (about 3 degrees)."""
REFERENCE_SINE = 0.25
"""At or above this sine (about 14.5 degrees) geometry does not lower the confidence."""

_HAND = {name: HAND_JOINTS.index(name) for name in ("wrist", "index_mcp", "middle_mcp", "little_mcp")}
_BODY = {name: BODY_JOINTS.index(name) for name in ("right_hip", "left_hip", "right_shoulder", "left_shoulder")}
_RIGHT_EYE = [i for i, n in enumerate(FACE_LANDMARKS) if n.startswith("right_eye_")]
_LEFT_EYE = [i for i, n in enumerate(FACE_LANDMARKS) if n.startswith("left_eye_")]
_MOUTH = [i for i, n in enumerate(FACE_LANDMARKS) if n.startswith("outer_lip_")]


def _unit(v: np.ndarray) -> Optional[np.ndarray]:
    n = float(np.linalg.norm(v))
    return v / n if n > 1e-9 and np.isfinite(n) else None


def _frame_from(primary: np.ndarray, secondary: np.ndarray, *, order: str) -> tuple[Optional[np.ndarray], float]:
    """Rotation matrix (columns = part axes in camera axes) and the spanning sine.

    ``order`` names the axes given: ``"xz"`` (x exact, z made orthogonal), ``"zy"``
    (z exact, y made orthogonal) or ``"yz"`` (y exact, z made orthogonal).
    """
    a, b = _unit(primary), _unit(secondary)
    if a is None or b is None:
        return None, 0.0
    sine = float(np.linalg.norm(np.cross(a, b)))
    if sine < MIN_SINE:
        return None, sine
    b = _unit(b - np.dot(a, b) * a)
    if order == "xz":
        x, z = a, b
        y = np.cross(z, x)
    elif order == "zy":
        z, y = a, b
        x = np.cross(y, z)
    elif order == "yz":
        y, z = a, b
        x = np.cross(y, z)
    else:
        raise ValueError(order)
    return np.stack([x, y, z], axis=1), sine


def _confident(pose: PartPose, indices: list[int], min_confidence: float) -> Optional[float]:
    """Lowest confidence of ``indices``, or ``None`` when one is under the threshold or not finite."""
    conf = pose.confidence[indices]
    points = pose.keypoints_3d[indices]
    if not np.all(np.isfinite(points)) or not np.all(np.isfinite(conf)) or conf.min() < min_confidence:
        return None
    return float(conf.min())


def hand_frame(pose: PartPose, *, min_confidence: float = 0.2) -> PartFrame:
    """The hand's frame (module docstring); origin at the wrist."""
    k = pose.keypoints_3d
    origin = k[_HAND["wrist"]] if np.all(np.isfinite(k[_HAND["wrist"]])) else np.zeros(3)
    conf = _confident(pose, list(_HAND.values()), min_confidence)
    if conf is None or pose.handedness is None:
        return PartFrame(origin=origin)
    wrist = k[_HAND["wrist"]]
    index, little = k[_HAND["index_mcp"]] - wrist, k[_HAND["little_mcp"]] - wrist
    normal = np.cross(index, little) if pose.handedness is Handedness.RIGHT else np.cross(little, index)
    palm_sine = _spanning_sine(index, little)
    rot, sine = _frame_from(k[_HAND["middle_mcp"]] - wrist, normal, order="xz")
    return _finish(origin, rot, conf, min(sine, palm_sine))


def body_frame(pose: PartPose, *, min_confidence: float = 0.2) -> PartFrame:
    """The body's REP-155 frame (module docstring); origin at the middle of the hips."""
    k = pose.keypoints_3d
    hips = k[[_BODY["right_hip"], _BODY["left_hip"]]].mean(axis=0)
    origin = hips if np.all(np.isfinite(hips)) else np.zeros(3)
    conf = _confident(pose, list(_BODY.values()), min_confidence)
    if conf is None:
        return PartFrame(origin=origin)
    shoulders = k[[_BODY["right_shoulder"], _BODY["left_shoulder"]]].mean(axis=0)
    left = (k[_BODY["left_hip"]] - k[_BODY["right_hip"]]) + (k[_BODY["left_shoulder"]] - k[_BODY["right_shoulder"]])
    rot, sine = _frame_from(shoulders - hips, left, order="zy")
    return _finish(origin, rot, conf, sine)


def face_frame(pose: PartPose, *, min_confidence: float = 0.2) -> PartFrame:
    """The face's frame (module docstring); origin between the eyes."""
    k, c = pose.keypoints_3d, pose.confidence
    groups = [_RIGHT_EYE, _LEFT_EYE, _MOUTH]
    centres = [k[g].mean(axis=0) for g in groups]
    confs = [float(c[g].mean()) for g in groups]
    between = 0.5 * (centres[0] + centres[1])
    if not all(np.all(np.isfinite(p)) for p in centres) or not np.all(np.isfinite(confs)):
        return PartFrame(origin=between if np.all(np.isfinite(between)) else np.zeros(3))
    if min(confs) < min_confidence:
        return PartFrame(origin=between)
    rot, sine = _frame_from(centres[1] - centres[0], between - centres[2], order="yz")
    return _finish(between, rot, min(confs), sine)


def part_frame(pose: PartPose, *, min_confidence: float = 0.2) -> PartFrame:
    """The frame of any part (dispatches on ``pose.part``)."""
    return _BUILDERS[pose.part](pose, min_confidence=min_confidence)


def with_frames(poses: WholeBodyPoses, *, min_confidence: float = 0.2) -> WholeBodyPoses:
    """A copy of ``poses`` with ``frame`` set on every part (people's and unassigned)."""
    def framed(pose: PartPose) -> PartPose:
        return dataclasses.replace(pose, frame=part_frame(pose, min_confidence=min_confidence))

    people = [dataclasses.replace(person, **{slot: framed(pose) for slot, pose in person.parts()})
              for person in poses.people]
    return dataclasses.replace(poses, people=people, unassigned=[framed(p) for p in poses.unassigned])


def _spanning_sine(a: np.ndarray, b: np.ndarray) -> float:
    ua, ub = _unit(a), _unit(b)
    return 0.0 if ua is None or ub is None else float(np.linalg.norm(np.cross(ua, ub)))


def _finish(origin: np.ndarray, rot: Optional[np.ndarray], conf: float, sine: float) -> PartFrame:
    if rot is None or sine < MIN_SINE:
        return PartFrame(origin=origin)
    return PartFrame(origin=origin, quaternion=matrix_to_quaternion(rot),
                     confidence=conf * min(1.0, sine / REFERENCE_SINE))


_BUILDERS = {Part.HAND: hand_frame, Part.BODY: body_frame, Part.FACE: face_frame}
