"""Drawing whole-body poses on images: skeletons of the three parts, one colour per person."""

from __future__ import annotations

import colorsys

import cv2
import numpy as np

from dope_core.keypoints import SKELETON_EDGES, Part
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


def draw_poses(image: np.ndarray, poses: WholeBodyPoses, *, min_confidence: float = 0.3,
               boxes: bool = False, labels: bool = True) -> np.ndarray:
    """A copy of the RGB ``uint8`` image with every person's body, hands and face drawn.

    Each person has its own colour (from its track id when tracked, so that it keeps the
    colour from frame to frame); parts assigned to nobody are grey.
    """
    out = np.ascontiguousarray(image.copy())
    for person in poses.people:
        colour = person_colour(person.display_id)
        for _, part in person.parts():
            draw_part(out, part, colour, min_confidence=min_confidence, box=boxes)
        if labels and person.body is not None:
            x1, y1 = person.body.box[:2]
            cv2.putText(out, f"{person.display_id}:{person.score:.2f}", (int(x1), max(12, int(y1) - 4)),
                        cv2.FONT_HERSHEY_SIMPLEX, 0.45, colour, 1, cv2.LINE_AA)
    for part in poses.unassigned:
        draw_part(out, part, UNASSIGNED_COLOUR, min_confidence=min_confidence, box=boxes)
    return out
