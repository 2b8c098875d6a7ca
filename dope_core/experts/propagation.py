"""Regions of interest of the next video frame from the landmarks of this one.

The rule of MediaPipe's tracking pipelines (written here from their published method):
a part's landmarks in frame ``t`` give the rotated square region where the landmark
model looks for that part in frame ``t + 1``, with the same margins and rotation
that a detection would give, so the detectors are needed only for parts not tracked.

* body: the pose model's two auxiliary landmarks (body centre and scale point), as
  the person detector's keypoints (:meth:`dope_core.experts.body_landmarks.BodyLandmarks.next_roi`);
* hand: wrist to the knuckles' middle points up; the square around the palm and finger
  bases, scaled 2, shifted a tenth towards the fingers;
* face: eye corner to eye corner is horizontal; the square around the 84 landmarks,
  scaled 1.65 and moved up for the forehead (measured against BlazeFace's regions);
* a face or a hand that is not tracked yet is sought where the body's landmarks put it
  (:func:`face_roi_from_body`, :func:`dope_core.experts.ensemble.knuckle_hand_roi`).

All coordinates are image pixels, rotations radians (:mod:`dope_core.experts.roi`).
"""

from __future__ import annotations

import numpy as np

from dope_core.experts.body_landmarks import BodyLandmarks
from dope_core.experts.roi import RotatedRect, alignment_rotation
from dope_core.keypoints import HAND_JOINTS, IBUG68_TO_FACE84
from dope_core.structures import PartPose

_HAND_BOX_JOINTS = [HAND_JOINTS.index(n) for n in (
    "wrist", "thumb_cmc", "thumb_mcp", "thumb_ip", "index_mcp", "index_pip", "middle_mcp", "middle_pip", "ring_mcp",
    "ring_pip", "little_mcp", "little_pip")]
"""Wrist, thumb base and the two lowest joints of each finger: the palm and finger bases."""
_WRIST, _INDEX_MCP, _MIDDLE_MCP, _RING_MCP = (HAND_JOINTS.index(n) for n in ("wrist", "index_mcp", "middle_mcp", "ring_mcp"))
_FACE_EYE_OUTER = (IBUG68_TO_FACE84[36], IBUG68_TO_FACE84[45])
"""The person's right then left outer eye corner among the 84 face landmarks."""
_BP_NOSE, _BP_LEFT_EYE, _BP_RIGHT_EYE, _BP_LEFT_EAR, _BP_RIGHT_EAR = 0, 2, 5, 7, 8
"""BlazePose landmarks of the face."""

MIN_SIDE = 8.0
"""Regions under this side (pixels) are not worth a landmark pass."""


def _aligned_square(points: np.ndarray, rotation: float) -> RotatedRect:
    """The smallest square with the given rotation holding ``points`` ``(N, 2)`` (pixels), centred on their box."""
    c, s = np.cos(rotation), np.sin(rotation)
    r = np.array([[c, -s], [s, c]])
    local = points @ r          # coordinates along the region's own axes
    lo, hi = local.min(axis=0), local.max(axis=0)
    centre = r @ ((lo + hi) / 2)
    return RotatedRect(float(centre[0]), float(centre[1]), float(max(hi - lo)), rotation)


def body_roi(body: BodyLandmarks) -> RotatedRect | None:
    """Next frame's region of a body from its auxiliary landmarks (``None`` without them or when tiny)."""
    return body.next_roi()


def hand_roi(hand: PartPose, *, scale: float = 2.0, shift_y: float = -0.1) -> RotatedRect | None:
    """Next frame's region of a hand from its 21 keypoints (pixels); ``None`` when tiny."""
    kp = hand.keypoints_2d
    knuckles = ((kp[_INDEX_MCP] + kp[_RING_MCP]) / 2 + kp[_MIDDLE_MCP]) / 2
    rect = _aligned_square(kp[_HAND_BOX_JOINTS], alignment_rotation(kp[_WRIST], knuckles, np.pi / 2))
    if rect.side * scale < MIN_SIDE:
        return None
    return rect.scaled(scale, shift_y=shift_y)


def face_roi(face: PartPose, *, scale: float = 1.65, shift_y: float = -0.07) -> RotatedRect | None:
    """Next frame's region of a face from its 84 landmarks (pixels); ``None`` when tiny."""
    kp = face.keypoints_2d
    right, left = kp[_FACE_EYE_OUTER[0]], kp[_FACE_EYE_OUTER[1]]
    rect = _aligned_square(kp, alignment_rotation(right, left, 0.0))
    if rect.side * scale < MIN_SIDE:
        return None
    return rect.scaled(scale, shift_y=shift_y)


def face_roi_from_body(body: BodyLandmarks, *, scale: float = 2.0, drop: float = 0.15,
                       min_visibility: float = 0.5) -> RotatedRect | None:
    """Region of the face from a body's BlazePose face landmarks; ``None`` when the nose is
    not visible (e.g. the person turns away) or the region is tiny.

    With ``head = max(|ear_l - ear_r|, 1.5 |nose - ear_mid|)`` (pixels): side ``scale * head``,
    centre ``drop * head`` below the middle of the eyes, eye to eye horizontal
    (measured against BlazeFace's regions on real photos).
    """
    lm = body.landmarks_2d
    if body.visibility[_BP_NOSE] < min_visibility:
        return None
    ear_mid = (lm[_BP_LEFT_EAR] + lm[_BP_RIGHT_EAR]) / 2
    head = max(float(np.linalg.norm(lm[_BP_LEFT_EAR] - lm[_BP_RIGHT_EAR])),
               1.5 * float(np.linalg.norm(lm[_BP_NOSE] - ear_mid)))
    if scale * head < MIN_SIDE:
        return None
    rotation = alignment_rotation(lm[_BP_RIGHT_EYE], lm[_BP_LEFT_EYE], 0.0)
    eye_mid = (lm[_BP_LEFT_EYE] + lm[_BP_RIGHT_EYE]) / 2
    return RotatedRect(float(eye_mid[0]), float(eye_mid[1]), head, rotation).scaled(scale, shift_y=drop)


def in_image(rect: RotatedRect, width: int, height: int) -> bool:
    """Whether the region's central square (half its side across) reaches into a ``width`` x ``height``
    image (pixels), and the region is at least ``MIN_SIDE`` wide: a region whose middle has left the
    image is not followed."""
    half = rect.side / 4
    return (rect.side >= MIN_SIDE and rect.cx + half > 0 and rect.cy + half > 0
            and rect.cx - half < width and rect.cy - half < height)
