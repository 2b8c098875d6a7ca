"""Drawing whole-body poses on images: skeletons of the three parts, one colour per person."""

from __future__ import annotations

import colorsys

import cv2
import numpy as np

from dope_core.keypoints import SKELETON_EDGES, Part
from dope_core.rotations import quaternion_to_matrix
from dope_core.structures import PartPose, WholeBodyPoses

UNASSIGNED_COLOUR = (160, 160, 160)
"""RGB colour of parts that belong to no person."""


def person_colour(index: int) -> tuple[int, int, int]:
    """A distinct, saturated RGB colour for person ``index`` (golden-ratio hue steps)."""
    r, g, b = colorsys.hsv_to_rgb((index * 0.618033988749895) % 1.0, 0.85, 1.0)
    return int(r * 255), int(g * 255), int(b * 255)


def draw_part(image: np.ndarray, pose: PartPose, colour: tuple[int, int, int], *,
              min_confidence: float = 0.3, thickness: int | None = None, box: bool = False) -> None:
    """Draw one part's skeleton (and optionally its box) in place on an RGB image."""
    h, w = image.shape[:2]
    if thickness is None:
        thickness = max(1, round(max(h, w) / 500))
    if pose.part is Part.FACE:
        thickness = max(1, thickness // 2)
    pts = np.round(pose.keypoints_2d).astype(np.int64)
    ok = pose.confidence >= min_confidence
    for a, b in SKELETON_EDGES[pose.part]:
        if ok[a] and ok[b]:
            cv2.line(image, tuple(int(v) for v in pts[a]), tuple(int(v) for v in pts[b]), colour, thickness, cv2.LINE_AA)
    if pose.part is not Part.FACE:
        radius = thickness + (1 if pose.part is Part.BODY else 0)
        for p, good in zip(pts, ok):
            if good:
                cv2.circle(image, (int(p[0]), int(p[1])), radius, colour, -1, cv2.LINE_AA)
    if box:
        x1, y1, x2, y2 = np.round(pose.box).astype(np.int64)
        cv2.rectangle(image, (int(x1), int(y1)), (int(x2), int(y2)), colour, 1)


AXIS_LENGTH_M = 0.05
"""Length of the drawn hand axes, metres."""
AXIS_COLOURS = ((255, 0, 0), (0, 200, 0), (0, 90, 255))
"""RGB of the x, y, z axes (red, green, blue, as RViz draws them)."""


def draw_hand_state(image: np.ndarray, hand: PartPose) -> None:
    """Draw a hand's frame axes at the wrist and its grasp (in place).

    The axes are the 3D frame (:mod:`dope_core.part_frames`) seen orthographically: the
    part-relative axes keep the camera's, so an axis ``d`` is drawn along ``(d_x, d_y)``
    scaled by the hand's pixels per metre (wrist to middle-finger base, 2D over 3D).
    The grasp is a line from the thumb tip to the index tip, red when pinching, with the
    aperture in centimetres.
    """
    k2, k3 = hand.keypoints_2d, hand.keypoints_3d
    size_3d = float(np.linalg.norm(k3[9] - k3[0]))
    size_2d = float(np.linalg.norm(k2[9] - k2[0]))
    wrist = k2[0]
    if hand.frame is not None and hand.frame.quaternion is not None and size_3d > 1e-3 and np.isfinite(size_2d):
        r = quaternion_to_matrix(hand.frame.quaternion)
        scale = size_2d / size_3d * AXIS_LENGTH_M
        for axis, colour in zip(r.T, AXIS_COLOURS):
            tip = wrist + scale * axis[:2]
            cv2.arrowedLine(image, tuple(int(v) for v in wrist), tuple(int(v) for v in tip), colour, 2, cv2.LINE_AA,
                            tipLength=0.2)
    if hand.grasp is not None:
        colour = (230, 30, 30) if hand.grasp.pinch else (240, 240, 240)
        a, b = tuple(int(v) for v in k2[4]), tuple(int(v) for v in k2[8])
        cv2.line(image, a, b, colour, 2, cv2.LINE_AA)
        text = ("pinch " if hand.grasp.pinch else "") + f"{100 * hand.grasp.aperture_m:.1f} cm"
        cv2.putText(image, text, (max(a[0], b[0]) + 4, min(a[1], b[1])), cv2.FONT_HERSHEY_SIMPLEX, 0.4, colour, 1,
                    cv2.LINE_AA)


def draw_poses(image: np.ndarray, poses: WholeBodyPoses, *, min_confidence: float = 0.3,
               boxes: bool = False, labels: bool = True) -> np.ndarray:
    """A copy of the RGB ``uint8`` image with every person's body, hands and face drawn.

    Each person has its own colour (from its track id when tracked, so that it keeps the
    colour from frame to frame); parts assigned to nobody are grey. Hands with a frame
    or a grasp also show their axes and grasp (:func:`draw_hand_state`).
    """
    out = np.ascontiguousarray(image.copy())
    for person in poses.people:
        colour = person_colour(person.display_id)
        for _, part in person.parts():
            draw_part(out, part, colour, min_confidence=min_confidence, box=boxes)
            if part.part is Part.HAND:
                draw_hand_state(out, part)
        if labels and person.body is not None:
            x1, y1 = person.body.box[:2]
            cv2.putText(out, f"{person.display_id}:{person.score:.2f}", (int(x1), max(12, int(y1) - 4)),
                        cv2.FONT_HERSHEY_SIMPLEX, 0.45, colour, 1, cv2.LINE_AA)
    for part in poses.unassigned:
        draw_part(out, part, UNASSIGNED_COLOUR, min_confidence=min_confidence, box=boxes)
    return out
